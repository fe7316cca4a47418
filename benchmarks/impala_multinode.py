"""Our IMPALA (impala_grid_world.yaml: 2 rollout actors x 64 env copies, a learner), or with
`--algorithm MARL_PPO` our PPO (grid_world_marl_ppo.yaml: 2 rollout workers, a learner), on one
Ray node with 2 CPUs against two Ray nodes with 1 CPU each (`ray.cluster_utils.Cluster` on
this machine, loopback, started and stopped here), the trial's placement group PACKed on the
one node and SPREAD over the two: the same total CPUs, the same actors.

On one machine both "nodes" share the cores, so what the second setup adds is the object
transfer between two raylets' object stores (trajectories to the learner, weights back),
the cost a real cluster pays over its network. The target here is no collapse: spread
>= 0.8 of the single-node env steps/s.

Prints one JSON line last: per setup the env steps/s (mean over iterations after the first),
the bytes between actors per second (`transfer_bytes_per_s`), where each actor ran, and the
bytes per second that crossed nodes (the transfers of the actors not on the learner's
node: every actor's trajectories and weights are the same size), and the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import ray
from ray.cluster_utils import Cluster

from marl_ray.config import load_experiment
from marl_ray.runner import run_experiment

ROOT = Path(__file__).resolve().parents[1]
SETUPS = {"one_node": ([2], "PACK"), "two_nodes": ([1, 1], "SPREAD")}
# algorithm -> experiment file, actor name prefix, role prefix of its rollout actors
ALGORITHMS = {
    "MARL_IMPALA": ("impala_grid_world.yaml", "marl_impala/", "actor"),
    "MARL_PPO": ("grid_world_marl_ppo.yaml", "marl_ppo/", "worker"),
}


def actor_nodes(prefix: str, stop: threading.Event, seen: dict[str, str]) -> None:
    """Records the node of every live actor named `prefix...` until `stop` is set."""
    while not stop.is_set():
        try:
            for info in ray._private.state.actors().values():
                name = info.get("Name") or ""
                if name.startswith(prefix) and info.get("State") == "ALIVE":
                    seen[name.rsplit("/", 1)[1]] = info["Address"]["NodeID"][:8]
        except Exception:  # the GCS may be briefly busy
            pass
        time.sleep(0.5)


def run_setup(algorithm: str, node_cpus: list[int], strategy: str, seconds: float) -> dict:
    file, prefix, rollout_role = ALGORITHMS[algorithm]
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": node_cpus[0], "include_dashboard": False},
    )
    for cpus in node_cpus[1:]:
        cluster.add_node(num_cpus=cpus)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        exp = load_experiment(
            ROOT / "tune_configs" / file,
            [
                f"resources.placement_strategy={strategy}",
                f"stop.time_total_s={seconds}",
                "stop.timesteps_total=null",
                "stop.metric={}",
                "checkpoint.frequency=0",
                "logging.tensorboard=false",
                f"storage_path={tempfile.mkdtemp(prefix='multinode_')}",
            ],
        )
        stop, seen = threading.Event(), {}
        watcher = threading.Thread(target=actor_nodes, args=(prefix, stop, seen))
        watcher.start()
        summary = run_experiment(exp, verbose=0)
        stop.set()
        watcher.join()
        (progress,) = Path(summary.run_dir).glob("*/progress.csv")
        rows = pd.read_csv(progress).iloc[1:]  # the first iteration includes start-up
        steps_per_s = float(rows["env_steps_per_s"].mean())
        transfer = float(rows["learners/transfer_bytes_per_s"].mean())
        actors = {role: node for role, node in seen.items() if role.startswith(rollout_role)}
        remote = sum(node != seen.get("learner") for node in actors.values())
        return {
            "nodes": node_cpus,
            "placement": strategy,
            "env_steps_per_s": round(steps_per_s, 1),
            "transfer_bytes_per_s": round(transfer),
            "cross_node_bytes_per_s": round(transfer * remote / max(len(actors), 1)),
            "actor_nodes": dict(sorted(seen.items())),
            "iterations": int(len(rows) + 1),
        }
    finally:
        ray.shutdown()
        cluster.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="training time per setup")
    parser.add_argument("--algorithm", choices=list(ALGORITHMS), default="MARL_IMPALA")
    args = parser.parse_args()
    report: dict = {
        name: run_setup(args.algorithm, cpus, strategy, args.seconds)
        for name, (cpus, strategy) in SETUPS.items()
    }
    for name, figures in report.items():
        print(f"{name}: {json.dumps(figures)}", flush=True)
    one, two = report["one_node"], report["two_nodes"]
    report["ratio"] = round(two["env_steps_per_s"] / one["env_steps_per_s"], 3)
    report["target_met"] = report["ratio"] >= 0.8
    report["algorithm"] = args.algorithm
    print(json.dumps(report))


if __name__ == "__main__":
    main()
