"""docs/contract.md's examples are what the code produces: its definition decodes, and
its race, region and national views and its race-list index and page are the fold of
its two example reports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from votewire.core.codec import decode_definition, decode_report_trusted, encode_definition
from votewire.core.publication import tally_publications
from votewire.core.tally import ElectionTally

DOC = Path(__file__).resolve().parents[2] / "docs" / "contract.md"


def _blocks() -> list[Any]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", DOC.read_text(), re.S)]


def test_the_documented_definition_and_views_are_the_codes_own() -> None:
    """Decode the example definition, fold the example reports: the documented views."""
    blocks = _blocks()
    definition = decode_definition(blocks[0])
    assert encode_definition(definition) == blocks[0]
    tally = ElectionTally(definition)
    for block in blocks:
        if isinstance(block, dict) and block.get("kind") in ("turnout", "result"):
            tally.apply(decode_report_trusted(block))
    views = tally.views()
    race, region, national = (
        next(b for b in blocks if isinstance(b, dict) and test(b))
        for test in (
            lambda b: "candidates" in b and "status" in b,
            lambda b: "races_total" in b and "region_id" in b,
            lambda b: "regions_total" in b,
        )
    )
    assert race == views["races"][race["race_id"]]
    assert region == views["regions"][region["region_id"]]
    assert national == views["national"]


def test_the_documented_race_list_index_and_page_are_the_codes_own() -> None:
    """The race-list index and page examples are what the example reports publish."""
    blocks = _blocks()
    definition = decode_definition(blocks[0])
    tally = ElectionTally(definition)
    for block in blocks:
        if isinstance(block, dict) and block.get("kind") in ("turnout", "result"):
            tally.apply(decode_report_trusted(block))
    docs = {p.channel: json.loads(p.doc) for p in tally_publications(tally)}
    index = next(b for b in blocks if isinstance(b, dict) and "groups" in b)
    page = next(b for b in blocks if isinstance(b, dict) and "page" in b and "races" in b)
    e = definition.election_id
    assert index == docs[f"races:{e}"]
    assert page == docs[f"races:{e}:{page['group']}:{page['page']}"]
