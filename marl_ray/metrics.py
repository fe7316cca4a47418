"""Dashboard metrics: every algorithm's figures under the `marl_ray_` prefix, tagged with
algorithm, experiment and trial. Ray exports them on the metrics port (as `ray_marl_ray_...`)."""

from __future__ import annotations

import math
from typing import Any

from ray.util import metrics

from marl_ray.config import result_value

PREFIX = "marl_ray_"
TAG_KEYS = ("algorithm", "experiment", "trial")
# Result keys every algorithm reports each iteration -> gauge names on the dashboard.
RESULT_GAUGES = {
    "training_iteration": "training_iteration",
    "num_env_steps_sampled_lifetime": "env_steps_lifetime",
    "env_runners/episode_return_mean": "episode_return_mean",
    "env_runners/episode_len_mean": "episode_len_mean",
    "env_runners/success_rate": "success_rate",
    # A gauge from every iteration (0 until a worker dies), so the dashboard's panel has a
    # series from the start; the `worker_restarts` counter counts the same events.
    "worker_restarts": "workers_replaced",
}
ITERATION_TIME = "iteration_time_s"  # measured around step(): Tune's time_this_iter_s comes later


class AlgorithmMetrics:
    """Counters and gauges of one trial; `counter(name).inc(n)`, `gauge(name).set(v)`."""

    def __init__(self, algorithm: str, experiment: str, trial: str):
        self.tags = {"algorithm": algorithm, "experiment": experiment, "trial": trial}
        self._counters: dict[str, metrics.Counter] = {}
        self._gauges: dict[str, metrics.Gauge] = {}

    def counter(self, name: str, description: str = "") -> metrics.Counter:
        if name not in self._counters:
            c = metrics.Counter(PREFIX + name, description=description, tag_keys=TAG_KEYS)
            c.set_default_tags(self.tags)
            self._counters[name] = c
        return self._counters[name]

    def gauge(self, name: str, description: str = "") -> metrics.Gauge:
        if name not in self._gauges:
            g = metrics.Gauge(PREFIX + name, description=description, tag_keys=TAG_KEYS)
            g.set_default_tags(self.tags)
            self._gauges[name] = g
        return self._gauges[name]

    def policy_gauge(self, name: str, description: str = "") -> metrics.Gauge:
        """A gauge with a `policy` tag too: `.set(value, tags={"policy": policy_id})`."""
        key = f"policy:{name}"
        if key not in self._gauges:
            g = metrics.Gauge(
                PREFIX + name, description=description, tag_keys=(*TAG_KEYS, "policy")
            )
            g.set_default_tags(self.tags)
            self._gauges[key] = g
        return self._gauges[key]

    def report_policies(self, figures: dict[str, Any], keys: tuple[str, ...]) -> None:
        """Sets `keys` of every per-policy dict in a learner's `figures` as policy-tagged
        gauges (`marl_ray_<key>{policy=...}`)."""
        for policy_id, stats in figures.items():
            if isinstance(stats, dict):
                for key in keys:
                    if key in stats:
                        gauge = self.policy_gauge(key, f"Per-policy {key.replace('_', ' ')}")
                        gauge.set(float(stats[key]), tags={"policy": policy_id})

    def report_result(self, result: dict[str, Any], iteration_time_s: float) -> None:
        """Sets the gauges of `RESULT_GAUGES` from one Tune result (nested or '/'-keyed), and
        the iteration's wall time as measured by the trainable's `step()`."""
        self.gauge(ITERATION_TIME, "Wall time of the latest training iteration (s)").set(
            iteration_time_s
        )
        for key, name in RESULT_GAUGES.items():
            value = result_value(result, key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                self.gauge(name, f"{key} of the latest training iteration").set(float(value))
