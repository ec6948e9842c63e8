"""The definitions topic's record layout: bounded parts, whole revisions, any order."""

from __future__ import annotations

import random

import pytest
from builders import ELECTION, definition_dict
from hypothesis import given
from hypothesis import strategies as st
from votewire.core.codec import decode_definition, dumps, encode_definition, loads
from votewire.core.definition_records import (
    ORPHAN_AGE_MS,
    PART_TEXT_BYTES,
    Assembler,
    Complete,
    Record,
    Removed,
    Skipped,
    header_of,
    revision_records,
    split_text,
    tombstones,
)
from votewire.core.models import ElectionDefinition

LIMIT = 64
"""A tiny part size, so a small definition spans many parts."""


def named(name: str) -> tuple[ElectionDefinition, bytes]:
    definition = decode_definition(definition_dict(name=name))
    return definition, dumps(encode_definition(definition))


def records(name: str, revision: str) -> tuple[list[Record], Record]:
    definition, text = named(name)
    return revision_records(definition, text, revision, LIMIT)


def offer(assembler: Assembler, items: list[Record], at_ms: int = 0) -> list[object]:
    events: list[object] = []
    for key, value in items:
        events.extend(assembler.offer(key, value, at_ms))
    return events


@given(st.text(), st.integers(min_value=4, max_value=40))
def test_split_text_cuts_on_character_boundaries(text: str, limit: int) -> None:
    """Every slice is at most `limit` bytes and UTF-8 by itself; joined they are the text."""
    raw = text.encode("utf-8", "surrogatepass")
    slices = split_text(raw, limit)
    assert b"".join(slices) == raw
    for piece in slices:
        assert len(piece) <= limit
        piece.decode("utf-8", "surrogatepass")


def test_every_record_stays_small_whatever_the_size() -> None:
    """A 20 MB text becomes parts of at most PART_TEXT_BYTES plus a short envelope."""
    definition, _ = named("national")
    text = ('{"x":"' + "Сайлау учаскесі №1 " * 600_000 + '"}').encode()
    parts, header = revision_records(definition, text, "r1")
    assert len(text) > 20_000_000 and len(parts) >= len(text) / PART_TEXT_BYTES
    assert max(len(p.value or b"") for p in parts) <= PART_TEXT_BYTES + 300
    assert len(header.value or b"") < 1000


def test_parts_then_header_make_one_complete_revision() -> None:
    """Parts first, header last: one Complete, carrying the canonical text."""
    parts, header = records("first", "r1")
    assert len(parts) > 5
    events = offer(Assembler(), [*parts, header])
    _, text = named("first")
    assert events == [Complete(ELECTION, "r1", text)]
    assert decode_definition(loads(text)).name == "first"


@given(st.randoms(use_true_random=False))
def test_any_order_gives_the_same_revision(rng: random.Random) -> None:
    """Records offered in any order complete the revision exactly once, when the last
    of its records arrives, never before."""
    parts, header = records("first", "r1")
    shuffled = [*parts, header]
    rng.shuffle(shuffled)
    assembler = Assembler()
    seen = [offer(assembler, [r]) for r in shuffled]
    assert all(e == [] for e in seen[:-1])
    assert [type(e) for e in seen[-1]] == [Complete]


def test_a_missing_part_keeps_the_previous_revision() -> None:
    """A header whose parts are not all there changes nothing readers see."""
    assembler = Assembler()
    parts1, header1 = records("first", "r1")
    offer(assembler, [*parts1, header1])
    parts2, header2 = records("second", "r2")
    assert offer(assembler, [*parts2[:-1], header2]) == []
    assert assembler.visible(ELECTION) == "r1"
    assert [type(e) for e in offer(assembler, parts2[-1:])] == [Complete]


def test_a_part_of_another_revision_is_never_mixed_in() -> None:
    """Same index, other revision: not used to fill the newest header."""
    assembler = Assembler()
    parts1, _ = records("first", "r1")
    parts2, header2 = records("other", "r2")
    assert offer(assembler, [*parts1, *parts2[1:], header2]) == []
    assert assembler.visible(ELECTION) is None


