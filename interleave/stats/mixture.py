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

- Johari, Koomen, Pekelis & Walsh (2017/2022), "Always valid inference", the mSPRT: a
  ``N(0, tau^2)`` mixing distribution over the mean effect ``theta`` of one observation whose
  variance is ``V`` (``tau`` and ``sqrt(V)`` in the units of the observation). With ``n``
  observations of mean ``x``, their likelihood ratio is::

      Lambda_n = sqrt(V / (V + n tau^2)) exp(n^2 tau^2 x^2 / (2 V (V + n tau^2)))

  which is the core with ``s = n x``, ``v = n V`` and ``rho = V^2 / tau^2`` (in general: the
  estimate ``x`` with variance ``se^2``, ``rho = v se^2 / tau^2``). Each data kind knows the
  scale ``c`` with ``x = c s / v`` (its ``effect_scale()``), so ``rho = c^2 / tau^2`` is computed
  at each look from the data: :meth:`MixtureSPRT.johari`;
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

from interleave.errors import InvalidArgument
from interleave.stats._core import (
    CONTINUE_CODE,
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
    check_positive,
    check_tie_policy,
    monitor,
    new_look,
    serialisable,
    start_state,
)
from interleave.stats.sufficient import CenteredSum, TwoMeans, TwoProportions, WinLoss, as_stream

