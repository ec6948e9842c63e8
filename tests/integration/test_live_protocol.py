"""The live websocket protocol against the real Redis, with real `websockets` clients."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from votewire.config import Settings
from votewire.infra.redis_views import RedisViews
from votewire.live.limits import LiveLimits
from websockets.asyncio.client import ClientConnection, connect

from tests.support.live import (
    doc,
    health,
    recv_json,
    recv_until,
    register_races,
    send_json,
    serve_live,
    subscribe,
    with_live,
    write,
    write_steadily,
)
from tests.support.polling import eventually
from tests.support.stack import free_port

pytestmark = pytest.mark.integration

CH = "race:kz-test:r1"


@pytest.fixture
def views(redis_client: aioredis.Redis, settings: Settings) -> RedisViews:
    return RedisViews(redis_client, settings.redis_prefix)


@pytest.mark.parametrize("direct_writes", [True, False], ids=["direct", "asgi"])
async def test_snapshot_then_every_update_in_seq_order(
    views: RedisViews, settings: Settings, direct_writes: bool
) -> None:
    """A subscriber gets the current snapshot with its seq, then each update in order,
    whether updates are written straight to the socket (the default) or through ASGI."""
    await write(views, CH, 1, 3)
    limits = LiveLimits(direct_writes=direct_writes)
    async with serve_live(settings, limits) as live, connect(live.ws) as ws:
        snap = await subscribe(ws, CH)
        assert (snap["type"], snap["seq"], snap["view"]["n"]) == ("snapshot", 3, 3)
        assert snap["view"]["name"] == "Ақсу ауылы"
        got = []
        for version in range(4, 21):  # one at a time: a client that keeps up misses none
            await write(views, CH, version, version)
            got.append(await recv_until(ws, "update"))
        await write(views, CH, 21, 60)  # a burst: seqs only grow, and the newest arrives
        burst = [await recv_until(ws, "update")]
        while burst[-1]["seq"] < 60:
            burst.append(await recv_until(ws, "update"))
        written_direct = (await health(live))["written_direct"]
    # An idle client's updates go straight out; if uvicorn changed, this notices.
    assert (written_direct >= len(got)) if direct_writes else (written_direct == 0)
    assert [f["seq"] for f in got] == list(range(4, 21))
    assert [f["view"]["n"] for f in got] == list(range(4, 21))
    assert {f["epoch"] for f in got} == {snap["epoch"]}
    seqs = [f["seq"] for f in burst]
    assert seqs == sorted(set(seqs)) and seqs[0] >= 21


async def test_reconnect_with_seq_gets_exactly_what_was_missed(
    views: RedisViews, settings: Settings
) -> None:
    """Resuming from seq n replays n+1.. from the Redis stream, then continues live."""
    await write(views, CH, 1, 2)
    async with serve_live(settings) as live:
        async with connect(live.ws) as ws:
            held = await subscribe(ws, CH)
        await write(views, CH, 3, 7)
        async with connect(live.ws) as ws:
            ack = await subscribe(ws, CH, seq=held["seq"], epoch=held["epoch"])
            assert ack == {
                "type": "subscribed",
                "channel": CH,
                "seq": 2,
                "epoch": held["epoch"],
                "resumed": True,
                "missed": 5,
            }
            replayed = [await recv_until(ws, "update") for _ in range(5)]
            await write(views, CH, 8, 8)
            live_one = await recv_until(ws, "update")
    assert [f["seq"] for f in replayed] == [3, 4, 5, 6, 7]
    assert [f["view"]["n"] for f in replayed] == [3, 4, 5, 6, 7]
    assert live_one["seq"] == 8


async def test_a_gap_beyond_the_stream_yields_a_flagged_snapshot(
    redis_client: aioredis.Redis, settings: Settings
) -> None:
    """When the stream no longer reaches back to the client's seq, it gets resync: true."""
    small = RedisViews(redis_client, settings.redis_prefix, feed_maxlen=5)
    await write(small, CH, 1, 1)
    async with serve_live(settings) as live:
        async with connect(live.ws) as ws:
            held = await subscribe(ws, CH)
        await write(small, CH, 2, 400)  # MAXLEN ~ trims whole stream nodes (100 entries)
        assert await small.updates_since(CH, 1) is None
        async with connect(live.ws) as ws:
            snap = await subscribe(ws, CH, seq=held["seq"], epoch=held["epoch"])
    assert snap["type"] == "snapshot" and snap["resync"] is True
    assert (snap["seq"], snap["view"]["n"]) == (400, 400)


