"""Replay and archive against the real stack: the simulated night on Kafka, folded back.

One isolated deployment per module: the kz-2021 night with 5 % of every
fault is produced to its own topics as ingest would have (accepted reports
keyed "<election>/<race>" in delivery order, refused ones as dead letters,
the definition on its topic), each record stamped with its delivery time.
Then `votewire replay` into a namespace, and `archive export` + offline
`tally`, must both equal the pure engine's fold, race by race.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from votewire.cli import main
from votewire.config import REPO_ROOT, Settings
from votewire.core.codec import dumps, encode_definition, loads
from votewire.core.publication import published_channels
from votewire.infra.redis_views import RedisViews
from votewire.replay.archive_export import export
from votewire.replay.archive_verify import verify_archive
from votewire.replay.as_of import Window, parse_time
from votewire.replay.replay_command import replay
from votewire.replay.replay_store import namespace_prefix
from votewire.replay.view_channels import view_channels

from tests.support.log_producer import drop_keys, produce_night
from tests.support.night_log import jsonable, kz_night, pure_views
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.integration

ELECTION = "kz-2021-rural-akims"


@pytest.fixture(scope="module")
def deployment() -> Iterator[tuple[dict[str, str], Settings]]:
    """An isolated deployment whose topics hold the faulty kz-2021 night."""
    env = isolated_env("replay")
    settings = settings_for(env)
    asyncio.run(produce_night(settings, kz_night(0.05)[1]))
    yield env, settings
    asyncio.run(drop_keys(settings))


async def _namespace_views(settings: Settings, name: str) -> dict[str, Any]:
    """Every stored view of the namespace, by channel: (version, decoded document)."""
    definition, _ = kz_night(0.05)
    client = aioredis.from_url(settings.redis_url)
    try:
        store = RedisViews(client, namespace_prefix(settings.redis_prefix, name))
        channels = [channel for _, _, channel in view_channels(definition)]
        stored = await store.get_views(channels)
        return {c: (view.version, loads(view.doc)) for c, view in stored.items()}
    finally:
        await client.aclose()


def _assert_equal_to_engine(stored: dict[str, Any], until_ms: int | None = None) -> None:
    definition, log = kz_night(0.05)
    views, _ = pure_views(definition, log, until_ms)
    expected = jsonable(views)
    e = definition.election_id
    for race in definition.races:
        channel = f"race:{e}:{race.race_id}"
        if expected["races"][race.race_id]["version"] == 0:
            assert channel not in stored  # not heard from by the cut: no view, as live
            continue
        version, doc = stored[channel]
        assert doc == expected["races"][race.race_id], race.race_id
        assert version == doc["version"]
    for region in definition.regions:
        _, doc = stored[f"region:{e}:{region.region_id}"]
        assert doc == expected["regions"][region.region_id], region.region_id
    assert stored[f"summary:{e}"][1] == expected["national"]


async def test_replay_equals_the_pure_fold_race_by_race(
    deployment: tuple[dict[str, str], Settings],
) -> None:
    """`replay` of the whole topic into a namespace: every race, region and the nation
    equal the engine's fold of the accepted reports, versions included."""
    _, settings = deployment
    summary = await replay(settings, namespace="full", window=Window())
    definition, log = kz_night(0.05)
    assert summary["records"] == summary["folded"] == len(log.accepted)
    assert summary["skipped"] == {}
    # every channel: each race and its reporting unit, each region's two, the nation's three
    assert summary["views_written"] == len(list(published_channels(definition)))
    _assert_equal_to_engine(await _namespace_views(settings, "full"))


async def test_replay_as_of_nine_pm(deployment: tuple[dict[str, str], Settings]) -> None:
    """`replay --as-of 21:00+06:00`: the views as they stood then, from Kafka timestamps."""
    _, settings = deployment
    cut = parse_time("2021-07-25T21:00+06:00")
    summary = await replay(settings, namespace="nine-pm", window=Window(end_ms=cut))
    assert summary["skipped"]["outside_window"] > 0
    _assert_equal_to_engine(await _namespace_views(settings, "nine-pm"), until_ms=cut)


