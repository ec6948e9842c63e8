"""An election's retirement record on the definitions topic, and how readers assemble it."""

from __future__ import annotations

import json

from votewire.core.codec import decode_definition
from votewire.core.definition_records import Assembler, Complete, Skipped, revision_records
from votewire.core.definition_text import canonical_text
from votewire.core.retirement import (
    Retired,
    Unretired,
    decode_retirement,
    is_retirement_key,
    retirement_key,
    retirement_value,
)

from tests.support.definitions import tiny_definition

RETIRED = Retired("tiny-2026", "2026-07-26T08:00:00.000Z", "admin")


def test_a_retirement_round_trips_and_its_key_is_no_election_or_part_key() -> None:
    """The record decodes to what was encoded; its key cannot be a header or part key."""
    key = retirement_key("tiny-2026")
    assert key == b"tiny-2026#retired" and is_retirement_key(key)
    assert b"@" not in key and not is_retirement_key(b"tiny-2026") and not is_retirement_key(
        b"#retired"
    )
    assert decode_retirement(key, retirement_value(RETIRED)) == RETIRED
    assert decode_retirement(key, None) == Unretired("tiny-2026")


def test_unusable_retirement_values_say_why() -> None:
    """Not JSON, another kind, another election, fields missing: a reason, never a crash."""
    key = retirement_key("tiny-2026")
    other = json.dumps({"kind": "retirement", "election_id": "x", "retired_at": "t",
                        "retired_by": "a"}).encode()  # fmt: skip
    for value in (b"{", b'{"kind": "definition-header"}', other,
                  b'{"kind": "retirement", "election_id": "tiny-2026"}'):  # fmt: skip
        assert isinstance(decode_retirement(key, value), str)


def test_the_assembler_follows_retirements_beside_revisions() -> None:
    """Retired once (a repeat changes nothing), withdrawn by a tombstone; a revision of
    the same election completes as before, whichever order the records come in."""
    definition = decode_definition(tiny_definition())
    text = canonical_text(definition)
    parts, header = revision_records(definition, text, "0000000000001-abc")
    key = retirement_key("tiny-2026")
    for order in ("retire first", "definition first"):
        assembler = Assembler()
        events = []
        records = [(key, retirement_value(RETIRED)), *parts, header]
        if order == "definition first":
            records = records[1:] + records[:1]
        for k, v in records:
            events += assembler.offer(k, v)
        assert RETIRED in events and any(isinstance(e, Complete) for e in events)
        assert assembler.retired() == {"tiny-2026": RETIRED}
        assert assembler.offer(key, retirement_value(RETIRED)) == []
        assert assembler.offer(key, None) == [Unretired("tiny-2026")]
        assert assembler.retired() == {} and assembler.offer(key, None) == []
        assert assembler.visible("tiny-2026") == "0000000000001-abc"


def test_a_bad_retirement_record_is_skipped() -> None:
    """A retirement key with a value that is not one is skipped, the state unchanged."""
    assembler = Assembler()
    [event] = assembler.offer(retirement_key("e"), b"not json")
    assert isinstance(event, Skipped) and assembler.retired() == {}
