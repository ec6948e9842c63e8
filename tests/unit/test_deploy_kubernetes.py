"""deploy/kubernetes: every manifest valid against the Kubernetes schemas, offline; the base
renders with kustomize; the rendered objects keep the promises of docs/operations.md."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from votewire.config import REPO_ROOT
from votewire.supervision.layout import STOP_WAIT_S

BASE = REPO_ROOT / "deploy" / "kubernetes"
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
"""The oldest Kubernetes still commonly run, and the newest whose schemas the package ships."""
RECOVERY_S = 300
"""A worker restoring its tables from the changelogs may take this long before /livez counts."""


def manifest_files() -> list[Path]:
    return sorted(p for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def kustomize_command() -> list[str] | None:
    """kubectl's built-in kustomize, else a kustomize binary (deploy/dev.sh installs one into
    the cache with `go install` when neither is on the machine)."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    cache = Path(os.environ.get("VOTEWIRE_CACHE_DIR") or Path.home() / ".cache" / "votewire")
    for candidate in (shutil.which("kustomize"), cache / "bin" / "kustomize"):
        if candidate and Path(candidate).is_file():
            return [str(candidate), "build"]
    return None


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    command = kustomize_command()
    if command is None:
        pytest.skip(
            "no kubectl or kustomize here: `bash deploy/dev.sh test` installs kustomize with "
            "go install; each manifest file is still validated on its own"
        )
    done = subprocess.run([*command, str(BASE)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return documents(done.stdout)


def kinds(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def containers(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, deployment in kinds(objects, "Deployment").items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            yield name, container


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_each_manifest_file_is_valid(path: Path, version: str) -> None:
    """Each object of each file passes the schema of its kind, strictly (no unknown fields)."""
    for doc in documents(path.read_text()):
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_rendered_base_is_valid(rendered: list[dict[str, Any]], version: str) -> None:
    """What `kubectl kustomize deploy/kubernetes` renders passes the schemas, strictly."""
    for doc in rendered:
        kubernetes_validate.validate(doc, version, strict=True)
    assert {o["metadata"].get("namespace") for o in rendered if o["kind"] != "Namespace"} == {
        "votewire"
    }


def test_the_base_renders_every_file(rendered: list[dict[str, Any]]) -> None:
    """Nothing is left out of kustomization.yaml: the render holds every file's objects."""
    in_files = {
        (doc["kind"], doc["metadata"]["name"])
        for path in manifest_files()
        for doc in documents(path.read_text())
    }
    assert {(o["kind"], o["metadata"]["name"]) for o in rendered} == in_files


WORKERS = {"votewire-aggregate": ("aggregate", "races"), "votewire-rollups": ("rollups", "rollups")}
"""The aggregate's two Deployments: name -> (its program under `votewire up`, its role)."""


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def test_the_aggregate_runs_as_races_and_rollups(rendered: list[dict[str, Any]]) -> None:
    """Stage 1 and stages 2-3 in Deployments of their own, as under `votewire up`; static
    membership from the pod's name in both."""
    deployments = kinds(rendered, "Deployment")
    for name, (_, role) in WORKERS.items():
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["aggregate"], name
        assert env_of(container)["VOTEWIRE_AGGREGATE_ROLE"] == role, name
        (instance,) = [e for e in container["env"] if e["name"] == "VOTEWIRE_AGGREGATE_INSTANCE_ID"]
        assert instance["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", name


@pytest.mark.parametrize("name", WORKERS)
def test_aggregate_replicas_at_most_the_partitions(
    rendered: list[dict[str, Any]], name: str
) -> None:
    """Kafka gives a partition to one worker: more replicas than partitions would idle
    (each role's input topics have VOTEWIRE_REPORT_PARTITIONS partitions)."""
    partitions = int(
        kinds(rendered, "ConfigMap")["votewire-settings"]["data"]["VOTEWIRE_REPORT_PARTITIONS"]
    )
    workers = kinds(rendered, "Deployment")[name]
    assert 1 < workers["spec"]["replicas"] <= partitions
    assert workers["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0


@pytest.mark.parametrize("name", WORKERS)
def test_aggregate_has_time_to_commit_and_a_disruption_budget(
    rendered: list[dict[str, Any]], name: str
) -> None:
    """SIGTERM to SIGKILL is at least what `votewire up` grants; a drain takes one at a time."""
    program = WORKERS[name][0]
    pod = kinds(rendered, "Deployment")[name]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= STOP_WAIT_S[program]
    budget = kinds(rendered, "PodDisruptionBudget")[name]["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"]["matchLabels"] == pod_labels(rendered, name)


@pytest.mark.parametrize("name", WORKERS)
def test_probes_never_kill_a_recovering_worker(rendered: list[dict[str, Any]], name: str) -> None:
    """Liveness asks only "is it stuck": never readiness; recovery gets a startup allowance."""
    (container,) = kinds(rendered, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
    live, ready = container["livenessProbe"], container["readinessProbe"]
    startup = container["startupProbe"]
    assert live["httpGet"]["path"] == "/livez"
    assert live["httpGet"]["path"] != ready["httpGet"]["path"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= RECOVERY_S
    for name, c in containers(rendered):
        probe = c["livenessProbe"]
        assert probe["httpGet"]["path"] != c["readinessProbe"]["httpGet"]["path"], name
        assert probe["periodSeconds"] * probe["failureThreshold"] >= 60, name


def test_live_is_kept_out_until_its_feed_runs(rendered: list[dict[str, Any]]) -> None:
    """Live's readiness is /readyz (the feed), and its Service says it carries websockets."""
    (container,) = kinds(rendered, "Deployment")["votewire-live"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    service = kinds(rendered, "Service")["votewire-live"]["spec"]
    assert service["ports"][0]["appProtocol"] == "kubernetes.io/ws"
    assert service["sessionAffinity"] == "None"


def test_ingest_scales_on_cpu(rendered: list[dict[str, Any]]) -> None:
    """The autoscaler targets the ingest Deployment and never goes below two pods."""
    hpa = kinds(rendered, "HorizontalPodAutoscaler")["votewire-ingest"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "votewire-ingest",
    }
    assert hpa["minReplicas"] >= 2


def test_settings_and_credentials_exist_where_pods_look(rendered: list[dict[str, Any]]) -> None:
    """Every ConfigMap, Secret and key a pod names is rendered; credentials only in the Secret."""
    config_maps = kinds(rendered, "ConfigMap")
    secrets = kinds(rendered, "Secret")
    for name, c in containers(rendered):
        for source in c.get("envFrom", []):
            assert source["configMapRef"]["name"] in config_maps, name
        for env in c.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in secrets[ref["name"]]["stringData"], name
    settings = config_maps["votewire-settings"]["data"]
    assert "VOTEWIRE_REDIS_URL" not in settings
    assert not any("TOKEN" in key or "PASSWORD" in key for key in settings)


def test_every_service_selects_its_pods(rendered: list[dict[str, Any]]) -> None:
    """Each Service's selector matches the pod labels of the Deployment of the same name."""
    for name, service in kinds(rendered, "Service").items():
        assert service["spec"]["selector"] == pod_labels(rendered, name) | {}, name


def test_containers_run_unprivileged_with_a_writable_state_dir(
    rendered: list[dict[str, Any]],
) -> None:
    """Non-root, read-only root filesystem, no capabilities; VOTEWIRE_STATE_DIR is a volume."""
    state_dir = kinds(rendered, "ConfigMap")["votewire-settings"]["data"]["VOTEWIRE_STATE_DIR"]
    for name, deployment in kinds(rendered, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        for c in pod["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], name
            assert state_dir in {m["mountPath"] for m in c["volumeMounts"]}, name


def pod_labels(objects: list[dict[str, Any]], deployment: str) -> dict[str, str]:
    labels = kinds(objects, "Deployment")[deployment]["spec"]["template"]["metadata"]["labels"]
    return {"app.kubernetes.io/name": labels["app.kubernetes.io/name"]}
