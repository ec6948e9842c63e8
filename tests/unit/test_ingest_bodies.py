"""Reading request bodies (JSON, JSON array, NDJSON) into items (pure)."""

from __future__ import annotations

import json

import pytest
from votewire.core.codec import MAX_DEPTH
from votewire.ingest.bodies import BodyError, Item, media_type, parse_body, parse_ndjson_lines
from votewire.ingest.openapi import REQUEST_CODES


def test_a_single_object_is_one_item_keeping_its_text() -> None:
    """A JSON object body is one item; its raw text is the body."""
    [item] = parse_body(b' {"a": 1}\n', "application/json", 10)
    assert item == Item({"a": 1}, '{"a": 1}')


def test_an_array_is_one_item_per_element() -> None:
    """Array elements become items, re-serialised on demand for dead letters."""
    items = parse_body(b'[{"a": 1}, 2, "x"]', None, 10)
    assert [i.value for i in items] == [{"a": 1}, 2, "x"]
    assert json.loads(items[0].raw_text()) == {"a": 1}


def test_ndjson_lines_are_items_and_a_bad_line_is_only_that_item() -> None:
    """A line that is not JSON is an item with an error; blank lines are skipped."""
    body = b'{"a": 1}\n\n  \nnot json\n{"b": 2}\r\n\xff\xfe\n'
    items = parse_body(body, "application/x-ndjson; charset=utf-8", 10)
    assert [i.value for i in items] == [{"a": 1}, None, {"b": 2}, None]
    assert items[1].error and "not valid JSON" in items[1].error and items[1].raw == "not json"
    assert items[3].error and "not UTF-8" in items[3].error
    assert items[3].raw == "\\xff\\xfe"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{", "application/json", 400, "malformed_json"),
        (b"\xff", "application/json", 400, "malformed_json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "malformed_json"),
        (b"[]", "application/json", 400, "empty_batch"),
        (b"", "application/json", 400, "empty_batch"),
        (b" \r\n\t", None, 400, "empty_batch"),
        (b"", "application/x-ndjson", 400, "empty_batch"),
        (b"\n \n", "application/x-ndjson", 400, "empty_batch"),
        (b"[" + b"1," * 10 + b"1]", "application/json", 413, "too_many_items"),
        (b"1\n" * 11, "application/x-ndjson", 413, "too_many_items"),
        (b"{}", "text/plain", 415, "unsupported_media_type"),
        (b"{}", "multipart/form-data; boundary=x", 415, "unsupported_media_type"),
    ],
)
def test_whole_body_refusals(body: bytes, content_type: str, status: int, code: str) -> None:
    """Bodies that cannot be read as reports are refused with a documented code."""
    with pytest.raises(BodyError) as caught:
        parse_body(body, content_type, 10)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert code in REQUEST_CODES


def test_a_body_nested_too_deep_is_malformed_json_in_plain_words() -> None:
    """100,000 levels (the C parser's RecursionError) and 65 levels (parsed, then counted)
    get the same answer, naming the limit; nothing of Python's internals."""
    for depth in (100_000, MAX_DEPTH + 1):
        with pytest.raises(BodyError) as caught:
            parse_body(b"[" * depth + b"]" * depth, "application/json", 10)
        assert caught.value.code == "malformed_json"
        why = f"not valid JSON: nested deeper than {MAX_DEPTH} arrays/objects"
        assert caught.value.message == why
    [line] = parse_ndjson_lines([b'{"a":' * 70 + b"1" + b"}" * 70])
    assert line.error is not None and "nested deeper" in line.error
    [deepest] = parse_body(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, None, 10)  # at the limit: read
    assert isinstance(deepest.value, list)


def test_huge_integers_and_nan_parse_without_crashing() -> None:
    """Values validation will refuse still parse; integers too long for Python are errors."""
    [nan] = parse_body(b'{"x": NaN}', "application/json", 10)
    assert nan.value["x"] != nan.value["x"]
    [huge] = parse_ndjson_lines([b'{"x": ' + b"9" * 5000 + b"}"])
    assert huge.error is not None


def test_media_type_defaults_to_json_and_ignores_parameters() -> None:
    """No Content-Type means JSON; parameters and case do not matter; +json is JSON."""
    assert media_type(None) == "application/json"
    assert media_type("Application/X-NDJSON; charset=utf-8") == "application/x-ndjson"
    assert parse_body(b"{}", "application/vnd.votewire+json", 10)[0].value == {}


@pytest.mark.parametrize("junk", [b"\x1c", b"\x0c", b"\x1f  "])
def test_a_line_of_control_characters_is_an_item_answered_not_a_blank_line(junk: bytes) -> None:
    """Only JSON whitespace makes a line blank; str.strip would also drop these (found by
    the ingest fuzz test: the sender got no answer for the line)."""
    items = parse_body(junk + b"\n \t\r\n" + b'{"a": 1}', "application/x-ndjson", 10)
    assert [item.error is not None for item in items] == [True, False]
