"""The beta-binomial mixture test for a win rate: always valid, with no alternative to choose.

Instead of one alternative ``p1`` (Wald's SPRT), the likelihood ratio is averaged over a
``Beta(a, b)`` prior on the win rate (Robbins 1970, "Statistical methods related to the law of the
iterated logarithm"; Lai 1976). After ``k`` wins in ``m`` comparisons::

    BF(p) = B(a + k, b + m - k) / B(a, b) / (p^k (1 - p)^(m - k))

is a non-negative martingale when the true win rate is ``p``, so by Ville's inequality

- the test of ``H0: p = p0`` rejects when ``BF(p0) >= 1 / alpha`` (``REJECT``: the difference is
  real), with the always-valid p-value ``min(1, 1 / BF(p0))`` (running minimum); it never accepts;
- ``{p : BF(p) < 1 / alpha}`` is a confidence sequence for ``p``, valid at every look at once
  (the prior-posterior ratio of Waudby-Smith & Ramdas 2020). It is an interval because
  ``log BF(p)`` is convex in ``p``.

With ``tie_policy='split'`` a tie is half a win and half a loss; since
``q^x (1-q)^(1-x) / (p^x (1-p)^(1-x))`` is convex in ``x``, its mean is at most 1 for any outcome
in [0, 1] with mean ``p``, so both the test and the interval (for the win share) stay valid.
The default prior ``Beta(1, 1)`` is uniform.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy.optimize import brentq

from interleave.stats._core import (
    CONTINUE_CODE,
    DECISION_CONTINUE,
    DECISION_REJECT,
    MAX_PRIOR,
    REJECT_CODE,
    ConfidenceInterval,
    Look,
    Result,
    SequentialState,
    StreamResult,
    check_data,
    check_level,
    check_real,
    check_tie_policy,
    log_rising_factorial,
    log_rising_factorial_array,
    monitor,
    new_look,
    serialisable,
    start_state,
)
from interleave.stats.sufficient import WinLoss, as_stream

__all__ = ["BetaBinomialMixture"]


@serialisable("test")
@dataclasses.dataclass(frozen=True, slots=True)
class BetaBinomialMixture(Result):
    """Always-valid test and confidence sequence for a win rate, mixing over a beta prior.

    Parameters
    ----------
    alpha
        The false-positive rate guaranteed over unbounded continuous monitoring.
    p0
        The win rate under the null hypothesis (0.5: neither ranker is preferred).
    prior_wins, prior_losses
        The ``Beta(a, b)`` mixing prior as pseudo-counts in ``(0, 1e300]``; ``(1, 1)`` is uniform.
    tie_policy
        ``'drop'`` (ties ignored) or ``'split'`` (half a win, half a loss).

    Examples
    --------
    >>> test = BetaBinomialMixture(alpha=0.05)
    >>> state = test.start().update(wins=70, losses=30)
    >>> state.decision, round(state.pvalue, 4)
    (<Decision.REJECT: 'reject'>, 0.0023)
    """

    alpha: float = 0.05
    p0: float = 0.5
    prior_wins: float = 1.0
    prior_losses: float = 1.0
    tie_policy: str = "drop"
    _log_threshold: float = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        alpha = check_level("alpha", self.alpha)
        p0 = check_real("p0", self.p0, low=0.0, high=1.0, low_open=True, high_open=True)
        a = check_real("prior_wins", self.prior_wins, low=0.0, high=MAX_PRIOR, low_open=True)
        b = check_real("prior_losses", self.prior_losses, low=0.0, high=MAX_PRIOR, low_open=True)
        check_tie_policy(self.tie_policy)
        for name, value in (
            ("alpha", alpha),
            ("p0", p0),
            ("prior_wins", a),
            ("prior_losses", b),
            ("_log_threshold", math.log(1.0 / alpha)),
        ):
            object.__setattr__(self, name, value)

    def start(self, data: WinLoss | None = None) -> SequentialState:
        """A fresh monitoring state over :class:`WinLoss` counts.

        Examples
        --------
        >>> BetaBinomialMixture().start().update(wins=3, losses=1).decision
        <Decision.CONTINUE: 'continue'>
        """
        data = WinLoss() if data is None else check_data(data, (WinLoss,), "BetaBinomialMixture")
        return start_state(self, data)

    def log_bayes_factor(self, n_successes: Any, n_trials: Any, p: float | None = None) -> Any:
        """``log BF(p)`` for ``n_successes`` wins in ``n_trials`` (``p`` defaults to ``p0``).

        Computed as sums of :func:`~interleave.stats._core.log_rising_factorial` (no difference
        of two huge ``lgamma`` values), so a huge prior gives the same answer here and in
        ``update``.
        """
        p = self.p0 if p is None else p
        k = np.asarray(n_successes, dtype=float)
        failures = np.asarray(n_trials, dtype=float) - k
        a, b = self.prior_wins, self.prior_losses
        out = (
            log_rising_factorial_array(a, k)
            + log_rising_factorial_array(b, failures)
            - log_rising_factorial_array(a + b, k + failures)
            - k * math.log(p)
            - failures * math.log1p(-p)
        )
        return out[()] if out.ndim == 0 else out

    def evaluate(self, stream: Any) -> StreamResult:
        """Every look of a win/loss stream at once; the statistic is ``log BF(p0)``.

        Examples
        --------
        >>> result = BetaBinomialMixture().evaluate([1, 1, 1, -1] * 50)
        >>> bool(result.rejected)
        True
        """
        data = as_stream(stream, (WinLoss,), "BetaBinomialMixture")
        k, m = data.successes(self.tie_policy)
        log_bf = self.log_bayes_factor(k, m)
        pvalue = np.exp(-np.maximum(log_bf, 0.0))
        raw = np.where(log_bf >= self._log_threshold, REJECT_CODE, CONTINUE_CODE)
        return monitor(np.asarray(data.n), log_bf, pvalue, raw)

    def _scalar_log_bf(self, k: float, failures: float, p: float) -> float:
        a, b = self.prior_wins, self.prior_losses
        return (
            log_rising_factorial(a, k)
            + log_rising_factorial(b, failures)
            - log_rising_factorial(a + b, k + failures)
            - (k * math.log(p) if k else 0.0)
            - (failures * math.log1p(-p) if failures else 0.0)
        )

    def look(self, data: WinLoss, previous: SequentialState | None = None) -> Look:
        """The log Bayes factor ``log BF(p0)``; ``REJECT`` once it reaches ``log(1 / alpha)``."""
        k, m = data.successes(self.tie_policy)
        log_bf = self._scalar_log_bf(k, m - k, self.p0)
        pvalue = 1.0 if log_bf <= 0.0 else math.exp(-log_bf)
        if log_bf >= self._log_threshold:
            return new_look((log_bf, pvalue, DECISION_REJECT, None))
        return new_look((log_bf, pvalue, DECISION_CONTINUE, None))

    def interval(
        self, data: WinLoss, confidence_level: float, looks: tuple[float, ...] = ()
    ) -> ConfidenceInterval:
        """The confidence sequence ``{p : BF(p) < 1 / (1 - confidence_level)}`` for the win rate."""
        k, m = data.successes(self.tie_policy)
        threshold = math.log(1.0 / (1.0 - confidence_level))
        if m == 0:
            return ConfidenceInterval(0.0, 1.0, confidence_level)
        centre = k / m

        def excess(p: float) -> float:
            return self._scalar_log_bf(k, m - k, p) - threshold

        eps = 1e-15
        low = 0.0
        if centre > 0 and excess(eps) > 0:
            low = (
                brentq(excess, eps, centre, xtol=1e-14, rtol=1e-12)
                if excess(centre) < 0
                else centre
            )
        high = 1.0
        if centre < 1 and excess(1 - eps) > 0:
            high = (
                brentq(excess, centre, 1 - eps, xtol=1e-14, rtol=1e-12)
                if excess(centre) < 0
                else centre
            )
        return ConfidenceInterval(float(low), float(high), confidence_level)
