"""Outcome rules of a complete race: plurality, majority, ties, against-all."""

from __future__ import annotations

from votewire.core.models import Candidate, Precinct, Race
from votewire.core.outcome import Outcome, decide


def race(
    rule: str = "plurality",
    candidates: str = "ABC",
    *,
    against_all: bool = True,
    against_all_rule: str = "repeat_election",
    seats: int = 1,
    majority_base: str = "ballots_cast",
) -> Race:
    return Race(
        race_id="R",
        name="R",
        region_id="N",
        office="akim",
        seats=seats,
        against_all=against_all,
        winner_rule=rule,  # type: ignore[arg-type]
        against_all_rule=against_all_rule,  # type: ignore[arg-type]
        candidates=tuple(Candidate(c, c, f"party-{c}") for c in candidates),
        precincts=(Precinct("P", "P", 1000),),
        majority_base=majority_base,  # type: ignore[arg-type]
    )


def votes(**kw: int) -> dict[str, int]:
    return kw


def test_plurality_most_votes_wins() -> None:
    """Plurality: the candidate with the most votes wins, even without a majority."""
    out = decide(race(), votes(A=40, B=35, C=25), against_all=10, ballots_cast=110)
    assert out == Outcome("winner", ("A",))
    assert out.to_dict() == {
        "type": "winner",
        "candidate_id": "A",
        "candidate_ids": ["A"],
        "place": None,
        "reason": None,
    }


def test_plurality_tie_for_first_is_a_tie() -> None:
    """Plurality: equal top votes give a tie between the tied candidates, ids sorted."""
    out = decide(race(), votes(A=30, B=40, C=40), against_all=0, ballots_cast=110)
    assert out == Outcome("tie", ("B", "C"), place=1)
    assert out.to_dict()["candidate_id"] is None


def test_against_all_beating_everyone_forces_repeat_election() -> None:
    """Against-all strictly above every candidate, rule repeat_election: repeat election."""
    out = decide(race(), votes(A=30, B=20, C=10), against_all=31, ballots_cast=91)
    assert out == Outcome("repeat_election", (), reason="against_all")


def test_against_all_equal_to_top_is_not_a_win() -> None:
    """A tie between against-all and the top candidate leaves the candidate the winner."""
    out = decide(race(), votes(A=30, B=20, C=10), against_all=30, ballots_cast=90)
    assert out == Outcome("winner", ("A",))


def test_against_all_ignored_under_ignore_rule() -> None:
    """With against_all_rule "ignore", the top candidate wins whatever against-all got."""
    r = race(against_all_rule="ignore")
    assert decide(r, votes(A=30, B=20, C=10), 99, 159) == Outcome("winner", ("A",))


def test_majority_needs_more_than_half_of_ballots_cast() -> None:
    """Majority: 2 * votes > ballots_cast (incl. against-all and invalid) wins outright."""
    r = race("majority", "AB", against_all=False)
    assert decide(r, votes(A=51, B=49), 0, 100) == Outcome("winner", ("A",))
    assert decide(r, votes(A=50, B=40), 0, 100) == Outcome("runoff", ("A", "B"))


def test_majority_base_includes_invalid_ballots() -> None:
    """60 of 105 valid votes is a majority of ballots cast; 52 of 105 is not."""
    r = race("majority", "AB", against_all=False)
    assert decide(r, votes(A=60, B=30), 0, 105).type == "winner"
    assert decide(r, votes(A=52, B=38), 0, 105) == Outcome("runoff", ("A", "B"))


def test_a_valid_majority_base_leaves_invalid_ballots_out() -> None:
    """majority_base "valid": 52 of 90 valid (+ 15 invalid) wins; against-all counts as
    valid, so 52 of 90 + 20 against-all does not."""
    r = race("majority", "AB", against_all=False, majority_base="valid")
    assert decide(r, votes(A=52, B=38), 0, 105) == Outcome("winner", ("A",))
    with_line = race("majority", "AB", against_all_rule="ignore", majority_base="valid")
    assert decide(with_line, votes(A=52, B=38), 20, 110) == Outcome("runoff", ("A", "B"))
    assert decide(with_line, votes(A=56, B=34), 20, 110) == Outcome("winner", ("A",))


def test_the_majority_base_is_ignored_by_plurality() -> None:
    """A plurality race decides by most votes whatever its majority_base says."""
    r = race("plurality", "AB", against_all=False, majority_base="valid")
    assert decide(r, votes(A=40, B=30), 0, 200) == Outcome("winner", ("A",))


def test_majority_runoff_between_the_top_two() -> None:
    """Majority without a majority: a runoff between first and second."""
    out = decide(race("majority"), votes(A=20, B=45, C=35), 0, 100)
    assert out == Outcome("runoff", ("B", "C"))


def test_majority_two_tied_first_go_to_runoff() -> None:
    """Two candidates tied for first with a clear third: both go to the runoff."""
    out = decide(race("majority"), votes(A=40, B=40, C=20), 0, 100)
    assert out == Outcome("runoff", ("A", "B"))


def test_majority_three_tied_first_is_a_tie() -> None:
    """Three tied for first cannot be reduced to a runoff pair: a tie at place 1."""
    out = decide(race("majority"), votes(A=30, B=30, C=30), 10, 100)
    assert out == Outcome("tie", ("A", "B", "C"), place=1)


def test_majority_tie_for_second_is_a_tie() -> None:
    """A unique first and a tie for second: a tie between the seconds, place 2."""
    out = decide(race("majority", "ABCD"), votes(A=40, B=25, C=25, D=10), 0, 100)
    assert out == Outcome("tie", ("B", "C"), place=2)


def test_majority_sole_candidate_without_majority_repeats() -> None:
    """A sole candidate below a majority cannot face a runoff: repeat election."""
    out = decide(race("majority", "A", against_all=False), votes(A=40), 0, 100)
    assert out == Outcome("repeat_election", (), reason="no_majority")


def test_plurality_multi_seat_top_candidates_win() -> None:
    """Plurality with two seats elects the top two."""
    out = decide(race(seats=2), votes(A=50, B=30, C=20), 0, 100)
    assert out == Outcome("winner", ("A", "B"))
    assert out.to_dict()["candidate_id"] is None


def test_plurality_multi_seat_tie_at_the_boundary() -> None:
    """Two seats, second and third tied: a tie at place 2 (the first is elected)."""
    out = decide(race(seats=2), votes(A=50, B=25, C=25), 0, 100)
    assert out == Outcome("tie", ("B", "C"), place=2)


def test_all_zero_votes_is_a_tie() -> None:
    """With nobody voting, every candidate is tied for first."""
    out = decide(race(against_all=False), votes(A=0, B=0, C=0), 0, 0)
    assert out == Outcome("tie", ("A", "B", "C"), place=1)
