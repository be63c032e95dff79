"""What every test in :mod:`interleave.stats` shares.

The decision, the interval, the result of a vectorised stream evaluation, the immutable
sequential state, and the argument checks.

The sequential state is the one object a dashboard holds: ``state = test.start()``, then
``state = state.update(wins=3, losses=1)`` after each batch of data. Each ``update`` is one *look*.
The state keeps the sufficient statistics (so any quantity can be recomputed) and a small
monitoring record: the running minimum of the always-valid p-value, and the sample size and
decision at which the test stopped.

Two rules decide how looks combine, and they are chosen on purpose:

- **A stopped test stays stopped.** Once a look crosses a boundary the decision is final and
  ``n_stopped`` records the sample size of that look; later updates still accumulate data (so the
  estimate and the confidence sequence keep improving) but the decision never changes. This is
  what a stopping rule means: you would have stopped there.
- **A batch is one look.** ``state.update(x).update(y)`` and ``state.update(x + y)`` hold the same
  sufficient statistics, the same statistic and the same confidence sequence; they are equal as a
  whole unless the look after ``x`` stopped the test or saw a smaller p-value than the look after
  ``x + y`` (counts lose the order inside a batch, so no test can see a crossing inside it).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

import numpy as np

from interleave._checks import check_alpha, check_one_of, check_real
from interleave.errors import InvalidArgument

__all__ = [
    "ALTERNATIVES",
    "ConfidenceInterval",
    "Decision",
    "SequentialState",
    "StreamResult",
]

ALTERNATIVES = ("two-sided", "greater", "less")
TIE_POLICIES = ("drop", "split")

# Integer codes of the decisions in the arrays of a StreamResult (int8, cheap for 2-D streams).
CONTINUE_CODE = 0
REJECT_CODE = 1
ACCEPT_CODE = 2


class Decision(enum.StrEnum):
    """What a sequential test says at a look.

    ``CONTINUE``
        Keep collecting data.
    ``REJECT``
        Reject the null hypothesis: the difference is real (each test says which null).
    ``ACCEPT``
        Accept the null hypothesis (or stop without a difference). Only tests with an acceptance
        region ever say it: Wald's SPRT (the evidence favours ``p0`` over ``p1``) and the
        group-sequential test at its final planned look. The mixture, beta-binomial and
        sample-ratio tests are open-ended: they never accept.
    """

    CONTINUE = "continue"
    REJECT = "reject"
    ACCEPT = "accept"

    @property
    def code(self) -> int:
        """The integer used for this decision in :class:`StreamResult` arrays."""
        return _CODES[self]

    @classmethod
    def from_code(cls, code: int) -> Decision:
        """The decision stored as ``code`` in a :class:`StreamResult` array."""
        return _DECISIONS[int(code)]


_CODES = {
    Decision.CONTINUE: CONTINUE_CODE,
    Decision.REJECT: REJECT_CODE,
    Decision.ACCEPT: ACCEPT_CODE,
}
_DECISIONS = {v: k for k, v in _CODES.items()}


class _Result:
    """Results render as one line of text and convert to a plain dict (ARCHITECTURE contracts)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (enums as their value, tuples kept)."""
        out = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            if field.name.startswith("_"):
                continue
            value = getattr(self, field.name)
            if isinstance(value, enum.Enum):
                value = value.value
            elif _is_dataclass_instance(value):
                value = value.to_dict() if isinstance(value, _Result) else dataclasses.asdict(value)
            out[field.name] = value
        return out

    def __str__(self) -> str:
        parts = []
        for key, value in self.to_dict().items():
            if isinstance(value, dict):
                continue
            if isinstance(value, float):
                parts.append(f"{key}={value:.6g}")
            elif isinstance(value, np.ndarray):
                parts.append(f"{key}=array{value.shape}")
            else:
                parts.append(f"{key}={value}")
        return f"{type(self).__name__}(" + ", ".join(parts) + ")"


def _is_dataclass_instance(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


@dataclasses.dataclass(frozen=True, slots=True)
class ConfidenceInterval(_Result):
    """An interval for an effect, with the confidence level it was built for.

    Not a tuple on purpose: read ``low`` and ``high`` by name.
    """

    low: float
    high: float
    confidence_level: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclasses.dataclass(frozen=True, slots=True)
class StreamResult(_Result):
    """A whole stream (or a batch of streams) evaluated look by look, vectorised.

    Every array has the shape of the stream: ``(..., n_steps)``, one look per step; ``stop_index``
    has the leading shape ``(...)``. It holds what a :class:`SequentialState` updated once per step
    would hold at each step.

    Attributes
    ----------
    n
        The sample size at each look.
    statistic
        The test statistic at each look (each test documents which).
    pvalue
        The always-valid p-value at each look: the running minimum over looks so far.
    decision
        The decision at each look as an ``int8`` code (:attr:`Decision.code`: 0 continue,
        1 reject, 2 accept); after a stop the stopping decision is repeated.
    stop_index
        The index of the look that stopped each stream, ``-1`` where it never stopped.
    """

    n: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    decision: np.ndarray
    stop_index: np.ndarray

    @property
    def stopped(self) -> np.ndarray:
        """Whether each stream stopped (boolean, leading shape)."""
        return self.stop_index >= 0

    @property
    def final_decision(self) -> np.ndarray:
        """The decision code at the last look of each stream."""
        return self.decision[..., -1]

    @property
    def rejected(self) -> np.ndarray:
        """Whether each stream stopped by rejecting the null hypothesis."""
        return self.final_decision == REJECT_CODE

    @property
    def accepted(self) -> np.ndarray:
        """Whether each stream stopped by accepting the null hypothesis."""
        return self.final_decision == ACCEPT_CODE

    @property
    def n_stopped(self) -> np.ndarray:
        """The sample size at the stopping look of each stream, ``-1`` where it never stopped."""
        index = np.maximum(self.stop_index, 0)
        at_stop = np.take_along_axis(self.n, index[..., None], axis=-1)[..., 0]
        return np.where(self.stopped, at_stop, -1)


def monitor(
    n: np.ndarray, statistic: np.ndarray, pvalue: np.ndarray, raw_decision: np.ndarray
) -> StreamResult:
    """Turn per-look quantities into a :class:`StreamResult`: running-min p, stays-stopped."""
    pvalue = np.minimum.accumulate(pvalue, axis=-1)
    crossed = raw_decision != CONTINUE_CODE
    any_crossed = crossed.any(axis=-1)
    first = np.argmax(crossed, axis=-1)
    stop_index = np.where(any_crossed, first, -1)
    steps = np.arange(raw_decision.shape[-1])
    stop_code = np.take_along_axis(raw_decision, first[..., None], axis=-1)
    after = any_crossed[..., None] & (steps >= first[..., None])
    decision = np.where(after, stop_code, CONTINUE_CODE).astype(np.int8)
    return StreamResult(
        n=n, statistic=statistic, pvalue=pvalue, decision=decision, stop_index=stop_index
    )


@dataclasses.dataclass(frozen=True, slots=True)
class SequentialState(_Result):
    """The state of a sequential test after some looks: immutable, ``update`` returns a new one.

    Made by ``test.start()``; see the module docstring for how looks combine.

    Attributes
    ----------
    test
        The test configuration (alpha and tuning) that reads the data.
    data
        The sufficient statistics so far (e.g. :class:`~interleave.stats.WinLoss`).
    statistic
        The test statistic at the last look.
    pvalue
        The always-valid p-value: the running minimum over looks (1.0 before any data).
    n_stopped
        The sample size at the look that stopped the test, ``None`` while it continues.
    stopped_decision
        The decision of that look, ``None`` while the test continues.
    """

    test: Any
    data: Any
    statistic: float = 0.0
    pvalue: float = 1.0
    n_stopped: int | None = None
    stopped_decision: Decision | None = None

    @property
    def n(self) -> int:
        """The sample size so far (each data kind says what it counts)."""
        return self.data.n

    @property
    def decision(self) -> Decision:
        """``CONTINUE`` until a look crosses a boundary, then that look's decision for good."""
        decision = self.stopped_decision
        return Decision.CONTINUE if decision is None else decision

    @property
    def stopped(self) -> bool:
        """Whether a look has crossed a boundary."""
        return self.stopped_decision is not None

    def update(self, **increments: Any) -> SequentialState:
        """The state after one more look that adds ``increments`` to the data.

        The keywords are those of the data's ``update`` (``wins``, ``losses``, ``ties`` for
        :class:`~interleave.stats.WinLoss`; per-arm counts for the A/B kinds).
        """
        data = self.data.update(**increments)
        statistic, pvalue, decision = self.test._look(data)
        if pvalue > self.pvalue:
            pvalue = self.pvalue
        if self.stopped_decision is not None or decision is Decision.CONTINUE:
            return SequentialState(
                self.test, data, statistic, pvalue, self.n_stopped, self.stopped_decision
            )
        return SequentialState(self.test, data, statistic, pvalue, data.n, decision)

    def confidence_interval(self, confidence_level: float | None = None) -> ConfidenceInterval:
        """The interval for the effect at this look, valid at every look simultaneously.

        Parameters
        ----------
        confidence_level
            ``None`` means ``1 - alpha`` of the test, the level whose interval excludes the null
            exactly when the test rejects.
        """
        if confidence_level is None:
            confidence_level = 1.0 - self.test.alpha
        else:
            confidence_level = check_confidence_level(confidence_level)
        return self.test._interval(self.data, confidence_level)


