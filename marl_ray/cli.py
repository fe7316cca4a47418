"""`marl-ray`: list envs, train, tune and evaluate from experiment files."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from envs.schema import ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marl-ray", description="Multi-agent RL training on Ray from experiment files."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("envs", help="list registered environments")

    for name, text in (
        ("train", "train one trial of an experiment file through Tune"),
        ("tune", "run the experiment file's tune.search_space"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("file", help="experiment YAML file")
        p.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a key, e.g. --set training.lr=1e-3 (repeatable)",
        )
        p.add_argument("--address", help="Ray cluster address; default: embedded local Ray")
        p.add_argument("--json", action="store_true", help="print a JSON summary as last line")

    p = sub.add_parser("evaluate", help="evaluate a checkpoint's policies")
    p.add_argument("checkpoint", help="a trial's checkpoint_NNNNNN folder")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--explore", action="store_true", help="sample actions instead of argmax")
    p.add_argument("--render", metavar="OUT.gif", help="write a GIF of one episode")
    p.add_argument("--json", action="store_true", help="print a JSON summary as last line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"marl-ray: error: {exc}", file=sys.stderr)
        return 2


def _envs(args) -> int:
    import envs

    for name in envs.names():
        module = sys.modules[envs.core_class(name).__module__]
        summary = (module.__doc__ or "").strip().splitlines()[0]
        print(f"{name:24s} {summary}")
    return 0


def _train(args, search: bool = False) -> int:
    from marl_ray.config import load_experiment
    from marl_ray.runner import run_experiment

    exp = load_experiment(args.file, args.overrides)
    summary = run_experiment(exp, search=search, address=args.address)
    _print_summary(summary.to_dict(), args.json)
    return 0


def _tune(args) -> int:
    return _train(args, search=True)


def _evaluate(args) -> int:
    from marl_ray.evaluate import evaluate_checkpoint

    result = evaluate_checkpoint(
        args.checkpoint,
        episodes=args.episodes,
        seed=args.seed,
        explore=args.explore,
        render=args.render,
    )
    _print_summary(result.to_dict(), args.json)
    return 0


def _print_summary(data: dict, as_json: bool) -> None:
    print()
    for key, value in data.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        print(f"  {key:22s} {value}")
    if as_json:
        print(json.dumps(data, default=str))


_COMMANDS = {"envs": _envs, "train": _train, "tune": _tune, "evaluate": _evaluate}

if __name__ == "__main__":
    sys.exit(main())