async def _rebuild(client: aioredis.Redis, views: RedisViews, channel: str) -> None:
    """What a rebuild does to the keys: views, feeds and the epoch start over."""
    await client.delete(views.view_key(channel), views.feed_key(channel), views.epoch_key)


async def test_an_epoch_change_yields_a_resync(
    redis_client: aioredis.Redis, views: RedisViews, settings: Settings
) -> None:
    """After a rebuild a connected client gets the new epoch at seq 1; a resume gets resync."""
    await write(views, CH, 1, 5)
    async with serve_live(settings) as live:
        async with connect(live.ws) as ws:
            held = await subscribe(ws, CH)
            await _rebuild(redis_client, views, CH)
            await write(views, CH, 1, 1)
            fresh = await recv_until(ws, "update")
        assert fresh["epoch"] != held["epoch"] and fresh["seq"] == 1
        async with connect(live.ws) as ws:
            snap = await subscribe(ws, CH, seq=held["seq"], epoch=held["epoch"])
    assert (snap["type"], snap["resync"], snap["epoch"]) == ("snapshot", True, fresh["epoch"])


async def test_a_resume_with_nothing_stored_says_so(views: RedisViews, settings: Settings) -> None:
    """Resuming a channel whose view is gone answers empty + resync, never silence."""
    await register_races(views, "kz-test", "r1")
    async with serve_live(settings) as live, connect(live.ws) as ws:
        ack = await subscribe(ws, CH, seq=9, epoch="gone")
    assert ack == {"type": "subscribed", "channel": CH, "seq": 0, "empty": True, "resync": True}


async def test_an_election_or_race_nobody_loaded_is_unknown_until_it_is_loaded(
    views: RedisViews, settings: Settings
) -> None:
    """A channel of an election in no registry: `unknown_election` (no subscription);
    once the election is loaded without race r1, race r1 is `unknown_channel` and its
    summary the empty snapshot; once r1 is listed too, r1 is the empty snapshot; each
    after at most the short negative cache."""
    async with serve_live(settings) as live, connect(live.ws) as ws:
        for channel in (CH, "summary:kz-test"):
            refused = await subscribe(ws, channel)
            assert (refused["type"], refused["code"], refused["channel"]) == (
                "error",
                "unknown_election",
                channel,
            )
        await register_races(views, "kz-test", "r2")

        async def answer(channel: str, wanted: str) -> dict[str, object] | None:
            frame = await subscribe(ws, channel)
            return frame if wanted in (frame["type"], frame.get("code")) else None

        await eventually(lambda: answer(CH, "unknown_channel"), 10, "r1 lacking")
        ack = await eventually(lambda: answer("summary:kz-test", "subscribed"), 10, "loaded")
        assert ack == {"type": "subscribed", "channel": "summary:kz-test", "seq": 0, "empty": True}
        await register_races(views, "kz-test", "r1", "r2")
        ack = await eventually(lambda: answer(CH, "subscribed"), 10, "the race known once listed")
        assert ack == {"type": "subscribed", "channel": CH, "seq": 0, "empty": True}


async def test_limits_and_bad_frames_are_answered_with_error_frames(
    views: RedisViews, settings: Settings
) -> None:
    """Bad frames and exceeded limits get named error frames; the connection lives on."""
    await register_races(views, "kz", "r1")
    limits = LiveLimits(max_channels=2, max_frame_bytes=512)
    async with serve_live(settings, limits) as live, connect(live.ws) as ws:
        cases: list[tuple[str | bytes, str]] = [
            ("not json", "malformed_frame"),
            (b"\xff\xfe", "malformed_frame"),
            ('{"type":"dance"}', "unknown_type"),
            ('{"type":"subscribe","channel":"weather:kz"}', "unknown_channel"),
            ('{"type":"subscribe","channel":"race:kz:r1","resume":{"seq":-3}}', "bad_resume"),
            (json.dumps({"type": "ping", "pad": "x" * 600}), "frame_too_large"),
        ]
        for text, code in cases:
            await ws.send(text)
            frame = await recv_json(ws)
            assert (frame["type"], frame["code"]) == ("error", code), text
        for channel in ("summary:kz", "races:kz"):
            assert (await subscribe(ws, channel))["type"] == "subscribed"
        third = await subscribe(ws, "turnout:kz")
        assert (third["type"], third["code"], third["channel"]) == (
            "error",
            "too_many_channels",
            "turnout:kz",
        )
        await send_json(ws, type="unsubscribe", channel="races:kz")
        assert (await recv_json(ws))["type"] == "unsubscribed"
        assert (await subscribe(ws, "turnout:kz"))["type"] == "subscribed"
        await send_json(ws, type="ping")
        assert await recv_json(ws) == {"type": "pong"}


