"""Group-sequential tests with Lan-DeMets alpha spending.

Lan & DeMets (1983), "Discrete sequential boundaries for clinical trials", Biometrika 70(3).

A design fixes a maximum information (``max_n``) and a spending function ``alpha(t)``: by
information fraction ``t`` the test may have spent at most ``alpha(t)`` of its false-positive rate.
Looks can come at any fractions, planned or not; the boundary of look ``k`` is the ``c_k`` with

    P(no crossing at looks 1..k-1, crossing at look k | H0) = alpha(t_k) - alpha(t_{k-1})

computed exactly for the Brownian motion ``S(t) = Z(t) sqrt(t)`` by the recursive numerical
integration of Armitage, McPherson & Rowe (1969), as laid out by Jennison & Turnbull (2000, ch.
19): the sub-density of ``S`` on the continuation region (within 10 standard deviations of
``S(t) ~ N(0, t)``) is carried from look to look on a Simpson grid (201 points, converged to 1e-8
in ``c`` for the usual few looks), and each ``c_k`` is found by root finding. The recursion is
kept per schedule, so a live state adding one look costs one step, not a pass over all looks.

Spending functions, for two-sided level ``alpha`` (each side gets ``alpha / 2``):

- ``'obrien-fleming'``: ``2 * 2 (1 - Phi(z_{1 - alpha/4} / sqrt(t)))`` (the Lan-DeMets
  O'Brien-Fleming type, as ldbounds and gsDesign's ``sfLDOF`` apply it per side);
- ``'pocock'``: ``alpha log(1 + (e - 1) t)``;
- a number ``rho``: the power family ``alpha t^rho`` (Kim & DeMets 1987).

Decisions: ``REJECT`` when ``|z|`` reaches the look's boundary (the difference is real); at the
final look (``t >= 1``) the test stops either way, and ``ACCEPT`` means the planned information is
exhausted without a difference (no futility boundary is drawn before that). The p-value is the
repeated p-value (Jennison & Turnbull 2000, §9.1): the smallest level at which the design would
have rejected by now (interpolated over 65 levels to within 1% of itself; it is at most
``alpha`` exactly when the design rejects); the interval is the repeated confidence interval,
valid at every look. The state is the shared :class:`~interleave.stats.SequentialState`; its
``looks`` hold the schedule so far.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
import warnings
from typing import Any, NamedTuple

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq
from scipy.special import expit, logit, ndtr, ndtri

from interleave.errors import InvalidArgument
from interleave.stats._core import (
    ACCEPT_CODE,
    CONTINUE_CODE,
    REJECT_CODE,
    ConfidenceInterval,
    Decision,
    Look,
    Result,
    SequentialState,
    StreamResult,
    check_alternative,
    check_confidence_level,
    check_data,
    check_level,
    check_positive,
    check_tie_policy,
    monitor,
    serialisable,
    start_state,
)
from interleave.stats.sufficient import CenteredSum, TwoMeans, TwoProportions, WinLoss, as_stream

__all__ = ["MAX_LOOKS", "GroupSequential", "clear_caches"]

_KINDS = (WinLoss, TwoProportions, TwoMeans, CenteredSum)
_GRID = 100  # Simpson intervals per look: 2 * _GRID + 1 points
_TAIL = 10.0  # the sub-density is integrated within 10 standard deviations of S(t) ~ N(0, t)
_MAX_BOUND = 40.0  # a look that spends nothing gets this (never crossed) boundary
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_CACHE_SIZE = 8192  # carried recursions kept (about 1.7 kB each)

MAX_LOOKS = 1000
"""The most looks one schedule may take: each look costs one vectorised integration step over the
65 levels of the repeated p-values (about 10 ms), so 1000 looks take about 10 s. More looks than
this is continuous monitoring: use :class:`~interleave.stats.MixtureSPRT`."""


# ----------------------------------------------------------------------------------- spending


def _spent(spending: str | float, alpha: float, t: Any, sides: int) -> Any:
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
    rho = check_positive("spending", spending)
    if not 1e-3 <= rho <= 1e3:
        msg = f"a power-family `spending` exponent must be in [0.001, 1000], got {spending!r}"
        raise InvalidArgument(msg)
    return rho


# ------------------------------------------------------------------------ recursive integration


class _Carry(NamedTuple):
    """The recursion after some looks: where it stands and the sub-density it carries.

    ``weighted`` is the Simpson weight times the sub-density of ``S(t)`` on the continuation
    region ``[low, high]`` of the last look (``None`` before any look).
    """

    t: float
    bounds: tuple[float, ...]
    low: float
    high: float
    weighted: np.ndarray | None


_START = _Carry(0.0, (), 0.0, 0.0, None)
_CARRIES: collections.OrderedDict[tuple[Any, ...], _Carry] = collections.OrderedDict()
_LOCK = threading.RLock()  # the caches are shared by every thread of a service


def _simpson(low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(low, high, 2 * _GRID + 1)
    w = np.ones_like(x)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return x, w * (high - low) / (6.0 * _GRID)


def _step(carry: _Carry, spending: str | float, alpha: float, sides: int, tk: float) -> _Carry:
    """One more look at fraction ``tk``: its boundary, then the sub-density carried past it."""
    spend = float(_spent(spending, alpha, tk, sides) - _spent(spending, alpha, carry.t, sides))
    spend = max(spend, 0.0)  # the final look (t >= 1) spends whatever is left of alpha
    sd_step = math.sqrt(tk - carry.t)
    root_t = math.sqrt(tk)
    if carry.weighted is None:
        c = float(-ndtri(spend / sides)) if spend > 0 else _MAX_BOUND
        c = min(max(c, 0.0), _MAX_BOUND)
    else:
        x = np.linspace(carry.low, carry.high, 2 * _GRID + 1)
        c = _solve_bound(x, carry.weighted, sd_step, root_t, spend, sides)
    high = min(c * root_t, _TAIL * root_t)
    low = -high if sides == 2 else -_TAIL * root_t
    x_new, w_new = _simpson(low, high)
    if carry.weighted is None:
        f = np.exp(-0.5 * (x_new / root_t) ** 2) / (_SQRT_2PI * root_t)
    else:
        kernel = _gaussian_kernel(x_new[:, None], x[None, :], sd_step)
        f = kernel @ carry.weighted / (_SQRT_2PI * sd_step)
    return _Carry(tk, (*carry.bounds, c), low, high, w_new * f)


def _gaussian_kernel(to: np.ndarray, source: np.ndarray, sd: float) -> np.ndarray:
    """``exp(-((to - source) / sd)^2 / 2)``, in place (a third of the time of the expression)."""
    kernel = np.subtract(to, source)
    kernel *= 1.0 / sd
    np.square(kernel, out=kernel)
    np.minimum(kernel, 1400.0, out=kernel)  # exp(-700) is 1e-304: skip the slow subnormals
    kernel *= -0.5
    return np.exp(kernel, out=kernel)


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


def _carry(spending: str | float, alpha: float, sides: int, t: tuple[float, ...]) -> _Carry:
    """The recursion over the looks ``t``, resumed from the longest prefix already computed.

    A live state adds one look at a time, so each update costs one step per level, not a pass
    over the whole schedule.
    """
    with _LOCK:
        key = (spending, alpha, sides, t)
        hit = _CARRIES.get(key)
        if hit is not None:
            _CARRIES.move_to_end(key)
            return hit
        k = len(t) - 1
        while k > 0 and (spending, alpha, sides, t[:k]) not in _CARRIES:
            k -= 1
        carry = _CARRIES[(spending, alpha, sides, t[:k])] if k > 0 else _START
        for j in range(k, len(t)):
            carry = _step(carry, spending, alpha, sides, t[j])
            _CARRIES[(spending, alpha, sides, t[: j + 1])] = carry
        while len(_CARRIES) > _CACHE_SIZE:
            _CARRIES.popitem(last=False)
        return carry


def clear_caches() -> None:
    """Forget every computed boundary and p-value table (for cold timings, or to free memory).

    The caches are bounded (about 14 MB and 14 MB); results never depend on them.
    """
    with _LOCK:
        _CARRIES.clear()
        _TABLES.clear()


def _bounds(spending: str | float, alpha: float, sides: int, t: tuple[float, ...]) -> np.ndarray:
    return np.asarray(_carry(spending, alpha, sides, t).bounds)


# ------------------------------------------------------------------------ repeated p-values

# Levels of the repeated p-value table, evenly spaced in logit(alpha); the design's own alpha
# is added so that "p <= alpha" and "the design rejects" agree exactly.
_LEVELS = expit(np.linspace(logit(1e-10), logit(0.999), 64))
_TABLE_GRID = 50  # Simpson intervals of the table's recursion (p-values only, never decisions)
_TABLE_CACHE_SIZE = 256  # table recursions kept (about 55 kB each)
_TABLES: collections.OrderedDict[tuple[Any, ...], _TableCarry] = collections.OrderedDict()


class _TableCarry(NamedTuple):
    """The recursion of every level of the table at once (arrays with one row per level)."""

    t: float
    bound: np.ndarray | None  # the boundary of each level at the last look
    low: np.ndarray | None
    high: np.ndarray | None
    weighted: np.ndarray | None
    interpolator: Any = None


def _table_step(
    carry: _TableCarry, spending: str | float, levels: np.ndarray, sides: int, tk: float
) -> _TableCarry:
    """One more look for every level: its boundaries, then the sub-densities past them."""
    spend = _spent(spending, levels, tk, sides) - _spent(spending, levels, carry.t, sides)
    spend = np.maximum(spend, 0.0)
    sd_step = math.sqrt(tk - carry.t)
    root_t = math.sqrt(tk)
    points = 2 * _TABLE_GRID + 1
    if carry.weighted is None:
        with np.errstate(divide="ignore"):
            c = np.where(spend > 0, -ndtri(spend / sides), _MAX_BOUND)
        c = np.clip(c, 0.0, _MAX_BOUND)
        x = None
    else:
        unit = np.linspace(0.0, 1.0, points)
        x = carry.low[:, None] + (carry.high - carry.low)[:, None] * unit
        c = _solve_bounds(x, carry.weighted, sd_step, root_t, spend, sides)
    high = np.minimum(c * root_t, _TAIL * root_t)
    low = -high if sides == 2 else np.full_like(high, -_TAIL * root_t)
    unit = np.linspace(0.0, 1.0, points)
    x_new = low[:, None] + (high - low)[:, None] * unit
    w = np.ones(points)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    w_new = w * ((high - low) / (6.0 * _TABLE_GRID))[:, None]
    if x is None:
        f = np.exp(-0.5 * (x_new / root_t) ** 2) / (_SQRT_2PI * root_t)
    else:
        kernel = _gaussian_kernel(x_new[:, :, None], x[:, None, :], sd_step)
        f = np.matmul(kernel, carry.weighted[:, :, None])[:, :, 0] / (_SQRT_2PI * sd_step)
    return _TableCarry(tk, c, low, high, w_new * f)


def _solve_bounds(
    x: np.ndarray, weights: np.ndarray, sd: float, root_t: float, spend: np.ndarray, sides: int
) -> np.ndarray:
    """Per level, the ``c`` whose crossing probability is ``spend`` (safeguarded Newton).

    Newton runs on ``log P(c) - log spend``, nearly linear in ``c``, starting from the boundary
    a single look would have; bisection takes over whenever a step leaves the bracket.
    """
    with np.errstate(divide="ignore"):
        start = np.clip(-ndtri(spend / sides), 0.0, _MAX_BOUND)
    # A look that spends under 1e-20 has a boundary above 9; there the paths that crossed an
    # earlier (even higher) boundary are a negligible share, and the single-look boundary is the
    # answer to many digits (the table needs about four).
    c = np.where(spend > 0, start, _MAX_BOUND)
    active = np.flatnonzero(spend > 1e-20)
    if active.size == 0:
        return c
    x, weights = x[active], weights[active]
    log_spend = np.log(spend[active])

    def crossing(c: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = (c * root_t)[:, None]
        upper = (x[rows] - h) / sd
        p = ndtr(upper)
        density = np.exp(-0.5 * upper * upper)
        if sides == 2:
            lower = (-h - x[rows]) / sd
            p = p + ndtr(lower)
            density = density + np.exp(-0.5 * lower * lower)
        w = weights[rows]
        probability = np.einsum("lj,lj->l", w, p)
        slope = -np.einsum("lj,lj->l", w, density) * root_t / (sd * _SQRT_2PI)
        return probability, slope

    rows = np.arange(active.size)
    at_zero, _ = crossing(np.zeros(active.size), rows)
    at_max, _ = crossing(np.full(active.size, _MAX_BOUND), rows)
    low = np.zeros(active.size)
    high = np.full(active.size, _MAX_BOUND)
    guess = np.where(at_zero <= spend[active], 0.0, start[active])
    guess = np.where(at_max >= spend[active], _MAX_BOUND, guess)
    todo = np.flatnonzero((at_zero > spend[active]) & (at_max < spend[active]))
    for _ in range(200):
        if todo.size == 0:
            break
        current = guess[todo]
        probability, slope = crossing(current, todo)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            gap = np.log(probability) - log_spend[todo]
            newton = current - gap * probability / slope
        above = gap > 0  # still crossing too often: the boundary is higher
        low[todo] = np.where(above, current, low[todo])
        high[todo] = np.where(above, high[todo], current)
        inside = np.isfinite(newton) & (newton > low[todo]) & (newton < high[todo])
        following = np.where(inside, newton, 0.5 * (low[todo] + high[todo]))
        guess[todo] = following
        done = (np.abs(following - current) <= 1e-10) | (high[todo] - low[todo] <= 1e-10)
        todo = todo[~done]
    c[active] = guess
    return c


def _table(design: GroupSequential, t: tuple[float, ...]) -> _TableCarry:
    """The table's recursion over the looks ``t``, resumed from the longest computed prefix."""
    base = (design.spending, design.alpha, design._sides)
    with _LOCK:
        hit = _TABLES.get((*base, t))
        if hit is not None:
            _TABLES.move_to_end((*base, t))
            return hit
        levels = np.unique(np.append(_LEVELS, design.alpha))
        k = len(t) - 1
        while k > 0 and (*base, t[:k]) not in _TABLES:
            k -= 1
        carry = _TABLES[(*base, t[:k])] if k > 0 else _TableCarry(0.0, None, None, None, None)
        for j in range(k, len(t)):
            carry = _table_step(carry, design.spending, levels, design._sides, t[j])
            _TABLES[(*base, t[: j + 1])] = carry
        while len(_TABLES) > _TABLE_CACHE_SIZE:
            _TABLES.popitem(last=False)
        return carry


