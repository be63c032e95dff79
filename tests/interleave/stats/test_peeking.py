"""A/A and power simulations: why the sequential tests exist.

2,000 seeded A/A experiments of 2,000 comparisons each, checked after every comparison. With a
true false-positive rate of at most alpha = 0.05, the measured rate over 2,000 experiments has a
standard error of at most 0.0049; the band "<= alpha + 3 SE = 0.065" fails by chance with
probability below 0.14% per test (one-sided normal tail). Seeded: the same data every run.
The study script ``python -m benchmarks stats_aa_study`` writes the same numbers (and more) to
``benchmarks/results/stats_aa_study.md``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr
from scipy.stats import binom

from interleave.stats import (
    SPRT,
    BetaBinomialMixture,
    GroupSequential,
    MixtureSPRT,
    TwoMeans,
    TwoProportions,
    WinLoss,
    sample_size_sign_test,
)

N_EXPERIMENTS = 2000
N_STEPS = 2000
ALPHA = 0.05
BAND = ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / N_EXPERIMENTS)  # 0.0646

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def aa_outcomes() -> np.ndarray:
    rng = np.random.default_rng(20240601)
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=(N_EXPERIMENTS, N_STEPS))


@pytest.fixture(scope="module")
def aa_stream(aa_outcomes) -> WinLoss:
    return WinLoss.from_outcomes(aa_outcomes)


@pytest.mark.parametrize(
    "test",
    [
        pytest.param(MixtureSPRT(alpha=ALPHA, n_opt=1000), id="mixture"),
        pytest.param(MixtureSPRT.growthbook(alpha=ALPHA), id="mixture-growthbook"),
        pytest.param(BetaBinomialMixture(alpha=ALPHA), id="beta-binomial"),
    ],
)
def test_always_valid_tests_keep_the_false_positive_rate_under_continuous_peeking(test, aa_stream):
    result = test.evaluate(aa_stream)
    assert result.rejected.mean() <= BAND  # measured: mixture 0.027, growthbook 0.009, bb 0.029


def test_wald_sprt_keeps_its_false_positive_rate_within_walds_bound(aa_stream):
    # Wald's guarantee is alpha / (1 - beta) = 0.0625, not alpha (band: + 3 SE = 0.079);
    # measured 0.051.
    result = SPRT(alpha=ALPHA, beta=0.2).evaluate(aa_stream)
    bound = ALPHA / 0.8
    assert result.rejected.mean() <= bound + 3 * np.sqrt(bound * (1 - bound) / N_EXPERIMENTS)
    assert result.stopped.mean() > 0.99  # under H0 the SPRT ends by accepting it


def test_repeated_fixed_horizon_tests_far_exceed_alpha_under_peeking(aa_stream):
    # The naive dashboard: a two-sided z-test (and the exact binomial test) after every
    # comparison, stopping at the first p <= 0.05. Measured 0.56 and 0.46: ten times alpha.
    wins = aa_stream.n_wins
    n = aa_stream.n_wins + aa_stream.n_losses
    z_pvalue = 2 * ndtr(-np.abs(2 * wins - n) / np.sqrt(n))
    assert (z_pvalue <= ALPHA).any(axis=1).mean() > 2 * ALPHA
    k = np.minimum(wins, n - wins)
    exact = np.minimum(1.0, 2 * binom.cdf(k, n, 0.5))
    assert (exact <= ALPHA).any(axis=1).mean() > 2 * ALPHA


def test_the_same_fixed_horizon_test_looked_at_once_keeps_alpha(aa_stream):
    # ...while one look at the planned horizon is fine (band: alpha +- 3 SE).
    wins = aa_stream.n_wins[:, -1]
    n = wins + aa_stream.n_losses[:, -1]
    rate = (2 * ndtr(-np.abs(2 * wins - n) / np.sqrt(n)) <= ALPHA).mean()
    assert abs(rate - ALPHA) <= 3 * np.sqrt(ALPHA * (1 - ALPHA) / N_EXPERIMENTS)


def test_group_sequential_at_four_planned_looks_spends_exactly_alpha(aa_stream):
    looks = np.array([499, 999, 1499, 1999])
    stream = WinLoss(
        n_wins=aa_stream.n_wins[:, looks],
        n_losses=aa_stream.n_losses[:, looks],
        n_ties=aa_stream.n_ties[:, looks],
    )
    for spending in ("obrien-fleming", "pocock", 2.0):  # measured 0.048, 0.0515, 0.050
        rate = GroupSequential(max_n=N_STEPS, spending=spending).evaluate(stream).rejected.mean()
        assert abs(rate - ALPHA) <= 3 * np.sqrt(ALPHA * (1 - ALPHA) / N_EXPERIMENTS)


def test_ties_split_or_dropped_keep_the_false_positive_rate():
    rng = np.random.default_rng(99)
    outcomes = rng.choice(
        np.array([-1, 0, 1], dtype=np.int8), size=(N_EXPERIMENTS, N_STEPS), p=[0.35, 0.3, 0.35]
    )
    stream = WinLoss.from_outcomes(outcomes)
    # measured: mixture 0.020 (drop) / 0.006 (split), beta-binomial 0.040 / 0.004
    for policy in ("drop", "split"):
        assert MixtureSPRT(n_opt=1000, tie_policy=policy).evaluate(stream).rejected.mean() <= BAND
        assert BetaBinomialMixture(tie_policy=policy).evaluate(stream).rejected.mean() <= BAND


def test_ab_mixture_tests_keep_the_false_positive_rate_on_proportions_and_means():
    # Asymptotic validity (estimated variances), checked from the first user on.
    rng = np.random.default_rng(5)
    arm = rng.integers(0, 2, size=(N_EXPERIMENTS, N_STEPS))
    conversions = TwoProportions.from_observations(arm, rng.random((N_EXPERIMENTS, N_STEPS)) < 0.1)
    values = TwoMeans.from_observations(arm, rng.normal(1.0, 2.0, size=(N_EXPERIMENTS, N_STEPS)))
    test = MixtureSPRT(n_opt=1000)
    assert test.evaluate(conversions).rejected.mean() <= BAND  # measured 0.0215 (0.022 before)
    assert test.evaluate(values).rejected.mean() <= BAND  # measured 0.033


def _aa_proportions(share: float, rate: float) -> TwoProportions:
    # A/A: each user goes to the candidate with probability `share`, converts (or, for a canary's
    # error guardrail, fails) with the same `rate` in both arms; checked from the first user on.
    rng = np.random.default_rng(5)
    arm = (rng.random((N_EXPERIMENTS, N_STEPS)) < share).astype(np.int8)
    return TwoProportions.from_observations(arm, rng.random((N_EXPERIMENTS, N_STEPS)) < rate)


@pytest.mark.parametrize(
    ("share", "rate", "n_opt"),
    [
        # Measured rejection rates, with a boundary arm's variance now 1/(4n) (and, before, with
        # its plug-in variance 0, when an arm at 1/1 or 0/3 looked infinitely precise):
        pytest.param(0.05, 0.01, 1000, id="canary-errors"),  # 0.000 (before 0.61)
        pytest.param(0.2, 0.05, 1000, id="small-arm-rare"),  # 0.0465 (before 0.11)
        pytest.param(0.1, 0.5, 5000, id="ab-share-growthbook"),  # 0.015 (before 0.082)
        pytest.param(0.5, 0.5, 1000, id="balanced-even"),  # 0.027 (before 0.030)
    ],
)
def test_ab_proportions_keep_the_false_positive_rate_with_a_small_arm_and_at_the_boundary(
    share, rate, n_opt
):
    stream = _aa_proportions(share, rate)
    assert MixtureSPRT(n_opt=n_opt).evaluate(stream).rejected.mean() <= BAND


@pytest.mark.xfail(
    reason=(
        "known limit of the asymptotic A/B mixture: with a 10% arm and a 5% rate the arm holds "
        "a handful of successes for hundreds of looks and its plug-in variance p (1 - p) / n "
        "is too small (measured 0.0675; 0.0595 with a 5% arm; 0.036-0.049 at n_opt 100 "
        "or 5000). Arms strictly inside keep GrowthBook's variance, which the reference test "
        "pins; the strategies wait for min_users per arm."
    ),
    strict=True,
)
def test_ab_proportions_with_a_rare_rate_in_a_small_arm_exceed_alpha_early():
    stream = _aa_proportions(0.1, 0.05)
    assert MixtureSPRT(n_opt=1000).evaluate(stream).rejected.mean() <= BAND


def _aa_zero_one_means(share: float, rate: float) -> TwoMeans:
    # A/A on a 0/1 metric read as a mean (one click-through per user): a small arm often holds
    # only zeros, whose sample variance is 0; checked from the second user in each arm on.
    rng = np.random.default_rng(5)
    arm = (rng.random((N_EXPERIMENTS, N_STEPS)) < share).astype(np.int8)
    values = (rng.random((N_EXPERIMENTS, N_STEPS)) < rate).astype(float)
    return TwoMeans.from_observations(arm, values)


@pytest.mark.parametrize(
    ("share", "rate"),
    [
        # Measured with a flat arm's variance now the pooled one (before: its own, 0):
        pytest.param(0.2, 0.3, id="small-arm"),  # 0.037 (before 0.093)
        pytest.param(0.2, 0.05, id="small-arm-rare"),  # 0.0465 (before 0.105)
        pytest.param(0.5, 0.05, id="balanced-rare"),  # 0.023 (before 0.024)
    ],
)
def test_ab_means_keep_the_false_positive_rate_when_an_arm_holds_one_value(share, rate):
    stream = _aa_zero_one_means(share, rate)
    assert MixtureSPRT(n_opt=1000).evaluate(stream).rejected.mean() <= BAND


@pytest.mark.xfail(
    reason=(
        "known limit, as for proportions: a 5-10% arm of a 0/1 mean keeps a few ones for "
        "hundreds of looks and its sample variance is too small (measured 0.069 with a 5% arm "
        "at rate 0.3, 0.0675 with a 10% arm at 0.05; before the flat-arm fix 0.48 and 0.34)"
    ),
    strict=True,
)
def test_ab_means_with_a_five_percent_arm_exceed_alpha_early():
    stream = _aa_zero_one_means(0.05, 0.3)
    assert MixtureSPRT(n_opt=1000).evaluate(stream).rejected.mean() <= BAND


def test_with_a_real_effect_every_test_stops_and_stops_early():
    # Win rate 0.6: each sequential test rejects in >= 99% of 2,000 experiments within 2,000
    # comparisons, and on average stops before the fixed-horizon sign test with 99% power
    # (450 comparisons) would even look. Measured: SPRT rejects 99.3% at mean n 185, mixture
    # 100% at 261, beta-binomial 100% at 237 (see benchmarks/results/stats_aa_study.md).
    rng = np.random.default_rng(31)
    outcomes = np.where(rng.random((N_EXPERIMENTS, N_STEPS)) < 0.6, 1, -1).astype(np.int8)
    stream = WinLoss.from_outcomes(outcomes)
    fixed_n = sample_size_sign_test(0.6, power=0.99).n_comparisons
    for test in (SPRT(), MixtureSPRT(n_opt=1000), BetaBinomialMixture()):
        result = test.evaluate(stream)
        assert result.rejected.mean() >= 0.99
        assert result.n_stopped[result.stopped].mean() < fixed_n
