"""The parties a national view publishes: names from the registry (or the v1 party
text), colours from it or a stable, distinct fallback."""

from __future__ import annotations

from builders import definition_dict
from votewire.core.codec import decode_definition
from votewire.core.parties import PALETTE, party_lines


def test_a_v1_definition_gets_one_party_per_party_text_in_definition_order() -> None:
    """Without a registry each distinct `party` is a party named by its text."""
    lines = party_lines(decode_definition(definition_dict()))
    assert [(p["party_id"], p["name"], p["short_name"]) for p in lines] == [
        (text, text, text) for text in ("Nur Otan", "Auyl", "independent", "Adal", "Ak Zhol")
    ]


def test_fallback_colours_are_distinct_and_never_one_for_all() -> None:
    """Parties without a colour get different palette colours while the palette lasts."""
    lines = party_lines(decode_definition(definition_dict()))
    colours = [p["color"] for p in lines]
    assert len(set(colours)) == len(colours) and set(colours) <= set(PALETTE)


def test_a_party_keeps_its_fallback_colour_whatever_else_stands() -> None:
    """The fallback depends on the party id (and on which colours are taken), not on the
    party's place in the definition: reordering the races changes no colour."""
    obj = definition_dict()
    first = {p["party_id"]: p["color"] for p in party_lines(decode_definition(obj))}
    obj["races"].reverse()
    again = {p["party_id"]: p["color"] for p in party_lines(decode_definition(obj))}
    assert again == first


def test_registry_colours_are_kept_and_fallbacks_avoid_them() -> None:
    """A given colour is published as is; a party without one never gets a taken colour."""
    obj = definition_dict(
        parties=[
            {"party_id": p, "name": p.upper(), "color": c}
            for p, c in [("a", PALETTE[0]), ("b", None), ("c", None), ("d", PALETTE[1].upper())]
        ]
    )
    for race in obj["races"]:
        for i, cand in enumerate(race["candidates"]):
            cand["party"] = "abcd"[i]
    lines = party_lines(decode_definition(obj))
    assert [p["short_name"] for p in lines] == ["A", "B", "C", "D"]
    assert lines[0]["color"] == PALETTE[0] and lines[3]["color"] == PALETTE[1].upper()
    fallbacks = {lines[1]["color"], lines[2]["color"]}
    assert len(fallbacks) == 2 and not fallbacks & {PALETTE[0], PALETTE[1]}


def test_more_parties_than_colours_still_get_a_colour_each() -> None:
    """Past the palette's size colours repeat, but every party has one."""
    obj = definition_dict()
    obj["races"][0]["candidates"] = [
        {"candidate_id": f"c{i}", "name": "x", "party": f"party-{i}"} for i in range(20)
    ]
    lines = party_lines(decode_definition(obj))
    assert len(lines) == 20 + 3 and all(p["color"] in PALETTE for p in lines)
    assert len({p["color"] for p in lines}) == len(PALETTE)
