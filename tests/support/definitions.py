"""A tiny election definition for tests that need a real one on the wire."""

from __future__ import annotations

from typing import Any


def tiny_definition(election_id: str = "tiny-2026") -> dict[str, Any]:
    """Two regions, two races, three precincts; against-all on."""
    return {
        "election_id": election_id,
        "name": "Тестовые выборы / Сынақ сайлауы",
        "date": "2026-07-25",
        "timezone": "Asia/Almaty",
        "turnout_marks": ["10:00", "12:00", "20:00"],
        "share_base": "ballots_cast",
        "test": True,
        "regions": [
            {"region_id": "north", "name": "Солтүстік", "timezone": None},
            {"region_id": "west", "name": "Батыс", "timezone": "Asia/Oral"},
        ],
        "races": [
            {
                "race_id": "r1",
                "name": "Ақсу ауылы",
                "region_id": "north",
                "office": "rural_akim",
                "seats": 1,
                "against_all": True,
                "winner_rule": "plurality",
                "against_all_rule": "ignore",
                "candidates": [
                    {"candidate_id": "c1", "name": "Асқар Б.", "party": "nur_otan"},
                    {"candidate_id": "c2", "name": "Гүлнар Е.", "party": "independent"},
                ],
                "precincts": [
                    {"precinct_id": "p1", "name": "№1", "registered": 1000},
                    {"precinct_id": "p2", "name": "№2", "registered": 500},
                ],
            },
            {
                "race_id": "r2",
                "name": "Жаңа ауыл",
                "region_id": "west",
                "office": "rural_akim",
                "seats": 1,
                "against_all": True,
                "winner_rule": "plurality",
                "against_all_rule": "ignore",
                "candidates": [
                    {"candidate_id": "c3", "name": "Серік А.", "party": "auyl"},
                    {"candidate_id": "c4", "name": "Дана К.", "party": "nur_otan"},
                ],
                "precincts": [{"precinct_id": "p3", "name": "№3", "registered": 800}],
            },
        ],
    }


def result_report(
    report_id: str,
    race_id: str,
    precinct_id: str,
    registered: int,
    votes: dict[str, int],
    against_all: int,
    invalid: int,
    revision: int = 1,
    election_id: str = "tiny-2026",
) -> dict[str, Any]:
    return {
        "kind": "result",
        "report_id": report_id,
        "election_id": election_id,
        "race_id": race_id,
        "precinct_id": precinct_id,
        "registered": registered,
        "ballots_cast": sum(votes.values()) + against_all + invalid,
        "votes": votes,
        "against_all": against_all,
        "invalid": invalid,
        "revision": revision,
        "reported_at": "2026-07-25T21:05:00+06:00",
    }
