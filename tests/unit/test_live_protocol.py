"""Client frames of the live protocol: strict parsing, errors never crash."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from votewire.live.protocol import (
    Ping,
    Pong,
    ProtocolError,
    Subscribe,
    Unsubscribe,
    parse_client_frame,
)


def test_subscribe_with_resume_is_parsed() -> None:
    """A subscribe frame with a resume position yields its seq and epoch."""
    frame = parse_client_frame(
        json.dumps(
            {"type": "subscribe", "channel": "race:kz:r1", "resume": {"seq": 4, "epoch": "e"}}
        )
    )
    assert frame == Subscribe("race:kz:r1", 4, "e")


def test_unsubscribe_ping_and_pong() -> None:
    """Unsubscribe names its channel; ping and pong have no fields."""
    assert parse_client_frame('{"type":"unsubscribe","channel":"summary:kz"}') == Unsubscribe(
        "summary:kz"
    )
    assert parse_client_frame('{"type":"ping"}') == Ping()
    assert parse_client_frame('{"type":"pong"}') == Pong()


@pytest.mark.parametrize(
    "channel",
    [
        "race:kz:r1",
        "region:kz:akmola",
        "summary:kz",
        "turnout:kz",
        "turnout:kz:akmola",
        "races:kz",
        "races:kz:akmola:0",
        "races:kz:-:12",
    ],
)
def test_every_published_channel_kind_is_accepted(channel: str) -> None:
    """The channels the aggregate writes are all subscribable."""
    assert parse_client_frame(json.dumps({"type": "subscribe", "channel": channel})) == Subscribe(
        channel
    )


def test_an_error_frame_names_code_and_channel() -> None:
    """A refused subscribe says which channel and why, as one JSON frame."""
    with pytest.raises(ProtocolError) as info:
        parse_client_frame('{"type":"subscribe","channel":"weather:kz"}')
    assert json.loads(info.value.frame()) == {
        "type": "error",
        "code": "unknown_channel",
        "message": str(info.value),
        "channel": "weather:kz",
    }


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "malformed_frame"),
        ("[1]", "malformed_frame"),
        ('{"type":"dance"}', "unknown_type"),
        ('{"type":"subscribe","channel":"race:kz:r1\\"x"}', "bad_channel"),
        ('{"type":"subscribe","channel":"RACE"}', "bad_channel"),
        ('{"type":"subscribe"}', "bad_channel"),
        ('{"type":"subscribe","channel":"weather:kz"}', "unknown_channel"),
        ('{"type":"subscribe","channel":"race:kz"}', "unknown_channel"),
        ('{"type":"subscribe","channel":"summary:kz:x"}', "unknown_channel"),
        ('{"type":"subscribe","channel":"races:kz:akmola"}', "unknown_channel"),
        ('{"type":"subscribe","channel":"races:kz:akmola:01"}', "unknown_channel"),
        ('{"type":"subscribe","channel":"races:kz:akmola:x"}', "unknown_channel"),
        ('{"type":"subscribe","channel":"race:kz:r1","resume":7}', "bad_resume"),
        (
            '{"type":"subscribe","channel":"race:kz:r1","resume":{"seq":-1,"epoch":"e"}}',
            "bad_resume",
        ),
        (
            '{"type":"subscribe","channel":"race:kz:r1","resume":{"seq":true,"epoch":"e"}}',
            "bad_resume",
        ),
        ("x" * 5000, "frame_too_large"),
    ],
)
def test_bad_frames_get_a_named_error(text: str, code: str) -> None:
    """Each kind of bad frame is refused with its own error code."""
    with pytest.raises(ProtocolError) as info:
        parse_client_frame(text)
    assert info.value.code == code


@given(st.text(max_size=300))
def test_any_text_parses_or_raises_protocol_error(text: str) -> None:
    """No client text can make the parser raise anything but ProtocolError."""
    with contextlib.suppress(ProtocolError):
        parse_client_frame(text)
