"""The REST face of the live service: the same views, fetched, with ETags.

Every view endpoint answers the stored document with
`ETag: "<epoch>-<seq>"` and `X-Votewire-Seq` / `X-Votewire-Epoch`: a
client may fetch by REST, then subscribe with `resume` from that seq and get
exactly the updates after it. The tag names the write, not the version: an
election's opening (version 0) is rewritten when its definition is corrected
before any report, at the same version but a new seq. `If-None-Match` with
the current tag gives 304.
`Cache-Control: no-cache`: caches may keep a copy but must revalidate, so a
proxy never serves a number older than Redis holds.

Errors are JSON `{"error": {"code", "message"}}`: 400 bad_channel (an id
outside the channel grammar) or bad_request (a query that is not one), 401
unknown_token, 403 forbidden (a private channel without a grant), 404 no_view
(nothing published yet), unknown_election (a channel of an election no
definition has), unknown_race or unknown_region (a race, unit or region
channel of one the loaded election lacks: `known_races`), 503 unavailable
(the views store did not answer; `unavailable` is installed as the app's
handler of `ViewsUnavailable`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from votewire.core.channels import anomalies_channel, unit_prefix
from votewire.core.precinct_rows import precincts_table
from votewire.live.access import presented_token
from votewire.live.anomalies import page_body, page_query
from votewire.live.context import LiveContext
from votewire.live.csv_export import election_results_csv, precincts_csv, region_results_csv
from votewire.live.elections import listed_races, read_views, region_races
from votewire.live.protocol import ProtocolError, check_channel_name
from votewire.live.view_store import StoredView, ViewsUnavailable

NO_CACHE = {"Cache-Control": "no-cache"}

Endpoint = Callable[[Request], Awaitable[Response]]


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=NO_CACHE)


async def unavailable(request: Request, exc: Exception) -> Response:
    """503 for a read the views store could not answer."""
    return error(503, "unavailable", "views are unreachable; retry")


def etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match header against `etag`."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def _context(request: Request) -> LiveContext:
    ctx: LiveContext = request.state.live
    return ctx


def _refuse(request: Request, channel: str) -> Response | None:
    """An error response if `channel` is malformed or not readable by this request."""
    try:
        check_channel_name(channel)
    except ProtocolError as exc:
        return error(400, exc.code, str(exc))
    access = _context(request).access
    reader = access.reader(presented_token(request.headers, request.query_params))
    if reader is None:
        return error(401, "unknown_token", "the read token is not known")
    if not access.may_read(reader, channel):
        return error(403, "forbidden", "this channel needs a read token")
    return None


def view_response(request: Request, stored: StoredView) -> Response:
    etag = f'"{stored.epoch}-{stored.seq}"'
    headers = {
        "ETag": etag,
        "X-Votewire-Seq": str(stored.seq),
        "X-Votewire-Epoch": stored.epoch,
        **NO_CACHE,
    }
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(stored.doc, media_type="application/json", headers=headers)


async def serve_channel(request: Request, channel: str) -> Response:
    refused = _refuse(request, channel)
    if refused is not None:
        return refused
    ctx = _context(request)
    stored = await ctx.views_for(channel).get_view(channel)
    if stored is None:
        return await _nothing(ctx, channel, f"nothing published on {channel} yet")
    return view_response(request, stored)


async def _nothing(ctx: LiveContext, channel: str, message: str) -> JSONResponse:
    """404 for a channel without a view: `unknown_election`, `unknown_race` or
    `unknown_region` if it names nothing loaded (`known_races`), else `no_view`
    (`message`)."""
    unknown = await ctx.unknown(channel)
    if unknown is not None:
        return error(404, unknown.code, unknown.message)
    return error(404, "no_view", message)


def _channel_of(kind: str, p: dict[str, str]) -> str:
    e = p["election_id"]
    if kind == "turnout_region":
        return f"turnout:{e}:{p['region_id']}"
    if kind == "race_page":
        return f"races:{e}:{p['group']}:{p['page']}"
    if kind in ("region", "race"):
        return f"{kind}:{e}:{p[kind + '_id']}"
    return f"{kind}:{e}"


def election_view(kind: str) -> Endpoint:
    """The endpoint serving the `kind` channel of the election in the path."""

    async def endpoint(request: Request) -> Response:
        return await serve_channel(request, _channel_of(kind, request.path_params))

    return endpoint


async def any_view(request: Request) -> Response:
    return await serve_channel(request, request.path_params["channel"])


async def elections(request: Request) -> Response:
    ctx = _context(request)
    found = await ctx.elections.elections(ctx.views, ctx.retired)
    body: dict[str, Any] = {
        "elections": found,
        "default": found[0]["election_id"] if found else None,
    }
    return JSONResponse(body, headers=NO_CACHE)


UNIT_LEVELS = ("region", "district")


async def race_units(request: Request) -> Response:
    """`{"level", "units": [unit view, ...]}`: the race's totals per reporting unit of
    `?level=region|district` (default region), by unit name; 404 before any result."""
    e, r = request.path_params["election_id"], request.path_params["race_id"]
    level = request.query_params.get("level", "region")
    if level not in UNIT_LEVELS:
        return error(400, "bad_level", "level must be region or district")
    refused = _refuse(request, f"race:{e}:{r}")
    if refused is not None:
        return refused
    views = _context(request).views
    prefix = unit_prefix(e, r, level)
    channels = [c for c in await views.channels(prefix) if _refuse(request, c) is None]
    found = await read_views(views, channels)
    if not found:
        return await _nothing(
            _context(request), f"race:{e}:{r}", f"no {level} of race {r} has reported yet"
        )
    units = sorted(found.values(), key=lambda u: (str(u.get("name", "")), str(u["unit_id"])))
    return JSONResponse({"level": level, "units": units}, headers=NO_CACHE)


MAX_PAGE = 2000


async def _all_rows(views: Any, table: str) -> list[dict[str, Any]]:
    """Every row of `table`, once each (a scan may repeat a row)."""
    found: dict[str, dict[str, Any]] = {}
    cursor = 0
    while True:
        cursor, page = await views.rows(table, cursor, MAX_PAGE)
        for raw in page:
            row = json.loads(raw)
            found[str(row["precinct_id"])] = row
        if cursor == 0:
            return list(found.values())


async def _race_view(request: Request) -> tuple[dict[str, Any] | None, Response | None]:
    e, r = request.path_params["election_id"], request.path_params["race_id"]
    refused = _refuse(request, f"race:{e}:{r}")
    if refused is not None:
        return None, refused
    race = (await read_views(_context(request).views, [f"race:{e}:{r}"])).get(f"race:{e}:{r}")
    if race is None:
        message = f"nothing published for race {r} yet"
        return None, await _nothing(_context(request), f"race:{e}:{r}", message)
    return race, None


async def precincts_page(request: Request) -> Response:
    """`{"rows": [...], "next_cursor": n | null}`: one page of a race's precinct results
    (`?cursor=` from the previous page, `?count=` up to 2000; rows in no order)."""
    race, refused = await _race_view(request)
    if race is None:
        return refused or error(404, "no_view", "no race")
    try:
        cursor = int(request.query_params.get("cursor", "0"))
        count = int(request.query_params.get("count", "500"))
    except ValueError:
        return error(400, "bad_page", "cursor and count are integers")
    if cursor < 0 or not 1 <= count <= MAX_PAGE:
        return error(400, "bad_page", f"cursor >= 0 and 1 <= count <= {MAX_PAGE}")
    table = precincts_table(race["election_id"], race["race_id"])
    nxt, page = await _context(request).views.rows(table, cursor, count)
    body = {"rows": [json.loads(raw) for raw in page], "next_cursor": nxt or None}
    return JSONResponse(body, headers=NO_CACHE)


def _csv(body: bytes, filename: str, request: Request) -> Response:
    etag = f'"csv-{hashlib.sha256(body).hexdigest()[:20]}"'
    headers = {"ETag": etag, "Content-Disposition": f'attachment; filename="{filename}"',
               **NO_CACHE}  # fmt: skip
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


async def precincts_csv_export(request: Request) -> Response:
    """`precincts.csv`: one row per precinct with a result protocol (docs/live-protocol.md)."""
    race, refused = await _race_view(request)
    if race is None:
        return refused or error(404, "no_view", "no race")
    rows = await _all_rows(
        _context(request).views, precincts_table(race["election_id"], race["race_id"])
    )
    candidates = [c["candidate_id"] for c in race["candidates"]]
    semicolon = request.query_params.get("delimiter") == "semicolon"
    body = precincts_csv(candidates, rows, semicolon=semicolon)
    return _csv(body, f"{race['election_id']}-{race['race_id']}-precincts.csv", request)


async def results_csv(request: Request) -> Response:
    """`results.csv`: every race and candidate line of the election, one share base."""
    e = request.path_params["election_id"]
    refused = _refuse(request, f"races:{e}") or _refuse(request, f"summary:{e}")
    if refused is not None:
        return refused
    views = _context(request).views
    index, race_ids = await listed_races(views, e)
    if index is None:
        return await _nothing(_context(request), f"races:{e}", f"nothing published for {e} yet")
    channels = [f"race:{e}:{r}" for r in race_ids]
    channels = [c for c in channels if _refuse(request, c) is None]
    races = await read_views(views, channels)
    regions = {v["region_id"] for v in races.values() if v.get("region_id") is not None}
    head = await read_views(views, [f"summary:{e}"] + [f"region:{e}:{g}" for g in sorted(regions)])
    names = {v["region_id"]: v["name"] for v in head.values() if v.get("region_id") is not None}
    base = (head.get(f"summary:{e}") or {}).get("share_base", "ballots_cast")
    semicolon = request.query_params.get("delimiter") == "semicolon"
    body = election_results_csv([races[c] for c in channels if c in races], names, base,
                                semicolon=semicolon)  # fmt: skip
    return _csv(body, f"{e}-results.csv", request)


async def region_csv(request: Request) -> Response:
    e, g = request.path_params["election_id"], request.path_params["region_id"]
    refused = _refuse(request, f"region:{e}:{g}") or _refuse(request, f"races:{e}")
    if refused is not None:
        return refused
    views = _context(request).views
    region = (await read_views(views, [f"region:{e}:{g}"])).get(f"region:{e}:{g}")
    races = [
        r
        for r in await region_races(views, e, g)
        if _refuse(request, f"race:{e}:{r['race_id']}") is None
    ]
    if region is None and not races:
        message = f"nothing published for region {g} yet"
        return await _nothing(_context(request), f"region:{e}:{g}", message)
    semicolon = request.query_params.get("delimiter") == "semicolon"
    body = region_results_csv(races, (region or {}).get("name", ""), semicolon=semicolon)
    etag = f'"csv-{hashlib.sha256(body).hexdigest()[:20]}"'
    headers = {
        "ETag": etag,
        "Content-Disposition": f'attachment; filename="{e}-{g}-results.csv"',
        **NO_CACHE,
    }
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


async def anomalies(request: Request) -> Response:
    """The election's anomalies, paged (live/anomalies.py)."""
    election_id = request.path_params["election_id"]
    refused = _refuse(request, anomalies_channel(election_id))
    if refused is not None:
        return refused
    try:
        before, after, limit = page_query(request.query_params)
    except ValueError as exc:
        return error(400, "bad_request", str(exc))
    page = await _context(request).anomalies.page(
        election_id, before=before, after=after, limit=limit
    )
    body = page_body(election_id, page, limit, after)
    return Response(body, media_type="application/json", headers=NO_CACHE)


E = "/v1/elections/{election_id}"

EXCEPTION_HANDLERS = {ViewsUnavailable: unavailable}

ROUTES = [
    Route("/v1/elections", elections),
    Route(f"{E}/summary", election_view("summary")),
    Route(f"{E}/races", election_view("races")),
    Route(f"{E}/race-pages/{{group}}/{{page}}", election_view("race_page")),
    Route(f"{E}/turnout", election_view("turnout")),
    Route(f"{E}/turnout/{{region_id}}", election_view("turnout_region")),
    Route(f"{E}/regions/{{region_id}}/results.csv", region_csv),
    Route(f"{E}/regions/{{region_id}}", election_view("region")),
    Route(f"{E}/races/{{race_id}}/units", race_units),
    Route(f"{E}/races/{{race_id}}/precincts.csv", precincts_csv_export),
    Route(f"{E}/races/{{race_id}}/precincts", precincts_page),
    Route(f"{E}/results.csv", results_csv),
    Route(f"{E}/races/{{race_id}}", election_view("race")),
    Route(f"{E}/anomalies", anomalies),
    Route("/v1/views/{channel}", any_view),
]
