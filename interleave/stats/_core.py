"""What every test in :mod:`interleave.stats` shares.

The decision, the interval, the result of a vectorised stream evaluation, the
:class:`SequentialTest` protocol every sequential test meets, the immutable sequential state (with
its JSON round trip), and the argument checks.

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
  The group-sequential test is the exception by design: its boundaries depend on the schedule of
  looks, which the state records in ``looks``.

A state serialises: ``SequentialState.from_dict(json.loads(json.dumps(state.to_dict())))``
equals ``state`` (test configuration, data, monitoring record and look schedule, under a
``schema_version``), so a service restores the exact decision after a restart.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import itertools
import math
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from interleave._checks import check_one_of
from interleave._checks import check_real as _check_real
from interleave._slots import new_slotted, slots_of
from interleave.errors import InvalidArgument

__all__ = [
    "ALTERNATIVES",
    "MAX_COUNT",
    "MAX_PRIOR",
    "MIN_ALPHA",
    "STATE_SCHEMA_VERSION",
    "ConfidenceInterval",
    "Decision",
    "Look",
    "Result",
    "SequentialState",
    "SequentialTest",
    "StreamResult",
]

MAX_COUNT = 2**53
"""The largest count (or running total) a sufficient statistic accepts: 9,007,199,254,740,992.

Beyond it float64 no longer represents every whole number, so the tests could not tell one more
observation from none. No experiment gets near it; a larger value is a bug upstream."""

MIN_ALPHA = 1e-12
"""The smallest significance level (and smallest ``1 - confidence_level``) accepted.

