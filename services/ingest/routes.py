"""HTTP handlers of the ingest API (v1).

A report is acknowledged (listed as "accepted") only after Kafka acknowledged
it with acks=all. A rejected report is answered with its problems and written
to the dead-letter topic with the raw payload. Kafka not answering gives 503
with Retry-After, never an acknowledgement of something not stored.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.core.codec import DefinitionError, decode_definition, encode_definition, loads
from services.core.validation import Accepted, Problem, Rejected, validate_report

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_ITEMS = 5000


def error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


def unavailable(exc: Exception) -> JSONResponse:
    return error(503, "kafka_unavailable", f"cannot store now: {type(exc).__name__}",
                 **{"Retry-After": "2"})


async def read_json(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"body is over {MAX_BODY_BYTES} bytes")
    return loads(body)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def put_definition(request: Request) -> Response:
    try:
        definition = decode_definition(await read_json(request))
    except DefinitionError as exc:
        return error(422, "bad_definition", str(exc))
    except ValueError as exc:
        return error(400, "malformed_json", str(exc)[:200])
    if definition.election_id != request.path_params["election_id"]:
        return error(422, "election_id_mismatch", "election_id differs from the URL")
    try:
        await request.state.publisher.publish_definition(definition)
    except KafkaError as exc:
        return unavailable(exc)
    request.state.catalog.put_local(definition)
    return JSONResponse({"election_id": definition.election_id, "status": "stored"})


async def get_definition(request: Request) -> Response:
    definition = request.state.catalog.get(request.path_params["election_id"])
    if definition is None:
        return error(404, "unknown_election", "no such election")
    return JSONResponse(encode_definition(definition))


async def post_reports(request: Request) -> Response:
    try:
        payload = await read_json(request)
    except ValueError as exc:
        return error(400, "malformed_json", str(exc)[:200])
    items = payload if isinstance(payload, list) else [payload]
    if len(items) > MAX_ITEMS:
        return error(413, "too_many_items", f"at most {MAX_ITEMS} reports per request")
    catalog = request.state.catalog
    verdicts: list[Accepted | Rejected] = []
    for item in items:
        election_id = item.get("election_id") if isinstance(item, dict) else None
        definition = catalog.get(election_id) if isinstance(election_id, str) else None
        if definition is None:
            problem = Problem("unknown_election", "election_id", "no such election")
            verdicts.append(Rejected((problem,), None))
        else:
            verdicts.append(validate_report(item, definition))
    publisher = request.state.publisher
    now = datetime.now(UTC).isoformat()
    try:
        await asyncio.gather(
            *(
                publisher.publish_report(v.report)
                if isinstance(v, Accepted)
                else publisher.publish_dead_letter(
                    {"received_at": now, "payload": item, **v.to_dict()}
                )
                for v, item in zip(verdicts, items, strict=True)
            )
        )
    except KafkaError as exc:
        return unavailable(exc)
    results = [
        {"status": "accepted", "report_id": v.report.report_id}
        if isinstance(v, Accepted)
        else {"status": "rejected", **v.to_dict()}
        for v in verdicts
    ]
    accepted = sum(isinstance(v, Accepted) for v in verdicts)
    status = 200 if accepted == len(verdicts) else (422 if accepted == 0 else 207)
    return JSONResponse({"accepted": accepted, "rejected": len(verdicts) - accepted,
                         "results": results}, status)