def test_a_revision_that_fails_its_digest_is_skipped() -> None:
    """Tampered text: Skipped, not shown."""
    parts, header = records("first", "r1")
    key, value = parts[0]
    tampered = Record(key, (value or b"").replace(b"first", b"fIrst"))
    events = offer(Assembler(), [tampered, *parts[1:], header])
    assert [type(e) for e in events] == [Skipped]


def test_a_compacted_topic_reads_like_its_history() -> None:
    """Three revisions with tombstones: the topic compacted (newest record per key,
    in offset order) gives the same visible revision as the full history."""
    history: list[Record] = []
    previous: list[Record] = []
    for n, name in enumerate(("first", "second", "third")):
        parts, header = records(name, f"r{n}")
        history += [*parts, header, *tombstones(k for k, _ in previous)]
        previous = parts
    newest = {key: i for i, (key, _) in enumerate(history)}
    compacted = [history[i] for i in sorted(newest.values()) if history[i].value is not None]
    full, small = Assembler(), Assembler()
    offer(full, history)
    events = offer(small, compacted)
    assert full.visible(ELECTION) == small.visible(ELECTION) == "r2"
    assert events == [Complete(ELECTION, "r2", named("third")[1])]


def test_a_tombstoned_header_removes_the_election() -> None:
    """Null value on the election id: Removed."""
    assembler = Assembler()
    parts, header = records("first", "r1")
    offer(assembler, [*parts, header])
    assert offer(assembler, [Record(ELECTION.encode(), None)]) == [Removed(ELECTION)]
    assert assembler.visible(ELECTION) is None


def test_a_whole_definition_in_one_record_still_reads() -> None:
    """The layout before parts (key: election id, value: the definition) is one revision."""
    _, text = named("legacy")
    events = Assembler().offer(ELECTION.encode(), text)
    assert len(events) == 1 and isinstance(events[0], Complete) and events[0].text == text


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (None, b"{}"),
        (ELECTION.encode(), b"not json"),
        (ELECTION.encode(), b'{"kind":"something-else"}'),
        (b"x@r1/0", b'{"kind":"definition-part","election_id":"x"}\n...'),
        (b"wrong-key", dumps({"kind": "definition-part", "election_id": "e", "revision": "r",
                              "index": 0, "parts": 1}) + b"\nabc"),
    ],
)  # fmt: skip
def test_records_that_fit_no_revision_are_skipped(key: bytes | None, value: bytes) -> None:
    """Hostile or foreign records: Skipped with a reason, never an exception."""
    events = Assembler().offer(key, value)
    assert len(events) == 1 and isinstance(events[0], Skipped) and events[0].reason


def test_stale_parts_spare_a_publish_in_flight() -> None:
    """After r2: r1's parts (superseded) and an old headless revision are stale; a recent
    headless revision (another publish under way) is not."""
    assembler = Assembler()
    parts1, header1 = records("first", "r1")
    parts2, header2 = records("second", "r2")
    dead, _ = records("dead", "r-dead")
    flying, _ = records("flying", "r-flying")
    now = 10 * ORPHAN_AGE_MS
    offer(assembler, dead, at_ms=now - 2 * ORPHAN_AGE_MS)
    offer(assembler, [*parts1, header1, *parts2, header2], at_ms=now)
    offer(assembler, flying, at_ms=now)
    stale = set(assembler.stale_parts(ELECTION, "r2", now))
    assert stale == {k for k, _ in parts1} | {k for k, _ in dead}
    offer(assembler, tombstones(stale))
    assert assembler.stale_parts(ELECTION, "r2", now) == []


def test_the_header_summarises_the_definition() -> None:
    """A lister reads name, date, test and counts off the header alone."""
    _, header = records("first", "r1")
    found = header_of(header.value or b"")
    assert found is not None and found.revision == "r1"
    assert found.summary["name"] == "first" and found.summary["races"] == 3
