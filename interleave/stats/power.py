"""Power and sample size, for A/B tests (statsmodels) and for interleaving (the sign test).

Paired (per-user differences, :func:`~interleave.stats.paired_test`):
:func:`sample_size_paired` and :func:`power_paired` are the one-sample t-test's, statsmodels'
``TTestPower`` with ``d = difference / standard_deviation`` of the per-user differences.

A/B: :func:`sample_size_two_proportions` and :func:`power_two_proportions` use statsmodels'
``NormalIndPower`` with Cohen's ``h`` (``proportion_effectsize``); the means versions use
``TTestIndPower`` with Cohen's ``d``. Sizes are per arm, ``n_b = ratio * n_a``, rounded up.

Interleaving: the sign test of the win rate ``r`` (among decisive comparisons) with a share
``tie_rate`` of ties.

- ``tie_policy='drop'``: the test sees ``D = n (1 - tie_rate)`` decisive comparisons, and
  ``Z = (W - D/2) / sqrt(D/4) ~ N(sqrt(D) (2r - 1), 4 r (1 - r))``; the normal-approximation
  size is Noether's (1987) ``D = ((z_alpha / 2 + z_beta sqrt(r (1 - r))) / (r - 1/2))^2``, then
  ``n = D / (1 - tie_rate)``. ``method='exact'`` sums the exact binomial power over the
  binomial number of decisive comparisons.
- ``tie_policy='split'``: each comparison scores +1, -1 or 0 (a tie), mean
  ``mu = (1 - tie_rate)(2r - 1)``, variance ``(1 - tie_rate) - mu^2``, tested against the
  binomial null variance; only the normal approximation is offered. Split is conservative when
  ties are common (ties count in the null variance but carry none), so it needs more
  comparisons: at ``tie_rate=0.5``, ``r = 0.55`` about 2,609 against 1,566 with ties dropped.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np
from scipy import integrate, optimize, stats

from interleave._checks import check_int, check_one_of
from interleave.errors import InvalidArgument
from interleave.stats._core import (
    Result,
    check_alternative,
    check_positive,
    check_real,
    check_tie_policy,
)
from interleave.stats._core import check_level as check_alpha

__all__ = [
    "MAX_EXACT_N",
    "MAX_SAMPLE_SIZE",
    "ABSampleSize",
    "InterleavingSampleSize",
    "PairedSampleSize",
    "power_paired",
    "power_sign_test",
    "power_two_means",
    "power_two_proportions",
    "sample_size_paired",
    "sample_size_sign_test",
    "sample_size_two_means",
    "sample_size_two_proportions",
]

MAX_EXACT_N = 10**8
"""The largest sample size ``method='exact'`` searches for. Beyond it the exact and the normal
answers agree to well under 0.1%, and one exact power evaluation with ties costs O(sqrt(n));
a larger need fails at once, with the normal approximation's number in the message."""

MAX_SAMPLE_SIZE = 10**15
"""The largest sample size (per arm, or comparisons) the planners return; an effect so small
that it needs more fails at once with the number (no experiment reaches it)."""

_MAX_EFFECT = 1e3  # |Cohen's d| beyond this has power 0 or 1 to float precision for n >= 2

_STATSMODELS_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


@dataclasses.dataclass(frozen=True, slots=True)
class ABSampleSize(Result):
    """Users needed per arm of an A/B test.

    Attributes
    ----------
    n_a, n_b
        Users in production and candidate arms (rounded up).
    effect_size
        Cohen's ``h`` (proportions) or ``d`` (means).
    alpha, power, alternative
        As asked.
    """

    n_a: int
    n_b: int
    effect_size: float
    alpha: float
    power: float
    alternative: str

    @property
    def n_total(self) -> int:
        """Users in both arms."""
        return self.n_a + self.n_b


@dataclasses.dataclass(frozen=True, slots=True)
class PairedSampleSize(Result):
    """Pairs (users, each with a candidate-minus-baseline difference) for the paired t-test.

    Attributes
    ----------
    n_pairs
        Users needed (rounded up: the smallest whole number whose power reaches ``power``).
    effect_size
        ``difference / standard_deviation`` (Cohen's ``d`` of the differences).
    alpha, power, alternative
        As asked.
    """

    n_pairs: int
    effect_size: float
    alpha: float
    power: float
    alternative: str


