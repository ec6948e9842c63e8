"""Who may send what: bearer-token credentials and their scopes.

Credentials come from one JSON file named by VOTEWIRE_CREDENTIALS_FILE
(format in docs/ingest.md). The file holds only the SHA-256 of each token,
never a token, and nothing here logs a token or a digest. A credential is:

- `admin`: may load and replace election definitions (PUT);
- `editor`: the elections (ids, or "*" for any) whose races it may call and
  retract calls of, a decision desk's role (`POST`/`DELETE
  /v1/elections/{e}/races/{r}/call`); reports need scopes, not this;
- `scopes`: the reports it may send. A scope names an election (or "*") and
  optionally narrows it to regions, races and/or precincts; a report is in
  scope when one scope's election matches and, if the scope lists anything,
  the report's region, race, or precinct is listed. A precinct entry is
  "race_id/precinct_id" or a bare "precinct_id" (that id in any race).

Without a credentials file the service runs in open dev mode: every request
is the `DEV_OPEN` credential (admin, every election). `Credentials.dev_mode`
tells the app to say so, loudly.

Token checking: the presented token is hashed; the first 8 bytes of its
digest pick the candidates (like the public id part of an API key), and the
whole digest is compared with each candidate by `hmac.compare_digest`. The
lookup's timing can only reveal how the SHA-256 of the attacker's own guess
relates to 8 bytes of a stored digest, which does not help find a token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from votewire.config import SettingsError
from votewire.core.models import ElectionDefinition

ANY_ELECTION = "*"
_PREFIX = 16  # hex digits of the digest used to find candidates
_HEX = frozenset(string.hexdigits.lower())
_CREDENTIAL_KEYS = frozenset({"id", "token_sha256", "admin", "editor", "scopes", "rate", "note"})
_SCOPE_KEYS = frozenset({"election_id", "regions", "races", "precincts"})
_RATE_KEYS = frozenset({"per_second", "burst"})


class CredentialsError(SettingsError):
    """The credentials file is missing or malformed; the message names the entry."""


def token_digest(token: str) -> str:
    """Hex SHA-256 of a bearer token, as stored in the credentials file."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Scope:
    """Reports of one election (or any, "*"), optionally narrowed."""

    election_id: str
    regions: frozenset[str] = frozenset()
    races: frozenset[str] = frozenset()
    precincts: frozenset[str] = frozenset()

    def covers(self, definition: ElectionDefinition, race_id: str, precinct_id: str) -> bool:
        if self.election_id not in (ANY_ELECTION, definition.election_id):
            return False
        if not (self.regions or self.races or self.precincts):
            return True
        if race_id in self.races:
            return True
        if precinct_id in self.precincts or f"{race_id}/{precinct_id}" in self.precincts:
            return True
        race = definition.race(race_id)
        precinct = definition.precinct(race_id, precinct_id)
        if race is None or precinct is None:
            return False
        # The precinct's region: a race spanning regions is reported region by region.
        return definition.region_of(race, precinct) in self.regions


@dataclass(frozen=True, slots=True)
class RateOverride:
    """A credential's own token bucket, replacing the configured default."""

    per_second: int
    burst: int


@dataclass(frozen=True, slots=True)
class Credential:
    credential_id: str
    admin: bool = False
    scopes: tuple[Scope, ...] = ()
    rate: RateOverride | None = None
    editor: frozenset[str] = frozenset()
    """Elections whose races this credential may call ("*": any)."""

    def may_call(self, election_id: str) -> bool:
        """True if this credential is an editor of `election_id` (a decision desk)."""
        return ANY_ELECTION in self.editor or election_id in self.editor

    def may_report(self, definition: ElectionDefinition, race_id: str, precinct_id: str) -> bool:
        """True if a report for this race and precinct is within one of the scopes."""
        return any(s.covers(definition, race_id, precinct_id) for s in self.scopes)


DEV_OPEN = Credential(
    "dev-open", admin=True, scopes=(Scope(ANY_ELECTION),), editor=frozenset({ANY_ELECTION})
)
"""The credential of every request in open dev mode."""


class Credentials:
    """The configured credentials, looked up by bearer token."""

    def __init__(self, by_digest: Mapping[str, Credential] | None) -> None:
        self._by_prefix: dict[str, list[tuple[bytes, Credential]]] | None = None
        if by_digest is not None:
            self._by_prefix = {}
            for digest, credential in by_digest.items():
                entry = (bytes.fromhex(digest), credential)
                self._by_prefix.setdefault(digest[:_PREFIX], []).append(entry)

    @classmethod
    def open_dev_mode(cls) -> Credentials:
        return cls(None)

    @property
    def dev_mode(self) -> bool:
        return self._by_prefix is None

    def __len__(self) -> int:
        return sum(len(v) for v in (self._by_prefix or {}).values())

    def authenticate(self, authorization: str | None) -> Credential | None:
        """The credential of an `Authorization: Bearer <token>` header, or None."""
        if self._by_prefix is None:
            return DEV_OPEN
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        presented = token_digest(token)
        found = None
        for stored, credential in self._by_prefix.get(presented[:_PREFIX], ()):
            if hmac.compare_digest(stored, bytes.fromhex(presented)):
                found = credential
        return found


