"""QMIX vs VDN vs IQL on the two-step cooperative game of the QMIX paper
(tune_configs/qmix_two_step.yaml; optimum 8, the safe choice 7).

Each algorithm trains 70k env steps on 5 seeds (the same file, only `algorithm` changes),
then plays 100 greedy episodes (evaluation seed 1000 + seed): mean return per seed, mean
and 95 % bootstrap interval over seeds, and how often agent 0 chose state 2B.

VDN can only add per-agent values, so in state 2B it fits Q(a0) + Q(a1) to the payoffs
[[0, 1], [1, 8]]. Under uniform exploration that fit puts the best joint action below 7 and
VDN settles for 2A; as epsilon decays, the data concentrate on (1, 1) and the additive fit
there can exceed 7. The variant `VDN_uniform` keeps epsilon at 1 for the whole run (every
joint action equally often) to show the representational limit apart from exploration.

Prints one JSON line last: {algorithm: {"mean", "ci", "n", "values", "chose_2b"}}, with
"env_steps" and wall times.
"""

from __future__ import annotations

import argparse
import json

from scripted_comparison import train

from marl_ray.evaluate import evaluate_checkpoint
from marl_ray.stats import mean_interval

VARIANTS = {
    "QMIX": ["algorithm=QMIX"],
    "VDN": ["algorithm=VDN"],
    "IQL": ["algorithm=IQL"],
    "VDN_uniform": ["algorithm=VDN", "training.extra.epsilon_end=1.0"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=70_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    if len(args.seeds) < 3:
        parser.error("--seeds: a comparison of learning needs at least 3 seeds per side")
    report: dict = {"env_steps": args.env_steps, "seeds": args.seeds}
    for name in args.variants:
        values, chose_2b, wall = [], [], []
        for seed in args.seeds:
            budget = [f"stop.timesteps_total={args.env_steps}", "stop.time_total_s=null"]
            _, checkpoint, wall_s, _ = train(
                "qmix_two_step.yaml", [*VARIANTS[name], *budget, f"seed={seed}"]
            )
            result = evaluate_checkpoint(checkpoint, episodes=args.episodes, seed=1000 + seed)
            values.append(round(result.episode_return_mean, 3))
            chose_2b.append(round(result.episode_infos["chose_2b"], 3))
            wall.append(round(wall_s, 1))
            print(f"{name} seed {seed}: return {values[-1]}, chose 2B {chose_2b[-1]}", flush=True)
        report[name] = {**mean_interval(values), "chose_2b": chose_2b, "wall_s": wall}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