async def _live_snapshot(settings: Settings) -> dict[bytes, bytes | None]:
    client = aioredis.from_url(settings.redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{settings.redis_prefix}:*")]
        return {k: await client.dump(k) for k in sorted(keys)}
    finally:
        await client.aclose()


async def test_replay_leaves_the_live_views_alone(
    deployment: tuple[dict[str, str], Settings],
) -> None:
    """The live prefix's keys are byte-identical before and after a replay, and the
    namespace is written under its own prefix."""
    _, settings = deployment
    client = aioredis.from_url(settings.redis_url)
    try:
        live = RedisViews(client, settings.redis_prefix)
        await live.put_view(f"summary:{ELECTION}", 3, b'{"live":true}')
        await live.put_view(f"race:{ELECTION}:akmola-r001", 1, b'{"live":true}')
    finally:
        await client.aclose()
    before = await _live_snapshot(settings)
    assert len(before) >= 5  # two views, two feeds, the epoch
    await replay(settings, namespace="isolation", window=Window())
    assert await _live_snapshot(settings) == before
    views = await _namespace_views(settings, "isolation")
    assert views[f"summary:{ELECTION}"][1] != {"live": True}


async def test_a_replay_replaces_its_namespace(
    deployment: tuple[dict[str, str], Settings],
) -> None:
    """Replaying the whole night over an earlier 12:00 replay leaves the whole night."""
    _, settings = deployment
    early = Window(end_ms=parse_time("2021-07-25T12:00+06:00"))
    await replay(settings, namespace="again", window=early)
    await replay(settings, namespace="again", window=Window())
    _assert_equal_to_engine(await _namespace_views(settings, "again"))


async def test_export_then_offline_tally_equals_the_pure_fold(
    deployment: tuple[dict[str, str], Settings], tmp_path: Path
) -> None:
    """`archive export` of the topics verifies, and `tally ARCHIVE` (no Kafka, no Redis)
    equals the engine's fold race by race."""
    _, settings = deployment
    manifest = await export(settings, tmp_path / "archive")
    definition, log = kz_night(0.05)
    counts = {f.role: f.records for f in manifest.files}
    assert counts == {
        "definitions": 1,
        "reports": len(log.accepted),
        "dead-letters": len(log.dead_letters),
    }
    assert manifest.elections == [ELECTION]
    assert verify_archive(tmp_path / "archive").ok
    out = StringIO()
    with redirect_stdout(out):
        status = await asyncio.to_thread(main, ["tally", str(tmp_path / "archive"), "--json"])
    assert status == 0
    doc = json.loads(out.getvalue())
    views, _ = pure_views(definition, log)
    expected = jsonable(views)
    for race in definition.races:
        assert doc["races"][race.race_id] == expected["races"][race.race_id], race.race_id
    assert doc["regions"] == expected["regions"]
    assert doc["national"] == expected["national"]
    again = await export(settings, tmp_path / "again")
    assert again.head == manifest.head  # the same log exports to the same chain heads


async def test_audit_finds_no_difference_between_replay_and_archive(
    deployment: tuple[dict[str, str], Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`audit replay:NAME archive:DIR`: the Redis namespace and the offline fold agree; the
    archive kept each report's credential header, so every correction names its sender,
    and only this election's dead letters are counted."""
    env, settings = deployment
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    await replay(settings, namespace="audited", window=Window())
    await export(settings, tmp_path / "archive")
    args = ["replay:audited", f"archive:{tmp_path / 'archive'}", "--json"]
    status = await asyncio.to_thread(main, ["audit", *args])
    doc = json.loads(capsys.readouterr().out)
    assert doc["differences"] == [], json.dumps(doc["differences"])[:2000]
    assert status == 0
    letters = [json.loads(x.value or b"{}") for x in kz_night(0.05)[1].dead_letters]
    ours = [x for x in letters if x.get("election_id") == ELECTION]
    assert 0 < doc["anomalies"]["counts"]["rejected"] == len(ours) < len(letters)
    corrections = doc["anomalies"]["corrections"]
    assert corrections and {c["credential"] for c in corrections} == {"sim-commissions"}


async def test_replay_from_a_time(deployment: tuple[dict[str, str], Settings]) -> None:
    """`replay --from T` folds only what was delivered at or after T (offsets_for_times)."""
    _, settings = deployment
    cut = parse_time("2021-07-25T21:00+06:00")
    summary = await replay(settings, namespace="late", window=Window(start_ms=cut))
    late = sum(1 for ms, _ in kz_night(0.05)[1].accepted if ms >= cut)
    assert summary["folded"] == late
    assert summary["records"] - summary["skipped"].get("outside_window", 0) == late


async def test_audit_reads_a_prefix_and_writes_html(
    deployment: tuple[dict[str, str], Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`audit redis:PREFIX replay:NAME --html FILE`: same views, anomalies from Kafka, a page."""
    env, settings = deployment
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    await replay(settings, namespace="paged", window=Window())
    prefix = namespace_prefix(settings.redis_prefix, "paged")
    page = tmp_path / "audit.html"
    args = [f"redis:{prefix}", "replay:paged", "--html", str(page)]
    status = await asyncio.to_thread(main, ["audit", *args])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "No differences." in out
    assert "Anomalies (from kafka)" in out
    assert "<svg" in page.read_text(encoding="utf-8")
    assert "sim-commissions" in out  # corrections read from Kafka name their credential


def test_the_replay_command_runs_as_a_process(
    deployment: tuple[dict[str, str], Settings],
) -> None:
    """`votewire replay --namespace cli --progress` as a process: exits 0 and says what it
    did; stderr, not a terminal, has the progress as plain lines and no aiokafka INFO."""
    env, settings = deployment
    proc = subprocess.run(
        [sys.executable, "-m", "votewire.cli", "replay", "--namespace", "cli", "--progress"],
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    records = len(kz_night(0.05)[1].accepted)
    assert f"replayed {records:,} records of {settings.reports_topic}" in proc.stdout
    assert namespace_prefix(settings.redis_prefix, "cli") in proc.stdout
    assert f"replay: 100% {records:,} reports" in proc.stderr
    assert "\r" not in proc.stderr and " INFO " not in proc.stderr, proc.stderr


def test_definitions_stay_consistent() -> None:
    """The fixture's definition record is the definition (sanity for the equality tests)."""
    definition, log = kz_night(0.05)
    assert log.definitions[0].value == dumps(encode_definition(definition))
