"""Debiased balanced interleaving: Balanced's merge, an inverse-propensity credit over its coin."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave import Balanced, DebiasedBalanced, Interleaving, InvalidArgument
from interleave.methods.debiased_balanced import (
    SHARED,
    UNCONTESTED,
    attribution_at,
    attributions,
)
from interleave.ranking import validate_rankings
from tests.fuzzing import call_bounded
from tests.interleave._support import FixedCoins, exact_distribution

TEXTBOOK = [["d1", "d2", "d3"], ["d2", "d3", "d1"]]  # REFERENCES §1, Balanced's known bias


@st.composite
def ranking_pairs(draw):
    ids = draw(st.lists(st.integers(0, 9), min_size=1, max_size=7, unique=True))
    a = draw(st.permutations(ids))[: draw(st.integers(1, len(ids)))]
    b = draw(st.permutations(ids))[: draw(st.integers(1, len(ids)))]
    return [list(a), list(b)]


def both_merges(method, rankings):
    """The records of the two equally likely coin outcomes (leader A, leader B)."""
    lists, positions = validate_rankings(rankings, max_rankers=2)
    length = method.resolve_length(lists)
    records = []
    for coin in (1, 0):
        items, teams = method._merge(lists, positions, length, FixedCoins([coin]))
        records.append(
            Interleaving(
                method=method.name,
                items=tuple(items),
                teams=tuple(teams),
                ranks=tuple(tuple(p.get(x, -1) for x in items) for p in positions),
                ranking_lengths=tuple(map(len, lists)),
                params=method.params(),
            )
        )
    return records


def click_sets(n):
    return [
        tuple(p for p in range(n) if pattern[p]) for pattern in itertools.product((0, 1), repeat=n)
    ]


# --- the merge ----------------------------------------------------------------------------------


@given(rankings=ranking_pairs(), length=st.one_of(st.none(), st.integers(1, 8)))
def test_the_shown_lists_are_balanceds_for_every_coin(rankings, length):
    def lists(method):
        distribution = Counter()
        for (items, _), p in exact_distribution(method, rankings, n_coins=1).items():
            distribution[items] += p
        return distribution

    assert lists(DebiasedBalanced(length=length)) == lists(Balanced(length=length))


def test_same_key_gives_the_same_list_as_balanced():
    rankings = [[1, 2, 3, 4, 5], [3, 6, 1, 7, 2]]
    for k in range(20):
        ours = DebiasedBalanced(length=5).interleave(rankings, key=f"r{k}", seed=3)
        theirs = Balanced(length=5).interleave(rankings, key=f"r{k}", seed=3)
        assert ours.items == theirs.items


# --- the credit is the inverse-propensity estimator over the coin ---------------------------------


def brute_force_scores(rankings, records, coin, clicks):
    """IPW credit from the definition, with the full rankings and both merges in hand.

    A click at p is attributed to ranker j when j ranks the clicked item at least as high as the
    other ranker (absent = below everything); weight 1 / P(attributed to j at p) over the two
    equally likely merges; positions where either ranker's probability is 0 count for nobody.
    """
    lists = [list(r) for r in rankings]

    def rank(j, item):
        return lists[j].index(item) if item in lists[j] else float("inf")

    def attributed(j, item):
        return rank(j, item) <= rank(1 - j, item)

    scores = [Fraction(0), Fraction(0)]
    for p in clicks:
        propensity = [Fraction(sum(attributed(j, r.items[p]) for r in records), 2) for j in (0, 1)]
        if min(propensity) == 0:
            continue
        for j in (0, 1):
            if attributed(j, records[coin].items[p]):
                scores[j] += 1 / propensity[j]
    return scores


@given(rankings=ranking_pairs(), length=st.one_of(st.none(), st.integers(1, 8)))
def test_credit_from_the_record_equals_the_definition_with_full_rankings(rankings, length):
    method = DebiasedBalanced(length=length)
    records = both_merges(method, rankings)
    assert len(records[0].items) == len(records[1].items)
    for coin, record in enumerate(records):
        for clicks in click_sets(len(record.items)):
            expected = brute_force_scores(rankings, records, coin, clicks)
            assert method.credit(record, list(clicks)).scores == tuple(map(float, expected))


@given(rankings=ranking_pairs(), length=st.one_of(st.none(), st.integers(1, 8)))
def test_every_click_set_is_unbiased_over_the_coin(rankings, length):
    # Exact: for each set of clicked positions, the two equally likely merges give opposite score
    # differences, so any click distribution that ignores the items prefers neither ranker, in
    # expected score difference and in expected outcome.
    method = DebiasedBalanced(length=length)
    records = both_merges(method, rankings)
    for clicks in click_sets(len(records[0].items)):
        credits = [method.credit(r, list(clicks)) for r in records]
        differences = [c.scores[0] - c.scores[1] for c in credits]
        assert differences[0] == -differences[1]
        assert credits[0].outcome == -credits[1].outcome


def expected_under_uniform_random_clicks(method, rankings, statistic):
    """E[statistic] over the coin and the 2**n equally likely click sets, as a Fraction."""
    total = Fraction(0)
    for (items, teams), p_list in exact_distribution(method, rankings, n_coins=1).items():
        lists, positions = validate_rankings(rankings)
        il = Interleaving(
            method=method.name,
            items=items,
            teams=teams,
            ranks=tuple(tuple(p.get(x, -1) for x in items) for p in positions),
            ranking_lengths=tuple(map(len, lists)),
            params=method.params(),
        )
        for clicks in click_sets(len(items)):
            value = Fraction(statistic(method.credit(il, list(clicks))))
            total += p_list * value / 2 ** len(items)
    return total


def test_textbook_pair_is_unbiased_where_balanced_is_not():
    # REFERENCES §1: A = (d1, d2, d3), B = (d2, d3, d1). Plain Balanced (Joachims' cut-off) gives
    # B an expected outcome of -1/4 under uniformly random clicks (pinned in test_balanced.py,
    # recomputed here by the same enumeration); the debiased credit gives exactly 0, in outcome
    # and in score difference.
    def outcome(c):
        return c.outcome

    def difference(c):
        return c.scores[0] - c.scores[1]

    assert expected_under_uniform_random_clicks(Balanced(), TEXTBOOK, outcome) == Fraction(-1, 4)
    assert expected_under_uniform_random_clicks(DebiasedBalanced(), TEXTBOOK, outcome) == 0
    assert expected_under_uniform_random_clicks(DebiasedBalanced(), TEXTBOOK, difference) == 0


def test_textbook_pair_attributions():
    # Both merges, (d1, d2, d3) and (d2, d1, d3): d1 and d2 are the round-0 pair, each credited
    # to its own ranker; d3 is alone in round 1, at position 2 under both coins, and only B (which
    # ranks it 1 against A's 2) could ever be credited for it: it carries no comparison.
    method = DebiasedBalanced()
    a_first, b_first = both_merges(method, TEXTBOOK)
    assert a_first.items == ("d1", "d2", "d3")
    assert attributions(*a_first.ranks, 3, 3) == [0, 1, UNCONTESTED]
    assert attributions(*b_first.ranks, 3, 3) == [1, 0, UNCONTESTED]
    assert method.credit(a_first, [2]).scores == (0.0, 0.0)
    assert method.credit(a_first, [0, 2]).scores == (2.0, 0.0)


def test_a_round_cut_by_length_is_still_contested():
    # A = (1, 2, 3), B = (4, 5, 6), length 3: (1, 4, 2) or (4, 1, 5). Position 2 shows A's rank-1
    # item or B's, one coin each: a click there is worth 2 to whoever's item it is.
    method = DebiasedBalanced(length=3)
    a_first, b_first = both_merges(method, [[1, 2, 3], [4, 5, 6]])
    assert (a_first.items, b_first.items) == ((1, 4, 2), (4, 1, 5))
    assert method.credit(a_first, [2]).scores == (2.0, 0.0)
    assert method.credit(b_first, [2]).scores == (0.0, 2.0)


def test_an_item_both_rank_the_same_is_credited_to_both():
    method = DebiasedBalanced()
    il = method.interleave([[1, 2, 3], [1, 3, 2]], key="k", seed=0)
    assert il.items[0] == 1
    assert attributions(*il.ranks, 3, 3)[0] == SHARED
    assert method.credit(il, [0]).scores == (1.0, 1.0)
    assert method.credit(il, [0]).winner is None


def test_identical_rankings_never_prefer_either():
    method = DebiasedBalanced()
    il = method.interleave([[1, 2, 3, 4], [1, 2, 3, 4]], key="k", seed=0)
    for clicks in click_sets(4):
        assert method.credit(il, list(clicks)).winner is None


@given(rankings=ranking_pairs(), data=st.data())
def test_clicks_only_on_items_a_ranks_higher_never_let_b_win(rankings, data):
    method = DebiasedBalanced()
    il = method.interleave(rankings, key="k", seed=data.draw(st.integers(0, 99)))
    ranks_a, ranks_b = il.ranks
    favoured = [
        p
        for p in range(len(il.items))
        if ranks_a[p] != -1 and (ranks_b[p] == -1 or ranks_a[p] < ranks_b[p])
    ]
    clicks = sorted(data.draw(st.sets(st.sampled_from(favoured))) if favoured else [])
    assert method.credit(il, clicks).outcome >= 0


def test_credit_reads_ranks_not_teams():
    # A list shown by someone else can be credited from its ranks alone.
    method = DebiasedBalanced(length=4)
    il = method.interleave([[1, 2, 3, 4], [3, 5, 1, 6]], key="k", seed=1)
    stripped = dataclasses.replace(il, teams=(-1,) * len(il.items))
    for clicks in click_sets(len(il.items)):
        assert method.credit(stripped, list(clicks)) == method.credit(il, list(clicks))


def test_batch_equals_single_calls_and_single_credit():
    method = DebiasedBalanced(length=6)
    rankings = [[1, 2, 3, 4, 5, 6, 7], [3, 8, 1, 9, 2, 10]]
    batch = method.interleave_batch(rankings, 300, rng=np.random.default_rng(5))
    single = np.random.default_rng(5)
    clicks = np.random.default_rng(6).random((300, 6)) < 0.3
    credits = method.credit_batch(batch, clicks)
    for i in range(300):
        record = method.interleave(rankings, rng=single)
        assert batch[i].items == record.items
        expected = method.credit(record, clicks[i])
        assert tuple(credits.scores[i]) == expected.scores
        assert credits.preferences[i].tolist() == [list(r) for r in expected.preferences]


def test_more_than_two_rankings_are_refused():
    with pytest.raises(InvalidArgument, match="compares exactly 2"):
        DebiasedBalanced().interleave([[1], [2], [3]], key="k", seed=0)


def test_configuration_is_only_the_length():
    assert DebiasedBalanced(length=5).params() == (("length", 5),)
    assert repr(DebiasedBalanced()) == "DebiasedBalanced(length=None)"


# --- hostile input (the fuzz rule: only the library's errors, bounded time and memory) -----------

_SMALL = 256 << 20  # bytes


@st.composite
def tampered_records(draw, method, rankings):
    """A logged record of ``method`` with one entry of one field replaced by a hostile value."""
    record = method.interleave(rankings, key="r", seed=draw(st.integers(0, 99))).to_dict()
    field = draw(st.sampled_from(["items", "teams", "ranks", "ranking_lengths", "params"]))
    hostile = draw(
        st.one_of(
            st.integers(-3, 12),
            st.integers(),
            st.none(),
            st.floats(allow_nan=True),
            st.text(max_size=2),
            st.booleans(),
        )
    )
    if field == "params":
        record["params"] = {"length": hostile}
    elif field == "ranks":
        row = draw(st.integers(0, len(record["ranks"]) - 1))
        if record["ranks"][row]:
            record["ranks"][row][draw(st.integers(0, len(record["ranks"][row]) - 1))] = hostile
    elif record[field]:
        record[field][draw(st.integers(0, len(record[field]) - 1))] = hostile
    return record


hostile_clicks = st.one_of(
    st.lists(st.integers(-2, 12), max_size=6),
    st.lists(st.booleans(), max_size=6),
    st.text(max_size=3),
    st.none(),
    st.lists(st.floats(), max_size=2),
)


@given(data=st.data())
def test_fuzz_tampered_records_and_clicks_raise_only_library_errors(data):
    method = DebiasedBalanced()
    rankings = data.draw(ranking_pairs())
    status, record = call_bounded(
        Interleaving.from_dict, data.draw(tampered_records(method, rankings)), max_seconds=2
    )
    if status == "ok":
        call_bounded(method.credit, record, data.draw(hostile_clicks), max_seconds=2)


@pytest.mark.parametrize("length", [10**6, 10**18])
def test_fuzz_huge_length_is_bounded_by_the_items(length):
    method = DebiasedBalanced(length)
    status, il = call_bounded(
        method.interleave,
        [[1, 2, 3], [3, 4, 5]],
        key="r",
        seed=1,
        max_seconds=2,
        max_extra_bytes=_SMALL,
    )
    assert status == "ok"
    assert sorted(il.items) == [1, 2, 3, 4, 5]
    status, batch = call_bounded(
        method.interleave_batch,
        [[1, 2, 3], [3, 4, 5]],
        1000,
        rng=0,
        max_seconds=5,
        max_extra_bytes=_SMALL,
    )
    assert status == "ok"
    assert batch.n_shown.tolist() == [5] * 1000


def test_fuzz_long_rankings_answer_in_bounded_time():
    n = 10**5
    rankings = [list(range(n)), list(range(n // 2, n + n // 2))]
    method = DebiasedBalanced()
    status, il = call_bounded(
        method.interleave, rankings, key="r", seed=1, max_seconds=20, max_extra_bytes=_SMALL
    )
    assert status == "ok"
    status, _ = call_bounded(
        method.credit, il, [0, 7, n - 1], max_seconds=20, max_extra_bytes=_SMALL
    )
    assert status == "ok"


@given(rankings=ranking_pairs(), length=st.one_of(st.none(), st.integers(1, 8)))
def test_one_position_attribution_equals_the_whole_list_one(rankings, length):
    for record in both_merges(DebiasedBalanced(length=length), rankings):
        args = (*record.ranks, *record.ranking_lengths)
        whole = attributions(*args)
        assert [attribution_at(p, *args) for p in range(len(record.items))] == whole
