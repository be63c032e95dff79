"""Fixed-horizon tests: valid when the sample size was fixed in advance and you look once.

Looking again and again with these tests inflates the false-positive rate far above ``alpha``
(the A/A study in the tests shows it); use :mod:`interleave.stats.mixture` or the other sequential
tests for monitoring. Conventions: ``b`` is the candidate and ``a`` production; ``difference`` is
``b - a``; ``alternative='greater'`` means the candidate is better; an interleaving win is a win
for the candidate.

- :func:`sign_test`: exact binomial test of the win rate on wins and losses, ties dropped or split
  (the one test here that needs whole counts: fractional credit goes to :func:`paired_test`, the
  bootstrap or the sequential tests, which read fractions);
- :func:`paired_test`: one-sample t-test of per-user preferences (each user is one unit);
- :func:`two_proportions_test`: A/B conversion rates (normal or Welch-t reference);
- :func:`welch_test`: A/B means from per-arm count, sum and sum of squares;
- :func:`bootstrap_test`: the win rate with users resampled (clicks of one user are correlated).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import stats

from interleave._checks import check_int, check_one_of
from interleave.errors import InvalidArgument
from interleave.keys import as_generator
from interleave.stats._core import (
    MAX_COUNT,
    ConfidenceInterval,
    Result,
    as_count_array,
    as_real_array,
    check_alternative,
    check_confidence_level,
    check_tie_policy,
    count_increment,
    real_increment,
)
from interleave.stats.sufficient import WinLoss

__all__ = [
    "MAX_BOOTSTRAP_DRAWS",
    "MAX_RESAMPLES",
    "BootstrapResult",
    "PairedTestResult",
    "SignTestResult",
    "TwoSampleResult",
    "bootstrap_test",
    "paired_test",
    "sign_test",
    "two_proportions_test",
    "welch_test",
]


MAX_RESAMPLES = 1_000_000
"""The most bootstrap resamples :func:`bootstrap_test` draws (its Monte-Carlo error in a p-value
near 0.05 is then 0.0002; more buys nothing)."""

MAX_BOOTSTRAP_DRAWS = 10**9
"""The most user draws (``n_resamples * n_users``) one :func:`bootstrap_test` makes: about 10 s."""


def _interval(estimate: float, se: float, quantile: float, alternative: str) -> tuple[float, float]:
    if alternative == "greater":
        return estimate - quantile * se, math.inf
    if alternative == "less":
        return -math.inf, estimate + quantile * se
    return estimate - quantile * se, estimate + quantile * se


def _quantile(confidence_level: float, alternative: str, df: float) -> float:
    tail = 1.0 - confidence_level
    q = 1.0 - tail / 2.0 if alternative == "two-sided" else 1.0 - tail
    return float(stats.norm.ppf(q) if math.isinf(df) else stats.t.ppf(q, df))


def _pvalue(statistic: float, alternative: str, df: float) -> float:
    dist = stats.norm if math.isinf(df) else stats.t(df)
    if alternative == "greater":
        return float(dist.sf(statistic))
    if alternative == "less":
        return float(dist.cdf(statistic))
    return float(min(1.0, 2.0 * dist.sf(abs(statistic))))


# ---------------------------------------------------------------------------------- sign test


@dataclasses.dataclass(frozen=True, slots=True)
class SignTestResult(Result):
    """Exact binomial (sign) test of the candidate's win rate against 0.5.

    Attributes
    ----------
    statistic
        The win rate ``n_successes / n_trials``.
    pvalue
        The exact binomial p-value.
    n_wins, n_losses, n_ties
        The counts given.
    n_successes, n_trials
        What was tested: ``(wins, wins + losses)`` with ties dropped; with ties split, each pair
        of ties adds one success and two trials (an odd tie left over is dropped, so the test
        stays exact).
    tie_policy, alternative
        As given.
    """

    statistic: float
    pvalue: float
    n_wins: int
    n_losses: int
    n_ties: int
    n_successes: int
    n_trials: int
    tie_policy: str
    alternative: str

    def confidence_interval(
        self, confidence_level: float = 0.95, method: str = "exact"
    ) -> ConfidenceInterval:
        """Interval for the win rate: 'exact' (Clopper-Pearson), 'wilson' or 'wilsoncc'."""
        confidence_level = check_confidence_level(confidence_level)
        method = check_one_of("method", method, ("exact", "wilson", "wilsoncc"))
        result = stats.binomtest(self.n_successes, self.n_trials, 0.5, alternative=self.alternative)
        ci = result.proportion_ci(confidence_level=confidence_level, method=method)
        return ConfidenceInterval(float(ci.low), float(ci.high), confidence_level)


def sign_test(
    wins: Any,
    losses: Any = None,
    ties: Any = 0,
    *,
    tie_policy: str = "drop",
    alternative: str = "two-sided",
) -> SignTestResult:
    """Exact binomial test that the candidate wins half of the comparisons.

    The exact test needs whole counts. Fractional (probabilistic) credit gives fractional wins:
    test those with :func:`paired_test` on per-user preferences, :func:`bootstrap_test`, or a
    sequential test, which all read fractions; the error says so.

    Parameters
    ----------
    wins, losses, ties
        Interleaving outcomes: comparisons the candidate won, lost and tied. ``wins`` may also be
        a :class:`~interleave.stats.WinLoss` (then leave ``losses`` and ``ties`` out).
    tie_policy
        ``'drop'``: test wins among decisive comparisons; ``'split'``: a tie is half a win and half
        a loss, which dilutes the win rate towards 0.5.
    alternative
        ``'greater'``: the candidate wins more than half; ``'less'``; ``'two-sided'``.

    Examples
    --------
    >>> result = sign_test(60, 40)
    >>> round(result.pvalue, 7)
    0.0568879
    >>> sign_test(WinLoss(60, 40, 3)).n_trials
    100
    """
    if isinstance(wins, WinLoss):
        if losses is not None or ties != 0:
            msg = "pass either a WinLoss as `wins` or the three counts, not both"
            raise InvalidArgument(msg)
        wins, losses, ties = wins.n_wins, wins.n_losses, wins.n_ties
    elif losses is None:
        msg = "`losses` is missing: pass sign_test(wins, losses[, ties]) or sign_test(WinLoss(...))"
        raise InvalidArgument(msg)
    wins = _whole("wins", wins)
    losses = _whole("losses", losses)
    ties = _whole("ties", ties)
    tie_policy = check_tie_policy(tie_policy)
    alternative = check_alternative(alternative)
    if tie_policy == "drop":
        k, n = wins, wins + losses
    else:
        k, n = wins + ties // 2, wins + losses + 2 * (ties // 2)
    if n == 0:
        msg = (
            f"no decisive comparisons to test (wins={wins}, losses={losses}, ties={ties}, "
            f"tie_policy={tie_policy!r}); collect data first"
        )
        raise InvalidArgument(msg)
    if n > MAX_COUNT:
        msg = f"wins + losses = {n} exceeds 2**53 (MAX_COUNT)"
        raise InvalidArgument(msg)
    result = stats.binomtest(k, n, 0.5, alternative=alternative)
    return SignTestResult(
        k / n, float(result.pvalue), wins, losses, ties, k, n, tie_policy, alternative
    )


def _whole(name: str, value: Any) -> int:
    """A whole count for the exact test; a fractional one gets the hint where fractions go."""
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        if math.isfinite(value) and value == math.floor(value) and 0 <= value <= MAX_COUNT:
            return int(value)
        if math.isfinite(value) and value >= 0:
            msg = (
                f"`{name}` must be a whole count for the exact sign test, got {value!r} "
                "(fractional credit from probabilistic interleaving?); use paired_test on "
                "per-user preferences, bootstrap_test, or a sequential test (MixtureSPRT, "
                "BetaBinomialMixture), which read fractional counts"
            )
            raise InvalidArgument(msg)
    return count_increment(name, value)


# ------------------------------------------------------------------------------- paired test


@dataclasses.dataclass(frozen=True, slots=True)
class PairedTestResult(Result):
    """One-sample t-test of per-user preferences against 0.

    Attributes
    ----------
    statistic
        Student's t.
    pvalue
        Its p-value with ``n_users - 1`` degrees of freedom.
    n_users, mean, variance
        The sufficient statistics (variance with ``ddof=1``).
    alternative
        As given.
    """

    statistic: float
    pvalue: float
    n_users: int
    mean: float
    variance: float
    alternative: str

    @property
    def df(self) -> int:
        """Degrees of freedom."""
        return self.n_users - 1

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Student-t interval for the mean preference."""
        confidence_level = check_confidence_level(confidence_level)
        se = math.sqrt(self.variance / self.n_users)
        q = _quantile(confidence_level, self.alternative, self.df)
        low, high = _interval(self.mean, se, q, self.alternative)
        return ConfidenceInterval(low, high, confidence_level)


