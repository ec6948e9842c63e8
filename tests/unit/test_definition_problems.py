"""A bad definition's problems are all listed, each with its JSON path."""

from __future__ import annotations

from builders import definition_dict
from votewire.core.definition_decoder import (
    MAX_LISTED_PROBLEMS,
    DefinitionError,
    definition_problems,
)


def test_every_problem_is_listed_with_its_path() -> None:
    """Problems in the header, a race and a precinct all come back at once, in order."""
    obj = definition_dict(date="25.07.2021", extra=1)
    obj["races"][0]["seats"] = 0
    obj["races"][1]["precincts"][0]["registered"] = -5
    obj["races"][2]["region_id"] = "nowhere"
    definition, error = definition_problems(obj)
    assert definition is None and isinstance(error, DefinitionError)
    assert [p.path for p in error.problems] == [
        "$",
        "$.date",
        "$.races[0].seats",
        "$.races[1].precincts[0].registered",
        "$.races[2].region_id",
    ]
    assert error.count == 5 and str(error).endswith("(and 4 more problems)")


def test_a_flood_of_problems_is_counted_beyond_the_listed() -> None:
    """100,000 broken precincts: the first MAX_LISTED_PROBLEMS listed, all counted."""
    obj = definition_dict()
    obj["races"][0]["precincts"] = [{"precinct_id": ""}] * 100_000
    _, error = definition_problems(obj)
    assert error is not None
    assert len(error.problems) == MAX_LISTED_PROBLEMS and error.count >= 100_000


def test_a_clean_definition_has_no_problem() -> None:
    """The reference definition decodes."""
    definition, error = definition_problems(definition_dict())
    assert error is None and definition is not None
