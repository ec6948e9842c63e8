"""`manifest.json`: what an archive holds, and the heads of its hash chains.

    {"format": "votewire-archive", "format_version": 1, "contract": "v1",
     "votewire": "0.1.0", "created_at": ISO-8601 UTC,
     "source": {"kafka_bootstrap": ..., "topic_prefix": ...},
     "elections": ["kz-2021-rural-akims", ...],
     "time_range": {"first_ms", "last_ms", "first", "last"} | null,
     "files": [{"name", "role", "topic", "records", "partitions":
                {"<p>": [first offset, last offset + 1]}, "timestamp_type",
                "time_range", "genesis", "head"}, ...],
     "head": hex}

`head` (the *archive head*) is sha256 of the canonical JSON of
`[[file name, file head], ...]` in the manifest's file order: one value that
pins every record of every file. Publish it (or keep it apart from the
archive) and no one can rewrite the archive, chains included, unnoticed;
`votewire archive verify DIR --head HEX` checks an archive against it.
The manifest is written last, so its presence marks a complete export.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from votewire.core.codec import dumps
from votewire.replay.archive_format import FORMAT, FORMAT_VERSION

MANIFEST = "manifest.json"
CONTRACT = "v1"


class ManifestError(ValueError):
    """The manifest is missing, unreadable or not a votewire archive manifest."""


@dataclass(slots=True)
class FileEntry:
    """One file of the archive and the summary of its records."""

    name: str
    role: str
    topic: str
    genesis: str
    head: str
    records: int = 0
    partitions: dict[str, list[int]] = field(default_factory=dict)
    timestamp_type: str | None = None
    first_ms: int | None = None
    last_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "topic": self.topic,
            "records": self.records,
            "partitions": self.partitions,
            "timestamp_type": self.timestamp_type,
            "time_range": time_range(self.first_ms, self.last_ms),
            "genesis": self.genesis,
            "head": self.head,
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> FileEntry:
        span = obj.get("time_range") or {}
        return cls(
            name=str(obj["name"]),
            role=str(obj["role"]),
            topic=str(obj["topic"]),
            genesis=str(obj["genesis"]),
            head=str(obj["head"]),
            records=int(obj["records"]),
            partitions={str(k): [int(x) for x in v] for k, v in obj["partitions"].items()},
            timestamp_type=obj.get("timestamp_type"),
            first_ms=span.get("first_ms"),
            last_ms=span.get("last_ms"),
        )


def iso_ms(ms: int) -> str:
    """A Kafka timestamp as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def time_range(first_ms: int | None, last_ms: int | None) -> dict[str, Any] | None:
    if first_ms is None or last_ms is None:
        return None
    return {
        "first_ms": first_ms,
        "last_ms": last_ms,
        "first": iso_ms(first_ms),
        "last": iso_ms(last_ms),
    }


def archive_head(files: list[FileEntry]) -> str:
    """The archive head over the files' heads (see the module doc)."""
    return hashlib.sha256(dumps([[f.name, f.head] for f in files])).hexdigest()


def votewire_version() -> str:
    try:
        return metadata.version("votewire")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(slots=True)
class Manifest:
    files: list[FileEntry]
    elections: list[str]
    created_at: str
    source: dict[str, Any]
    head: str = ""
    votewire: str = field(default_factory=votewire_version)

    def file(self, role: str) -> FileEntry | None:
        return next((f for f in self.files if f.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        firsts = [f.first_ms for f in self.files if f.first_ms is not None]
        lasts = [f.last_ms for f in self.files if f.last_ms is not None]
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "contract": CONTRACT,
            "votewire": self.votewire,
            "created_at": self.created_at,
            "source": self.source,
            "elections": self.elections,
            "time_range": time_range(min(firsts, default=None), max(lasts, default=None)),
            "files": [f.to_dict() for f in self.files],
            "head": self.head or archive_head(self.files),
        }

    def write(self, directory: Path) -> None:
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=False)
        (directory / MANIFEST).write_text(text + "\n", encoding="utf-8")


def read_manifest(directory: Path) -> Manifest:
    """The manifest of the archive in `directory`; `ManifestError` if there is none usable."""
    path = directory / MANIFEST
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        detail = "not found (not an archive, or an unfinished export)"
        raise ManifestError(f"{path}: {detail}") from None
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: unreadable: {exc}") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ManifestError(f"{path}: not a {FORMAT} manifest")
    if obj.get("format_version") != FORMAT_VERSION:
        raise ManifestError(f"{path}: format version {obj.get('format_version')!r} unsupported")
    try:
        return Manifest(
            files=[FileEntry.from_dict(f) for f in obj["files"]],
            elections=[str(e) for e in obj.get("elections", [])],
            created_at=str(obj.get("created_at", "")),
            source=dict(obj.get("source", {})),
            head=str(obj["head"]),
            votewire=str(obj.get("votewire", "unknown")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ManifestError(f"{path}: malformed: {exc!r}") from None