async def test_connections_per_address_are_limited(settings: Settings) -> None:
    """Past the per-address limit a connection is closed 4029 too_many_connections."""
    async with (
        serve_live(settings, LiveLimits(max_connections_per_ip=2)) as live,
        connect(live.ws),
        connect(live.ws),
        connect(live.ws) as third,
    ):
        with pytest.raises(websockets.ConnectionClosed) as info:
            await asyncio.wait_for(third.recv(), 5)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4029, "too_many_connections")


async def test_heartbeats_both_ways_and_a_silent_client_is_dropped(settings: Settings) -> None:
    """The server pings; a client that pongs stays, one that never answers is closed 4001."""
    limits = LiveLimits(ping_interval_s=0.2, pong_timeout_s=0.3)
    async with serve_live(settings, limits) as live:
        async with connect(live.ws) as ws:
            for _ in range(4):  # four rounds: past several pong deadlines
                assert await recv_json(ws, 3) == {"type": "ping", "interval_ms": 200}
                await send_json(ws, type="pong")
            await send_json(ws, type="ping")
            assert await recv_until(ws, "pong") == {"type": "pong"}
        async with connect(live.ws) as silent:
            with pytest.raises(websockets.ConnectionClosed) as info:
                while True:
                    await asyncio.wait_for(silent.recv(), 5)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "no_pong")


async def test_private_channels_need_a_read_token(
    views: RedisViews, settings: Settings, tmp_path: Path
) -> None:
    """Private channels answer forbidden without a grant; unknown tokens are refused."""
    tokens = tmp_path / "tokens.json"
    digest = hashlib.sha256(b"s3cret").hexdigest()
    tokens.write_text(
        json.dumps(
            {
                "private": ["race:kz-test:*"],
                "tokens": [{"name": "desk", "sha256": digest, "channels": ["*"]}],
            }
        )
    )
    await write(views, CH, 1, 1)
    await register_races(views, "kz-test", "r1")
    private = with_live(settings, live_tokens_file=tokens)
    async with serve_live(private) as live:
        async with connect(live.ws) as ws:
            refused = await subscribe(ws, CH)
            assert (refused["type"], refused["code"]) == ("error", "forbidden")
            assert (await subscribe(ws, "summary:kz-test"))["type"] == "subscribed"
        async with connect(live.ws + "?token=s3cret") as ws:
            assert (await subscribe(ws, CH))["type"] == "snapshot"
        async with connect(live.ws, additional_headers={"Authorization": "Bearer s3cret"}) as ws:
            assert (await subscribe(ws, CH))["type"] == "snapshot"
        async with connect(live.ws + "?token=wrong") as ws:
            with pytest.raises(websockets.ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 5)
            assert info.value.rcvd is not None and info.value.rcvd.code == 4003
        async with httpx.AsyncClient(base_url=live.http) as http:
            assert (await http.get("/v1/elections/kz-test/races/r1")).status_code == 403
            ok = await http.get("/v1/elections/kz-test/races/r1", params={"token": "s3cret"})
            assert ok.status_code == 200
            bad = await http.get("/v1/views/" + CH, headers={"Authorization": "Bearer nope"})
            assert bad.status_code == 401


async def test_browser_origins_are_checked(settings: Settings) -> None:
    """Only listed origins (and the service's own) may open a websocket."""
    strict = with_live(settings, live_allowed_origins=("https://news.example",))
    async with serve_live(strict) as live:
        async with connect(live.ws, origin="https://news.example") as ws:  # type: ignore[arg-type]
            await send_json(ws, type="ping")
            assert await recv_json(ws) == {"type": "pong"}
        async with connect(live.ws, origin=f"http://127.0.0.1:{live.port}") as ws:  # type: ignore[arg-type]
            await send_json(ws, type="ping")
            assert await recv_json(ws) == {"type": "pong"}
        async with connect(live.ws, origin="https://evil.example") as ws:  # type: ignore[arg-type]
            with pytest.raises(websockets.ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4003, "forbidden")


async def _until_seq(ws: ClientConnection, last: int) -> list[bytes]:
    frames: list[bytes] = []
    while not frames or json.loads(frames[-1])["seq"] < last:
        raw = await asyncio.wait_for(ws.recv(), 10)
        if json.loads(raw)["type"] == "update":
            frames.append(raw)  # type: ignore[arg-type]
    return frames


