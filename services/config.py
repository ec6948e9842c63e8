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
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout's root when votewire runs from one (`in_checkout`); else meaningless."""


def in_checkout() -> bool:
    """True when this code runs from a source checkout (editable install or the tree itself),
    where `deploy/` and `docs/` are at hand; False for an installed wheel."""
    root = REPO_ROOT
    return (root / "pyproject.toml").is_file() and (root / "deploy" / "stack.py").is_file()


class NeedsCheckout(RuntimeError):
    """A command that drives the local stack (`stack`, `demo`) ran outside a source checkout."""


def local_stack_script() -> Path:
    """deploy/stack.py of the checkout; `NeedsCheckout` with a plain sentence otherwise."""
    script = REPO_ROOT / "deploy" / "stack.py"
    if not in_checkout():
        raise NeedsCheckout(
            "this command starts the local Kafka and Redis from the repository's deploy/ "
            "folder; run it from a clone of votewire (git clone ...; bash deploy/dev.sh demo), "
            "or point VOTEWIRE_KAFKA_BOOTSTRAP and VOTEWIRE_REDIS_URL at servers you run"
        )
    return script


def default_state_dir() -> Path:
    """`<checkout>/.votewire` in a checkout; else `$XDG_STATE_HOME/votewire`
    (~/.local/state/votewire): never inside an installed package."""
    if in_checkout():
        return REPO_ROOT / ".votewire"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "votewire"


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


