"""Balanced interleaving: the merge, both click cut-off rules, the known bias, the batch path."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave import Balanced, Interleaving, InvalidArgument
from interleave.methods.balanced import balanced_merge

from ._support import exact_distribution


def test_merge_has_exactly_two_lists_one_per_leader():
    dist = exact_distribution(Balanced(length=4), [[1, 2, 3, 4], [2, 5, 1, 6]], n_coins=1)
    assert dist == {
        ((1, 2, 5, 3), (0, 1, 1, 0)): Fraction(1, 2),
        ((2, 1, 5, 3), (1, 0, 1, 0)): Fraction(1, 2),
    }


def test_every_prefix_holds_the_tops_of_both_rankings():
    a, b = [1, 2, 3, 4, 5, 6], [6, 3, 7, 1, 8, 9]
    for (items, _), _ in exact_distribution(Balanced(), [a, b], n_coins=1).items():
        for cut in range(1, len(items) + 1):
            prefix = set(items[:cut])
            ka = max((i + 1 for i in range(len(a)) if set(a[: i + 1]) <= prefix), default=0)
            kb = max((i + 1 for i in range(len(b)) if set(b[: i + 1]) <= prefix), default=0)
            assert prefix == set(a[:ka]) | set(b[:kb])
            assert abs(ka - kb) <= 1


def lerot_case(cutoff):
    # Lerot's test case (REFERENCES §1): l = [0,2,1,3], a = [3,0,1,2], b = [1,3,2,0],
    # clicks at positions 0 and 2.
    method = Balanced(cutoff=cutoff)
    il = Interleaving.from_rankings(
        "balanced", [0, 2, 1, 3], [[3, 0, 1, 2], [1, 3, 2, 0]], params=dict(method.params())
    )
    return method.credit(il, clicks=[0, 2])


def test_lerot_cutoff_rule_makes_a_win_lerots_case():
    # REFERENCES §1: "gives A wins under Lerot's rule".
    credit = lerot_case("lerot")
    assert credit.scores == (2.0, 1.0)
    assert credit.winner == 0


def test_joachims_cutoff_rule_makes_b_win_lerots_case():
    # REFERENCES §1: "B under mpkato's" (= Joachims 2003: k = min ranks of the deepest click).
    credit = lerot_case("joachims")
    assert credit.scores == (0.0, 1.0)
    assert credit.winner == 1


def test_default_cutoff_is_joachims():
    assert Balanced().cutoff == "joachims"


def test_unknown_cutoff_lists_the_options():
    with pytest.raises(
        InvalidArgument, match=r"`cutoff` must be one of \{'joachims', 'lerot'\}, got 'mpkato'"
    ):
        Balanced(cutoff="mpkato")


def test_no_clicks_is_a_tie():
    method = Balanced()
    il = method.interleave([[1, 2], [2, 1]], key="k", seed=0)
    assert method.credit(il, clicks=[]).winner is None


def expected_outcome_under_random_clicks(method, rankings):
    total = Fraction(0)
    for (items, teams), p_list in exact_distribution(method, rankings, n_coins=1).items():
        il = Interleaving.from_rankings(
            "balanced", items, rankings, teams=teams, params=dict(method.params())
        )
        for pattern in itertools.product((0, 1), repeat=len(items)):
            clicks = [p for p in range(len(items)) if pattern[p]]
            total += p_list * Fraction(int(method.credit(il, clicks).outcome), 2 ** len(items))
    return total


@pytest.mark.parametrize(
    ("cutoff", "bias"), [("joachims", Fraction(-1, 4)), ("lerot", Fraction(-1, 8))]
)
def test_known_bias_under_random_clicks_is_pinned(cutoff, bias):
    # REFERENCES §1: A = (d1, d2, d3), B = (d2, d3, d1) is Balanced's textbook bias case: both
    # merged lists, (d1, d2, d3) and (d2, d1, d3), rank d2 and d3 higher in B, so under uniformly
    # random clicks (each of the 8 click sets equally likely) B wins more often than A. Exact
    # values from this enumeration; Lerot's checked by hand (net -1 over the 8 click sets).
    rankings = [["d1", "d2", "d3"], ["d2", "d3", "d1"]]
    assert expected_outcome_under_random_clicks(Balanced(cutoff=cutoff), rankings) == bias


@pytest.mark.parametrize("cutoff", ["joachims", "lerot"])
def test_batch_equals_single_calls_and_single_credit(cutoff):
    method = Balanced(length=6, cutoff=cutoff)
    rankings = [[1, 2, 3, 4, 5, 6, 7], [3, 8, 1, 9, 2, 10]]
    batch = method.interleave_batch(rankings, 600, rng=np.random.default_rng(5))
    single = np.random.default_rng(5)
    clicks = np.random.default_rng(6).random((600, 6)) < 0.3
    credits = method.credit_batch(batch, clicks)
    for i in range(600):
        assert batch[i] == method.interleave(rankings, rng=single)
        expected = method.credit(batch[i], clicks[i])
        assert tuple(credits.scores[i]) == expected.scores
        assert credits.outcome[i] == expected.outcome


def test_balanced_compares_exactly_two_rankings():
    with pytest.raises(InvalidArgument, match="compares exactly 2"):
        Balanced().interleave([[1], [2], [3]], key="k", seed=0)


def reference_balanced_merge(a, b, length, a_first):
    # Joachims' pointer rule written out literally: advance the pointer that is behind (the
    # leader on ties), append its item unless already shown.
    items, teams, ka, kb = [], [], 0, 0
    while len(items) < length and (ka < len(a) or kb < len(b)):
        if kb >= len(b) or (ka < len(a) and (ka < kb or (ka == kb and a_first))):
            item, team, ka = a[ka], 0, ka + 1
        else:
            item, team, kb = b[kb], 1, kb + 1
        if item not in items:
            items.append(item)
            teams.append(team)
    return items, teams


@given(
    a=st.lists(st.integers(0, 15), min_size=1, max_size=10, unique=True),
    b=st.lists(st.integers(0, 15), min_size=1, max_size=10, unique=True),
    length=st.integers(1, 25),
    a_first=st.booleans(),
)
def test_merge_follows_the_pointer_rule(a, b, length, a_first):
    assert balanced_merge(a, b, length, a_first) == reference_balanced_merge(a, b, length, a_first)
