"""Evaluates a checkpoint's policies on fresh episodes of the batched env, without Ray.

The trial folder's `params.json` tells which experiment (and sampled search values) made the
checkpoint; the policies are the RLModules the learner saved. Episodes run in `num_envs`
copies at once; only the first `episodes` episodes started are counted, so short episodes are
not over-represented.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import envs
from envs.observation_views import rows_with_peers, view_rows
from envs.schema import ConfigError
from marl_ray.algorithms.checkpoint import STATE_FILE, load_state
from marl_ray.algorithms.core.q_rollout import history_starts
from marl_ray.config import ExperimentConfig, build_experiment
from marl_ray.episode_charts import CHARTS
from marl_ray.manifest import manifest_problem
from marl_ray.rllib.algorithm_config import policy_setup
from marl_ray.rllib.modules import module_view
from marl_ray.rllib.self_play import MAIN, pool_of
from marl_ray.storage import fetch_checkpoint
from marl_ray.trainables import RLLIB_ALGORITHMS

RL_MODULE_DIR = Path("learner_group") / "learner" / "rl_module"


class CheckpointError(ConfigError):
    """The path is not a checkpoint this tool can evaluate."""


@dataclass(frozen=True)
class EvaluationResult:
    algorithm: str
    env: str
    checkpoint: str
    episodes: int
    episode_return_mean: float
    episode_return_std: float
    episode_len_mean: float
    success_rate: float | None
    agent_returns: dict[str, float]
    policy_returns: dict[str, float]
    """Per policy: the mean episode return of the agents it controlled, summed."""
    episode_infos: dict[str, float]
    """Per-episode sums of the env's per-copy step infos (welfare, unserved energy, ...),
    averaged over episodes."""
    episode_returns: list[float]
    """Every episode's return (summed over agents), in episode order."""
    episode_successes: list[float] | None
    self_play: dict | None
    """Self-play checkpoints: main's win rates against its first snapshot, the pool, each."""
    render: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


LogitsFn = Callable[[torch.Tensor], torch.Tensor]
EVAL_COPIES = 16  # env copies stepped together while evaluating


def load_checkpoint(
    path: str | Path, trust: bool = False
) -> tuple[ExperimentConfig, dict[str, LogitsFn], Callable]:
    """The experiment behind a checkpoint, its policies (policy id -> observations-to-logits
    function) and the agent -> policy id mapping.

    RLlib stores module classes as pickles, and unpickling runs code: an RLlib checkpoint is
    loaded only when its signed manifest matches every file (`marl_ray.manifest`), or with
    `trust=True` (said on stderr).
    Our own algorithms' checkpoints hold tensors only and load with `weights_only=True`.
    """
    exp, ckpt = checkpoint_experiment(path)
    modules_dir = ckpt / RL_MODULE_DIR
    if (ckpt / STATE_FILE).is_file():
        return exp, *_own_policies(exp, ckpt)
    problem = manifest_problem(ckpt)
    if problem and not trust:
        raise CheckpointError(
            f"{ckpt} is not trusted: {problem}. RLlib checkpoints are pickles that run code "
            "when loaded; pass --trust if you know where it comes from"
        )
    if problem:
        print(
            f"marl-ray: unpickling RLlib modules from {ckpt} (trusted by --trust)", file=sys.stderr
        )
    _, mapping = policy_setup(exp.multi_agent.policies, ())
    return exp, _rllib_policies(modules_dir), mapping


def checkpoint_experiment(path: str | Path) -> tuple[ExperimentConfig, Path]:
    """The experiment that wrote a trial checkpoint (from `params.json` beside it), and the
    checkpoint's local folder (fetched first when `path` is a URI)."""
    ckpt = fetch_checkpoint(str(path))
    if not ckpt.is_dir():
        raise CheckpointError(f"checkpoint {str(ckpt)!r} does not exist (expected a folder)")
    params_file = ckpt.parent / "params.json"
    own = (ckpt / STATE_FILE).is_file()
    if not params_file.is_file() or not (own or (ckpt / RL_MODULE_DIR).is_dir()):
        raise CheckpointError(
            f"{ckpt} is not a marl-ray checkpoint: expected {RL_MODULE_DIR}/ or {STATE_FILE} "
            "inside it and params.json beside it (pass a trial's checkpoint_NNNNNN folder)"
        )
    params = json.loads(params_file.read_text())
    return build_experiment(params["experiment"], values=params.get("search") or {}), ckpt


