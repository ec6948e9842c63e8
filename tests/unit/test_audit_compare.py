"""`votewire audit`'s comparison: every difference, and nothing that is not one."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from votewire.cli import main
from votewire.config import REPO_ROOT
from votewire.core.tally import ElectionTally
from votewire.replay.audit_compare import Difference, ViewSet, compare, flatten
from votewire.replay.audit_sources import BadSource, parse_source, tally_views
from votewire.replay.published_tables import figure_path, read_tables

from tests.support.night_log import kz_night, pure_views, write_archive

REGIONS_CSV = REPO_ROOT / "services" / "core" / "scenario" / "data" / "regions.csv"
NATIONAL_CSV = REPO_ROOT / "tests" / "fixtures" / "kz2021-national.csv"
PUBLISHED = [
    Difference(
        "national",
        None,
        "registered",
        1_209_818,
        1_209_817,
        "Kazakhstan: direct elections of rural akims, 25 July 2021",
    ),
    Difference(
        "region", "east_kazakhstan", "turnout_pct", "90.89", "90.88", "East Kazakhstan Region"
    ),
]


def night_views() -> tuple[ViewSet, ElectionTally]:
    definition, log = kz_night(0.05)
    _, tally = pure_views(definition, log)
    return tally_views("engine", tally), tally


def test_the_simulated_night_differs_from_the_published_tables_exactly_where_they_err() -> None:
    """Against regions.csv + the national figures: East Kazakhstan's 90.88 vs 90.89, and
    the national 1,209,817 vs the regions' 1,209,818, and nothing else."""
    views, _ = night_views()
    tables = read_tables([REGIONS_CSV, NATIONAL_CSV], "kz-2021-rural-akims", "csv")
    assert len(tables.regions) == 14
    assert compare(views, tables) == PUBLISHED


def test_the_table_side_may_be_on_the_left() -> None:
    """Swapping the sides swaps left and right, nothing more."""
    views, _ = night_views()
    tables = read_tables([REGIONS_CSV, NATIONAL_CSV], "kz-2021-rural-akims", "csv")
    swapped = compare(tables, views)
    assert [(d.field, d.left, d.right) for d in swapped] == [
        (d.field, d.right, d.left) for d in PUBLISHED
    ]


def test_the_command_audits_an_archive_against_the_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`audit archive:DIR csv:...` exits 1 with exactly the two published discrepancies,
    and lists the anomalies of the archive's log."""
    definition, log = kz_night(0.05)
    write_archive(tmp_path / "a", log)
    status = main(
        ["audit", f"archive:{tmp_path / 'a'}", f"csv:{REGIONS_CSV},{NATIONAL_CSV}", "--json"]
    )
    assert status == 1
    doc = json.loads(capsys.readouterr().out)
    assert [(d["scope"], d["id"], d["field"]) for d in doc["differences"]] == [
        ("national", None, "registered"),
        ("region", "east_kazakhstan", "turnout_pct"),
    ]
    counts = doc["anomalies"]["counts"]
    _, tally = pure_views(definition, log)
    assert counts["duplicates"] == tally.counters["duplicate"]
    assert counts["stale"] == tally.counters["stale"]
    ours = [x for x in log.dead_letters if json.loads(x.value or b"{}").get("election_id")
            == definition.election_id]  # fmt: skip
    assert 0 < counts["rejected"] == len(ours) < len(log.dead_letters)


def test_identical_views_have_no_difference() -> None:
    """A view set compared with a copy of itself: nothing to report."""
    views, _ = night_views()
    assert compare(views, copy.deepcopy(views)) == []


def test_one_changed_figure_is_one_difference() -> None:
    """A candidate's votes changed in one race: one difference, at that race and path."""
    views, _ = night_views()
    other = copy.deepcopy(views)
    race = next(iter(other.races))
    candidate = other.races[race]["candidates"][0]
    candidate["votes"] += 1
    found = compare(views, other)
    path = f"candidates.{candidate['candidate_id']}.votes"
    assert [(d.scope, d.id, d.field) for d in found] == [("race", race, path)]


def test_versions_are_not_figures() -> None:
    """Views that differ only in `version` (arrival order) agree."""
    views, _ = night_views()
    other = copy.deepcopy(views)
    assert other.national is not None
    other.national["version"] += 5
    assert compare(views, other) == []


def test_a_view_missing_on_one_side() -> None:
    """A race published on one side only: a `(view)` difference if it has content."""
    views, _ = night_views()
    other = copy.deepcopy(views)
    race = next(iter(other.races))
    del other.races[race]
    assert [(d.id, d.field, d.right) for d in compare(views, other)] == [
        (race, "(view)", "(absent)")
    ]
    views.races[race]["version"] = 0  # never reported: nothing was published to miss
    assert compare(views, other) == []


def test_flatten_keys_lists_by_id() -> None:
    """Figures are addressed by id: candidates, parties, marks; plus seats_total."""
    _, tally = night_views()
    region = flatten(tally.region_view("akmola"))
    assert (
        region["turnout_by_mark.12:00.ballots_cast"]
        == tally.region_view("akmola")["turnout_by_mark"][1]["ballots_cast"]
    )
    assert region["seats_by_party.nur_otan.seats"] == 74
    assert region["seats_total"] == 95
    assert "version" not in region


def test_table_columns_map_to_view_paths() -> None:
    """The published tables' column names map onto the views' figures."""
    assert figure_path("registered_voters") == "registered"
    assert figure_path("turnout_pct_published") == "turnout_pct"
    assert figure_path("akims_nur_otan") == "seats_by_party.nur_otan.seats"
    assert figure_path("akims_elected") == "seats_total"
    assert figure_path("region_name") is None
    assert figure_path("against_all.votes") == "against_all.votes"


def test_tables_read_thousands_and_comments(tmp_path: Path) -> None:
    """Comment lines are skipped; "1,209,817" is an integer, "90,88" stays text."""
    path = tmp_path / "t.csv"
    path.write_text(
        '# source: somewhere\nregion_id,registered,turnout_pct\nx,"1,209,817","90,88"\n',
        encoding="utf-8",
    )
    table = read_tables([path], "e", "csv")
    assert table.regions == {"x": {"registered": 1_209_817, "turnout_pct": "90,88"}}


def test_sources_parse() -> None:
    """The documented source forms parse; anything else is refused."""
    assert parse_source("redis").arg == ""
    assert parse_source("redis:vw2").arg == "vw2"
    assert parse_source("replay:night").kind == "replay"
    assert parse_source("csv:a.csv,b.csv").paths() == [Path("a.csv"), Path("b.csv")]
    with pytest.raises(BadSource):
        parse_source("archive")
    with pytest.raises(BadSource):
        parse_source("ftp:x")
