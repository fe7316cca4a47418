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
        ("tune", "run the experiment file's search (tune block), then write its report"),
    ):
        p = sub.add_parser(name, help=text)
        if name == "tune":
            p.add_argument("file", nargs="?", help="experiment YAML file")
            p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
        else:
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

    p = sub.add_parser("report", help="trial table, best experiment file and trials.png")
    p.add_argument("run_dir", help="a run folder (results/<name>-<timestamp>)")

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
    if args.resume:
        if args.file or args.overrides:
            raise ConfigError("--resume continues a run as it was: give no FILE or --set")
        from marl_ray.runner import resume_experiment

        summary = resume_experiment(args.resume, address=args.address)
    elif not args.file:
        raise ConfigError("marl-ray tune needs an experiment FILE or --resume RUN_DIR")
    else:
        from marl_ray.config import load_experiment
        from marl_ray.runner import run_experiment

        exp = load_experiment(args.file, args.overrides)
        summary = run_experiment(exp, search=True, address=args.address)
    _print_report(summary.run_dir)
    _print_summary(summary.to_dict(), args.json)
    return 0


def _report(args) -> int:
    _print_report(args.run_dir, build=True)
    return 0


def _print_report(run_dir: str, build: bool = False) -> None:
    from pathlib import Path

    from marl_ray.report import build_report

    path = Path(run_dir) / "report.md"
    if build or not path.is_file():
        report = build_report(run_dir)
        path = report.markdown
    print()
    print(path.read_text())
    print(f"report: {path}")


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


_COMMANDS = {
    "envs": _envs,
    "train": _train,
    "tune": _tune,
    "report": _report,
    "evaluate": _evaluate,
}

if __name__ == "__main__":
    sys.exit(main())