def _own_policies(exp: ExperimentConfig, ckpt: Path) -> tuple[dict[str, LogitsFn], Callable]:
    """marl_ray's own algorithms' policies, as their trainable builds them from the state.
    Their Box policies act in the env's own units; they are mapped here to RLlib's
    normalised convention that `_act` reads (`unit_gaussian`)."""
    from marl_ray.trainables import trainable_class

    policies, mapping = trainable_class(exp.algorithm).acting_policies(exp, load_state(ckpt))
    env = envs.make_batched(exp.env.name, 1, exp.env.core_config)
    space = env.action_spaces[env.possible_agents[0]]
    if isinstance(space, gym.spaces.Discrete):
        return policies, mapping
    return {
        k: (lambda obs, f=f: unit_gaussian(f(obs), space)) for k, f in policies.items()
    }, mapping


def unit_gaussian(params: torch.Tensor, space: gym.spaces.Box) -> torch.Tensor:
    """Gaussian (means, log stds) over a Box's own units -> the same Gaussian over [-1, 1]
    (RLlib's `normalize_actions`): the affine map u = 2 (a - low) / (high - low) - 1."""
    mean, log_std = params.chunk(2, dim=-1)
    low = torch.as_tensor(space.low, dtype=params.dtype)
    width = torch.as_tensor(space.high, dtype=params.dtype) - low
    return torch.cat([2.0 * (mean - low) / width - 1.0, log_std + torch.log(2.0 / width)], -1)


def _rllib_policies(modules_dir: Path) -> dict[str, LogitsFn]:
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.rl_module.rl_module import RLModule

    policies: dict[str, LogitsFn] = {}
    for policy_dir in sorted(p for p in modules_dir.iterdir() if p.is_dir()):
        module = RLModule.from_checkpoint(policy_dir)
        module.eval()
        policies[policy_dir.name] = lambda obs, m=module: m.forward_inference({Columns.OBS: obs})[
            Columns.ACTION_DIST_INPUTS
        ]
    if not policies:
        raise CheckpointError(f"{modules_dir} holds no policy modules")
    return policies


def evaluate_checkpoint(
    path: str | Path,
    episodes: int = 100,
    *,
    seed: int = 12345,
    explore: bool = False,
    render: str | Path | None = None,
    num_envs: int = EVAL_COPIES,
    trust: bool = False,
    scripted_opponent: str | None = None,
    env_overrides: dict[str, Any] | None = None,
) -> EvaluationResult:
    """Mean return, success rate and per-agent returns over `episodes` episodes. Self-play
    checkpoints also get main's win rates against the pool, and with `scripted_opponent`
    (a name the env's `baseline_actions` takes) against that scripted player.
    `env_overrides` changes env config keys for the evaluation only (e.g. a fixed horizon)."""
    if episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {episodes}")
    exp, policies, mapping = load_checkpoint(path, trust=trust)
    env_config = {**exp.env.core_config, **(env_overrides or {})}
    core = envs.make_batched(exp.env.name, min(num_envs, episodes), env_config)
    space = core.action_spaces[core.possible_agents[0]]
    self_play = exp.multi_agent.policies == "self_play"
    if self_play:  # main as agent_0 against the newest snapshot; win rates below
        newest = pool_of(policies)[-1]
        agent_policy = [MAIN] + [newest] * (core.num_agents - 1)
    else:
        agent_policy = [mapping(a) for a in core.possible_agents]
    missing = sorted(set(agent_policy) - set(policies))
    if missing:
        raise CheckpointError(f"checkpoint lacks policies {missing}; it has {sorted(policies)}")

    def act_in(c, assignment=None):  # policies acting in core `c` (its state: for critics)
        return PolicyActor(
            policies, assignment or agent_policy, explore, space, module_input(c, exp)
        )

    act = act_in(core)
    finished = play(core, act, episodes, seed)
    win_rates = None
    if self_play:
        win_rates = self_play_win_rates(
            lambda assignment: act_in(core, assignment),
            core,
            pool_of(policies),
            episodes,
            seed,
            scripted_opponent,
        )
    render_path = None
    if render:
        viewer = envs.make_batched(exp.env.name, 1, env_config, render_mode="rgb_array")
        viewer.autoreset = False  # keep the last frame of the episode
        act = act_in(viewer)
        chart = CHARTS.get(exp.env.name)
        if chart:  # a chart of the episode (PNG) tells more than frames for these envs
            records: list[dict] = []
            play(viewer, act, 1, seed, on_step=lambda: records.append(chart.capture(viewer)))
            title = f"{exp.algorithm} on {exp.env.name}"
            render_path = str(chart.draw(records[1:], Path(render).with_suffix(".png"), title))
        else:
            frames: list[np.ndarray] = []
            play(viewer, act, 1, seed, on_step=lambda: frames.append(viewer.render(0)))
            fps = viewer.metadata.get("render_fps", 4)
            render_path = str(write_gif(frames, Path(render), fps))
    return _summarise(
        exp, path, finished, agent_policy, core.possible_agents, render_path, win_rates
    )


