"""Time travel: the views as they stood at a time are the fold of what was delivered by then."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from votewire.cli import main
from votewire.core.models import ElectionDefinition
from votewire.replay.archive_fold import fold_archive
from votewire.replay.archive_reader import Archive
from votewire.replay.as_of import BadTime, Window, parse_time, window_of
from votewire.replay.log_fold import LogFold

from tests.support.night_log import NightLog, jsonable, kz_night, pure_views, write_archive


def night() -> tuple[ElectionDefinition, NightLog]:
    return kz_night(0.05)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("as-of") / "archive"
    write_archive(directory, night()[1])
    return directory


def test_times_need_an_offset() -> None:
    """ISO 8601 with an offset (or Z) parses to epoch ms; a naive time is refused."""
    assert parse_time("2021-07-25T21:00+06:00") == parse_time("2021-07-25T15:00:00Z")
    assert parse_time("2021-07-25T15:00:00.250Z") == 1_627_225_200_250
    with pytest.raises(BadTime, match="no UTC offset"):
        parse_time("2021-07-25T21:00")
    with pytest.raises(BadTime, match="not an ISO 8601"):
        parse_time("9 pm")


def test_the_window_is_inclusive() -> None:
    """A record delivered exactly at --as-of counts; --from after --until is refused."""
    window = window_of("2021-07-25T10:00Z", "2021-07-25T11:00Z")
    assert window.contains(parse_time("2021-07-25T10:00Z"))
    assert window.contains(parse_time("2021-07-25T11:00Z"))
    assert not window.contains(parse_time("2021-07-25T11:00:00.001Z"))
    assert not window.contains(parse_time("2021-07-25T09:59:59.999Z"))
    with pytest.raises(BadTime):
        window_of("2021-07-25T12:00Z", "2021-07-25T11:00Z")


@pytest.mark.parametrize(
    "as_of",
    [
        "2021-07-25T12:00+06:00",
        "2021-07-25T20:00+06:00",
        "2021-07-25T21:00+06:00",
        "2021-07-26T02:30+06:00",
    ],
)
def test_as_of_views_equal_the_pure_fold_of_what_was_delivered(archive: Path, as_of: str) -> None:
    """At each cut, the archive's as-of views equal the engine's fold of the reports
    delivered by then (versions included): the figures the public saw at that time."""
    definition, log = night()
    cut = parse_time(as_of)
    expected, _ = pure_views(definition, log, until_ms=cut)
    folded = fold_archive(Archive(archive), window=Window(end_ms=cut))
    assert folded.tallies[definition.election_id].views() == expected
    assert folded.skipped["outside_window"] == sum(1 for ms, _ in log.accepted if ms > cut)


def test_the_cut_changes_the_views() -> None:
    """Sanity: the night is not all in by 21:00, so the 21:00 views differ from the final ones."""
    definition, log = night()
    at_nine, _ = pure_views(definition, log, until_ms=parse_time("2021-07-25T21:00+06:00"))
    final, _ = pure_views(definition, log)
    assert at_nine["national"]["precincts_reporting"] < final["national"]["precincts_reporting"]
    assert at_nine["national"]["turnout_by_mark"][0] == final["national"]["turnout_by_mark"][0]


def test_the_order_of_partitions_does_not_matter() -> None:
    """Partitions read in any order (each in offset order) give the delivery-order views,
    versions included: every race lives in one partition."""
    definition, log = night()
    fold = LogFold({definition.election_id: definition})
    fold.offer_all(sorted(log.reports, key=lambda r: (-r.partition, r.offset)))
    expected, _ = pure_views(definition, log)
    assert fold.tallies[definition.election_id].views() == expected


def test_tally_as_of_on_the_command_line(archive: Path) -> None:
    """`votewire tally ARCHIVE --as-of T --json` prints the as-of views and the window."""
    definition, log = night()
    buf = io.StringIO()
    with redirect_stdout(buf):
        status = main(["tally", str(archive), "--as-of", "2021-07-25T21:00+06:00", "--json"])
    assert status == 0
    doc = json.loads(buf.getvalue())
    expected, _ = pure_views(definition, log, until_ms=parse_time("2021-07-25T21:00+06:00"))
    assert doc["national"] == jsonable(expected["national"])
    assert doc["archive"]["window"]["until"] == "2021-07-25T15:00:00+00:00"