class _RepeatedPvalues:
    """Repeated p-values for one schedule of looks, interpolated from a table of 65 levels.

    The boundaries of all levels come from one vectorised recursion (a coarser grid than the
    decisions use). ``log alpha + c^2 / 2`` is smooth and slowly varying in the boundary ``c``,
    so a monotone (PCHIP) interpolation of it over the levels is accurate to about 1e-2 in
    ``log p`` (checked against root finding in the tests). Decisions never use it.
    """

    def __init__(self, design: GroupSequential, fractions: tuple[float, ...]) -> None:
        self.design = design
        self.fractions = fractions
        self.levels = np.unique(np.append(_LEVELS, design.alpha))

    def _interpolator(self, look: int) -> PchipInterpolator | None:
        carry = _table(self.design, self.fractions[: look + 1])
        if carry.interpolator is not None:
            return carry.interpolator[0]
        bound = carry.bound
        smooth = np.log(self.levels) + bound**2 / 2.0
        order = np.argsort(bound, kind="stable")
        bound, smooth = bound[order], smooth[order]
        keep = np.concatenate([[True], np.diff(bound) > 1e-9])
        interpolator = None
        if np.count_nonzero(keep) >= 2:
            interpolator = PchipInterpolator(bound[keep], smooth[keep], extrapolate=False)
        key = (self.design.spending, self.design.alpha, self.design._sides)
        with _LOCK:
            _TABLES[(*key, self.fractions[: look + 1])] = carry._replace(
                interpolator=[interpolator]
            )
        return interpolator

    def pvalue(self, look: int, stat: Any, bound: float) -> Any:
        """The repeated p-value at ``look`` of ``stat`` (its boundary at ``alpha``: ``bound``)."""
        stat = np.asarray(stat, dtype=float)
        interpolator = self._interpolator(look)
        if interpolator is None:  # every level has the same (never crossed) boundary
            p = np.where(stat >= _MAX_BOUND, self.levels[0], 1.0)
        else:
            low, high = interpolator.x[0], interpolator.x[-1]
            inside = np.clip(stat, low, high)
            p = np.exp(interpolator(inside) - inside**2 / 2.0)
            p = np.where(stat >= high, self.levels[0], p)
            p = np.where(stat <= low, 1.0, np.minimum(p, 1.0))
        # The repeated p-value is at most alpha exactly when the design rejects.
        alpha = self.design.alpha
        p = np.where(stat >= bound, np.minimum(p, alpha), np.maximum(p, np.nextafter(alpha, 1.0)))
        return p[()] if p.ndim == 0 else p


