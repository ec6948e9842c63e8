"""One archive record and the SHA-256 hash chain that binds a file's records.

An archive file is gzip-compressed JSON lines, one record per line. A record
is the JSON object

    {"position": n, "partition": p, "offset": o, "timestamp": ms,
     "key": K, "value": V}

where `position` counts the file's records from 1 (record n is on line n of
an intact file), `partition`/`offset`/`timestamp` are Kafka's, and `key` and
`value` are the Kafka bytes: the UTF-8 text when the bytes are UTF-8 (every
record votewire writes), else `{"base64": "..."}`, and null for a missing key
or a tombstone. A record that has Kafka headers (a report names its sending
credential in one) also has `"headers": [[name, value], ...]`, in order,
each value encoded like `value`; a record without headers has no such
field, so an archive written before headers were kept reads and verifies
as it did. The *canonical bytes* of a record are `codec.dumps` of that
object (compact, keys sorted, UTF-8), so they do not depend on how the line
happens to be formatted.

The chain: `h_0 = genesis(file name)` and
`h_n = sha256(h_{n-1} || canonical bytes of record n)` (raw 32-byte digests
concatenated with the bytes). Each line carries its `h_n` as `"hash"` (hex).
Because `h_n` covers the position and the previous hash, editing a record
breaks its own link, deleting one leaves a gap in the positions, and
swapping two puts positions out of order; re-hashing everything after an
edit changes the file's head, which the manifest (and anyone who kept the
head) holds. The genesis is bound to the file name, so two files cannot be
swapped either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, NamedTuple

from votewire.core.codec import dumps
from votewire.replay.log_records import LogRecord

FORMAT = "votewire-archive"
FORMAT_VERSION = 1


class BadLine(ValueError):
    """A line that is not an archive record (not JSON, or fields missing or mistyped)."""


class ParsedLine(NamedTuple):
    """A line read back: the record, its position, the hash it carries, its canonical bytes."""

    position: int
    record: LogRecord
    stored_hash: bytes
    canonical: bytes
    """The canonical bytes, or (`as_written`) the bytes as they stand in the line."""
    as_written: bool = False


def genesis(name: str) -> bytes:
    """h_0 of the file called `name` (e.g. "reports.jsonl.gz")."""
    return hashlib.sha256(f"{FORMAT}/{FORMAT_VERSION}/{name}".encode()).digest()


def link(previous: bytes, canonical: bytes) -> bytes:
    """h_n from h_{n-1} and the canonical bytes of record n."""
    return hashlib.sha256(previous + canonical).digest()


def _bytes_field(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}


def _field_bytes(value: Any, name: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadLine(f"{name}: text that is not UTF-8") from None
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except binascii.Error:
            raise BadLine(f"{name}: not base64") from None
    raise BadLine(f"{name}: expected a string, {{'base64': ...}} or null")


def record_object(position: int, record: LogRecord) -> dict[str, Any]:
    """The JSON object of record `position` (without its hash)."""
    obj = {
        "position": position,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp_ms,
        "key": _bytes_field(record.key),
        "value": _bytes_field(record.value),
    }
    if record.headers:
        obj["headers"] = [[name, _bytes_field(value)] for name, value in record.headers]
    return obj


def _headers(value: Any) -> tuple[tuple[str, bytes], ...]:
    if not isinstance(value, list) or not value:
        raise BadLine("headers: expected a non-empty list of [name, value]")
    out = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise BadLine("headers: expected a non-empty list of [name, value]")
        raw = _field_bytes(item[1], "headers")
        out.append((item[0], raw if raw is not None else b""))
    return tuple(out)


def encode_line(position: int, record: LogRecord, previous: bytes) -> tuple[bytes, bytes]:
    """(the line to write, newline included; h_n) for record `position` after h_{n-1}."""
    canonical = dumps(record_object(position, record))
    digest = link(previous, canonical)
    # The hash goes first so a person reading the file sees it; readers re-canonicalize.
    return b'{"hash":"' + digest.hex().encode() + b'",' + canonical[1:] + b"\n", digest


_INT_FIELDS = ("position", "partition", "offset", "timestamp")
_HEAD = b'{"hash":"'
_HASH_END = len(_HEAD) + 64


def _as_written(line: bytes) -> tuple[bytes, bytes] | None:
    """(hex hash, canonical bytes) of a line laid out as `encode_line` writes it, else None.

    The fast path: the bytes after the hash are taken as the canonical bytes
    without re-encoding; the chain check proves they are (`chain_matches`)."""
    raw = line.rstrip(b"\r\n")
    if raw.startswith(_HEAD) and raw[_HASH_END : _HASH_END + 2] == b'",':
        return raw[len(_HEAD) : _HASH_END], b"{" + raw[_HASH_END + 2 :]
    return None


def decode_line(line: bytes) -> ParsedLine:
    """Parse one line; raises `BadLine` saying what is wrong with it."""
    written = _as_written(line)
    try:
        obj = json.loads(written[1] if written else line)
    except ValueError as exc:
        raise BadLine(f"not JSON: {str(exc)[:80]}") from None
    if not isinstance(obj, dict):
        raise BadLine("not a JSON object")
    stored = written[0].decode("ascii", "replace") if written else obj.pop("hash", None)
    try:
        digest = bytes.fromhex(stored) if isinstance(stored, str) else b""
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise BadLine("no 64-digit hex hash")
    if set(obj) - {"headers"} != {*_INT_FIELDS, "key", "value"}:
        raise BadLine(f"fields {sorted(obj)} are not those of a record")
    for name in _INT_FIELDS:
        if type(obj[name]) is not int:
            raise BadLine(f"{name}: not an integer")
    record = LogRecord(
        obj["partition"],
        obj["offset"],
        obj["timestamp"],
        _field_bytes(obj["key"], "key"),
        _field_bytes(obj["value"], "value"),
        headers=_headers(obj["headers"]) if "headers" in obj else (),
    )
    if written:
        return ParsedLine(obj["position"], record, digest, written[1], True)
    return ParsedLine(obj["position"], record, digest, _canonical(obj), False)


def _canonical(obj: dict[str, Any]) -> bytes:
    try:
        return dumps(obj)
    except UnicodeEncodeError:  # a lone surrogate escaped in the text: never written by us
        raise BadLine("text that is not UTF-8") from None


def chain_matches(previous: bytes, parsed: ParsedLine) -> bool:
    """Whether `parsed` is the record whose chain hash it carries, after h_{n-1} = `previous`.

    A line taken on the fast path is re-encoded before it is declared a
    mismatch, so a line re-formatted with its content intact still matches."""
    if link(previous, parsed.canonical) == parsed.stored_hash:
        return True
    if not parsed.as_written:
        return False
    try:
        canonical = _canonical(json.loads(parsed.canonical))
    except (ValueError, BadLine):
        return False
    return link(previous, canonical) == parsed.stored_hash