@dataclasses.dataclass(frozen=True, slots=True)
class InterleavingSampleSize(Result):
    """Comparisons (interleaved impressions with a click) needed for the sign test.

    Attributes
    ----------
    n_comparisons
        All comparisons, ties included (rounded up).
    n_decisive
        Of which decisive (not tied) on average.
    win_rate, tie_rate, alpha, power, alternative, tie_policy, method
        As asked.
    """

    n_comparisons: int
    n_decisive: float
    win_rate: float
    tie_rate: float
    alpha: float
    power: float
    alternative: str
    tie_policy: str
    method: str


# ------------------------------------------------------------------------ t-test power


_TAIL_SPAN = 60.0  # integrate where the integrand is within e^-60 of its peak


def _log_chi_density(w: float, df: float) -> float:
    """Log density, up to a constant, of ``w = sqrt(df) log S`` with ``S^2 ~ chi2(df) / df``."""
    u = w / math.sqrt(df)
    # (df/2) (2u - (e^{2u} - 1)), the chi2 log density in u less its constant; expm1 keeps the
    # cancellation small near u = 0 where the mass is.
    return 0.5 * df * (2.0 * u - math.expm1(2.0 * u))


def _log_integral(log_f: Any) -> float:
    """``log`` of the integral over the real line of ``exp(log_f)``, a log-concave function."""
    found = optimize.minimize_scalar(lambda w: -log_f(w), bracket=(-1.0, 0.0))
    mode, peak = float(found.x), -float(found.fun)
    if not math.isfinite(peak):
        return -math.inf

    def edge(direction: float) -> float:
        step = 1.0
        while log_f(mode + direction * step) > peak - _TAIL_SPAN:
            step *= 2.0
        return float(
            optimize.brentq(lambda w: log_f(w) - (peak - _TAIL_SPAN), mode, mode + direction * step)
        )

    area, _ = integrate.quad(
        lambda w: math.exp(log_f(w) - peak),
        edge(-1.0),
        edge(1.0),
        points=[mode],
        limit=200,
        epsabs=0.0,
        epsrel=1e-10,
    )
    return peak + math.log(area) if area > 0 else -math.inf


def _nct_lower_tail_integral(x: float, df: float, nc: float) -> float:
    """``P(T <= x)`` for ``T = (Z + nc) / S``, as ``E[Phi(x S - nc)]``, by quadrature.

    Over ``w = sqrt(df) log S`` both integrands are log-concave when ``x <= 0``, so one peak
    each; the chi density's constant cancels in the ratio.
    """
    if x <= 0 and nc > 0 and float(stats.norm.logcdf(-nc)) < -750.0:
        # x S - nc <= -nc, so the tail is below Phi(-nc), which underflows a float: 0 is exact
        # to float precision (and quadrature at such logs, ~-nc^2 / 2, has no digits left).
        return 0.0
    root = math.sqrt(df)

    def log_f(w: float) -> float:
        return float(stats.norm.logcdf(x * math.exp(w / root) - nc)) + _log_chi_density(w, df)

    # quad may warn of roundoff at its 1e-10 target; what it reaches agrees with a 40-digit
    # mpmath quadrature to ~1e-13 relative (tails from 1e-21 down to 1e-242).
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        log_value = _log_integral(log_f) - _log_integral(lambda w: _log_chi_density(w, df))
    return math.exp(log_value) if log_value > -800 else 0.0


def _nct_lower_tail(x: float, df: float, nc: float) -> float:
    """``P(T <= x)`` for the noncentral t, for ``x = -t_crit`` (<= 0 unless one-sided alpha > 0.5).

    scipy's ``nct.cdf`` (Boost) returns NaN far in the left tail when ``nc`` is large (e.g.
    ``x = -1.972, df = 198, nc = 14.1``), which is why statsmodels' ``TTestIndPower`` and
    ``TTestPower`` give NaN at power ~1 (NaN + 1 is NaN). Below ~1e-12 its finite values drift
    too: 0.3% off at 3.05e-19 (``x = -1.98, df = 99, nc = 7``), 4.2e-48 for 7.3237e-58 at
    ``x = -1.97, df = 198, nc = 14.1`` (40-digit mpmath). Below that, or where it fails, the
    tail is integrated directly, which matches mpmath to ~1e-13.
    """
    with np.errstate(all="ignore"):
        value = float(stats.nct.cdf(x, df, nc))
    if math.isfinite(value) and value >= 1e-12:
        return value
    return _nct_lower_tail_integral(x, df, nc)


