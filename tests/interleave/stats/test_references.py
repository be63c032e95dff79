"""Every value of REFERENCES.md §4 (../shared/REFERENCES.md), reproduced with its provenance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from interleave.stats import (
    SPRT,
    CenteredSum,
    Decision,
    GroupSequential,
    MixtureSPRT,
    SequentialSRM,
    TwoMeans,
    TwoProportions,
    sign_test,
    srm_test,
    two_proportions_test,
)
from interleave.stats.mixture import (
    normal_mixture_boundary,
    normal_mixture_log_e,
    normal_mixture_rho,
)

# ------------------------------------------------------------------------------ Wald's SPRT


def test_sprt_rejection_boundaries_match_the_reference():
    # REFERENCES §4: Wald SPRT p0=.5, p1=.55, alpha=.05, beta=.2 accepts H1 at >= 67/277/539
    # wins after 100/500/1000 comparisons (ties dropped).
    sprt = SPRT(p0=0.5, p1=0.55, alpha=0.05, beta=0.2)
    assert sprt.rejection_wins([100, 500, 1000]).tolist() == [67, 277, 539]
    # one win fewer does not reach the boundary
    for n, wins in ((100, 67), (500, 277), (1000, 539)):
        assert sprt.start().update(wins=wins, losses=n - wins).decision is Decision.REJECT
        assert (
            sprt.start().update(wins=wins - 1, losses=n - wins + 1).decision is not Decision.REJECT
        )


def _stream(pattern: list[int], length: int) -> list[int]:
    return [1 if x else -1 for x in (pattern * length)[:length]]


def test_sprt_on_the_three_in_five_stream_accepts_h1_at_177():
    # REFERENCES §4: the stream [1,1,0,1,0] repeated stops at n = 177 accepting H1.
    result = SPRT().evaluate(_stream([1, 1, 0, 1, 0], 1000))
    assert int(result.n_stopped) == 177
    assert bool(result.rejected)


def test_sprt_on_the_alternating_stream_accepts_h0_at_312():
    # REFERENCES §4: the stream [1,0] repeated stops at n = 312 accepting H0.
    result = SPRT().evaluate(_stream([1, 0], 1000))
    assert int(result.n_stopped) == 312
    assert bool(result.accepted)


def test_sprt_state_stops_at_the_same_look_as_the_stream():
    state = SPRT().start()
    for outcome in _stream([1, 1, 0, 1, 0], 400):
        state = state.update(wins=int(outcome == 1), losses=int(outcome == -1))
    assert state.n_stopped == 177
    assert state.decision is Decision.REJECT


# -------------------------------------------------------------------- the normal-mixture core


def test_normal_mixture_core_reproduces_confseq_test_values():
    # REFERENCES §4 (confseq's own test values): v_opt = 100, alpha = .05 gives
    # rho = 12.60056, log m(10, 100) = -0.6510052, u(100) = 30.35209.
    rho = normal_mixture_rho(100, alpha=0.05)
    assert rho == pytest.approx(12.60056, abs=1e-5)
    assert normal_mixture_log_e(10.0, 100.0, rho) == pytest.approx(-0.6510052, abs=1e-7)
    assert normal_mixture_boundary(100.0, rho, alpha=0.05) == pytest.approx(30.35209, abs=1e-5)


def test_the_mixture_test_rejects_exactly_when_s_crosses_the_boundary():
    rho = normal_mixture_rho(100, alpha=0.05)
    u = normal_mixture_boundary(100.0, rho, alpha=0.05)
    assert normal_mixture_log_e(u, 100.0, rho) == pytest.approx(math.log(20), abs=1e-12)


def _growthbook_state():
    # REFERENCES §4: A = 1000/10000, B = 1100/10000 with GrowthBook's N* = 5000.
    return (
        MixtureSPRT.growthbook()
        .start(TwoProportions())
        .update(successes_a=1000, trials_a=10000, successes_b=1100, trials_b=10000)
    )


def test_growthbook_sequential_interval_and_pvalue_are_reproduced():
    # REFERENCES §4: sequential absolute-lift interval (-0.003555, 0.023555), p = 0.433720
    # (GrowthBook docs example; total N = 20,000 is the mixture's time, v_opt = N* = 5000).
    state = _growthbook_state()
    interval = state.confidence_interval(0.95)
    assert interval.low == pytest.approx(-0.003555, abs=5e-7)
    assert interval.high == pytest.approx(0.023555, abs=5e-7)
    assert state.pvalue == pytest.approx(0.433720, abs=5e-7)
    assert state.decision is Decision.CONTINUE


def test_growthbook_fixed_horizon_values_are_welch_t_not_the_normal():
    # REFERENCES §4: fixed-horizon (0.001504, 0.018496), p = 0.021068. GrowthBook uses Student's
    # t with Welch-Satterthwaite df on the Bernoulli variances p(1-p): that gives 0.021068.
    result = two_proportions_test(1000, 10000, 1100, 10000, distribution="t")
    assert result.pvalue == pytest.approx(0.021068, abs=5e-7)
    interval = result.confidence_interval(0.95)
    assert interval.low == pytest.approx(0.001504, abs=5e-7)
    assert interval.high == pytest.approx(0.018496, abs=5e-7)
    # The plain z-test gives 0.021058: the reference's last digits are the t distribution's.
    z = two_proportions_test(1000, 10000, 1100, 10000, distribution="normal")
    assert z.pvalue == pytest.approx(0.0210581, abs=1e-7)


def _johari_log_lr(n: int, mean: float, variance: float, tau: float) -> float:
    """Johari, Pekelis & Walsh's normal-mixture likelihood ratio, written from the paper: n
    observations of mean ``mean`` and variance V, effect mixed over N(0, tau^2), same units:
    Lambda = sqrt(V / (V + n tau^2)) exp(n^2 tau^2 mean^2 / (2 V (V + n tau^2)))."""
    v, t2 = variance, tau * tau
    return 0.5 * math.log(v / (v + n * t2)) + n * n * t2 * mean * mean / (2 * v * (v + n * t2))


def test_johari_msprt_on_comparisons_is_the_core_with_rho_one_over_tau2():
    # REFERENCES §4: Johari et al.'s mSPRT is the normal mixture with rho = V^2 / tau^2; a
    # comparison scores +1/-1, V = 1, so rho = 1 / tau^2 = 25 at tau = 0.2.
    state = MixtureSPRT.johari(tau=0.2).start().update(wins=60, losses=40)
    assert state.statistic == pytest.approx(normal_mixture_log_e(20.0, 100.0, 25.0), rel=1e-12)
    assert state.statistic == pytest.approx(_johari_log_lr(100, 0.2, 1.0, 0.2), rel=1e-12)


def test_johari_msprt_matches_the_closed_form_for_pair_differences_of_variance_two():
    # The review's case: a CenteredSum of pair differences with V = 2 and tau = 0.1. The old
    # rho = sigma^2 / tau^2 (right only at V = 1) gave 0.5 log(200 / (2n + 200)) + ..., which
    # differs; the closed form needs rho = V^2 / tau^2 = 400.
    rng = np.random.default_rng(5)
    differences = rng.normal(0.3, math.sqrt(2.0), size=400)
    test = MixtureSPRT.johari(tau=0.1)
    state = test.start(CenteredSum())
    for n, d in enumerate(differences, start=1):
        state = state.update(total=float(d), variance=2.0)
        mean = float(differences[:n].mean())
        assert state.statistic == pytest.approx(_johari_log_lr(n, mean, 2.0, 0.1), rel=1e-9)
    old = normal_mixture_log_e(differences.sum(), 800.0, 2.0 / 0.1**2)
    assert abs(old - state.statistic) > 0.1
    stream = test.evaluate(CenteredSum.from_increments(differences, np.full(400, 2.0)))
    assert stream.statistic[-1] == pytest.approx(state.statistic, rel=1e-12)


def test_johari_msprt_matches_the_closed_form_through_two_means():
    # Two-stream mSPRT (Johari et al. §4): n pairs, the effect is mean_b - mean_a, the variance
    # of one pair difference V = sigma_a^2 + sigma_b^2 (here the sample variances, as plugged in
    # by the paper and by TwoMeans), tau in the metric's units.
    rng = np.random.default_rng(9)
    a = rng.normal(10.0, 1.0, size=300)
    b = rng.normal(10.2, 1.5, size=300)
    test = MixtureSPRT.johari(tau=0.25)
    state = test.start(TwoMeans())
    for n in range(1, 301):
        x, y = float(a[n - 1]), float(b[n - 1])
        state = state.update(
            n_a=1, sum_a=x, sum_squares_a=x * x, n_b=1, sum_b=y, sum_squares_b=y * y
        )
        if n < 2:
            assert state.statistic == 0.0  # no variance yet: no evidence
            continue
        variance = float(a[:n].var(ddof=1) + b[:n].var(ddof=1))
        mean = float(b[:n].mean() - a[:n].mean())
        assert state.statistic == pytest.approx(_johari_log_lr(n, mean, variance, 0.25), rel=1e-7)


# -------------------------------------------------------------------------- group sequential


def test_obrien_fleming_bounds_match_the_reference():
    # REFERENCES §4: O'Brien-Fleming-type spending, two-sided .05, four equal looks:
    # 4.3326, 2.9631, 2.3590, 2.0141 (ldbounds/gsDesign; printed to 4 decimals).
    bounds = GroupSequential(max_n=1, spending="obrien-fleming").bounds([0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(bounds, [4.3326, 2.9631, 2.3590, 2.0141], atol=5e-5)


def test_power_family_bounds_match_the_reference_to_its_grid_accuracy():
    # REFERENCES §4 (spotify-confidence, power family alpha t^2, two-sided .05, four equal
    # looks): 2.95517, 2.55932, 2.30081, 2.09191. Our converged integration gives 2.95517,
    # 2.55935, 2.30086, 2.09197: the reference's last digits come from ldbounds' trapezoid grid
    # of 0.05 sd, which spotify-confidence ports (reproduced below to 1e-5).
    bounds = GroupSequential(max_n=1, spending=2.0).bounds([0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(bounds, [2.95516685, 2.55935016, 2.3008553, 2.0919664], atol=1e-7)
    np.testing.assert_allclose(bounds, [2.95517, 2.55932, 2.30081, 2.09191], atol=7e-5)
    coarse = _ldbounds_trapezoid([0.25, 0.5, 0.75, 1.0], 0.025, power=2.0)
    np.testing.assert_allclose(coarse, [2.95517, 2.55932, 2.30081, 2.09191], atol=1e-5)


def _ldbounds_trapezoid(t: list[float], alpha_one_side: float, power: float) -> np.ndarray:
    """The approximation ldbounds' landem (and spotify-confidence's port) makes, written from
    its description: one-sided bounds at alpha/2, lower truncation at -8, trapezoid rule on a
    grid of 0.05 sd, exact root of the crossing probability."""
    from scipy.optimize import brentq

    t_arr = np.asarray(t)
    spent = alpha_one_side * t_arr**power
    step = np.diff(np.concatenate([[0.0], spent]))
    sd = np.sqrt(np.diff(np.concatenate([[0.0], t_arr])))
    bounds = [norm.isf(step[0])]
    high, low = bounds[0] * sd[0], -8 * sd[0]
    n_int = int(np.ceil((high - low) / (0.05 * sd[0])))
    grid = np.linspace(low, high, n_int + 1)
    density = norm.pdf(grid / sd[0]) / sd[0]

    def trapezoid(values: np.ndarray, h: float) -> float:
        return 0.5 * h * (2 * values.sum() - values[0] - values[-1])

    for k in range(1, len(t)):
        h = (high - low) / n_int

        def crossing(u, density=density, grid=grid, h=h, k=k):
            return trapezoid(density * norm.sf((u - grid) / sd[k]), h)

        u = brentq(lambda u, k=k, crossing=crossing: crossing(u) - step[k], 0, 20, xtol=1e-13)
        bounds.append(u / math.sqrt(t_arr[k]))
        new_high, new_low = u, -8 * math.sqrt(t_arr[k])
        new_n = int(np.ceil((new_high - new_low) / (0.05 * sd[k])))
        new_grid = np.linspace(new_low, new_high, new_n + 1)
        kernel = norm.pdf((new_grid[:, None] - grid[None, :]) / sd[k]) / sd[k]
        values = density[None, :] * kernel
        density = 0.5 * h * (2 * values.sum(axis=1) - values[:, 0] - values[:, -1])
        grid, high, low, n_int = new_grid, new_high, new_low, new_n
    return np.asarray(bounds)


def test_group_sequential_bounds_agree_with_an_independent_multivariate_normal_integration():
    # Independent check of the recursion: the probability of crossing at any of the looks
    # under H0, by scipy's multivariate normal CDF (Genz), must equal alpha.
    from scipy.stats import multivariate_normal

    t = np.array([0.25, 0.5, 0.75, 1.0])
    bounds = GroupSequential(max_n=1, spending=2.0).bounds(t)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    mvn = multivariate_normal(mean=np.zeros(4), cov=cov, abseps=1e-8, releps=1e-8, maxpts=200_000)
    # P(|Z_k| < c_k for all k) by inclusion-exclusion over the 2^4 corners of the box
    total = 0.0
    for corner in range(16):
        signs = np.array([1 if corner >> i & 1 else -1 for i in range(4)])
        total += np.prod(signs) * mvn.cdf(signs * bounds, lower_limit=-np.inf * np.ones(4))
    assert 1 - total == pytest.approx(0.05, abs=2e-5)


# ------------------------------------------------------------------------ sample-ratio mismatch


def test_chi_square_srm_of_600_to_400_is_flagged():
    # REFERENCES §4: Pearson chi-square, 600/400 gives p = 2.54e-10; flag at p < 0.001.
    result = srm_test([600, 400])
    assert result.pvalue == pytest.approx(2.54e-10, rel=2e-3)
    assert result.is_mismatch()


DAILY = [
    [5000, 5000],
    [5050, 4950],
    [5100, 4900],
    [5080, 4920],
    [5120, 4880],
    [5150, 4850],
    [5100, 4900],
]


def test_sequential_srm_reproduces_lindon_malek_pvalues_day_by_day():
    # REFERENCES §4: Lindon & Malek 2022, concentration 10,000, daily 50/50 counts:
    # p = 1, 1, 0.64929, 0.26946, 0.041271, 2.0908e-3, 3.4891e-4. The counts are daily
    # increments (the test reads their running totals), the prior is Dirichlet(10,000 x (1/2, 1/2)),
    # and p is the running minimum of 1 / BF. (Reading the rows as cumulative, or a prior of
    # 10,000 per arm, gives other numbers.)
    expected = [1.0, 1.0, 0.64929, 0.26946, 0.041271, 2.0908e-3, 3.4891e-4]
    state = SequentialSRM(concentration=10_000).start()
    seen = []
    for day in DAILY:
        state = state.update(counts=day)
        seen.append(state.pvalue)
    np.testing.assert_allclose(seen, expected, rtol=5e-5)
    np.testing.assert_allclose(SequentialSRM().evaluate(DAILY).pvalue, expected, rtol=5e-5)
    assert state.decision is Decision.REJECT  # 3.49e-4 < 0.001 on day 7
    assert state.n_stopped == sum(map(sum, DAILY))


# ------------------------------------------------------------------------------ fixed horizon


def test_binomial_test_of_60_in_100_matches_scipy():
    # REFERENCES §4: scipy.stats.binomtest(60, 100) two-sided p = 0.0568879.
    assert sign_test(60, 40).pvalue == pytest.approx(0.0568879, abs=5e-8)
