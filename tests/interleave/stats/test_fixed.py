"""Fixed-horizon tests, power and multiplicity: cross-checked against scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from interleave.stats import (
    adjust_pvalues,
    bootstrap_test,
    paired_test,
    pairwise_sign_tests,
    power_sign_test,
    sample_size_sign_test,
    sample_size_two_means,
    sample_size_two_proportions,
    sign_test,
    two_proportions_test,
    welch_test,
)


def test_the_sign_test_drops_ties_by_default():
    assert sign_test(60, 40, 30).pvalue == sign_test(60, 40).pvalue


def test_split_ties_pull_the_win_rate_towards_one_half():
    split = sign_test(60, 40, 30, tie_policy="split")
    assert split.n_successes == 75
    assert split.n_trials == 130
    assert split.pvalue == pytest.approx(stats.binomtest(75, 130).pvalue)
    assert split.pvalue > sign_test(60, 40).pvalue


def test_an_odd_leftover_tie_is_dropped_so_the_split_test_stays_exact():
    result = sign_test(10, 5, 3, tie_policy="split")
    assert (result.n_successes, result.n_trials) == (11, 17)


def test_one_sided_sign_test_and_its_interval():
    result = sign_test(60, 40, alternative="greater")
    assert result.pvalue == pytest.approx(stats.binomtest(60, 100, alternative="greater").pvalue)
    interval = result.confidence_interval(0.95)
    assert interval.high == 1.0
    assert interval.low < 0.6


def test_paired_test_matches_scipy_ttest_1samp():
    rng = np.random.default_rng(3)
    prefs = rng.normal(0.1, 1.0, size=50)
    ours = paired_test(prefs)
    theirs = stats.ttest_1samp(prefs, 0.0)
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.pvalue == pytest.approx(theirs.pvalue)
    low, high = theirs.confidence_interval(0.9)
    interval = ours.confidence_interval(0.9)
    assert (interval.low, interval.high) == pytest.approx((low, high))


def test_welch_test_matches_scipy_on_raw_data():
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 40), rng.normal(0.5, 2, 60)
    ours = welch_test(
        len(a), a.sum(), (a * a).sum(), len(b), b.sum(), (b * b).sum(), alternative="greater"
    )
    theirs = stats.ttest_ind(b, a, equal_var=False, alternative="greater")
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.pvalue == pytest.approx(theirs.pvalue)
    assert ours.df == pytest.approx(theirs.df)


def test_two_proportions_z_test_matches_statsmodels_unpooled():
    from statsmodels.stats.proportion import test_proportions_2indep

    ours = two_proportions_test(120, 1000, 150, 1000)
    theirs = test_proportions_2indep(150, 1000, 120, 1000, method="wald", compare="diff")
    assert ours.pvalue == pytest.approx(theirs.pvalue)


def test_bootstrap_is_reproducible_and_close_to_the_sign_test_when_users_are_independent():
    rng = np.random.default_rng(8)
    wins = rng.binomial(1, 0.6, size=400)
    losses = 1 - wins
    first = bootstrap_test(wins, losses, n_resamples=2000, rng=1)
    again = bootstrap_test(wins, losses, n_resamples=2000, rng=1)
    np.testing.assert_array_equal(first.bootstrap_distribution, again.bootstrap_distribution)
    exact = sign_test(int(wins.sum()), int(losses.sum())).confidence_interval(0.95)
    interval = first.confidence_interval(0.95)
    # independent users: the bootstrap and Clopper-Pearson intervals agree to about 0.01
    assert interval.low == pytest.approx(exact.low, abs=0.015)
    assert interval.high == pytest.approx(exact.high, abs=0.015)


def test_the_bootstrap_widens_the_interval_when_a_users_clicks_are_correlated():
    rng = np.random.default_rng(9)
    # 100 users, each preferring one side for all 20 of their comparisons
    prefers = rng.binomial(1, 0.55, size=100)
    wins, losses = prefers * 20, (1 - prefers) * 20
    boot = bootstrap_test(wins, losses, n_resamples=2000, rng=2).confidence_interval()
    naive = sign_test(int(wins.sum()), int(losses.sum())).confidence_interval()
    assert boot.high - boot.low > 3 * (naive.high - naive.low)


def test_ab_sample_sizes_match_statsmodels_and_power_round_trips():
    size = sample_size_two_proportions(0.10, 0.11)
    assert size.n_a == 14745
    assert size.n_total == 2 * 14745
    assert (
        sample_size_two_means(0.1, 1.0, alternative="greater").n_a
        < sample_size_two_means(0.1, 1.0).n_a
    )


def test_interleaving_sample_size_reaches_the_power_it_promises():
    for tie_rate in (0.0, 0.4):
        size = sample_size_sign_test(0.55, tie_rate=tie_rate, power=0.8)
        assert power_sign_test(0.55, size.n_comparisons, tie_rate=tie_rate) >= 0.8
        assert power_sign_test(0.55, size.n_comparisons - 5, tie_rate=tie_rate) < 0.8
    exact = sample_size_sign_test(0.55, method="exact")
    assert power_sign_test(0.55, exact.n_comparisons, method="exact") >= 0.8
    assert power_sign_test(0.55, exact.n_comparisons - 1, method="exact") < 0.8


def test_exact_power_with_ties_matches_a_simulation():
    # 20,000 simulated experiments: the simulated power has SE 0.003; band 4 SE.
    rng = np.random.default_rng(12)
    n, tie_rate, rate = 600, 0.3, 0.56
    decisive = rng.binomial(n, 1 - tie_rate, size=20_000)
    wins = rng.binomial(decisive, rate)
    pvalues = np.minimum(1, 2 * stats.binom.cdf(np.minimum(wins, decisive - wins), decisive, 0.5))
    simulated = (pvalues <= 0.05).mean()
    assert power_sign_test(rate, n, tie_rate=tie_rate, method="exact") == pytest.approx(
        simulated, abs=0.012
    )


def test_split_ties_cost_power_when_ties_are_common():
    drop = sample_size_sign_test(0.55, tie_rate=0.5).n_comparisons
    split = sample_size_sign_test(0.55, tie_rate=0.5, tie_policy="split").n_comparisons
    assert (drop, split) == (1566, 2609)


def test_holm_adjustment_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    pvalues = [0.001, 0.02, 0.03, 0.5]
    ours = adjust_pvalues(pvalues)
    np.testing.assert_allclose(ours.adjusted, multipletests(pvalues, method="holm")[1])
    assert ours.rejected(0.05).tolist() == [True, False, False, False]


def test_pairwise_sign_tests_adjust_over_all_pairs_of_a_multileave():
    wins = [[0, 60, 80], [40, 0, 55], [20, 45, 0]]
    result = pairwise_sign_tests(wins)
    raw = sign_test(80, 20).pvalue
    assert result.pvalues[0, 2] == pytest.approx(raw)
    assert result.adjusted[0, 2] == pytest.approx(min(1.0, 3 * raw))
    assert np.isnan(result.pvalues[1, 1])
