"""A/B data whose plug-in variance is 0: the tests must still decide, and not on chance.

Proportions at 0/n or n/n: a candidate that fails on every request (error rate n/n) against a
production that never fails (0/n) gave a Bernoulli variance of 0 in both arms, so the mixture
SPRT saw "no evidence" and its always-valid interval was (-inf, inf): the canary's error guardrail
could never fire in the most extreme failure. An arm at 0/n or n/n now counts with the largest
variance a 0/1 outcome can have, 1/4 per trial (its plug-in estimate is 0, which says nothing);
arms strictly inside keep the plain Bernoulli variance p (1 - p) / n, so GrowthBook's reference
numbers are unchanged, and the difference is still the plain p_b - p_a.

Means with an arm whose values are all equal (five canary users with a CTR of 0): that arm's
sample variance is 0, which made any difference look infinitely precise. It now counts with the
sample variance of both arms' values together (the variance under "no difference").
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave.errors import InvalidArgument
from interleave.stats import (
    Decision,
    GroupSequential,
    MixtureSPRT,
    TwoMeans,
    TwoProportions,
    two_proportions_test,
)


def _arm_variance(successes: int, trials: int) -> float:
    # Written from the rule, not from the code: inside, p (1 - p) / n; at 0/n or n/n the
    # largest Bernoulli variance, 1/4 per trial (a [0, 1] variable is 1/2-sub-Gaussian).
    p = successes / trials
    return p * (1 - p) / trials if 0 < successes < trials else 0.25 / trials


@pytest.mark.parametrize("n_candidate", [5, 10, 50])
def test_a_candidate_failing_every_request_against_none_is_rejected_with_a_positive_interval(
    n_candidate,
):
    # Canary-sized arms: the candidate serves 5% of the requests and fails on all of them.
    data = TwoProportions(0, 19 * n_candidate, n_candidate, n_candidate)
    state = MixtureSPRT(alpha=0.05, n_opt=1000).start(data)
    interval = state.confidence_interval(0.95)
    assert state.decision is Decision.REJECT
    assert 0.0 < interval.low <= interval.high <= 1.0  # p_b - p_a lies in [-1, 1]
    assert state.pvalue < 0.05


def test_the_mirror_image_is_rejected_with_a_negative_interval():
    # The candidate never converts, production always does: the same evidence, other sign.
    state = MixtureSPRT().start(TwoProportions(200, 200, 0, 200))
    interval = state.confidence_interval(0.95)
    assert state.decision is Decision.REJECT
    assert -1.0 <= interval.low <= interval.high < 0.0


def test_both_arms_at_the_same_boundary_carry_no_evidence():
    # 0/n against 0/m: nothing differs. The variance is positive but the difference is 0.
    for data in (TwoProportions(0, 300, 0, 20), TwoProportions(300, 300, 20, 20)):
        assert data.moments()[0] == 0.0
        state = MixtureSPRT().start(data)
        assert state.statistic <= 0.0
        assert state.decision is Decision.CONTINUE
        interval = state.confidence_interval(0.95)
        assert interval.low < 0.0 < interval.high


def test_the_johari_mixture_decides_at_the_boundary_too():
    # Johari's rho reads the effect scale se * sqrt(n); a collapsed se made it 0 (no evidence).
    state = MixtureSPRT.johari(tau=0.1).start(TwoProportions(0, 190, 10, 10))
    assert state.decision is Decision.REJECT


def test_group_sequential_decides_at_the_boundary():
    # The group-sequential test reads the same projection: at its first planned look, all of
    # 50 candidate requests failing against none of 950 is far past any efficacy bound.
    state = (
        GroupSequential(max_n=4000)
        .start(TwoProportions())
        .update(successes_a=0, trials_a=950, successes_b=50, trials_b=50)
    )
    assert state.decision is Decision.REJECT


def test_a_stream_reads_the_boundary_like_one_update_per_step():
    # The vectorised path (evaluate) and the state path agree look by look, and both reject.
    rng = np.random.default_rng(3)
    arm = (rng.random(400) < 0.05).astype(int)
    arm[:2] = (0, 1)
    stream = TwoProportions.from_observations(arm, arm)  # every candidate request fails
    test = MixtureSPRT(n_opt=1000)
    result = test.evaluate(stream)
    state = test.start(TwoProportions())
    for step in range(len(arm)):
        b = int(arm[step])
        state = state.update(successes_a=0, trials_a=1 - b, successes_b=b, trials_b=b)
        assert result.statistic[step] == pytest.approx(state.statistic, rel=1e-9, abs=1e-12)
        assert result.decision[step] == state.decision.code
    assert bool(result.rejected)


@st.composite
def _arm(draw):
    trials = draw(st.integers(1, 10_000))
    return draw(st.integers(0, trials)), trials


@given(a=_arm(), b=_arm())
def test_the_variance_is_positive_whenever_both_arms_have_trials(a, b):
    data = TwoProportions(a[0], a[1], b[0], b[1])
    difference, variance = data.moments()
    assert variance > 0.0
    assert -1.0 <= difference <= 1.0
    # The stream path holds the same numbers as the scalar path.
    stream = TwoProportions(*(np.array([v]) for v in (a[0], a[1], b[0], b[1])))
    difference_arr, variance_arr = stream.moments_arrays()
    assert difference_arr[0] == pytest.approx(difference, rel=1e-12, abs=1e-15)
    assert variance_arr[0] == pytest.approx(variance, rel=1e-12)


@given(a=_arm(), b=_arm())
def test_arms_inside_keep_the_bernoulli_variance_and_boundary_arms_count_the_largest(a, b):
    data = TwoProportions(a[0], a[1], b[0], b[1])
    difference, variance = data.moments()
    assert difference == pytest.approx(b[0] / b[1] - a[0] / a[1], abs=1e-12)
    assert variance == pytest.approx(_arm_variance(*a) + _arm_variance(*b), rel=1e-12)


def test_an_arm_without_trials_still_means_no_evidence():
    # Nothing to compare yet: no statistic, and the interval is all a difference can be (as a
    # WinLoss without comparisons gives the whole [0, 1] for the win rate).
    assert TwoProportions(0, 0, 5, 5).moments() == (0.0, 0.0)
    state = MixtureSPRT().start(TwoProportions(0, 0, 5, 5))
    assert state.pvalue == 1.0
    interval = state.confidence_interval(0.95)
    assert (interval.low, interval.high) == (-1.0, 1.0)


def test_the_fixed_horizon_test_at_opposite_boundaries_points_to_an_exact_test():
    # 0/300 against 300/300 is not "nothing to test": the Wald z is undefined there, and the
    # normal approximation is no guide with so few distinct outcomes; the error says what to use.
    with pytest.raises(InvalidArgument, match="exact test"):
        two_proportions_test(0, 300, 300, 300)


# ------------------------------------------------------------------------------------ means


def _means(a: list[float], b: list[float]) -> TwoMeans:
    return TwoMeans(
        len(a), float(sum(a)), float(sum(x * x for x in a)),
        len(b), float(sum(b)), float(sum(x * x for x in b)),
    )  # fmt: skip


def test_means_that_never_vary_but_differ_are_evidence():
    # Every production user had CTR 1, every candidate user CTR 0: both sample variances are 0.
    # The pooled values (30 ones, 30 zeros) have variance 0.254: |z| = 7.7 past a boundary of 4.4.
    state = MixtureSPRT().start(_means([1.0] * 30, [0.0] * 30))
    assert state.decision is Decision.REJECT
    interval = state.confidence_interval(0.95)
    assert interval.high < 0.0


def test_a_flat_small_arm_is_not_read_as_infinitely_precise():
    # 20 canary users who all had CTR 0 against 380 production users with CTR 5% (19 of them 1):
    # at a 5% click rate chance gives 20 zeros 36% of the time. With the flat arm's variance 0
    # the z was 0.05 / sqrt(0.0475 / 380) = 4.5 past a boundary of 3.1: a false "worse".
    data = _means([1.0] * 19 + [0.0] * 361, [0.0] * 20)
    state = MixtureSPRT().start(data)
    assert state.decision is Decision.CONTINUE
    difference, variance = data.moments()
    pooled = (19 - 400 * (19 / 400) ** 2) / 399  # both arms' values together, ddof=1
    assert difference == pytest.approx(-19 / 380)
    assert variance == pytest.approx((19 - 380 * (19 / 380) ** 2) / 379 / 380 + pooled / 20)


values = st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0]), min_size=2, max_size=30)


@given(a=values, b=values)
def test_mean_variances_inside_stay_welch_and_flat_arms_take_the_pooled_one(a, b):
    data = _means(a, b)
    difference, variance = data.moments()
    pooled = float(np.var(a + b, ddof=1))

    def arm(x):
        spread = float(np.var(x, ddof=1))
        return (pooled if len(set(x)) == 1 else spread) / len(x)

    assert difference == pytest.approx(np.mean(b) - np.mean(a), abs=1e-12)
    assert variance == pytest.approx(arm(a) + arm(b), rel=1e-9, abs=1e-12)
    if len(set(a + b)) > 1:
        assert variance > 0.0
    stream = TwoMeans(*(np.array([getattr(data, f)]) for f in TwoMeans.__slots__))
    difference_arr, variance_arr = stream.moments_arrays()
    assert difference_arr[0] == pytest.approx(difference, abs=1e-12)
    assert variance_arr[0] == pytest.approx(variance, rel=1e-9, abs=1e-15)
