"""Loading an election definition (`PUT /v1/elections/{id}`) and reading it back (`GET`).

The route (routes.py) authenticates and reads the body within
VOTEWIRE_INGEST_MAX_DEFINITION_BYTES (separate from reports' limit: a
national definition is about 20 MB); this module does the rest:

1. `parse_definition_body` (pure, CPU-bound: run in a worker thread, so a
   20 MB body does not stall the event loop that serves reports): UTF-8,
   JSON (`json_steps`: in small steps, so the thread never holds the GIL
   for long), `definition_problems` (every problem, each with its JSON
   path), and the canonical text that will be published (`definition_text`,
   in pieces for the same reason).
2. `load_definition`: publish it as a new revision (parts, then header:
   `KafkaPublisher.publish_definition`), make it visible to this process at
   once (`DefinitionCatalog.put_local`), then tombstone the parts it
   supersedes (best effort: a failure there leaves garbage that the next
   load removes, never a wrong definition).

Answers: 200 `{"election_id", "status": "stored", "revision", "bytes"}`;
400 `malformed_json`; 422 `bad_definition` with `"problems": [{"path",
"message"}]` (at most `MAX_PROBLEMS_SHOWN`, `"problem_count"` all of them)
or `election_id_mismatch`; 413 `definition_too_large`; 503 when Kafka did
not acknowledge. `read_definition` answers the stored canonical JSON as it
was published (the catalog keeps it), without re-encoding.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from votewire.core.definition_decoder import definition_problems, paused_gc
from votewire.core.definition_text import canonical_text
from votewire.core.json_steps import loads_in_steps
from votewire.core.models import ElectionDefinition
from votewire.infra.definition_catalog import DefinitionCatalog
from votewire.ingest.publisher import PublishFailed, ReportPublisher, TooLarge

log = logging.getLogger(__name__)

MAX_PROBLEMS_SHOWN = 100
RETRY_AFTER_S = 2


@dataclass(frozen=True, slots=True)
class Answer:
    """What to send back: HTTP status, JSON body, headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Parsed:
    definition: ElectionDefinition
    document: bytes
    """The canonical JSON text (`definition_text.canonical_text`)."""


def _refuse(status: int, code: str, message: str, **extra: Any) -> Answer:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else {}
    return Answer(status, {"error": {"code": code, "message": message, **extra}}, headers)


def parse_definition_body(body: bytes, election_id: str) -> Parsed | Answer:
    """The body as a definition ready to publish, or the refusal to answer."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _refuse(400, "malformed_json", f"body is not UTF-8: {exc.reason}")
    try:
        with paused_gc():
            value = loads_in_steps(text)  # in steps: the loop keeps its turns
    except (ValueError, RecursionError) as exc:  # RecursionError: absurd nesting
        return _refuse(400, "malformed_json", f"not valid JSON: {str(exc)[:120] or 'too deep'}")
    del text
    definition, error = definition_problems(value)
    if error is not None:
        shown = [p.to_dict() for p in error.problems[:MAX_PROBLEMS_SHOWN]]
        message = str(error)[:500]
        return _refuse(422, "bad_definition", message, problems=shown, problem_count=error.count)
    assert definition is not None
    if definition.election_id != election_id:
        return _refuse(422, "election_id_mismatch", "election_id differs from the URL")
    del value
    try:
        with paused_gc():
            document = canonical_text(definition)  # in pieces: the loop keeps its turns
    except UnicodeEncodeError:  # the decoder checks every string; a second net
        return _refuse(422, "bad_definition", "text with lone surrogates (not Unicode)")
    return Parsed(definition, document)


async def load_definition(
    publisher: ReportPublisher, catalog: DefinitionCatalog, body: bytes, election_id: str
) -> Answer:
    """Parse (in a thread), publish, show locally, clean up; see the module doc."""
    started = time.perf_counter()
    parsed = await asyncio.to_thread(parse_definition_body, body, election_id)
    if isinstance(parsed, Answer):
        return parsed
    decoded_s = time.perf_counter() - started
    try:
        revision = await publisher.publish_definition(parsed.definition, parsed.document)
    except TooLarge as exc:
        return _refuse(413, "definition_too_large", str(exc))
    except PublishFailed as exc:
        return _refuse(503, "unavailable", f"cannot store now: {exc}")
    catalog.put_local(parsed.definition, revision, parsed.document)
    stale = catalog.assembler.stale_parts(election_id, revision, time.time_ns() // 1_000_000)
    if stale:
        try:
            await publisher.tombstone_definition_parts(stale)
        except PublishFailed as exc:  # garbage left behind, not a wrong definition
            log.warning("superseded parts of %r not tombstoned: %s", election_id, exc)
    log.info(
        "definition %r revision %s stored: %d bytes, decoded in %.2fs, stored in %.2fs",
        election_id, revision, len(parsed.document), decoded_s, time.perf_counter() - started,
    )  # fmt: skip
    return Answer(
        200,
        {
            "election_id": election_id,
            "status": "stored",
            "revision": revision,
            "bytes": len(parsed.document),
        },
    )


def read_definition(catalog: DefinitionCatalog, election_id: str) -> bytes | Answer:
    """The stored canonical JSON of the election, or the refusal (404/503)."""
    if not catalog.ready.is_set():
        why = "cannot store now: election definitions are not loaded yet"
        return _refuse(503, "unavailable", why)
    document = catalog.document(election_id)
    if document is None:
        return _refuse(404, "unknown_election", "no such election")
    return document