Below it ``1 - alpha`` rounds towards 1 in float64 and the thresholds ``log(1 / alpha)`` stop
meaning what they say."""

STATE_SCHEMA_VERSION = 1
"""The version of :meth:`SequentialState.to_dict`; :meth:`SequentialState.from_dict` reads it."""

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


class Result:
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
                value = value.to_dict() if isinstance(value, Result) else dataclasses.asdict(value)
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
class ConfidenceInterval(Result):
    """An interval for an effect, with the confidence level it was built for.

    Not a tuple on purpose: read ``low`` and ``high`` by name.
    """

    low: float
    high: float
    confidence_level: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclasses.dataclass(frozen=True, slots=True)
class StreamResult(Result):
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


class Look(NamedTuple):
    """What a sequential test reads from the data at one look (:meth:`SequentialTest.look`).

    Attributes
    ----------
    statistic
        The test statistic at this look.
    pvalue
        This look's p-value; the state keeps the running minimum (1.0 adds no evidence).
    decision
        This look's decision; the state keeps the first one that is not ``CONTINUE``.
    looks
        The schedule of looks after this one, for tests whose boundaries depend on it (the
        group-sequential test); ``None`` leaves the state's schedule as it was.
    """

    statistic: float
    pvalue: float
    decision: Decision
    looks: tuple[float, ...] | None = None


# The look hot path: Look's generated __new__ is a Python function (~0.3 us a call), and reading
# an enum member off its class costs ~80 ns; tests build looks as
# ``new_look((statistic, pvalue, DECISION_REJECT, None))``, the same Look, built directly.
new_look = functools.partial(tuple.__new__, Look)
DECISION_CONTINUE = Decision.CONTINUE
DECISION_REJECT = Decision.REJECT
DECISION_ACCEPT = Decision.ACCEPT


@runtime_checkable
class SequentialTest(Protocol):
    """What every sequential test in :mod:`interleave.stats` provides.

    A test is an immutable configuration (``alpha`` and its tuning); the data it reads are
    sufficient statistics (:mod:`~interleave.stats.sufficient`). :class:`SequentialState` drives
    it through this protocol only, so a new test needs nothing private from this module.
    """

    alpha: float

    def start(self, data: Any = None) -> SequentialState:
        """A fresh state over ``data`` (each test documents its default kind)."""
        ...

    def look(self, data: Any, previous: SequentialState) -> Look:
        """Read ``data`` (the running totals after an update) at one look after ``previous``."""
        ...

    def interval(
        self, data: Any, confidence_level: float, looks: tuple[float, ...] = ()
    ) -> ConfidenceInterval:
        """The interval for the effect at the look schedule ``looks``, valid at every look."""
        ...

    def evaluate(self, stream: Any) -> StreamResult:
        """Every look of a stream (or many streams) at once, vectorised."""
        ...


# Tests and data kinds that serialise, by class name (filled by @serialisable at import).
_TESTS: dict[str, type] = {}
_KINDS: dict[str, type] = {}


def serialisable(registry: str) -> Any:
    """Class decorator: register a test (``'test'``) or a data kind (``'data'``) by name."""
    table = _TESTS if registry == "test" else _KINDS

    def register(cls: type) -> type:
        table[cls.__name__] = cls
        return cls

    return register


_JSON_SCALARS = frozenset((int, float, str, bool, type(None)))


def _plain(name: str, value: Any) -> Any:
    """``value`` as JSON-ready Python: numbers, strings, None, lists (tuples become lists)."""
    if type(value) in _JSON_SCALARS:  # already JSON-ready: skip the conversions below
        return value
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, tuple | list):
        return [_plain(name, v) for v in value]
    msg = (
        f"`{name}` of type {type(value).__name__} cannot be serialised; a live state holds "
        "scalar running totals (streams of arrays are evaluated, not stored)"
    )
    raise InvalidArgument(msg)


@functools.cache
def _init_fields(cls: type) -> tuple[str, ...]:
    """The constructor arguments of a test or data kind: what ``to_dict`` writes.

    Cached: ``dataclasses.fields`` rebuilds its answer on every call.
    """
    return tuple(field.name for field in dataclasses.fields(cls) if field.init)


def _config(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": type(obj).__name__}
    for name in _init_fields(type(obj)):
        out[name] = _plain(name, getattr(obj, name))
    return out


def _restore(name: str, record: Any, table: dict[str, type]) -> Any:
    if not isinstance(record, Mapping):
        msg = f"`{name}` must be a dict with a 'kind', got {record!r:.80}"
        raise InvalidArgument(msg)
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in table:
        msg = f"`{name}.kind` must be one of {sorted(table)}, got {kind!r:.80}"
        raise InvalidArgument(msg)
    cls = table[kind]
    given = set(record) - {"kind"}
    unknown = given.difference(_init_fields(cls))
    if unknown:
        msg = f"`{name}` has fields {sorted(unknown)} that {kind} does not take"
        raise InvalidArgument(msg)
    fields = {}
    for key in given:
        value = record[key]
        fields[key] = tuple(value) if isinstance(value, list) else value
    try:
        return cls(**fields)
    except InvalidArgument:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        msg = f"`{name}` does not describe a valid {kind}: {exc}"
        raise InvalidArgument(msg) from None


@dataclasses.dataclass(frozen=True, slots=True)
class SequentialState(Result):
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
    looks
        The information fractions looked at so far, for the group-sequential test (whose
        boundaries depend on them); empty for the others.
    """

    test: Any
    data: Any
    statistic: float = 0.0
    pvalue: float = 1.0
    n_stopped: Any = None
    stopped_decision: Decision | None = None
    looks: tuple[float, ...] = ()

    @property
    def n(self) -> Any:
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
        return self._advance(self.data.update(**increments))

    def _advance(self, data: Any) -> SequentialState:
        statistic, pvalue, decision, looks = self.test.look(data, self)
        if pvalue > self.pvalue:
            pvalue = self.pvalue
        if looks is None:
            looks = self.looks
        if self.stopped_decision is not None or decision is DECISION_CONTINUE:
            return _from_checked_parts(
                self.test, data, statistic, pvalue, self.n_stopped, self.stopped_decision, looks
            )
        return _from_checked_parts(self.test, data, statistic, pvalue, data.n, decision, looks)

    @classmethod
    def _from_checked_parts(
        cls,
        test: Any,
        data: Any,
        statistic: float,
        pvalue: float,
        n_stopped: Any,
        stopped_decision: Decision | None,
        looks: tuple[float, ...],
    ) -> SequentialState:
        """A state from parts a look has just computed (the update hot path).

        The dataclass ``__init__`` sets each frozen field through ``object.__setattr__`` by name;
        a look's parts need no checks, so the slots' own setters do it without the name lookups.
        """
        return new_slotted(
            cls, _STATE_SLOTS, test, data, statistic, pvalue, n_stopped, stopped_decision, looks
        )

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
        return self.test.interval(self.data, confidence_level, self.looks)

    # Serialisation ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-ready Python, under ``schema_version``.

        ``test`` and ``data`` carry their ``kind`` (class name) and constructor arguments.

        Examples
        --------
        >>> from interleave.stats import MixtureSPRT
        >>> record = MixtureSPRT(n_opt=500).start().update(wins=3, losses=1).to_dict()
        >>> record["schema_version"], record["data"]
        (1, {'kind': 'WinLoss', 'n_wins': 3, 'n_losses': 1, 'n_ties': 0})
        """
        decision = self.stopped_decision
        return {
            "schema_version": STATE_SCHEMA_VERSION,
            "test": _config(self.test),
            "data": _config(self.data),
            "statistic": _json_statistic(self.statistic),
            "pvalue": float(self.pvalue),
            "n_stopped": _plain("n_stopped", self.n_stopped),
            "stopped_decision": None if decision is None else decision.value,
            "looks": [float(t) for t in self.looks],
        }

    @classmethod
    def from_dict(cls, record: Any) -> SequentialState:
        """The state that :meth:`to_dict` wrote (after a JSON round trip), validated field by field.

        Examples
        --------
        >>> import json
        >>> from interleave.stats import MixtureSPRT
        >>> state = MixtureSPRT(n_opt=500).start().update(wins=30, losses=10)
        >>> SequentialState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
        True
        """
        if not isinstance(record, Mapping):
            msg = f"`record` must be the dict SequentialState.to_dict() wrote, got {record!r:.80}"
            raise InvalidArgument(msg)
        version = record.get("schema_version")
        if version != STATE_SCHEMA_VERSION or isinstance(version, bool):
            msg = (
                f"`schema_version` {version!r:.40} is not one this version of interleave reads "
                f"({STATE_SCHEMA_VERSION}); restore with the interleave version that wrote it"
            )
            raise InvalidArgument(msg)
        expected = {"schema_version", "test", "data", "statistic", "pvalue", "n_stopped"}
        expected |= {"stopped_decision", "looks"}
        if set(record) != expected:
            msg = (
                f"`record` must have exactly the fields {sorted(expected)}, got "
                f"{sorted(map(str, record))!r:.200}"
            )
            raise InvalidArgument(msg)
        test = _restore("test", record["test"], _TESTS)
        data = _restore("data", record["data"], _KINDS)
        test.start(data)  # the test checks it can read this data (kind, arms)
        statistic = _restore_statistic(record["statistic"])
        pvalue = check_real("pvalue", record["pvalue"], low=0.0, high=1.0)
        looks_value = record["looks"]
        if not isinstance(looks_value, list | tuple):
            msg = f"`looks` must be a list of information fractions, got {looks_value!r:.80}"
            raise InvalidArgument(msg)
        looks = tuple(check_real(f"looks[{i}]", t, low=0.0) for i, t in enumerate(looks_value))
        increasing = all(a < b for a, b in itertools.pairwise(looks))
        if not increasing or any(t >= 1.0 for t in looks[:-1]):
            msg = (
                "`looks` must be strictly increasing information fractions, only the last one "
                f"reaching 1; got {looks_value!r:.80}"
            )
            raise InvalidArgument(msg)
        decision_value, n_stopped = record["stopped_decision"], record["n_stopped"]
        if (decision_value is None) != (n_stopped is None):
            msg = (
                "`stopped_decision` and `n_stopped` must both be None (running) or both set "
                f"(stopped), got {decision_value!r:.40} and {n_stopped!r:.40}"
            )
            raise InvalidArgument(msg)
        decision = None
        if decision_value is not None:
            if decision_value not in ("reject", "accept"):
                msg = f"`stopped_decision` must be 'reject' or 'accept', got {decision_value!r:.40}"
                raise InvalidArgument(msg)
            decision = Decision(decision_value)
            if isinstance(n_stopped, bool) or not isinstance(n_stopped, int | float):
                msg = f"`n_stopped` must be a number, got {n_stopped!r:.40}"
                raise InvalidArgument(msg)
            check_real("n_stopped", n_stopped, low=0.0)
        return cls(test, data, statistic, pvalue, n_stopped, decision, looks)


def _json_statistic(statistic: float) -> float | str:
    # Overwhelming evidence can take a statistic to +-inf, which strict JSON (a web framework's
    # encoder, the event stores') refuses: write it as the string "inf" or "-inf".
    value = float(statistic)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _restore_statistic(value: Any) -> float:
    if value in ("inf", "-inf") and isinstance(value, str):
        return float(value)
    if isinstance(value, float) and math.isinf(value):  # read back by a lenient JSON parser
        return value
    return check_real("statistic", value)


# For SequentialState._from_checked_parts (see interleave._slots).
_STATE_SLOTS = slots_of(
    SequentialState, [field.name for field in dataclasses.fields(SequentialState)]
)
_from_checked_parts = SequentialState._from_checked_parts


def start_state(test: Any, data: Any) -> SequentialState:
    """A fresh state over ``data``; data that already holds observations counts as one look."""
    state = SequentialState(test, data)
    return state if data.n == 0 else state._advance(data)


# ----------------------------------------------------------------------------- argument checks


def check_real(name: str, value: Any, **bounds: Any) -> float:
    """A finite real within ``bounds``, as :func:`interleave._checks.check_real`.

    An int too large for a float is refused by name instead of raising OverflowError.
    """
    try:
        return _check_real(name, value, **bounds)
    except OverflowError:
        msg = f"`{name}` must be a finite real, got an int beyond float range ({value!r:.40})"
        raise InvalidArgument(msg) from None


def check_level(name: str, value: Any) -> float:
    """A significance level (or error rate) in ``[MIN_ALPHA, 1)``."""
    level = check_real(name, value, low=0.0, high=1.0, low_open=True, high_open=True)
    if level < MIN_ALPHA:
        msg = (
            f"`{name}` must be >= {MIN_ALPHA:g} (MIN_ALPHA), got {value!r}; smaller levels are "
            "lost to float64 rounding of 1 - alpha"
        )
        raise InvalidArgument(msg)
    return level


def check_alternative(alternative: Any) -> str:
    """``alternative`` must be one of 'two-sided', 'greater', 'less'."""
    return check_one_of("alternative", alternative, ALTERNATIVES)


def check_tie_policy(tie_policy: Any) -> str:
    """``tie_policy`` must be 'drop' or 'split'."""
    return check_one_of("tie_policy", tie_policy, TIE_POLICIES)


def check_confidence_level(confidence_level: Any) -> float:
    """A confidence level inside (0, 1) with ``1 - confidence_level >= MIN_ALPHA``."""
    level = check_real(
        "confidence_level", confidence_level, low=0.0, high=1.0, low_open=True, high_open=True
    )
    if 1.0 - level < MIN_ALPHA:
        msg = (
            f"`confidence_level` must be <= 1 - {MIN_ALPHA:g} (MIN_ALPHA), got "
            f"{confidence_level!r}; closer to 1 is lost to float64 rounding"
        )
        raise InvalidArgument(msg)
    return level


def check_positive(name: str, value: Any) -> float:
    """A finite real > 0."""
    return check_real(name, value, low=0.0, low_open=True)


def as_count_array(name: str, values: Any, *, whole: bool = True) -> np.ndarray:
    """A non-empty array of counts in ``[0, MAX_COUNT]``: int64, or float64 if ``whole=False``.

    NaN, negatives, counts beyond :data:`MAX_COUNT` and (when ``whole``) fractions are refused.
    """
    array = as_real_array(name, values)
    if np.any(array < 0):
        msg = f"`{name}` must hold non-negative counts, got a minimum of {array.min().item()!r}"
        raise InvalidArgument(msg)
    if np.any(array > MAX_COUNT):
        msg = (
            f"`{name}` must hold counts <= 2**53 (MAX_COUNT), got a maximum of "
            f"{array.max().item()!r}"
        )
        raise InvalidArgument(msg)
    if not whole:
        return array.astype(np.float64)
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
    except (TypeError, ValueError, OverflowError) as exc:  # ragged nested lists, huge ints
        msg = f"`{name}` must be an array of numbers, got {values!r:.80}; ({exc})"
        raise InvalidArgument(msg) from None
    if array.dtype == bool:
        array = array.astype(np.int64)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        msg = (
            f"`{name}` must hold numbers (ints beyond 64 bits are refused), got dtype "
            f"{array.dtype} from {values!r:.80}"
        )
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
    if array.dtype == np.uint64:
        if np.any(array > np.iinfo(np.int64).max):
            msg = f"`{name}` holds values beyond 2**63 - 1, got a maximum of {array.max().item()!r}"
            raise InvalidArgument(msg)
        array = array.astype(np.int64)
    return array


def count_increment(name: str, value: Any) -> int:
    """A whole increment in ``[0, MAX_COUNT]``; fast path for plain ints (the update hot path)."""
    if type(value) is int and 0 <= value <= MAX_COUNT:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        msg = (
            f"`{name}` must be a non-negative integer count, got {value!r:.80} of type "
            f"{type(value).__name__}"
        )
        raise InvalidArgument(msg)
    return int(_check_count_range(name, value))


def amount_increment(name: str, value: Any) -> int | float:
    """A count that may be fractional (expected outcomes): a finite real in ``[0, MAX_COUNT]``.

    Ints stay ints (exact); floats stay floats.
    """
    kind = type(value)
    if (kind is int or kind is float) and 0 <= value <= MAX_COUNT:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        msg = (
            f"`{name}` must be a non-negative count (fractional counts are fine), got "
            f"{value!r:.80} of type {type(value).__name__}"
        )
        raise InvalidArgument(msg)
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        msg = f"`{name}` must be finite, got {value!r}"
        raise InvalidArgument(msg)
    checked = _check_count_range(name, value)
    return int(checked) if isinstance(value, (int, np.integer)) else float(checked)


def _check_count_range(name: str, value: Any) -> Any:
    if value < 0:
        msg = f"`{name}` must be a non-negative count, got {value!r:.80}; counts only grow"
        raise InvalidArgument(msg)
    if value > MAX_COUNT:
        shown = f"{value:.6g}" if isinstance(value, (float, np.floating)) else f"{value!r:.40}"
        msg = (
            f"`{name}` must be <= 2**53 (MAX_COUNT, the last count float64 holds exactly), "
            f"got {shown}"
        )
        raise InvalidArgument(msg)
    return value


def check_total(name: str, total: Any) -> Any:
    """A running total after an update must stay within :data:`MAX_COUNT`."""
    if total > MAX_COUNT:
        msg = f"the running total `{name}` would exceed 2**53 (MAX_COUNT), got {total!r:.40}"
        raise InvalidArgument(msg)
    return total


def real_increment(name: str, value: Any, *, non_negative: bool = False) -> float:
    """A finite real increment (a sum or a sum of squares)."""
    if type(value) is float or type(value) is int:
        try:
            ok = math.isfinite(value) and (not non_negative or value >= 0)
        except OverflowError:  # an int beyond float range
            ok = False
        if ok:
            return float(value)
    return check_real(name, value, low=0.0 if non_negative else None)


MAX_PRIOR = 1e300
"""The largest prior pseudo-count (beta-binomial, Dirichlet) accepted: sums of two stay finite."""

# Below 1e7 a difference of two lgamma values keeps 1e-7 absolute accuracy (ample for a log Bayes
# factor); above, it is taken from Stirling's series, which has no cancellation at all.
_STIRLING_FROM = 1e7


def log_rising_factorial(x: float, d: float) -> float:
    """``lgamma(x + d) - lgamma(x)`` for ``x > 0``, ``d >= 0``, without cancellation.

    Subtracting two ``lgamma`` values loses everything when ``x`` is huge and ``d`` small (at
    ``x = 1e17``, ``x + 1 == x``); above ``x = 1e7`` Stirling's series gives the difference as
    ``(x - 1/2) log1p(d / x) + d log(x + d) - d`` plus corrections below 1e-15.
    """
    if d == 0:
        return 0.0
    if x < _STIRLING_FROM:
        return math.lgamma(x + d) - math.lgamma(x)
    z = x + d
    return (
        (x - 0.5) * math.log1p(d / x)
        + d * math.log(z)
        - d
        + (1.0 / z - 1.0 / x) / 12.0
        - ((1.0 / z) ** 3 - (1.0 / x) ** 3) / 360.0
    )


def log_rising_factorial_array(x: Any, d: Any) -> np.ndarray:
    """:func:`log_rising_factorial` elementwise (``x`` and ``d`` broadcast)."""
    from scipy.special import gammaln

    x, d = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(d, dtype=float))
    large = x >= _STIRLING_FROM
    safe_x = np.where(large, x, _STIRLING_FROM)
    z = safe_x + d
    stirling = (
        (safe_x - 0.5) * np.log1p(d / safe_x)
        + d * np.log(z)
        - d
        + (1.0 / z - 1.0 / safe_x) / 12.0
        - ((1.0 / z) ** 3 - (1.0 / safe_x) ** 3) / 360.0
    )
    small_x = np.where(large, 1.0, x)
    direct = gammaln(small_x + d) - gammaln(small_x)
    return np.where(d == 0, 0.0, np.where(large, stirling, direct))


def z_quantile(confidence_level: float) -> float:
    """The two-sided standard-normal quantile for ``confidence_level``."""
    from scipy.special import ndtri

    return float(ndtri(0.5 + confidence_level / 2.0))


def check_data(data: Any, kinds: tuple[type, ...], test: str) -> Any:
    """``data`` must be one of the sufficient-statistics kinds this test reads."""
    if not isinstance(data, kinds):
        names = ", ".join(k.__name__ for k in kinds)
        msg = f"{test} reads one of {{{names}}}, got {data!r:.120}"
        raise InvalidArgument(msg)
    return data
