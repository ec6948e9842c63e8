"""The co-partitioning keys: the contract between ingest and the aggregate's stages.

Kafka routes a record by its key (murmur2, like every Java/aiokafka
producer), so these keys decide which worker owns what:

- `race_key`: reports and race views of a race, "<election_id>/<race_id>".
  Every report of a race lands on one partition of the reports topic, so one
  stage-1 worker folds it, in publication order;
- `region_key`: what stage 2 folds per region, "<election_id>/<region_id>";
- `election_key`: what stage 3 folds per election, "<election_id>";
- `part_key`: stage 2's state key of a race spanning regions' part in one
  region, "<election_id>/<race_id>@<region_id>" (no id holds "/" or "@").

Keys are built here and compared, never parsed back: a stage that needs the
ids reads them from the value it keeps.
"""

from __future__ import annotations


def race_key(election_id: str, race_id: str) -> bytes:
    """The key of a race's reports, race views and stage-1 state."""
    return f"{election_id}/{race_id}".encode()


def region_key(election_id: str, region_id: str) -> bytes:
    """The key of what stage 2 folds for one region."""
    return f"{election_id}/{region_id}".encode()


def election_key(election_id: str) -> bytes:
    """The key of what stage 3 folds for one election."""
    return election_id.encode()


def part_key(election_id: str, race_id: str, region_id: str) -> bytes:
    """Stage 2's state key of the part of a race spanning regions in one region."""
    return f"{election_id}/{race_id}@{region_id}".encode()
