"""Contract v2 definitions: party registry, districts, precinct regions, spanning races,
majority base; every problem named by its JSON path, v1 definitions unchanged."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from builders import definition_dict, race_dict
from votewire.core.codec import DefinitionError, decode_definition, encode_definition

PARTIES = [
    {"party_id": "nur_otan", "name": "Nur Otan", "short_name": "Nur Otan", "color": "#1f77b4"},
    {"party_id": "auyl", "name": "Auyl People's Democratic Patriotic Party", "short_name": "Auyl"},
    {"party_id": "adal", "name": "Adal", "color": None},
    {"party_id": "ak_zhol", "name": "Ak Zhol Democratic Party", "short_name": "Ak Zhol"},
    {"party_id": "independent", "name": "Self-nominated", "short_name": "Independent"},
]
DISTRICTS = [
    {"district_id": "N-d1", "region_id": "N", "name": "Arshaly"},
    {"district_id": "N-d2", "region_id": "N", "name": "Astrakhan"},
    {"district_id": "S-d1", "region_id": "S", "name": "Khromtau"},
]
PARTY_OF = {"Nur Otan": "nur_otan", "Auyl": "auyl", "Adal": "adal", "Ak Zhol": "ak_zhol"}


def v2_dict() -> dict[str, Any]:
    """`small_definition` with a registry, districts, and a national race over N and S."""
    obj = definition_dict(parties=copy.deepcopy(PARTIES), districts=copy.deepcopy(DISTRICTS))
    for race in obj["races"]:
        for c in race["candidates"]:
            c["party"] = PARTY_OF.get(c["party"], c["party"])
    obj["races"][0]["precincts"][0]["district_id"] = "N-d1"
    obj["races"][0]["precincts"][1]["district_id"] = "N-d2"
    national = race_dict(
        "PRES",
        "N",
        [("X", "nur_otan"), ("Y", "ak_zhol")],
        [("P1", 700), ("P2", 400), ("P3", 300)],
        winner_rule="majority",
    )
    national["region_id"] = None
    national["majority_base"] = "valid"
    for precinct, (region, district) in zip(
        national["precincts"], [("N", "N-d1"), ("N", None), ("S", "S-d1")], strict=True
    ):
        precinct["region_id"] = region
        if district:
            precinct["district_id"] = district
    obj["races"].append(national)
    return obj


def _problems(obj: Any) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        decode_definition(obj)
    return [str(p) for p in info.value.problems]


def test_a_v1_definition_decodes_with_the_defaults_and_encodes_to_itself() -> None:
    """A v1 definition (no parties, districts, precinct regions, majority_base) decodes,
    takes the documented defaults, and encodes back to exactly the v1 object."""
    obj = definition_dict()
    defn = decode_definition(obj)
    assert defn.parties == () and defn.districts == ()
    assert {r.majority_base for r in defn.races} == {"ballots_cast"}
    precincts = [p for r in defn.races for p in r.precincts]
    assert all(p.region_id is None and p.district_id is None for p in precincts)
    assert defn.race_regions("N1") == ("N",)
    assert encode_definition(defn) == obj


def test_a_v2_definition_round_trips_and_answers_its_lookups() -> None:
    """Registry, districts and a race spanning regions decode, round-trip exactly, and the
    definition tells where each race's precincts are."""
    obj = v2_dict()
    defn = decode_definition(obj)
    assert decode_definition(encode_definition(defn)) == defn
    pres = defn.race("PRES")
    assert pres is not None and pres.region_id is None and pres.majority_base == "valid"
    assert defn.race_regions("PRES") == ("N", "S")
    assert defn.race_regions("S1") == ("S",)
    assert defn.race_regions("nope") == ()
    assert [defn.region_of(pres, p) for p in pres.precincts] == ["N", "N", "S"]
    assert defn.races_in("N") == tuple(r for r in defn.races if r.region_id == "N")
    auyl = defn.party("auyl")
    assert auyl is not None and auyl.short_name == "Auyl" and auyl.color is None
    assert defn.party("adal") is not None and defn.party("adal").short_name == "Adal"  # type: ignore[union-attr]
    assert defn.district("S-d1") is not None and defn.district("S-d1").region_id == "S"  # type: ignore[union-attr]


def _set(path: list[Any], value: Any, obj: dict[str, Any] | None = None) -> dict[str, Any]:
    obj = obj or v2_dict()
    node: Any = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return obj


