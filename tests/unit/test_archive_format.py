"""The archive record and its hash chain: encoding, decoding, what the hash covers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from votewire.replay.archive_format import (
    BadLine,
    chain_matches,
    decode_line,
    encode_line,
    genesis,
    link,
)
from votewire.replay.archive_reader import Archive, ArchiveBroken
from votewire.replay.archive_writer import ArchiveWriter
from votewire.replay.log_records import LogRecord

RECORD = LogRecord(2, 41, 1_627_225_200_000, b"kz/r1", '{"ballots_cast":5,"name":"Ақсу"}'.encode())


def test_a_line_decodes_to_the_record_it_encodes() -> None:
    """encode_line -> decode_line gives back position, record, hash and canonical bytes."""
    line, digest = encode_line(7, RECORD, genesis("reports.jsonl.gz"))
    parsed = decode_line(line)
    assert parsed.position == 7
    assert parsed.record == RECORD
    assert parsed.stored_hash == digest
    assert link(genesis("reports.jsonl.gz"), parsed.canonical) == digest


def test_binary_and_missing_bytes_survive() -> None:
    """Non-UTF-8 bytes travel as base64, a missing key and a tombstone as null."""
    record = LogRecord(0, 0, 1, None, b"\xff\x00\xfe")
    parsed = decode_line(encode_line(1, record, genesis("x"))[0])
    assert parsed.record == record
    tombstone = LogRecord(0, 1, 2, b"kz", None)
    assert decode_line(encode_line(2, tombstone, genesis("x"))[0]).record == tombstone


def test_headers_are_kept_and_covered_by_the_hash() -> None:
    """A record's Kafka headers (the sending credential) travel in the line, in order, and
    the hash covers them; a record without headers has no `headers` field at all."""
    sent = RECORD._replace(headers=(("votewire-credential", b"desk-7"), ("x", b"\xff")))
    line, _ = encode_line(1, sent, genesis("x"))
    parsed = decode_line(line)
    assert parsed.record == sent and chain_matches(genesis("x"), parsed)
    assert json.loads(line)["headers"] == [
        ["votewire-credential", "desk-7"],
        ["x", {"base64": "/w=="}],
    ]
    forged = line.replace(b"desk-7", b"desk-8")
    assert not chain_matches(genesis("x"), decode_line(forged))
    assert "headers" not in json.loads(encode_line(1, RECORD, genesis("x"))[0])
    with pytest.raises(BadLine, match="headers"):
        decode_line(line.replace(b'[["votewire-credential"', b"[[7"))


def test_canonical_bytes_ignore_formatting_but_not_content() -> None:
    """Re-indenting a line keeps its canonical bytes; changing a figure changes them."""
    line, _ = encode_line(1, RECORD, genesis("x"))
    pretty = json.dumps(json.loads(line), indent=3).encode()
    assert decode_line(pretty).canonical == decode_line(line).canonical
    edited = line.replace(b'ballots_cast\\":5', b'ballots_cast\\":6')
    assert edited != line
    assert decode_line(edited).canonical != decode_line(line).canonical


def test_the_hash_covers_position_and_the_previous_hash() -> None:
    """The same record at another position, or after another head, hashes differently."""
    _, a = encode_line(1, RECORD, genesis("x"))
    _, b = encode_line(2, RECORD, genesis("x"))
    _, c = encode_line(1, RECORD, genesis("y"))
    assert len({a, b, c}) == 3


@pytest.mark.parametrize(
    "line",
    [b"not json", b"[1]", b'{"position":1}', b'{"hash":"00","position":1}'],
)
def test_a_line_that_is_no_record_is_refused(line: bytes) -> None:
    """Garbage lines raise BadLine, never something else."""
    with pytest.raises(BadLine):
        decode_line(line)


def test_a_lone_surrogate_is_refused_not_raised() -> None:
    """A value edited to hold an escaped lone surrogate is a BadLine, not a crash."""
    line, _ = encode_line(1, RECORD, genesis("x"))
    obj = json.loads(line)
    obj["value"] = "\ud800"
    with pytest.raises(BadLine):
        decode_line(json.dumps(obj).encode())


def test_writer_and_reader_round_trip(tmp_path: Path) -> None:
    """What ArchiveWriter writes, Archive reads back, chain checked, manifest filled in."""
    records = [RECORD._replace(offset=i, timestamp_ms=1000 + i) for i in range(5)]
    definition = LogRecord(0, 0, 999, b"kz", b'{"election_id":"kz"}')
    with ArchiveWriter(tmp_path / "a") as writer:
        writer.open_file("definitions", "t.definitions").write(definition)
        writer.open_file("reports", "t.reports").write_all(records)
    archive = Archive(tmp_path / "a")
    assert list(archive.records("reports")) == records
    assert archive.count("reports") == 5
    entry = archive.manifest.file("reports")
    assert entry is not None
    assert entry.partitions == {"2": [0, 5]}
    assert (entry.first_ms, entry.last_ms) == (1000, 1004)
    assert entry.timestamp_type == "CreateTime"
    assert archive.manifest.elections == ["kz"]
    assert list(archive.records("dead-letters")) == []


def test_an_archive_is_never_overwritten(tmp_path: Path) -> None:
    """A directory that holds a manifest cannot be written to again."""
    with ArchiveWriter(tmp_path) as writer:
        writer.open_file("reports", "t.reports").write(RECORD)
    with pytest.raises(ValueError, match="already holds an archive"):
        ArchiveWriter(tmp_path)


def test_the_reader_stops_at_an_edited_record(tmp_path: Path) -> None:
    """Reading a tampered file raises ArchiveBroken naming file and record."""
    with ArchiveWriter(tmp_path) as writer:
        writer.open_file("reports", "t.reports").write_all(
            [RECORD._replace(offset=i) for i in range(3)]
        )
    path = tmp_path / "reports.jsonl.gz"
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"offset":1', b'"offset":9')
    path.write_bytes(gzip.compress(b"".join(lines)))
    with pytest.raises(ArchiveBroken, match=r"reports\.jsonl\.gz record 2"):
        list(Archive(tmp_path).records("reports"))


def test_a_reformatted_line_still_matches_its_chain() -> None:
    """Re-indenting a line (content intact) keeps it on the chain; editing it does not."""
    line, _ = encode_line(3, RECORD, genesis("x"))
    pretty = json.dumps(json.loads(line), indent=1).encode()
    assert chain_matches(genesis("x"), decode_line(line))
    assert chain_matches(genesis("x"), decode_line(pretty))
    spaced = line.replace(b'"partition":2', b'"partition": 2')
    assert decode_line(spaced).as_written
    assert chain_matches(genesis("x"), decode_line(spaced))
    moved = line.replace(b'"partition":2', b'"partition":3')
    assert not chain_matches(genesis("x"), decode_line(moved))