def paired_test(preferences: Any, *, alternative: str = "two-sided") -> PairedTestResult:
    """Test whether the mean per-user preference for the candidate differs from 0.

    Each user contributes one number, e.g. ``(wins - losses) / comparisons`` over that user's
    impressions, so correlated clicks of one user count once.

    Examples
    --------
    >>> result = paired_test([0.5, 1.0, 0.0, 0.5, 1.0, -0.5])
    >>> round(result.statistic, 4), round(result.pvalue, 4)
    (1.7461, 0.1412)
    """
    values = as_real_array("preferences", preferences).astype(float)
    if values.ndim != 1:
        msg = f"`preferences` must be one value per user (1-D), got shape {values.shape}"
        raise InvalidArgument(msg)
    alternative = check_alternative(alternative)
    n = len(values)
    if n < 2:
        msg = f"`preferences` needs at least two users, got {n}"
        raise InvalidArgument(msg)
    if np.all(values == values[0]):
        msg = (
            f"every preference equals {values[0].item()!r}: the t statistic is undefined; use "
            "sign_test on the users instead"
        )
        raise InvalidArgument(msg)
    # Scale by the largest magnitude so that neither the mean nor the variance over- or
    # underflows in between; the t statistic does not depend on the scale.
    scale = float(np.max(np.abs(values)))
    scaled = values / scale
    scaled_mean = float(scaled.mean())
    scaled_variance = float(scaled.var(ddof=1))
    mean = scaled_mean * scale
    variance = scaled_variance * scale * scale
    if not (math.isfinite(variance) and variance > 0):
        msg = (
            f"`preferences` spread over {float(np.ptp(values))!r}, beyond what a float64 variance "
            "holds (it over- or underflows); rescale them (a preference lies in [-1, 1])"
        )
        raise InvalidArgument(msg)
    statistic = scaled_mean / math.sqrt(scaled_variance / n)
    return PairedTestResult(
        statistic, _pvalue(statistic, alternative, n - 1), n, mean, variance, alternative
    )