def _t_power(effect: float, n_effective: float, df: float, alpha: float, alternative: str) -> float:
    """Power of a t-test, as statsmodels' ``ttest_power``, never NaN.

    The rejecting tails are ``P(T > t_crit)`` and ``P(T < -t_crit)`` with ``T`` noncentral t
    of ``nc = effect sqrt(n_effective)``; each is taken as a lower tail at ``-t_crit`` (the
    upper one by ``T(nc) = -T(-nc)``), where :func:`_nct_lower_tail` is reliable.
    """
    level = alpha / 2 if alternative == "two-sided" else alpha
    critical = float(stats.t.isf(level, df))
    nc = effect * math.sqrt(n_effective)
    power = 0.0
    if alternative in ("two-sided", "greater"):
        power += _nct_lower_tail(-critical, df, -nc)
    if alternative in ("two-sided", "less"):
        power += _nct_lower_tail(-critical, df, nc)
    return min(1.0, max(0.0, power))


def _check_power(power: Any) -> float:
    return check_real("power", power, low=0.0, high=1.0, low_open=True, high_open=True)


def _check_rate(name: str, value: Any) -> float:
    return check_real(name, value, low=0.0, high=1.0, low_open=True, high_open=True)


def _check_ratio(ratio: Any) -> float:
    ratio = check_positive("ratio", ratio)
    if not 1e-6 <= ratio <= 1e6:
        msg = f"`ratio` (users in b per user in a) must be in [1e-06, 1e+06], got {ratio!r}"
        raise InvalidArgument(msg)
    return ratio


def _effect_size(difference: float, standard_deviation: float) -> float:
    effect = difference / standard_deviation
    if not math.isfinite(effect):
        msg = (
            f"`difference` / `standard_deviation` = {difference!r} / {standard_deviation!r} "
            "overflows a float; express both in a unit where they are comparable"
        )
        raise InvalidArgument(msg)
    return effect


def _solve(
    engine: Any,
    effect: float,
    alpha: float,
    power: float,
    ratio: float,
    alternative: str,
    power_at: Any = None,
) -> float:
    alt = _STATSMODELS_ALTERNATIVE[alternative]
    if (alt == "larger" and effect <= 0) or (alt == "smaller" and effect >= 0):
        msg = (
            f"the effect ({effect:+.4g}) points away from alternative={alternative!r}; no "
            "sample size reaches that power"
        )
        raise InvalidArgument(msg)
    # The normal approximation first: it fails fast where the solver would not converge.
    z_alpha = _critical(alpha, alternative)
    z_beta = float(stats.norm.isf(1.0 - power))
    approximate = (1.0 + 1.0 / ratio) * ((z_alpha + z_beta) / effect) ** 2
    if not approximate <= MAX_SAMPLE_SIZE:
        msg = (
            f"an effect size of {effect:.3g} needs about {approximate:.3g} users in production "
            f"alone, more than MAX_SAMPLE_SIZE ({MAX_SAMPLE_SIZE:.0e}); no experiment detects it"
        )
        raise InvalidArgument(msg)
    if abs(effect) > _MAX_EFFECT:  # the answer is the smallest size the t-test allows
        return 2.0
    if power_at is None:
        return float(
            engine.solve_power(
                effect_size=effect, alpha=alpha, power=power, ratio=ratio, alternative=alt
            )
        )
    if power_at(2.0) >= power:  # the smallest size the t-test allows is enough
        return 2.0
    # statsmodels' TTestIndPower solver fails (NaN, with a ConvergenceWarning, or a TypeError)
    # for large effects (d = 3 at power 0.5 one-sided, d = 10 at 0.9): its power is NaN there.
    # Its answer is kept where it holds; otherwise the same root of the never-NaN power.
    # Imported first: importing it sets statsmodels' own "always" filter for the warning,
    # which inside the block would override the "ignore".
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            n = float(
                engine.solve_power(
                    effect_size=effect, alpha=alpha, power=power, ratio=ratio, alternative=alt
                )
            )
        except (ArithmeticError, TypeError, ValueError):
            n = math.nan
    if math.isfinite(n) and n >= 2 and abs(power_at(n) - power) <= 1e-8:
        return n
    high = max(4.0, 2.0 * approximate)
    while power_at(high) < power:
        high *= 2.0
    return float(optimize.brentq(lambda n: power_at(n) - power, 2.0, high, xtol=1e-10))


