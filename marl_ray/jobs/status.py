"""`marl-ray status`: the cluster's jobs and, for running ones, their trials and actors,
read from the dashboard's job and state APIs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from marl_ray.auth import auth_headers, find_token
from marl_ray.jobs.client import dashboard_address
from marl_ray.trainables import TRIAL_CLASS_NAMES


@dataclass
class JobStatus:
    job_id: str
    status: str
    experiment: str
    entrypoint: str
    started: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    actors: dict[str, int] = field(default_factory=dict)  # role -> live count
    nodes: dict[str, dict[str, int]] = field(default_factory=dict)
    """Node id -> role -> live count: where the job's trial actors and our actors run."""


def cluster_status(client, address: str | None) -> list[JobStatus]:
    """Every job, newest first; trial actors and our named actors grouped under their job."""
    infos = sorted(client.list_jobs(), key=lambda j: j.start_time or 0, reverse=True)
    jobs, by_ray_job = [], {}
    for info in infos:
        meta = info.metadata or {}
        started = (
            datetime.fromtimestamp(info.start_time / 1000).isoformat(timespec="seconds")
            if info.start_time
            else "-"
        )
        row = JobStatus(
            job_id=info.submission_id or info.job_id or "-",
            status=str(info.status.value),
            experiment=meta.get("marl_ray_experiment", "-"),
            entrypoint=info.entrypoint,
            started=started,
        )
        jobs.append(row)
        if info.job_id:
            by_ray_job[info.job_id] = row
    for actor in live_actors(address):
        row = by_ray_job.get(actor.get("job_id"))
        if row is None:
            continue
        node = actor.get("node_id") or "-"
        if actor.get("class_name") in TRIAL_CLASS_NAMES:
            row.trials.append(
                {"class": actor["class_name"], "pid": actor.get("pid"), "node_id": node}
            )
            role = "trial"
        elif "/" in (actor.get("name") or ""):
            role = actor_role(actor["name"])
            row.actors[role] = row.actors.get(role, 0) + 1
        else:
            continue
        on_node = row.nodes.setdefault(node, {})
        on_node[role] = on_node.get(role, 0) + 1
    return jobs


def actor_role(name: str) -> str:
    """`marl_ppo/<trial>/worker-3` -> `worker`: our actors are named prefix/trial/role-k."""
    return name.rsplit("/", 1)[1].split("-")[0]


def live_actors(address: str | None) -> list[dict[str, Any]]:
    """Alive actors from the state API (`/api/v0/actors`)."""
    response = requests.get(
        f"{dashboard_address(address)}/api/v0/actors",
        params={
            "limit": 10000,
            "filter_keys": ["state"],
            "filter_predicates": ["="],
            "filter_values": ["ALIVE"],
        },
        headers=auth_headers(find_token()),
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["data"]["result"]["result"]


def format_status(jobs: list[JobStatus]) -> str:
    if not jobs:
        return "no jobs on this cluster"
    counts = Counter(j.status for j in jobs)
    lines = [", ".join(f"{n} {s.lower()}" for s, n in counts.most_common())]
    for job in jobs:
        lines.append(f"{job.job_id:28s} {job.status:10s} {job.started:20s} {job.experiment}")
        for trial in job.trials:
            lines.append(f"    trial actor {trial['class']} (pid {trial['pid']})")
        if job.actors:
            roles = ", ".join(f"{n} {role}" for role, n in sorted(job.actors.items()))
            lines.append(f"    actors: {roles}")
        for node, roles in sorted(job.nodes.items()):
            here = ", ".join(f"{n} {role}" for role, n in sorted(roles.items()))
            lines.append(f"    node {node[:12]}: {here}")
    return "\n".join(lines)