async def test_two_live_instances_deliver_the_same_updates_in_the_same_order(
    views: RedisViews, settings: Settings
) -> None:
    """Each instance follows Redis on its own; a client on each sees the same bytes in order.
    (Unpaced: with pacing each instance picks its own subset of the seqs, in order.)"""
    await write(views, CH, 1, 1)
    unpaced = LiveLimits(channel_max_hz=0)
    async with (
        serve_live(settings, unpaced) as one,
        serve_live(settings, unpaced) as two,
        connect(one.ws) as a,
        connect(two.ws) as b,
    ):
        snaps = [await subscribe(a, CH), await subscribe(b, CH)]
        assert snaps[0] == snaps[1]
        writer = asyncio.create_task(write_steadily(views, CH, 60, 0, {}, every_s=0.01))
        got_a, got_b = await asyncio.gather(_until_seq(a, 60), _until_seq(b, 60))
        await writer
    by_seq_a = {json.loads(f)["seq"]: f for f in got_a}
    by_seq_b = {json.loads(f)["seq"]: f for f in got_b}
    for frames, by_seq in ((got_a, by_seq_a), (got_b, by_seq_b)):
        assert list(by_seq) == sorted(by_seq) and len(by_seq) == len(frames)
    common = by_seq_a.keys() & by_seq_b.keys()
    assert 60 in common and all(by_seq_a[s] == by_seq_b[s] for s in common)
    # At this pace nothing needs conflating; allow a few under a loaded machine.
    assert len(common) >= 30, (len(by_seq_a), len(by_seq_b))


async def test_a_lost_feed_catches_up_after_reconnecting(
    redis_client: aioredis.Redis, views: RedisViews, settings: Settings
) -> None:
    """An update published while the pub/sub link is down still reaches the client."""
    name = f"{settings.redis_prefix}-feed"
    named = with_live(settings, redis_url=f"{settings.redis_url}?client_name={name}")
    await write(views, CH, 1, 1)
    async with serve_live(named) as live, connect(live.ws) as ws:
        assert (await subscribe(ws, CH))["seq"] == 1
        clients = await redis_client.client_list()
        feed_ids = [c["id"] for c in clients if c.get("name") == name and "P" in c["flags"]]
        assert len(feed_ids) == 1, clients
        async with redis_client.pipeline(transaction=True) as pipe:  # kill, then write at once
            pipe.execute_command("CLIENT", "KILL", "ID", feed_ids[0])
            await views._put(
                keys=[views.view_key(CH), views.feed_key(CH), views.epoch_key],
                args=[2, doc(2), CH, views.pubsub_channel(CH), views.feed_maxlen, "e"],
                client=pipe,
            )
            await pipe.execute()
        caught = await recv_until(ws, "snapshot", timeout_s=10)
        assert (caught["seq"], caught["view"]["n"]) == (2, 2)
        await write(views, CH, 3, 3)
        assert (await recv_until(ws, "update"))["seq"] == 3
        assert (await health(live))["feed"]["connects"] == 2


async def test_the_example_client_follows_and_resumes_across_a_restart(
    views: RedisViews, settings: Settings
) -> None:
    """examples/live_client.py gets every version once, in order, across a server restart."""
    import importlib.util

    from votewire.config import REPO_ROOT

    spec = importlib.util.spec_from_file_location(
        "live_client", REPO_ROOT / "examples" / "live_client.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    sys.modules["live_client"] = example  # dataclasses resolve annotations through it
    spec.loader.exec_module(example)
    seen: list[int] = []
    await write(views, CH, 1, 3)
    port = free_port()
    async with serve_live(settings, port=port) as live:
        follower = example.LiveFollower(live.ws, [CH], lambda c, v, f: seen.append(v["n"]))
        task = asyncio.create_task(follower.run(max_updates=8))
        await eventually(lambda: _ready(seen, 3), 10, "the snapshot at version 3")
    await write(views, CH, 4, 8)  # while no server runs
    async with serve_live(settings, port=port):
        await eventually(lambda: _ready(seen, 8), 20, "the replay of versions 4-8")
        await write(views, CH, 9, 9)
        await eventually(lambda: _ready(seen, 9), 10, "version 9 live")
        await write(views, CH, 10, 10)
        await asyncio.wait_for(task, 20)
    assert seen == list(range(3, 11))


async def _ready(seen: list[int], last: int) -> bool:
    return bool(seen) and seen[-1] == last
