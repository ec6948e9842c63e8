"""Settings: the one place votewire reads its configuration.

Every setting comes from an environment variable with a documented default
(see docs/configuration.md, generated from `SETTINGS_DOC`). `Settings.from_env`
is called once by each entry point; nothing reads `os.environ` elsewhere.
A bad value raises `SettingsError` naming the variable.

This module is stdlib-only so that deploy/stack.py can use it before any
dependency is installed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


# name -> (default, meaning). Defaults are strings as they would appear in the environment.
SETTINGS_DOC: dict[str, tuple[str, str]] = {
    "VOTEWIRE_STATE_DIR": (
        str(REPO_ROOT / ".votewire"),
        "Where the local stack keeps data, logs and pid files.",
    ),
    "VOTEWIRE_CACHE_DIR": (
        str(Path.home() / ".cache" / "votewire"),
        "Download cache (Kafka jars, Maven repository); survives between runs.",
    ),
    "VOTEWIRE_KAFKA_BOOTSTRAP": (
        "",
        "Existing Kafka to use (host:port,...). Empty: the stack provisions one on loopback.",
    ),
    "VOTEWIRE_KAFKA_PORT": ("19092", "Client port of the first local broker (+100 per broker)."),
    "VOTEWIRE_KAFKA_CONTROLLER_PORT": (
        "19093",
        "Controller port of the first local broker (+100 per broker).",
    ),
    "VOTEWIRE_KAFKA_HEAP": ("384m", "Max heap of each local Kafka broker (-Xmx)."),
    "VOTEWIRE_REDIS_URL": (
        "",
        "Existing Redis to use. Empty: the stack provisions one on loopback.",
    ),
    "VOTEWIRE_REDIS_PORT": ("16379", "Port of the locally provisioned Redis."),
    "VOTEWIRE_TOPIC_PREFIX": ("votewire", "Prefix of every Kafka topic votewire uses."),
    "VOTEWIRE_REPORT_PARTITIONS": ("6", "Partitions of the reports topic (parallelism by race)."),
    "VOTEWIRE_REPLICATION": ("0", "Replication factor of created topics; 0: min(3, brokers)."),
    "VOTEWIRE_REDIS_PREFIX": ("vw", "Prefix of every Redis key votewire writes."),
    "VOTEWIRE_HOST": ("127.0.0.1", "Interface the HTTP services listen on."),
    "VOTEWIRE_INGEST_PORT": ("8081", "Port of the ingest HTTP API."),
    "VOTEWIRE_LIVE_PORT": ("8082", "Port of the live websocket/REST service."),
    "VOTEWIRE_AGGREGATE_PORT": ("6066", "Port of the aggregate worker's web endpoint."),
    "VOTEWIRE_AGGREGATE_APP_ID": ("votewire-aggregate", "Faust app id (consumer group)."),
    "VOTEWIRE_LOG_LEVEL": ("info", "Log level of the services."),
}


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name) or SETTINGS_DOC[name][0]


def _int(env: Mapping[str, str], name: str) -> int:
    raw = _get(env, name)
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    state_dir: Path
    cache_dir: Path
    kafka_bootstrap: str
    kafka_provisioned: bool
    """True when the local stack owns Kafka (VOTEWIRE_KAFKA_BOOTSTRAP unset)."""
    kafka_port: int
    kafka_controller_port: int
    kafka_heap: str
    redis_url: str
    redis_provisioned: bool
    redis_port: int
    topic_prefix: str
    report_partitions: int
    replication: int
    redis_prefix: str
    host: str
    ingest_port: int
    live_port: int
    aggregate_port: int
    aggregate_app_id: str
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        kafka_port = _int(env, "VOTEWIRE_KAFKA_PORT")
        redis_port = _int(env, "VOTEWIRE_REDIS_PORT")
        bootstrap = env.get("VOTEWIRE_KAFKA_BOOTSTRAP", "")
        redis_url = env.get("VOTEWIRE_REDIS_URL", "")
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"VOTEWIRE_REDIS_URL must be a redis:// URL, got {redis_url!r}")
        prefix = _get(env, "VOTEWIRE_TOPIC_PREFIX")
        if not prefix.replace("-", "").replace(".", "").replace("_", "").isalnum():
            raise SettingsError(f"VOTEWIRE_TOPIC_PREFIX has characters Kafka rejects: {prefix!r}")
        return cls(
            state_dir=Path(_get(env, "VOTEWIRE_STATE_DIR")),
            cache_dir=Path(_get(env, "VOTEWIRE_CACHE_DIR")),
            kafka_bootstrap=bootstrap or f"127.0.0.1:{kafka_port}",
            kafka_provisioned=not bootstrap,
            kafka_port=kafka_port,
            kafka_controller_port=_int(env, "VOTEWIRE_KAFKA_CONTROLLER_PORT"),
            kafka_heap=_get(env, "VOTEWIRE_KAFKA_HEAP"),
            redis_url=redis_url or f"redis://127.0.0.1:{redis_port}/0",
            redis_provisioned=not redis_url,
            redis_port=redis_port,
            topic_prefix=prefix,
            report_partitions=max(1, _int(env, "VOTEWIRE_REPORT_PARTITIONS")),
            replication=_int(env, "VOTEWIRE_REPLICATION"),
            redis_prefix=_get(env, "VOTEWIRE_REDIS_PREFIX"),
            host=_get(env, "VOTEWIRE_HOST"),
            ingest_port=_int(env, "VOTEWIRE_INGEST_PORT"),
            live_port=_int(env, "VOTEWIRE_LIVE_PORT"),
            aggregate_port=_int(env, "VOTEWIRE_AGGREGATE_PORT"),
            aggregate_app_id=_get(env, "VOTEWIRE_AGGREGATE_APP_ID"),
            log_level=_get(env, "VOTEWIRE_LOG_LEVEL").lower(),
        )

    @property
    def reports_topic(self) -> str:
        return f"{self.topic_prefix}.reports"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic_prefix}.dead-letters"

    @property
    def definitions_topic(self) -> str:
        return f"{self.topic_prefix}.definitions"

    @property
    def race_snapshots_topic(self) -> str:
        return f"{self.topic_prefix}.race-snapshots"


def settings_table() -> str:
    """Markdown table of every setting, for docs/configuration.md."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, (default, meaning) in SETTINGS_DOC.items():
        shown = default.replace(str(REPO_ROOT), "<repo>").replace(str(Path.home()), "~")
        rows.append(f"| `{name}` | `{shown}` | {meaning} |")
    return "\n".join(rows)
