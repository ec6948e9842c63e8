"""Writing an archive: one hash-chained gzip file per role, then the manifest.

`ArchiveWriter(directory)` refuses a directory that already holds a manifest
(an archive is evidence: it is never overwritten in place). For each role,
`open_file(role, topic)` returns a `ChainWriter`; `write(record)` appends
record n with its chain hash (`archive_format.encode_line`). `finish()`
closes the files and writes `manifest.json` last, so a directory without a
manifest is an unfinished export. Records are written in the order given:
the exporter gives each topic partition by partition, in offset order, so
an export of the same log always has the same heads.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from votewire.replay.archive_format import encode_line, genesis
from votewire.replay.archive_manifest import (
    MANIFEST,
    FileEntry,
    Manifest,
    ManifestError,
    archive_head,
)
from votewire.replay.log_records import TIMESTAMP_TYPES, LogRecord, Role, file_name

COMPRESS_LEVEL = 6


class ChainWriter:
    """Appends records to one archive file, chaining their hashes."""

    def __init__(self, path: Path, entry: FileEntry) -> None:
        self.path = path
        self.entry = entry
        self._head = bytes.fromhex(entry.genesis)
        self._raw: IO[bytes] = open(path, "xb")  # noqa: SIM115 (closed by close())
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=COMPRESS_LEVEL)
        self.keys: dict[str, bool] = {}
        """definitions only: election_id -> whether its latest record is a definition."""

    def write(self, record: LogRecord) -> None:
        entry = self.entry
        entry.records += 1
        line, self._head = encode_line(entry.records, record, self._head)
        self._gz.write(line)
        span = entry.partitions.get(str(record.partition))
        if span is None:
            entry.partitions[str(record.partition)] = [record.offset, record.offset + 1]
        else:
            span[1] = record.offset + 1
        if entry.role == "definitions" and record.key is not None:
            self.keys[record.key.decode(errors="replace")] = record.value is not None
        kind = TIMESTAMP_TYPES.get(record.timestamp_type, str(record.timestamp_type))
        if entry.timestamp_type is None:
            entry.timestamp_type = kind
        elif entry.timestamp_type != kind:
            entry.timestamp_type = "mixed"
        ts = record.timestamp_ms
        if entry.first_ms is None or ts < entry.first_ms:
            entry.first_ms = ts
        if entry.last_ms is None or ts > entry.last_ms:
            entry.last_ms = ts

    def write_all(self, records: Iterable[LogRecord]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> FileEntry:
        if not self._raw.closed:
            self._gz.close()
            self._raw.close()
            self.entry.head = self._head.hex()
        return self.entry


class ArchiveWriter:
    """Builds one archive directory; use as a context manager or call `finish()`."""

    def __init__(self, directory: Path, source: dict[str, Any] | None = None) -> None:
        if (directory / MANIFEST).exists():
            raise ManifestError(f"{directory} already holds an archive; choose another --out")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.source = source or {}
        self._files: list[ChainWriter] = []

    def open_file(self, role: Role, topic: str) -> ChainWriter:
        name = file_name(role)
        entry = FileEntry(name, role, topic, genesis(name).hex(), genesis(name).hex())
        writer = ChainWriter(self.directory / name, entry)
        self._files.append(writer)
        return writer

    def finish(self, created_at: datetime | None = None) -> Manifest:
        """Close every file and write the manifest; returns it."""
        entries = [w.close() for w in self._files]
        manifest = Manifest(
            files=entries,
            elections=sorted(self._elections()),
            created_at=(created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
            source=self.source,
            head=archive_head(entries),
        )
        manifest.write(self.directory)
        return manifest

    def _elections(self) -> set[str]:
        """Election ids with a live definition (keys of the definitions file)."""
        found: set[str] = set()
        for writer in self._files:
            found |= {k for k, alive in writer.keys.items() if alive}
        return found

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abandon()

    def abandon(self) -> None:
        """Close the files without a manifest: left for inspection, not an archive."""
        for writer in self._files:
            writer.close()
