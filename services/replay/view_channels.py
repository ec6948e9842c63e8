"""The Redis channels of an election's views, and the documents replay writes on them.

The channel set, the documents and the rule of what is published are the
aggregate's, built by the same function (`votewire.core.publication`), so a
replay namespace can be read by the same live service and compared channel
by channel: a race never heard from by the cut of the replay has no view,
as it had none on the live service at that moment (docs/replay.md).
"""

from __future__ import annotations

from typing import Literal

from votewire.core.channels import race_channel, region_channel, summary_channel
from votewire.core.models import ElectionDefinition
from votewire.core.publication import Publication, tally_publications
from votewire.core.tally import ElectionTally

Scope = Literal["national", "region", "race"]


def view_documents(tally: ElectionTally) -> list[Publication]:
    """(channel, version, document) of every view the tally publishes, for `put_views`."""
    return tally_publications(tally)


def view_channels(definition: ElectionDefinition) -> list[tuple[Scope, str | None, str]]:
    """(scope, id, channel) of the views an audit compares: nation, regions, races."""
    e = definition.election_id
    out: list[tuple[Scope, str | None, str]] = [("national", None, summary_channel(e))]
    out += [("region", r.region_id, region_channel(e, r.region_id)) for r in definition.regions]
    out += [("race", r.race_id, race_channel(e, r.race_id)) for r in definition.races]
    return out