BAD = [
    (_set(["races", 0, "candidates", 1, "party"], "Auyl"),
     "$.races[0].candidates[1].party: unknown party 'Auyl'"),
    (_set(["parties", 1, "party_id"], "nur_otan"), "$.parties[1]: duplicate party id 'nur_otan'"),
    (_set(["parties", 0, "color"], "blue"),
     "$.parties[0].color: expected a colour as #rrggbb, got 'blue'"),
    (_set(["parties", 0, "color"], "#12345"), "$.parties[0].color: expected a colour as #rrggbb"),
    (_set(["parties", 0, "color"], "#12345g"), "$.parties[0].color"),
    (_set(["parties", 0, "color"], 255), "$.parties[0].color: expected a non-empty string"),
    (_set(["parties", 0, "party_id"], "Nur Otan"), "$.parties[0].party_id: expected 1-128"),
    (_set(["parties", 0, "name"], ""), "$.parties[0].name: expected a non-empty string"),
    (_set(["parties", 0, "short_name"], None),
     "$.parties[0].short_name: expected a non-empty string"),
    (_set(["parties", 0, "logo"], "x.png"), "$.parties[0]: unknown field(s) logo"),
    (_set(["districts", 1, "district_id"], "N-d1"),
     "$.districts[1]: duplicate district id 'N-d1'"),
    (_set(["districts", 0, "region_id"], "E"), "$.districts[0].region_id: unknown region 'E'"),
    (_set(["districts", 0, "district_id"], "N d1"), "$.districts[0].district_id: expected 1-128"),
    (_set(["races", 0, "precincts", 0, "district_id"], "N-d9"),
     "$.races[0].precincts[0].district_id: unknown district 'N-d9'"),
    (_set(["races", 0, "precincts", 0, "district_id"], "S-d1"),
     "$.races[0].precincts[0].district_id: district 'S-d1' is in region 'S', the precinct in 'N'"),
    (_set(["races", 3, "precincts", 2, "region_id"], "E"),
     "$.races[3].precincts[2].region_id: unknown region 'E'"),
    (_set(["races", 0, "precincts", 1, "region_id"], "S"),
     "$.races[0].precincts[1].region_id: 'S' is not the race's region 'N'"),
    (_set(["races", 3, "precincts", 1, "region_id"], None),
     "$.races[3].precincts[1].region_id: required: the race spans regions"),
    (_set(["races", 3, "majority_base"], "registered"),
     "$.races[3].majority_base: expected one of ballots_cast, valid"),
    (_set(["parties"], {}), "$.parties: expected a list"),
    (_set(["districts"], [1]), "$.districts[0]: expected an object"),
    (_set(["races", 0, "precincts", 0, "region_id"], 7),
     "$.races[0].precincts[0].region_id: expected a non-empty string"),
]  # fmt: skip


@pytest.mark.parametrize(("obj", "message"), BAD)
def test_each_broken_v2_rule_is_named_by_its_path(obj: dict[str, Any], message: str) -> None:
    """Every v2 rule refuses a definition that breaks it, naming the JSON path at fault."""
    assert any(p.startswith(message) for p in _problems(obj)), _problems(obj)


def test_every_rule_problem_is_reported_not_just_the_first() -> None:
    """Problems that are not about the shape are collected: all of them are listed."""
    obj = v2_dict()
    obj["races"][0]["candidates"][0]["party"] = "Nur Otan"
    obj["races"][2]["candidates"][1]["party"] = "Ak Zhol"
    obj["parties"][2]["color"] = "red"
    obj["races"][0]["precincts"][0]["district_id"] = "nowhere"
    problems = _problems(obj)
    assert [p.split(": ")[0] for p in problems] == [
        "$.parties[2].color",
        "$.races[0].candidates[0].party",
        "$.races[0].precincts[0].district_id",
        "$.races[2].candidates[1].party",
    ]
    with pytest.raises(
        DefinitionError, match=r"^\$\.parties\[2\]\.color: .*\(and 3 more problems\)$"
    ):
        decode_definition(obj)


def test_a_long_list_of_problems_is_cut_in_the_message_only() -> None:
    """The message shows the first problem and how many more; `problems` has them all."""
    obj = v2_dict()
    obj["races"][0]["candidates"] = [
        {"candidate_id": f"c{i}", "name": "x", "party": f"nobody{i}"} for i in range(30)
    ]
    obj["races"][0]["seats"] = 1
    with pytest.raises(DefinitionError) as info:
        decode_definition(obj)
    assert len(info.value.problems) == 30
    assert info.value.count == 30
    assert str(info.value).endswith("(and 29 more problems)")


def test_without_a_registry_party_is_free_text() -> None:
    """No `parties`: any non-empty party text is accepted, as in contract v1."""
    obj = v2_dict()
    del obj["parties"]
    obj["races"][0]["candidates"][0]["party"] = "Nur Otan (free text)"
    assert decode_definition(obj).race("N1").candidates[0].party == "Nur Otan (free text)"  # type: ignore[union-attr]


def test_a_precinct_may_name_its_own_race_region() -> None:
    """A precinct that repeats its race's region is the same as one that leaves it out."""
    obj = v2_dict()
    obj["races"][0]["precincts"][0]["region_id"] = "N"
    defn = decode_definition(obj)
    race = defn.race("N1")
    assert race is not None and defn.region_of(race, race.precincts[0]) == "N"
    assert decode_definition(encode_definition(defn)) == defn
