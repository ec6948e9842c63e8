"""Retiring an election over HTTP, and withdrawing the retirement.

    POST   /v1/elections/{e}/retirement   (no body: retire)
    DELETE /v1/elections/{e}/retirement   (un-retire)

Only an admin credential may (as for loading a definition). Retiring
publishes the election's retirement record on the definitions topic
(`core.retirement`): every service's `DefinitionCatalog` learns it from
there, and it survives restarts. This process sees it at once
(`put_retirement_local`), so the next report it is sent is refused with
`election_retired` (dead-lettered like every refusal); other ingest
replicas refuse within their catalog's follow lag (milliseconds). The
aggregate marks the election retired in Redis, and live's `GET
/v1/elections` leaves it out; its views stay, readable by channel.

Order of checks: authenticate (401), admin (403), definitions loaded (503),
a known election (404 `unknown_election`: one with a definition, or with a
retirement to withdraw), then publish (503 when Kafka did not acknowledge:
nothing may be taken as done; a retry is harmless).

Idempotent: retiring a retired election answers its existing retirement
(the first `retired_at` stays) without publishing; withdrawing the
retirement of an election that is not retired answers `"status": "active"`
without publishing. Answers 200 `{"election_id", "status": "retired",
"retired_at", "retired_by"}` or `{"election_id", "status": "active"}`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from votewire.core.retirement import Retired, retirement_key, retirement_value
from votewire.ingest.publisher import PublishFailed
from votewire.ingest.routes import JSON, error, unauthenticated, unavailable
from votewire.ingest.state import state_of


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def retirement(request: Request) -> Response:
    """POST retires the election in the path, DELETE withdraws it (see the module doc)."""
    st = state_of(request)
    credential = st["credentials"].authenticate(request.headers.get("authorization"))
    if credential is None:
        return unauthenticated()
    if not credential.admin:
        return error(403, "forbidden", "retiring elections needs an admin credential")
    catalog = st["catalog"]
    if not catalog.ready.is_set():
        return unavailable("election definitions are not loaded yet")
    election_id = request.path_params["election_id"]
    current = catalog.retirement(election_id)
    if catalog.get(election_id) is None and current is None:
        return error(404, "unknown_election", "no such election")
    if request.method == "DELETE":
        if current is not None:
            try:
                await st["publisher"].publish_retirement(retirement_key(election_id), None)
            except PublishFailed as exc:
                return unavailable(str(exc))
            catalog.put_retirement_local(election_id, None)
        return JSON({"election_id": election_id, "status": "active"})
    if current is None:
        current = Retired(election_id, _now(), credential.credential_id)
        try:
            await st["publisher"].publish_retirement(
                retirement_key(election_id), retirement_value(current)
            )
        except PublishFailed as exc:
            return unavailable(str(exc))
        catalog.put_retirement_local(election_id, current)
    return JSON({**current.to_dict(), "status": "retired"})
