"""`marl-ray`: list envs, train, tune and evaluate from experiment files; submit them to a
cluster as Ray jobs and follow them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from envs.schema import ConfigError
from marl_ray import quiet


def _add_set_argument(parser: argparse.ArgumentParser, metavar: str, text: str) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar=metavar,
        help=f"{text} (repeatable)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marl-ray", description="Multi-agent RL training on Ray from experiment files."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("envs", help="list registered environments")

    p = sub.add_parser(
        "check-env", help="run the env contract checks on any env (ours, import path, registered)"
    )
    p.add_argument("env", help="an env name, import path 'package.module:attribute' or id")
    _add_set_argument(
        p, "env.config.KEY=VALUE", "an env.config key (or env.wrappers=[...]) for the env"
    )
    p.add_argument("--episodes", type=int, default=3, help="random-action episodes per check")
    p.add_argument("--json", action="store_true", help="print a JSON report as last line")

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
        _add_set_argument(p, "KEY=VALUE", "override a key, e.g. --set training.lr=1e-3")
        p.add_argument("--address", help="Ray cluster address; default: embedded local Ray")
        p.add_argument("--json", action="store_true", help="print a JSON summary as last line")

    p = sub.add_parser(
        "compare",
        help="train variants on several seeds, evaluate on the same episodes, report IQM, "
        "intervals and probability of improvement",
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="one experiment file with compare.variants, or one file per variant "
        "(NAME=FILE names the variant)",
    )
    p.add_argument("--seeds", type=int, help="training seeds per variant (default: compare.seeds)")
    p.add_argument(
        "--episodes", type=int, help="evaluation episodes per run (default: compare.eval_episodes)"
    )
    _add_set_argument(p, "KEY=VALUE", "override a key of every variant")
    p.add_argument("--resume", metavar="COMPARE_DIR", help="continue an interrupted comparison")
    p.add_argument("--address", help="Ray cluster address; default: embedded local Ray")
    p.add_argument("--json", action="store_true", help="print the compared figures as JSON last")

    p = sub.add_parser(
        "report", help="a run's trial table and best experiment, or a comparison's report"
    )
    p.add_argument("run_dir", help="a run or compare folder (path or URI)")

    p = sub.add_parser("evaluate", help="evaluate a checkpoint's policies")
    p.add_argument("checkpoint", help="a trial's checkpoint_NNNNNN folder (path or URI)")
    p.add_argument(
        "--trust",
        action="store_true",
        help="load an RLlib checkpoint from outside a marl-ray run folder (it is a pickle)",
    )
    p.add_argument("--episodes", type=int, default=100, help="episodes (board games: games)")
    p.add_argument(
        "--opponent",
        default="random",
        help="ALPHAZERO checkpoints: random, minimax (tic-tac-toe) or mcts:N (pure MCTS)",
    )
    p.add_argument(
        "--simulations", type=int, help="ALPHAZERO: simulations per move (default: eval setting)"
    )
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--explore", action="store_true", help="sample actions instead of argmax")
    p.add_argument(
        "--render",
        metavar="OUT.gif",
        help="write a GIF of one episode (smart_grid, resource_allocation: a PNG chart)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary as last line")

    address_help = (
        "Ray dashboard address, e.g. http://127.0.0.1:8265 (default: $RAY_API_SERVER_ADDRESS)"
    )
    p = sub.add_parser("submit", help="run an experiment file as a Ray job on a cluster")
    p.add_argument("file", help="experiment YAML file inside this checkout (or --working-dir)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--address", help=address_help)
    p.add_argument("--search", action="store_true", help="run the tune block's search")
    p.add_argument("--runtime-env", metavar="FILE", help="runtime env YAML (pip, env_vars)")
    p.add_argument(
        "--working-dir",
        metavar="DIR",
        help="your project folder (your envs, the experiment file): shipped as the job's "
        "working directory, with marl_ray beside it",
    )
    p.add_argument("--follow", action="store_true", help="stream logs; exit with job status")

    p = sub.add_parser("jobs", help="list jobs, or show/stream/stop one")
    p.add_argument("action", choices=["list", "status", "logs", "stop"])
    p.add_argument("job_id", nargs="?", help="job id (all actions but list)")
    p.add_argument("--address", help=address_help)
    p.add_argument("--follow", action="store_true", help="logs: stream until the job ends")

    p = sub.add_parser("status", help="jobs on the cluster with their trials and actors")
    p.add_argument("--address", help=address_help)
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet.install()
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
    from envs import board_games

    for name in board_games.names():
        module = sys.modules[board_games.GAMES[name].__module__]
        summary = (module.__doc__ or "").strip().splitlines()[0]
        print(f"{name:24s} [ALPHAZERO board game] {summary}")
    for name in envs.plugins.user_names():
        print(f"{name:24s} [user env] {envs.plugins.describe(name)}")
    print(
        "Any PettingZoo, RLlib, Gymnasium or BatchedEnv env also works by import path "
        "(package.module:attribute) or Gymnasium id; check one with `marl-ray check-env`."
    )
    return 0


def _check_env(args) -> int:
    from envs.check import check_env, report
    from envs.schema import from_mapping
    from marl_ray.config import EnvSection, parse_override, set_path

    if args.episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {args.episodes}")
    data: dict = {"name": args.env}
    for text in args.overrides:
        key, value = parse_override(text)
        if not key.startswith(("env.config.", "env.wrappers")):
            raise ConfigError(
                f"check-env --set takes env.config.KEY=VALUE or env.wrappers=[...], got {text!r}"
            )
        set_path(data, key.removeprefix("env."), value)
    section = from_mapping(EnvSection, data, where="env")
    results, facts = check_env(section.name, section.core_config, episodes=args.episodes)
    for r in results:
        print(f"{'PASS' if r.passed else 'FAIL'}  {r.name}" + (f": {r.detail}" if r.detail else ""))
    summary = report(results, facts)
    if args.json:
        print(json.dumps(summary))
    return 0 if summary["passed"] else 1


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
    from marl_ray.compare.spec import SPEC_FILE
    from marl_ray.storage import RunStorage

    storage = RunStorage.of(args.run_dir)
    if storage.read_text(SPEC_FILE) is not None:
        _print_comparison(storage)
        return 0
    _print_report(args.run_dir, build=True)
    return 0


def _compare(args) -> int:
    from marl_ray.compare.run import compare_files, resume_compare

    if args.resume:
        if args.files or args.overrides or args.seeds or args.episodes:
            raise ConfigError("--resume continues a comparison as it was: give no FILE or options")
        storage, comparison = resume_compare(args.resume, address=args.address)
    else:
        storage, comparison = compare_files(
            args.files,
            args.overrides,
            seeds=args.seeds,
            eval_episodes=args.episodes,
            address=args.address,
        )
    _print_comparison(storage, comparison)
    if args.json:
        print(
            json.dumps(
                {
                    "compare_dir": storage.location,
                    "primary": comparison.primary,
                    "figures": comparison.figures,
                    "probability_of_improvement": comparison.improvement,
                }
            )
        )
    return 0


def _print_comparison(storage, comparison=None) -> None:
    from marl_ray.compare.report import publish_comparison

    comparison = comparison or publish_comparison(storage)
    print()
    print(comparison.markdown.read_text())
    print(f"report: {storage.display(comparison.markdown)}")


def _print_report(run_dir: str, build: bool = False) -> None:
    from marl_ray.report import publish_report
    from marl_ray.storage import RunStorage

    storage = RunStorage.of(run_dir)
    path = storage.local / "report.md"
    if build or not path.is_file():
        path = publish_report(storage).markdown
    print()
    print(path.read_text())
    print(f"report: {storage.display(path)}")


def _evaluate(args) -> int:
    from marl_ray.evaluate import checkpoint_experiment, evaluate_checkpoint

    if checkpoint_experiment(args.checkpoint)[0].algorithm == "ALPHAZERO":
        from marl_ray.algorithms.alphazero.evaluation import evaluate_alphazero

        match = evaluate_alphazero(
            args.checkpoint,
            args.opponent,
            args.episodes,
            simulations=args.simulations,
            seed=args.seed,
            render=args.render,
        )
        _print_summary(match.to_dict(), args.json)
        return 0
    result = evaluate_checkpoint(
        args.checkpoint,
        episodes=args.episodes,
        seed=args.seed,
        explore=args.explore,
        render=args.render,
        trust=args.trust,
    )
    _print_summary(result.to_dict(), args.json)
    return 0


def _print_summary(data: dict, as_json: bool) -> None:
    print()
    for key, value in data.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, list) and len(value) > 8:  # per-episode values: in --json
            value = f"[{len(value)} values]"
        print(f"  {key:22s} {value}")
    if as_json:
        print(json.dumps(data, default=str))


def _submit(args) -> int:
    from marl_ray.jobs.client import follow, job_client, submit_experiment

    client = job_client(args.address)
    sub = submit_experiment(
        args.file,
        args.overrides,
        address=args.address,
        search=args.search,
        runtime_env_file=args.runtime_env,
        working_dir=args.working_dir,
        client=client,
    )
    print(f"job: {sub.job_id}")
    print(f"results: {sub.storage_path}/<name>-<timestamp> on the node running the job")
    if not args.follow:
        print(f"follow it with: marl-ray jobs logs {sub.job_id} --follow")
        return 0
    status = follow(client, sub.job_id)
    print(f"job {sub.job_id}: {status}")
    return 0 if status == "SUCCEEDED" else 1


def _jobs(args) -> int:
    from marl_ray.jobs.client import job_client

    client = job_client(args.address)
    try:
        return _job_action(client, args)
    except RuntimeError as exc:  # the job API's errors, e.g. an unknown job id (404)
        raise ConfigError(f"{exc} (marl-ray jobs list shows the jobs)") from exc


def _job_action(client, args) -> int:
    from marl_ray.jobs.client import follow

    if args.action == "list":
        for info in sorted(client.list_jobs(), key=lambda j: j.start_time or 0):
            print(
                f"{info.submission_id or info.job_id:28s} {info.status.value:10s} {info.entrypoint}"
            )
        return 0
    if not args.job_id:
        raise ConfigError(f"marl-ray jobs {args.action} needs a JOB_ID (see marl-ray jobs list)")
    if args.action == "status":
        info = client.get_job_info(args.job_id)
        print(f"{args.job_id}: {info.status.value}")
        if info.message:
            print(info.message)
        return 0
    if args.action == "logs":
        if args.follow:
            status = follow(client, args.job_id)
            print(f"job {args.job_id}: {status}")
            return 0 if status == "SUCCEEDED" else 1
        print(client.get_job_logs(args.job_id), end="")
        return 0
    stopped = client.stop_job(args.job_id)
    print(f"{args.job_id}: {'stop requested' if stopped else 'already finished'}")
    return 0


def _status(args) -> int:
    from dataclasses import asdict

    from marl_ray.jobs.client import job_client
    from marl_ray.jobs.status import cluster_status, format_status

    jobs = cluster_status(job_client(args.address), args.address)
    if args.json:
        print(json.dumps([asdict(j) for j in jobs]))
    else:
        print(format_status(jobs))
    return 0


_COMMANDS = {
    "envs": _envs,
    "check-env": _check_env,
    "train": _train,
    "tune": _tune,
    "compare": _compare,
    "report": _report,
    "evaluate": _evaluate,
    "submit": _submit,
    "jobs": _jobs,
    "status": _status,
}

if __name__ == "__main__":
    sys.exit(main())
