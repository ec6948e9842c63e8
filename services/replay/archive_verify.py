"""Checking an archive's hash chains, and saying exactly where and how they break.

`verify_archive(directory)` checks the manifest (its archive head against
the file heads, and against `expected_head` if given), then every file. A
file is first read once, streaming: when every record sits at its position
and matches its chain link, and the count and head agree with the manifest,
it is intact. Otherwise it is read twice more to classify every break:

- `edited`: a record whose content does not match its chain hash (its own
  bytes changed, or the previous record was changed *and* re-hashed, which
  the chain cannot tell apart), or a line that is no longer a record;
- `missing`: positions absent from the file (deleted records, or a cut-off
  end), as ranges;
- `reordered`: a record found after one with a higher position;
- `inserted`: a position that appears twice, or records beyond the
  manifest's count;
- `rewritten`: every link holds but the head is not the manifest's (the file
  was re-hashed after a change) or the archive head is not the expected one;
- `truncated`: the compressed stream is cut short or corrupt.

Each `Break` names the file, the record (its position, from 1) and the line
it was found on. Links are checked against the stored hash of the record
*by position*, so a deletion or a swap is reported once, as such, not as a
cascade of edits.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from votewire.replay.archive_format import (
    BadLine,
    ParsedLine,
    chain_matches,
    decode_line,
    genesis,
)
from votewire.replay.archive_manifest import (
    MANIFEST,
    FileEntry,
    ManifestError,
    archive_head,
    read_manifest,
)
from votewire.replay.archive_reader import iter_lines

OnRecord = Callable[[int], None]
"""Called with the number of records read so far (for progress)."""


@dataclass(frozen=True, slots=True)
class Break:
    """One place where an archive does not check out."""

    file: str
    record: int | None
    what: str
    detail: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "record": self.record,
            "line": self.line,
            "what": self.what,
            "detail": self.detail,
        }

    def __str__(self) -> str:
        where = self.file
        if self.record is not None:
            where += f" record {self.record}"
        if self.line is not None and self.line != self.record:
            where += f" (line {self.line})"
        return f"{where}: {self.what}: {self.detail}"


@dataclass(slots=True)
class VerifyReport:
    directory: str
    head: str | None = None
    records: dict[str, int] = field(default_factory=dict)
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "ok": self.ok,
            "head": self.head,
            "records": self.records,
            "breaks": [b.to_dict() for b in self.breaks],
        }


def _parsed(path: Path) -> Iterator[tuple[int, ParsedLine | BadLine]]:
    for number, line in iter_lines(path):
        try:
            yield number, decode_line(line)
        except BadLine as exc:
            yield number, exc


def _fast_pass(path: Path, entry: FileEntry, on_record: OnRecord | None) -> bool:
    """Whether the file is intact, in one streaming pass; stops at the first doubt."""
    head = genesis(entry.name)
    count = 0
    for _, parsed in _parsed(path):
        count += 1
        if on_record is not None:
            on_record(count)
        if isinstance(parsed, BadLine) or parsed.position != count:
            return False
        if not chain_matches(head, parsed):
            return False
        head = parsed.stored_hash
    return count == entry.records and head.hex() == entry.head


def _ranges(numbers: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _diagnose(path: Path, entry: FileEntry) -> list[Break]:
    """Every break of a file that failed the fast pass (two more passes)."""
    name = entry.name
    breaks: list[Break] = []
    by_position: dict[int, tuple[int, bytes]] = {}
    order: list[tuple[int, int]] = []  # (line, position) in file order
    last_line = 0
    for number, parsed in _parsed(path):
        last_line = number
        if isinstance(parsed, BadLine):
            breaks.append(Break(name, None, "edited", f"not a readable record: {parsed}", number))
            continue
        order.append((number, parsed.position))
        kept = by_position.setdefault(parsed.position, (number, parsed.stored_hash))
        if kept[0] != number:
            detail = f"position {parsed.position} again (first on line {kept[0]})"
            breaks.append(Break(name, parsed.position, "inserted", detail, number))
    origin = genesis(name)
    for number, parsed in _parsed(path):
        if isinstance(parsed, BadLine):
            continue
        p = parsed.position
        previous = origin if p == 1 else by_position.get(p - 1, (0, b""))[1]
        if previous and not chain_matches(previous, parsed):
            detail = (
                "content does not match its chain hash (this record was changed, "
                f"or record {p - 1} was changed and re-hashed)"
            )
            breaks.append(Break(name, p, "edited", detail, number))
    highest = 0
    for number, position in order:
        if position < highest:
            detail = f"found on line {number}, after record {highest}"
            breaks.append(Break(name, position, "reordered", detail, number))
        highest = max(highest, position)
    expected = max(entry.records, highest)
    absent = [p for p in range(1, expected + 1) if p not in by_position]
    for first, last in _ranges(absent):
        span = f"record {first} is" if first == last else f"records {first}-{last} are"
        where = "at the end" if last == expected else f"before record {last + 1}"
        breaks.append(Break(name, first, "missing", f"{span} missing ({where})"))
    if highest > entry.records:
        detail = f"{highest} records, the manifest lists {entry.records}"
        breaks.append(Break(name, entry.records + 1, "inserted", detail))
    if not breaks:
        detail = (
            f"every link holds but the chain head ({_last_head(by_position)[:16]}...) is not the "
            f"manifest's ({entry.head[:16]}...): the file was re-hashed after a change, "
            "or the manifest was edited"
        )
        breaks.append(Break(name, None, "rewritten", detail, last_line or None))
    return sorted(breaks, key=lambda b: (b.record or 0, b.line or 0))


def _last_head(by_position: dict[int, tuple[int, bytes]]) -> str:
    return by_position[max(by_position)][1].hex() if by_position else ""


def verify_file(path: Path, entry: FileEntry, on_record: OnRecord | None = None) -> list[Break]:
    """Every break of one archive file (empty if intact)."""
    if not path.exists():
        return [Break(entry.name, None, "missing", "file not found")]
    try:
        return [] if _fast_pass(path, entry, on_record) else _diagnose(path, entry)
    except (EOFError, OSError, zlib.error) as exc:
        detail = f"compressed data cut short or corrupt: {exc}"
        return [Break(entry.name, None, "truncated", detail)]


def verify_archive(
    directory: Path, *, expected_head: str | None = None, on_record: OnRecord | None = None
) -> VerifyReport:
    """Check the manifest and every file of the archive in `directory`."""
    report = VerifyReport(str(directory))
    try:
        manifest = read_manifest(directory)
    except ManifestError as exc:
        report.breaks.append(Break(MANIFEST, None, "missing", str(exc)))
        return report
    report.head = manifest.head
    if archive_head(manifest.files) != manifest.head:
        detail = "the archive head does not match the file heads it lists"
        report.breaks.append(Break(MANIFEST, None, "edited", detail))
    if expected_head is not None and expected_head.lower() != manifest.head:
        detail = f"archive head {manifest.head} is not the expected {expected_head}"
        report.breaks.append(Break(MANIFEST, None, "rewritten", detail))
    done = 0
    for entry in manifest.files:
        report.records[entry.name] = entry.records

        def progress(n: int, base: int = done) -> None:
            if on_record is not None:
                on_record(base + n)

        report.breaks.extend(verify_file(directory / entry.name, entry, progress))
        done += entry.records
    return report
