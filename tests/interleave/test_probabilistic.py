"""Probabilistic interleaving: exact list probabilities, marginalised credit, multileave, batch."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from interleave import Interleaving, InterleavingBatch, InvalidArgument
from interleave.methods import probabilistic
from interleave.methods.probabilistic import Probabilistic
from tests.fuzzing import call_bounded

# -- an independent reference: the generative model written out naively ---------------------------


def pick_probability(ranking, tau, shown, item):
    """P(ranker picks ``item``): its softmax over its items not in ``shown``, original ranks."""
    weights = {x: 1.0 / (r + 1) ** tau for r, x in enumerate(ranking) if x not in shown}
    return weights.get(item, 0.0) / sum(weights.values()) if weights else 0.0


def brute_force_credit(rankings, tau, items, clicks):
    """Expected scores and preferences by enumerating every assignment of every position."""
    k, n = len(rankings), len(items)
    factors = []  # per position: {ranker: P(picked ranker and it drew the item)}
    for p in range(n):
        shown = set(items[:p])
        eligible = [j for j in range(k) if any(x not in shown for x in rankings[j])]
        factors.append(
            {
                j: pick_probability(rankings[j], tau, shown, items[p]) / len(eligible)
                for j in eligible
            }
        )
    total = 0.0
    scores = np.zeros(k)
    preferences = np.zeros((k, k))
    for assignment in itertools.product(range(k), repeat=n):
        weight = math.prod(factors[p].get(a, 0.0) for p, a in enumerate(assignment))
        if weight == 0:
            continue
        counts = np.array([sum(assignment[c] == j for c in clicks) for j in range(k)])
        total += weight
        scores += weight * counts
        preferences += weight * np.sign(counts[:, None] - counts[None, :])
    return scores / total, preferences / total


def all_lists(method, rankings, length):
    """{list: probability} by expanding next_item_distribution position by position."""
    out = {(): 1.0}
    for _ in range(length):
        grown = {}
        for prefix, p in out.items():
            nxt = method.next_item_distribution(rankings, prefix)
            if not nxt:
                grown[prefix] = p
            for item, q in nxt.items():
                grown[(*prefix, item)] = p * q
        out = grown
    return out


@st.composite
def small_rankings(draw, max_rankers=2, max_items=5):
    pool = draw(st.lists(st.integers(0, 9), min_size=1, max_size=max_items + 2, unique=True))
    k = draw(st.integers(2, max_rankers))
    return [
        draw(st.permutations(pool))[: draw(st.integers(1, min(max_items, len(pool))))]
        for _ in range(k)
    ]


# -- the list distribution ------------------------------------------------------------------------


def test_first_position_of_identical_rankings():
    # Issue 2 / REFERENCES §1, computed from the softmax definition with tau = 3:
    # weights 1, 1/8, 1/27 over their sum 1.162037.
    dist = Probabilistic(tau=3.0).next_item_distribution([[0, 1, 2], [0, 1, 2]])
    assert dist == pytest.approx({0: 0.86056, 1: 0.10757, 2: 0.03187}, abs=5e-6)


def test_first_position_of_overlapping_rankings():
    # Issue 2 / REFERENCES §1: each ranker is picked with probability 1/2; within a ranker of two
    # items the top one has 1 / (1 + 1/8) = 8/9. So 0: 4/9, 1: 1/18 + 4/9 = 1/2, 2: 1/18.
    dist = Probabilistic(tau=3.0).next_item_distribution([[0, 1], [1, 2]])
    assert dist == pytest.approx({0: 4 / 9, 1: 1 / 2, 2: 1 / 18}, abs=1e-12)
    assert dist == pytest.approx({0: 0.44444, 1: 0.5, 2: 0.05556}, abs=5e-6)


def test_sampled_first_positions_match_the_exact_distribution():
    # 40,000 request keys. Each frequency must lie within 5 binomial standard errors of its exact
    # probability: false-failure rate < 3 x 5.7e-7 for a correct sampler.
    method = Probabilistic(length=1)
    n = 40_000
    firsts = [method.interleave([[0, 1, 2], [0, 1, 2]], key=k, seed=11).items[0] for k in range(n)]
    for item, p in {0: 0.8605577689, 1: 0.1075697211, 2: 0.0318725100}.items():
        assert abs(firsts.count(item) / n - p) < 5 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize(
    ("rankings", "tau", "seed"),
    [
        ([[0, 1, 2, 3], [2, 4, 0]], 3.0, 5),
        # Three rankers, one short: items leave softmaxes they were never drawn from, the case
        # the exponential race must get right (memorylessness), at a flat and a steep tau.
        ([[0, 1, 2, 3], [3, 1, 5], [5]], 0.7, 6),
        ([[0, 1, 2, 3], [3, 1, 5], [5]], 6.0, 7),
    ],
)
def test_sampled_lists_match_the_exact_list_probabilities(rankings, tau, seed):
    # 30,000 lists from the batch path against list_probability, by a chi-square test over the
    # lists with expected count >= 5 (the rest pooled). Threshold p > 1e-6: false-failure rate
    # 1e-6 per case (3e-6 for the three).
    method = Probabilistic(length=3, tau=tau)
    exact = all_lists(method, rankings, 3)
    assert sum(exact.values()) == pytest.approx(1.0, abs=1e-12)
    for items, p in exact.items():
        assert method.list_probability(rankings, items) == pytest.approx(p, rel=1e-12)
    n = 30_000
    batch = method.interleave_batch(rankings, n, rng=np.random.default_rng(seed))
    observed = {}
    for row in batch.items.tolist():
        key = tuple(batch.item_ids[u] for u in row)
        observed[key] = observed.get(key, 0) + 1
    assert set(observed) <= set(exact)
    big = sorted(x for x in exact if exact[x] * n >= 5)
    f_obs = [observed.get(x, 0) for x in big] + [n - sum(observed.get(x, 0) for x in big)]
    f_exp = [exact[x] * n for x in big] + [n - sum(exact[x] * n for x in big)]
    assert stats.chisquare(f_obs, f_exp).pvalue > 1e-6


def test_an_item_a_ranker_lacks_has_probability_zero_under_it():
    dist = Probabilistic().next_item_distribution([[0], [1]])
    assert dist == {0: 0.5, 1: 0.5}
    # After 0 is shown, ranker 0 is used up: only ranker 1 is picked.
    assert Probabilistic().next_item_distribution([[0], [1, 0, 2]], shown=[0]) == pytest.approx(
        {1: 1 / (1 + 1 / 27), 2: (1 / 27) / (1 + 1 / 27)}
    )


def test_a_large_tau_shows_each_rankers_best_remaining_item_without_numerical_trouble():
    # With tau = 200 the weights fall by 2**-200 from rank 1 to 2: a naive "total - shown"
    # normaliser would cancel to 0 or below after the top item is shown.
    method = Probabilistic(tau=200.0)
    ranking = list(range(8))
    for key in range(20):
        assert method.interleave([ranking, ranking], key=key).items == tuple(ranking)
    dist = method.next_item_distribution([ranking, ranking], shown=[0, 1, 2])
    assert dist[3] == pytest.approx(1.0, abs=1e-12)
    il = method.interleave([ranking, ranking], key="k")
    credit = method.credit(il, [5, 6])
    assert credit.scores == pytest.approx((1.0, 1.0))


def test_the_list_stops_when_every_ranker_is_used_up():
    il = Probabilistic(length=10).interleave([[1, 2], [2, 3]], key="k", seed=0)
    assert sorted(il.items) == [1, 2, 3]


def test_each_call_draws_one_uniform_per_position_and_per_ranked_item():
    # The list holds 3 items (the distinct ones, whatever length=6 says): 3 ranker picks, then a
    # race key for each of the 4 ranked items: 7 values from the generator.
    g = np.random.default_rng(4)
    Probabilistic(length=6).interleave([[1, 2], [2, 3]], rng=g)
    reference = np.random.default_rng(4)
    reference.random(7)
    assert g.random() == reference.random()


def test_a_huge_length_costs_no_more_than_the_items():
    # Issue 13: length 3e7 used 1-2 GB (two uniforms per position of `length`).
    method = Probabilistic(length=3 * 10**7)
    status, il = call_bounded(
        method.interleave, [[1, 2, 3], [3, 4]], key="r", seed=1, max_extra_bytes=1 << 27
    )
    assert status == "ok"
    assert sorted(il.items) == [1, 2, 3, 4]
    status, batch = call_bounded(
        method.interleave_batch, [[1, 2, 3], [3, 4]], 1000, rng=1, max_extra_bytes=1 << 27
    )
    assert status == "ok"
    assert batch.shape == (1000, 4)


def test_long_rankings_interleave_in_bounded_time():
    # O(n log n): disjoint rankings of 10^5 items each. The old sampler scanned every rank per
    # position (about n^2.7); a generous bound, not a timing assertion (benchmarks time it).
    rankings = [list(range(10**5)), list(range(10**5, 2 * 10**5))]
    status, il = call_bounded(
        Probabilistic(length=1000).interleave, rankings, key="r", seed=1, max_seconds=10
    )
    assert status == "ok"
    assert len(set(il.items)) == 1000


# -- credit ---------------------------------------------------------------------------------------


@settings(max_examples=60)
@given(rankings=small_rankings(max_rankers=3), data=st.data())
def test_marginalised_credit_equals_brute_force_over_every_assignment(rankings, data):
    tau = data.draw(st.sampled_from([0.5, 1.0, 3.0]))
    method = Probabilistic(tau=tau)
    il = method.interleave(rankings, key=data.draw(st.integers(0, 10**6)), seed=1)
    clicks = sorted(data.draw(st.sets(st.integers(0, len(il.items) - 1))))
    credit = method.credit(il, clicks)
    scores, preferences = brute_force_credit(rankings, tau, il.items, clicks)
    assert credit.scores == pytest.approx(tuple(scores), abs=1e-9)
    assert np.array(credit.preferences) == pytest.approx(preferences, abs=1e-9)


def test_credit_by_hand_for_one_click():
    # [[0, 1], [1, 2]], shown (1, 0), click on position 1 (item 0). After 1 is shown, ranker 0
    # holds only item 0 (probability 1) and ranker 1 does not hold it: all credit to ranker 0.
    method = Probabilistic(length=2)
    il = Interleaving.from_rankings(
        "probabilistic", [1, 0], [[0, 1], [1, 2]], params=dict(method.params())
    )
    credit = method.credit(il, [1])
    assert credit.scores == (1.0, 0.0)
    assert credit.preferences == ((0.0, 1.0), (-1.0, 0.0))
    # A click on position 0 (item 1): ranker 0 draws it with 1/9, ranker 1 with 8/9.
    credit = method.credit(il, [0])
    assert credit.scores == pytest.approx((1 / 9, 8 / 9))
    assert credit.outcome == pytest.approx(1 / 9 - 8 / 9)
    assert credit.winner == 1


def test_credit_ignores_the_recorded_teams():
    # Teams are informational: a record rebuilt from a log (teams -1) credits the same.
    method = Probabilistic(length=6)
    rankings = [[1, 2, 3, 4, 5], [4, 2, 6, 1, 7]]
    for key in range(20):
        il = method.interleave(rankings, key=key, seed=2)
        rebuilt = Interleaving.from_rankings(
            "probabilistic", il.items, rankings, params=dict(method.params())
        )
        assert method.credit(rebuilt, [0, 2, 3]) == method.credit(il, [0, 2, 3])


def test_identical_rankings_never_prefer_either():
    method = Probabilistic()
    ranking = list(range(8))
    for key in range(20):
        il = method.interleave([ranking, ranking], key=key, seed=3)
        credit = method.credit(il, [0, 3, 4])
        assert credit.preferences == ((0.0, 0.0), (0.0, 0.0))
        assert credit.winner is None


def test_preferences_stay_within_minus_one_and_one():
    # Found by the contract suite: the sum of the outcome distribution can round to 1 + 2e-16.
    method = Probabilistic()
    rankings = [[5, 1], [5, 1, 2, 3, 4]]
    il = method.interleave(rankings, key="k", seed=0)
    credit = method.credit(il, list(range(len(il.items))))
    assert all(-1.0 <= x <= 1.0 for row in credit.preferences for x in row)


def test_no_clicks_give_zero_credit():
    method = Probabilistic()
    il = method.interleave([[1, 2, 3], [3, 2, 1], [2, 4]], key="k")
    credit = method.credit(il, [])
    assert credit.scores == (0.0, 0.0, 0.0)
    assert credit.winner is None


@given(rankings=small_rankings(max_rankers=4), data=st.data())
def test_relabelling_the_rankers_permutes_the_credit(rankings, data):
    method = Probabilistic()
    il = method.interleave(rankings, key="k", seed=data.draw(st.integers(0, 100)))
    clicks = sorted(data.draw(st.sets(st.integers(0, len(il.items) - 1))))
    order = data.draw(st.permutations(range(len(rankings))))
    credit = method.credit(il, clicks)
    moved = method.credit(il.relabel(order), clicks)
    assert moved.scores == tuple(credit.scores[o] for o in order)
    assert moved.preferences == tuple(tuple(credit.preferences[a][b] for b in order) for a in order)


def test_multileave_credit_is_exact_for_four_rankers():
    rankings = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 4, 0, 5], [5, 0, 6, 1]]
    method = Probabilistic(length=5)
    for key in range(5):
        il = method.interleave(rankings, key=key, seed=9)
        clicks = [0, 2, 4]
        scores, preferences = brute_force_credit(rankings, 3.0, il.items, clicks)
        credit = method.credit(il, clicks)
        assert credit.scores == pytest.approx(tuple(scores), abs=1e-12)
        assert np.array(credit.preferences) == pytest.approx(preferences, abs=1e-12)
        assert sum(credit.scores) == pytest.approx(len(clicks))


# -- sampled multileave credit (Schuth et al. 2015) -----------------------------------------------


def test_sampled_credit_estimates_the_exact_credit():
    # 20,000 sampled assignments: each preference is a mean of values in [-1, 1], so its standard
    # error is at most 1/sqrt(20,000); a band of 5 of them fails a correct sampler with
    # probability < 6e-7 per entry (12 entries: < 1e-5).
    rankings = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 4, 0, 5]]
    exact = Probabilistic(length=5)
    sampled = Probabilistic(length=5, credit_samples=20_000)
    il = exact.interleave(rankings, key="k", seed=1)
    clicks = [0, 1, 3]
    e = exact.credit(il, clicks)
    s = sampled.credit(
        Interleaving.from_dict({**il.to_dict(), "params": dict(sampled.params())}), clicks
    )
    band = 5 / math.sqrt(20_000)
    assert np.abs(np.array(s.preferences) - np.array(e.preferences)).max() < band
    assert np.abs(np.array(s.scores) - np.array(e.scores)).max() < 3 * band  # counts are in [0, 3]


def test_sampled_credit_is_a_pure_function_of_the_record_and_clicks():
    method = Probabilistic(length=5, credit_samples=50)
    il = method.interleave([[0, 1, 2, 3], [3, 2, 1, 0], [1, 4, 0, 5]], key="k", seed=1)
    assert method.credit(il, [0, 2]) == method.credit(il, [0, 2])
    assert method.credit(il, [0, 2]) != method.credit(il, [0, 3])
    mirrored = method.credit(il.relabel([2, 0, 1]), [0, 2])
    original = method.credit(il, [0, 2])
    assert mirrored.scores == tuple(original.scores[o] for o in [2, 0, 1])


def test_sampled_credit_treats_identical_rankers_alike():
    # Found by the contract suite: with two identical rankers, which one is drawn first must not
    # matter, so their estimates are averaged (as the exact credit, they get the same score).
    method = Probabilistic(credit_samples=7)
    il = method.interleave([[0, 1], [0, 1], [2, 0]], key="k", seed=0)
    credit = method.credit(il, [0, 1])
    assert credit.scores[0] == credit.scores[1]
    assert credit.preferences[0][1] == 0.0
    mirrored = method.credit(il.relabel([1, 0, 2]), [0, 1])
    assert mirrored == credit


# -- batch ----------------------------------------------------------------------------------------


@settings(max_examples=40)
@given(
    rankings=small_rankings(max_rankers=4, max_items=6),
    seed=st.integers(0, 2**32 - 1),
    length=st.integers(1, 7),
    tau=st.sampled_from([0.3, 3.0, 300.0, 1e300]),
)
def test_batch_equals_successive_per_request_calls(rankings, seed, length, tau):
    method = Probabilistic(length=length, tau=tau)
    batch = method.interleave_batch(rankings, 25, rng=np.random.default_rng(seed))
    g = np.random.default_rng(seed)
    for i in range(25):
        record = method.interleave(rankings, rng=g)
        assert batch[i].items == record.items
        assert batch[i].teams == record.teams
    clicks = np.random.default_rng(seed + 1).random(batch.items.shape) < 0.4
    clicks &= batch.items >= 0
    credits = method.credit_batch(batch, clicks)
    for i in range(25):
        one = method.credit(batch[i], np.flatnonzero(clicks[i]).tolist())
        assert credits.scores[i] == pytest.approx(one.scores, abs=1e-12)
        assert credits.preferences[i] == pytest.approx(np.array(one.preferences), abs=1e-12)


def test_batch_with_long_rankings_equals_per_request_calls():
    rankings = [list(range(100)), list(range(50, 150))]
    method = Probabilistic(length=100)
    batch = method.interleave_batch(rankings, 20, rng=np.random.default_rng(8))
    g = np.random.default_rng(8)
    assert all(batch[i].items == method.interleave(rankings, rng=g).items for i in range(20))


# -- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tau": 0}, r"`tau` must be in \(0, inf\], got 0.0"),
        ({"tau": -1.5}, r"`tau` must be in \(0, inf\], got -1.5"),
        ({"tau": float("nan")}, r"`tau` must be finite, got nan"),
        ({"tau": float("inf")}, r"`tau` must be finite, got inf"),
        ({"tau": "3"}, r"`tau` must be a real number, got '3'"),
        ({"credit_samples": 0}, r"`credit_samples` must be >= 1, got 0"),
        ({"credit_samples": 10.0}, r"`credit_samples` must be an integer, got 10.0"),
    ],
)
def test_bad_configuration_raises_invalid_argument_naming_it(kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        Probabilistic(**kwargs)


def test_configuration_is_recorded_and_checked_at_credit_time():
    il = Probabilistic(tau=3.0).interleave([[1, 2], [2, 3]], key="k")
    assert dict(il.params) == {"credit_samples": None, "length": None, "tau": 3.0}
    with pytest.raises(InvalidArgument, match="credit it with the same configuration"):
        Probabilistic(tau=2.0).credit(il, [0])


def test_shown_with_a_repeated_item_raises():
    with pytest.raises(InvalidArgument, match="`shown` repeats the item 1"):
        Probabilistic().next_item_distribution([[1, 2], [2, 3]], shown=[1, 1])


# -- any tau: relative weights, no underflow (issue 13) -------------------------------------------


def exact_next_item_distribution(rankings, tau, shown):
    """The first-position rule in exact rationals: weights 1 / (r + 1) ** tau as Fractions."""
    shown = set(shown)
    eligible = [r for r in rankings if any(x not in shown for x in r)]
    out = {}
    for ranking in eligible:
        weights = {x: Fraction(1, (r + 1) ** tau) for r, x in enumerate(ranking) if x not in shown}
        total = sum(weights.values())
        for x, w in weights.items():
            out[x] = out.get(x, 0) + w / total / len(eligible)
    return out


@pytest.mark.parametrize("tau", [1, 3, 200, 300, 1100])
def test_next_item_distribution_matches_exact_rationals_at_any_tau(tau):
    # Integer tau keeps the reference exact. At 1100 the absolute weights 1 / (r + 1) ** 1100
    # underflow to 0 in floating point beyond rank 1; the relative weights do not.
    rankings = [[0, 1, 2, 3, 4, 5], [5, 3, 1, 6, 0]]
    method = Probabilistic(tau=float(tau))
    for shown in ([], [0], [0, 5], [0, 5, 1, 3]):
        dist = method.next_item_distribution(rankings, shown)
        exact = exact_next_item_distribution(rankings, tau, shown)
        assert dist.keys() <= exact.keys()
        for item, p in exact.items():
            assert dist.get(item, 0.0) == pytest.approx(float(p), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("tau", [200.0, 1100.0, 1e6, 1e300])
def test_a_huge_tau_credits_and_samples_without_zero_division(tau):
    # Issue 13: tau >= ~200 on a 41-item ranking raised ZeroDivisionError in credit and in
    # next_item_distribution, and credit_batch returned NaN with a RuntimeWarning (an error here).
    ranking = list(range(41))
    other = ranking[::-1]
    method = Probabilistic(tau=tau)
    il = method.interleave([ranking, other], key="k", seed=1)
    # Each ranker shows its best remaining item: the list alternates ends of the range.
    assert set(il.items) == set(ranking)
    credit = method.credit(il, [0, 20, 40])
    assert all(math.isfinite(x) for x in credit.scores)
    assert sum(credit.scores) == pytest.approx(3.0)
    dist = method.next_item_distribution([ranking, other], shown=il.items[:39])
    assert sum(dist.values()) == pytest.approx(1.0)
    batch = method.interleave_batch([ranking, other], 5, rng=2)
    clicks = np.zeros(batch.shape, dtype=bool)
    clicks[:, [0, 20, 40]] = True
    credits = method.credit_batch(batch, clicks)
    assert np.isfinite(credits.scores).all()
    for i in range(5):
        one = method.credit(batch[i], [0, 20, 40])
        assert credits.scores[i] == pytest.approx(one.scores, abs=1e-12)


def test_tau_two_hundred_credit_matches_brute_force_in_rationals():
    # The posterior of a click, in exact rationals, at a tau where float weights lose everything
    # below rank 1 of the absolute scale.
    rankings = [[0, 1, 2, 3], [2, 0, 3, 1]]
    tau = 200
    method = Probabilistic(tau=float(tau))
    il = Interleaving.from_rankings(
        "probabilistic", [0, 2, 3, 1], rankings, params=dict(method.params())
    )
    credit = method.credit(il, [2])  # item 3 after {0, 2}: rank 3 in A (of 1, 3), 2 in B (of 3, 1)
    a = Fraction(1, 4**tau) / (Fraction(1, 2**tau) + Fraction(1, 4**tau))
    b = Fraction(1, 3**tau) / (Fraction(1, 3**tau) + Fraction(1, 4**tau))
    assert credit.scores == pytest.approx((float(a / (a + b)), float(b / (a + b))), rel=1e-12)


# -- bounds (issue 13) ----------------------------------------------------------------------------


def test_credit_samples_beyond_the_bound_fail_fast_naming_it():
    with pytest.raises(InvalidArgument, match=r"`credit_samples` must be at most MAX_CREDIT_SAMP"):
        Probabilistic(credit_samples=10**12)
    assert Probabilistic(credit_samples=probabilistic.MAX_CREDIT_SAMPLES).credit_samples == 10**6


def test_sampled_credit_memory_is_bounded_by_blocks():
    # 10^6 samples of 40 clicks in one array would be 320 MB of uniforms alone.
    method = Probabilistic(credit_samples=10**6)
    il = method.interleave([list(range(40)), list(range(40))[::-1]], key="k", seed=1)
    status, credit = call_bounded(
        method.credit, il, list(range(40)), max_seconds=30, max_extra_bytes=1 << 28
    )
    assert status == "ok"
    assert sum(credit.scores) == pytest.approx(40.0)


def test_a_record_claiming_huge_rankings_fails_fast_naming_the_bound():
    # Issue 13: ranking_lengths=[10**9, 10**9] in a record made credit allocate until MemoryError.
    method = Probabilistic()
    il = method.interleave([[1, 2, 3], [3, 2, 1]], key="k", seed=1)
    forged = Interleaving.from_dict({**il.to_dict(), "ranking_lengths": [10**9, 10**9]})
    status, error = call_bounded(method.credit, forged, [0], max_extra_bytes=1 << 27)
    assert status == "error"
    assert "MAX_RANKING_LENGTH=1,000,000" in str(error)
    assert "1,000,000,000" in str(error)


def test_the_ranking_length_bound_is_a_module_attribute(monkeypatch):
    monkeypatch.setattr(probabilistic, "MAX_RANKING_LENGTH", 3)
    with pytest.raises(InvalidArgument, match=r"a ranking of 4 items, more than MAX_RANKING_LEN"):
        Probabilistic().interleave([[1, 2, 3, 4], [1]], key="k")


@pytest.mark.parametrize("shown", [None, 5, "ab", {"a": 1}.keys(), [[1]]])
def test_shown_must_be_a_list_of_ids(shown):
    # Issue 13: next_item_distribution(shown=None) raised a raw TypeError.
    with pytest.raises(InvalidArgument, match="`shown`"):
        Probabilistic().next_item_distribution([[1, 2], [2, 3]], shown=shown)


# -- per-impression batches (logs): credit_batch equals credit ------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    rankings_list=st.lists(small_rankings(max_rankers=3, max_items=6), min_size=1, max_size=6),
    tau=st.sampled_from([0.5, 3.0, 250.0]),
    data=st.data(),
)
def test_credit_batch_of_logged_records_equals_per_impression_credit(rankings_list, tau, data):
    k = len(rankings_list[0])
    rankings_list = [r[:k] + r[:1] * (k - len(r)) for r in rankings_list]  # same ranker count
    rankings_list = [r for r in rankings_list if len(r) == k]
    method = Probabilistic(tau=tau)
    records = [
        method.interleave(r, key=i, seed=data.draw(st.integers(0, 99)))
        for i, r in enumerate(rankings_list)
    ]
    batch = InterleavingBatch.from_records(records)
    clicks = np.zeros(batch.shape, dtype=bool)
    for i, record in enumerate(records):
        chosen = data.draw(st.sets(st.integers(0, len(record.items) - 1)))
        clicks[i, sorted(chosen)] = True
    credits = method.credit_batch(batch, clicks)
    for i, record in enumerate(records):
        one = method.credit(record, np.flatnonzero(clicks[i]).tolist())
        assert credits.scores[i] == pytest.approx(one.scores, abs=1e-12)
        assert credits.preferences[i] == pytest.approx(np.array(one.preferences), abs=1e-12)


def test_credit_batch_from_columns_equals_credit_of_the_rebuilt_records():
    # A log's columns (no item ids): two impressions of different rankings and lengths.
    method = Probabilistic()
    records = [
        method.interleave([[1, 2, 3], [3, 4]], key="a", seed=1),
        method.interleave([[7, 8, 9, 10], [10, 7]], key="b", seed=1),
    ]
    width = max(len(r.items) for r in records)

    def padded(row):
        return list(row) + [-1] * (width - len(row))

    batch = InterleavingBatch.from_columns(
        method,
        teams=[padded(r.teams) for r in records],
        ranks=[[padded(r.ranks[j]) for r in records] for j in range(2)],
        ranking_lengths=[list(r.ranking_lengths) for r in records],
        n_shown=[len(r.items) for r in records],
    )
    clicks = np.zeros(batch.shape, dtype=bool)
    clicks[0, [0, 2]] = True
    clicks[1, [1, 3]] = True
    credits = method.credit_batch(batch, clicks)
    for i, record in enumerate(records):
        one = method.credit(record, np.flatnonzero(clicks[i]).tolist())
        np.testing.assert_allclose(credits.scores[i], one.scores, atol=1e-12)
        np.testing.assert_allclose(credits.preferences[i], one.preferences, atol=1e-12)


def test_batch_across_blocks_equals_per_request_calls():
    # Long rankings make the batch work in blocks of ~232 impressions (4M cells each): 240
    # impressions cross a block boundary and must still equal successive calls.
    rankings = [list(range(3000)), list(range(3000, 6000))]
    method = Probabilistic(length=5)
    batch = method.interleave_batch(rankings, 240, rng=np.random.default_rng(12))
    g = np.random.default_rng(12)
    for i in range(240):
        assert batch[i].items == method.interleave(rankings, rng=g).items