# -------------------------------------------------------------------------------- A/B tests


@dataclasses.dataclass(frozen=True, slots=True)
class TwoSampleResult(Result):
    """A two-sample test of ``b - a``.

    Attributes
    ----------
    statistic
        ``difference / standard_error`` (z or Welch's t).
    pvalue
        Its p-value.
    difference
        ``estimate_b - estimate_a``.
    standard_error
        Unpooled standard error of the difference.
    df
        Degrees of freedom of the reference distribution (``inf`` for the normal).
    alternative
        As given.
    """

    statistic: float
    pvalue: float
    difference: float
    standard_error: float
    df: float
    alternative: str

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Interval for ``b - a`` from the same reference distribution."""
        confidence_level = check_confidence_level(confidence_level)
        q = _quantile(confidence_level, self.alternative, self.df)
        low, high = _interval(self.difference, self.standard_error, q, self.alternative)
        return ConfidenceInterval(low, high, confidence_level)


def _welch_df(var_a: float, n_a: float, var_b: float, n_b: float) -> float:
    # Welch-Satterthwaite, with the per-arm variance of the mean var / n; scaled by the larger
    # one first (the ratio is scale-free) so tiny variances do not underflow to 0 / 0.
    va, vb = var_a / n_a, var_b / n_b
    top = max(va, vb)
    va, vb = va / top, vb / top
    return (va + vb) ** 2 / (va * va / (n_a - 1) + vb * vb / (n_b - 1))


def two_proportions_test(
    n_successes_a: int,
    n_trials_a: int,
    n_successes_b: int,
    n_trials_b: int,
    *,
    alternative: str = "two-sided",
    distribution: str = "normal",
) -> TwoSampleResult:
    """Compare two conversion rates with the unpooled (Wald) standard error.

    Parameters
    ----------
    n_successes_a, n_trials_a, n_successes_b, n_trials_b
        Per-arm counts (``a`` production, ``b`` candidate).
    alternative
        ``'greater'``: the candidate converts more.
    distribution
        ``'normal'`` (the z-test) or ``'t'``: Student's t with Welch-Satterthwaite degrees of
        freedom on the Bernoulli variances ``p (1 - p)``, which is what GrowthBook reports.

    Examples
    --------
    >>> result = two_proportions_test(1000, 10000, 1100, 10000, distribution="t")
    >>> round(result.pvalue, 6)
    0.021068
    """
    s_a = count_increment("n_successes_a", n_successes_a)
    t_a = count_increment("n_trials_a", n_trials_a)
    s_b = count_increment("n_successes_b", n_successes_b)
    t_b = count_increment("n_trials_b", n_trials_b)
    alternative = check_alternative(alternative)
    distribution = check_one_of("distribution", distribution, ("normal", "t"))
    for arm, s, t in (("a", s_a, t_a), ("b", s_b, t_b)):
        if t < 2:
            msg = f"`n_trials_{arm}` must be >= 2 for a variance, got {t}"
            raise InvalidArgument(msg)
        if s > t:
            msg = f"`n_successes_{arm}` ({s}) exceeds `n_trials_{arm}` ({t})"
            raise InvalidArgument(msg)
    p_a, p_b = s_a / t_a, s_b / t_b
    var_a, var_b = p_a * (1 - p_a), p_b * (1 - p_b)
    se = math.sqrt(var_a / t_a + var_b / t_b)
    if se == 0:
        # The sequential tests count a boundary arm with the largest Bernoulli variance (their
        # boundary is wide at small n); a fixed-horizon z has no such margin: 0/3 against 3/3
        # would give p = 0.014 where Fisher's exact test gives 0.1.
        msg = (
            f"both arms have a conversion rate of exactly 0 or 1 ({s_a}/{t_a} and {s_b}/{t_b}): "
            "the Wald standard error is 0 and the normal approximation says nothing; use an "
            "exact test (scipy.stats.fisher_exact or scipy.stats.boschloo_exact)"
        )
        raise InvalidArgument(msg)
    df = math.inf if distribution == "normal" else _welch_df(var_a, t_a, var_b, t_b)
    statistic = (p_b - p_a) / se
    return TwoSampleResult(
        statistic, _pvalue(statistic, alternative, df), p_b - p_a, se, df, alternative
    )


def welch_test(
    n_a: int,
    sum_a: float,
    sum_squares_a: float,
    n_b: int,
    sum_b: float,
    sum_squares_b: float,
    *,
    alternative: str = "two-sided",
) -> TwoSampleResult:
    """Welch's t-test of two means from per-arm sufficient statistics.

    Examples
    --------
    >>> result = welch_test(3, 6.0, 14.0, 3, 9.0, 29.0)
    >>> round(result.difference, 3), round(result.pvalue, 4)
    (1.0, 0.2879)
    """
    n_a = count_increment("n_a", n_a)
    n_b = count_increment("n_b", n_b)
    sums = [
        real_increment("sum_a", sum_a),
        real_increment("sum_squares_a", sum_squares_a, non_negative=True),
        real_increment("sum_b", sum_b),
        real_increment("sum_squares_b", sum_squares_b, non_negative=True),
    ]
    alternative = check_alternative(alternative)
    for arm, n in (("a", n_a), ("b", n_b)):
        if n < 2:
            msg = f"`n_{arm}` must be >= 2 for a sample variance, got {n}"
            raise InvalidArgument(msg)
    # Work in units of the largest magnitude so that squares neither over- nor underflow; the
    # statistic and the degrees of freedom do not depend on the unit.
    scale = max(
        abs(sums[0]) / n_a,
        abs(sums[2]) / n_b,
        math.sqrt(sums[1] / n_a),
        math.sqrt(sums[3] / n_b),
    )
    if scale == 0:
        msg = "both arms have zero variance: the standard error is 0, nothing to test"
        raise InvalidArgument(msg)
    mean_a, mean_b = (sums[0] / scale) / n_a, (sums[2] / scale) / n_b
    var_a = max((sums[1] / scale) / scale - n_a * mean_a * mean_a, 0.0) / (n_a - 1)
    var_b = max((sums[3] / scale) / scale - n_b * mean_b * mean_b, 0.0) / (n_b - 1)
    scaled_se = math.sqrt(var_a / n_a + var_b / n_b)
    if scaled_se == 0:
        msg = "both arms have zero variance: the standard error is 0, nothing to test"
        raise InvalidArgument(msg)
    df = _welch_df(var_a, n_a, var_b, n_b)
    statistic = (mean_b - mean_a) / scaled_se
    difference, se = (mean_b - mean_a) * scale, scaled_se * scale
    if not (math.isfinite(difference) and math.isfinite(se) and se > 0):
        msg = (
            f"the difference of means ({mean_b - mean_a:.6g} x {scale:.6g}) or its standard "
            "error does not fit a float64; rescale the metric"
        )
        raise InvalidArgument(msg)
    return TwoSampleResult(
        statistic, _pvalue(statistic, alternative, df), difference, se, df, alternative
    )


# -------------------------------------------------------------------------------- bootstrap


@dataclasses.dataclass(frozen=True, slots=True)
class BootstrapResult(Result):
    """The pooled win rate with users resampled.

    Attributes
    ----------
    statistic
        The pooled win rate ``sum(wins) / sum(wins + losses)`` (ties dropped).
    pvalue
        The percentile-bootstrap p-value for a win rate of 0.5 (inverting the percentile
        interval, with the ``+1`` correction so it is never 0).
    n_users, n_resamples
        Users given, resamples drawn.
    bootstrap_distribution
        The win rate of each resample.
    alternative
        As given.
    """

    statistic: float
    pvalue: float
    n_users: int
    n_resamples: int
    bootstrap_distribution: np.ndarray = dataclasses.field(repr=False)
    alternative: str = "two-sided"

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Percentile interval of the win rate."""
        confidence_level = check_confidence_level(confidence_level)
        tail = 1.0 - confidence_level
        dist = self.bootstrap_distribution
        if self.alternative == "greater":
            return ConfidenceInterval(float(np.quantile(dist, tail)), 1.0, confidence_level)
        if self.alternative == "less":
            return ConfidenceInterval(0.0, float(np.quantile(dist, 1 - tail)), confidence_level)
        low, high = np.quantile(dist, [tail / 2, 1 - tail / 2])
        return ConfidenceInterval(float(low), float(high), confidence_level)