# name -> (default, meaning). Defaults are strings as they would appear in the environment.
SETTINGS_DOC: dict[str, tuple[str, str]] = {
    "VOTEWIRE_STATE_DIR": (
        str(default_state_dir()),
        "Where the local stack keeps data, logs and pid files (a checkout's .votewire, else "
        "$XDG_STATE_HOME/votewire).",
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
    "VOTEWIRE_ROLLUPS_PORT": (
        "6067",
        "Port of the rollups process's web endpoint under `votewire up`, which runs the "
        "aggregate as a races and a rollups process (docs/aggregate.md, Roles).",
    ),
    "VOTEWIRE_AGGREGATE_APP_ID": ("votewire-aggregate", "Faust app id (consumer group)."),
    "VOTEWIRE_AGGREGATE_FLUSH_MS": (
        "50",
        "Coalescing window of the aggregate's Redis writes (newest view per channel).",
    ),
    "VOTEWIRE_AGGREGATE_BATCH_MS": ("10", "Longest an aggregate stage waits to fill a batch."),
    "VOTEWIRE_AGGREGATE_DEFER_MS": (
        "250",
        "Longest stage 1 defers publishing race views while it is behind (0: never defers).",
    ),
    "VOTEWIRE_AGGREGATE_PUBLISH_MS": (
        "50",
        "Shortest interval between two publications of stage 1's race views while reports "
        "keep coming (0: every batch publishes).",
    ),
    "VOTEWIRE_AGGREGATE_BATCH_MAX": ("500", "Most records an aggregate stage folds per batch."),
    "VOTEWIRE_AGGREGATE_ROLE": (
        "all",
        "Which stages this aggregate process runs: all (faust), races (stage 1, on a plain "
        "consumer without faust) or rollups (stages 2 and 3, dead-letter follower; faust). A "
        "races and a rollups process side by side use two cores; `votewire up` runs them so "
        "(docs/aggregate.md, Roles).",
    ),
    "VOTEWIRE_AGGREGATE_FETCH_WAIT_MS": (
        "10",
        "Longest the broker holds an aggregate fetch that found no new records. faust's own "
        "1500 delays records by up to 1.5 s (docs/aggregate.md, Performance).",
    ),
    "VOTEWIRE_AGGREGATE_SWITCH_INTERVAL_US": (
        "5000",
        "The aggregate worker's thread switch interval (sys.setswitchinterval). faust reads "
        "Kafka in a thread of its own; the default 5000 makes the event loop wait up to 5 ms "
        "for the GIL after each socket call (docs/aggregate.md, Performance).",
    ),
    "VOTEWIRE_AGGREGATE_COMPRESSION": (
        "",
        "Compression of what the aggregate writes to Kafka: '' (none), gzip, lz4 or zstd.",
    ),
    "VOTEWIRE_AGGREGATE_LINGER_MS": (
        "0",
        "How long the aggregate's producer waits to fill a batch before sending it.",
    ),
    "VOTEWIRE_AGGREGATE_SESSION_TIMEOUT_S": (
        "10",
        "Kafka session timeout of an aggregate worker: how soon a dead worker's partitions move.",
    ),
    "VOTEWIRE_AGGREGATE_INSTANCE_ID": (
        "",
        "Kafka static group membership (group.instance.id) of this aggregate worker: a "
        "restarted worker with the same id gets its partitions back at once, not after the "
        "session timeout. One per worker (two running workers with one id fence each other); "
        "empty: dynamic membership. `votewire up` sets '<app id>-up'; Kubernetes: the pod name.",
    ),
    "VOTEWIRE_AGGREGATE_STALL_S": (
        "60",
        "An aggregate worker with input waiting on a partition whose folded offset has not "
        "moved for this long is 'stalled': /livez answers 503 (docs/operations.md, Health).",
    ),
    "VOTEWIRE_HEARTBEAT_INTERVAL_MS": (
        "1000",
        "How often each aggregate worker writes its heartbeat (its health verdict) to Redis.",
    ),
    "VOTEWIRE_STALE_AFTER_MS": (
        "3000",
        "A heartbeat unchanged this long is stale: live's /healthz says 'degraded' and "
        "dashboards show 'Stale' (keep it at least twice the heartbeat interval).",
    ),
    "VOTEWIRE_LOG_LEVEL": ("info", "Log level of the services."),
    "VOTEWIRE_ACCESS_LOG": (
        "0",
        "1: ingest and live log one line per HTTP request (uvicorn's access log). Off by "
        "default: ingest counts responses by status in /metrics.",
    ),
    "VOTEWIRE_CREDENTIALS_FILE": (
        "",
        "Ingest credentials (JSON, SHA-256 token hashes; docs/ingest.md). "
        "Empty: open dev mode, no authentication.",
    ),
    "VOTEWIRE_INGEST_MAX_BODY_BYTES": ("4194304", "Largest request body ingest reads (413 above)."),
    "VOTEWIRE_INGEST_MAX_DEFINITION_BYTES": (
        "67108864",
        "Largest election definition PUT /v1/elections/{id} reads (413 above); a national "
        "one of 200,000 precincts is about 20 MB.",
    ),
    "VOTEWIRE_INGEST_MAX_ITEMS": ("1000", "Most reports in one ingest request (413 above)."),
    "VOTEWIRE_INGEST_RATE": (
        "200",
        "Reports per second each ingest credential may send, sustained; 0: unlimited.",
    ),
    "VOTEWIRE_INGEST_BURST": (
        "2000",
        "Token-bucket size of the ingest rate limit (>= VOTEWIRE_INGEST_MAX_ITEMS).",
    ),
    "VOTEWIRE_INGEST_PRODUCE_TIMEOUT_MS": (
        "5000",
        "How long ingest waits for Kafka to acknowledge before answering 503.",
    ),
    "VOTEWIRE_INGEST_STARTUP_WAIT_MS": (
        "15000",
        "How long ingest start-up waits for Kafka before serving (503s) anyway.",
    ),
    "VOTEWIRE_LIVE_MAX_CHANNELS": (
        "64",
        "Most channels one live websocket connection may subscribe to.",
    ),
    "VOTEWIRE_LIVE_MAX_FRAME_BYTES": (
        "4096",
        "Largest client frame the live service reads; larger ones get a frame_too_large error.",
    ),
    "VOTEWIRE_LIVE_MAX_CONNECTIONS_PER_IP": (
        "200",
        "Live websocket connections one client address may hold per process; 0: unlimited.",
    ),
    "VOTEWIRE_LIVE_SEND_DEADLINE_MS": (
        "10000",
        "A live client whose socket accepts nothing for this long is closed (4008 slow).",
    ),
    "VOTEWIRE_LIVE_QUEUE_MAX_BYTES": (
        "4194304",
        "Bytes of replies (snapshots, replayed updates) queued per live connection; "
        "a longer replay becomes a resync snapshot.",
    ),
    "VOTEWIRE_LIVE_PING_INTERVAL_MS": ("15000", "How often the live service pings each client."),
    "VOTEWIRE_LIVE_PONG_TIMEOUT_MS": (
        "10000",
        "How long a live client may take to answer a ping before it is closed (4001 no_pong).",
    ),
    "VOTEWIRE_LIVE_DIRECT_WRITES": (
        "1",
        "1: the live service frames each update once and writes it straight to every idle "
        "subscriber's socket (uvicorn's websockets-sansio); 0: every frame goes through ASGI "
        "(docs/live-protocol.md, Performance).",
    ),
    "VOTEWIRE_LIVE_CHANNEL_MAX_HZ": (
        "2",
        "Most updates a second the live service fans out per channel; newer ones wait at "
        "most 1/N s, replacing each other (seq jumps, as with conflation). 0: every update.",
    ),
    "VOTEWIRE_LIVE_ALLOWED_ORIGINS": (
        "*",
        "Comma-separated browser origins allowed on the live service; *: any.",
    ),
    "VOTEWIRE_LIVE_TOKENS_FILE": (
        "",
        "Read tokens and private channel patterns of the live service (JSON; "
        "docs/live-protocol.md). Empty: every channel is public.",
    ),
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


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = _get(env, name).strip().lower()
    if raw not in {"0", "1", "true", "false", "yes", "no"}:
        raise SettingsError(f"{name} must be 0 or 1, got {raw!r}")
    return raw in {"1", "true", "yes"}


def _ingest_settings(env: Mapping[str, str]) -> dict[str, Any]:
    credentials = _get(env, "VOTEWIRE_CREDENTIALS_FILE")
    max_items = max(1, _int(env, "VOTEWIRE_INGEST_MAX_ITEMS"))
    rate = _int(env, "VOTEWIRE_INGEST_RATE")
    burst = _int(env, "VOTEWIRE_INGEST_BURST")
    if rate and burst < max_items:
        raise SettingsError(
            f"VOTEWIRE_INGEST_BURST ({burst}) must be at least VOTEWIRE_INGEST_MAX_ITEMS "
            f"({max_items}), or a full batch could never pass the rate limit"
        )
    return {
        "credentials_file": Path(credentials) if credentials else None,
        "ingest_max_body_bytes": max(1024, _int(env, "VOTEWIRE_INGEST_MAX_BODY_BYTES")),
        "ingest_max_definition_bytes": max(1024, _int(env, "VOTEWIRE_INGEST_MAX_DEFINITION_BYTES")),
        "ingest_max_items": max_items,
        "ingest_rate": rate,
        "ingest_burst": burst,
        "ingest_produce_timeout_ms": max(1, _int(env, "VOTEWIRE_INGEST_PRODUCE_TIMEOUT_MS")),
        "ingest_startup_wait_ms": _int(env, "VOTEWIRE_INGEST_STARTUP_WAIT_MS"),
    }


def _compression(raw: str) -> str | None:
    value = raw.strip().lower()
    if value in ("", "none"):
        return None
    if value not in ("gzip", "lz4", "zstd"):
        raise SettingsError(
            f"VOTEWIRE_AGGREGATE_COMPRESSION must be gzip, lz4 or zstd, got {raw!r}"
        )
    return value


AGGREGATE_ROLES = ("all", "races", "rollups")


def _role(raw: str) -> str:
    value = raw.strip().lower()
    if value not in AGGREGATE_ROLES:
        raise SettingsError(f"VOTEWIRE_AGGREGATE_ROLE must be all, races or rollups, got {raw!r}")
    return value


def _aggregate_settings(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "aggregate_flush_ms": _int(env, "VOTEWIRE_AGGREGATE_FLUSH_MS"),
        "aggregate_batch_ms": _int(env, "VOTEWIRE_AGGREGATE_BATCH_MS"),
        "aggregate_defer_ms": max(0, _int(env, "VOTEWIRE_AGGREGATE_DEFER_MS")),
        "aggregate_publish_ms": max(0, _int(env, "VOTEWIRE_AGGREGATE_PUBLISH_MS")),
        "aggregate_batch_max": max(1, _int(env, "VOTEWIRE_AGGREGATE_BATCH_MAX")),
        "aggregate_role": _role(_get(env, "VOTEWIRE_AGGREGATE_ROLE")),
        "aggregate_fetch_wait_ms": max(1, _int(env, "VOTEWIRE_AGGREGATE_FETCH_WAIT_MS")),
        "aggregate_session_timeout_s": max(6, _int(env, "VOTEWIRE_AGGREGATE_SESSION_TIMEOUT_S")),
        "aggregate_switch_interval_us": max(10, _int(env, "VOTEWIRE_AGGREGATE_SWITCH_INTERVAL_US")),
        "aggregate_compression": _compression(_get(env, "VOTEWIRE_AGGREGATE_COMPRESSION")),
        "aggregate_linger_ms": _int(env, "VOTEWIRE_AGGREGATE_LINGER_MS"),
        "aggregate_stall_s": max(1, _int(env, "VOTEWIRE_AGGREGATE_STALL_S")),
        "aggregate_instance_id": _get(env, "VOTEWIRE_AGGREGATE_INSTANCE_ID") or None,
        "rollups_port": _int(env, "VOTEWIRE_ROLLUPS_PORT"),
        "heartbeat_interval_ms": max(50, _int(env, "VOTEWIRE_HEARTBEAT_INTERVAL_MS")),
        "stale_after_ms": max(100, _int(env, "VOTEWIRE_STALE_AFTER_MS")),
    }


def _live_settings(env: Mapping[str, str]) -> dict[str, Any]:
    tokens = _get(env, "VOTEWIRE_LIVE_TOKENS_FILE")
    origins = _get(env, "VOTEWIRE_LIVE_ALLOWED_ORIGINS")
    return {
        "live_max_channels": max(1, _int(env, "VOTEWIRE_LIVE_MAX_CHANNELS")),
        "live_max_frame_bytes": max(256, _int(env, "VOTEWIRE_LIVE_MAX_FRAME_BYTES")),
        "live_max_connections_per_ip": _int(env, "VOTEWIRE_LIVE_MAX_CONNECTIONS_PER_IP"),
        "live_send_deadline_ms": max(1, _int(env, "VOTEWIRE_LIVE_SEND_DEADLINE_MS")),
        "live_queue_max_bytes": max(4096, _int(env, "VOTEWIRE_LIVE_QUEUE_MAX_BYTES")),
        "live_ping_interval_ms": max(10, _int(env, "VOTEWIRE_LIVE_PING_INTERVAL_MS")),
        "live_pong_timeout_ms": max(10, _int(env, "VOTEWIRE_LIVE_PONG_TIMEOUT_MS")),
        "live_allowed_origins": tuple(o.strip() for o in origins.split(",") if o.strip()),
        "live_tokens_file": Path(tokens) if tokens else None,
        "live_direct_writes": _flag(env, "VOTEWIRE_LIVE_DIRECT_WRITES"),
        "live_channel_max_hz": _int(env, "VOTEWIRE_LIVE_CHANNEL_MAX_HZ"),
    }


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
    access_log: bool
    credentials_file: Path | None = None
    """Ingest credentials; None: open dev mode (no authentication)."""
    ingest_max_body_bytes: int = 4_194_304
    ingest_max_definition_bytes: int = 67_108_864
    ingest_max_items: int = 1000
    ingest_rate: int = 200
    """Reports per second per credential; 0: unlimited."""
    ingest_burst: int = 2000
    ingest_produce_timeout_ms: int = 5000
    ingest_startup_wait_ms: int = 15000
    live_max_channels: int = 64
    live_max_frame_bytes: int = 4096
    live_max_connections_per_ip: int = 200
    """0: unlimited."""
    live_send_deadline_ms: int = 10000
    live_queue_max_bytes: int = 4_194_304
    live_ping_interval_ms: int = 15000
    live_pong_timeout_ms: int = 10000
    live_allowed_origins: tuple[str, ...] = ("*",)
    live_tokens_file: Path | None = None
    """Live read tokens; None: every channel is public."""
    live_direct_writes: bool = True
    live_channel_max_hz: int = 2
    aggregate_flush_ms: int = 50
    """Coalescing window of the aggregate's Redis writes."""
    aggregate_batch_ms: int = 10
    aggregate_defer_ms: int = 250
    aggregate_publish_ms: int = 50
    aggregate_batch_max: int = 500
    aggregate_role: str = "all"
    aggregate_fetch_wait_ms: int = 10
    aggregate_session_timeout_s: int = 10
    aggregate_switch_interval_us: int = 5000
    aggregate_compression: str | None = None
    aggregate_linger_ms: int = 0
    aggregate_stall_s: int = 60
    aggregate_instance_id: str | None = None
    rollups_port: int = 6067
    """Static group membership id (VOTEWIRE_AGGREGATE_INSTANCE_ID); None: dynamic."""
    heartbeat_interval_ms: int = 1000
    stale_after_ms: int = 3000

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
            access_log=_get(env, "VOTEWIRE_ACCESS_LOG").strip().lower() in {"1", "true", "yes"},
            **_ingest_settings(env),
            **_live_settings(env),
            **_aggregate_settings(env),
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


def settings_table() -> str:
    """Markdown table of every setting, for docs/configuration.md."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, (default, meaning) in SETTINGS_DOC.items():
        shown = default.replace(str(REPO_ROOT), "<repo>").replace(str(Path.home()), "~")
        rows.append(f"| `{name}` | `{shown}` | {meaning} |")
    return "\n".join(rows)
