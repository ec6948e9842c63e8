"""`votewire archive verify`: tampering is detected and located (file, record, what)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from votewire.cli import main
from votewire.replay.archive_format import encode_line, genesis
from votewire.replay.archive_manifest import MANIFEST
from votewire.replay.archive_verify import verify_archive
from votewire.replay.archive_writer import ArchiveWriter
from votewire.replay.log_records import LogRecord

FILE = "reports.jsonl.gz"


def report(i: int) -> LogRecord:
    value = json.dumps({"report_id": f"p{i}/result/r1", "ballots_cast": 100 + i}).encode()
    return LogRecord(i % 3, i // 3, 1_627_225_200_000 + i * 1000, b"kz/r1", value)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """An intact archive: one definition, ten reports, two dead letters."""
    directory = tmp_path / "archive"
    with ArchiveWriter(directory) as writer:
        writer.open_file("definitions", "t.definitions").write(
            LogRecord(0, 0, 1, b"kz", b'{"election_id":"kz"}')
        )
        writer.open_file("reports", "t.reports").write_all(report(i) for i in range(10))
        writer.open_file("dead-letters", "t.dead-letters").write_all(
            LogRecord(0, i, 5 + i, b"sender", b'{"reason":"sum_mismatch"}') for i in range(2)
        )
    return directory


def lines_of(directory: Path) -> list[bytes]:
    return gzip.decompress((directory / FILE).read_bytes()).splitlines(keepends=True)


def rewrite(directory: Path, lines: list[bytes]) -> None:
    (directory / FILE).write_bytes(gzip.compress(b"".join(lines)))


def test_an_intact_archive_verifies(archive: Path) -> None:
    """No breaks, the counts per file, the archive head from the manifest."""
    report_ = verify_archive(archive)
    assert report_.ok
    assert report_.records == {"definitions.jsonl.gz": 1, FILE: 10, "dead-letters.jsonl.gz": 2}
    manifest = json.loads((archive / MANIFEST).read_text())
    assert report_.head == manifest["head"]


def test_an_edited_record_is_named(archive: Path) -> None:
    """Changing one figure: exactly one break, `edited`, at that record."""
    lines = lines_of(archive)
    obj = json.loads(lines[4])
    obj["value"] = obj["value"].replace('"ballots_cast": 104', '"ballots_cast": 140')
    assert "140" in obj["value"]
    lines[4] = json.dumps(obj).encode() + b"\n"
    rewrite(archive, lines)
    breaks = verify_archive(archive).breaks
    assert [(b.file, b.record, b.what) for b in breaks] == [(FILE, 5, "edited")]


def test_a_deleted_record_is_named(archive: Path) -> None:
    """Removing record 6: exactly one break, `missing`, record 6."""
    lines = lines_of(archive)
    del lines[5]
    rewrite(archive, lines)
    breaks = verify_archive(archive).breaks
    assert [(b.file, b.record, b.what) for b in breaks] == [(FILE, 6, "missing")]
    assert "record 6 is missing (before record 7)" in breaks[0].detail


def test_a_deleted_last_record_is_named(archive: Path) -> None:
    """Cutting the last record off: `missing` at the end, record 10."""
    rewrite(archive, lines_of(archive)[:-1])
    breaks = verify_archive(archive).breaks
    assert [(b.record, b.what) for b in breaks] == [(10, "missing")]
    assert "at the end" in breaks[0].detail


def test_two_swapped_records_are_named(archive: Path) -> None:
    """Swapping records 3 and 4: exactly one break, `reordered`, record 3 on line 4."""
    lines = lines_of(archive)
    lines[2], lines[3] = lines[3], lines[2]
    rewrite(archive, lines)
    breaks = verify_archive(archive).breaks
    assert [(b.file, b.record, b.line, b.what) for b in breaks] == [(FILE, 3, 4, "reordered")]


def test_a_rehashed_chain_is_caught_by_the_head(archive: Path) -> None:
    """Editing a record and recomputing every hash after it: the head gives it away."""
    lines = lines_of(archive)
    records = [json.loads(line) for line in lines]
    head = genesis(FILE)
    forged = []
    for i, obj in enumerate(records, start=1):
        value = obj["value"].replace('"ballots_cast": 102', '"ballots_cast": 1')
        rec = LogRecord(
            obj["partition"], obj["offset"], obj["timestamp"], obj["key"].encode(), value.encode()
        )
        line, head = encode_line(i, rec, head)
        forged.append(line)
    rewrite(archive, forged)
    breaks = verify_archive(archive).breaks
    assert [(b.file, b.what) for b in breaks] == [(FILE, "rewritten")]


def test_the_expected_head_pins_the_whole_archive(archive: Path) -> None:
    """With --head, an archive whose head differs from the published one is refused."""
    head = verify_archive(archive).head
    assert head is not None
    assert verify_archive(archive, expected_head=head).ok
    breaks = verify_archive(archive, expected_head="0" * 64).breaks
    assert [(b.file, b.what) for b in breaks] == [(MANIFEST, "rewritten")]


def test_a_truncated_file_is_named(archive: Path) -> None:
    """A gzip stream cut short: `truncated`, naming the file."""
    raw = (archive / FILE).read_bytes()
    (archive / FILE).write_bytes(raw[: len(raw) // 2])
    breaks = verify_archive(archive).breaks
    assert [(b.file, b.what) for b in breaks] == [(FILE, "truncated")]


def test_an_unreadable_line_is_an_edit(archive: Path) -> None:
    """A line replaced by garbage: `edited` on that line."""
    lines = lines_of(archive)
    lines[6] = b"{garbage\n"
    rewrite(archive, lines)
    breaks = verify_archive(archive).breaks
    assert [(b.line, b.what) for b in breaks] == [(7, "edited"), (None, "missing")]


def test_the_command_prints_the_place_and_exits_1(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`archive verify DIR` prints file, record and what; exit 1; exit 0 when intact."""
    assert main(["archive", "verify", str(archive)]) == 0
    assert "intact: 13 records" in capsys.readouterr().out
    lines = lines_of(archive)
    del lines[2]
    rewrite(archive, lines)
    assert main(["archive", "verify", str(archive)]) == 1
    out = capsys.readouterr().out
    assert f"{FILE} record 3: missing: record 3 is missing (before record 4)" in out
    assert main(["archive", "verify", str(archive), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False
    assert doc["breaks"][0]["what"] == "missing"


def test_a_directory_without_manifest_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not an archive at all: exit 2 and a reason."""
    assert main(["archive", "verify", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().out
