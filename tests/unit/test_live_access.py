"""Read tokens, private channels, origins and the per-address connection count."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from votewire.config import SettingsError
from votewire.live.access import ANONYMOUS, Access, presented_token
from votewire.live.limits import ConnectionCounter


def _tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.json"
    digest = hashlib.sha256(b"t0ken").hexdigest()
    path.write_text(
        json.dumps(
            {
                "private": ["race:kz-2026-*"],
                "tokens": [{"name": "desk", "sha256": digest, "channels": ["race:kz-2026-*"]}],
            }
        )
    )
    return path


def test_everything_is_public_without_a_tokens_file() -> None:
    """With no configuration any reader may read any channel."""
    access = Access.load(("*",), None)
    assert access.reader(None) is ANONYMOUS
    assert access.may_read(ANONYMOUS, "race:kz-2026-x:r1")


def test_private_channels_need_a_granted_token(tmp_path: Path) -> None:
    """A private channel is readable with a token whose grant matches, public ones by all."""
    access = Access.load(("*",), _tokens_file(tmp_path))
    desk = access.reader("t0ken")
    assert desk is not None and desk.name == "desk"
    assert access.may_read(desk, "race:kz-2026-x:r1")
    assert not access.may_read(ANONYMOUS, "race:kz-2026-x:r1")
    assert access.may_read(ANONYMOUS, "summary:kz-2026-x")
    assert access.reader("guess") is None


def test_a_bad_tokens_file_names_the_setting(tmp_path: Path) -> None:
    """An unreadable tokens file fails at start-up with the variable's name."""
    bad = tmp_path / "tokens.json"
    bad.write_text('{"tokens": [{"name": "x"}]}')
    with pytest.raises(SettingsError, match="VOTEWIRE_LIVE_TOKENS_FILE"):
        Access.load(("*",), bad)


def test_origins() -> None:
    """Non-browsers and the service's own origin pass; others only if listed."""
    access = Access(("https://news.example",))
    assert access.origin_allowed(None, "live:8082")
    assert access.origin_allowed("http://live:8082", "live:8082")
    assert access.origin_allowed("https://news.example", "live:8082")
    assert not access.origin_allowed("https://evil.example", "live:8082")


def test_the_bearer_header_wins_over_the_query() -> None:
    """`Authorization: Bearer` is read first, `?token=` second."""
    assert presented_token({"authorization": "Bearer abc"}, {"token": "q"}) == "abc"
    assert presented_token({}, {"token": "q"}) == "q"
    assert presented_token({}, {}) is None


def test_connections_per_address_are_counted() -> None:
    """The counter refuses past its limit and frees a slot on release; 0 is unlimited."""
    counter = ConnectionCounter(2)
    assert counter.acquire("a") and counter.acquire("a") and not counter.acquire("a")
    assert counter.acquire("b")
    counter.release("a")
    assert counter.acquire("a") and counter.total() == 3
    assert all(ConnectionCounter(0).acquire("a") for _ in range(1000))
