"""The paged race list: an index of O(regions), pages of at most PAGE_SIZE lines."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from builders import definition_dict, one_region, small_definition
from votewire.core.codec import DefinitionError, decode_definition, dumps, loads
from votewire.core.models import ElectionDefinition
from votewire.core.race_pages import (
    PAGE_SIZE,
    SPANNING_GROUP,
    RacePages,
    group_races,
    groups,
    index_publication,
)
from votewire.core.race_state import RaceState
from votewire.core.scenario.national import national_definition

from tests.support.night_log import kz_night, pure_views


def heard_view(definition: ElectionDefinition, race_id: str, version: int) -> Any:
    """The race's empty view, as if `version` reports had changed it."""
    view = RaceState(definition, race_id).view()
    return {**view, "version": version, "status": "counting"}


def test_every_page_is_the_canonical_encoding_of_its_document() -> None:
    """Spliced page bytes equal `dumps` of the decoded page (sorted keys, compact), for
    every page of the kz-2021 night, heard and unheard lines mixed."""
    definition, log = kz_night(0.05)
    views, _ = pure_views(definition, log)
    items = list(views["races"].values())
    random.Random(5).shuffle(items)
    for g in groups(definition):
        pages = RacePages(definition, g)
        for view in items[: len(items) // 2]:
            if pages.page_of(view["race_id"]) is not None:
                pages.put(view)
        for p in pages.publications():
            assert dumps(loads(p.doc)) == p.doc


def test_pages_list_the_group_in_definition_order_at_most_page_size_each() -> None:
    """A region of 250 races: pages 0-2 of 100, 100 and 50 lines; together, the region's
    races in definition order; each page names its group, region, page and page count."""
    definition = one_region(250)
    pages = RacePages(definition, "N")
    docs = [json.loads(p.doc) for p in pages.publications()]
    assert [len(d["races"]) for d in docs] == [100, 100, 50]
    ids = [line["race_id"] for d in docs for line in d["races"]]
    assert ids == [r.race_id for r in definition.races]
    assert [(d["group"], d["region_id"], d["page"], d["pages"]) for d in docs] == [
        ("N", "N", p, 3) for p in range(3)
    ]
    assert {(line["status"], line["version"]) for d in docs for line in d["races"]} == {
        ("not_reporting", 0)
    }


def test_a_page_version_is_the_sum_of_its_lines_and_a_put_touches_one_page() -> None:
    """`put` answers the race's page; only that page's version moves, by the line's
    change; `heard` lists the pages with a race heard from."""
    definition = one_region(250)
    pages = RacePages(definition, "N")
    assert pages.put(heard_view(definition, "R00150", 3)) == 1
    assert pages.put(heard_view(definition, "R00199", 2)) == 1
    assert [pages.version(p) for p in range(3)] == [0, 5, 0]
    assert pages.put(heard_view(definition, "R00150", 4)) == 1
    assert [pages.version(p) for p in range(3)] == [0, 6, 0]
    assert pages.heard() == [1]
    assert pages.publication(1).version == 6
    with pytest.raises(ValueError):
        RacePages(definition, "N").put({**heard_view(definition, "R00001", 1), "race_id": "X"})


def test_neither_the_index_nor_a_page_grows_with_the_races_of_a_region() -> None:
    """1 region x 5,000 races against 1 x 200: the index differs by the digits of its
    counts only, and the largest page holds PAGE_SIZE lines, of the same size."""
    small, big = one_region(200), one_region(5000)
    assert len(index_publication(big, 7).doc) - len(index_publication(small, 7).doc) <= 4
    for definition in (small, big):
        pages = RacePages(definition, "N")
        for race in definition.races:
            pages.put(heard_view(definition, race.race_id, 99))
        docs = pages.publications()
        assert max(len(json.loads(d.doc)["races"]) for d in docs) == PAGE_SIZE
    sizes = {
        len(definition.races): max(len(p.doc) for p in RacePages(definition, "N").publications())
        for definition in (small, big)
    }
    assert sizes[5000] <= sizes[200] + 8  # the page number's digits


def test_the_index_lists_the_spanning_group_first_then_every_region() -> None:
    """A national definition: group "-" (the president, region null) first, then each
    region in definition order with its races and page counts."""
    definition = national_definition(60, 3, seed=1)
    index = json.loads(index_publication(definition, 12).doc)
    assert index["version"] == 12 and index["page_size"] == PAGE_SIZE
    assert index["races_total"] == len(definition.races)
    first, *regions = index["groups"]
    assert (first["group"], first["region_id"]) == (SPANNING_GROUP, None)
    assert first["races"] == len(definition.spanning())
    assert [g["region_id"] for g in regions] == [r.region_id for r in definition.regions]
    for g in regions:
        assert g["group"] == g["region_id"]
        assert g["races"] == len(group_races(definition, g["group"]))
        assert g["pages"] == -(-g["races"] // PAGE_SIZE)


def test_no_region_id_can_be_the_spanning_group() -> None:
    """The definition decoder refuses the spanning group's token as a region id, so a page
    channel `races:E:-:P` names the races spanning regions only."""
    with pytest.raises(DefinitionError, match="reserved"):
        decode_definition(
            definition_dict(regions=[{"region_id": "-", "name": "Dash", "timezone": None}])
        )
    assert SPANNING_GROUP not in groups(small_definition())
