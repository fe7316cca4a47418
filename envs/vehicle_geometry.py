"""Road geometry for the vehicles env: lane paths tabulated over arc length, vehicle
footprints as oriented rectangles, and their overlap test (separating axes).

Intersection frame: the centre at the origin, two-lane roads along the axes (one lane each
way, right-hand traffic), the intersection box `[-B, B]^2` with `B = w + c` for lane width
`w` and kerb radius `c` (right turns follow a quarter circle of radius `c + w/2`, left turns
one of radius `B + w/2`). Approach d
comes from the south (d=0), east (1), north (2) or west (3): approach 0's path rotated by
d * 90 degrees. Positions `s` along a path are the vehicle's centre.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

TURNS = ("straight", "left", "right")


@dataclass(frozen=True)
class Routes:
    """R paths tabulated every `ds` metres: `x`, `y`, `heading` `[R, J]` (NaN-free: a path
    shorter than J repeats its end), `length` `[R]`, the box stretch `box_entry`/`box_exit`
    `[R]` (s where the path enters and leaves the intersection box; inf: no box), `approach`
    and `turn` `[R]` ints."""

    x: np.ndarray
    y: np.ndarray
    heading: np.ndarray
    length: np.ndarray
    box_entry: np.ndarray
    box_exit: np.ndarray
    approach: np.ndarray
    turn: np.ndarray
    ds: float

    def pose(self, route: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, y, heading at positions `s` (clamped to the path) of paths `route`."""
        j = np.clip(np.rint(s / self.ds).astype(np.int64), 0, self.x.shape[1] - 1)
        return self.x[route, j], self.y[route, j], self.heading[route, j]


def _tabulate(segments: list[tuple], ds: float, total: float):
    """Points of a path made of ("line", x0, y0, heading, length) and
    ("arc", cx, cy, radius, angle0, direction, sweep) pieces, every ds up to `total`."""
    s = np.arange(0.0, total + ds / 2, ds)
    x, y, h = np.empty_like(s), np.empty_like(s), np.empty_like(s)
    start = 0.0
    for seg in segments:
        if seg[0] == "line":
            _, x0, y0, heading, length = seg
        else:
            _, cx, cy, radius, angle0, direction, sweep = seg
            length = radius * sweep
        part = (s >= start - 1e-9) & (s <= start + length + 1e-9)
        u = s[part] - start
        if seg[0] == "line":
            x[part] = x0 + u * np.cos(heading)
            y[part] = y0 + u * np.sin(heading)
            h[part] = heading
        else:
            angle = angle0 + direction * u / radius
            x[part] = cx + radius * np.cos(angle)
            y[part] = cy + radius * np.sin(angle)
            h[part] = angle + direction * np.pi / 2
        start += length
    return x, y, np.arctan2(np.sin(h), np.cos(h))


def _rotate(x, y, heading, quarter_turns: int):
    angle = quarter_turns * np.pi / 2
    c, s = np.cos(angle), np.sin(angle)
    return (
        c * x - s * y,
        s * x + c * y,
        np.arctan2(np.sin(heading + angle), np.cos(heading + angle)),
    )