def load_credentials(path: Path | None, max_items: int) -> Credentials:
    """Read the credentials file; None means open dev mode. Raises `CredentialsError`."""
    if path is None:
        return Credentials.open_dev_mode()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CredentialsError(f"VOTEWIRE_CREDENTIALS_FILE {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CredentialsError(f"VOTEWIRE_CREDENTIALS_FILE {path}: not JSON: {exc}") from None
    try:
        return parse_credentials(doc, max_items)
    except CredentialsError as exc:
        raise CredentialsError(f"VOTEWIRE_CREDENTIALS_FILE {path}: {exc}") from None


def parse_credentials(doc: Any, max_items: int) -> Credentials:
    """Credentials from the file's JSON value; strict: unknown keys are errors."""
    if not isinstance(doc, dict) or set(doc) - {"version", "credentials"}:
        raise CredentialsError('expected {"version": 1, "credentials": [...]}')
    if doc.get("version", 1) != 1:
        raise CredentialsError(f"unsupported version {doc.get('version')!r}")
    entries = doc.get("credentials")
    if not isinstance(entries, list):
        raise CredentialsError("`credentials` must be a list")
    by_digest: dict[str, Credential] = {}
    ids: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"credentials[{i}]"
        digest, credential = _credential(entry, where, max_items)
        if credential.credential_id in ids:
            raise CredentialsError(f"{where}: duplicate id {credential.credential_id!r}")
        if digest in by_digest:
            raise CredentialsError(f"{where}: token_sha256 already used by another credential")
        ids.add(credential.credential_id)
        by_digest[digest] = credential
    return Credentials(by_digest)


def _credential(entry: Any, where: str, max_items: int) -> tuple[str, Credential]:
    if not isinstance(entry, dict):
        raise CredentialsError(f"{where}: expected an object")
    _no_unknown(entry, _CREDENTIAL_KEYS, where)
    cid = entry.get("id")
    if not isinstance(cid, str) or not 0 < len(cid) <= 64 or not cid.isprintable():
        raise CredentialsError(f"{where}.id: expected 1-64 printable characters")
    digest = entry.get("token_sha256")
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
        raise CredentialsError(f"{where}.token_sha256: expected 64 lowercase hex digits")
    admin = entry.get("admin", False)
    if not isinstance(admin, bool):
        raise CredentialsError(f"{where}.admin: expected true or false")
    scopes = entry.get("scopes", [])
    if not isinstance(scopes, list):
        raise CredentialsError(f"{where}.scopes: expected a list")
    parsed = tuple(_scope(s, f"{where}.scopes[{j}]") for j, s in enumerate(scopes))
    rate = _rate(entry["rate"], f"{where}.rate", max_items) if "rate" in entry else None
    editor = entry.get("editor", [])
    if not isinstance(editor, list) or not all(isinstance(e, str) and e for e in editor):
        raise CredentialsError(f'{where}.editor: expected a list of election ids or "*"')
    return digest, Credential(cid, admin, parsed, rate, frozenset(editor))


def _scope(raw: Any, where: str) -> Scope:
    if not isinstance(raw, dict):
        raise CredentialsError(f"{where}: expected an object")
    _no_unknown(raw, _SCOPE_KEYS, where)
    election = raw.get("election_id")
    if not isinstance(election, str) or not election:
        raise CredentialsError(f'{where}.election_id: expected an election id or "*"')
    lists = {}
    for key in ("regions", "races", "precincts"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise CredentialsError(f"{where}.{key}: expected a list of ids")
        lists[key] = frozenset(value)
    return Scope(election, lists["regions"], lists["races"], lists["precincts"])


def _rate(raw: Any, where: str, max_items: int) -> RateOverride:
    if not isinstance(raw, dict):
        raise CredentialsError(f"{where}: expected an object")
    _no_unknown(raw, _RATE_KEYS, where)
    per_second, burst = raw.get("per_second"), raw.get("burst", max_items)
    for name, value in (("per_second", per_second), ("burst", burst)):
        if type(value) is not int or value < 0:
            raise CredentialsError(f"{where}.{name}: expected a non-negative integer")
    assert isinstance(per_second, int) and isinstance(burst, int)
    if per_second and burst < max_items:
        raise CredentialsError(f"{where}.burst: must be at least {max_items} (the batch limit)")
    return RateOverride(per_second, burst)


def _no_unknown(obj: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in obj if k not in allowed)
    if unknown:
        raise CredentialsError(f"{where}: unknown key(s) {', '.join(unknown)}")