__all__ = [
    "TAU_RANGE",
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
    alpha = check_level("alpha", alpha)
    return v_opt / _rho_denominator(alpha)


def _check_rho(rho: Any) -> float:
    rho = check_positive("rho", rho)
    if not 1e-300 <= rho <= 1e300:
        msg = f"`rho` must be in [1e-300, 1e300], got {rho!r}"
        raise InvalidArgument(msg)
    return rho


def _float_array(name: str, value: Any) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        msg = f"`{name}` must be a number or an array of numbers, got {value!r:.80}"
        raise InvalidArgument(msg) from None


def _check_v(v: Any) -> np.ndarray:
    array = _float_array("v", v)
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
    s = _float_array("s", s)
    if np.any(~np.isfinite(s)):
        msg = f"`s` must be finite, got {s!r}"
        raise InvalidArgument(msg)
    with np.errstate(over="ignore"):  # overwhelming evidence is +inf: p = 0
        out = s * s / (2.0 * (v + rho)) - 0.5 * np.log1p(v / rho)
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
    alpha = check_level("alpha", alpha)
    v = _check_v(v)
    with np.errstate(over="ignore"):
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


TAU_RANGE = (1e-150, 1e150)
"""The ``tau`` that :meth:`MixtureSPRT.johari` accepts: ``tau**2`` must stay a normal float."""

_MAX_RATIO = 1e300  # v / rho beyond this carries no evidence either way; keeps the log finite


@serialisable("test")
@dataclasses.dataclass(frozen=True, slots=True)
class MixtureSPRT(Result):
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
        arms for A/B) at which the confidence sequence is tightest; where power matters. Default
        1000 (when ``tau`` is not given).
    tie_policy
        How interleaving ties count: ``'drop'`` or ``'split'``
        (see :mod:`~interleave.stats.sufficient`).
    tau
        Instead of ``n_opt``: Johari et al.'s mixing standard deviation over the mean effect of
        one observation (see :meth:`johari`, which is the way to set it).

    Examples
    --------
    >>> test = MixtureSPRT(alpha=0.05, n_opt=1000)
    >>> state = test.start().update(wins=70, losses=30)
    >>> state.decision, round(state.pvalue, 4)
    (<Decision.REJECT: 'reject'>, 0.0389)
    """

    alpha: float = 0.05
    n_opt: float | None = None
    tie_policy: str = "drop"
    tau: float | None = None
    rho: float | None = dataclasses.field(init=False, repr=False, compare=False)
    _log_threshold: float = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        alpha = check_level("alpha", self.alpha)
        check_tie_policy(self.tie_policy)
        if self.tau is None:
            n_opt = 1000.0 if self.n_opt is None else check_positive("n_opt", self.n_opt)
            rho = n_opt / _rho_denominator(alpha)
            if not rho > 0:
                msg = f"`n_opt` must be >= 1e-300, got {self.n_opt!r}; it sets the mixture width"
                raise InvalidArgument(msg)
            object.__setattr__(self, "n_opt", n_opt)
            object.__setattr__(self, "rho", rho)
        else:
            if self.n_opt is not None:
                msg = (
                    f"pass either `n_opt` (where the interval is tightest) or `tau` (Johari's "
                    f"mixing sd), not both; got n_opt={self.n_opt!r}, tau={self.tau!r}"
                )
                raise InvalidArgument(msg)
            object.__setattr__(self, "tau", _check_tau(self.tau))
            object.__setattr__(self, "rho", None)
        object.__setattr__(self, "alpha", alpha)
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
        n_planned = check_positive("n_planned", n_planned)
        if n_planned < 1e-300:
            msg = f"`n_planned` must be >= 1e-300, got {n_planned!r}"
            raise InvalidArgument(msg)
        return cls(alpha=alpha, n_opt=n_planned)

    @classmethod
    def johari(cls, tau: float, alpha: float = 0.05, tie_policy: str = "drop") -> MixtureSPRT:
        """Johari, Pekelis & Walsh's mSPRT: mix the mean effect of one observation over N(0, tau^2).

        ``tau`` is in the units of one observation, as in the paper: for a :class:`TwoMeans` or
        :class:`TwoProportions` the observation is the difference of a pair of users (one per
        arm), so ``tau`` is in the metric's units (``mean_b - mean_a``, ``p_b - p_a``); for a
        :class:`CenteredSum` it is one increment (``total / n``); for :class:`WinLoss` it is one
        comparison scored +1 (win) / -1 (loss), so ``tau`` is on the scale of ``2 p - 1`` (a
        ``tau`` of 0.1 spreads the win rate by 0.05). The data variance ``V`` of one observation
        (same units) comes from the data at each look: 1 for comparisons, ``variance / n`` for a
        :class:`CenteredSum`, the (estimated) ``sigma_a^2 + sigma_b^2`` for A/B, so the test is
        right for any ``V``; with ``n`` observations of mean ``x`` the log-likelihood ratio is
        ``0.5 log(V / (V + n tau^2)) + n^2 tau^2 x^2 / (2 V (V + n tau^2))``.

        Parameters
        ----------
        tau
            The mixing standard deviation, in ``TAU_RANGE`` = [1e-150, 1e150].
        alpha, tie_policy
            As for :class:`MixtureSPRT`.

        Examples
        --------
        >>> state = MixtureSPRT.johari(tau=0.1).start(CenteredSum()).update(n=100, total=40.0,
        ...     variance=200.0)
        >>> round(state.statistic, 6)  # V = 2: 0.5 log(2 / 3) + 100^2 0.01 0.4^2 / (2 2 3)
        1.130601
        """
        tau = _check_tau(tau)
        return cls(alpha=alpha, tie_policy=tie_policy, tau=tau)

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
        s, v = data.centred_arrays(self.tie_policy)
        s, v = np.broadcast_arrays(s, v)
        if self.tau is None:
            ratio = v / self.rho
        else:
            scale = np.broadcast_to(np.asarray(data.effect_scale(self.tie_policy), float), v.shape)
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                q = self.tau / scale
                ratio = np.where(scale > 0, v * q * q, 0.0)
        ratio = np.minimum(ratio, _MAX_RATIO)
        informative = (v > 0) & (ratio > 0)
        safe_v = np.where(informative, v, 1.0)
        safe_r = np.where(informative, ratio, 1.0)
        with np.errstate(over="ignore"):
            gain = s * s * safe_r / (2.0 * safe_v * (1.0 + safe_r))
            log_e = np.where(informative, gain - 0.5 * np.log1p(safe_r), 0.0)
        pvalue = np.exp(-np.maximum(log_e, 0.0))
        raw = np.where(log_e >= self._log_threshold, REJECT_CODE, CONTINUE_CODE)
        return monitor(np.asarray(data.n), log_e, pvalue, raw)

    def _ratio(self, data: Any, v: float) -> float:
        """``v / rho``: fixed ``rho`` with ``n_opt``; Johari's ``c^2 / tau^2`` with ``tau``."""
        if self.tau is None:
            return v / self.rho
        return self._johari_ratio(v, data.effect_scale(self.tie_policy))

    def _johari_ratio(self, v: float, scale: float) -> float:
        """``v / rho`` with Johari's ``rho = c^2 / tau^2`` (``c``: the data's effect scale)."""
        if not scale > 0:
            return 0.0
        q = self.tau / scale
        return min(v * q * q, _MAX_RATIO)

    def look(self, data: Any, previous: SequentialState | None = None) -> Look:
        """The log e-value ``log m`` of ``data``; ``REJECT`` once it reaches ``log(1 / alpha)``."""
        ratio = 0.0
        if self.tau is None:
            s, v = data.centred(self.tie_policy)
            if v > 0:
                ratio = v / self.rho
        else:
            # One pass over the data for s, v and c (the A/B kinds' moments are computed once).
            s, v, scale = data.centred_with_scale(self.tie_policy)
            if v > 0:
                ratio = self._johari_ratio(v, scale)
        if ratio > 0:
            log_e = s * s * ratio / (2.0 * v * (1.0 + ratio)) - 0.5 * math.log1p(ratio)
        else:
            log_e = 0.0
        pvalue = 1.0 if log_e <= 0.0 else math.exp(-log_e)
        if log_e >= self._log_threshold:
            return new_look((log_e, pvalue, DECISION_REJECT, None))
        return new_look((log_e, pvalue, DECISION_CONTINUE, None))

    def interval(
        self, data: Any, confidence_level: float, looks: tuple[float, ...] = ()
    ) -> ConfidenceInterval:
        """The confidence sequence for the effect at ``confidence_level``, valid at every look."""
        _, v = data.centred(self.tie_policy)
        ratio = self._ratio(data, v) if v > 0 else 0.0
        if ratio > 0:
            log_level = 2.0 * math.log(1.0 / (1.0 - confidence_level))
            halfwidth = math.sqrt(v * (1.0 + ratio) / ratio * (math.log1p(ratio) + log_level))
        else:
            halfwidth = math.inf
        low, high = data.effect_interval(halfwidth, self.tie_policy)
        return ConfidenceInterval(low, high, confidence_level)


def _check_tau(tau: Any) -> float:
    tau = check_positive("tau", tau)
    low, high = TAU_RANGE
    if not low <= tau <= high:
        msg = (
            f"`tau` must be in [{low:g}, {high:g}] (TAU_RANGE) so that tau**2 is a normal float, "
            f"got {tau!r}; tau is the mixing sd in the units of one observation"
        )
        raise InvalidArgument(msg)
    return tau
