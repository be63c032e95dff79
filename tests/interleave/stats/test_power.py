"""Power at its edges (never NaN) and the paired design's planner, against statsmodels."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower, TTestPower

from interleave.errors import InvalidArgument
from interleave.stats import (
    paired_test,
    power_paired,
    power_sign_test,
    power_two_means,
    power_two_proportions,
    sample_size_paired,
    sample_size_two_means,
)

_SM = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}
ALTERNATIVES = ("two-sided", "greater", "less")


# ----------------------------------------------------------------- power ~1 is 1.0, not NaN


@pytest.mark.parametrize(
    ("difference", "n_a", "alternative"),
    [(1.0, 200, "two-sided"), (3.0, 100, "two-sided"), (1.0, 1000, "less"), (2.0, 100, "less")],
)
def test_power_two_means_is_finite_where_statsmodels_gives_nan(difference, n_a, alternative):
    # Reproduces the defect: statsmodels 0.15 / scipy 1.17 return NaN for these inputs.
    with np.errstate(all="ignore"):
        reference = TTestIndPower().power(difference, n_a, 0.05, alternative=_SM[alternative])
    assert math.isnan(reference)
    power = power_two_means(difference, 1.0, n_a, alternative=alternative)
    assert math.isfinite(power)
    if alternative == "two-sided":  # the effect is overwhelming: certain to reject
        assert power == pytest.approx(1.0, abs=1e-12)
    else:  # "less" against a positive effect: almost never rejects, but a number
        assert 0.0 <= power < 1e-30


def test_power_two_means_is_never_nan_over_a_grid_of_large_effects_and_sizes():
    for difference, n_a, alternative, ratio in itertools.product(
        (0.5, 1.0, 2.0, 5.0, 30.0, 1e3, 1e6), (2, 10, 100, 10**4, 10**9), ALTERNATIVES, (0.5, 1, 3)
    ):
        power = power_two_means(difference, 1.0, n_a, ratio=ratio, alternative=alternative)
        assert 0.0 <= power <= 1.0, (difference, n_a, alternative, ratio)
        mirrored = power_two_means(-difference, 1.0, n_a, ratio=ratio, alternative=alternative)
        assert 0.0 <= mirrored <= 1.0


def test_power_two_means_matches_statsmodels_wherever_statsmodels_is_finite():
    for difference, n_a, alternative, ratio in itertools.product(
        (-0.3, 0.05, 0.2, 0.5, 1.0), (2, 5, 30, 400, 5000), ALTERNATIVES, (0.5, 1, 2)
    ):
        with np.errstate(all="ignore"):
            reference = TTestIndPower().power(
                difference, n_a, 0.05, ratio=ratio, alternative=_SM[alternative]
            )
        if math.isnan(reference):
            continue
        power = power_two_means(difference, 1.0, n_a, ratio=ratio, alternative=alternative)
        # abs: below ~1e-12 scipy's nct tail is itself off by orders of magnitude (see power.py)
        assert power == pytest.approx(reference, rel=1e-9, abs=1e-12)


def test_the_other_powers_are_exactly_one_at_the_same_edge():
    assert power_two_proportions(0.1, 0.9, 10**6) == 1.0
    assert power_two_proportions(0.01, 0.99, 10**9, alternative="greater") == 1.0
    assert power_two_proportions(0.1, 0.9, 10**6, alternative="less") == 0.0
    assert power_sign_test(0.9, 10**9) == 1.0
    assert power_sign_test(0.99, 10**6, method="exact") == 1.0
    assert power_sign_test(0.9, 10**12, tie_rate=0.5, tie_policy="split") == 1.0


def test_the_far_tail_matches_an_mpmath_integral():
    # mpmath (dps 40) quadrature of E[Phi(x S - nc)] over S^2 ~ chi2(df)/df, breakpoints every
    # df/64: power_two_means(2, 1, 100, alternative='less') is P(T <= -t_.05(198)) with
    # nc = 2 sqrt(50), 4.04135264268100e-56 (scipy's nct.cdf: NaN); power_paired(1, 1, 1000,
    # 'less') likewise with df = 999, nc = sqrt(1000): 1.15009778812697e-242.
    low = power_two_means(2.0, 1.0, 100, alternative="less")
    assert low == pytest.approx(4.04135264268100e-56, rel=1e-9)
    lower = power_paired(1.0, 1.0, 1000, alternative="less")
    assert lower == pytest.approx(1.15009778812697e-242, rel=1e-9)


# ------------------------------------------------------------------------------ paired design


def test_sample_size_paired_docstring_number():
    # TTestPower().solve_power(0.1, power=0.8, alpha=0.05) = 786.809 (statsmodels 0.15)
    size = sample_size_paired(0.1, 1.0)
    assert size.n_pairs == 787
    assert size.effect_size == 0.1
    assert (size.alpha, size.power, size.alternative) == (0.05, 0.8, "two-sided")


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_sample_size_paired_is_statsmodels_ttestpower_rounded_up(alternative):
    sign = -1.0 if alternative == "less" else 1.0
    for d, alpha, power in itertools.product(
        (0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2), (0.01, 0.05, 0.1), (0.5, 0.8, 0.9, 0.95)
    ):
        reference = TTestPower().solve_power(
            sign * d, alpha=alpha, power=power, alternative=_SM[alternative]
        )
        size = sample_size_paired(sign * d, 1.0, alpha=alpha, power=power, alternative=alternative)
        assert size.n_pairs == max(2, math.ceil(reference)), (d, alpha, power)
        # the smallest whole number that reaches the power
        got = power_paired(sign * d, 1.0, size.n_pairs, alpha=alpha, alternative=alternative)
        assert got >= power
        if size.n_pairs > 2:
            short = power_paired(
                sign * d, 1.0, size.n_pairs - 1, alpha=alpha, alternative=alternative
            )
            assert short < power


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_power_paired_matches_statsmodels_over_a_grid(alternative):
    for d, n, alpha in itertools.product(
        (-0.4, -0.05, 0.02, 0.1, 0.3, 0.7, 1.5), (2, 3, 10, 50, 300, 4000), (0.01, 0.05, 0.2)
    ):
        with np.errstate(all="ignore"):
            reference = TTestPower().power(d / 2.0, n, alpha, alternative=_SM[alternative])
        if math.isnan(reference):
            continue
        power = power_paired(d, 2.0, n, alpha=alpha, alternative=alternative)  # effect d / 2
        assert power == pytest.approx(reference, rel=1e-9, abs=1e-12), (d, n, alpha)


def test_power_paired_is_one_where_statsmodels_gives_nan():
    with np.errstate(all="ignore"):
        assert math.isnan(TTestPower().power(1.0, 200, 0.05, alternative="smaller"))
        assert math.isnan(TTestPower().power(5.0, 50, 0.05, alternative="smaller"))
    assert power_paired(2.0, 1.0, 100) == 1.0
    for d, n, alternative in itertools.product(
        (1.0, 2.0, 5.0, 40.0, 1e3, 1e300), (2, 50, 200, 10**4, 10**15), ALTERNATIVES
    ):
        power = power_paired(d, 1.0, n, alternative=alternative)
        assert 0.0 <= power <= 1.0, (d, n, alternative)
        if alternative != "less" and d >= 2 and n >= 50:
            assert power == pytest.approx(1.0, abs=1e-12)


def test_sample_size_paired_for_an_overwhelming_effect_is_the_smallest_t_test():
    assert sample_size_paired(1e300, 1.0).n_pairs == 2
    assert sample_size_paired(50.0, 1.0, power=0.999999).n_pairs == 2
    assert sample_size_paired(-3.0, 1.0, alternative="less", power=0.99).n_pairs > 2


def test_sample_size_paired_grows_as_the_effect_shrinks_alpha_shrinks_power_grows():
    effects = [sample_size_paired(d, 1.0).n_pairs for d in (1.0, 0.5, 0.3, 0.2, 0.1, 0.05)]
    alphas = [sample_size_paired(0.2, 1.0, alpha=a).n_pairs for a in (0.2, 0.1, 0.05, 0.01, 1e-4)]
    powers = [sample_size_paired(0.2, 1.0, power=p).n_pairs for p in (0.5, 0.7, 0.8, 0.9, 0.99)]
    spreads = [sample_size_paired(0.2, s).n_pairs for s in (0.5, 1.0, 2.0, 4.0)]
    for sizes in (effects, alphas, powers, spreads):
        assert sizes == sorted(sizes)
        assert len(set(sizes)) == len(sizes)


def test_power_paired_rises_with_pairs_and_effect():
    by_n = [power_paired(0.2, 1.0, n) for n in (2, 5, 20, 100, 200, 400)]
    by_d = [power_paired(d, 1.0, 100) for d in (0.0, 0.05, 0.1, 0.2, 0.4)]
    assert by_n == sorted(by_n)
    assert by_d == sorted(by_d)
    assert by_d[0] == pytest.approx(0.05)  # no effect: the power is the level


def test_paired_bad_inputs_name_the_argument():
    with pytest.raises(InvalidArgument, match="`difference`"):
        sample_size_paired(math.nan, 1.0)
    with pytest.raises(InvalidArgument, match="`difference` is 0"):
        sample_size_paired(0.0, 1.0)
    with pytest.raises(InvalidArgument, match="`standard_deviation`"):
        sample_size_paired(0.1, 0.0)
    with pytest.raises(InvalidArgument, match="`standard_deviation`"):
        power_paired(0.1, -1.0, 10)
    with pytest.raises(InvalidArgument, match="`alpha`"):
        sample_size_paired(0.1, 1.0, alpha=1.5)
    with pytest.raises(InvalidArgument, match="`power`"):
        sample_size_paired(0.1, 1.0, power=1.0)
    with pytest.raises(InvalidArgument, match="`alternative` must be one of"):
        sample_size_paired(0.1, 1.0, alternative="larger")
    with pytest.raises(InvalidArgument, match="`alternative` must be one of"):
        power_paired(0.1, 1.0, 10, alternative="bigger")
    with pytest.raises(InvalidArgument, match="`n_pairs`"):
        power_paired(0.1, 1.0, 1)
    with pytest.raises(InvalidArgument, match="`n_pairs`"):
        power_paired(0.1, 1.0, 10.5)
    with pytest.raises(InvalidArgument, match="points away from alternative='greater'"):
        sample_size_paired(-0.1, 1.0, alternative="greater")
    with pytest.raises(InvalidArgument, match="MAX_SAMPLE_SIZE"):
        sample_size_paired(1e-9, 1.0)
    with pytest.raises(InvalidArgument, match="overflows"):
        sample_size_paired(1e300, 1e-300)


def test_sample_size_paired_gives_about_the_asked_power_in_simulation():
    # 4,000 seeded experiments of n_pairs users (per-user differences ~ N(0.25, 1)), each
    # analysed by paired_test's t. The simulated power has SE sqrt(.8 * .2 / 4000) = 0.0063;
    # the band is 4 SE (0.025), so an unseeded run would fail falsely about 6 times in 100,000
    # (the t power being exact, the only error is the simulation's). Seeded, never retried.
    size = sample_size_paired(0.25, 1.0, power=0.8)
    rng = np.random.default_rng(20261203)
    differences = rng.normal(0.25, 1.0, size=(4000, size.n_pairs))
    pvalues = stats.ttest_1samp(differences, 0.0, axis=1).pvalue
    rejected = float(np.mean(pvalues < 0.05))
    assert rejected == pytest.approx(0.8, abs=0.025)
    # the library's own paired_test agrees with scipy's one-sample t on these users
    assert paired_test(differences[0]).pvalue == pytest.approx(pvalues[0], rel=1e-9)


@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_sample_size_two_means_for_large_effects_where_the_statsmodels_solver_fails(alternative):
    # TTestIndPower().solve_power returns NaN (ConvergenceWarning) or raises TypeError for these
    # (statsmodels 0.15): its power is NaN near the answer. The size must still reach the power,
    # and one user fewer per arm must not.
    for difference, power in itertools.product((0.5, 1.5, 3.0, 10.0, 100.0), (0.5, 0.9, 0.999999)):
        size = sample_size_two_means(difference, 1.0, power=power, alternative=alternative)
        assert size.n_a == size.n_b >= 2
        reached = power_two_means(difference, 1.0, size.n_a, alternative=alternative)
        assert reached >= power, (difference, power)
        if size.n_a > 2:
            short = power_two_means(difference, 1.0, size.n_a - 1, alternative=alternative)
            assert short < power, (difference, power)


def test_sample_size_two_means_agrees_with_statsmodels_where_its_solver_converges():
    # TTestIndPower().solve_power(1.0, power=0.9, alpha=0.05) = 22.02 (statsmodels 0.15)
    assert sample_size_two_means(1.0, 1.0, power=0.9).n_a == 23
    assert sample_size_two_means(0.1, 1.0).n_a == 1571  # the docstring's number


def test_sample_size_two_means_for_large_effects_with_unequal_arms_reaches_the_power():
    for difference, power, ratio in itertools.product(
        (1.5, 3.0, 10.0, 100.0), (0.5, 0.9, 0.999999), (1e-6, 0.1, 0.5, 2.0, 1e6)
    ):
        size = sample_size_two_means(difference, 1.0, power=power, ratio=ratio)
        assert size.n_a >= 2
        reached = power_two_means(difference, 1.0, size.n_a, ratio=ratio)
        assert reached >= power, (difference, power, ratio)
