"""Team-Draft: exact support sets, the common-prefix rule, multileaving, credit, batch path."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave import Interleaving, InvalidArgument, TeamDraft

from ._support import exact_distribution


def support(method, rankings):
    length = method.resolve_length(rankings)
    return exact_distribution(method, rankings, n_coins=length)


def test_overlapping_pair_at_length_two_has_exactly_two_lists():
    # Issue 2: TeamDraft on [[1,2],[2,3]] at length 2 gives exactly {(1,2),(2,1)}.
    dist = support(TeamDraft(length=2), [[1, 2], [2, 3]])
    assert {items for items, _ in dist} == {(1, 2), (2, 1)}
    assert dist == {((1, 2), (0, 1)): Fraction(1, 2), ((2, 1), (1, 0)): Fraction(1, 2)}


def test_disjoint_pair_at_length_three_has_exactly_four_lists():
    # Issue 2 (after mpkato tests/test_team_draft.py): one coin per round.
    dist = support(TeamDraft(length=3), [[1, 2], [3, 4]])
    assert {items for items, _ in dist} == {(1, 3, 2), (1, 3, 4), (3, 1, 2), (3, 1, 4)}
    assert set(dist.values()) == {Fraction(1, 4)}


def test_common_prefix_goes_to_no_team_and_is_shown_first():
    dist = support(TeamDraft(length=4), [[1, 2, 3, 4], [1, 2, 4, 3]])
    assert dist == {
        ((1, 2, 3, 4), (-1, -1, 0, 1)): Fraction(1, 2),
        ((1, 2, 4, 3), (-1, -1, 1, 0)): Fraction(1, 2),
    }


def test_without_common_prefix_the_shared_top_is_drafted():
    dist = support(TeamDraft(length=2, common_prefix=False), [[1, 2], [1, 3]])
    assert dist == {((1, 3), (0, 1)): Fraction(1, 2), ((1, 2), (1, 0)): Fraction(1, 2)}


def test_identical_rankings_never_prefer_either():
    method = TeamDraft()
    ranking = list(range(10))
    for key in range(50):
        il = method.interleave([ranking, ranking], key=key, seed=3)
        assert il.items == tuple(ranking)
        assert set(il.teams) == {-1}
        assert method.credit(il, clicks=list(range(10))).winner is None


def test_a_ranker_that_runs_out_sits_out_and_the_other_continues():
    dist = support(TeamDraft(length=4), [[1], [2, 3, 4]])
    assert {items for items, _ in dist} == {(1, 2, 3, 4), (2, 1, 3, 4)}
    for _, teams in dist:
        assert sorted(teams) == [0, 1, 1, 1]


def test_list_is_shorter_when_the_rankings_hold_fewer_items_than_length():
    il = TeamDraft(length=10).interleave([[1, 2], [2, 3]], key="k", seed=0)
    assert sorted(il.items) == [1, 2, 3]


def test_default_length_is_that_of_the_longest_ranking():
    il = TeamDraft().interleave([[1, 2], [3, 4, 5, 6]], key="k", seed=0)
    assert len(il.items) == 4


def test_credit_counts_clicks_per_team():
    il = Interleaving(
        "team_draft",
        (1, 3, 2, 4),
        (0, 1, 0, 1),
        ((0, -1, 1, -1), (-1, 0, -1, 1)),
        (2, 2),
        params=TeamDraft(length=4).params(),
    )
    credit = TeamDraft(length=4).credit(il, clicks=[0, 2, 3])
    assert credit.scores == (2.0, 1.0)
    assert credit.winner == 0
    assert credit.preferences == ((0.0, 1.0), (-1.0, 0.0))


def test_clicks_on_the_common_prefix_credit_nobody():
    method = TeamDraft(length=3)
    il = method.interleave([[1, 2, 3], [1, 3, 2]], key="k", seed=1)
    assert il.teams[0] == -1
    assert method.credit(il, clicks=[0]).scores == (0.0, 0.0)


def test_credit_accepts_a_bool_mask():
    method = TeamDraft(length=4)
    il = method.interleave([[1, 2, 3, 4], [5, 6, 7, 8]], key="k", seed=1)
    assert method.credit(il, clicks=[True, False, True, False]) == method.credit(il, clicks=[2, 0])


# --- the bias example of REFERENCES §3 -----------------------------------------------------------


def test_position_based_clicks_reproduce_the_published_bias_by_enumeration():
    # REFERENCES §3 (Oosterhuis' thesis, recomputed): rankings [A,B,C] and [B,C,A]; position-based
    # clicks, examination theta = (1, .9, .8), attractiveness A .1, B 0, C 1. Team-Draft's expected
    # outcome is +0.0570 for the first ranker while its true CTR difference is -0.08.
    theta = (1.0, 0.9, 0.8)
    zeta = {"A": 0.1, "B": 0.0, "C": 1.0}
    method = TeamDraft(length=3)
    rankings = [["A", "B", "C"], ["B", "C", "A"]]
    expected_outcome = 0.0
    for (items, teams), p_list in exact_distribution(method, rankings, n_coins=3).items():
        il = Interleaving(
            "team_draft", items, teams, ((0,) * 3, (0,) * 3), (3, 3), params=method.params()
        )
        click_p = [theta[r] * zeta[item] for r, item in enumerate(items)]
        for pattern in itertools.product((0, 1), repeat=3):
            p_clicks = np.prod([q if c else 1 - q for q, c in zip(click_p, pattern, strict=True)])
            clicks = [r for r in range(3) if pattern[r]]
            expected_outcome += float(p_list) * p_clicks * method.credit(il, clicks).outcome
    ctr = [sum(theta[r] * zeta[item] for r, item in enumerate(ranking)) for ranking in rankings]
    assert expected_outcome == pytest.approx(0.0570, abs=5e-5)
    assert ctr[0] - ctr[1] == pytest.approx(-0.08, abs=1e-12)


# --- fairness, exactly ---------------------------------------------------------------------------


@given(
    st.permutations(range(8)).map(lambda p: list(p[:5])),
    st.permutations(range(8)).map(lambda p: list(p[:5])),
    st.sampled_from([True, False]),
)
def test_random_clicks_give_an_expected_outcome_of_exactly_zero(a, b, common_prefix):
    # Every click pattern over 4 positions is equally likely (independent clicks with P = 1/2):
    # with rankings at least as long as the list, Team-Draft prefers neither ranker, exactly.
    method = TeamDraft(length=4, common_prefix=common_prefix)
    total = Fraction(0)
    for (items, teams), p_list in exact_distribution(method, [a, b], n_coins=4).items():
        for pattern in itertools.product((0, 1), repeat=len(items)):
            clicked_teams = [t for t, c in zip(teams, pattern, strict=True) if c]
            outcome = (clicked_teams.count(0) > clicked_teams.count(1)) - (
                clicked_teams.count(0) < clicked_teams.count(1)
            )
            total += p_list * Fraction(outcome, 2 ** len(items))
    assert total == 0


# --- multileaving --------------------------------------------------------------------------------


def test_multileave_drafts_one_item_per_ranker_per_round():
    method = TeamDraft(length=6)
    rankings = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    for key in range(30):
        il = method.interleave(rankings, key=key, seed=0)
        assert sorted(il.teams[:3]) == [0, 1, 2]
        assert sorted(il.teams[3:]) == [0, 1, 2]


def test_multileave_credit_gives_pairwise_preferences():
    method = TeamDraft(length=6)
    il = method.interleave([[1, 2, 3], [4, 5, 6], [7, 8, 9]], key="r", seed=0)
    by_team = {t: p for p, t in enumerate(il.teams)}
    credit = method.credit(il, clicks=[by_team[2], by_team[0]])
    assert credit.scores[2] == credit.scores[0] == 1.0
    assert credit.scores[1] == 0.0
    assert credit.preferences[2][1] == 1.0
    assert credit.preferences[1][0] == -1.0
    assert credit.preferences[0][2] == 0.0
    assert credit.winner is None  # 0 and 2 tie: no ranker beats every other


def test_multileave_round_orders_are_uniform():
    # 6,000 impressions of 3 disjoint rankers; each of the 3 rankers leads round one with
    # probability 1/3. 5-sigma band on each share (false-failure rate < 2e-6 per check).
    method = TeamDraft(length=3)
    batch = method.interleave_batch([[1], [2], [3]], 6_000, rng=np.random.default_rng(11))
    leads = np.bincount(batch.teams[:, 0], minlength=3) / 6_000
    sigma = np.sqrt((1 / 3) * (2 / 3) / 6_000)
    assert np.all(np.abs(leads - 1 / 3) < 5 * sigma)


# --- batch path ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_rankers", "length"), [(2, 9), (2, 20), (3, 9), (5, 9)])
@pytest.mark.parametrize("common_prefix", [True, False])
def test_batch_equals_successive_single_calls_on_the_same_generator(
    n_rankers, length, common_prefix
):
    # Covers both batch paths: two rankers up to 16 positions (tabulated coin sequences) and the
    # vectorised pointer walk (longer lists, more rankers). Rankings share a 2-item top so the
    # common prefix matters, then overlap partly, and differ in length so rankers run out.
    gen = np.random.default_rng(n_rankers)
    universe = list(range(3 * length))
    rankings = [
        [0, 1] + [int(x) for x in gen.permutation(universe[2:])[: length - 4 + 2 * j]]
        for j in range(n_rankers)
    ]
    method = TeamDraft(length=length, common_prefix=common_prefix)
    batch = method.interleave_batch(rankings, 400, rng=np.random.default_rng(99))
    single = np.random.default_rng(99)
    for i in range(400):
        assert batch[i] == method.interleave(rankings, rng=single)


def test_batch_credit_equals_single_credit():
    method = TeamDraft(length=8)
    rankings = [[1, 2, 3, 4, 5, 6, 7, 8], [5, 1, 9, 10, 2, 11, 3, 12]]
    batch = method.interleave_batch(rankings, 500, rng=np.random.default_rng(1))
    clicks = np.random.default_rng(2).random((500, 8)) < 0.3
    credits = method.credit_batch(batch, clicks)
    for i in range(500):
        single = method.credit(batch[i], clicks[i])
        assert tuple(credits.scores[i]) == single.scores
        assert credits.outcome[i] == single.outcome


def test_batch_rejects_clicks_of_the_wrong_shape():
    method = TeamDraft(length=4)
    batch = method.interleave_batch([[1, 2, 3, 4], [4, 3, 2, 1]], 5, rng=0)
    with pytest.raises(InvalidArgument, match=r"`clicks` must be a bool array of shape \(5, 4\)"):
        method.credit_batch(batch, np.zeros((5, 3), dtype=bool))


def test_batch_rejects_clicks_past_the_end_of_a_short_list():
    method = TeamDraft(length=4)
    batch = method.interleave_batch([[1, 2], [2, 1]], 3, rng=0)
    clicks = np.zeros((3, 4), dtype=bool)
    clicks[0, 3] = True
    with pytest.raises(InvalidArgument, match="shows no item"):
        method.credit_batch(batch, clicks)


def test_common_prefix_must_be_a_bool():
    with pytest.raises(InvalidArgument, match="`common_prefix` must be True or False, got 'yes'"):
        TeamDraft(common_prefix="yes")


def test_long_lists_follow_the_coins_round_by_round():
    # Past 64 coins the draft reads the coins from a bit string (shifting a long int each round
    # was quadratic): round r is led by ranker 0 exactly when coin r is heads.
    from interleave.methods.base import Randomness

    length = 200
    a, b = list(range(length)), list(range(length, 2 * length))
    coins = int.from_bytes(np.random.default_rng(5).bytes(length // 8), "little")
    items, teams = TeamDraft(length=length)._merge(
        [a, b], [], length, Randomness.from_coin_bits(coins)
    )
    assert len(items) == length
    for r in range(length // 2):
        assert teams[2 * r] == (0 if (coins >> r) & 1 else 1)
        assert teams[2 * r + 1] == 1 - teams[2 * r]


def test_a_common_prefix_as_long_as_the_list_is_the_whole_list():
    # Found by the contract suite while unrolling the draft: the prefix alone fills length 1.
    il = TeamDraft(length=1).interleave([[0], [0, 1]], key="k", seed=2)
    assert il.items == (0,)
    assert il.teams == (-1,)


def test_a_changed_configuration_refuses_records_of_the_old_one():
    # params() is memoised for the per-request paths; setting an attribute must drop the memo.
    method = TeamDraft(length=3, common_prefix=True)
    record = method.interleave([[1, 2, 3], [1, 3, 2]], key="k", seed=1)
    method.credit(record, [0])
    method.common_prefix = False
    assert method.params() == (("common_prefix", False), ("length", 3))
    with pytest.raises(InvalidArgument, match="configured"):
        method.credit(record, [0])
    assert method.interleave([[1, 2, 3], [1, 3, 2]], key="k", seed=1).params == method.params()
