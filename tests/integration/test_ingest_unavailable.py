"""Ingest without its dependencies: 503 with Retry-After (never a 500, never an accept),
and recovery on its own once Kafka answers. The shared broker is never touched: the
service is pointed at a port where nothing listens, which later becomes a proxy to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.test_ingest_harness import running_ingest
from tests.support.definitions import result_report, tiny_definition
from tests.support.polling import eventually
from tests.support.stack import free_port, isolated_env, settings_for

pytestmark = pytest.mark.integration

REPORT = result_report("u-1", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10)


@contextlib.asynccontextmanager
async def tcp_proxy(port: int, target: tuple[str, int]) -> AsyncIterator[None]:
    """Forward 127.0.0.1:`port` to `target` while the context is open."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "unavailable"
    assert int(answer.headers["retry-after"]) >= 1


async def test_without_kafka_it_answers_503_then_recovers_by_itself() -> None:
    """Kafka unreachable: alive, not ready, every store request 503 + Retry-After. When
    Kafka becomes reachable the service connects on its own and accepts reports."""
    real = settings_for({}).kafka_bootstrap.split(",")[0].rsplit(":", 1)
    port = free_port()
    env = {
        **isolated_env("ingest-nokafka"),
        "VOTEWIRE_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
        "VOTEWIRE_INGEST_STARTUP_WAIT_MS": "0",
        "VOTEWIRE_INGEST_PRODUCE_TIMEOUT_MS": "1000",
    }
    with running_ingest(env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["kafka"] is False
            assert_unavailable(await http.post("/v1/reports", json=REPORT))
            assert_unavailable(await http.put("/v1/elections/tiny-2026", json=tiny_definition()))
            assert_unavailable(await http.get("/v1/elections/tiny-2026"))
            metrics = (await http.get("/metrics")).text
            assert "votewire_ingest_kafka_ready 0" in metrics

            async with tcp_proxy(port, (real[0], int(real[1]))):

                async def is_ready() -> bool:
                    return (await http.get("/readyz")).status_code == 200

                await eventually(is_ready, 60, "ingest to connect once Kafka answers")
                put = await http.put("/v1/elections/tiny-2026", json=tiny_definition())
                assert put.status_code == 200, put.text
                posted = await http.post("/v1/reports", json=REPORT)
                assert posted.status_code == 200, posted.text


async def test_without_redis_reports_get_503_not_an_unchecked_accept() -> None:
    """The idempotency store down: reports are refused with 503 (nothing published),
    and readiness says redis is the problem."""
    env = {
        **isolated_env("ingest-noredis"),
        "VOTEWIRE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    with running_ingest(env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            assert (
                await http.put("/v1/elections/tiny-2026", json=tiny_definition())
            ).status_code == 200
            answer = await http.post("/v1/reports", json=REPORT)
            assert_unavailable(answer)
            assert "idempotency" in answer.json()["error"]["message"]
            ready = (await http.get("/readyz")).json()
            assert ready["checks"] == {"kafka": True, "definitions": True, "redis": False}
