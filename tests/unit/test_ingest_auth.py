"""Credentials file parsing, token checking and scope decisions of ingest (pure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from votewire.config import SettingsError
from votewire.core.codec import decode_definition
from votewire.core.models import ElectionDefinition
from votewire.ingest.auth import (
    DEV_OPEN,
    Credential,
    CredentialsError,
    Scope,
    load_credentials,
    parse_credentials,
    token_digest,
)

from tests.support.definitions import tiny_definition

TINY = decode_definition(tiny_definition())


def entry(cid: str, token: str, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "token_sha256": token_digest(token), **extra}


def doc(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "credentials": list(entries)}


def other_election() -> ElectionDefinition:
    return decode_definition(tiny_definition("other-2026"))


def test_a_configured_token_authenticates_as_its_credential() -> None:
    """The bearer token whose SHA-256 is in the file yields that credential."""
    creds = parse_credentials(doc(entry("desk", "s3cret"), entry("admin", "root", admin=True)), 10)
    found = creds.authenticate("Bearer s3cret")
    assert found is not None and found.credential_id == "desk" and not found.admin
    admin = creds.authenticate("bearer root")
    assert admin is not None and admin.admin
    assert len(creds) == 2 and not creds.dev_mode


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Bearer wrong", "Basic s3cret", "s3cret", "Bearer s3cret2"],
)
def test_anything_but_a_configured_token_is_refused(header: str | None) -> None:
    """Missing, malformed, other-scheme and unknown tokens authenticate as nobody."""
    creds = parse_credentials(doc(entry("desk", "s3cret")), 10)
    assert creds.authenticate(header) is None


def test_dev_mode_lets_everyone_in_as_the_open_credential() -> None:
    """Without a credentials file every request is the all-powerful dev credential."""
    creds = load_credentials(None, 10)
    assert creds.dev_mode
    assert creds.authenticate(None) is DEV_OPEN
    assert DEV_OPEN.admin and DEV_OPEN.may_report(TINY, "r2", "p3")


def test_the_file_is_read_and_its_errors_name_file_and_entry(tmp_path: Path) -> None:
    """A good file loads; a bad one raises a SettingsError naming the file and entry."""
    good = tmp_path / "good.json"
    good.write_text(json.dumps(doc(entry("desk", "t"))))
    assert load_credentials(good, 10).authenticate("Bearer t") is not None
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc(entry("desk", "t"), {"id": "x", "token_sha256": "nothex"})))
    with pytest.raises(SettingsError, match=r"bad\.json: credentials\[1\]\.token_sha256"):
        load_credentials(bad, 10)
    with pytest.raises(CredentialsError, match=r"missing\.json"):
        load_credentials(tmp_path / "missing.json", 10)
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(CredentialsError, match="not JSON"):
        load_credentials(tmp_path / "junk.json", 10)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected"),
        ({"credentials": [], "extra": 1}, "expected"),
        ({"version": 2, "credentials": []}, "unsupported version"),
        (doc(entry("a", "t"), entry("a", "u")), "duplicate id"),
        (doc(entry("a", "t"), entry("b", "t")), "already used"),
        (doc(entry("a", "t", scope=[])), "unknown key"),
        (doc(entry("", "t")), "id"),
        (doc(entry("a", "t", admin="yes")), "admin"),
        (doc(entry("a", "t", scopes=[{"regions": ["n"]}])), "election_id"),
        (doc(entry("a", "t", scopes=[{"election_id": "e", "regions": "n"}])), "regions"),
        (doc(entry("a", "t", rate={"per_second": -1})), "per_second"),
        (doc(entry("a", "t", rate={"per_second": 5, "burst": 3})), "burst"),
        (doc({"id": "a", "token_sha256": "A" * 64}), "lowercase hex"),
    ],
)
def test_malformed_credentials_are_refused(document: Any, message: str) -> None:
    """Every structural mistake in the file is an error that says what is wrong."""
    with pytest.raises(CredentialsError, match=message):
        parse_credentials(document, 10)


def test_errors_never_show_a_digest() -> None:
    """A duplicate-digest error does not echo the digest."""
    digest = token_digest("t")
    with pytest.raises(CredentialsError) as caught:
        parse_credentials(doc(entry("a", "t"), entry("b", "t")), 10)
    assert digest not in str(caught.value)


def test_a_region_scope_covers_the_races_of_that_region_only() -> None:
    """regions: every race whose region is listed, in the named election only."""
    cred = Credential("desk", scopes=(Scope("tiny-2026", regions=frozenset({"north"})),))
    assert cred.may_report(TINY, "r1", "p1") and cred.may_report(TINY, "r1", "p2")
    assert not cred.may_report(TINY, "r2", "p3")
    assert not cred.may_report(other_election(), "r1", "p1")


def test_a_region_scope_covers_its_precincts_of_a_race_spanning_regions() -> None:
    """In a race with region_id null, a region scope covers the precincts in that region."""
    obj = tiny_definition()
    national = {**obj["races"][0], "race_id": "pres", "region_id": None}
    national["precincts"] = [
        {"precinct_id": "n1", "name": "", "registered": 10, "region_id": "north"},
        {"precinct_id": "w1", "name": "", "registered": 10, "region_id": "west"},
    ]
    obj["races"].append(national)
    defn = decode_definition(obj)
    west = Credential("west", scopes=(Scope("tiny-2026", regions=frozenset({"west"})),))
    assert west.may_report(defn, "pres", "w1")
    assert not west.may_report(defn, "pres", "n1")
    assert not west.may_report(defn, "pres", "nowhere")


def test_race_and_precinct_scopes() -> None:
    """races: listed races; precincts: "race/precinct" exactly, or a bare id in any race."""
    by_race = Credential("r", scopes=(Scope("tiny-2026", races=frozenset({"r2"})),))
    assert by_race.may_report(TINY, "r2", "p3") and not by_race.may_report(TINY, "r1", "p1")
    exact = Credential("p", scopes=(Scope("tiny-2026", precincts=frozenset({"r1/p2"})),))
    assert exact.may_report(TINY, "r1", "p2") and not exact.may_report(TINY, "r1", "p1")
    bare = Credential("b", scopes=(Scope("tiny-2026", precincts=frozenset({"p3"})),))
    assert bare.may_report(TINY, "r2", "p3") and not bare.may_report(TINY, "r2", "p1")


def test_election_wide_and_any_election_scopes() -> None:
    """A scope listing nothing covers its whole election; "*" covers every election."""
    whole = Credential("w", scopes=(Scope("tiny-2026"),))
    assert whole.may_report(TINY, "r2", "p3") and not whole.may_report(other_election(), "r2", "p3")
    anywhere = Credential("a", scopes=(Scope("*"),))
    assert anywhere.may_report(other_election(), "r1", "p1")
    assert not Credential("none").may_report(TINY, "r1", "p1")


def test_editors_may_call_races_of_their_elections_only() -> None:
    """`editor` lists the elections whose races a credential may call; none by default,
    "*" any; dev mode is an editor of every election; a bad list is refused."""
    creds = parse_credentials(
        doc(entry("desk", "d", editor=["kz-2021"]), entry("any", "a", editor=["*"]),
            entry("plain", "p")), 10,
    )  # fmt: skip
    desk, anyone, plain = (creds.authenticate(f"Bearer {t}") for t in ("d", "a", "p"))
    assert desk is not None and desk.may_call("kz-2021") and not desk.may_call("other")
    assert anyone is not None and anyone.may_call("other")
    assert plain is not None and not plain.may_call("kz-2021")
    assert DEV_OPEN.may_call("anything")
    with pytest.raises(CredentialsError, match="editor"):
        parse_credentials(doc(entry("x", "t", editor="*")), 10)


def test_scopes_and_rate_override_are_parsed_from_the_file() -> None:
    """A file entry's scopes and rate become the credential's."""
    scopes = [{"election_id": "tiny-2026", "regions": ["west"], "precincts": ["r1/p1"]}]
    rate = {"per_second": 50, "burst": 100}
    creds = parse_credentials(doc(entry("d", "t", scopes=scopes, rate=rate)), 100)
    cred = creds.authenticate("Bearer t")
    assert cred is not None and cred.rate is not None and cred.rate.per_second == 50
    assert cred.may_report(TINY, "r2", "p3") and cred.may_report(TINY, "r1", "p1")
    assert not cred.may_report(TINY, "r1", "p2")
