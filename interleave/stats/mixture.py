"""The one normal-mixture core: mixture SPRT, always-valid p-values and confidence sequences.

Every always-valid normal test here reads one pair, ``s`` (a sum of statistics centred under the
null hypothesis) and ``v`` (its variance, or information). Mixing the likelihood ratio
``exp(theta s - theta^2 v / 2)`` over ``theta ~ N(0, 1 / rho)`` gives the two-sided normal mixture
(Robbins 1970)::

    log m(s, v) = 0.5 log(rho / (v + rho)) + s^2 / (2 (v + rho))

``m`` is a non-negative supermartingale under the null, so by Ville's inequality
``P(exists n: m_n >= 1 / alpha) <= alpha``: reject when ``m >= 1 / alpha``, i.e. when ``|s|``
crosses ``u(v) = sqrt((v + rho) (log(1 + v / rho) + 2 log(1 / alpha)))``, and ``min(1, 1 / m)``
is an always-valid p-value. Inverting the boundary gives a confidence sequence (Howard, Ramdas,
McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences").

``rho`` sets where the boundary is tightest:
``rho = v_opt / (2 log(1/alpha) + log(1 + 2 log(1/alpha)))`` makes it tightest at ``v = v_opt``
(confseq's ``optimal_rho``). The same core is:

- Johari, Koomen, Pekelis & Walsh (2017/2022), "Always valid inference", the mSPRT: ``rho =
  sigma^2 / tau^2`` for a ``N(0, tau^2)`` mixing distribution over effects, per-observation
  standard deviation ``sigma``: :meth:`MixtureSPRT.johari`;
- GrowthBook's sequential testing (Waudby-Smith et al. 2023 asymptotic confidence sequences),
  tuned at ``N* = 5000`` total observations: :meth:`MixtureSPRT.growthbook`;
- Eppo-style tuning at the experiment's planned sample size: :meth:`MixtureSPRT.eppo`.

The mixture test is open-ended: it rejects (the difference is real) or continues; it never
accepts the null hypothesis.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from interleave._checks import check_alpha
from interleave.errors import InvalidArgument
from interleave.stats._core import (
    CONTINUE_CODE,
    REJECT_CODE,
    ConfidenceInterval,
    Decision,
    SequentialState,
    StreamResult,
    _Result,
    as_stream,
    check_data,
    check_positive,
    check_tie_policy,
    monitor,
    start_state,
)
from interleave.stats.sufficient import CenteredSum, TwoMeans, TwoProportions, WinLoss

__all__ = [
    "MixtureSPRT",
    "normal_mixture_boundary",
    "normal_mixture_log_e",
    "normal_mixture_pvalue",
    "normal_mixture_rho",
]

_KINDS = (WinLoss, TwoProportions, TwoMeans, CenteredSum)


def _rho_denominator(alpha: float) -> float:
    two_log = 2.0 * math.log(1.0 / alpha)
    return two_log + math.log(1.0 + two_log)


def normal_mixture_rho(v_opt: float, alpha: float = 0.05) -> float:
    """The mixture precision ``rho`` that makes the ``alpha`` boundary tightest at ``v = v_opt``.

    Examples
    --------
    >>> round(normal_mixture_rho(100, alpha=0.05), 5)
    12.60056
    """
    v_opt = check_positive("v_opt", v_opt)
    alpha = check_alpha("alpha", alpha)
    return v_opt / _rho_denominator(alpha)


def _check_rho(rho: Any) -> float:
    return check_positive("rho", rho)


def _check_v(v: Any) -> np.ndarray:
    array = np.asarray(v, dtype=float)
    if np.any(~np.isfinite(array)) or np.any(array < 0):
        msg = f"`v` (the variance of s) must be finite and >= 0, got {v!r}"
        raise InvalidArgument(msg)
    return array


def normal_mixture_log_e(s: Any, v: Any, rho: float) -> Any:
    """``log m(s, v)``: the log of the two-sided normal-mixture likelihood ratio (an e-value).

    Parameters
    ----------
    s
        Sum of statistics centred under the null hypothesis (scalar or array).
    v
        Its variance (information), ``>= 0``, broadcastable with ``s``.
    rho
        The mixture precision (see :func:`normal_mixture_rho`).

    Examples
    --------
    >>> rho = normal_mixture_rho(100, alpha=0.05)
    >>> round(float(normal_mixture_log_e(10.0, 100.0, rho)), 7)
    -0.6510052
    """
    rho = _check_rho(rho)
    v = _check_v(v)
    s = np.asarray(s, dtype=float)
    if np.any(~np.isfinite(s)):
        msg = f"`s` must be finite, got {s!r}"
        raise InvalidArgument(msg)
    out = 0.5 * np.log(rho / (v + rho)) + s * s / (2.0 * (v + rho))
    return out[()] if out.ndim == 0 else out


def normal_mixture_boundary(v: Any, rho: float, alpha: float = 0.05) -> Any:
    """``u(v)``: the two-sided boundary on ``|s|`` at level ``alpha``.

    Examples
    --------
    >>> rho = normal_mixture_rho(100, alpha=0.05)
    >>> round(float(normal_mixture_boundary(100.0, rho, alpha=0.05)), 5)
    30.35209
    """
    rho = _check_rho(rho)
    alpha = check_alpha("alpha", alpha)
    v = _check_v(v)
    out = np.sqrt((v + rho) * (np.log1p(v / rho) + 2.0 * math.log(1.0 / alpha)))
    return out[()] if out.ndim == 0 else out


def normal_mixture_pvalue(s: Any, v: Any, rho: float) -> Any:
    """``min(1, 1 / m(s, v))``: valid at any stopping time (take the running minimum to monitor).

    Examples
    --------
    >>> rho = normal_mixture_rho(100, alpha=0.05)
    >>> round(float(normal_mixture_pvalue(10.0, 100.0, rho)), 4)
    1.0
    """
    log_e = normal_mixture_log_e(s, v, rho)
    return np.exp(-np.maximum(np.asarray(log_e), 0.0))[()]


@dataclasses.dataclass(frozen=True, slots=True)
class MixtureSPRT(_Result):
    """Mixture sequential probability ratio test with an always-valid p-value and interval.

    Tests ``H0: no difference`` (win rate 0.5 for interleaving; equal means for A/B) against a
    difference in either direction, valid under continuous monitoring. ``REJECT`` means the
    difference is real; the test never accepts ``H0`` (no acceptance region).

    Parameters
    ----------
    alpha
        The false-positive rate guaranteed over the whole, unbounded monitoring.
    n_opt
        The sample size (in units of ``v``: decisive comparisons for interleaving, users in both
        arms for A/B) at which the confidence sequence is tightest; where power matters.
    tie_policy
        How interleaving ties count: ``'drop'`` or ``'split'``
        (see :mod:`~interleave.stats.sufficient`).

    Examples
    --------
    >>> test = MixtureSPRT(alpha=0.05, n_opt=1000)
    >>> state = test.start().update(wins=70, losses=30)
    >>> state.decision, round(state.pvalue, 4)
    (<Decision.REJECT: 'reject'>, 0.0389)
    """

    alpha: float = 0.05
    n_opt: float = 1000.0
    tie_policy: str = "drop"
    rho: float = dataclasses.field(init=False, repr=False, compare=False)
    _log_threshold: float = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        alpha = check_alpha("alpha", self.alpha)
        n_opt = check_positive("n_opt", self.n_opt)
        check_tie_policy(self.tie_policy)
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "n_opt", n_opt)
        object.__setattr__(self, "rho", n_opt / _rho_denominator(alpha))
        object.__setattr__(self, "_log_threshold", math.log(1.0 / alpha))

    # Presets ---------------------------------------------------------------------------------

    @classmethod
    def growthbook(cls, alpha: float = 0.05, n_opt: float = 5000.0) -> MixtureSPRT:
        """GrowthBook's sequential testing: tuned at ``N* = 5000`` total observations.

        Examples
        --------
        >>> MixtureSPRT.growthbook().n_opt
        5000.0
        """
        return cls(alpha=alpha, n_opt=n_opt)

    @classmethod
    def eppo(cls, n_planned: float, alpha: float = 0.05) -> MixtureSPRT:
        """Eppo-style tuning: the interval is tightest at the experiment's planned sample size.

        Examples
        --------
        >>> MixtureSPRT.eppo(n_planned=40000).n_opt
        40000.0
        """
        return cls(alpha=alpha, n_opt=n_planned)

    @classmethod
    def johari(cls, tau: float, sigma: float = 1.0, alpha: float = 0.05) -> MixtureSPRT:
        """Johari et al.'s mSPRT, mixing over effects ``N(0, tau^2)``: ``rho = sigma^2 / tau^2``.

        ``tau`` and ``sigma`` are in the same units: ``sigma`` is the standard deviation of one
        observation's contribution to ``s`` (1 for win/loss comparisons, which are +-1).

        Examples
        --------
        >>> round(MixtureSPRT.johari(tau=0.1).rho, 6)
        100.0
        """
        tau = check_positive("tau", tau)
        sigma = check_positive("sigma", sigma)
        alpha = check_alpha("alpha", alpha)
        return cls(alpha=alpha, n_opt=(sigma * sigma) / (tau * tau) * _rho_denominator(alpha))

    # Monitoring ------------------------------------------------------------------------------

    def start(self, data: Any = None) -> SequentialState:
        """A fresh monitoring state; ``data`` picks the kind (default :class:`WinLoss`).

        Examples
        --------
        >>> MixtureSPRT().start(TwoProportions()).update(successes_a=3, trials_a=10).n
        10
        """
        data = WinLoss() if data is None else check_data(data, _KINDS, "MixtureSPRT")
        return start_state(self, data)

    def evaluate(self, stream: Any) -> StreamResult:
        """Every look of a stream (or of many streams) at once, vectorised.

        Parameters
        ----------
        stream
            A data kind holding running totals (e.g. ``WinLoss.from_outcomes(outcomes)``), or an
            array of +1/-1/0 interleaving outcomes of shape ``(..., n_steps)``.

        Examples
        --------
        >>> result = MixtureSPRT(n_opt=100).evaluate([1] * 30)
        >>> int(result.stop_index), int(result.n_stopped)
        (13, 14)
        """
        data = as_stream(stream, _KINDS, "MixtureSPRT")
        s, v = data._centred_array(self.tie_policy)
        log_e = 0.5 * np.log(self.rho / (v + self.rho)) + s * s / (2.0 * (v + self.rho))
        pvalue = np.exp(-np.maximum(log_e, 0.0))
        raw = np.where(log_e >= self._log_threshold, REJECT_CODE, CONTINUE_CODE)
        return monitor(np.asarray(data.n), log_e, pvalue, raw)

    def _look(self, data: Any) -> tuple[float, float, Decision]:
        s, v = data._centred(self.tie_policy)
        rho = self.rho
        log_e = 0.5 * math.log(rho / (v + rho)) + s * s / (2.0 * (v + rho))
        pvalue = 1.0 if log_e <= 0.0 else math.exp(-log_e)
        if log_e >= self._log_threshold:
            return log_e, pvalue, Decision.REJECT
        return log_e, pvalue, Decision.CONTINUE

    def _interval(self, data: Any, confidence_level: float) -> ConfidenceInterval:
        _, v = data._centred(self.tie_policy)
        alpha = 1.0 - confidence_level
        halfwidth = math.sqrt(
            (v + self.rho) * (math.log1p(v / self.rho) + 2.0 * math.log(1.0 / alpha))
        )
        low, high = data._interval(halfwidth, self.tie_policy)
        return ConfidenceInterval(low, high, confidence_level)
