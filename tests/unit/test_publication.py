"""What an election publishes: only what was heard from, the same bytes in any order."""

from __future__ import annotations

import json
import random

from builders import result, small_definition
from votewire.core.codec import dumps
from votewire.core.publication import election_publications, published_channels
from votewire.core.tally import ElectionTally

from tests.support.night_log import kz_night, pure_views

E = "kz-test"


def test_nothing_heard_publishes_nothing() -> None:
    """A definition with no report yet: no channel at all (the live service says "empty")."""
    tally = ElectionTally(small_definition())
    assert election_publications(tally.definition, tally.views()["races"]) == []


def test_a_race_never_heard_from_has_no_view_but_a_line() -> None:
    """One race of region N reported: that race, its region, its race-list page and the
    nation publish; the other race of N and region S do not: N's page lists N2 as not
    reporting, S's page is not published."""
    tally = ElectionTally(small_definition())
    tally.apply(result("N1", "P1", {"A": 500, "B": 200}))
    out = {p.channel: p for p in election_publications(tally.definition, tally.views()["races"])}
    assert sorted(out) == [
        f"race:{E}:N1",
        f"races:{E}",
        f"races:{E}:N:0",
        f"region:{E}:N",
        f"summary:{E}",
        f"turnout:{E}",
        f"turnout:{E}:N",
    ]
    page = out[f"races:{E}:N:0"]
    lines = {line["race_id"]: line for line in json.loads(page.doc)["races"]}
    assert list(lines) == ["N1", "N2"]
    assert page.version == lines["N1"]["version"] == 1
    index = json.loads(out[f"races:{E}"].doc)
    assert [(g["group"], g["races"], g["pages"]) for g in index["groups"]] == [
        ("N", 2, 1),
        ("S", 1, 1),
    ]
    assert (lines["N2"]["status"], lines["N2"]["version"]) == ("not_reporting", 0)
    assert lines["N1"]["status"] == "counting"


def test_rollups_of_heard_races_equal_the_full_fold() -> None:
    """Region and national documents built from the races heard from are the tally's own
    views (unheard races count as empty), at the same versions."""
    definition, log = kz_night(0.05)
    views, tally = pure_views(definition, log, until_ms=_cut(log, 0.02))
    out = {p.channel: p for p in election_publications(definition, views["races"])}
    e = definition.election_id
    heard = [r for r in definition.races if views["races"][r.race_id]["version"] > 0]
    assert 0 < len(heard) < len(definition.races)  # the cut leaves some races unheard
    assert {c for c in out if c.startswith("race:")} == {f"race:{e}:{r.race_id}" for r in heard}
    for region in definition.regions:
        found = out.get(f"region:{e}:{region.region_id}")
        if any(r.region_id == region.region_id for r in heard):
            assert found is not None
            assert found.doc == dumps(views["regions"][region.region_id])
            assert found.version == views["regions"][region.region_id]["version"]
        else:
            assert found is None, region.region_id
    assert out[f"summary:{e}"].doc == dumps(tally.national_view())


def test_the_same_views_in_any_order_give_the_same_bytes() -> None:
    """The document set depends on the views, not on the order of the mapping."""
    definition, log = kz_night(0.05)
    views, _ = pure_views(definition, log)
    items = list(views["races"].items())
    random.Random(3).shuffle(items)
    assert election_publications(definition, dict(items)) == election_publications(
        definition, views["races"]
    )


def test_a_fully_heard_election_publishes_every_channel() -> None:
    """Every channel of `published_channels`, once each, when every race reported (each
    race's reporting units included)."""
    definition, log = kz_night(0.05)
    views, tally = pure_views(definition, log)
    units = {rid: s.unit_views(every=True) for rid, s in tally.races.items()}
    channels = [p.channel for p in election_publications(definition, views["races"], units)]
    assert sorted(channels) == sorted(published_channels(definition))


def _cut(log: object, fraction: float) -> int:
    """The delivery time by which `fraction` of the night's accepted reports arrived."""
    times = sorted(ms for ms, _ in log.accepted)  # type: ignore[attr-defined]
    return times[int(len(times) * fraction)]
