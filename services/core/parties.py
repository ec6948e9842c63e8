"""The parties of an election as readers see them: a name, a short name, a colour each.

`party_lines(definition)` is the registry the national view publishes
(`parties`), so a dashboard can name and paint every `party` id it finds in
a view:

- with a registry (contract v2 `parties`), its entries in their order;
- without one (a v1 definition, where `party` is free text), one entry per
  distinct `party` of the candidates, in definition order, named by that text.

A party without a colour gets a fallback from `PALETTE`: it starts at a slot
chosen by a hash of its `party_id` and takes the first free one from there
(not a colour the registry gave another party, nor one claimed by a party
whose id sorts before its own), so parties get different colours while the
palette lasts, and a party's colour depends on which parties stand, never on
their order: it is the same in every view, reload and process.
"""

from __future__ import annotations

import hashlib

from votewire.core.models import ElectionDefinition, Party
from votewire.core.views import PartyEntry

PALETTE: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#9c755f",
    "#ff9da7",
    "#17becf",
    "#8c564b",
    "#bcbd22",
)
"""Fallback colours (Tableau 10 and two more): distinct from each other on screen."""


def _start(party_id: str) -> int:
    digest = hashlib.sha256(party_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big") % len(PALETTE)


def registry(definition: ElectionDefinition) -> tuple[Party, ...]:
    """The definition's registry, or the one its candidates imply (see the module doc)."""
    if definition.parties:
        return definition.parties
    seen: dict[str, Party] = {}
    for race in definition.races:
        for c in race.candidates:
            if c.party not in seen:
                seen[c.party] = Party(c.party, c.party, c.party)
    return tuple(seen.values())


def party_lines(definition: ElectionDefinition) -> list[PartyEntry]:
    """Every party with its colour resolved (see the module doc)."""
    parties = registry(definition)
    taken = {p.color.lower() for p in parties if p.color}
    fallback: dict[str, str] = {}
    # Claimed in party_id order, so a colour depends on the parties, not on their order.
    for party_id in sorted(p.party_id for p in parties if p.color is None):
        start = _start(party_id)
        ring = [PALETTE[(start + i) % len(PALETTE)] for i in range(len(PALETTE))]
        color = next((c for c in ring if c not in taken), ring[0])
        taken.add(color)
        fallback[party_id] = color
    return [
        {
            "party_id": p.party_id,
            "name": p.name,
            "short_name": p.short_name,
            "color": p.color or fallback[p.party_id],
        }
        for p in parties
    ]
