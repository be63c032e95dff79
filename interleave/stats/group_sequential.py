"""Group-sequential tests with Lan-DeMets alpha spending.

Lan & DeMets (1983), "Discrete sequential boundaries for clinical trials", Biometrika 70(3).

A design fixes a maximum information (``max_n``) and a spending function ``alpha(t)``: by
information fraction ``t`` the test may have spent at most ``alpha(t)`` of its false-positive rate.
Looks can come at any fractions, planned or not; the boundary of look ``k`` is the ``c_k`` with

    P(no crossing at looks 1..k-1, crossing at look k | H0) = alpha(t_k) - alpha(t_{k-1})

computed exactly for the Brownian motion ``S(t) = Z(t) sqrt(t)`` by the recursive numerical
integration of Armitage, McPherson & Rowe (1969), as laid out by Jennison & Turnbull (2000, ch.
19): the sub-density of ``S`` on the continuation region is carried from look to look on a
Simpson grid (201 points, converged to 1e-8 in ``c``), and each ``c_k`` is found by root finding.

Spending functions, for two-sided level ``alpha`` (each side gets ``alpha / 2``):

- ``'obrien-fleming'``: ``2 * 2 (1 - Phi(z_{1 - alpha/4} / sqrt(t)))`` (the Lan-DeMets
  O'Brien-Fleming type, as ldbounds and gsDesign's ``sfLDOF`` apply it per side);
- ``'pocock'``: ``alpha log(1 + (e - 1) t)``;
- a number ``rho``: the power family ``alpha t^rho`` (Kim & DeMets 1987).

Decisions: ``REJECT`` when ``|z|`` reaches the look's boundary (the difference is real); at the
final look (``t >= 1``) the test stops either way, and ``ACCEPT`` means the planned information is
exhausted without a difference (no futility boundary is drawn before that). The p-value is the
repeated p-value (Jennison & Turnbull 2000, §9.1): the smallest level at which the design would
have rejected by now; the interval is the repeated confidence interval, valid at every look.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq
from scipy.special import expit, logit, ndtr, ndtri

from interleave._checks import check_alpha
from interleave.errors import InvalidArgument
from interleave.stats._core import (
    ACCEPT_CODE,
    CONTINUE_CODE,
    REJECT_CODE,
    ConfidenceInterval,
    Decision,
    StreamResult,
    _Result,
    as_stream,
    check_alternative,
    check_confidence_level,
    check_data,
    check_positive,
    check_tie_policy,
    monitor,
)
from interleave.stats.sufficient import CenteredSum, TwoMeans, TwoProportions, WinLoss

__all__ = ["GroupSequential", "GroupSequentialState"]

_KINDS = (WinLoss, TwoProportions, TwoMeans, CenteredSum)
_GRID = 100  # Simpson intervals per look: 2 * _GRID + 1 points
_TAIL = 10.0  # one-sided designs integrate the open side down to -10 standard deviations
_MAX_BOUND = 40.0  # a look that spends nothing gets this (never crossed) boundary
_SQRT_2PI = math.sqrt(2.0 * math.pi)


# ----------------------------------------------------------------------------------- spending


def _spent(spending: str | float, alpha: float, t: np.ndarray, sides: int) -> np.ndarray:
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    if spending == "obrien-fleming":
        side = alpha / sides
        with np.errstate(divide="ignore"):
            per_side = 2.0 * ndtr(ndtri(side / 2.0) / np.sqrt(t))
        return sides * np.where(t > 0, per_side, 0.0)
    if spending == "pocock":
        return alpha * np.log1p((math.e - 1.0) * t)
    return alpha * t ** float(spending)


def _check_spending(spending: Any) -> str | float:
    if isinstance(spending, str):
        if spending not in ("obrien-fleming", "pocock"):
            msg = (
                f"`spending` must be 'obrien-fleming', 'pocock' or a power-family exponent > 0, "
                f"got {spending!r}"
            )
            raise InvalidArgument(msg)
        return spending
    return check_positive("spending", spending)


# ------------------------------------------------------------------------ recursive integration


def _simpson(low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(low, high, 2 * _GRID + 1)
    w = np.ones_like(x)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return x, w * (high - low) / (6.0 * _GRID)


def _boundaries(t: tuple[float, ...], increments: tuple[float, ...], sides: int) -> np.ndarray:
    """``c_k`` on the z scale for looks at fractions ``t`` spending ``increments`` (both sides)."""
    bounds = np.empty(len(t))
    x = w = f = None
    previous = 0.0
    for k, (tk, spend) in enumerate(zip(t, increments, strict=True)):
        sd_step = math.sqrt(tk - previous)
        root_t = math.sqrt(tk)
        if k == 0:
            c = float(-ndtri(spend / sides)) if spend > 0 else _MAX_BOUND
            c = min(c, _MAX_BOUND)
        else:
            weights = w * f

            c = _solve_bound(x, weights, sd_step, root_t, spend, sides)
        bounds[k] = c
        h = c * root_t
        low = -h if sides == 2 else -_TAIL * root_t
        x_new, w_new = _simpson(low, h)
        if k == 0:
            f = np.exp(-0.5 * (x_new / root_t) ** 2) / (_SQRT_2PI * root_t)
        else:
            kernel = np.exp(-0.5 * ((x_new[:, None] - x[None, :]) / sd_step) ** 2) / (
                _SQRT_2PI * sd_step
            )
            f = kernel @ (w * f)
        x, w = x_new, w_new
        previous = tk
    return bounds


def _solve_bound(
    x: np.ndarray, weights: np.ndarray, sd: float, root_t: float, spend: float, sides: int
) -> float:
    """The ``c`` whose crossing probability from the sub-density at ``x`` is ``spend``."""

    def excess(c: float) -> float:
        h = c * root_t
        p = ndtr((x - h) / sd)
        if sides == 2:
            p = p + ndtr((-h - x) / sd)
        return float(weights @ p) - spend

    if spend <= 0 or excess(_MAX_BOUND) >= 0:
        return _MAX_BOUND
    if excess(0.0) <= 0:
        return 0.0
    return brentq(excess, 0.0, _MAX_BOUND, xtol=1e-12, rtol=1e-14)


@functools.lru_cache(maxsize=4096)
def _cached_bounds(
    spending: str | float, alpha: float, sides: int, t: tuple[float, ...]
) -> np.ndarray:
    cumulative = _spent(spending, alpha, np.asarray(t), sides)
    increments = np.diff(np.concatenate([[0.0], cumulative]))
    # The final look (t >= 1) spends whatever is left of alpha.
    return _boundaries(t, tuple(float(i) for i in np.maximum(increments, 0.0)), sides)


# --------------------------------------------------------------------------------- the design


@dataclasses.dataclass(frozen=True, slots=True)
class GroupSequential(_Result):
    """A group-sequential z-test with Lan-DeMets alpha spending.

    Parameters
    ----------
    max_n
        The planned maximum information, in the units of ``v`` of the data
        (:mod:`~interleave.stats.sufficient`): decisive comparisons for interleaving with ties
        dropped, users in both arms for A/B. A look at ``v`` is at fraction ``v / max_n``.
    alpha
        The false-positive rate over all looks.
    spending
        ``'obrien-fleming'`` (spends little early), ``'pocock'`` (spends evenly) or a power-family
        exponent ``rho`` (``alpha t^rho``; 1 is close to Pocock, 3 to O'Brien-Fleming).
    alternative
        ``'two-sided'`` (symmetric boundaries), ``'greater'`` (the candidate is better) or
        ``'less'``.
    tie_policy
        ``'drop'`` or ``'split'`` for interleaving ties.

    Examples
    --------
    >>> design = GroupSequential(max_n=4000, spending=2.0)
    >>> design.bounds([0.25, 0.5, 0.75, 1.0]).round(4).tolist()
    [2.9552, 2.5594, 2.3009, 2.092]
    >>> design.start().update(wins=580, losses=420).decision
    <Decision.REJECT: 'reject'>
    """

    max_n: float
    alpha: float = 0.05
    spending: Any = "obrien-fleming"
    alternative: str = "two-sided"
    tie_policy: str = "drop"

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_n", check_positive("max_n", self.max_n))
        object.__setattr__(self, "alpha", check_alpha("alpha", self.alpha))
        object.__setattr__(self, "spending", _check_spending(self.spending))
        check_alternative(self.alternative)
        check_tie_policy(self.tie_policy)

    @property
    def _sides(self) -> int:
        return 2 if self.alternative == "two-sided" else 1

    def spent(self, information_fractions: Any) -> np.ndarray:
        """The cumulative false-positive rate the design may have spent by each fraction."""
        return _spent(self.spending, self.alpha, _fractions(information_fractions), self._sides)

    def bounds(self, information_fractions: Any, alpha: float | None = None) -> np.ndarray:
        """The z boundaries of looks at these increasing information fractions.

        Two-sided designs reject when ``|z| >= c``; ``'greater'`` when ``z >= c``; ``'less'`` when
        ``z <= -c``. A fraction ``>= 1`` is the final look and spends the rest of ``alpha``.

        Parameters
        ----------
        information_fractions
            Increasing fractions of ``max_n``, all > 0.
        alpha
            The level, ``None`` for the design's own ``alpha``.
        """
        t = _fractions(information_fractions)
        level = self.alpha if alpha is None else check_alpha("alpha", alpha)
        return _cached_bounds(self.spending, level, self._sides, tuple(float(x) for x in t)).copy()

    def start(self, data: Any = None) -> GroupSequentialState:
        """A fresh monitoring state: each ``update`` is one look at ``v / max_n``.

        Examples
        --------
        >>> GroupSequential(max_n=100).start().update(wins=30, losses=20).decision
        <Decision.CONTINUE: 'continue'>
        """
        data = WinLoss() if data is None else check_data(data, _KINDS, "GroupSequential")
        state = GroupSequentialState(self, data)
        return state if data.n == 0 else state._look(data)

    def evaluate(self, stream: Any) -> StreamResult:
        """Every step of a stream as one look, vectorised over experiments.

        Looks are taken where the information grows; streams with the same schedule of
        fractions share their boundaries (each distinct schedule costs a few milliseconds, plus
        about 0.5 s for its table of repeated p-values). The statistic is ``z``.

        Examples
        --------
        >>> import numpy as np
        >>> wins = np.array([[60, 120, 180, 240]])
        >>> stream = WinLoss(n_wins=wins, n_losses=np.array([[40, 80, 120, 160]]))
        >>> GroupSequential(max_n=400).evaluate(stream).stop_index.tolist()
        [2]
        """
        data = as_stream(stream, _KINDS, "GroupSequential")
        s, v = data._centred_array(self.tie_policy)
        s, v = np.broadcast_arrays(s, v)
        z = np.divide(s, np.sqrt(v), out=np.zeros_like(s), where=v > 0)
        shape = z.shape
        z2 = z.reshape(-1, shape[-1])
        t2 = (v / self.max_n).reshape(-1, shape[-1])
        pvalue = np.ones_like(z2)
        raw = np.zeros(z2.shape, dtype=np.int8)
        signed = _signed(z2, self.alternative)
        schedules, inverse = np.unique(t2, axis=0, return_inverse=True)
        for row, schedule in enumerate(schedules):
            members = np.flatnonzero(inverse.ravel() == row)
            looks = _look_steps(schedule)
            if looks.size == 0:
                continue
            fractions = tuple(float(x) for x in schedule[looks])
            bounds = self.bounds(fractions)
            table = _RepeatedPvalues(self, fractions)
            for j, (step, bound) in enumerate(zip(looks, bounds, strict=True)):
                stat = signed[members, step]
                cross = stat >= bound
                final = fractions[j] >= 1.0
                raw[members, step] = np.where(
                    cross, REJECT_CODE, ACCEPT_CODE if final else CONTINUE_CODE
                )
                pvalue[members, step] = table.pvalue(j, stat)
        # A stopped design takes no more looks: its p-value stays the one at the stop.
        crossed = raw != CONTINUE_CODE
        first = np.where(crossed.any(axis=-1), np.argmax(crossed, axis=-1), raw.shape[-1])
        pvalue[np.arange(raw.shape[-1]) > first[:, None]] = 1.0
        result = monitor(
            np.asarray(data.n) * np.ones(shape, dtype=np.int64),
            z,
            pvalue.reshape(shape),
            raw.reshape(shape),
        )
        return result


def _fractions(information_fractions: Any) -> np.ndarray:
    t = np.atleast_1d(np.asarray(information_fractions, dtype=float))
    if t.ndim != 1 or t.size == 0:
        msg = (
            "`information_fractions` must be a non-empty 1-D sequence, got "
            f"{information_fractions!r}"
        )
        raise InvalidArgument(msg)
    if not np.all(np.isfinite(t)) or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        msg = (
            "`information_fractions` must be finite, > 0 and strictly increasing, got "
            f"{information_fractions!r}"
        )
        raise InvalidArgument(msg)
    if np.any(t[:-1] >= 1.0):
        msg = f"only the last look may reach information fraction 1, got {information_fractions!r}"
        raise InvalidArgument(msg)
    return t


def _look_steps(schedule: np.ndarray) -> np.ndarray:
    """Steps where information grew (and the final look at ``t >= 1`` has not passed)."""
    steps = []
    last = 0.0
    for i, t in enumerate(schedule):
        if t > last:
            steps.append(i)
            last = t
            if t >= 1.0:
                break
    return np.asarray(steps, dtype=np.int64)


def _signed(z: Any, alternative: str) -> Any:
    if alternative == "two-sided":
        return np.abs(z)
    return z if alternative == "greater" else -z


class _RepeatedPvalues:
    """Repeated p-values for one schedule, interpolated from a table of 240 levels.

    ``log alpha + c^2 / 2`` is smooth and slowly varying in the boundary ``c``, so a monotone
    (PCHIP) interpolation of it over levels spaced evenly in ``logit(alpha)`` is accurate to about
    1e-5 in ``log p`` (checked against root finding in the tests). Decisions never use it.
    """

    _ALPHAS = expit(np.linspace(logit(1e-10), logit(0.999), 240))

    def __init__(self, design: GroupSequential, fractions: tuple[float, ...]) -> None:
        self.design = design
        self.fractions = fractions
        self._interpolators: dict[int, PchipInterpolator] = {}

    def _table(self, look: int) -> PchipInterpolator:
        if look not in self._interpolators:
            t = self.fractions[: look + 1]
            design = self.design
            bound = np.array(
                [_cached_bounds(design.spending, a, design._sides, t)[-1] for a in self._ALPHAS]
            )
            smooth = np.log(self._ALPHAS) + bound**2 / 2.0
            order = np.argsort(bound, kind="stable")
            bound, smooth = bound[order], smooth[order]
            keep = np.concatenate([[True], np.diff(bound) > 1e-9])
            self._interpolators[look] = PchipInterpolator(
                bound[keep], smooth[keep], extrapolate=False
            )
        return self._interpolators[look]

    def pvalue(self, look: int, stat: np.ndarray) -> np.ndarray:
        interpolator = self._table(look)
        low, high = interpolator.x[0], interpolator.x[-1]
        inside = np.clip(stat, low, high)
        p = np.exp(interpolator(inside) - inside**2 / 2.0)
        p = np.where(stat >= high, self._ALPHAS[0], p)
        return np.where(stat <= low, 1.0, np.minimum(p, 1.0))


def _repeated_pvalue(design: GroupSequential, fractions: tuple[float, ...], stat: float) -> float:
    def gap(log_alpha: float) -> float:
        return (
            float(
                _cached_bounds(design.spending, math.exp(log_alpha), design._sides, fractions)[-1]
            )
            - stat
        )

    low, high = math.log(1e-10), math.log(0.999)
    if gap(high) > 0:
        return 1.0
    if gap(low) <= 0:
        return 1e-10
    return math.exp(brentq(gap, low, high, xtol=1e-10))


# ---------------------------------------------------------------------------------- the state


@dataclasses.dataclass(frozen=True, slots=True)
class GroupSequentialState(_Result):
    """A group-sequential design after some looks; ``update`` is the next look.

    The same interface as :class:`~interleave.stats.SequentialState`, plus ``looks``: the
    information fractions looked at so far (the boundary of a look depends on the earlier ones,
    so here a batch and its parts are different look schedules by design).
    """

    test: GroupSequential
    data: Any
    looks: tuple[float, ...] = ()
    statistic: float = 0.0
    pvalue: float = 1.0
    n_stopped: int | None = None
    stopped_decision: Decision | None = None

    @property
    def n(self) -> int:
        """The sample size so far."""
        return self.data.n

    @property
    def decision(self) -> Decision:
        """``CONTINUE`` until a look crosses a boundary or the final look passes."""
        return Decision.CONTINUE if self.stopped_decision is None else self.stopped_decision

    @property
    def stopped(self) -> bool:
        """Whether the test has stopped."""
        return self.stopped_decision is not None

    def update(self, **increments: Any) -> GroupSequentialState:
        """The state after adding ``increments`` to the data and looking once."""
        return self._look(self.data.update(**increments))

    def _look(self, data: Any) -> GroupSequentialState:
        design = self.test
        s, v = data._centred(design.tie_policy)
        z = s / math.sqrt(v) if v > 0 else 0.0
        t = v / design.max_n
        last = self.looks[-1] if self.looks else 0.0
        if self.stopped or t <= last:
            # No new information (or already stopped): data accumulates, no look is taken.
            return dataclasses.replace(self, data=data, statistic=z)
        looks = (*self.looks, t)
        bound = design.bounds(looks)[-1]
        stat = float(_signed(z, design.alternative))
        pvalue = min(self.pvalue, _repeated_pvalue(design, looks, stat))
        if stat >= bound:
            decision: Decision | None = Decision.REJECT
        elif t >= 1.0:
            decision = Decision.ACCEPT
        else:
            decision = None
        n_stopped = data.n if decision is not None else None
        return GroupSequentialState(design, data, looks, z, pvalue, n_stopped, decision)

    def confidence_interval(self, confidence_level: float | None = None) -> ConfidenceInterval:
        """The repeated confidence interval at the last look (two-sided).

        ``None`` means ``1 - alpha``; the interval uses the boundaries the design would have at
        that level over the same looks.
        """
        design = self.test
        level = (
            1.0 - design.alpha
            if confidence_level is None
            else check_confidence_level(confidence_level)
        )
        _, v = self.data._centred(design.tie_policy)
        if not self.looks or v == 0:
            low, high = (
                self.data._interval(math.inf, design.tie_policy) if v else (-math.inf, math.inf)
            )
            return ConfidenceInterval(low, high, level)
        two_sided = dataclasses.replace(design, alternative="two-sided")
        bound = two_sided.bounds(self.looks, alpha=1.0 - level)[-1]
        low, high = self.data._interval(bound * math.sqrt(v), design.tie_policy)
        return ConfidenceInterval(low, high, level)