def bootstrap_test(
    wins: Any,
    losses: Any,
    *,
    n_resamples: int = 9999,
    alternative: str = "two-sided",
    rng: Any = None,
) -> BootstrapResult:
    """Bootstrap over users of the pooled interleaving win rate.

    Parameters
    ----------
    wins, losses
        Per-user counts (one entry per user); fractional (probabilistic) credit is fine.
    n_resamples
        Bootstrap resamples, at most :data:`MAX_RESAMPLES`, and at most
        :data:`MAX_BOOTSTRAP_DRAWS` user draws in all.
    alternative
        ``'greater'``: the candidate wins more than half.
    rng
        ``None`` (fresh entropy), a seed, or a numpy ``Generator``.

    Examples
    --------
    >>> result = bootstrap_test([3, 2, 4, 1], [1, 2, 0, 1], n_resamples=999, rng=0)
    >>> round(result.statistic, 3)
    0.714
    """
    w = as_count_array("wins", wins, whole=False)
    losses_ = as_count_array("losses", losses, whole=False)
    if w.ndim != 1 or w.shape != losses_.shape:
        msg = (
            f"`wins` and `losses` must be 1-D with one entry per user, got shapes {w.shape} and "
            f"{losses_.shape}"
        )
        raise InvalidArgument(msg)
    n_resamples = check_int("n_resamples", n_resamples, minimum=1, maximum=MAX_RESAMPLES)
    if n_resamples * len(w) > MAX_BOOTSTRAP_DRAWS:
        msg = (
            f"n_resamples * n_users = {n_resamples} * {len(w)} = {n_resamples * len(w):.3g} draws "
            f"exceed MAX_BOOTSTRAP_DRAWS ({MAX_BOOTSTRAP_DRAWS:.0e}); draw fewer resamples"
        )
        raise InvalidArgument(msg)
    alternative = check_alternative(alternative)
    generator = as_generator(rng)
    decisive = w + losses_
    if decisive.sum() == 0:
        msg = "no decisive comparisons in any user; nothing to bootstrap"
        raise InvalidArgument(msg)
    n = len(w)
    statistic = float(w.sum() / decisive.sum())
    # Resample in fixed-size blocks of users so memory stays bounded; the block size depends
    # only on n, so the same seed gives the same answer.
    block = max(1, 2_000_000 // n)
    draws = np.empty(n_resamples)
    for start in range(0, n_resamples, block):
        size = min(block, n_resamples - start)
        idx = generator.integers(0, n, size=(size, n))
        total_w = w[idx].sum(axis=1)
        total_d = decisive[idx].sum(axis=1)
        draws[start : start + size] = np.divide(
            total_w, total_d, out=np.full(size, 0.5), where=total_d > 0
        )
    below = (np.count_nonzero(draws <= 0.5) + 1) / (n_resamples + 1)
    above = (np.count_nonzero(draws >= 0.5) + 1) / (n_resamples + 1)
    if alternative == "greater":
        pvalue = below
    elif alternative == "less":
        pvalue = above
    else:
        pvalue = min(1.0, 2.0 * min(below, above))
    return BootstrapResult(statistic, float(pvalue), n, n_resamples, draws, alternative)
