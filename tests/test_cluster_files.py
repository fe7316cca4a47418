"""The files in cluster/ are valid and secure, checked offline.

- Launcher files (aws.yaml, onprem.yaml): Ray's own `prepare_config` + `validate_config`, the
  JSON-schema check `ray up` runs before touching a cloud (ray/autoscaler/ray-schema.json).
- KubeRay manifests: no CRD schema ships offline, so a structural check against the ray.io/v1
  fields of KubeRay's API reference (RayCluster, RayJob; v1.5.1+ for `authOptions`): known
  keys only, string-valued rayStartParams (the CRD's map[string]string), replica bounds,
  pod templates with named containers. It catches typos and wrong types, not everything a
  live API server would.
- Runtime env: Ray's `RuntimeEnv` constructor validates it.
- Grafana dashboard: every series it plots is one marl_ray exports.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "cluster"
LAUNCHERS = ["aws.yaml", "onprem.yaml"]

RAY_CLUSTER_SPEC = {
    "rayVersion",
    "authOptions",
    "enableInTreeAutoscaling",
    "autoscalerOptions",
    "headGroupSpec",
    "workerGroupSpecs",
    "suspend",
    "headServiceAnnotations",
}
HEAD_GROUP = {"serviceType", "rayStartParams", "template", "headService", "enableIngress"}
WORKER_GROUP = {
    "groupName",
    "replicas",
    "minReplicas",
    "maxReplicas",
    "rayStartParams",
    "template",
    "numOfHosts",
    "idleTimeoutSeconds",
    "suspend",
}
RAY_JOB_SPEC = {
    "entrypoint",
    "runtimeEnvYAML",
    "metadata",
    "jobId",
    "submissionMode",
    "shutdownAfterJobFinishes",
    "ttlSecondsAfterFinished",
    "activeDeadlineSeconds",
    "backoffLimit",
    "rayClusterSpec",
    "clusterSelector",
    "submitterPodTemplate",
    "entrypointNumCpus",
    "entrypointNumGpus",
    "entrypointResources",
    "suspend",
    "deletionStrategy",
}
SUBMISSION_MODES = {"K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"}


def _launcher(name: str) -> dict:
    return yaml.safe_load((CLUSTER / name).read_text())


def _validate_launcher(config: dict) -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(config)))


@pytest.mark.parametrize("name", LAUNCHERS)
def test_launcher_files_pass_rays_schema(name):
    _validate_launcher(_launcher(name))


def test_the_launcher_schema_check_rejects_a_broken_file():
    broken = _launcher("aws.yaml")
    broken["available_node_types"]["worker.gpu"]["min_workers"] = "two"
    with pytest.raises(jsonschema.ValidationError):
        _validate_launcher(broken)
    broken = _launcher("onprem.yaml")
    broken["head_start_ray_command"] = broken.pop("head_start_ray_commands")  # a typo
    with pytest.raises(jsonschema.ValidationError):
        _validate_launcher(broken)


@pytest.mark.parametrize("name", LAUNCHERS)
def test_launchers_turn_token_auth_on_and_keep_the_dashboard_on_loopback(name):
    config = _launcher(name)
    head = " ".join(config["head_start_ray_commands"])
    workers = " ".join(config["worker_start_ray_commands"])
    assert "RAY_AUTH_MODE=token ray start --head" in head
    assert "RAY_AUTH_MODE=token ray start --address" in workers
    assert "--dashboard-host=127.0.0.1" in head
    assert "~/.ray/auth_token" in config["file_mounts"]


def test_aws_security_group_opens_ssh_only():
    rules = _launcher("aws.yaml")["provider"]["security_group"]["IpPermissions"]
    assert [(r["FromPort"], r["ToPort"]) for r in rules] == [(22, 22)]
    assert all(not ip["CidrIp"].startswith("0.0.0.0") for r in rules for ip in r["IpRanges"])


def _manifests(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((CLUSTER / "kuberay" / name).read_text()) if d]


def _check_keys(mapping: dict, allowed: set[str], where: str) -> None:
    unknown = set(mapping) - allowed
    assert not unknown, f"{where}: fields not in the KubeRay API: {sorted(unknown)}"


def _check_pod_template(template: dict, where: str) -> list[dict]:
    containers = template["spec"]["containers"]
    assert containers, f"{where}: a pod template needs containers"
    for c in containers:
        assert isinstance(c["name"], str) and isinstance(c["image"], str), where
        assert "2.60" in c["image"], f"{where}: image must match the Ray version"
    return containers


def _check_cluster_spec(spec: dict, where: str) -> None:
    _check_keys(spec, RAY_CLUSTER_SPEC, where)
    assert spec["rayVersion"].startswith("2.60")
    assert spec["authOptions"] == {"mode": "token"}, f"{where}: token auth must be on"
    head = spec["headGroupSpec"]
    _check_keys(head, HEAD_GROUP, f"{where}.headGroupSpec")
    assert head["serviceType"] == "ClusterIP", f"{where}: the head Service must stay internal"
    groups = [("headGroupSpec", head)] + [(g["groupName"], g) for g in spec["workerGroupSpecs"]]
    for name, group in groups:
        params = group["rayStartParams"]
        assert all(isinstance(v, str) for v in params.values()), (
            f"{where}.{name}.rayStartParams: the CRD takes strings only ({params})"
        )
        _check_pod_template(group["template"], f"{where}.{name}")
    for group in spec["workerGroupSpecs"]:
        _check_keys(group, WORKER_GROUP, f"{where}.{group['groupName']}")
        assert 0 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    gpu_limits = [
        c["resources"]["limits"].get("nvidia.com/gpu")
        for g in spec["workerGroupSpecs"]
        for c in g["template"]["spec"]["containers"]
    ]
    assert any(gpu_limits), f"{where}: a GPU worker group is expected"


def test_raycluster_manifest_structure():
    docs = _manifests("raycluster.yaml")
    cluster = next(d for d in docs if d["kind"] == "RayCluster")
    assert cluster["apiVersion"] == "ray.io/v1"
    _check_cluster_spec(cluster["spec"], "RayCluster.spec")
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    volumes = {
        v["persistentVolumeClaim"]["claimName"]
        for g in [cluster["spec"]["headGroupSpec"], *cluster["spec"]["workerGroupSpecs"]]
        for v in g["template"]["spec"].get("volumes", [])
    }
    assert volumes <= claims


def test_rayjob_manifest_structure():
    from ray.runtime_env import RuntimeEnv

    (job,) = _manifests("rayjob.yaml")
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    spec = job["spec"]
    _check_keys(spec, RAY_JOB_SPEC, "RayJob.spec")
    assert spec["submissionMode"] in SUBMISSION_MODES
    assert isinstance(spec["runtimeEnvYAML"], str)
    RuntimeEnv(**yaml.safe_load(spec["runtimeEnvYAML"]))
    assert spec["entrypoint"].startswith("python -m marl_ray.cli train tune_configs/")
    assert (ROOT / spec["entrypoint"].split()[4]).is_file()
    _check_cluster_spec(spec["rayClusterSpec"], "RayJob.spec.rayClusterSpec")


def test_the_structural_check_rejects_a_broken_manifest():
    cluster = next(d for d in _manifests("raycluster.yaml") if d["kind"] == "RayCluster")
    broken = copy.deepcopy(cluster["spec"])
    broken["workerGroupSpecs"][0]["rayStartParams"]["num-gpus"] = 1  # not a string
    with pytest.raises(AssertionError, match="strings only"):
        _check_cluster_spec(broken, "broken")
    broken = copy.deepcopy(cluster["spec"])
    broken["headGroupSpec"]["serviceType"] = "LoadBalancer"
    with pytest.raises(AssertionError, match="internal"):
        _check_cluster_spec(broken, "broken")


def test_runtime_env_file_is_valid():
    from ray.runtime_env import RuntimeEnv

    data = yaml.safe_load((CLUSTER / "runtime_env.yaml").read_text())
    assert "working_dir" not in data  # marl-ray submit sets it
    RuntimeEnv(**data)


def test_grafana_dashboard_plots_only_series_marl_ray_exports():
    dashboard = json.loads((CLUSTER / "grafana_dashboard.json").read_text())
    source = "\n".join(p.read_text() for p in (ROOT / "marl_ray").rglob("*.py"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names = {n for e in exprs for n in re.findall(r"ray_marl_ray_(\w+?)(?:_total)?\{", e)}
    assert len(names) == len(dashboard["panels"])
    missing = [n for n in names if f'"{n}"' not in source]
    assert not missing, f"the dashboard plots series nothing exports: {missing}"
