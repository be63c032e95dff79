"""Sufficient statistics: the data every test in :mod:`interleave.stats` reads.

Each kind is a frozen dataclass of counts and sums that adds up: ``update`` returns a new object
with the increments added, so updating in one batch or in many gives the same object, and
``a.merge(b)`` (or ``a + b``) combines the statistics of two workers, partitions or days exactly.
Fields are scalars for a live experiment, or arrays of running totals (last axis = looks) for a
simulated stream, built by the ``from_*`` constructors with cumulative sums (no Python loop).

Each kind also projects itself, through public methods, onto the one pair the normal-mixture core
reads (:mod:`interleave.stats.mixture`), ``centred()`` (``centred_arrays()`` for streams): a
sum ``s`` of statistics centred under the null hypothesis and its variance (information) ``v``,
in units where one observation carries variance about 1:

============== ================= ================================ ================
kind           ``s``             ``v``                            effect
============== ================= ================================ ================
WinLoss        wins - losses     wins + losses (+ ties if split)  win rate
TwoProportions ``z * sqrt(v)``   n_trials_a + n_trials_b          p_b - p_a
TwoMeans       ``z * sqrt(v)``   n_a + n_b                        mean_b - mean_a
CenteredSum    total             variance                         total / variance
============== ================= ================================ ================

where ``z = difference / se`` is the A/B z statistic. ``effect_interval(halfwidth)`` maps a
half-width on ``s`` to an interval for the effect, and ``effect_scale()`` is the factor ``c`` with
"mean effect of one observation" ``= c s / v`` (its variance ``c^2 / v``): the bridge to Johari et
al.'s mixture over effects (:meth:`~interleave.stats.MixtureSPRT.johari`), which reads all three
at once through ``centred_with_scale()`` (one pass over an A/B kind's moments).

``update`` is the live hot path: plain ints and floats skip the increment checkers (anything else
goes through them and is converted or refused by name), and the result is built from its checked
fields without ``__init__``; ``tests/interleave/stats/test_update_fast_path.py`` holds both routes
equal.

For wins and losses the pair is exact: each decisive comparison adds +1 or -1, a variable bounded
in [-1, 1] and so 1-sub-Gaussian (Hoeffding), which makes the mixture test valid at every sample
size. Counts may be fractional: probabilistic credit gives an expected outcome ``e`` in [-1, 1]
per impression, which adds ``max(e, 0)`` wins, ``max(-e, 0)`` losses and ``1 - |e|`` ties (as
``interleave.credit`` aggregates). ``v = wins + losses`` then bounds the sum of squared outcomes
from above, and the mixture stays valid because a fair interleaving makes the outcome symmetric
under the null (de la Pena's self-normalised bound). Only the exact sign test needs whole counts.

For the A/B kinds ``se`` is estimated (Bernoulli variance ``p (1 - p) / n`` per arm, as
GrowthBook does; sample variance with ``ddof=1`` for means), so their validity is asymptotic
(Waudby-Smith et al. 2023, asymptotic confidence sequences). A proportion at 0/n or n/n has a
plug-in variance of 0; that arm counts with the largest Bernoulli variance, ``1 / (4 n)``, instead
(so a candidate failing every request against a production that never fails is evidence, not
"no variance"). Likewise a mean whose arm holds one value only (every canary user with a CTR of
0) counts that arm with the sample variance of both arms' values together, not with 0. Until
both arms have trials (two values each, for means) the A/B statistic is 0: no evidence either way.

Ties under ``tie_policy='split'`` count as half a win and half a loss: they add 0 to ``s`` and 1 to
``v`` (a conservative variance), and the effect is the win share ``(wins + ties / 2) / n``. Under
``'drop'`` they are ignored and the effect is the win rate among decisive comparisons.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

import numpy as np

from interleave._slots import new_from_slots, new_slotted, slots_of
from interleave.errors import InvalidArgument
from interleave.stats._core import (
    MAX_COUNT,
    Result,
    amount_increment,
    as_count_array,
    as_real_array,
    check_total,
    count_increment,
    real_increment,
    serialisable,
)

__all__ = ["ArmCounts", "CenteredSum", "TwoMeans", "TwoProportions", "WinLoss", "as_stream"]


def _check_fields(owner: str, **fields: Any) -> None:
    for name, value in fields.items():
        if isinstance(value, np.ndarray):
            if not (
                np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)
            ):
                msg = f"{owner}.{name} must hold numbers, got dtype {value.dtype}"
                raise InvalidArgument(msg)
            if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
                msg = f"{owner}.{name} must be finite, got NaN or infinity"
                raise InvalidArgument(msg)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            msg = (
                f"{owner}.{name} must be a number, got {value!r:.80} of type {type(value).__name__}"
            )
            raise InvalidArgument(msg)
        try:
            finite = math.isfinite(value)
        except OverflowError:
            finite = False
        if not finite:
            msg = f"{owner}.{name} must be finite, got {value!r:.40}"
            raise InvalidArgument(msg)


def _check_counts(owner: str, *, whole: bool, **fields: Any) -> None:
    """Counts: numbers in [0, MAX_COUNT], whole if ``whole``."""
    _check_fields(owner, **fields)
    for name, value in fields.items():
        if type(value) is int or type(value) is float:  # a plain number: no numpy round trip
            negative, too_large, integer = value < 0, value > MAX_COUNT, type(value) is int
        else:
            array = np.asarray(value)
            negative, too_large = np.any(array < 0), np.any(array > MAX_COUNT)
            integer = np.issubdtype(array.dtype, np.integer)
        if negative:
            msg = f"{owner}.{name} must be >= 0, got {value!r:.80}; counts cannot be negative"
            raise InvalidArgument(msg)
        if too_large:
            msg = f"{owner}.{name} must be <= 2**53 (MAX_COUNT), got {value!r:.40}"
            raise InvalidArgument(msg)
        if whole and not integer:
            msg = f"{owner}.{name} must be an integer count, got {value!r:.80}"
            raise InvalidArgument(msg)


def _check_same_kind(left: Any, right: Any) -> None:
    if type(right) is not type(left):
        msg = (
            f"{type(left).__name__}.merge needs another {type(left).__name__}, got "
            f"{type(right).__name__}"
        )
        raise InvalidArgument(msg)


def _merged(left: Any, right: Any) -> Any:
    """The field-by-field sum of two objects of one kind, validated like a fresh object."""
    _check_same_kind(left, right)
    values = {name: getattr(left, name) + getattr(right, name) for name in type(left).__slots__}
    return type(left)(**values)


# ----------------------------------------------------------------------------------- WinLoss


@serialisable("data")
@dataclasses.dataclass(frozen=True, slots=True)
class WinLoss(Result):
    """Interleaving outcomes: comparisons the candidate won, lost, or tied.

    The one win/loss currency: credit aggregates into it, every test of a win rate reads it.
    Counts may be fractional (probabilistic credit: an expected outcome ``e`` in [-1, 1] adds
    ``max(e, 0)`` wins, ``max(-e, 0)`` losses and ``1 - |e|`` ties); the sequential tests, the
    bootstrap and the normal approximations read fractions, only the exact sign test needs whole
    counts (and says so).

    Attributes
    ----------
    n_wins, n_losses, n_ties
        Counts so far (scalars), or running totals per look (arrays).

    Examples
    --------
    >>> WinLoss().update(wins=3, losses=1).update(ties=2)
    WinLoss(n_wins=3, n_losses=1, n_ties=2)
    >>> WinLoss(2, 1) + WinLoss(0.5, 0.25, 0.25)
    WinLoss(n_wins=2.5, n_losses=1.25, n_ties=0.25)
    """

    n_wins: Any = 0
    n_losses: Any = 0
    n_ties: Any = 0

    def __post_init__(self) -> None:
        _check_counts(
            "WinLoss", whole=False, n_wins=self.n_wins, n_losses=self.n_losses, n_ties=self.n_ties
        )

    @property
    def n(self) -> Any:
        """All comparisons, ties included."""
        return self.n_wins + self.n_losses + self.n_ties

    def update(self, wins: float = 0, losses: float = 0, ties: float = 0) -> WinLoss:
        """The counts after ``wins`` more wins, ``losses`` more losses and ``ties`` more ties.

        Increments may be fractional (expected outcomes); each must lie in ``[0, 2**53]``.
        """
        # The hot path: a plain int or float in range is already what amount_increment returns,
        # so only other values (numpy scalars, bools, NaN, negatives) pay for the call.
        if not (type(wins) in _PLAIN and 0 <= wins <= MAX_COUNT):
            wins = amount_increment("wins", wins)
        if not (type(losses) in _PLAIN and 0 <= losses <= MAX_COUNT):
            losses = amount_increment("losses", losses)
        if not (type(ties) in _PLAIN and 0 <= ties <= MAX_COUNT):
            ties = amount_increment("ties", ties)
        n_wins = self.n_wins + wins
        n_losses = self.n_losses + losses
        n_ties = self.n_ties + ties
        if n_wins + n_losses + n_ties > MAX_COUNT:
            check_total("n", n_wins + n_losses + n_ties)
        return _win_loss(n_wins, n_losses, n_ties)

    def merge(self, other: WinLoss) -> WinLoss:
        """The counts of both (e.g. two workers or two days): exact, order-free."""
        return _merged(self, other)

    __add__ = merge

    @classmethod
    def from_outcomes(cls, outcomes: Any) -> WinLoss:
        """Running totals of a stream of outcomes: +1 a win, -1 a loss, 0 a tie.

        Fractional outcomes ``e`` in [-1, 1] (probabilistic credit) count as ``max(e, 0)`` wins,
        ``max(-e, 0)`` losses and ``1 - |e|`` ties.

        Parameters
        ----------
        outcomes
            Shape ``(..., n_steps)``; e.g. ``(n_experiments, n_steps)`` for a simulation study.

        Examples
        --------
        >>> WinLoss.from_outcomes([1, 1, -1, 0]).n_wins
        array([1, 2, 2, 2])
        >>> WinLoss.from_outcomes([0.5, -0.25]).n_ties
        array([0.5 , 1.25])
        """
        array = as_real_array("outcomes", outcomes)
        if np.any(np.abs(array) > 1):
            bad = array[np.abs(array) > 1][0].item()
            msg = (
                f"`outcomes` must lie in [-1, 1] (+1 a win, -1 a loss, 0 a tie, fractions for "
                f"expected outcomes), got {bad!r}"
            )
            raise InvalidArgument(msg)
        if np.issubdtype(array.dtype, np.integer) or np.all(array == np.round(array)):
            wins = np.cumsum(array == 1, axis=-1, dtype=np.int64)
            losses = np.cumsum(array == -1, axis=-1, dtype=np.int64)
            steps = np.arange(1, array.shape[-1] + 1, dtype=np.int64)
            return new_from_slots(cls, wins, losses, steps - wins - losses)
        values = array.astype(np.float64)
        wins_f = np.cumsum(np.maximum(values, 0.0), axis=-1)
        losses_f = np.cumsum(np.maximum(-values, 0.0), axis=-1)
        ties_f = np.cumsum(1.0 - np.abs(values), axis=-1)
        return new_from_slots(cls, wins_f, losses_f, ties_f)

    @classmethod
    def totals(cls, outcomes: Any) -> WinLoss:
        """One scalar ``WinLoss`` holding the totals of a 1-D array of outcomes.

        Examples
        --------
        >>> WinLoss.totals([1, 1, -1, 0])
        WinLoss(n_wins=2, n_losses=1, n_ties=1)
        """
        array = as_real_array("outcomes", outcomes)
        if array.ndim != 1:
            msg = f"`outcomes` must be 1-D (one outcome per comparison), got shape {array.shape}"
            raise InvalidArgument(msg)
        running = cls.from_outcomes(array)
        return cls(*(getattr(running, f)[-1].item() for f in cls.__slots__))

    # The normal-mixture projection ------------------------------------------------------------

    def successes(self, tie_policy: str = "drop") -> tuple[Any, Any]:
        """(successes, trials) of the win-rate binomial under the tie policy (float if split)."""
        if tie_policy == "drop":
            return self.n_wins, self.n_wins + self.n_losses
        return self.n_wins + 0.5 * self.n_ties, self.n_wins + self.n_losses + self.n_ties

    def centred(self, tie_policy: str = "drop") -> tuple[float, float]:
        """``(s, v) = (wins - losses, wins + losses [+ ties if split])`` as floats."""
        v = self.n_wins + self.n_losses
        if tie_policy == "split":
            v += self.n_ties
        return float(self.n_wins - self.n_losses), float(v)

    def centred_arrays(self, tie_policy: str = "drop") -> tuple[np.ndarray, np.ndarray]:
        """``(s, v)`` per look, as float arrays."""
        v = self.n_wins + self.n_losses
        if tie_policy == "split":
            v = v + self.n_ties
        return np.asarray(self.n_wins - self.n_losses, dtype=float), np.asarray(v, dtype=float)

    def effect_scale(self, tie_policy: str = "drop") -> Any:
        """``c = 1``: one comparison scores +1 / -1, its mean is ``Delta = 2 p - 1``."""
        if isinstance(self.n_wins, np.ndarray):
            return np.ones(self.n_wins.shape)
        return 1.0

    def centred_with_scale(self, tie_policy: str = "drop") -> tuple[float, float, float]:
        """``centred()`` and ``effect_scale()`` together (Johari's look reads both)."""
        v = self.n_wins + self.n_losses
        if tie_policy == "split":
            v += self.n_ties
        return float(self.n_wins - self.n_losses), float(v), 1.0

    def effect_interval(self, halfwidth: float, tie_policy: str = "drop") -> tuple[float, float]:
        """The win-rate (win share if split) interval for a half-width on ``s``."""
        s, v = self.centred(tie_policy)
        if v == 0:
            return 0.0, 1.0
        return max(0.0, 0.5 + (s - halfwidth) / (2 * v)), min(1.0, 0.5 + (s + halfwidth) / (2 * v))


# ----------------------------------------------------------------------------- A/B: shared


class _DifferenceOfMeans(Result):
    """What the A/B kinds share: the normal-mixture inputs of a difference ``b - a``.

    A kind provides ``moments()`` (difference and its variance, now) and ``moments_arrays()``
    (the same per look); the mixture reads the standardised difference scaled by ``sqrt(n)``,
    so ``v = n``.
    """

    __slots__ = ()

    def centred(self, tie_policy: str = "drop") -> tuple[float, float]:
        """``(s, v) = (z sqrt(n), n)``; ``s = 0`` until both arms have a positive variance."""
        difference, variance = self.moments()
        n = float(self.n)
        if variance > 0:
            return difference * math.sqrt(n / variance), n
        return 0.0, n

    def centred_arrays(self, tie_policy: str = "drop") -> tuple[np.ndarray, np.ndarray]:
        """``(s, v)`` per look, as float arrays."""
        difference, variance = self.moments_arrays()
        n = np.asarray(self.n, dtype=float)
        variance = np.asarray(variance, dtype=float)
        positive = variance > 0
        safe = np.where(positive, variance, 1.0)
        s = np.where(positive, difference / np.sqrt(safe) * np.sqrt(n), 0.0)
        return s, n

    def effect_scale(self, tie_policy: str = "drop") -> Any:
        """``c = se sqrt(n)``: the difference is ``c s / v`` (``c = 0`` without a variance)."""
        if isinstance(self.n, np.ndarray):
            _, variance = self.moments_arrays()
            return np.sqrt(np.asarray(variance, dtype=float) * np.asarray(self.n, dtype=float))
        _, variance = self.moments()
        return math.sqrt(variance * float(self.n))

    def centred_with_scale(self, tie_policy: str = "drop") -> tuple[float, float, float]:
        """``centred()`` and ``effect_scale()`` from one ``moments()`` (the Johari look)."""
        difference, variance = self.moments()
        n = float(self.n)
        if variance > 0:
            return difference * math.sqrt(n / variance), n, math.sqrt(variance * n)
        return 0.0, n, math.sqrt(variance * n)

    def effect_interval(self, halfwidth: float, tie_policy: str = "drop") -> tuple[float, float]:
        """The interval for ``b - a`` for a half-width on ``s`` (unbounded without a variance)."""
        difference, variance = self.moments()
        n = float(self.n)
        if not variance > 0 or n == 0:
            return -math.inf, math.inf
        margin = halfwidth * math.sqrt(variance) / math.sqrt(n)
        return difference - margin, difference + margin


# ---------------------------------------------------------------------------- TwoProportions


@serialisable("data")
@dataclasses.dataclass(frozen=True, slots=True)
class TwoProportions(_DifferenceOfMeans):
    """A/B conversions: successes and trials per arm (``a`` production, ``b`` candidate).

    Examples
    --------
    >>> TwoProportions().update(successes_a=1000, trials_a=10000, successes_b=1100, trials_b=10000)
    TwoProportions(n_successes_a=1000, n_trials_a=10000, n_successes_b=1100, n_trials_b=10000)
    """

    n_successes_a: Any = 0
    n_trials_a: Any = 0
    n_successes_b: Any = 0
    n_trials_b: Any = 0

    def __post_init__(self) -> None:
        fields = {f: getattr(self, f) for f in self.__slots__}
        _check_counts("TwoProportions", whole=True, **fields)
        for arm in "ab":
            if np.any(
                np.asarray(fields[f"n_successes_{arm}"]) > np.asarray(fields[f"n_trials_{arm}"])
            ):
                msg = (
                    f"TwoProportions.n_successes_{arm} ({fields[f'n_successes_{arm}']!r}) exceeds "
                    f"n_trials_{arm} ({fields[f'n_trials_{arm}']!r}); a success is also a trial"
                )
                raise InvalidArgument(msg)

    @property
    def n(self) -> Any:
        """Trials in both arms."""
        return self.n_trials_a + self.n_trials_b

    def update(
        self, successes_a: int = 0, trials_a: int = 0, successes_b: int = 0, trials_b: int = 0
    ) -> TwoProportions:
        """The counts after ``successes_a`` of ``trials_a`` and ``successes_b`` of ``trials_b``."""
        # The hot path: a plain int in range is what count_increment returns; only other values
        # pay for the call (which converts them or names the argument).
        s_a, t_a, s_b, t_b = successes_a, trials_a, successes_b, trials_b
        if not (type(s_a) is int and 0 <= s_a <= MAX_COUNT):
            s_a = count_increment("successes_a", s_a)
        if not (type(t_a) is int and 0 <= t_a <= MAX_COUNT):
            t_a = count_increment("trials_a", t_a)
        if not (type(s_b) is int and 0 <= s_b <= MAX_COUNT):
            s_b = count_increment("successes_b", s_b)
        if not (type(t_b) is int and 0 <= t_b <= MAX_COUNT):
            t_b = count_increment("trials_b", t_b)
        if s_a > t_a or s_b > t_b:
            msg = (
                f"successes cannot exceed trials in one update, got successes_a={s_a}, "
                f"trials_a={t_a}, successes_b={s_b}, trials_b={t_b}"
            )
            raise InvalidArgument(msg)
        trials_total = self.n_trials_a + t_a + self.n_trials_b + t_b
        if trials_total > MAX_COUNT:
            check_total("n", trials_total)
        return _two_proportions(
            self.n_successes_a + s_a,
            self.n_trials_a + t_a,
            self.n_successes_b + s_b,
            self.n_trials_b + t_b,
        )

    def merge(self, other: TwoProportions) -> TwoProportions:
        """The counts of both (e.g. two workers or two days): exact, order-free."""
        return _merged(self, other)

    __add__ = merge

    @classmethod
    def from_observations(cls, arm: Any, success: Any) -> TwoProportions:
        """Running totals of a stream of users: ``arm`` 0 (a) or 1 (b), ``success`` 0 or 1.

        Examples
        --------
        >>> TwoProportions.from_observations([0, 1, 1], [1, 0, 1]).n_successes_b
        array([0, 0, 1])
        """
        arm_array = _binary("arm", arm)
        success_array = _binary("success", success)
        if arm_array.shape != success_array.shape:
            msg = (
                f"`arm` and `success` must have the same shape, got {arm_array.shape} and "
                f"{success_array.shape}"
            )
            raise InvalidArgument(msg)
        trials_b = np.cumsum(arm_array, axis=-1, dtype=np.int64)
        trials_a = np.arange(1, arm_array.shape[-1] + 1, dtype=np.int64) - trials_b
        successes = np.cumsum(success_array, axis=-1, dtype=np.int64)
        successes_b = np.cumsum(arm_array & success_array, axis=-1, dtype=np.int64)
        return new_from_slots(cls, successes - successes_b, trials_a, successes_b, trials_b)

    def moments_arrays(self) -> tuple[Any, Any]:
        """Per look: ``p_b - p_a`` and its variance (0 until both arms have trials)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            p_a, var_a = _arm_moments(self.n_successes_a, self.n_trials_a)
            p_b, var_b = _arm_moments(self.n_successes_b, self.n_trials_b)
        both = (np.asarray(self.n_trials_a) > 0) & (np.asarray(self.n_trials_b) > 0)
        return np.where(both, p_b - p_a, 0.0), np.where(both, var_a + var_b, 0.0)

    def moments(self) -> tuple[float, float]:
        """``p_b - p_a`` and its (unpooled) variance; ``(0, 0)`` until both arms have trials.

        Each arm adds ``p (1 - p) / n``, or ``1 / (4 n)`` when it sits at 0/n or n/n (see
        :func:`_arm_moments`), so the variance is positive once both arms have trials.

        Examples
        --------
        >>> TwoProportions(0, 100, 10, 10).moments()  # every candidate trial failed, none before
        (1.0, 0.0275)
        """
        n_a, n_b = self.n_trials_a, self.n_trials_b
        if n_a == 0 or n_b == 0:
            return 0.0, 0.0
        x_a, x_b = self.n_successes_a, self.n_successes_b
        p_a, p_b = x_a / n_a, x_b / n_b
        var_a = p_a * (1 - p_a) / n_a if 0 < x_a < n_a else 0.25 / n_a
        var_b = p_b * (1 - p_b) / n_b if 0 < x_b < n_b else 0.25 / n_b
        return p_b - p_a, var_a + var_b

    def effect_interval(self, halfwidth: float, tie_policy: str = "drop") -> tuple[float, float]:
        """The interval for ``p_b - p_a``, cut to ``[-1, 1]`` (where the difference lives)."""
        low, high = _DifferenceOfMeans.effect_interval(self, halfwidth, tie_policy)
        return max(low, -1.0), min(high, 1.0)


def _arm_moments(successes: Any, trials: Any) -> tuple[Any, Any]:
    """One arm's rate ``p`` and the variance of its estimate, per look (arrays).

    Inside (``0 < x < n``): the Bernoulli variance ``p (1 - p) / n`` with ddof=0, as GrowthBook.
    At the boundary (``x = 0`` or ``x = n``) that plug-in is 0, which would make a comparison of
    0/n with n/n look like no evidence at all (the Wald interval's collapse: Brown, Cai &
    DasGupta 2001, Statistical Science 16(2): 101-133) and an arm at 1/1 look infinitely
    precise. Its variance is unknown there, so the arm counts with the largest one a 0/1 outcome
    can have, ``1/4`` per trial (Hoeffding 1963: a variable in [0, 1] is 1/2-sub-Gaussian). The
    rate itself stays ``x / n``. Measured on seeded A/A streams (2,000 x 2,000, mixture SPRT
    n_opt=1000): a 5% arm at p = 0.01 rejected in 61% of them with the plug-in 0 and in none with
    this; balanced arms at p = 0.1 moved from 0.022 to 0.0215 (tests/interleave/stats).
    """
    successes = np.asarray(successes)
    trials = np.asarray(trials)
    p = np.divide(successes, trials)
    inside = (successes > 0) & (successes < trials)
    return p, np.where(inside, p * (1 - p), 0.25) / trials


def _binary(name: str, values: Any) -> np.ndarray:
    array = as_real_array(name, values)
    if not np.all((array == 0) | (array == 1)):
        msg = (
            f"`{name}` must hold 0 or 1 (booleans are fine), got values such as "
            f"{array[(array != 0) & (array != 1)][0].item()!r}"
        )
        raise InvalidArgument(msg)
    return array.astype(np.int64)


# --------------------------------------------------------------------------------- TwoMeans

_FLOAT_MAX = sys.float_info.max  # a finite float is at most this: the hot paths' range test


def _finite_sum(name: str, total: float) -> float:
    if not math.isfinite(total):
        msg = f"the running total `{name}` overflows a float (got {total!r}); rescale the metric"
        raise InvalidArgument(msg)
    return total


@serialisable("data")
@dataclasses.dataclass(frozen=True, slots=True)
class TwoMeans(_DifferenceOfMeans):
    """A/B metric with a mean: per arm the count, the sum and the sum of squares.

    Examples
    --------
    >>> TwoMeans().update(n_a=2, sum_a=3.0, sum_squares_a=5.0)
    TwoMeans(n_a=2, sum_a=3.0, sum_squares_a=5.0, n_b=0, sum_b=0.0, sum_squares_b=0.0)
    """

    n_a: Any = 0
    sum_a: Any = 0.0
    sum_squares_a: Any = 0.0
    n_b: Any = 0
    sum_b: Any = 0.0
    sum_squares_b: Any = 0.0

    def __post_init__(self) -> None:
        fields = {f: getattr(self, f) for f in self.__slots__}
        _check_fields("TwoMeans", **fields)
        _check_counts("TwoMeans", whole=True, n_a=self.n_a, n_b=self.n_b)
        for name in ("sum_squares_a", "sum_squares_b"):
            if np.any(np.asarray(fields[name]) < 0):
                msg = f"TwoMeans.{name} must be >= 0, got {fields[name]!r:.80}"
                raise InvalidArgument(msg)

    @property
    def n(self) -> Any:
        """Observations in both arms."""
        return self.n_a + self.n_b

    def update(
        self,
        n_a: int = 0,
        sum_a: float = 0.0,
        sum_squares_a: float = 0.0,
        n_b: int = 0,
        sum_b: float = 0.0,
        sum_squares_b: float = 0.0,
    ) -> TwoMeans:
        """The totals after adding ``n_a`` observations summing to ``sum_a`` (and so on)."""
        # The hot path: a plain int count in range and plain finite floats (``x - x == 0.0``
        # fails for inf and NaN) are what count_increment and real_increment return; only other
        # values (ints for sums, numpy scalars, NaN, negatives) pay for the calls.
        if not (type(n_a) is int and 0 <= n_a <= MAX_COUNT):
            n_a = count_increment("n_a", n_a)
        if not (type(n_b) is int and 0 <= n_b <= MAX_COUNT):
            n_b = count_increment("n_b", n_b)
        count_a = self.n_a + n_a
        count_b = self.n_b + n_b
        if count_a + count_b > MAX_COUNT:
            check_total("n", count_a + count_b)
        if not (type(sum_a) is float and sum_a - sum_a == 0.0):
            sum_a = real_increment("sum_a", sum_a)
        if not (type(sum_squares_a) is float and 0.0 <= sum_squares_a <= _FLOAT_MAX):
            sum_squares_a = real_increment("sum_squares_a", sum_squares_a, non_negative=True)
        if not (type(sum_b) is float and sum_b - sum_b == 0.0):
            sum_b = real_increment("sum_b", sum_b)
        if not (type(sum_squares_b) is float and 0.0 <= sum_squares_b <= _FLOAT_MAX):
            sum_squares_b = real_increment("sum_squares_b", sum_squares_b, non_negative=True)
        total_a = self.sum_a + sum_a
        squares_a = self.sum_squares_a + sum_squares_a
        total_b = self.sum_b + sum_b
        squares_b = self.sum_squares_b + sum_squares_b
        if (total_a + squares_a + total_b + squares_b) * 0.0 != 0.0:  # an overflow to inf (or nan)
            _finite_sum("sum_a", total_a)
            _finite_sum("sum_squares_a", squares_a)
            _finite_sum("sum_b", total_b)
            _finite_sum("sum_squares_b", squares_b)
        return _two_means(count_a, total_a, squares_a, count_b, total_b, squares_b)

    def merge(self, other: TwoMeans) -> TwoMeans:
        """The totals of both (e.g. two workers or two days): exact up to float addition."""
        return _merged(self, other)

    __add__ = merge

    @classmethod
    def from_observations(cls, arm: Any, value: Any) -> TwoMeans:
        """Running totals of a stream of users: ``arm`` 0 (a) or 1 (b) and the metric ``value``.

        Examples
        --------
        >>> TwoMeans.from_observations([0, 1, 1], [2.0, 1.0, 3.0]).sum_b
        array([0., 1., 4.])
        """
        arm_array = _binary("arm", arm).astype(bool)
        values = as_real_array("value", value).astype(float)
        if arm_array.shape != values.shape:
            msg = (
                f"`arm` and `value` must have the same shape, got {arm_array.shape} and "
                f"{values.shape}"
            )
            raise InvalidArgument(msg)
        n_b = np.cumsum(arm_array, axis=-1, dtype=np.int64)
        n_a = np.arange(1, arm_array.shape[-1] + 1, dtype=np.int64) - n_b
        in_b = np.where(arm_array, values, 0.0)
        in_a = values - in_b
        with np.errstate(over="ignore"):
            fields = (
                np.cumsum(in_a, axis=-1),
                np.cumsum(in_a * in_a, axis=-1),
                np.cumsum(in_b, axis=-1),
                np.cumsum(in_b * in_b, axis=-1),
            )
        if not all(np.all(np.isfinite(f)) for f in fields):
            msg = "`value` is too large: its running sums of squares overflow a float; rescale it"
            raise InvalidArgument(msg)
        return new_from_slots(cls, n_a, fields[0], fields[1], n_b, fields[2], fields[3])

    def moments_arrays(self) -> tuple[Any, Any]:
        """Per look: ``mean_b - mean_a`` and its variance (0 until each arm has two values)."""
        # Sample variance with ddof=1 per arm; needs two observations in each arm.
        n_a = np.asarray(self.n_a, dtype=float)
        n_b = np.asarray(self.n_b, dtype=float)
        ok = (n_a >= 2) & (n_b >= 2)
        safe_a = np.where(ok, n_a, 2.0)
        safe_b = np.where(ok, n_b, 2.0)
        mean_a = self.sum_a / safe_a
        mean_b = self.sum_b / safe_b
        with np.errstate(over="ignore", invalid="ignore"):
            centred_a = np.maximum(self.sum_squares_a - safe_a * mean_a**2, 0.0)
            centred_b = np.maximum(self.sum_squares_b - safe_b * mean_b**2, 0.0)
            var_a = centred_a / (safe_a - 1)
            var_b = centred_b / (safe_b - 1)
            # An arm whose values are all equal (to rounding) has no variance estimate: it counts
            # with the variance of both arms together (see moments()).
            flat_a = centred_a <= _FLAT * self.sum_squares_a
            flat_b = centred_b <= _FLAT * self.sum_squares_b
            n = safe_a + safe_b
            grand = (self.sum_a + self.sum_b) / n
            total = self.sum_squares_a + self.sum_squares_b
            pooled = np.maximum(total - n * grand**2, 0.0) / (n - 1)
            var_a = np.where(flat_a, pooled, var_a)
            var_b = np.where(flat_b, pooled, var_b)
            variance = var_a / safe_a + var_b / safe_b
        variance = np.where(np.isfinite(variance), variance, 0.0)
        return np.where(ok, mean_b - mean_a, 0.0), np.where(ok, variance, 0.0)

    def moments(self) -> tuple[float, float]:
        """``mean_b - mean_a`` and its variance; ``(0, 0)`` until each arm has two values.

        Each arm adds its sample variance (ddof=1) over its size. An arm whose values are all
        equal has a sample variance of 0, which says nothing about the metric's spread (five
        canary users who all had a CTR of 0) and would make any difference look infinitely
        precise; that arm counts with the sample variance of both arms' values together, the
        variance under the null hypothesis that the arms do not differ (as a permutation test
        reads it; for 0/1 values, the pooled ``p (1 - p)``).

        Examples
        --------
        >>> difference, variance = TwoMeans(5, 0.0, 0.0, 5, 5.0, 5.0).moments()  # 0s vs 1s
        >>> difference, round(variance, 6)  # each arm: the pooled 2.5 / 9, over 5
        (1.0, 0.111111)
        """
        n_a, n_b = self.n_a, self.n_b
        if n_a < 2 or n_b < 2:
            return 0.0, 0.0
        squares_a, squares_b = self.sum_squares_a, self.sum_squares_b
        mean_a = self.sum_a / n_a
        mean_b = self.sum_b / n_b
        try:
            # Clipped at 0 (rounding can make them negative); `if` rather than max(): the update
            # hot path reads this on every look.
            centred_a = squares_a - n_a * mean_a * mean_a
            if centred_a < 0.0:
                centred_a = 0.0
            centred_b = squares_b - n_b * mean_b * mean_b
            if centred_b < 0.0:
                centred_b = 0.0
            var_a = centred_a / (n_a - 1)
            var_b = centred_b / (n_b - 1)
            if centred_a <= _FLAT * squares_a or centred_b <= _FLAT * squares_b:
                n = n_a + n_b
                grand = (self.sum_a + self.sum_b) / n
                total = squares_a + squares_b
                pooled = max(total - n * grand * grand, 0.0) / (n - 1)
                if centred_a <= _FLAT * squares_a:
                    var_a = pooled
                if centred_b <= _FLAT * squares_b:
                    var_b = pooled
        except OverflowError:  # pragma: no cover - floats give inf, not OverflowError
            return mean_b - mean_a, 0.0
        variance = var_a / n_a + var_b / n_b
        return mean_b - mean_a, variance if math.isfinite(variance) else 0.0


# A centred sum of squares this small against the raw one is rounding: the values are all equal.
# (Cancellation in sum(x^2) - n mean^2 leaves ~1e-16 of sum(x^2); real spread is far above 1e-12.)
_FLAT = 1e-12


# ------------------------------------------------------------------------------ CenteredSum


@serialisable("data")
@dataclasses.dataclass(frozen=True, slots=True)
class CenteredSum(Result):
    """Any statistic centred under the null hypothesis: its running total and variance.

    The generic input of the normal-mixture core: feed increments whose mean is 0 under the null
    and whose variances add up to ``variance`` (e.g. per-query credit minus its null mean). The
    effect reported by intervals is the drift per unit of variance, ``total / variance``; the
    mean effect of one observation is ``total / n``.

    Examples
    --------
    >>> CenteredSum().update(total=1.5, variance=2.0)
    CenteredSum(n=1, total=1.5, variance=2.0)
    """

    n: Any = 0
    total: Any = 0.0
    variance: Any = 0.0

    def __post_init__(self) -> None:
        _check_fields("CenteredSum", total=self.total, variance=self.variance)
        _check_counts("CenteredSum", whole=True, n=self.n)
        if np.any(np.asarray(self.variance) < 0):
            msg = f"CenteredSum.variance must be >= 0, got {self.variance!r:.80}"
            raise InvalidArgument(msg)

    def update(self, total: float = 0.0, variance: float = 0.0, n: int = 1) -> CenteredSum:
        """The running sums after ``n`` more observations adding ``total`` and ``variance``."""
        # The hot path: plain finite floats and a plain int count in range are what
        # real_increment and count_increment return; only other values pay for the calls.
        if not (type(total) is float and total - total == 0.0):
            total = real_increment("total", total)
        if not (type(variance) is float and 0.0 <= variance <= _FLOAT_MAX):
            variance = real_increment("variance", variance, non_negative=True)
        new_total = self.total + total
        new_variance = self.variance + variance
        if not (math.isfinite(new_total) and math.isfinite(new_variance)):
            _finite_sum("total", new_total)
            _finite_sum("variance", new_variance)
        if not (type(n) is int and 0 <= n <= MAX_COUNT):
            n = count_increment("n", n)
        new_n = self.n + n
        if new_n > MAX_COUNT:
            check_total("n", new_n)
        return _centered_sum(new_n, new_total, new_variance)

    def merge(self, other: CenteredSum) -> CenteredSum:
        """The sums of both (e.g. two workers or two days): exact up to float addition."""
        return _merged(self, other)

    __add__ = merge

    @classmethod
    def from_increments(cls, total: Any, variance: Any) -> CenteredSum:
        """Running totals of per-step increments (shape ``(..., n_steps)`` each).

        Examples
        --------
        >>> CenteredSum.from_increments([1.0, -1.0], [1.0, 1.0]).total
        array([1., 0.])
        """
        totals = as_real_array("total", total).astype(float)
        variances = as_real_array("variance", variance).astype(float)
        if np.any(variances < 0):
            msg = f"`variance` must be >= 0, got a minimum of {variances.min().item()!r}"
            raise InvalidArgument(msg)
        try:
            totals, variances = np.broadcast_arrays(totals, variances)
        except ValueError:
            msg = (
                f"`total` and `variance` must broadcast to one shape, got {totals.shape} and "
                f"{variances.shape}"
            )
            raise InvalidArgument(msg) from None
        n = np.broadcast_to(np.arange(1, totals.shape[-1] + 1, dtype=np.int64), totals.shape)
        with np.errstate(over="ignore"):
            running = np.cumsum(totals, axis=-1), np.cumsum(variances, axis=-1)
        if not (np.all(np.isfinite(running[0])) and np.all(np.isfinite(running[1]))):
            msg = "`total` or `variance` is too large: its running sum overflows a float"
            raise InvalidArgument(msg)
        return new_from_slots(cls, n, running[0], running[1])

    def centred(self, tie_policy: str = "drop") -> tuple[float, float]:
        """``(s, v) = (total, variance)`` as floats."""
        return float(self.total), float(self.variance)

    def centred_arrays(self, tie_policy: str = "drop") -> tuple[np.ndarray, np.ndarray]:
        """``(s, v)`` per look, as float arrays."""
        return np.asarray(self.total, dtype=float), np.asarray(self.variance, dtype=float)

    def effect_scale(self, tie_policy: str = "drop") -> Any:
        """``c = variance / n``: the mean per observation ``total / n`` is ``c s / v``."""
        if isinstance(self.n, np.ndarray):
            n = np.asarray(self.n, dtype=float)
            return np.divide(self.variance, n, out=np.zeros(n.shape), where=n > 0)
        return float(self.variance) / self.n if self.n else 0.0

    def centred_with_scale(self, tie_policy: str = "drop") -> tuple[float, float, float]:
        """``centred()`` and ``effect_scale()`` together (Johari's look reads both)."""
        return float(self.total), float(self.variance), self.effect_scale(tie_policy)

    def effect_interval(self, halfwidth: float, tie_policy: str = "drop") -> tuple[float, float]:
        """The interval for ``total / variance`` for a half-width on ``s``."""
        if self.variance == 0:
            return -math.inf, math.inf
        return (self.total - halfwidth) / self.variance, (self.total + halfwidth) / self.variance


# -------------------------------------------------------------------------------- ArmCounts


@serialisable("data")
@dataclasses.dataclass(frozen=True, slots=True)
class ArmCounts(Result):
    """Users assigned to each arm, for sample-ratio checks.

    Attributes
    ----------
    n_assigned
        A tuple of counts, one per arm (or an array ``(..., n_steps, n_arms)`` of running totals,
        as :meth:`from_increments` builds).

    Examples
    --------
    >>> ArmCounts((0, 0)).update(counts=(5000, 5000)).n
    10000
    """

    n_assigned: Any = (0, 0)

    def __post_init__(self) -> None:
        value = self.n_assigned
        if isinstance(value, np.ndarray) and value.ndim >= 2:
            array = as_count_array("n_assigned", value)
            if array.shape[-1] < 2:
                msg = f"ArmCounts needs at least two arms, got shape {array.shape}"
                raise InvalidArgument(msg)
            object.__setattr__(self, "n_assigned", array)
            return
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            msg = (
                f"ArmCounts.n_assigned must be a sequence of per-arm counts such as (500, 500), "
                f"got {value!r:.80}"
            )
            raise InvalidArgument(msg)
        counts = tuple(value)
        if len(counts) < 2:
            msg = f"ArmCounts needs at least two arms, got n_assigned={value!r:.80}"
            raise InvalidArgument(msg)
        checked = tuple(count_increment(f"n_assigned[{i}]", c) for i, c in enumerate(counts))
        check_total("n", sum(checked))
        object.__setattr__(self, "n_assigned", checked)

    @property
    def n(self) -> Any:
        """Users in all arms."""
        if isinstance(self.n_assigned, np.ndarray):
            return self.n_assigned.sum(axis=-1)
        return sum(self.n_assigned)

    def update(self, counts: Any) -> ArmCounts:
        """The counts after ``counts[i]`` more users in arm ``i``."""
        totals = self.n_assigned
        if isinstance(counts, (str, bytes)) or not hasattr(counts, "__len__"):
            msg = (
                f"`counts` must be a sequence with one count per arm ({len(totals)}), such as "
                f"(5, 3); got {counts!r:.80}"
            )
            raise InvalidArgument(msg)
        if len(counts) != len(totals):
            msg = f"`counts` must have one entry per arm ({len(totals)}), got {counts!r:.80}"
            raise InvalidArgument(msg)
        if len(totals) == 2:  # the common A/B case, without the generic loop
            first, second = counts
            # Plain ints in range are what count_increment returns: only others pay the call.
            if not (type(first) is int and 0 <= first <= MAX_COUNT):
                first = count_increment("counts[0]", first)
            if not (type(second) is int and 0 <= second <= MAX_COUNT):
                second = count_increment("counts[1]", second)
            new: tuple[int, ...] = (totals[0] + first, totals[1] + second)
        else:
            new = tuple(
                total + count_increment(f"counts[{i}]", c)
                for i, (total, c) in enumerate(zip(totals, counts, strict=True))
            )
        if sum(new) > MAX_COUNT:
            check_total("n", sum(new))
        return _arm_counts(new)

    def merge(self, other: ArmCounts) -> ArmCounts:
        """The counts of both (e.g. two workers or two days): exact, order-free."""
        _check_same_kind(self, other)
        if isinstance(self.n_assigned, np.ndarray) or isinstance(other.n_assigned, np.ndarray):
            return ArmCounts(np.asarray(self.n_assigned) + np.asarray(other.n_assigned))
        if len(other.n_assigned) != len(self.n_assigned):
            msg = (
                f"cannot merge ArmCounts of {len(self.n_assigned)} and {len(other.n_assigned)} arms"
            )
            raise InvalidArgument(msg)
        pairs = zip(self.n_assigned, other.n_assigned, strict=True)
        return ArmCounts(tuple(a + b for a, b in pairs))

    __add__ = merge

    @classmethod
    def from_increments(cls, counts: Any) -> ArmCounts:
        """Running totals of per-look increments, shape ``(..., n_steps, n_arms)``.

        Examples
        --------
        >>> ArmCounts.from_increments([[5000, 5000], [5050, 4950]]).n_assigned.tolist()
        [[5000, 5000], [10050, 9950]]
        """
        array = as_count_array("counts", counts)
        if array.ndim < 2 or array.shape[-1] < 2:
            msg = (
                "`counts` must have shape (..., n_steps, n_arms) with n_arms >= 2, got "
                f"{array.shape}"
            )
            raise InvalidArgument(msg)
        running = np.cumsum(array, axis=-2)
        if np.any(running.sum(axis=-1) > MAX_COUNT):
            msg = "`counts` add up to more than 2**53 (MAX_COUNT) users"
            raise InvalidArgument(msg)
        return new_from_slots(cls, running)


# ------------------------------------------------------------------------------- streams


def as_stream(stream: Any, kinds: tuple[type, ...], test: str) -> Any:
    """The stream as a data object with array fields; a plain array means win/loss outcomes."""
    if isinstance(stream, kinds):
        first = getattr(stream, type(stream).__slots__[0])
        if not isinstance(first, np.ndarray):
            msg = (
                f"{test}.evaluate needs running totals per look (array fields), got {stream!r}; "
                f"build them with {type(stream).__name__}.from_* "
                "or use start().update(...) for one look"
            )
            raise InvalidArgument(msg)
        return stream
    if WinLoss in kinds and not dataclasses.is_dataclass(stream):
        return WinLoss.from_outcomes(stream)
    names = ", ".join(k.__name__ for k in kinds)
    msg = (
        f"{test}.evaluate reads one of {{{names}}} (or an array of +1/-1/0 outcomes), got "
        f"{type(stream).__name__}"
    )
    raise InvalidArgument(msg)


# ------------------------------------------------------------- constructors for the hot path

# Each kind's ``update`` builds its result from increments it has just checked added to totals
# that were valid: nothing for ``__post_init__`` to find. These build it without ``__init__``
# (interleave._slots).
_PLAIN = frozenset((int, float))
_WIN_LOSS_SLOTS = slots_of(WinLoss)
_TWO_PROPORTIONS_SLOTS = slots_of(TwoProportions)
_TWO_MEANS_SLOTS = slots_of(TwoMeans)
_CENTERED_SUM_SLOTS = slots_of(CenteredSum)
_ARM_COUNTS_SLOTS = slots_of(ArmCounts)


def _win_loss(n_wins: Any, n_losses: Any, n_ties: Any) -> WinLoss:
    return new_slotted(WinLoss, _WIN_LOSS_SLOTS, n_wins, n_losses, n_ties)


def _two_proportions(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> Any:
    return new_slotted(
        TwoProportions, _TWO_PROPORTIONS_SLOTS, successes_a, trials_a, successes_b, trials_b
    )


def _two_means(
    n_a: int, sum_a: float, sum_squares_a: float, n_b: int, sum_b: float, sum_squares_b: float
) -> TwoMeans:
    return new_slotted(
        TwoMeans, _TWO_MEANS_SLOTS, n_a, sum_a, sum_squares_a, n_b, sum_b, sum_squares_b
    )


def _centered_sum(n: int, total: float, variance: float) -> CenteredSum:
    return new_slotted(CenteredSum, _CENTERED_SUM_SLOTS, n, total, variance)


def _arm_counts(n_assigned: tuple[int, ...]) -> ArmCounts:
    return new_slotted(ArmCounts, _ARM_COUNTS_SLOTS, n_assigned)
