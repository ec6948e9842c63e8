"""A loaded election's opening: zero-count region and national views at version 0."""

from __future__ import annotations

import json

from builders import definition_dict, result, small_definition
from votewire.core.definition_decoder import decode_definition
from votewire.core.publication import election_publications, opening_publications
from votewire.core.rollup import national_view, region_view
from votewire.core.tally import ElectionTally
from votewire.infra.memory_views import MemoryViews

E = "kz-test"


def test_the_opening_is_every_region_and_the_nation_at_zero() -> None:
    """Regions' two documents, the race-list pages and the national three, all version 0,
    zero counts, every precinct in `precincts_total`, every race a not_reporting line on
    its page; no race documents."""
    definition = small_definition()
    out = {p.channel: p for p in opening_publications(definition)}
    assert sorted(out) == sorted(
        [f"summary:{E}", f"turnout:{E}", f"races:{E}", f"races:{E}:N:0", f"races:{E}:S:0"]
        + [f"{kind}:{E}:{g}" for g in ("N", "S") for kind in ("region", "turnout")]
    )
    assert {p.version for p in out.values()} == {0}
    summary = json.loads(out[f"summary:{E}"].doc)
    total = sum(len(r.precincts) for r in definition.races)
    assert (summary["precincts_reporting"], summary["precincts_total"]) == (0, total)
    assert summary["ballots_cast"] == 0 and summary["name"] == definition.name
    lines = [line for g in ("N", "S") for line in json.loads(out[f"races:{E}:{g}:0"].doc)["races"]]
    assert [line["race_id"] for line in lines] == [r.race_id for r in definition.races]
    assert {(line["status"], line["version"]) for line in lines} == {("not_reporting", 0)}


def test_the_opening_equals_the_folds_of_empty_race_views() -> None:
    """The documents are the rollups of the empty race views (one builder, no second copy),
    and equal definitions give equal bytes."""
    definition = small_definition()
    empty = ElectionTally(definition).views()["races"]
    regions = [
        region_view(
            definition, g.region_id, [empty[r.race_id] for r in definition.races_in(g.region_id)]
        )
        for g in definition.regions
    ]
    out = {p.channel: json.loads(p.doc) for p in opening_publications(definition)}
    assert out[f"region:{E}:N"] == regions[0]
    assert out[f"summary:{E}"] == national_view(definition, regions)
    assert opening_publications(definition) == opening_publications(small_definition())


async def test_a_real_view_replaces_the_opening_and_is_never_replaced_by_it() -> None:
    """Stored with the views store's conditional write: the opening lands where nothing
    is, the first real view (version >= 1) replaces it, a re-sent opening changes nothing."""
    definition = small_definition()
    store = MemoryViews()
    for p in opening_publications(definition):
        assert await store.put_view(*p) is not None
    tally = ElectionTally(definition)
    tally.apply(result("N1", "P1", {"A": 500, "B": 200}))
    for p in election_publications(definition, tally.views()["races"]):
        assert await store.put_view(*p) is not None
    for p in opening_publications(definition):
        assert await store.put_view(*p) is None  # skipped: a view (real or opening) is there
    summary = await store.get_view(f"summary:{E}")
    assert summary is not None and json.loads(summary.doc)["precincts_reporting"] == 1
    south = await store.get_view(f"region:{E}:S")
    assert south is not None and south.version == 0  # never heard from: still the opening


def _corrected() -> dict:
    """`small_definition` with a precinct more in S1 (a correction of the South region)."""
    found = definition_dict()
    found["races"][2]["precincts"].append({"precinct_id": "P2", "name": "P2", "registered": 700})
    return found


async def test_a_corrected_definition_s_opening_replaces_the_first_opening() -> None:
    """Before any report, the opening of a corrected definition is written over the first
    (where its bytes differ: summary, region S), and the same opening again is skipped."""
    store = MemoryViews()
    for p in opening_publications(small_definition()):
        await store.put_view(*p)
    corrected = decode_definition(_corrected())
    written = {p.channel for p in opening_publications(corrected) if await store.put_view(*p)}
    assert {f"summary:{E}", f"region:{E}:S", f"turnout:{E}:S"} <= written
    assert f"region:{E}:N" not in written  # equal bytes: nothing to replace
    summary = await store.get_view(f"summary:{E}")
    assert summary is not None and (summary.version, summary.seq) == (0, 2)
    assert json.loads(summary.doc)["precincts_total"] == 5
    assert [await store.put_view(*p) for p in opening_publications(corrected)] == [None] * len(
        opening_publications(corrected)
    )


async def test_after_a_report_a_corrected_opening_rewrites_only_the_silent_views() -> None:
    """A real view is never replaced by an opening; a region never heard from is."""
    definition = small_definition()
    store = MemoryViews()
    for p in opening_publications(definition):
        await store.put_view(*p)
    tally = ElectionTally(definition)
    tally.apply(result("N1", "P1", {"A": 500, "B": 200}))
    for p in election_publications(definition, tally.views()["races"]):
        await store.put_view(*p)
    for p in opening_publications(decode_definition(_corrected())):
        await store.put_view(*p)
    summary = await store.get_view(f"summary:{E}")
    assert summary is not None and summary.version >= 1
    assert json.loads(summary.doc)["precincts_reporting"] == 1
    south = await store.get_view(f"region:{E}:S")
    assert south is not None and south.version == 0
    assert json.loads(south.doc)["precincts_total"] == 2
