"""The published figures of Kazakhstan's rural akim elections (25 July 2021).

Loads the three CSV tables shipped in `services/core/scenario/data/` (see
`data/SOURCES.md`) into typed, immutable records. The tables are transcribed
as published, errors included; the loader checks only their internal sums
(each row's party columns against its total, Akmola's votes against 75,833)
and raises `ValueError` naming the table if a transcription broke them.

Party ids used everywhere in the scenario are `PARTY_IDS`; `PARTY_NAMES` gives
their display names. The Akmola vote table also has the two non-party lines,
`AGAINST_ALL` and `INVALID`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType

__all__ = [
    "AGAINST_ALL",
    "INVALID",
    "PARTY_IDS",
    "PARTY_NAMES",
    "CandidateFigures",
    "ChoiceVotes",
    "Reference",
    "RegionFigures",
    "load_reference",
]

PARTY_IDS: tuple[str, ...] = (
    "nur_otan",
    "auyl",
    "peoples_party",
    "ak_zhol",
    "adal",
    "nsdp",
    "independent",
)
"""Nominating parties in the order of the candidate table; `independent` = self-nominated."""

PARTY_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "nur_otan": "Nur Otan",
        "auyl": "Auyl People's Democratic Patriotic Party",
        "peoples_party": "People's Party of Kazakhstan",
        "ak_zhol": "Ak Zhol Democratic Party",
        "adal": "Adal",
        "nsdp": "Nationwide Social Democratic Party",
        "independent": "Independent",
    }
)

AGAINST_ALL = "against_all"
INVALID = "invalid"

_CHOICE_IDS: Mapping[str, str] = MappingProxyType(
    {
        **{name: party for party, name in PARTY_NAMES.items()},
        "Against all": AGAINST_ALL,
        "Invalid or blank": INVALID,
    }
)


@dataclass(frozen=True, slots=True)
class RegionFigures:
    """One row of `regions.csv`."""

    region_id: str
    name: str
    akims_elected: int
    registered: int
    ballots_cast: int
    turnout_pct_published: str
    """As printed, e.g. "90.88" (East Kazakhstan's is not the rounded quotient)."""
    akims_by_party: Mapping[str, int]
    """party id -> akims won; every id of `PARTY_IDS` is present."""


@dataclass(frozen=True, slots=True)
class CandidateFigures:
    """One row of `candidates_by_region.csv`: registered candidates by nominating party."""

    region_id: str
    local_races_announced: int
    by_party: Mapping[str, int]
    """party id -> candidates; every id of `PARTY_IDS` is present."""
    total: int


@dataclass(frozen=True, slots=True)
class ChoiceVotes:
    """One line of `akmola_party_votes.csv` (the Total line excluded)."""

    choice: str
    """A party id, `AGAINST_ALL` or `INVALID`."""
    label: str
    votes: int
    pct_published: str
    akims: int | None
    """Akims won (None for against-all and invalid)."""


@dataclass(frozen=True, slots=True)
class Reference:
    """All published tables of the scenario."""

    regions: tuple[RegionFigures, ...]
    """In the order of `regions.csv`."""
    candidates: Mapping[str, CandidateFigures]
    """region id -> candidate figures."""
    akmola_votes: tuple[ChoiceVotes, ...]
    akmola_total: int

    def region(self, region_id: str) -> RegionFigures:
        """The row of `region_id`; `KeyError` if there is none."""
        for row in self.regions:
            if row.region_id == region_id:
                return row
        raise KeyError(region_id)

    @property
    def registered(self) -> int:
        """Sum of the regions' registered voters (1,209,818; published national: 1,209,817)."""
        return sum(r.registered for r in self.regions)

    @property
    def ballots_cast(self) -> int:
        """Sum of the regions' ballots cast (956,984, equal to the national figure)."""
        return sum(r.ballots_cast for r in self.regions)


def _rows(name: str) -> list[dict[str, str]]:
    text = (
        files("votewire.core.scenario").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    )
    return list(csv.DictReader(io.StringIO(text)))


def _regions() -> tuple[RegionFigures, ...]:
    regions = []
    for row in _rows("regions.csv"):
        akims = {p: int(row[f"akims_{p}"]) for p in PARTY_IDS}
        figures = RegionFigures(
            region_id=row["region_id"],
            name=row["region_name"],
            akims_elected=int(row["akims_elected"]),
            registered=int(row["registered_voters"]),
            ballots_cast=int(row["ballots_cast"]),
            turnout_pct_published=row["turnout_pct_published"],
            akims_by_party=MappingProxyType(akims),
        )
        if sum(akims.values()) != figures.akims_elected:
            raise ValueError(f"regions.csv: {figures.region_id}: akims by party do not add up")
        regions.append(figures)
    return tuple(regions)


def _candidates() -> Mapping[str, CandidateFigures]:
    out = {}
    for row in _rows("candidates_by_region.csv"):
        by_party = {p: int(row[p]) for p in PARTY_IDS}
        figures = CandidateFigures(
            region_id=row["region_id"],
            local_races_announced=int(row["local_races_announced"]),
            by_party=MappingProxyType(by_party),
            total=int(row["total_candidates"]),
        )
        if sum(by_party.values()) != figures.total:
            raise ValueError(f"candidates_by_region.csv: {figures.region_id}: parties != total")
        out[figures.region_id] = figures
    return MappingProxyType(out)


def _akmola() -> tuple[tuple[ChoiceVotes, ...], int]:
    lines = []
    total = None
    for row in _rows("akmola_party_votes.csv"):
        if row["choice"] == "Total":
            total = int(row["votes"])
            continue
        akims = row["akims"]
        lines.append(
            ChoiceVotes(
                choice=_CHOICE_IDS[row["choice"]],
                label=row["choice"],
                votes=int(row["votes"]),
                pct_published=row["pct_published"],
                akims=int(akims) if akims else None,
            )
        )
    if total is None or sum(line.votes for line in lines) != total:
        raise ValueError("akmola_party_votes.csv: the lines do not add up to the Total line")
    return tuple(lines), total


@cache
def load_reference() -> Reference:
    """The published tables, read once from the package data."""
    regions = _regions()
    candidates = _candidates()
    if {r.region_id for r in regions} != set(candidates):
        raise ValueError("regions.csv and candidates_by_region.csv name different regions")
    akmola_votes, akmola_total = _akmola()
    return Reference(regions, candidates, akmola_votes, akmola_total)