def sample_size_two_proportions(
    p_a: float,
    p_b: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> ABSampleSize:
    """Users per arm to detect conversion rates ``p_a`` (production) vs ``p_b`` (candidate).

    Examples
    --------
    >>> size = sample_size_two_proportions(0.10, 0.11)
    >>> size.n_a, size.n_b
    (14745, 14745)
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    p_a, p_b = _check_rate("p_a", p_a), _check_rate("p_b", p_b)
    alpha, power = check_alpha("alpha", alpha), _check_power(power)
    ratio = _check_ratio(ratio)
    alternative = check_alternative(alternative)
    if p_a == p_b:
        msg = f"`p_a` and `p_b` are equal ({p_a!r}): no sample size detects a zero effect"
        raise InvalidArgument(msg)
    effect = float(proportion_effectsize(p_b, p_a))
    n_a = _solve(NormalIndPower(), effect, alpha, power, ratio, alternative)
    return ABSampleSize(math.ceil(n_a), math.ceil(n_a * ratio), effect, alpha, power, alternative)


def power_two_proportions(
    p_a: float,
    p_b: float,
    n_a: int,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> float:
    """Power of the two-proportion z-test with ``n_a`` users in production.

    The candidate arm has ``ratio * n_a`` users.

    Examples
    --------
    >>> round(power_two_proportions(0.10, 0.11, 14745), 3)
    0.8
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    p_a, p_b = _check_rate("p_a", p_a), _check_rate("p_b", p_b)
    n_a = check_int("n_a", n_a, minimum=2, maximum=MAX_SAMPLE_SIZE)
    alpha, ratio = check_alpha("alpha", alpha), _check_ratio(ratio)
    alt = _STATSMODELS_ALTERNATIVE[check_alternative(alternative)]
    effect = float(proportion_effectsize(p_b, p_a))
    return float(
        NormalIndPower().power(
            effect_size=effect, nobs1=n_a, alpha=alpha, ratio=ratio, alternative=alt
        )
    )


def sample_size_two_means(
    difference: float,
    standard_deviation: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> ABSampleSize:
    """Users per arm of a t-test to detect a mean ``difference`` (``b - a``) given the metric's sd.

    Examples
    --------
    >>> sample_size_two_means(0.1, 1.0).n_a
    1571
    """
    from statsmodels.stats.power import TTestIndPower

    difference = check_real("difference", difference)
    standard_deviation = check_positive("standard_deviation", standard_deviation)
    alpha, power = check_alpha("alpha", alpha), _check_power(power)
    ratio = _check_ratio(ratio)
    alternative = check_alternative(alternative)
    if difference == 0:
        msg = "`difference` is 0: no sample size detects a zero effect"
        raise InvalidArgument(msg)
    effect = _effect_size(difference, standard_deviation)
    n_a = _solve(
        TTestIndPower(),
        effect,
        alpha,
        power,
        ratio,
        alternative,
        lambda n: _t_power(
            effect, n * ratio / (1.0 + ratio), n * (1.0 + ratio) - 2, alpha, alternative
        ),
    )
    return ABSampleSize(math.ceil(n_a), math.ceil(n_a * ratio), effect, alpha, power, alternative)


def power_two_means(
    difference: float,
    standard_deviation: float,
    n_a: int,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> float:
    """Power of the two-sample t-test with ``n_a`` users in production.

    Examples
    --------
    >>> round(power_two_means(0.1, 1.0, 1571), 3)
    0.8
    >>> power_two_means(3.0, 1.0, 100)  # statsmodels' TTestIndPower gives nan here
    1.0
    """
    difference = check_real("difference", difference)
    standard_deviation = check_positive("standard_deviation", standard_deviation)
    n_a = check_int("n_a", n_a, minimum=2, maximum=MAX_SAMPLE_SIZE)
    alpha, ratio = check_alpha("alpha", alpha), _check_ratio(ratio)
    alternative = check_alternative(alternative)
    # Beyond |d| = 1000 the power is 0 or 1 to float precision: clip so nothing overflows.
    effect = max(-_MAX_EFFECT, min(_MAX_EFFECT, _effect_size(difference, standard_deviation)))
    # statsmodels' TTestIndPower().power returns NaN at power ~1 (see _nct_lower_tail); the
    # same formula (df = n_a + n_b - 2, n_effective = n_a n_b / (n_a + n_b)) with tails that
    # never fail.
    n_b = n_a * ratio
    return _t_power(effect, n_a * n_b / (n_a + n_b), n_a + n_b - 2, alpha, alternative)


def _check_paired_inputs(
    difference: Any, standard_deviation: Any, alpha: Any, alternative: Any
) -> tuple[float, float, str]:
    difference = check_real("difference", difference)
    standard_deviation = check_positive("standard_deviation", standard_deviation)
    alpha = check_alpha("alpha", alpha)
    alternative = check_alternative(alternative)
    return _effect_size(difference, standard_deviation), alpha, alternative


def _paired_power(n: float, effect: float, alpha: float, alternative: str) -> float:
    # Beyond |d| = 1000 the power is 0 or 1 to float precision: clip so nothing overflows.
    effect = max(-_MAX_EFFECT, min(_MAX_EFFECT, effect))
    return _t_power(effect, n, n - 1, alpha, alternative)


def sample_size_paired(
    difference: float,
    standard_deviation: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
) -> PairedSampleSize:
    """Users (pairs) for the paired t-test to detect a mean per-user ``difference``.

    The design of :func:`~interleave.stats.paired_test`: each user contributes one
    candidate-minus-baseline difference, of mean ``difference`` and standard deviation
    ``standard_deviation`` (of the differences, not of the metric: pairing helps exactly by
    making it smaller). The reference is statsmodels' ``TTestPower`` (one-sample t) with
    ``d = difference / standard_deviation``; ``n_pairs`` is the smallest whole number of
    users whose power reaches ``power``, that is ``TTestPower().solve_power`` rounded up.

    Examples
    --------
    >>> sample_size_paired(0.1, 1.0).n_pairs
    787
    """
    effect, alpha, alternative = _check_paired_inputs(
        difference, standard_deviation, alpha, alternative
    )
    power = _check_power(power)
    if difference == 0:
        msg = "`difference` is 0: no sample size detects a zero effect"
        raise InvalidArgument(msg)
    if (alternative == "greater" and effect < 0) or (alternative == "less" and effect > 0):
        msg = (
            f"the effect ({effect:+.4g}) points away from alternative={alternative!r}; no "
            "sample size reaches that power"
        )
        raise InvalidArgument(msg)
    # The normal approximation first: it fails fast where no experiment is large enough.
    z_alpha = _critical(alpha, alternative)
    z_beta = float(stats.norm.isf(1.0 - power))
    approximate = ((z_alpha + z_beta) / effect) ** 2
    if not approximate <= MAX_SAMPLE_SIZE:
        msg = (
            f"an effect size of {effect:.3g} needs about {approximate:.3g} users, more than "
            f"MAX_SAMPLE_SIZE ({MAX_SAMPLE_SIZE:.0e}); no experiment detects it"
        )
        raise InvalidArgument(msg)

    def reached(n: int) -> bool:
        return _paired_power(n, effect, alpha, alternative) >= power

    # Power rises with n: bracket the smallest n >= 2 that reaches it, then bisect on integers
    # (exact rounding up, with no solver tolerance to fall on the wrong side of an integer).
    low, high = 1, max(2, math.ceil(approximate))
    while not reached(high):
        low, high = high, 2 * high
        if high > 2 * MAX_SAMPLE_SIZE:
            msg = f"no n up to {MAX_SAMPLE_SIZE:.0e} users reaches power {power!r}"
            raise InvalidArgument(msg)
    while high - low > 1:
        middle = (low + high) // 2
        if middle >= 2 and reached(middle):
            high = middle
        else:
            low = middle
    return PairedSampleSize(high, effect, alpha, power, alternative)


def power_paired(
    difference: float,
    standard_deviation: float,
    n_pairs: int,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> float:
    """Power of the paired t-test with ``n_pairs`` users (see :func:`sample_size_paired`).

    Examples
    --------
    >>> round(power_paired(0.1, 1.0, 787), 3)
    0.8
    >>> power_paired(2.0, 1.0, 100)  # statsmodels' TTestPower gives nan here
    1.0
    """
    effect, alpha, alternative = _check_paired_inputs(
        difference, standard_deviation, alpha, alternative
    )
    n_pairs = check_int("n_pairs", n_pairs, minimum=2, maximum=MAX_SAMPLE_SIZE)
    return _paired_power(n_pairs, effect, alpha, alternative)


# ------------------------------------------------------------------------------ interleaving


def _normal_moments(win_rate: float, tie_rate: float, tie_policy: str) -> tuple[float, float]:
    """Per-comparison drift and sd of the sign-test z: ``z ~ N(sqrt(n) mu, sd^2)``."""
    if tie_policy == "drop":
        decisive = 1.0 - tie_rate
        return math.sqrt(decisive) * (2 * win_rate - 1), 2 * math.sqrt(win_rate * (1 - win_rate))
    mu = (1 - tie_rate) * (2 * win_rate - 1)
    return mu, math.sqrt((1 - tie_rate) - mu * mu)


def _critical(alpha: float, alternative: str) -> float:
    return float(stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha))


def _normal_power(
    n: float, win_rate: float, tie_rate: float, alpha: float, alternative: str, tie_policy: str
) -> float:
    drift, sd = _normal_moments(win_rate, tie_rate, tie_policy)
    z = _critical(alpha, alternative)
    mean = math.sqrt(n) * drift
    upper = float(stats.norm.sf((z - mean) / sd))
    lower = float(stats.norm.cdf((-z - mean) / sd))
    if alternative == "greater":
        return upper
    if alternative == "less":
        return lower
    return upper + lower


def _exact_power_decisive(
    decisive: np.ndarray, win_rate: float, alpha: float, alternative: str
) -> np.ndarray:
    """Exact binomial power with ``decisive`` comparisons (vectorised over counts)."""
    d = np.asarray(decisive, dtype=np.int64)
    power = np.zeros(d.shape)
    ok = d > 0
    d = np.where(ok, d, 1)
    if alternative in ("greater", "two-sided"):
        level = alpha / 2 if alternative == "two-sided" else alpha
        # smallest k with P(K >= k | 1/2) <= level
        k_hi = stats.binom.isf(level, d, 0.5) + 1
        k_hi = np.where(stats.binom.sf(k_hi - 2, d, 0.5) <= level, k_hi - 1, k_hi)
        power = power + stats.binom.sf(k_hi - 1, d, win_rate)
    if alternative in ("less", "two-sided"):
        level = alpha / 2 if alternative == "two-sided" else alpha
        k_lo = stats.binom.ppf(level, d, 0.5)
        k_lo = np.where(stats.binom.cdf(k_lo, d, 0.5) > level, k_lo - 1, k_lo)
        power = power + stats.binom.cdf(k_lo, d, win_rate)
    return np.where(ok, power, 0.0)


def _exact_power(n: int, win_rate: float, tie_rate: float, alpha: float, alternative: str) -> float:
    if tie_rate == 0:
        return float(_exact_power_decisive(np.array([n]), win_rate, alpha, alternative)[0])
    p = 1.0 - tie_rate
    sd = math.sqrt(n * p * (1 - p))
    lo = max(0, math.floor(n * p - 9 * sd - 1))
    hi = min(n, math.ceil(n * p + 9 * sd + 1))
    decisive = np.arange(lo, hi + 1)
    weights = stats.binom.pmf(decisive, n, p)
    return float(weights @ _exact_power_decisive(decisive, win_rate, alpha, alternative))


def _check_sign_inputs(
    win_rate: Any, tie_rate: Any, alpha: Any, alternative: Any, tie_policy: Any, method: Any
) -> tuple[float, float, float, str, str, str]:
    win_rate = _check_rate("win_rate", win_rate)
    tie_rate = check_real("tie_rate", tie_rate, low=0.0, high=1.0, high_open=True)
    alpha = check_alpha("alpha", alpha)
    alternative = check_alternative(alternative)
    tie_policy = check_tie_policy(tie_policy)
    method = check_one_of("method", method, ("normal", "exact"))
    if method == "exact" and tie_policy == "split":
        msg = (
            "method='exact' is only available with tie_policy='drop'; use method='normal' for "
            "split ties"
        )
        raise InvalidArgument(msg)
    return win_rate, tie_rate, alpha, alternative, tie_policy, method


def power_sign_test(
    win_rate: float,
    n_comparisons: int,
    *,
    tie_rate: float = 0.0,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    tie_policy: str = "drop",
    method: str = "normal",
) -> float:
    """Power of the interleaving sign test after ``n_comparisons`` (ties included).

    Examples
    --------
    >>> round(power_sign_test(0.55, 783), 3)
    0.8
    >>> round(power_sign_test(0.55, 786, method="exact"), 3)
    0.801
    """
    win_rate, tie_rate, alpha, alternative, tie_policy, method = _check_sign_inputs(
        win_rate, tie_rate, alpha, alternative, tie_policy, method
    )
    n = check_int("n_comparisons", n_comparisons, minimum=1)
    if method == "exact":
        return _exact_power(n, win_rate, tie_rate, alpha, alternative)
    return _normal_power(n, win_rate, tie_rate, alpha, alternative, tie_policy)


def sample_size_sign_test(
    win_rate: float,
    *,
    tie_rate: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    tie_policy: str = "drop",
    method: str = "normal",
) -> InterleavingSampleSize:
    """Comparisons needed for the interleaving sign test to detect ``win_rate`` with ``power``.

    ``method='exact'`` returns the smallest ``n`` whose exact power reaches ``power``; because
    the binomial is discrete, a few larger ``n`` can fall just short again (the sawtooth).

    Examples
    --------
    >>> sample_size_sign_test(0.55).n_comparisons
    783
    >>> sample_size_sign_test(0.55, tie_rate=0.5).n_comparisons
    1566
    """
    win_rate, tie_rate, alpha, alternative, tie_policy, method = _check_sign_inputs(
        win_rate, tie_rate, alpha, alternative, tie_policy, method
    )
    power = _check_power(power)
    if win_rate == 0.5:
        msg = "`win_rate` is 0.5: no sample size detects no preference"
        raise InvalidArgument(msg)
    if (alternative == "greater" and win_rate < 0.5) or (alternative == "less" and win_rate > 0.5):
        msg = f"`win_rate` {win_rate!r} points away from alternative={alternative!r}"
        raise InvalidArgument(msg)
    drift, sd = _normal_moments(win_rate, tie_rate, tie_policy)
    z_alpha = _critical(alpha, alternative)
    z_beta = float(stats.norm.isf(1.0 - power))
    n_normal = ((z_alpha + z_beta * sd) / abs(drift)) ** 2
    if not n_normal <= MAX_SAMPLE_SIZE:
        msg = (
            f"win_rate={win_rate!r} needs about {n_normal:.3g} comparisons (normal "
            f"approximation), more than MAX_SAMPLE_SIZE ({MAX_SAMPLE_SIZE:.0e})"
        )
        raise InvalidArgument(msg)
    if method == "normal":
        n = math.ceil(n_normal - 1e-9)
    else:
        if n_normal > MAX_EXACT_N:
            msg = (
                f"method='exact' searches up to MAX_EXACT_N ({MAX_EXACT_N:.0e}) comparisons; "
                f"win_rate={win_rate!r} needs about {n_normal:.3g} (normal approximation, "
                "accurate at that size): use method='normal'"
            )
            raise InvalidArgument(msg)
        n = _smallest_exact_n(n_normal, win_rate, tie_rate, alpha, power, alternative)
    return InterleavingSampleSize(
        n, n * (1 - tie_rate), win_rate, tie_rate, alpha, power, alternative, tie_policy, method
    )


def _smallest_exact_n(
    n_normal: float, win_rate: float, tie_rate: float, alpha: float, power: float, alternative: str
) -> int:
    """The smallest ``n`` whose exact power reaches ``power``: bracket, bisect, then step back.

    The exact power is a sawtooth around a rising curve, so bisection finds *a* crossing; the
    smallest ``n`` reaching ``power`` lies at most a few teeth below it (a tooth is about
    ``sqrt(n)`` wide), so a vectorised window of ``8 sqrt(n) + 64`` values below the crossing is
    checked too (without ties; with ties the crossing is returned).
    """

    def reached(n: int) -> bool:
        return _exact_power(n, win_rate, tie_rate, alpha, alternative) >= power

    high = max(2, math.ceil(1.2 * n_normal) + 16)
    while not reached(high):
        high *= 2
        if high > 2 * MAX_EXACT_N:
            msg = (
                f"no n up to {high // 2} reaches power {power!r} exactly for "
                f"win_rate={win_rate!r}; use method='normal'"
            )
            raise InvalidArgument(msg)
    low = 0  # reached(0) is False: no comparisons, no power
    while high - low > 1:
        middle = (low + high) // 2
        if reached(middle):
            high = middle
        else:
            low = middle
    if tie_rate > 0:
        return high
    window = np.arange(max(1, high - int(8 * math.sqrt(high)) - 64), high + 1)
    hits = _exact_power_decisive(window, win_rate, alpha, alternative) >= power
    return int(window[np.argmax(hits)])
