"""deploy/compose.yaml valid against the compose-spec schema, with restarts, healthchecks and
stop times; the Dockerfile runs as a non-root user that owns the state dir. (No Docker engine
runs here: structure is checked, the image is not built.)"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import yaml
from votewire.config import REPO_ROOT
from votewire.supervision.layout import STOP_WAIT_S

DEPLOY = REPO_ROOT / "deploy"
SERVICES = ("ingest", "aggregate", "rollups", "live")
PROBES = {"rollups": "aggregate"}
"""The rollups process answers the aggregate's health URL, in its own container."""


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return doc


def seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, f"expected a duration like 30s, got {duration!r}"
    return int(match[1])


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (parts[0].upper(), parts[1] if len(parts) > 1 else "")
        for parts in (line.split(None, 1) for line in lines if line and not line.startswith("#"))
    ]


def test_compose_file_matches_the_compose_spec() -> None:
    """check-jsonschema's vendored compose-spec schema accepts deploy/compose.yaml."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "check_jsonschema"),
            *("--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_container_restarts_and_has_a_healthcheck(compose: dict[str, Any]) -> None:
    """Kafka, Redis and the three services: restarted on exit, each with its health test."""
    for name, service in compose["services"].items():
        assert service.get("restart") in ("unless-stopped", "always"), name
        assert service["healthcheck"]["test"], name
    for name in SERVICES:
        test = compose["services"][name]["healthcheck"]["test"]
        probe = PROBES.get(name, name)
        assert test == ["CMD", "python", "-m", "votewire.supervision.probe", probe]


def test_services_get_time_to_stop(compose: dict[str, Any]) -> None:
    """Docker's 10 s default would SIGKILL the aggregate before it commits: each gets its own."""
    for name in SERVICES:
        grace = seconds(compose["services"][name]["stop_grace_period"])
        assert grace >= STOP_WAIT_S[name], name


def test_the_aggregate_runs_as_a_races_and_a_rollups_container(compose: dict[str, Any]) -> None:
    roles = {n: compose["services"][n]["environment"]["VOTEWIRE_AGGREGATE_ROLE"] for n in PROBES}
    roles["aggregate"] = compose["services"]["aggregate"]["environment"]["VOTEWIRE_AGGREGATE_ROLE"]
    assert roles == {"aggregate": "races", "rollups": "rollups"}
    assert compose["services"]["rollups"]["command"] == ["aggregate"]


def test_start_order_waits_for_healthy_dependencies(compose: dict[str, Any]) -> None:
    """A service starts once what it needs answers its healthcheck."""
    for name in SERVICES:
        for dependency in compose["services"][name]["depends_on"].values():
            assert dependency["condition"] == "service_healthy", name


def test_image_runs_unprivileged_and_owns_its_state_dir() -> None:
    """The last USER is a numeric non-root uid; VOTEWIRE_STATE_DIR is a dir that uid owns."""
    steps = dockerfile()
    users = [args for instruction, args in steps if instruction == "USER"]
    assert users, "the image would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, users[-1]
    env = " ".join(args for instruction, args in steps if instruction == "ENV")
    state = re.search(r"VOTEWIRE_STATE_DIR=(\S+)", env)
    assert state, "VOTEWIRE_STATE_DIR is not set: the default would be inside the home dir"
    runs = " ".join(args for instruction, args in steps if instruction == "RUN")
    assert re.search(rf"chown {uid}(:\d+)? {re.escape(state[1])}(\s|$)", runs), runs


def test_image_user_matches_the_kubernetes_pods() -> None:
    """Kubernetes' runAsUser is the image's uid: files it writes belong to one user."""
    users = [args for instruction, args in dockerfile() if instruction == "USER"]
    uid = int(users[-1].split(":")[0])
    for path in (DEPLOY / "kubernetes").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Deployment":
                pod = doc["spec"]["template"]["spec"]
                assert pod["securityContext"]["runAsUser"] == uid, path.name
