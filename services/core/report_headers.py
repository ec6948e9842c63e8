"""The Kafka headers of a report record: who sent the report.

Ingest publishes every accepted report with its canonical bytes as the value
(unchanged: the tally breaks ties on them) and one header,
`votewire-credential`, whose value is the UTF-8 id of the credential that
sent it (`auth.Credential.credential_id`: "dev-open" in open dev mode). The
header is evidence, not input: the tally never reads it; audit and the
anomalies panel name the sender with it. A record without the header (one
written before it existed, or by a tool straight to Kafka) has no known
sender: `credential_of` gives None.
"""

from __future__ import annotations

from collections.abc import Iterable

CREDENTIAL_HEADER = "votewire-credential"


def credential_headers(credential_id: str) -> list[tuple[str, bytes]]:
    """The headers of a report sent under `credential_id`."""
    return [(CREDENTIAL_HEADER, credential_id.encode("utf-8", "backslashreplace"))]


def credential_of(headers: Iterable[tuple[str, bytes]]) -> str | None:
    """The sending credential named by a record's headers (the first such header), or None."""
    for key, value in headers:
        if key == CREDENTIAL_HEADER:
            return value.decode("utf-8", "replace") if value is not None else None
    return None