def learned_actions(
    path: str | Path, core: envs.BatchedEnv, *, explore: bool = False, trust: bool = False
) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """A checkpoint's policies acting in `core` (copies of its env), as `play` takes them:
    for benchmarks that pit some of its agents against other players."""
    exp, policies, mapping = load_checkpoint(path, trust=trust)
    agent_policy = [mapping(a) for a in core.possible_agents]
    space = core.action_spaces[core.possible_agents[0]]
    return PolicyActor(policies, agent_policy, explore, space, module_input(core, exp))


def self_play_win_rates(
    act_for, core, pool: list[str], episodes: int, seed: int, scripted: str | None = None
) -> dict:
    """Main's win rate against every snapshot (and, with `scripted`, against the env's
    scripted player of that name), and against the pool as a whole."""
    n = core.num_agents
    rates = {}
    for snapshot in pool:
        sides = [act_for([MAIN if i == side else snapshot for i in range(n)]) for side in range(n)]
        rates[snapshot] = main_score(sides, core, episodes, seed)
    out = {
        "win_rate_vs_first": rates[pool[0]],
        "win_rate_vs_pool": float(np.mean(list(rates.values()))),
        "win_rates": rates,
    }
    if scripted:
        main_everywhere = act_for([MAIN] * n)
        sides = [against_scripted(main_everywhere, core, side, scripted) for side in range(n)]
        out["win_rate_vs_scripted"] = main_score(sides, core, episodes, seed)
    return out