def _repeated_pvalue_by_root(
    design: GroupSequential, fractions: tuple[float, ...], stat: float
) -> float:
    """The repeated p-value by root finding over alpha (slow; the tests check the table with it)."""

    def gap(log_alpha: float) -> float:
        bound = _carry(design.spending, math.exp(log_alpha), design._sides, fractions).bounds[-1]
        return float(bound) - stat

    low, high = math.log(1e-10), math.log(0.999)
    if gap(high) > 0:
        return 1.0
    if gap(low) <= 0:
        return 1e-10
    return math.exp(brentq(gap, low, high, xtol=1e-12))


# --------------------------------------------------------------------------------- the design


@serialisable("test")
@dataclasses.dataclass(frozen=True, slots=True)
class GroupSequential(Result):
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
        exponent ``rho`` in [0.001, 1000] (``alpha t^rho``; 1 is close to Pocock, 3 to
        O'Brien-Fleming).
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
        object.__setattr__(self, "alpha", check_level("alpha", self.alpha))
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
        Computed once per schedule (and resumed from its longest computed prefix).

        Parameters
        ----------
        information_fractions
            Increasing fractions of ``max_n``, all > 0, at most :data:`MAX_LOOKS` of them.
        alpha
            The level, ``None`` for the design's own ``alpha``.
        """
        t = _fractions(information_fractions)
        level = self.alpha if alpha is None else check_level("alpha", alpha)
        return _bounds(self.spending, level, self._sides, tuple(float(x) for x in t)).copy()

    def start(self, data: Any = None) -> SequentialState:
        """A fresh monitoring state: each ``update`` is one look at ``v / max_n``.

        Examples
        --------
        >>> GroupSequential(max_n=100).start().update(wins=30, losses=20).decision
        <Decision.CONTINUE: 'continue'>
        """
        data = WinLoss() if data is None else check_data(data, _KINDS, "GroupSequential")
        return start_state(self, data)

    def look(self, data: Any, previous: SequentialState) -> Look:
        """A look at ``v / max_n`` when the information grew (and the test has not stopped).

        The statistic is ``z``; the p-value is the repeated p-value; the look schedule grows by
        one. Without new information, or after a stop, no look is taken: the data accumulate.
        """
        s, v = data.centred(self.tie_policy)
        z = s / math.sqrt(v) if v > 0 else 0.0
        t = v / self.max_n
        last = previous.looks[-1] if previous.looks else 0.0
        if previous.stopped or t <= last or not math.isfinite(t):
            return Look(z, 1.0, Decision.CONTINUE)
        looks = (*previous.looks, t)
        bound = float(self.bounds(looks)[-1])
        stat = float(_signed(z, self.alternative))
        pvalue = float(_RepeatedPvalues(self, looks).pvalue(len(looks) - 1, stat, bound))
        if stat >= bound:
            return Look(z, pvalue, Decision.REJECT, looks)
        if t >= 1.0:
            return Look(z, pvalue, Decision.ACCEPT, looks)
        return Look(z, pvalue, Decision.CONTINUE, looks)

    def interval(
        self, data: Any, confidence_level: float, looks: tuple[float, ...] = ()
    ) -> ConfidenceInterval:
        """The repeated confidence interval (two-sided) at the last of ``looks``.

        It uses the boundaries the design would have at that level over the same looks.
        """
        level = check_confidence_level(confidence_level)
        _, v = data.centred(self.tie_policy)
        if not looks or v == 0:
            low, high = (
                data.effect_interval(math.inf, self.tie_policy) if v else (-math.inf, math.inf)
            )
            return ConfidenceInterval(low, high, level)
        two_sided = dataclasses.replace(self, alternative="two-sided")
        bound = two_sided.bounds(looks, alpha=1.0 - level)[-1]
        low, high = data.effect_interval(bound * math.sqrt(v), self.tie_policy)
        return ConfidenceInterval(low, high, level)

    def evaluate(self, stream: Any) -> StreamResult:
        """Every step of a stream as one look, vectorised over experiments.

        Looks are taken where the information grows; streams with the same schedule of
        fractions share their boundaries and their table of repeated p-values (each distinct
        schedule costs one vectorised integration step per look: about 0.4 s for 20 looks,
        1 s for 50; looks repeated from an earlier call are cached).
        The statistic is ``z``.

        Examples
        --------
        >>> import numpy as np
        >>> wins = np.array([[60, 120, 180, 240]])
        >>> stream = WinLoss(n_wins=wins, n_losses=np.array([[40, 80, 120, 160]]))
        >>> GroupSequential(max_n=400).evaluate(stream).stop_index.tolist()
        [2]
        """
        data = as_stream(stream, _KINDS, "GroupSequential")
        s, v = data.centred_arrays(self.tie_policy)
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
            alive = np.ones(members.size, dtype=bool)
            for j, (step, bound) in enumerate(zip(looks, bounds, strict=True)):
                if not alive.any():
                    break  # every stream of this schedule has stopped: no later look matters
                stat = signed[members, step]
                cross = stat >= bound
                final = fractions[j] >= 1.0
                raw[members, step] = np.where(
                    cross, REJECT_CODE, ACCEPT_CODE if final else CONTINUE_CODE
                )
                pvalue[members, step] = np.where(alive, table.pvalue(j, stat, bound), 1.0)
                alive &= ~cross & (not final)
        # A stopped design takes no more looks: its p-value stays the one at the stop.
        crossed = raw != CONTINUE_CODE
        first = np.where(crossed.any(axis=-1), np.argmax(crossed, axis=-1), raw.shape[-1])
        pvalue[np.arange(raw.shape[-1]) > first[:, None]] = 1.0
        return monitor(
            np.asarray(data.n) * np.ones(shape, dtype=np.asarray(data.n).dtype),
            z,
            pvalue.reshape(shape),
            raw.reshape(shape),
        )


def _fractions(information_fractions: Any) -> np.ndarray:
    try:
        t = np.atleast_1d(np.asarray(information_fractions, dtype=float))
    except (TypeError, ValueError, OverflowError):
        msg = (
            "`information_fractions` must be a 1-D sequence of numbers, got "
            f"{information_fractions!r:.80}"
        )
        raise InvalidArgument(msg) from None
    if t.ndim != 1 or t.size == 0:
        msg = (
            "`information_fractions` must be a non-empty 1-D sequence, got "
            f"{information_fractions!r:.80}"
        )
        raise InvalidArgument(msg)
    if not np.all(np.isfinite(t)) or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        msg = (
            "`information_fractions` must be finite, > 0 and strictly increasing, got "
            f"{information_fractions!r:.80}"
        )
        raise InvalidArgument(msg)
    if np.any(t[:-1] >= 1.0):
        msg = (
            "only the last look may reach information fraction 1, got "
            f"{information_fractions!r:.80}"
        )
        raise InvalidArgument(msg)
    if t.size > MAX_LOOKS:
        msg = (
            f"{t.size} looks exceed MAX_LOOKS ({MAX_LOOKS}); a group-sequential design plans a "
            "few looks: use MixtureSPRT to look after every observation"
        )
        raise InvalidArgument(msg)
    return t


def _look_steps(schedule: np.ndarray) -> np.ndarray:
    """Steps where information grew (and the final look at ``t >= 1`` has not passed)."""
    grew = np.flatnonzero(schedule > np.maximum.accumulate(np.concatenate([[0.0], schedule[:-1]])))
    final = np.flatnonzero(schedule[grew] >= 1.0)
    return grew[: final[0] + 1] if final.size else grew


def _signed(z: Any, alternative: str) -> Any:
    if alternative == "two-sided":
        return np.abs(z)
    return z if alternative == "greater" else -z


def __getattr__(name: str) -> Any:
    # GroupSequentialState merged into SequentialState; the old name stays for one release.
    if name == "GroupSequentialState":
        warnings.warn(
            "GroupSequentialState is now SequentialState (the one state of every sequential "
            "test); import that instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return SequentialState
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
