"""Sufficient statistics: the data every test in :mod:`interleave.stats` reads.

Each kind is a frozen dataclass of counts and sums that adds up: ``update`` returns a new object
with the increments added, so updating in one batch or in many gives the same object. Fields are
scalars for a live experiment, or arrays of running totals (last axis = looks) for a simulated
stream, built by the ``from_*`` constructors with cumulative sums (no Python loop).

Each kind also projects itself onto the one pair the normal-mixture core reads
(:mod:`interleave.stats.mixture`): a sum ``s`` of statistics centred under the null hypothesis and
its variance (information) ``v``, in units where one observation carries variance about 1:

============== ================= ================================ ================
kind           ``s``             ``v``                            effect
============== ================= ================================ ================
WinLoss        wins - losses     wins + losses (+ ties if split)  win rate
TwoProportions ``z * sqrt(v)``   n_trials_a + n_trials_b          p_b - p_a
TwoMeans       ``z * sqrt(v)``   n_a + n_b                        mean_b - mean_a
CenteredSum    total             variance                         total / variance
============== ================= ================================ ================

where ``z = difference / se`` is the A/B z statistic.

For wins and losses the pair is exact: each decisive comparison adds +1 or -1, a variable bounded
in [-1, 1] and so 1-sub-Gaussian (Hoeffding), which makes the mixture test valid at every sample
size. For the A/B kinds ``se`` is estimated (Bernoulli variance ``p (1 - p) / n`` per arm, as
GrowthBook does; sample variance with ``ddof=1`` for means), so their validity is asymptotic
(Waudby-Smith et al. 2023, asymptotic confidence sequences). Until both arms have a positive
estimated variance the A/B statistic is 0: no evidence either way.

Ties under ``tie_policy='split'`` count as half a win and half a loss: they add 0 to ``s`` and 1 to
``v`` (a conservative variance), and the effect is the win share ``(wins + ties / 2) / n``. Under
``'drop'`` they are ignored and the effect is the win rate among decisive comparisons.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from interleave.errors import InvalidArgument
from interleave.stats._core import (
    _Result,
    as_count_array,
    as_real_array,
    count_increment,
    real_increment,
)

__all__ = ["ArmCounts", "CenteredSum", "TwoMeans", "TwoProportions", "WinLoss"]


def _fast(cls: type, *values: Any) -> Any:
    # Skip __init__ validation on the hot path: increments were checked, sums of valid data are
    # valid. object.__setattr__ is how frozen dataclasses set their own fields.
    obj = object.__new__(cls)
    setattr_ = object.__setattr__
    for name, value in zip(cls.__slots__, values):  # noqa: B905 (lengths match by construction)
        setattr_(obj, name, value)
    return obj


def _check_fields(owner: str, **fields: Any) -> None:
    for name, value in fields.items():
        if isinstance(value, np.ndarray):
            if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
                msg = f"{owner}.{name} must be finite, got NaN or infinity"
                raise InvalidArgument(msg)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            msg = f"{owner}.{name} must be a number, got {value!r} of type {type(value).__name__}"
            raise InvalidArgument(msg)
        if not math.isfinite(value):
            msg = f"{owner}.{name} must be finite, got {value!r}"
            raise InvalidArgument(msg)


def _check_non_negative(owner: str, **fields: Any) -> None:
    for name, value in fields.items():
        if np.any(np.asarray(value) < 0):
            msg = f"{owner}.{name} must be >= 0, got {value!r}; counts cannot be negative"
            raise InvalidArgument(msg)


def _check_whole(owner: str, **fields: Any) -> None:
    for name, value in fields.items():
        array = np.asarray(value)
        if not np.issubdtype(array.dtype, np.integer):
            msg = f"{owner}.{name} must be an integer count, got {value!r}"
            raise InvalidArgument(msg)


# ----------------------------------------------------------------------------------- WinLoss


@dataclasses.dataclass(frozen=True, slots=True)
class WinLoss(_Result):
    """Interleaving outcomes: comparisons the candidate won, lost, or tied.

    Attributes
    ----------
    n_wins, n_losses, n_ties
        Counts so far (scalars), or running totals per look (arrays).

    Examples
    --------
    >>> WinLoss().update(wins=3, losses=1).update(ties=2)
    WinLoss(n_wins=3, n_losses=1, n_ties=2)
    """

    n_wins: Any = 0
    n_losses: Any = 0
    n_ties: Any = 0

    def __post_init__(self) -> None:
        _check_whole("WinLoss", n_wins=self.n_wins, n_losses=self.n_losses, n_ties=self.n_ties)
        _check_non_negative(
            "WinLoss", n_wins=self.n_wins, n_losses=self.n_losses, n_ties=self.n_ties
        )

    @property
    def n(self) -> Any:
        """All comparisons, ties included."""
        return self.n_wins + self.n_losses + self.n_ties

    def update(self, wins: int = 0, losses: int = 0, ties: int = 0) -> WinLoss:
        """The counts after ``wins`` more wins, ``losses`` more losses and ``ties`` more ties."""
        return _fast(
            WinLoss,
            self.n_wins + count_increment("wins", wins),
            self.n_losses + count_increment("losses", losses),
            self.n_ties + count_increment("ties", ties),
        )

    @classmethod
    def from_outcomes(cls, outcomes: Any) -> WinLoss:
        """Running totals of a stream of outcomes: +1 a win, -1 a loss, 0 a tie.

        Parameters
        ----------
        outcomes
            Shape ``(..., n_steps)``; e.g. ``(n_experiments, n_steps)`` for a simulation study.

        Examples
        --------
        >>> WinLoss.from_outcomes([1, 1, -1, 0]).n_wins
        array([1, 2, 2, 2])
        """
        array = as_real_array("outcomes", outcomes)
        if not np.all((array == 1) | (array == -1) | (array == 0)):
            bad = array[(array != 1) & (array != -1) & (array != 0)][0].item()
            msg = f"`outcomes` must hold +1 (win), -1 (loss) or 0 (tie), got {bad!r}"
            raise InvalidArgument(msg)
        wins = np.cumsum(array == 1, axis=-1, dtype=np.int64)
        losses = np.cumsum(array == -1, axis=-1, dtype=np.int64)
        steps = np.arange(1, array.shape[-1] + 1, dtype=np.int64)
        return _fast(cls, wins, losses, steps - wins - losses)

    # Projections used by the tests ------------------------------------------------------------

    def _successes(self, tie_policy: str) -> tuple[Any, Any]:
        """(successes, trials) of the win-rate binomial under the tie policy (float if split)."""
        if tie_policy == "drop":
            return self.n_wins, self.n_wins + self.n_losses
        return self.n_wins + 0.5 * self.n_ties, self.n_wins + self.n_losses + self.n_ties

    def _centred(self, tie_policy: str) -> tuple[float, float]:
        v = self.n_wins + self.n_losses
        if tie_policy == "split":
            v += self.n_ties
        return float(self.n_wins - self.n_losses), float(v)

    def _centred_array(self, tie_policy: str) -> tuple[np.ndarray, np.ndarray]:
        v = self.n_wins + self.n_losses
        if tie_policy == "split":
            v = v + self.n_ties
        return np.asarray(self.n_wins - self.n_losses, dtype=float), np.asarray(v, dtype=float)

    def _interval(self, halfwidth: float, tie_policy: str) -> tuple[float, float]:
        s, v = self._centred(tie_policy)
        if v == 0:
            return 0.0, 1.0
        return max(0.0, 0.5 + (s - halfwidth) / (2 * v)), min(1.0, 0.5 + (s + halfwidth) / (2 * v))


# ----------------------------------------------------------------------------- A/B: shared


class _DifferenceOfMeans(_Result):
    """What the A/B kinds share: the normal-mixture inputs of a difference ``b - a``.

    A kind provides ``_scalar_moments()`` (difference and its variance, now) and ``_moments()``
    (the same per look, as arrays); the mixture reads the standardised difference scaled by
    ``sqrt(n)``, so ``v = n``.
    """

    __slots__ = ()

    def _centred(self, tie_policy: str = "drop") -> tuple[float, float]:
        difference, variance = self._scalar_moments()
        n = float(self.n)
        if variance > 0:
            return difference * math.sqrt(n / variance), n
        return 0.0, n

    def _centred_array(self, tie_policy: str = "drop") -> tuple[np.ndarray, np.ndarray]:
        difference, variance = self._moments()
        n = np.asarray(self.n, dtype=float)
        variance = np.asarray(variance, dtype=float)
        positive = variance > 0
        safe = np.where(positive, variance, 1.0)
        s = np.where(positive, difference / np.sqrt(safe) * np.sqrt(n), 0.0)
        return s, n

    def _interval(self, halfwidth: float, tie_policy: str = "drop") -> tuple[float, float]:
        difference, variance = self._scalar_moments()
        n = float(self.n)
        if not variance > 0 or n == 0:
            return -math.inf, math.inf
        margin = halfwidth * math.sqrt(variance) / math.sqrt(n)
        return difference - margin, difference + margin


# ---------------------------------------------------------------------------- TwoProportions


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
        _check_whole("TwoProportions", **fields)
        _check_non_negative("TwoProportions", **fields)
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
        s_a = count_increment("successes_a", successes_a)
        t_a = count_increment("trials_a", trials_a)
        s_b = count_increment("successes_b", successes_b)
        t_b = count_increment("trials_b", trials_b)
        if s_a > t_a or s_b > t_b:
            msg = (
                f"successes cannot exceed trials in one update, got successes_a={s_a}, "
                f"trials_a={t_a}, successes_b={s_b}, trials_b={t_b}"
            )
            raise InvalidArgument(msg)
        return _fast(
            TwoProportions,
            self.n_successes_a + s_a,
            self.n_trials_a + t_a,
            self.n_successes_b + s_b,
            self.n_trials_b + t_b,
        )

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
        return _fast(cls, successes - successes_b, trials_a, successes_b, trials_b)

    def _moments(self) -> tuple[Any, Any]:
        # Bernoulli variance p (1 - p) / n per arm, with ddof=0 (as GrowthBook).
        with np.errstate(divide="ignore", invalid="ignore"):
            p_a = np.divide(self.n_successes_a, self.n_trials_a)
            p_b = np.divide(self.n_successes_b, self.n_trials_b)
            var = p_a * (1 - p_a) / self.n_trials_a + p_b * (1 - p_b) / self.n_trials_b
        both = (np.asarray(self.n_trials_a) > 0) & (np.asarray(self.n_trials_b) > 0)
        return np.where(both, p_b - p_a, 0.0), np.where(both, var, 0.0)

    def _scalar_moments(self) -> tuple[float, float]:
        n_a, n_b = self.n_trials_a, self.n_trials_b
        if n_a == 0 or n_b == 0:
            return 0.0, 0.0
        p_a = self.n_successes_a / n_a
        p_b = self.n_successes_b / n_b
        return p_b - p_a, p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b


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
        _check_whole("TwoMeans", n_a=self.n_a, n_b=self.n_b)
        _check_non_negative(
            "TwoMeans",
            n_a=self.n_a,
            n_b=self.n_b,
            sum_squares_a=self.sum_squares_a,
            sum_squares_b=self.sum_squares_b,
        )

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
        return _fast(
            TwoMeans,
            self.n_a + count_increment("n_a", n_a),
            self.sum_a + real_increment("sum_a", sum_a),
            self.sum_squares_a + real_increment("sum_squares_a", sum_squares_a, non_negative=True),
            self.n_b + count_increment("n_b", n_b),
            self.sum_b + real_increment("sum_b", sum_b),
            self.sum_squares_b + real_increment("sum_squares_b", sum_squares_b, non_negative=True),
        )

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
        return _fast(
            cls,
            n_a,
            np.cumsum(in_a, axis=-1),
            np.cumsum(in_a * in_a, axis=-1),
            n_b,
            np.cumsum(in_b, axis=-1),
            np.cumsum(in_b * in_b, axis=-1),
        )

    def _moments(self) -> tuple[Any, Any]:
        # Sample variance with ddof=1 per arm; needs two observations in each arm.
        n_a = np.asarray(self.n_a, dtype=float)
        n_b = np.asarray(self.n_b, dtype=float)
        ok = (n_a >= 2) & (n_b >= 2)
        safe_a = np.where(ok, n_a, 2.0)
        safe_b = np.where(ok, n_b, 2.0)
        mean_a = self.sum_a / safe_a
        mean_b = self.sum_b / safe_b
        var_a = np.maximum(self.sum_squares_a - safe_a * mean_a**2, 0.0) / (safe_a - 1)
        var_b = np.maximum(self.sum_squares_b - safe_b * mean_b**2, 0.0) / (safe_b - 1)
        return np.where(ok, mean_b - mean_a, 0.0), np.where(
            ok, var_a / safe_a + var_b / safe_b, 0.0
        )

    def _scalar_moments(self) -> tuple[float, float]:
        n_a, n_b = self.n_a, self.n_b
        if n_a < 2 or n_b < 2:
            return 0.0, 0.0
        mean_a = self.sum_a / n_a
        mean_b = self.sum_b / n_b
        var_a = max(self.sum_squares_a - n_a * mean_a * mean_a, 0.0) / (n_a - 1)
        var_b = max(self.sum_squares_b - n_b * mean_b * mean_b, 0.0) / (n_b - 1)
        return mean_b - mean_a, var_a / n_a + var_b / n_b


# ------------------------------------------------------------------------------ CenteredSum


@dataclasses.dataclass(frozen=True, slots=True)
class CenteredSum(_Result):
    """Any statistic centred under the null hypothesis: its running total and variance.

    The generic input of the normal-mixture core: feed increments whose mean is 0 under the null
    and whose variances add up to ``variance`` (e.g. per-query credit minus its null mean). The
    effect is the drift per unit of variance, ``total / variance``.

    Examples
    --------
    >>> CenteredSum().update(total=1.5, variance=2.0)
    CenteredSum(n=1, total=1.5, variance=2.0)
    """

    n: Any = 0
    total: Any = 0.0
    variance: Any = 0.0

    def __post_init__(self) -> None:
        _check_fields("CenteredSum", n=self.n, total=self.total, variance=self.variance)
        _check_whole("CenteredSum", n=self.n)
        _check_non_negative("CenteredSum", n=self.n, variance=self.variance)

    def update(self, total: float = 0.0, variance: float = 0.0, n: int = 1) -> CenteredSum:
        """The running sums after ``n`` more observations adding ``total`` and ``variance``."""
        return _fast(
            CenteredSum,
            self.n + count_increment("n", n),
            self.total + real_increment("total", total),
            self.variance + real_increment("variance", variance, non_negative=True),
        )

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
        totals, variances = np.broadcast_arrays(totals, variances)
        n = np.broadcast_to(np.arange(1, totals.shape[-1] + 1, dtype=np.int64), totals.shape)
        return _fast(cls, n, np.cumsum(totals, axis=-1), np.cumsum(variances, axis=-1))

    def _centred(self, tie_policy: str = "drop") -> tuple[float, float]:
        return float(self.total), float(self.variance)

    def _centred_array(self, tie_policy: str = "drop") -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.total, dtype=float), np.asarray(self.variance, dtype=float)

    def _interval(self, halfwidth: float, tie_policy: str = "drop") -> tuple[float, float]:
        if self.variance == 0:
            return -math.inf, math.inf
        return (self.total - halfwidth) / self.variance, (self.total + halfwidth) / self.variance


# -------------------------------------------------------------------------------- ArmCounts


@dataclasses.dataclass(frozen=True, slots=True)
class ArmCounts(_Result):
    """Users assigned to each arm, for sample-ratio checks.

    Attributes
    ----------
    n_assigned
        A tuple of counts, one per arm (or an array ``(..., n_steps, n_arms)`` of running totals).

    Examples
    --------
    >>> ArmCounts((0, 0)).update(counts=(5000, 5000)).n
    10000
    """

    n_assigned: Any = (0, 0)

    def __post_init__(self) -> None:
        if isinstance(self.n_assigned, np.ndarray):
            return
        counts = tuple(self.n_assigned)
        if len(counts) < 2:
            msg = f"ArmCounts needs at least two arms, got n_assigned={self.n_assigned!r}"
            raise InvalidArgument(msg)
        for i, count in enumerate(counts):
            count_increment(f"n_assigned[{i}]", count)
        object.__setattr__(self, "n_assigned", tuple(int(c) for c in counts))

    @property
    def n(self) -> Any:
        """Users in all arms."""
        if isinstance(self.n_assigned, np.ndarray):
            return self.n_assigned.sum(axis=-1)
        return sum(self.n_assigned)

    def update(self, counts: Any) -> ArmCounts:
        """The counts after ``counts[i]`` more users in arm ``i``."""
        totals = self.n_assigned
        if len(counts) == 2 == len(totals):  # the common A/B case, without the generic loop
            first, second = counts
            return _fast(
                ArmCounts,
                (
                    totals[0] + count_increment("counts[0]", first),
                    totals[1] + count_increment("counts[1]", second),
                ),
            )
        if len(counts) != len(self.n_assigned):
            msg = f"`counts` must have one entry per arm ({len(self.n_assigned)}), got {counts!r}"
            raise InvalidArgument(msg)
        return _fast(
            ArmCounts,
            tuple(
                total + count_increment(f"counts[{i}]", c)
                for i, (total, c) in enumerate(zip(self.n_assigned, counts, strict=True))
            ),
        )

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
        return _fast(cls, np.cumsum(array, axis=-2))
