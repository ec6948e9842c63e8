"""Pure pieces of the REST and feed paths: ETag matching, server frames, close codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from votewire.infra.views import StoredView
from votewire.live import close_codes
from votewire.live.protocol import snapshot_frame, update_frame
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


def test_update_and_snapshot_frames_are_the_documented_bytes() -> None:
    """The head comes first, in the documented key order, and the view is spliced in as
    stored (docs/live-protocol.md, "Server -> client")."""
    view = StoredView("race:e:r1", 3, 12, "ab", '{"name":"Ақсу","n":1}'.encode())
    assert update_frame(view) == (
        b'{"type":"update","channel":"race:e:r1","seq":12,"epoch":"ab","version":3,"view":'
        + view.doc
        + b"}"
    )
    assert snapshot_frame(view) == update_frame(view).replace(b"update", b"snapshot", 1)
    resync = snapshot_frame(view, resync=True)
    assert resync.startswith(
        b'{"type":"snapshot","channel":"race:e:r1","seq":12,"epoch":"ab","version":3,'
        b'"resync":true,"view":{'
    )
    assert json.loads(resync)["view"] == {"name": "Ақсу", "n": 1}


def test_close_codes_are_unique_and_documented() -> None:
    """Every close code is distinct and listed in docs/live-protocol.md."""
    assert len({c.code for c in close_codes.ALL}) == len(close_codes.ALL)
    text = DOC.read_text(encoding="utf-8")
    for code in close_codes.ALL:
        assert f"`{code.code}`" in text and f"`{code.reason}`" in text, code
