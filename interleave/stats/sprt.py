"""Wald's sequential probability ratio test for a win rate.

Wald (1945), "Sequential tests of statistical hypotheses", Ann. Math. Statist. 16(2).

``H0: p = p0`` against ``H1: p = p1`` (``p1 > p0``) where ``p`` is the candidate's win rate among
decisive comparisons (or its win share when ties are split). After each look the log-likelihood
ratio ``llr = k log(p1 / p0) + (m - k) log((1 - p1) / (1 - p0))`` of ``k`` wins in ``m`` comparisons
is compared with Wald's boundaries ``log(beta / (1 - alpha))`` and ``log((1 - beta) / alpha)``:

- ``REJECT``: ``llr`` reached the upper boundary: reject ``H0``, accept ``H1`` (the candidate wins
  at rate ``p1``; the difference is real);
- ``ACCEPT``: ``llr`` reached the lower boundary: accept ``H0`` (no improvement as large as ``p1``);
- ``CONTINUE`` in between.

Wald's boundaries give error rates of about ``alpha`` and ``beta``, with the guarantee
``alpha' <= alpha / (1 - beta)`` (and ``alpha' + beta' <= alpha + beta``). The p-value reported is
the running minimum of ``min(1, 1 / likelihood ratio)``, valid at any stopping time by Ville's
inequality; it reaches at most ``alpha / (1 - beta)`` at a rejection, not necessarily ``alpha``.

A split tie contributes half a win and half a loss. The likelihood ratio of a fractional outcome
``x`` in [0, 1], ``(p1/p0)^x ((1-p1)/(1-p0))^(1-x)``, is convex in ``x``, so its mean is at most 1
when ``E[x] = p0``: the test stays valid with ties split.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from interleave.errors import InterleaveError, InvalidArgument
from interleave.stats._core import (
    ACCEPT_CODE,
    CONTINUE_CODE,
    DECISION_ACCEPT,
    DECISION_CONTINUE,
    DECISION_REJECT,
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
    monitor,
    new_look,
    serialisable,
    start_state,
)
from interleave.stats.sufficient import WinLoss, as_stream

__all__ = ["SPRT"]


@serialisable("test")
@dataclasses.dataclass(frozen=True, slots=True)
class SPRT(Result):
    """Wald's SPRT of a win rate ``p0`` against ``p1``.

    Parameters
    ----------
    p0, p1
        The win rates under the null and the alternative, ``0 < p0 < p1 < 1``.
    alpha
        The target false-positive rate (rejecting ``H0`` when ``p = p0``).
    beta
        The target false-negative rate (accepting ``H0`` when ``p = p1``); power is ``1 - beta``.
    tie_policy
        ``'drop'`` (ties ignored) or ``'split'`` (half a win, half a loss).

    Examples
    --------
    >>> sprt = SPRT(p0=0.5, p1=0.55, alpha=0.05, beta=0.2)
    >>> sprt.rejection_wins([100, 500, 1000]).tolist()
    [67, 277, 539]
    >>> sprt.start().update(wins=80, losses=20).decision
    <Decision.REJECT: 'reject'>
    """

    p0: float = 0.5
    p1: float = 0.55
    alpha: float = 0.05
    beta: float = 0.2
    tie_policy: str = "drop"
    log_upper: float = dataclasses.field(init=False, repr=False, compare=False)
    log_lower: float = dataclasses.field(init=False, repr=False, compare=False)
    _win_step: float = dataclasses.field(init=False, repr=False, compare=False)
    _loss_step: float = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        p0 = check_real("p0", self.p0, low=0.0, high=1.0, low_open=True, high_open=True)
        p1 = check_real("p1", self.p1, low=0.0, high=1.0, low_open=True, high_open=True)
        if not p1 > p0:
            msg = (
                f"`p1` must be greater than `p0`, got p0={p0!r}, p1={p1!r}; to detect a worse "
                "candidate, test the production ranker's wins (swap wins and losses)"
            )
            raise InvalidArgument(msg)
        alpha = check_level("alpha", self.alpha)
        beta = check_level("beta", self.beta)
        if alpha + beta >= 1:
            msg = f"`alpha + beta` must be < 1, got alpha={alpha!r}, beta={beta!r}"
            raise InvalidArgument(msg)
        check_tie_policy(self.tie_policy)
        for name, value in (
            ("p0", p0),
            ("p1", p1),
            ("alpha", alpha),
            ("beta", beta),
            ("log_upper", math.log((1 - beta) / alpha)),
            ("log_lower", math.log(beta / (1 - alpha))),
            ("_win_step", math.log(p1 / p0)),
            ("_loss_step", math.log((1 - p1) / (1 - p0))),
        ):
            object.__setattr__(self, name, value)

    def start(self, data: WinLoss | None = None) -> SequentialState:
        """A fresh monitoring state over :class:`WinLoss` counts.

        Examples
        --------
        >>> SPRT().start().update(wins=3, losses=1).n
        4
        """
        data = WinLoss() if data is None else check_data(data, (WinLoss,), "SPRT")
        return start_state(self, data)

    def log_likelihood_ratio(self, n_successes: Any, n_trials: Any) -> Any:
        """``llr`` of ``n_successes`` wins in ``n_trials`` comparisons (scalars or arrays)."""
        k = np.asarray(n_successes, dtype=float)
        m = np.asarray(n_trials, dtype=float)
        out = k * self._win_step + (m - k) * self._loss_step
        return out[()] if out.ndim == 0 else out

    def rejection_wins(self, n_trials: Any) -> np.ndarray:
        """The fewest wins in ``n_trials`` decisive comparisons that reject ``H0`` (accept ``H1``).

        Values above ``n_trials`` mean no number of wins can reject yet.
        """
        m = np.asarray(n_trials, dtype=float)
        slope = self._win_step - self._loss_step
        wins = np.ceil((self.log_upper - m * self._loss_step) / slope)
        # Exact-integer boundaries: step back when the win below already reaches the boundary.
        below = wins - 1
        wins = np.where(
            below * self._win_step + (m - below) * self._loss_step >= self.log_upper, below, wins
        )
        return np.maximum(wins, 0).astype(np.int64)

    def acceptance_wins(self, n_trials: Any) -> np.ndarray:
        """The most wins in ``n_trials`` decisive comparisons that accept ``H0`` (``-1``: none)."""
        m = np.asarray(n_trials, dtype=float)
        slope = self._win_step - self._loss_step
        wins = np.floor((self.log_lower - m * self._loss_step) / slope)
        above = wins + 1
        wins = np.where(
            above * self._win_step + (m - above) * self._loss_step <= self.log_lower, above, wins
        )
        return np.maximum(np.minimum(wins, m), -1).astype(np.int64)

    def evaluate(self, stream: Any) -> StreamResult:
        """Every look of a win/loss stream at once (``(..., n_steps)`` outcomes or a ``WinLoss``).

        The statistic is ``llr``.

        Examples
        --------
        >>> result = SPRT().evaluate([1, 1, -1, 1, -1] * 100)
        >>> int(result.n_stopped), result.accepted.item()
        (177, False)
        """
        data = as_stream(stream, (WinLoss,), "SPRT")
        k, m = data.successes(self.tie_policy)
        llr = k * self._win_step + (m - k) * self._loss_step
        pvalue = np.exp(-np.maximum(llr, 0.0))
        raw = np.where(
            llr >= self.log_upper,
            REJECT_CODE,
            np.where(llr <= self.log_lower, ACCEPT_CODE, CONTINUE_CODE),
        )
        return monitor(np.asarray(data.n), llr, pvalue, raw)

    def look(self, data: WinLoss, previous: SequentialState | None = None) -> Look:
        """Wald's log-likelihood ratio; ``REJECT`` / ``ACCEPT`` at the upper / lower boundary."""
        k, m = data.successes(self.tie_policy)
        llr = k * self._win_step + (m - k) * self._loss_step
        pvalue = 1.0 if llr <= 0.0 else math.exp(-llr)
        if llr >= self.log_upper:
            return new_look((llr, pvalue, DECISION_REJECT, None))
        if llr <= self.log_lower:
            return new_look((llr, pvalue, DECISION_ACCEPT, None))
        return new_look((llr, pvalue, DECISION_CONTINUE, None))

    def interval(
        self, data: WinLoss, confidence_level: float, looks: tuple[float, ...] = ()
    ) -> ConfidenceInterval:
        """Wald's SPRT has no interval: raises, naming the tests that have one."""
        msg = (
            "Wald's SPRT tests p0 against p1 and has no confidence interval of its own; use "
            "MixtureSPRT or BetaBinomialMixture for an always-valid interval of the win rate"
        )
        raise InterleaveError(msg)
