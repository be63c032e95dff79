"""Sample-ratio mismatch: do users reach the arms in the ratio the design intended.

A mismatch means the assignment or the logging is broken, and every other result of the
experiment is suspect. Two checks:

- :func:`srm_test`, Pearson's chi-square goodness of fit on the final counts. The field flags a
  mismatch at ``p < 0.001`` (GrowthBook, Eppo): :data:`SRM_THRESHOLD`.
- :class:`SequentialSRM`, Lindon & Malek (2022), "Anytime-valid inference for multinomial count
  data" (NeurIPS): a Dirichlet-multinomial Bayes factor against the intended ratios, safe to check
  after every batch. With prior ``Dirichlet(concentration * ratios)`` and running totals ``x``::

      BF = Gamma(A) / Gamma(A + n) * prod_i Gamma(a_i + x_i) / Gamma(a_i) / prod_i ratio_i^x_i

  (``a = concentration * ratios``, ``A = sum(a)``, ``n = sum(x)``); the p-value is the running
  minimum of ``min(1, 1 / BF)``. ``REJECT`` means the ratios are off (a sample-ratio mismatch);
  the test never accepts.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy.stats import chisquare

from interleave.errors import InterleaveError, InvalidArgument
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
    as_count_array,
    check_data,
    check_level,
    check_real,
    log_rising_factorial,
    log_rising_factorial_array,
    monitor,
    new_look,
    serialisable,
    start_state,
)
from interleave.stats.sufficient import ArmCounts

__all__ = ["SRM_THRESHOLD", "SRMResult", "SequentialSRM", "srm_test"]

SRM_THRESHOLD = 0.001
"""The p-value below which GrowthBook and Eppo flag a sample-ratio mismatch."""


def _check_ratios(expected_ratios: Any, n_arms: int | None) -> tuple[float, ...]:
    """The ratios as shares summing to 1; ``n_arms=None`` accepts any number of arms."""
    if expected_ratios is None and n_arms is not None:
        return tuple(1.0 / n_arms for _ in range(n_arms))
    try:
        ratios = np.asarray(expected_ratios, dtype=float)
    except (TypeError, ValueError, OverflowError):
        msg = f"`expected_ratios` must be a list of positive numbers, got {expected_ratios!r:.80}"
        raise InvalidArgument(msg) from None
    if ratios.ndim != 1 or len(ratios) != (len(ratios) if n_arms is None else n_arms):
        msg = f"`expected_ratios` must have one entry per arm ({n_arms}), got {expected_ratios!r}"
        raise InvalidArgument(msg)
    if not np.all(np.isfinite(ratios)) or np.any(ratios <= 0):
        msg = f"`expected_ratios` must be finite and > 0, got {expected_ratios!r}"
        raise InvalidArgument(msg)
    ratios = ratios / ratios.max()  # first, so that the sum cannot overflow
    shares = ratios / ratios.sum()
    if np.any(shares < 1e-12):
        msg = (
            f"`expected_ratios` {expected_ratios!r:.80} give an arm a share below 1e-12; an arm "
            "that small cannot be checked for a sample-ratio mismatch"
        )
        raise InvalidArgument(msg)
    return tuple(float(r) for r in shares)


@dataclasses.dataclass(frozen=True, slots=True)
class SRMResult(Result):
    """Pearson's chi-square test of the assignment counts against the intended ratios.

    Attributes
    ----------
    statistic
        The chi-square statistic (``n_arms - 1`` degrees of freedom).
    pvalue
        Its p-value; compare it with :data:`SRM_THRESHOLD` (0.001).
    n_assigned
        The users counted in each arm.
    expected_ratios
        The intended share of each arm (normalised to sum to 1).
    """

    statistic: float
    pvalue: float
    n_assigned: tuple[int, ...]
    expected_ratios: tuple[float, ...]

    def is_mismatch(self, threshold: float = SRM_THRESHOLD) -> bool:
        """Whether ``pvalue < threshold`` (the field's convention is 0.001)."""
        return self.pvalue < check_level("threshold", threshold)


def srm_test(n_assigned: Any, expected_ratios: Any = None) -> SRMResult:
    """Chi-square sample-ratio test of the users in each arm.

    Parameters
    ----------
    n_assigned
        Users per arm, e.g. ``[600, 400]``.
    expected_ratios
        Intended share per arm (any positive scale); ``None`` means equal shares.

    Examples
    --------
    >>> result = srm_test([600, 400])
    >>> f"{result.pvalue:.3g}", result.is_mismatch()
    ('2.54e-10', True)
    """
    counts = as_count_array("n_assigned", n_assigned)
    if counts.ndim != 1 or len(counts) < 2:
        msg = f"`n_assigned` must be a flat list of at least two arm counts, got {n_assigned!r}"
        raise InvalidArgument(msg)
    total = int(counts.sum())
    if total == 0:
        msg = "`n_assigned` sums to 0; a sample-ratio test needs at least one user"
        raise InvalidArgument(msg)
    ratios = _check_ratios(expected_ratios, len(counts))
    expected = np.asarray(ratios) * total
    statistic, pvalue = chisquare(counts, expected)
    return SRMResult(float(statistic), float(pvalue), tuple(int(c) for c in counts), ratios)


@serialisable("test")
@dataclasses.dataclass(frozen=True, slots=True)
class SequentialSRM(Result):
    """Lindon & Malek's sequential sample-ratio test (Dirichlet-multinomial Bayes factor).

    Parameters
    ----------
    expected_ratios
        Intended share per arm; ``None`` means two equal arms.
    concentration
        The total mass of the Dirichlet prior centred on the intended ratios (10,000 by default,
        which spreads the alternative over small, realistic mismatches).
    alpha
        The false-positive rate over unbounded monitoring (0.001 by default, matching the
        chi-square convention).

    Examples
    --------
    >>> state = SequentialSRM().start()
    >>> for day in [[5000, 5000], [5050, 4950], [5100, 4900]]:
    ...     state = state.update(counts=day)
    >>> round(state.pvalue, 5)
    0.64929
    """

    expected_ratios: Any = None
    concentration: float = 10_000.0
    alpha: float = SRM_THRESHOLD
    _prior: tuple[float, ...] = dataclasses.field(init=False, repr=False, compare=False)
    _log_ratios: tuple[float, ...] = dataclasses.field(init=False, repr=False, compare=False)
    _prior_total: float = dataclasses.field(init=False, repr=False, compare=False)
    _log_threshold: float = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.expected_ratios is None:
            ratios: tuple[float, ...] = (0.5, 0.5)
        else:
            ratios = _check_ratios(self.expected_ratios, None)
            if len(ratios) < 2:
                msg = f"`expected_ratios` needs at least two arms, got {self.expected_ratios!r}"
                raise InvalidArgument(msg)
        concentration = check_real(
            "concentration", self.concentration, low=0.0, high=MAX_PRIOR, low_open=True
        )
        alpha = check_level("alpha", self.alpha)
        prior = tuple(concentration * r for r in ratios)
        for name, value in (
            ("expected_ratios", ratios),
            ("concentration", concentration),
            ("alpha", alpha),
            ("_prior", prior),
            ("_log_ratios", tuple(math.log(r) for r in ratios)),
            ("_prior_total", sum(prior)),
            ("_log_threshold", math.log(1.0 / alpha)),
        ):
            object.__setattr__(self, name, value)

    def start(self, data: ArmCounts | None = None) -> SequentialState:
        """A fresh monitoring state; update it with ``counts=[...]`` (new users per arm)."""
        if data is None:
            data = ArmCounts(tuple(0 for _ in self.expected_ratios))
        data = check_data(data, (ArmCounts,), "SequentialSRM")
        if len(data.n_assigned) != len(self.expected_ratios):
            msg = (
                f"`data` has {len(data.n_assigned)} arms, the test expects "
                f"{len(self.expected_ratios)}"
            )
            raise InvalidArgument(msg)
        return start_state(self, data)

    def log_bayes_factor(self, n_assigned: Any) -> Any:
        """``log BF`` of running totals ``n_assigned`` (shape ``(..., n_arms)``).

        Sums of :func:`~interleave.stats._core.log_rising_factorial`, so a huge concentration
        loses nothing to cancellation.
        """
        x = np.asarray(n_assigned, dtype=float)
        prior = np.asarray(self._prior)
        out = (
            np.sum(log_rising_factorial_array(prior, x), axis=-1)
            - log_rising_factorial_array(self._prior_total, x.sum(axis=-1))
            - x @ np.asarray(self._log_ratios)
        )
        return out[()] if np.ndim(out) == 0 else out

    def evaluate(self, counts: Any) -> StreamResult:
        """Every look of a stream of per-look increments, shape ``(..., n_steps, n_arms)``.

        Examples
        --------
        >>> result = SequentialSRM().evaluate([[5000, 5000], [5050, 4950], [5100, 4900]])
        >>> [round(p, 5) for p in result.pvalue.tolist()]
        [1.0, 1.0, 0.64929]
        """
        data = ArmCounts.from_increments(counts)
        if data.n_assigned.shape[-1] != len(self.expected_ratios):
            msg = (
                f"`counts` has {data.n_assigned.shape[-1]} arms, the test expects "
                f"{len(self.expected_ratios)}"
            )
            raise InvalidArgument(msg)
        log_bf = self.log_bayes_factor(data.n_assigned)
        pvalue = np.exp(-np.maximum(log_bf, 0.0))
        raw = np.where(log_bf >= math.log(1.0 / self.alpha), REJECT_CODE, CONTINUE_CODE)
        return monitor(data.n, log_bf, pvalue, raw)

    def look(self, data: ArmCounts, previous: SequentialState | None = None) -> Look:
        """The log Bayes factor against the intended ratios; ``REJECT`` at ``log(1 / alpha)``."""
        x = data.n_assigned
        log_bf = -log_rising_factorial(self._prior_total, sum(x))
        for a, count, log_ratio in zip(self._prior, x, self._log_ratios, strict=True):
            log_bf += log_rising_factorial(a, count) - count * log_ratio
        pvalue = 1.0 if log_bf <= 0.0 else math.exp(-log_bf)
        if log_bf >= self._log_threshold:
            return new_look((log_bf, pvalue, DECISION_REJECT, None))
        return new_look((log_bf, pvalue, DECISION_CONTINUE, None))

    def interval(
        self, data: ArmCounts, confidence_level: float, looks: tuple[float, ...] = ()
    ) -> ConfidenceInterval:
        """The sample-ratio test has no interval: raises, saying to read the p-value."""
        msg = "the sequential sample-ratio test has no confidence interval; read its pvalue"
        raise InterleaveError(msg)
