"""Two Ray nodes on this machine (`ray.cluster_utils.Cluster`: a head and a worker node, each
with a custom resource naming it): a trial's actors spread over both with
`placement_strategy: SPREAD`, and training survives losing the worker node (its raylet
killed) mid-run, finishing with a loadable checkpoint. The cluster is this test's own and
is shut down by it, also on failure."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import ray
from ray import tune

from marl_ray.config import load_experiment
from marl_ray.runner import run_experiment

PPO = "tune_configs/grid_world_marl_ppo.yaml"
SMALL = [
    "resources.num_env_runners=2",
    "resources.num_envs_per_env_runner=8",
    "resources.num_cpus_per_env_runner=0.5",
    "training.train_batch_size=512",
    "training.minibatch_size=512",
    "training.num_epochs=1",
    "training.extra.updates_per_iteration=1",
    "stop.metric={}",
    "stop.time_total_s=null",
    "logging.tensorboard=false",
]


@pytest.fixture
def two_nodes(tmp_path):
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "resources": {"head_node": 1},
            "include_dashboard": False,
            # A killed raylet refuses the GCS's health checks at once: declared dead after
            # 5 failed checks 1 s apart instead of Ray's 3 s apart, so the tests wait less.
            "_system_config": {"health_check_period_ms": 1000},
        },
    )
    worker = cluster.add_node(num_cpus=2, resources={"worker_node": 1})
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        yield cluster, worker
    finally:
        ray.shutdown()
        cluster.shutdown()


class ActorNodes:
    """Polls the GCS for the live actors whose names start with `prefix` and records the
    node each ran on (no dashboard needed)."""

    def __init__(self, prefix: str):
        self.prefix, self.seen, self._stop = prefix, {}, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                for info in ray._private.state.actors().values():
                    name = info.get("Name") or ""
                    if name.startswith(self.prefix) and info.get("State") == "ALIVE":
                        self.seen[name] = info["Address"]["NodeID"]
            except Exception:  # the GCS may be briefly unreachable while a node dies
                pass
            time.sleep(0.2)

    def stop(self) -> dict[str, str]:
        self._stop.set()
        self._thread.join()
        return self.seen


def _node_ids() -> dict[str, str]:
    """custom resource (head_node / worker_node) -> node id."""
    out = {}
    for node in ray.nodes():
        for key in ("head_node", "worker_node"):
            if node["Alive"] and key in node["Resources"]:
                out[key] = node["NodeID"]
    return out


def spread_ppo_trial(tmp_path, iterations: int) -> dict[str, str]:
    """A MARL_PPO trial with SPREAD placement; the node of each of its named actors."""
    exp = load_experiment(
        PPO,
        [
            *SMALL,
            "resources.placement_strategy=SPREAD",
            f"stop.training_iteration={iterations}",
            f"storage_path={tmp_path}",
        ],
    )
    watch = ActorNodes("marl_ppo/")
    summary = run_experiment(exp, verbose=0)
    seen = watch.stop()
    assert summary.training_iterations == iterations
    return seen


def test_spread_places_a_trials_actors_on_both_nodes(two_nodes, tmp_path):
    nodes = _node_ids()
    seen = spread_ppo_trial(tmp_path, iterations=3)
    roles = {name.rsplit("/", 1)[1]: node for name, node in seen.items()}
    assert {"learner", "worker-0", "worker-1"} <= set(roles), roles
    # Four bundles (trial, learner, 2 workers) spread over two nodes: both nodes hold actors.
    assert set(roles.values()) == {nodes["head_node"], nodes["worker_node"]}, roles


# algorithm -> (experiment file, overrides, env steps per iteration when fixed)
NODE_LOSS = {
    "MARL_PPO": (PPO, SMALL, 512),
    "MARL_IMPALA": (
        "tune_configs/impala_grid_world.yaml",
        ["resources.num_envs_per_env_runner=8", "stop.metric={}", "stop.time_total_s=null"],
        None,
    ),
    "A3C": (
        "tune_configs/a3c_grid_world.yaml",
        ["resources.num_envs_per_env_runner=4", "stop.metric={}", "stop.time_total_s=null"],
        None,
    ),
    "ES": ("tune_configs/es_grid_world.yaml", ["stop.metric={}", "stop.time_total_s=null"], None),
    "QMIX": (
        "tune_configs/qmix_two_step.yaml",
        ["stop.time_total_s=null", "training.extra.updates_per_iteration=20"],
        None,
    ),
    "MADDPG": (
        "tune_configs/maddpg_simple_spread.yaml",
        [
            "stop.time_total_s=null",
            "training.extra.learning_starts=500",
            "training.extra.updates_per_iteration=10",
        ],
        None,
    ),
    "ALPHAZERO": (
        "tune_configs/alphazero_tictactoe.yaml",
        [
            "stop.time_total_s=null",
            "training.extra.games_per_iteration=8",
            "training.extra.num_simulations=16",
            "training.extra.min_replay=50",
            "training.extra.train_steps_per_iteration=5",
            "training.extra.eval_games=4",
            "training.extra.baseline_interval=0",
            "resources.num_envs_per_env_runner=8",
        ],
        None,
    ),
}


class KillNodeAtIteration(tune.Callback):
    """SIGKILLs the worker node's raylet (as a lost host) when a trial first reports
    `iteration`. Tune calls this before it asks the trial for its next iteration, so the
    loss always lands mid-run however fast the iterations are."""

    def __init__(self, cluster, node, iteration: int) -> None:
        self.cluster, self.node, self.iteration = cluster, node, iteration
        self.killed_at: float | None = None

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        if self.killed_at is None and result["training_iteration"] >= self.iteration:
            self.cluster.remove_node(self.node, allow_graceful=False)
            self.killed_at = time.time()

    def __getstate__(self) -> dict:  # Tune pickles its callbacks with the run; a cluster is not
        return {"iteration": self.iteration, "killed_at": self.killed_at}


@pytest.mark.parametrize("algorithm", list(NODE_LOSS))
def test_training_survives_losing_the_worker_node(two_nodes, tmp_path, algorithm):
    cluster, worker = two_nodes
    file, overrides, batch = NODE_LOSS[algorithm]
    iterations = 8
    exp = load_experiment(
        file,
        [
            *overrides,
            "resources.placement_strategy=SPREAD",
            f"stop.training_iteration={iterations}",
            "stop.timesteps_total=null",
            "checkpoint.frequency=2",
            "logging.tensorboard=false",
            "tune.max_failures=5",  # a restore may fail again while the group is re-placed
            # a replacement waiting for a bundle on the lost node, or dying there again and
            # again, fails the trial after 15 s without work, and Tune restores it
            "resources.stall_timeout_s=15",
            f"storage_path={tmp_path}",
        ],
    )
    killer = KillNodeAtIteration(cluster, worker, iteration=4)
    summary = run_experiment(exp, verbose=0, callbacks=[killer])
    assert killer.killed_at, "the worker node was never killed"
    assert summary.training_iterations == iterations
    (progress,) = Path(summary.run_dir).glob("*/progress.csv")
    rows = pd.read_csv(progress)
    # Recovered: the trial restored from its last checkpoint in a new process (the rows after
    # the loss repeat the iterations since that checkpoint), or its workers were replaced.
    restored = rows["pid"].nunique() > 1
    assert restored or rows["worker_restarts"].iloc[-1] > 0, rows
    steps = rows["num_env_steps_sampled_lifetime"]
    if restored:
        later = rows[rows["pid"] == rows["pid"].iloc[-1]]
        print(
            f"node loss: training again {later['timestamp'].iloc[0] - killer.killed_at:.1f} s after"
        )
        # The restored process counts on from its checkpoint's counters: its first row
        # follows the checkpointed iteration's count, not zero and not the lost progress.
        first = later.iloc[0]
        checkpointed = rows[
            (rows["pid"] != first["pid"])
            & (rows["training_iteration"] == first["training_iteration"] - 1)
        ]
        assert len(checkpointed) >= 1
        assert first["num_env_steps_sampled_lifetime"] > checkpointed.iloc[-1][steps.name]
        steps = later["num_env_steps_sampled_lifetime"]
    assert steps.is_monotonic_increasing
    if batch:  # one batch per iteration: no rollout lost, none counted twice
        assert rows[steps.name].iloc[-1] == iterations * batch
    # The last checkpoint loads and plays.
    if algorithm == "ALPHAZERO":
        from marl_ray.algorithms.alphazero.evaluation import evaluate_alphazero

        assert evaluate_alphazero(summary.checkpoint, "random", 4, simulations=8).games == 4
    else:
        from marl_ray.evaluate import evaluate_checkpoint

        assert evaluate_checkpoint(summary.checkpoint, episodes=4).episodes == 4


def test_a_node_added_back_after_a_loss_takes_new_actors(two_nodes, tmp_path):
    """The worker node dies, a new one joins (as an autoscaler would add it): the next
    SPREAD trial places actors on the new node."""
    cluster, worker = two_nodes
    cluster.remove_node(worker, allow_graceful=False)
    cluster.add_node(num_cpus=2, resources={"worker_node": 1})
    cluster.wait_for_nodes()
    nodes = _node_ids()
    assert nodes["worker_node"] != worker.node_id
    seen = spread_ppo_trial(tmp_path, iterations=1)
    assert nodes["worker_node"] in set(seen.values()), seen