def main_score(act_per_side, core, episodes: int, seed: int) -> float:
    """Main's mean score with main on each side equally often (`act_per_side[s]` plays the
    table with main on side s): 1 a win, 1/k a k-way draw, 0 a loss (the env's per-agent
    `win_share` info on the last step)."""
    per_side = max(1, episodes // len(act_per_side))
    scores = []
    for side, act in enumerate(act_per_side):
        for ep in play(core, act, per_side, seed + side):
            scores.append(float(ep.final_agent_infos["win_share"][side]))
    return float(np.mean(scores))


def against_scripted(act_main, core, side: int, name: str):
    """Main's actions on `side`, the env's scripted player `name` on every other side."""

    def act(obs, rng):
        actions = core.baseline_actions(name)
        actions[:, side] = act_main(obs, rng)[:, side]
        return actions

    return act


@dataclass(frozen=True)
class Episode:
    """One finished episode of `play`."""

    index: int  # start order
    returns: np.ndarray  # per agent
    length: int
    success: float | None
    info_sums: dict[str, float]  # per-copy step infos summed over the episode
    final_infos: dict[str, float]  # their values on the last step (e.g. the winner)
    final_agent_infos: dict[str, np.ndarray]  # per-agent infos on the last step (win_share)


def play(core, act, episodes: int, seed: int, on_step=None) -> list[Episode]:
    """Plays the first `episodes` episodes started in `core`'s copies, in start order. The
    env draws its randomness only at resets, so every policy played with the same `seed`
    meets the same episodes."""
    obs, _ = core.reset(seed=seed)
    restart = getattr(act, "restart", None)  # recurrent policies: histories that start
    if restart:
        restart(np.ones((core.num_envs, core.num_agents), dtype=bool))
    if on_step:
        on_step()
    rng = torch.Generator().manual_seed(seed)
    episode_index = np.arange(core.num_envs)
    started = core.num_envs
    returns = np.zeros((core.num_envs, core.num_agents))
    lengths = np.zeros(core.num_envs, dtype=int)
    sums: dict[str, np.ndarray] = {}
    finished: list[Episode] = []
    while len(finished) < episodes:
        active = core.active() if restart else None
        out = core.step(act(obs, rng))
        if restart:
            restart(history_starts(out, active))
        if on_step:
            on_step()
        returns += out.rewards
        lengths += 1
        per_copy = {
            k: v for k, v in out.infos.items() if k != "success" and v.shape == (core.num_envs,)
        }
        per_agent = {k: v for k, v in out.infos.items() if v.shape == out.rewards.shape}
        for key, value in per_copy.items():
            sums.setdefault(key, np.zeros(core.num_envs))
            sums[key] += value
        success = out.infos.get("success")
        for e in np.flatnonzero(out.done):
            if episode_index[e] < episodes:
                finished.append(
                    Episode(
                        index=int(episode_index[e]),
                        returns=returns[e].copy(),
                        length=int(lengths[e]),
                        success=None if success is None else float(success[e]),
                        info_sums={k: float(v[e]) for k, v in sums.items()},
                        final_infos={k: float(v[e]) for k, v in per_copy.items()},
                        final_agent_infos={k: v[e].copy() for k, v in per_agent.items()},
                    )
                )
            episode_index[e], started = started, started + 1
            returns[e], lengths[e] = 0, 0
            for v in sums.values():
                v[e] = 0.0
        obs = out.observations
    return sorted(finished, key=lambda episode: episode.index)


def module_input(core, exp: ExperimentConfig):
    """`build(obs [E, A, D], agent columns)`: the policy's input rows (copy-major). RLlib
    modules get observations through the view they trained with (`view_rows`); our own
    algorithms' networks get the core's flat rows."""
    if exp.algorithm not in RLLIB_ALGORITHMS:
        if module_view(exp.model.module) == "peers":  # ours read the flat peers layout
            return lambda obs, cols: rows_with_peers(obs, core.active(), cols)
        return lambda obs, cols: obs[:, cols].reshape(-1, *obs.shape[2:])
    view = module_view(exp.model.module)
    return lambda obs, cols: view_rows(core, view, obs, cols)


def _tensors(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tensors(v) for k, v in value.items()}
    return torch.as_tensor(value)


class PolicyActor:
    """`actor(obs [E, A, D], rng) -> actions` of the policies assigned to the agent columns
    (`_act`). Policies with a `restart(first rows)` method (recurrent ones) get
    `restart(first [E, A])`'s slots, in their own rows' order, wherever a history starts."""

    def __init__(self, policies, agent_policy, explore: bool, space, build_input):
        self.policies, self.agent_policy = policies, agent_policy
        self.explore, self.space, self.build_input = explore, space, build_input

    def __call__(self, obs: np.ndarray, rng) -> np.ndarray:
        return _act(
            self.policies, self.agent_policy, obs, self.explore, rng, self.space, self.build_input
        )

    def restart(self, first: np.ndarray) -> None:
        for policy_id in set(self.agent_policy):
            policy = self.policies[policy_id]
            if hasattr(policy, "restart"):
                cols = [i for i, p in enumerate(self.agent_policy) if p == policy_id]
                policy.restart(first[:, cols].reshape(-1))


def _act(policies, agent_policy, obs: np.ndarray, explore: bool, rng, space, build_input):
    """Greedy (or sampled) actions `[E, A]` (Discrete) or `[E, A, k]` (Box) of every agent.

    Box policies output a diagonal Gaussian (means, log stds) in RLlib's normalised action
    range [-1, 1], which maps linearly onto the space's bounds (`normalize_actions`)."""
    num_envs, num_agents = obs.shape[:2]
    discrete = isinstance(space, gym.spaces.Discrete)
    shape = (num_envs, num_agents) if discrete else (num_envs, num_agents, *space.shape)
    actions = np.zeros(shape, dtype=np.int64 if discrete else np.float32)
    with torch.no_grad():
        for policy_id in set(agent_policy):
            cols = [i for i, p in enumerate(agent_policy) if p == policy_id]
            logits = policies[policy_id](_tensors(build_input(obs, cols)))
            if discrete:
                if explore:
                    chosen = torch.multinomial(torch.softmax(logits, -1), 1, generator=rng)[:, 0]
                else:
                    chosen = logits.argmax(-1)
                actions[:, cols] = chosen.numpy().reshape(num_envs, len(cols))
                continue
            mean, log_std = logits.chunk(2, dim=-1)
            if explore:
                mean = mean + log_std.exp() * torch.randn(mean.shape, generator=rng)
            unit = mean.clamp(-1.0, 1.0).numpy()
            box = space.low + (unit + 1.0) * 0.5 * (space.high - space.low)
            actions[:, cols] = box.reshape(num_envs, len(cols), *space.shape)
    return actions


def _summarise(
    exp, path, finished: list[Episode], agent_policy, agents, render_path, self_play=None
) -> EvaluationResult:
    totals = np.array([ep.returns.sum() for ep in finished])
    per_agent = np.stack([ep.returns for ep in finished])
    successes = [ep.success for ep in finished if ep.success is not None]
    return EvaluationResult(
        algorithm=exp.algorithm,
        env=exp.env.name,
        checkpoint=str(path),
        episodes=len(finished),
        episode_return_mean=float(totals.mean()),
        episode_return_std=float(totals.std()),
        episode_len_mean=float(np.mean([ep.length for ep in finished])),
        success_rate=float(np.mean(successes)) if successes else None,
        agent_returns={a: float(per_agent[:, i].mean()) for i, a in enumerate(agents)},
        policy_returns={
            pid: float(sum(per_agent[:, i].mean() for i, p in enumerate(agent_policy) if p == pid))
            for pid in dict.fromkeys(agent_policy)
        },
        episode_infos=mean_episode_infos(finished),
        episode_returns=[float(t) for t in totals],
        episode_successes=[float(x) for x in successes] if successes else None,
        self_play=self_play,
        render=render_path,
    )


def mean_episode_infos(finished: list[Episode]) -> dict[str, float]:
    keys = finished[0].info_sums.keys() if finished else ()
    return {k: float(np.mean([ep.info_sums[k] for ep in finished])) for k in keys}


def write_gif(frames: list[np.ndarray], path: Path, fps: int) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path