def start_state(test: Any, data: Any) -> SequentialState:
    """A fresh state over ``data``; data that already holds observations counts as one look."""
    if data.n == 0:
        return SequentialState(test, data)
    statistic, pvalue, decision = test._look(data)
    if decision is Decision.CONTINUE:
        return SequentialState(test, data, statistic, pvalue)
    return SequentialState(test, data, statistic, pvalue, data.n, decision)


# ----------------------------------------------------------------------------- argument checks


def check_alternative(alternative: Any) -> str:
    """``alternative`` must be one of 'two-sided', 'greater', 'less'."""
    return check_one_of("alternative", alternative, ALTERNATIVES)


def check_tie_policy(tie_policy: Any) -> str:
    """``tie_policy`` must be 'drop' or 'split'."""
    return check_one_of("tie_policy", tie_policy, TIE_POLICIES)


def check_confidence_level(confidence_level: Any) -> float:
    """A confidence level strictly inside (0, 1)."""
    return check_alpha("confidence_level", confidence_level)


def check_positive(name: str, value: Any) -> float:
    """A finite real > 0."""
    return check_real(name, value, low=0.0, low_open=True)


def as_count_array(name: str, values: Any) -> np.ndarray:
    """A non-empty array of non-negative integers (NaN, negatives and fractions are refused)."""
    array = as_real_array(name, values)
    if np.any(array < 0):
        msg = f"`{name}` must hold non-negative counts, got a minimum of {array.min().item()!r}"
        raise InvalidArgument(msg)
    if np.any(array != np.floor(array)):
        msg = (
            f"`{name}` must hold whole counts, got fractional values such as "
            f"{array[array != np.floor(array)][0].item()!r}"
        )
        raise InvalidArgument(msg)
    return array.astype(np.int64)


