"""Pure pieces of the REST and feed paths: ETag matching, update heads, close codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from votewire.live import close_codes
from votewire.live.feed import frame_head
from votewire.live.rest import etag_matches

DOC = Path(__file__).resolve().parents[2] / "docs" / "live-protocol.md"


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ('"a-1"', True),
        ('W/"a-1"', True),
        ('"a-0", "a-1"', True),
        ("*", True),
        ('"a-2"', False),
    ],
)
def test_if_none_match(header: str | None, matches: bool) -> None:
    """If-None-Match matches weakly, in lists, and with *."""
    assert etag_matches(header, '"a-1"') is matches


def test_the_update_head_is_read_without_parsing_the_view() -> None:
    """channel, seq and epoch come from the head the aggregate's Lua script writes."""
    frame = b'{"type":"update","channel":"race:e:r1","seq":12,"epoch":"ab","version":3,"view":{}}'
    assert frame_head(frame) == ("race:e:r1", 12, "ab")
    other_order = b'{"seq":5,"type":"update","epoch":"x","channel":"summary:e","view":{}}'
    assert frame_head(other_order) == ("summary:e", 5, "x")


def test_close_codes_are_unique_and_documented() -> None:
    """Every close code is distinct and listed in docs/live-protocol.md."""
    assert len({c.code for c in close_codes.ALL}) == len(close_codes.ALL)
    text = DOC.read_text(encoding="utf-8")
    for code in close_codes.ALL:
        assert f"`{code.code}`" in text and f"`{code.reason}`" in text, code
