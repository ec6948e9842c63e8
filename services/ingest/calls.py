"""Race calls over HTTP: a decision desk calls a race, or retracts its call.

    POST   /v1/elections/{e}/races/{r}/call   {"type", "candidate_ids"?, "note"?}
    DELETE /v1/elections/{e}/races/{r}/call   (no body)

Only a credential that is an editor of the election may (`auth.Credential.
may_call`). The call (`votewire.core.race_call`) gets its id, `called_at`
(this process's clock, UTC) and `called_by` (the credential id) here, and is
published on the reports topic with the race's key, so it is folded with the
race's reports (its partition, stage 1, replay, audit). The answer, after
Kafka acknowledged it, is 200 `{"status": "published", "call": <the record>}`.

Order of checks: authenticate (401), editor of the election (403),
definitions loaded (503), known election and race (404 `unknown_election`,
`unknown_race`), not retired (409 `election_retired`), one rate-limit token
(429), the body (POST: 413, 415, 400 `malformed_json`, 422 `bad_call` with
every problem under `problems`), then publish (503 when Kafka did not
acknowledge: nothing may be taken as called; a retry is a new call with the
same content, harmless under the rule of the newest). Refused calls are
answered, not dead-lettered: the desk is there to read the answer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from votewire.core.race_call import encode_call, retraction, validate_call
from votewire.ingest.bodies import BodyError, media_type, parse_json_text
from votewire.ingest.publisher import PublishFailed
from votewire.ingest.routes import (
    JSON,
    error,
    rate_limited,
    read_body,
    unauthenticated,
    unavailable,
)
from votewire.ingest.state import state_of


async def race_call(request: Request) -> Response:
    """POST calls the race in the path, DELETE retracts its call (see the module doc)."""
    st = state_of(request)
    credential = st["credentials"].authenticate(request.headers.get("authorization"))
    if credential is None:
        return unauthenticated()
    election_id, race_id = request.path_params["election_id"], request.path_params["race_id"]
    if not credential.may_call(election_id):
        return error(403, "forbidden", "calling races needs an editor credential of the election")
    if not st["catalog"].ready.is_set():
        return unavailable("election definitions are not loaded yet")
    definition = st["catalog"].get(election_id)
    if definition is None:
        return error(404, "unknown_election", "no such election")
    race = definition.race(race_id)
    if race is None:
        return error(404, "unknown_race", "no such race in this election")
    if st["catalog"].retirement(election_id) is not None:
        return error(409, "election_retired", "the election was retired; it takes no calls")
    wait = st["limiter"].check(credential, 1)
    if wait:
        return rate_limited(wait)
    call_id, called_at = uuid.uuid4().hex, datetime.now(UTC)
    if request.method == "DELETE":
        call = retraction(definition, race, call_id=call_id, called_at=called_at,
                          called_by=credential.credential_id)  # fmt: skip
    else:
        try:
            body = await _json_body(request, st["settings"].ingest_max_body_bytes)
        except BodyError as exc:
            return error(exc.status, exc.code, exc.message)
        found = validate_call(body, definition, race_id, call_id=call_id, called_at=called_at,
                              called_by=credential.credential_id)  # fmt: skip
        if isinstance(found, list):
            problems = [p.to_dict() for p in found]
            message = "; ".join(f"{p.field or 'call'}: {p.message}" for p in found)[:500]
            return JSON({"error": {"code": "bad_call", "message": message}, "problems": problems},
                        422)  # fmt: skip
        call = found
    try:
        await st["publisher"].publish_call(call)
    except PublishFailed as exc:
        return unavailable(str(exc))
    return JSON({"status": "published", "call": encode_call(call)})


async def _json_body(request: Request, limit: int) -> object:
    """The request's JSON value; `BodyError` for 400/413/415."""
    kind = media_type(request.headers.get("content-type"))
    if kind != "application/json" and not kind.endswith("+json"):
        raise BodyError(415, "unsupported_media_type", "send application/json")
    body = await read_body(request, limit)
    try:
        value, problem = parse_json_text(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        value, problem = None, f"body is not UTF-8: {exc.reason}"
    if problem is not None:
        raise BodyError(400, "malformed_json", problem)
    return value
