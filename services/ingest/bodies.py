"""Request bodies -> items: one JSON report, a JSON array of reports, or NDJSON.

`parse_body` never raises anything but `BodyError` (a whole-request refusal
with its HTTP status). Per-item trouble stays per item: an NDJSON line that
is not JSON becomes an `Item` with `error` set, answered and dead-lettered
as `malformed_json` like any other rejected report, while its neighbours go
through. A JSON body that does not parse (nesting deeper than
`codec.MAX_DEPTH` included) has no items at all: the whole request is
refused (400). A body with no report (empty, JSON whitespace only, `[]`,
NDJSON without a line) is `empty_batch`.

Each item keeps the text it came from (`raw`: the NDJSON line or the whole
single-report body) for the dead-letter record; array elements have no text
of their own and are re-serialised on demand (`raw_text`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from votewire.core.codec import MalformedJson, loads_untrusted

JSON = "application/json"
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})
JSON_WHITESPACE = " \t\r\n"
"""What JSON (RFC 8259) calls whitespace. A line of anything else, control
characters that `str.strip` would also remove included, is an item to answer."""


class BodyError(Exception):
    """The request as a whole cannot be read: HTTP `status`, stable `code`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Item:
    """One report as received: its parsed JSON `value`, or the parse `error`."""

    value: Any
    raw: str | None = None
    error: str | None = None

    def raw_text(self) -> str:
        """The text this item came from (array elements: re-serialised)."""
        if self.raw is not None:
            return self.raw
        try:
            return json.dumps(self.value, ensure_ascii=False)
        except ValueError:  # e.g. a circular structure no parser produces
            return repr(self.value)[:1000]


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`; absent -> JSON."""
    if not content_type:
        return JSON
    return content_type.split(";", 1)[0].strip().lower()


def parse_json_text(text: str) -> tuple[Any, str | None]:
    """(value, None), or (None, why it is not JSON: too deep included, `codec.MAX_DEPTH`)."""
    try:
        return loads_untrusted(text), None
    except MalformedJson as exc:
        return None, f"not valid JSON: {exc}"


def parse_ndjson_lines(lines: Iterable[bytes | str]) -> list[Item]:
    """One item per non-blank line; undecodable or unparsable lines carry `error`."""
    items = []
    for line in lines:
        if isinstance(line, bytes):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                shown = line.decode("utf-8", "backslashreplace")
                items.append(Item(None, shown, f"not UTF-8: {exc.reason}"))
                continue
        else:
            text = line
        text = text.strip(JSON_WHITESPACE)
        if not text:
            continue
        value, error = parse_json_text(text)
        items.append(Item(value, text, error))
    return items


def parse_body(body: bytes, content_type: str | None, max_items: int) -> list[Item]:
    """The items of a request body. Raises `BodyError` for 400/413/415."""
    kind = media_type(content_type)
    if kind in NDJSON_TYPES:
        blank = JSON_WHITESPACE.encode()
        lines = [line for line in body.split(b"\n") if line.strip(blank)]
        _check_count(len(lines), max_items)
        return parse_ndjson_lines(lines)
    if kind != JSON and not kind.endswith("+json"):
        raise BodyError(415, "unsupported_media_type", f"send {JSON} or application/x-ndjson")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, "malformed_json", f"body is not UTF-8: {exc.reason}") from None
    if not text.strip(JSON_WHITESPACE):
        _check_count(0, max_items)
    value, error = parse_json_text(text)
    if error is not None:
        raise BodyError(400, "malformed_json", error)
    if isinstance(value, list):
        _check_count(len(value), max_items)
        return [Item(v) for v in value]
    return [Item(value, text.strip())]


def _check_count(count: int, max_items: int) -> None:
    if count == 0:
        raise BodyError(400, "empty_batch", "the request carries no report")
    if count > max_items:
        raise BodyError(413, "too_many_items", f"at most {max_items} reports per request")
