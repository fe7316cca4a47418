"""Integration: a real `ray start --head` (dashboard on loopback, token auth on), experiments
submitted with `marl-ray submit`, followed, summarised, and their metrics scraped.

The head runs in its own process group with its own temp dir and token file; the fixture
stops that group and nothing else. These tests start their own head, so they run with
`make test-cluster`, apart from `make test`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from marl_ray.metrics import ITERATION_TIME, PREFIX, RESULT_GAUGES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TINY = [
    "stop.training_iteration=2",
    "stop.timesteps_total=null",
    "stop.time_total_s=null",
    "stop.metric={}",
    "training.train_batch_size=400",
    "training.minibatch_size=100",
    "training.num_epochs=2",
]


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _get(url: str, headers: dict | None = None, timeout: float = 5.0) -> str:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode()


@dataclass(frozen=True)
class Head:
    """The head a test started: its process, dashboard and metrics URLs, GCS address, token."""

    proc: subprocess.Popen
    dashboard: str
    metrics: str
    gcs: str
    token_file: Path

    def client_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(RAY_AUTH_TOKEN_PATH=str(self.token_file), PATH=f"{BIN}:{env['PATH']}")
        env.update(extra)
        return env

    def marl_ray(self, *args: str, timeout: float = 300, **env: str):
        return subprocess.run(
            [str(BIN / "marl-ray"), *args],
            cwd=ROOT,
            env=self.client_env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("head")
    token_file = tmp / "auth_token"
    token_file.write_text(secrets.token_hex(32))
    gcs, dash, metrics, agent, agent_grpc, runtime_env, client = _free_ports(7)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN_PATH=str(token_file),
        PATH=f"{BIN}:{env['PATH']}",  # the job's `python` is this venv's
    )
    log = open(tmp / "head.log", "w")  # noqa: SIM115 (closed at teardown)
    proc = subprocess.Popen(
        [
            str(BIN / "ray"),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={gcs}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dash}",
            f"--metrics-export-port={metrics}",
            f"--dashboard-agent-listen-port={agent}",
            f"--dashboard-agent-grpc-port={agent_grpc}",
            f"--runtime-env-agent-port={runtime_env}",
            f"--ray-client-server-port={client}",
            "--num-cpus=2",
            f"--temp-dir={tmp / 'ray'}",
            "--disable-usage-stats",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopping it stops only this head
    )
    dashboard = f"http://127.0.0.1:{dash}"
    try:
        deadline = time.time() + 90
        headers = {"Authorization": f"Bearer {token_file.read_text()}"}
        while True:
            try:
                _get(f"{dashboard}/api/version", headers)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(
                        f"head did not come up: {(tmp / 'head.log').read_text()}"
                    ) from None
                time.sleep(1)
        metrics_url = f"http://127.0.0.1:{metrics}/metrics"
        yield Head(proc, dashboard, metrics_url, f"127.0.0.1:{gcs}", token_file)
    finally:
        _stop_group(proc)
        log.close()


def _stop_group(proc: subprocess.Popen) -> None:
    pgid = proc.pid  # leader of its own session
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)  # a test head needs no graceful stop; SIGKILL ends the rest
    time.sleep(1)  # let the group's other processes act on the signal
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    proc.wait(timeout=10)


def _job_id(output: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.startswith("job: "))


def test_submit_follow_status_logs_results_and_metrics(head, tmp_path):
    storage = tmp_path / "results"
    sets = [a for s in [*TINY, f"storage_path={storage}"] for a in ("--set", s)]
    submit = subprocess.Popen(
        [str(BIN / "marl-ray"), "submit", "tune_configs/grid_world_ppo.yaml", *sets]
        + ["--address", head.dashboard, "--follow"],
        cwd=ROOT,
        env=head.client_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # While it runs, the status summary shows the job and its trial actor.
    from marl_ray.jobs.client import job_client
    from marl_ray.jobs.status import cluster_status

    os.environ["RAY_AUTH_TOKEN_PATH"] = str(head.token_file)
    try:
        client, seen, deadline = job_client(head.dashboard), [], time.time() + 240
        series: list[float] = []
        while submit.poll() is None and time.time() < deadline:
            jobs = cluster_status(client, head.dashboard)
            seen += [(j.status, t["class"]) for j in jobs for t in j.trials]
            series += _iteration_series(head)
            if ("RUNNING", "ExperimentPPO") in seen and series:
                break
            time.sleep(0.3)
    finally:
        del os.environ["RAY_AUTH_TOKEN_PATH"]
    out, _ = submit.communicate(timeout=300)
    assert submit.returncode == 0, out
    job_id = _job_id(out)
    assert f"job {job_id}: SUCCEEDED" in out
    assert ("RUNNING", "ExperimentPPO") in seen, seen
    status = head.marl_ray("status", "--address", head.dashboard)
    assert status.returncode == 0 and job_id in status.stdout and "SUCCEEDED" in status.stdout

    logs = head.marl_ray("jobs", "logs", job_id, "--address", head.dashboard)
    assert logs.returncode == 0, logs.stderr
    assert "training_iterations    2" in logs.stdout
    run_dirs = list(storage.glob("grid_world_ppo-*"))
    assert len(run_dirs) == 1 and f"writing this run to {run_dirs[0]}" in logs.stdout
    summary = json.loads((run_dirs[0] / "summary.json").read_text())
    assert summary["training_iterations"] == 2 and Path(summary["checkpoint"]).is_dir()

    state = head.marl_ray("jobs", "status", job_id, "--address", head.dashboard)
    assert f"{job_id}: SUCCEEDED" in state.stdout

    # Every per-iteration gauge, tagged with the experiment, on the metrics port (Ray
    # prefixes `ray_`), read during the run or after it, each with a real value.
    gauges = [*RESULT_GAUGES.values(), ITERATION_TIME]
    values: dict[str, list[float]] = {}
    deadline = time.time() + 90
    while time.time() < deadline:
        values = _series(head, "grid_world_ppo")
        if all(values.get(g) for g in gauges) and max(values[ITERATION_TIME]) > 0:
            break
        time.sleep(1)
    missing = [g for g in gauges if not values.get(g)]
    assert not missing, f"no series for {missing}; seen {sorted(values)}"
    assert max(values[ITERATION_TIME]) > 0
    assert max(values["training_iteration"]) >= 1 and max(values["env_steps_lifetime"]) > 0
    assert max(values["episode_len_mean"]) > 0


def _iteration_series(head: Head) -> list[float]:
    return _series(head, "grid_world_ppo").get("training_iteration", [])


def _series(head: Head, experiment: str) -> dict[str, list[float]]:
    """Values of our gauges for `experiment` on the metrics port, by gauge name without the
    `ray_marl_ray_` prefix (empty while the node's metrics agent is still starting)."""
    try:
        text = _get(head.metrics)
    except OSError:
        return {}
    out: dict[str, list[float]] = {}
    for line in text.splitlines():
        if line.startswith("ray_" + PREFIX) and f'experiment="{experiment}"' in line:
            name = line[len("ray_" + PREFIX) :].split("{", 1)[0]
            out.setdefault(name, []).append(float(line.rsplit(" ", 1)[1]))
    return out


# experiment file -> (trial class, roles of our named actors that status must list)
RUNNING_TRIALS = {
    "tune_configs/alphazero_tictactoe.yaml": ("AlphaZeroTrainable", set()),
    "tune_configs/qmix_two_step.yaml": ("QMIXTrainable", {"sampler", "replay", "learner"}),
}


@pytest.mark.parametrize("config", list(RUNNING_TRIALS))
def test_status_shows_a_running_trial_and_its_actors(head, tmp_path, config):
    """Trial classes come from the algorithm registry (AlphaZero's and QMIX's trials are
    listed), and our actors are counted by role under their job."""
    from marl_ray.jobs.client import job_client
    from marl_ray.jobs.status import cluster_status

    trial_class, roles = RUNNING_TRIALS[config]
    sets = [
        "stop.time_total_s=120",
        "stop.training_iteration=50",
        "stop.timesteps_total=null",  # still running when status is asked
        f"storage_path={tmp_path}",
    ]
    submit = head.marl_ray(
        "submit",
        config,
        *[a for s in sets for a in ("--set", s)],
        *("--address", head.dashboard),
    )
    assert submit.returncode == 0, submit.stderr
    job_id = _job_id(submit.stdout)
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(head.token_file)
    try:
        client, deadline = job_client(head.dashboard), time.time() + 180
        seen: set = set()
        seen_roles: set = set()
        while time.time() < deadline and (
            ("RUNNING", trial_class) not in seen or not roles <= seen_roles
        ):
            jobs = cluster_status(client, head.dashboard)
            mine = [j for j in jobs if j.job_id == job_id]
            seen |= {(j.status, t["class"]) for j in mine for t in j.trials}
            seen_roles |= {role for j in mine for role in j.actors}
            time.sleep(0.5)
        status = head.marl_ray("status", "--address", head.dashboard)
    finally:
        head.marl_ray("jobs", "stop", job_id, "--address", head.dashboard)
        del os.environ["RAY_AUTH_TOKEN_PATH"]
    assert ("RUNNING", trial_class) in seen, seen
    assert roles <= seen_roles, seen_roles
    assert trial_class in status.stdout, status.stdout
    for role in roles:
        assert role in status.stdout, status.stdout


def test_bad_config_job_fails_with_the_validation_message(head, tmp_path):
    result = head.marl_ray(
        "submit",
        "tune_configs/grid_world_ppo.yaml",
        *("--set", "training.extra.no_such_setting=1", "--set", f"storage_path={tmp_path}"),
        *("--address", head.dashboard, "--follow"),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    job_id = _job_id(result.stdout)
    assert f"job {job_id}: FAILED" in result.stdout
    logs = head.marl_ray("jobs", "logs", job_id, "--address", head.dashboard).stdout
    assert "training key 'no_such_setting' is not an option of PPO" in logs


def test_schema_errors_are_caught_before_submitting(head):
    result = head.marl_ray(
        "submit",
        "tune_configs/grid_world_ppo.yaml",
        "--set",
        "training.lrr=1",
        "--address",
        head.dashboard,
    )
    assert result.returncode == 2 and "lrr" in result.stderr and "job:" not in result.stdout


def test_missing_or_wrong_token_says_what_to_do(head, tmp_path):
    no_token = head.marl_ray(
        "jobs", "list", "--address", head.dashboard, RAY_AUTH_TOKEN_PATH="", HOME=str(tmp_path)
    )
    assert no_token.returncode == 2
    assert "no token was found" in no_token.stderr and "RAY_AUTH_TOKEN" in no_token.stderr
    wrong = head.marl_ray("jobs", "list", "--address", head.dashboard, RAY_AUTH_TOKEN="nope")
    assert wrong.returncode == 2 and "was rejected" in wrong.stderr
    unknown = head.marl_ray("jobs", "status", "raysubmit_nope", "--address", head.dashboard)
    assert unknown.returncode == 2 and "does not exist" in unknown.stderr


def test_train_joins_a_token_cluster_with_the_token_it_finds(head, tmp_path):
    sets = [a for s in [*TINY, f"storage_path={tmp_path}"] for a in ("--set", s)]
    wrong = head.marl_ray(
        "train",
        "tune_configs/grid_world_ppo.yaml",
        "--address",
        head.gcs,
        RAY_AUTH_TOKEN="nope",
        timeout=120,
    )
    assert wrong.returncode == 2 and "was rejected" in wrong.stderr, wrong.stderr[-2000:]
    ok = head.marl_ray(
        "train", "tune_configs/grid_world_ppo.yaml", *sets, "--address", head.gcs, "--json"
    )
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert json.loads(ok.stdout.strip().splitlines()[-1])["training_iterations"] == 2


def _progress(run_dir: Path) -> dict:
    import pandas as pd

    return {p.parent.name: pd.read_csv(p) for p in Path(run_dir).glob("*/progress.csv")}


def _wait_for_first_terminated_trial(root: Path, timeout: float) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for state in root.glob("*/experiment_state-*.json"):
            if "TERMINATED" in state.read_text():
                return state.parent
        time.sleep(0.5)
    raise AssertionError("no trial finished in time")


def _terminated_trials(run_dir: Path) -> list[str]:
    """The folders of the trials Tune's newest saved experiment state calls TERMINATED."""
    state = max(run_dir.glob("experiment_state-*.json"), key=lambda p: p.stat().st_mtime)
    trials = [json.loads(t[0]) for t in json.loads(state.read_text())["trial_data"]]
    return [t["relative_logdir"] for t in trials if t["status"] == "TERMINATED"]


def test_a_killed_driver_resumes_without_redoing_finished_trials(head, tmp_path):
    """`marl-ray tune` on the head is killed (its whole process group) after a trial has
    finished; `tune --resume` completes the search and leaves finished trials' rows alone."""
    import pandas as pd
    import yaml

    data = yaml.safe_load((ROOT / "tune_configs" / "a3c_grid_world.yaml").read_text())
    data["tune"]["search_space"] = {"training.lr": {"grid_search": [0.001, 0.002, 0.003]}}
    data["tune"]["max_concurrent_trials"] = 1
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(data))
    sets = [
        "resources.num_env_runners=1",
        "resources.num_envs_per_env_runner=8",
        "resources.num_cpus_per_env_runner=0",
        "training.extra.updates_per_iteration=10",
        "stop.training_iteration=3",
        "stop.timesteps_total=null",
        "stop.time_total_s=null",
        "stop.metric={}",
        "checkpoint.frequency=1",
        f"storage_path={tmp_path / 'out'}",
    ]
    cmd = [str(BIN / "marl-ray"), "tune", str(path), "--address", head.gcs]
    cmd += [a for s in sets for a in ("--set", s)]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=head.client_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        run_dir = _wait_for_first_terminated_trial(tmp_path / "out", timeout=180)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = _progress(run_dir)
    # Finished is what Tune had recorded as finished when the driver died: a trial whose
    # last row was written but whose end was not yet saved is rightly run again.
    finished = _terminated_trials(run_dir)
    assert finished, f"no trial had finished before the kill: {before}"
    assert len(before) < 3 or any(len(r) < 3 for r in before.values()), "nothing left to resume"
    resumed = head.marl_ray("tune", "--resume", str(run_dir), "--address", head.gcs, "--json")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    after = _progress(run_dir)
    # Every trial completes; one killed mid-run goes on from its last checkpoint, so its rows
    # after that checkpoint may appear twice: what counts is where it ends.
    assert summary["trials"] == 3, summary
    assert all(rows["training_iteration"].iloc[-1] == 3 for rows in after.values()), after
    for name in finished:  # not redone: the same rows, not appended to
        pd.testing.assert_frame_equal(before[name], after[name])


def test_submit_ships_a_user_env_from_a_project_outside_the_repository(head, tmp_path):
    """A user's project folder (their env module and experiment file) is the job's working
    directory; marl_ray travels beside it and every worker imports the env."""
    import shutil

    import yaml

    project = tmp_path / "my_project"
    project.mkdir()
    shutil.copy(ROOT / "tests" / "user_project" / "my_envs.py", project / "my_envs.py")
    data = yaml.safe_load((ROOT / "tune_configs" / "grid_world_ppo.yaml").read_text())
    data["name"] = "rendezvous_ppo"
    data["env"] = {"name": "my_envs:Rendezvous", "config": {"size": 4}}
    data["multi_agent"] = {"policies": "independent"}
    (project / "rendezvous.yaml").write_text(yaml.safe_dump(data))
    storage = tmp_path / "results"
    sets = [a for s in [*TINY, f"storage_path={storage}"] for a in ("--set", s)]
    submitted = subprocess.run(
        [str(BIN / "marl-ray"), "submit", str(project / "rendezvous.yaml"), *sets]
        + ["--working-dir", str(project), "--address", head.dashboard, "--follow"],
        cwd=tmp_path,  # not the repository: nothing of it is on the path by accident
        env=head.client_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = submitted.stdout + submitted.stderr
    assert submitted.returncode == 0, out[-4000:]
    assert "SUCCEEDED" in out
    summary = json.loads(next(storage.glob("rendezvous_ppo-*/summary.json")).read_text())
    assert summary["env"] == "my_envs:Rendezvous" and summary["training_iterations"] == 2


def _ports(results: list[dict]) -> set[int]:
    return {int(r["metric"]["instance"].rsplit(":", 1)[1]) for r in results}


def _prometheus_range(url: str, expr: str, start: float, end: float) -> list[dict]:
    query = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": "2s"})
    data = json.loads(_get(f"{url}/api/v1/query_range?{query}"))
    assert data["status"] == "success", data
    return data["data"]["result"]


def _prometheus_query(url: str, expr: str) -> list[dict]:
    query = urllib.parse.urlencode({"query": expr})
    data = json.loads(_get(f"{url}/api/v1/query?{query}"))
    assert data["status"] == "success", data
    return data["data"]["result"]


def test_prometheus_scrapes_both_nodes_and_every_dashboard_query_has_data(head, tmp_path):
    """A real Prometheus (Debian's package) started with cluster/prometheus.yml, pointed at
    this head's service-discovery file, scrapes the head and a worker node while A3C, IMPALA
    and ES train; every query of cluster/grafana_dashboard.json then returns a finite series."""
    import shutil

    import yaml

    prometheus = shutil.which("prometheus")
    assert prometheus, "Debian's prometheus is missing: make test-cluster installs it"
    (worker_metrics,) = _free_ports(1)
    head_metrics = int(head.metrics.rsplit(":", 1)[1].split("/")[0])
    worker_log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (closed below)
    worker = subprocess.Popen(
        [
            str(BIN / "ray"),
            "start",
            f"--address={head.gcs}",
            "--block",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=1",
            f"--metrics-export-port={worker_metrics}",
            "--disable-usage-stats",
        ],
        env=head.client_env(RAY_AUTH_MODE="token"),
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    config = yaml.safe_load((ROOT / "cluster" / "prometheus.yml").read_text())
    discovery = Path(head.token_file).parent / "ray" / "prom_metrics_service_discovery.json"
    config["global"]["scrape_interval"] = "2s"
    config["scrape_configs"][0]["file_sd_configs"][0]["files"] = [str(discovery)]
    config["scrape_configs"][0]["file_sd_configs"][0]["refresh_interval"] = "2s"
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    (port,) = _free_ports(1)
    prom_log = open(tmp_path / "prometheus.log", "w")  # noqa: SIM115 (closed below)
    prom = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=prom_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Both nodes' metrics ports are targets, and Prometheus scrapes them.
        deadline, up = time.time() + 90, []
        while time.time() < deadline:
            with contextlib.suppress(OSError, AssertionError):
                up = [r for r in _prometheus_query(url, 'up{job="ray"}') if r["value"][1] == "1"]
                if {head_metrics, worker_metrics} <= _ports(up):
                    break
            time.sleep(1)
        # Targets carry the node's address (not necessarily loopback): match their ports.
        targets = json.loads(_get(f"{url}/api/v1/targets"))["data"]["activeTargets"]
        assert {head_metrics, worker_metrics} <= _ports(up), [
            (t["scrapeUrl"], t["health"], t["lastError"]) for t in targets
        ]

        storage, started = tmp_path / "results", time.time()
        for file, extra in (
            ("a3c_grid_world.yaml", ["stop.timesteps_total=3000"]),
            ("impala_grid_world.yaml", ["stop.training_iteration=4"]),
            ("es_grid_world.yaml", ["stop.training_iteration=3"]),
        ):
            sets = [*extra, "stop.time_total_s=60", "stop.metric={}", f"storage_path={storage}"]
            run = head.marl_ray(
                "train",
                f"tune_configs/{file}",
                *[a for s in sets for a in ("--set", s)],
                "--address",
                head.gcs,
            )
            assert run.returncode == 0, run.stderr[-3000:]
        time.sleep(6)  # the last results reach a scrape

        dashboard = json.loads((ROOT / "cluster" / "grafana_dashboard.json").read_text())
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        empty = []
        for expr in exprs:
            for var in ("$experiment", "$trial", "$algorithm"):
                expr = expr.replace(var, ".*")
            # As Grafana asks: a range over the trainings (each algorithm's series goes
            # stale once its actors exit, so an instant query sees only the last one's).
            result = _prometheus_range(url, expr, started, time.time())
            if not any(math.isfinite(float(v)) for r in result for _, v in r["values"]):
                empty.append(expr)
        assert not empty, f"{len(empty)} of {len(exprs)} dashboard queries had no data: {empty}"
    finally:
        _stop_group(prom)
        _stop_group(worker)
        prom_log.close()
        worker_log.close()
