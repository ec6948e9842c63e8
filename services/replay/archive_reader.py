"""Reading an archive back, checking its hash chains on the way.

`Archive(directory)` reads the manifest; `records(role)` yields the
`LogRecord`s of a role's file in archive order. By default every record is
checked as it is read (its position and its chain link, and at the end the
file's count and head against the manifest): a reader stops with
`ArchiveBroken` at the first break rather than fold tampered evidence.
`ArchiveBroken` names the file and record but does not classify the break;
`votewire.replay.archive_verify` does (edited / missing / reordered).
A role absent from the archive yields nothing.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from votewire.replay.archive_format import BadLine, chain_matches, decode_line, genesis
from votewire.replay.archive_manifest import FileEntry, Manifest, read_manifest
from votewire.replay.log_records import LogRecord, Role


class ArchiveBroken(Exception):
    """A record that does not check out; `where` is "<file> record <n>"."""

    def __init__(self, file: str, record: int | None, detail: str) -> None:
        where = file if record is None else f"{file} record {record}"
        super().__init__(f"{where}: {detail} (run `votewire archive verify` for a diagnosis)")
        self.file = file
        self.record = record


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, line) of a gzip file; blank lines are skipped but counted.

    Raises `EOFError` / `OSError` / `zlib.error` when the compressed stream is
    cut short or corrupt."""
    with gzip.open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


def iter_file(
    path: Path, name: str, *, verify: bool = True, entry: FileEntry | None = None
) -> Iterator[LogRecord]:
    """The records of one archive file; checked as read unless `verify` is false."""
    head = genesis(name)
    count = 0
    try:
        for _, line in iter_lines(path):
            count += 1
            try:
                parsed = decode_line(line)
            except BadLine as exc:
                if verify:
                    raise ArchiveBroken(name, count, f"unreadable: {exc}") from None
                continue
            if verify:
                if parsed.position != count:
                    raise ArchiveBroken(name, count, f"carries position {parsed.position}")
                if not chain_matches(head, parsed):
                    raise ArchiveBroken(name, count, "does not match its chain hash")
                head = parsed.stored_hash
            yield parsed.record
    except (EOFError, OSError, zlib.error) as exc:
        raise ArchiveBroken(name, None, f"compressed data cut short or corrupt: {exc}") from None
    if verify and entry is not None:
        if count != entry.records:
            raise ArchiveBroken(name, None, f"{count} records, the manifest says {entry.records}")
        if head.hex() != entry.head:
            raise ArchiveBroken(name, None, "chain head differs from the manifest's")


class Archive:
    """A read-only archive directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.manifest: Manifest = read_manifest(directory)

    def count(self, role: Role) -> int:
        entry = self.manifest.file(role)
        return entry.records if entry else 0

    def records(self, role: Role, *, verify: bool = True) -> Iterator[LogRecord]:
        entry = self.manifest.file(role)
        if entry is None:
            return iter(())
        return iter_file(self.directory / entry.name, entry.name, verify=verify, entry=entry)
