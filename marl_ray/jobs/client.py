"""Submits experiment files as Ray jobs and follows them, through the dashboard's job API.

A job ships the project folder as its working directory and runs `python -m marl_ray.cli
train|tune FILE --address auto` on the cluster, so the cluster runs exactly the code and
experiment files of this checkout. With `--working-dir`, a user's own project folder (their
envs and experiment files) is the working directory instead and this checkout's packages
travel as `py_modules`: every worker imports both.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from envs.schema import ConfigError
from marl_ray.auth import HOW_TO_GET_A_TOKEN, auth_headers, find_token

ADDRESS_ENV = "RAY_API_SERVER_ADDRESS"
# Where a job's results go when the experiment names a relative folder: the job's working
# directory is temporary, so relative paths are placed under this folder on the job's node.
CLUSTER_RESULTS_ROOT = "~/marl_ray_results"
WORKING_DIR_EXCLUDES = [
    ".git",
    ".venv",
    "results",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "*.gif",
]
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


@dataclass(frozen=True)
class Submission:
    job_id: str
    entrypoint: str
    storage_path: str


def project_root() -> Path:
    """The checkout that `submit` ships (the folder holding `pyproject.toml` and `marl_ray/`)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "envs").is_dir():
        raise ConfigError(
            f"marl-ray submit ships the project folder as the job's working directory, but "
            f"{root} is not a marl_ray checkout; run it from a clone (pip install -e .)"
        )
    return root


def dashboard_address(address: str | None) -> str:
    address = address or os.environ.get(ADDRESS_ENV)
    if not address:
        raise ConfigError(
            f"no cluster address: pass --address http://HEAD:8265 (the Ray dashboard, reached "
            f"through a port forward) or set {ADDRESS_ENV}"
        )
    return address if "://" in address else f"http://{address}"


def job_client(address: str | None):
    """A `JobSubmissionClient` authenticated with the token `find_token` finds."""
    from ray.exceptions import AuthenticationError
    from ray.job_submission import JobSubmissionClient

    address = dashboard_address(address)
    token = find_token()
    try:
        return JobSubmissionClient(address, headers=auth_headers(token))
    except AuthenticationError as exc:
        used = f"the token from {token.source} was rejected" if token else "no token was found"
        raise ConfigError(f"{address} refused the request: {used}. {HOW_TO_GET_A_TOKEN}") from exc
    except ConnectionError as exc:
        raise ConfigError(
            f"no Ray dashboard answers at {address} ({exc}). Is the cluster up, and the "
            "dashboard port forwarded (e.g. `ray dashboard cluster.yaml` or `kubectl "
            "port-forward svc/<cluster>-head-svc 8265`)?"
        ) from exc


def job_storage_path(storage_path: str) -> str:
    """Where a job writes its runs: URIs and absolute folders as given, relative folders
    under `CLUSTER_RESULTS_ROOT` (the job's working directory is deleted with the job)."""
    if "://" in storage_path or storage_path.startswith(("/", "~")):
        return storage_path
    return str(PurePosixPath(CLUSTER_RESULTS_ROOT) / storage_path)


def submit_experiment(
    file: str,
    overrides: Sequence[str],
    *,
    address: str | None,
    search: bool = False,
    runtime_env_file: str | None = None,
    working_dir: str | None = None,
    entrypoint_num_cpus: float = 0,
    client=None,
) -> Submission:
    """Validates the experiment here, then submits it as a job; returns its id and where
    its results will be written. With `working_dir` (a user's project folder: their envs,
    their experiment files), that folder is the job's working directory and marl_ray's own
    packages travel beside it as `py_modules`."""
    from marl_ray.config import load_experiment

    root = project_root()
    shipped = Path(working_dir).expanduser().resolve() if working_dir else root
    if not shipped.is_dir():
        raise ConfigError(f"--working-dir {working_dir} is not a folder")
    path = Path(file).expanduser().resolve()
    try:
        relative = path.relative_to(shipped)
    except ValueError:
        raise ConfigError(
            f"{file} is outside the folder {shipped}, which is what the job ships; put the "
            "experiment file inside it"
            + ("" if working_dir else " (or pass --working-dir with your project folder)")
        ) from None
    # Schema errors and unknown envs here, before submitting; a user env imports from its
    # project folder as it will on the cluster.
    sys.path.insert(0, str(shipped))
    try:
        exp = load_experiment(str(path), list(overrides))
    finally:
        sys.path.remove(str(shipped))
    storage = job_storage_path(exp.storage_path)
    command = ["python", "-m", "marl_ray.cli", "tune" if search else "train", str(relative)]
    kept = [o for o in overrides if not o.strip().startswith("storage_path=")]
    for item in [*kept, f"storage_path={storage}"]:
        command += ["--set", item]
    command += ["--address", "auto"]
    entrypoint = shlex.join(command)
    client = client or job_client(address)
    job_id = client.submit_job(
        entrypoint=entrypoint,
        runtime_env=runtime_env(root, runtime_env_file, shipped),
        entrypoint_num_cpus=entrypoint_num_cpus,
        metadata={"marl_ray_experiment": exp.name, "marl_ray_storage_path": storage},
    )
    return Submission(job_id=job_id, entrypoint=entrypoint, storage_path=storage)


def runtime_env(
    root: Path, runtime_env_file: str | None, working_dir: Path | None = None
) -> dict[str, Any]:
    """The working directory (this checkout, or a user's project folder with marl_ray's
    packages as `py_modules`), plus a runtime-env file's pip/env_vars/etc."""
    working_dir = working_dir or root
    env: dict[str, Any] = {}
    if runtime_env_file:
        loaded = yaml.safe_load(Path(runtime_env_file).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{runtime_env_file}: a runtime environment is a mapping")
        env.update(loaded)
    if "working_dir" in env:
        raise ConfigError(
            f"{runtime_env_file}: working_dir is set by marl-ray submit (the project folder)"
        )
    env["working_dir"] = str(working_dir)
    if working_dir != root:
        ours = [str(root / package) for package in ("marl_ray", "envs")]
        env["py_modules"] = [*ours, *env.get("py_modules", [])]
    env["excludes"] = sorted(set(env.get("excludes", [])) | set(WORKING_DIR_EXCLUDES))
    env_vars = {str(k): str(v) for k, v in (env.get("env_vars") or {}).items()}
    env_vars.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    env["env_vars"] = env_vars
    return env


def follow(client, job_id: str, out=sys.stdout) -> str:
    """Streams a job's logs until it ends; returns its final status name."""

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            out.write(chunk)
            out.flush()

    asyncio.run(tail())
    return wait_for_status(client, job_id)


def wait_for_status(client, job_id: str, timeout_s: float = 30.0) -> str:
    """The job's status once it is terminal (the log stream can close a moment earlier)."""
    deadline = time.time() + timeout_s
    while True:
        status = str(client.get_job_status(job_id).value)
        if status in TERMINAL or time.time() > deadline:
            return status
        time.sleep(0.5)