def as_real_array(name: str, values: Any, *, ndim_min: int = 1) -> np.ndarray:
    """A non-empty array of finite reals; the message names the argument and the fix."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        msg = f"`{name}` must be an array of numbers, got {values!r:.80}; ({exc})"
        raise InvalidArgument(msg) from None
    if array.dtype == bool:
        array = array.astype(np.int64)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        msg = f"`{name}` must hold numbers, got dtype {array.dtype} from {values!r:.80}"
        raise InvalidArgument(msg)
    if array.ndim < ndim_min:
        msg = f"`{name}` must have at least {ndim_min} dimension(s), got shape {array.shape}"
        raise InvalidArgument(msg)
    if array.size == 0 or array.shape[-1] == 0:
        msg = f"`{name}` is empty (shape {array.shape}); pass at least one observation"
        raise InvalidArgument(msg)
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        msg = (
            f"`{name}` must be finite, got NaN or infinity; drop or impute those observations first"
        )
        raise InvalidArgument(msg)
    return array


def count_increment(name: str, value: Any) -> int:
    """A non-negative int increment; fast path for plain ints (the per-update hot path)."""
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        msg = (
            f"`{name}` must be a non-negative integer count, got {value!r} of type "
            f"{type(value).__name__}"
        )
        raise InvalidArgument(msg)
    if value < 0:
        msg = f"`{name}` must be a non-negative count, got {value!r}; counts only grow"
        raise InvalidArgument(msg)
    return int(value)


def real_increment(name: str, value: Any, *, non_negative: bool = False) -> float:
    """A finite real increment (a sum or a sum of squares)."""
    if type(value) is float or type(value) is int:
        ok = math.isfinite(value) and (not non_negative or value >= 0)
        if ok:
            return float(value)
    low = 0.0 if non_negative else None
    return check_real(name, value, low=low)


def z_quantile(confidence_level: float) -> float:
    """The two-sided standard-normal quantile for ``confidence_level``."""
    from scipy.special import ndtri

    return float(ndtri(0.5 + confidence_level / 2.0))


def as_stream(stream: Any, kinds: tuple[type, ...], test: str) -> Any:
    """The stream as a data object with array fields; a plain array means win/loss outcomes."""
    from interleave.stats.sufficient import WinLoss

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


def check_data(data: Any, kinds: tuple[type, ...], test: str) -> Any:
    """``data`` must be one of the sufficient-statistics kinds this test reads."""
    if not isinstance(data, kinds):
        names = ", ".join(k.__name__ for k in kinds)
        msg = f"{test} reads one of {{{names}}}, got {data!r}"
        raise InvalidArgument(msg)
    return data