@functools.lru_cache(maxsize=8)
def intersection_routes(
    lane_width: float, kerb_radius: float, approach: float, exit_length: float, ds: float = 0.1
):
    """The 12 paths (4 approaches x straight/left/right) of a 4-way intersection."""
    w, b = lane_width, lane_width + kerb_radius
    north = np.pi / 2
    entry = ("line", w / 2, -b - approach, north, approach)
    pieces = {
        "straight": [entry, ("line", w / 2, -b, north, 2 * b + exit_length)],
        "left": [
            entry,
            ("arc", -b, -b, b + w / 2, 0.0, 1.0, np.pi / 2),
            ("line", -b, w / 2, np.pi, exit_length),
        ],
        "right": [
            entry,
            ("arc", b, -b, b - w / 2, np.pi, -1.0, np.pi / 2),
            ("line", b, -w / 2, 0.0, exit_length),
        ],
    }
    box_length = {
        "straight": 2 * b,
        "left": (b + w / 2) * np.pi / 2,
        "right": (b - w / 2) * np.pi / 2,
    }
    lengths = {t: approach + box_length[t] + exit_length for t in TURNS}
    longest = max(lengths.values())
    xs, ys, hs, meta = [], [], [], []
    for d in range(4):
        for k, turn in enumerate(TURNS):
            x, y, h = _tabulate(pieces[turn], ds, lengths[turn])
            pad = int(round(longest / ds)) + 1 - len(x)
            x, y, h = (np.concatenate([a, np.full(pad, a[-1])]) for a in (x, y, h))
            x, y, h = _rotate(x, y, h, d)
            xs.append(x), ys.append(y), hs.append(h)
            meta.append((lengths[turn], approach, approach + box_length[turn], d, k))
    length, box_entry, box_exit, approach_id, turn = (np.array(m) for m in zip(*meta, strict=True))
    return Routes(
        np.stack(xs),
        np.stack(ys),
        np.stack(hs),
        length,
        box_entry,
        box_exit,
        approach_id.astype(np.int64),
        turn.astype(np.int64),
        ds,
    )


@functools.lru_cache(maxsize=8)
def straight_road(length: float, ds: float = 0.1) -> Routes:
    """One straight lane along +x from 0 to `length` (the platoon's road; no box)."""
    x, y, h = _tabulate([("line", 0.0, 0.0, 0.0, length)], ds, length)
    inf = np.array([np.inf])
    return Routes(
        x[None],
        y[None],
        h[None],
        np.array([length]),
        inf,
        inf,
        np.zeros(1, np.int64),
        np.zeros(1, np.int64),
        ds,
    )


def rectangle_corners(x, y, heading, length: float, width: float) -> np.ndarray:
    """`[..., 4, 2]` corners of footprints centred at (x, y) facing `heading`."""
    c, s = np.cos(heading)[..., None], np.sin(heading)[..., None]
    along = np.array([1, 1, -1, -1]) * length / 2
    across = np.array([1, -1, -1, 1]) * width / 2
    cx = x[..., None] + along * c - across * s
    cy = y[..., None] + along * s + across * c
    return np.stack([cx, cy], axis=-1)


def rectangles_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether rectangles `a` and `b` (`[..., 4, 2]` corners, broadcast) overlap: no
    separating axis among the four edge normals."""
    a, b = np.broadcast_arrays(a, b)
    edges = np.concatenate([a[..., 1:3, :] - a[..., 0:2, :], b[..., 1:3, :] - b[..., 0:2, :]], -2)
    axes = np.stack([-edges[..., 1], edges[..., 0]], axis=-1)  # [..., 4, 2] normals
    pa = np.einsum("...kd,...cd->...kc", axes, a)  # [..., 4 axes, 4 corners]
    pb = np.einsum("...kd,...cd->...kc", axes, b)
    separated = (pa.max(-1) < pb.min(-1)) | (pb.max(-1) < pa.min(-1))
    return ~separated.any(-1)


@functools.lru_cache(maxsize=8)
def route_conflicts(
    lane_width: float,
    kerb_radius: float,
    approach: float,
    exit_length: float,
    length: float,
    width: float,
) -> np.ndarray:
    """`[R, R]` bool: paths of different approaches along which two footprints (inflated by
    0.3 m) can overlap somewhere (crossing or merging). Same-approach paths share their lane
    up to the box and are ordered by car following instead."""
    routes = intersection_routes(lane_width, kerb_radius, approach, exit_length)
    step = 0.5
    s = np.arange(max(0.0, approach - length), routes.length.max(), step)
    r = routes.x.shape[0]
    corners = []
    for k in range(r):
        sk = s[s <= routes.length[k]]
        x, y, h = routes.pose(np.full(len(sk), k), sk)
        corners.append(rectangle_corners(x, y, h, length + 0.6, width + 0.6))
    conflicts = np.zeros((r, r), dtype=bool)
    for i in range(r):
        for j in range(i + 1, r):
            if routes.approach[i] == routes.approach[j]:
                continue
            hit = rectangles_overlap(corners[i][:, None], corners[j][None, :]).any()
            conflicts[i, j] = conflicts[j, i] = hit
    return conflicts
