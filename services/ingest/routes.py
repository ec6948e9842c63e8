"""HTTP handlers of the ingest API (v1): policy and HTTP, nothing else.

Every refusal is a 4xx with `{"error": {"code", "message"}}` (codes listed in
`openapi.REQUEST_CODES`), every "cannot store now" a 503 with Retry-After;
a handler never lets an exception become a 500 for anything a client can
send. The order of checks on POST /v1/reports: authenticate (401), read the
body within the size limit (413), parse it (400/413/415; an unparsable body
is dead-lettered), take the rate-limit tokens (429), then the intake decides
per report (200/207/403/409/422) or answers 503 when it could not store.
A path that does not exist is `not_found` (404); a method a path does not take
is `method_not_allowed` (405, every method it does take in `Allow`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from votewire.ingest.auth import Credential
from votewire.ingest.bodies import BodyError, parse_body
from votewire.ingest.dead_letters import Sender
from votewire.ingest.definition_loads import Answer, load_definition, read_definition
from votewire.ingest.intake import Unavailable, batch_status
from votewire.ingest.limits import retry_after_header
from votewire.ingest.metrics import CONTENT_TYPE
from votewire.ingest.openapi import openapi_document
from votewire.ingest.state import state_of

RETRY_AFTER_UNAVAILABLE_S = 2


class JSON(JSONResponse):
    """JSON with everything non-ASCII escaped: answers echo what clients sent (report
    ids, field names), and a lone surrogate must not turn an answer into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSON({"error": {"code": code, "message": message}}, status, headers=headers)


def unavailable(reason: str) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)}
    return error(503, "unavailable", f"cannot store now: {reason}", headers)


def unauthenticated() -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="votewire-ingest"'}
    return error(401, "unauthenticated", "a valid bearer token is required", headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BodyError(400, "bad_content_length", "Content-Length is not a number")
        if int(declared) > limit:
            raise BodyError(413, "body_too_large", f"the body is over {limit} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyError(413, "body_too_large", f"the body is over {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # flaky links: not a server error, and nobody to answer
        raise BodyError(400, "incomplete_body", "the client went away mid-body") from None
    return b"".join(chunks)


def _credential(request: Request) -> Credential | None:
    return state_of(request)["credentials"].authenticate(request.headers.get("authorization"))


async def http_error(request: Request, exc: Exception) -> Response:
    """The router's own refusals (no such path, a method the path does not take), in the
    same `{"error": ...}` shape as every other refusal, keeping its headers (`Allow`)."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
    return error(exc.status_code, code, exc.detail, dict(exc.headers or {}))


async def health(request: Request) -> Response:
    dev = state_of(request)["credentials"].dev_mode
    return JSON({"status": "ok", "auth": "open-dev-mode" if dev else "credentials"})


async def ready(request: Request) -> Response:
    st = state_of(request)
    try:
        redis_ok = bool(await st["redis"].ping())  # type: ignore[misc]
    except Exception:  # any failure to answer is "not ready"
        redis_ok = False
    checks = {
        "kafka": st["link"].up.is_set() and await st["publisher"].probe(),
        "definitions": st["catalog"].ready.is_set(),
        "redis": redis_ok,
    }
    body = {
        "ready": all(checks.values()),
        "checks": checks,
        "kafka_error": st["link"].last_error,
        # Shown, never required: Kafka keeps what ingest accepts until the aggregate folds it.
        "aggregate": (await st["pipeline"].read()).to_dict(),
    }
    return JSON(body, 200 if body["ready"] else 503)


async def metrics(request: Request) -> Response:
    return Response(state_of(request)["metrics"].render(), media_type=CONTENT_TYPE)


async def openapi(request: Request) -> Response:
    return JSON(openapi_document())


async def election(request: Request) -> Response:
    """/v1/elections/{election_id}: GET reads the definition, PUT stores one."""
    if request.method == "PUT":
        return await put_definition(request)
    return await get_definition(request)


async def put_definition(request: Request) -> Response:
    st = state_of(request)
    credential = _credential(request)
    if credential is None:
        return unauthenticated()
    if not credential.admin:
        return error(403, "forbidden", "loading definitions needs an admin credential")
    try:
        body = await read_body(request, st["settings"].ingest_max_definition_bytes)
    except BodyError as exc:
        return error(exc.status, exc.code, exc.message)
    answer = await load_definition(
        st["publisher"], st["catalog"], body, request.path_params["election_id"]
    )
    return JSON(answer.body, answer.status, headers=answer.headers)


async def get_definition(request: Request) -> Response:
    st = state_of(request)
    if _credential(request) is None:
        return unauthenticated()
    found = read_definition(st["catalog"], request.path_params["election_id"])
    if isinstance(found, Answer):
        return JSON(found.body, found.status, headers=found.headers)
    return Response(found, media_type="application/json")


async def post_reports(request: Request) -> Response:
    st = state_of(request)
    credential = _credential(request)
    if credential is None:
        return unauthenticated()
    peer = request.client.host if request.client else None
    sender = Sender(credential.credential_id, "http", peer)
    settings = st["settings"]
    try:
        body = await read_body(request, settings.ingest_max_body_bytes)
    except BodyError as exc:
        return error(exc.status, exc.code, exc.message)
    try:
        items = parse_body(body, request.headers.get("content-type"), settings.ingest_max_items)
    except BodyError as exc:
        if exc.code == "malformed_json":
            return await _reject_body(request, credential, sender, body, exc)
        return error(exc.status, exc.code, exc.message)
    wait = st["limiter"].check(credential, len(items))
    if wait:
        return rate_limited(wait)
    try:
        verdicts = await st["intake"].submit(items, credential, sender)
    except Unavailable as exc:
        return unavailable(str(exc))
    accepted = sum(v.accepted for v in verdicts)
    answer = {
        "accepted": accepted,
        "rejected": len(verdicts) - accepted,
        "results": [v.to_dict() for v in verdicts],
    }
    return JSON(answer, batch_status(verdicts))


async def _reject_body(
    request: Request, credential: Credential, sender: Sender, body: bytes, exc: BodyError
) -> Response:
    """400 for a body that is not JSON, after dead-lettering it (rate-limited: 1 token)."""
    st = state_of(request)
    wait = st["limiter"].check(credential, 1)
    if wait:
        return rate_limited(wait)
    try:
        await st["intake"].reject_body(body, exc.code, exc.message, sender)
    except Unavailable as unavailable_exc:
        return unavailable(str(unavailable_exc))
    return error(exc.status, exc.code, exc.message)


def rate_limited(wait_s: float) -> Response:
    headers = {"Retry-After": retry_after_header(wait_s)}
    return error(429, "rate_limited", f"too many reports; retry in {wait_s:.1f}s", headers)
