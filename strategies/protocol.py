"""What every rollout strategy shares: deterministic routing, mergeable statistics, a verdict.

A strategy is configuration (constructor) plus four pure functions of an immutable state::

    state = strategy.start()
    arms = strategy.route(state, request_keys, users)   # int8 arm per request
    state = strategy.update(state, look)                # one look: a batch of outcomes
    strategy.verdict(state)                             # a Verdict with its evidence

- **Routing** is a pure function of (experiment seed, request key, user) (and, for canary, the
  stage the state is in), through BLAKE2b (:func:`routing_uniforms`) or MD5 buckets: any number of
  workers route a request identically, in any order.
- **Learning** accumulates in sufficient statistics that merge exactly (``a.merge(b)``), so
  partial results from workers combine without re-reading events.
- A **verdict** names the decision, the test that made it (or that nothing has decided yet), the
  estimate, its interval, the p-value, the thresholds and the counts behind them. It is
  recomputed from the state, so every printed number can be checked against the statistics.

The arm codes and the :class:`~interleave.simulate.Look` a strategy reads are those of
:mod:`interleave.simulate`, which runs strategies without importing them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from interleave.errors import InvalidArgument
from interleave.keys import key_digest

__all__ = [
    "CONTINUE",
    "KEEP_PRODUCTION",
    "SHIP_CANDIDATE",
    "Strategy",
    "UserClicks",
    "Verdict",
    "intersect",
    "routing_uniforms",
]

#: The decisions a verdict can carry (canary adds its own stage words).
SHIP_CANDIDATE = "ship the candidate"
KEEP_PRODUCTION = "keep production"
CONTINUE = "keep collecting"

_TWO_TO_64 = float(1 << 64)


def routing_uniforms(seed: int, salt: str, keys: Iterable[Any]) -> np.ndarray:
    """A uniform in [0, 1) per key: the routing coin of (seed, salt, key).

    BLAKE2b keyed with ``key_digest(seed, salt)`` (the canonical encoding of the experiment and
    the strategy) over the request key tagged with its type (``s`` + UTF-8 for a str, ``i`` +
    decimal for an int), first 8 bytes as an integer over 2^64. The same (seed, salt, key) gives
    the same number in any process; keying the hash once per experiment keeps each coin under a
    microsecond, so a million requests route in about a second.

    Examples
    --------
    >>> u = routing_uniforms(42, "ab", ["req_0", "req_1"])
    >>> bool(u[0] == routing_uniforms(42, "ab", ["req_0"])[0]), bool(0 <= u[1] < 1)
    (True, True)
    """
    secret = key_digest(seed, salt)
    blake2b = hashlib.blake2b

    def coin(key: Any) -> float:
        if type(key) is str:
            raw = b"s" + key.encode("utf-8")
        elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            raw = b"i" + str(int(key)).encode("ascii")
        else:
            msg = f"a request key must be a str or an int, got {key!r} of type {type(key).__name__}"
            raise InvalidArgument(msg)
        return int.from_bytes(blake2b(raw, key=secret, digest_size=8).digest(), "little")

    coins = np.fromiter(map(coin, keys), dtype=np.uint64)
    return coins / _TWO_TO_64


class Strategy(Protocol):
    """The protocol every strategy follows (see the module docstring)."""

    name: str
    seed: int
    needs: frozenset[str]

    def start(self) -> Any:
        """The state before any request."""

    def route(self, state: Any, keys: Sequence[Any], users: Any) -> np.ndarray:
        """The arm of each request (``ARM_*`` of :mod:`interleave.simulate`)."""

    def update(self, state: Any, look: Any) -> Any:
        """The state after one more look."""

    def statistics(self, state: Any) -> Any:
        """The state's sufficient statistics: ``a.merge(b)`` combines two workers' exactly."""

    def decision(self, state: Any) -> str:
        """The decision so far (one of the verdict words)."""

    def pvalue(self, state: Any) -> float:
        """The always-valid p-value so far."""

    def verdict(self, state: Any) -> Verdict:
        """The verdict with its evidence."""


@dataclasses.dataclass(frozen=True, slots=True)
class UserClicks:
    """Per-user requests and clicked requests in each arm: mergeable, the unit of A/B analysis.

    Users are integer ids (indices); arrays grow to the largest id seen.

    Attributes
    ----------
    requests
        int64 array (2, n_users): requests of each user served by production (row 0) and by the
        candidate (row 1).
    clicked
        int64 array (2, n_users): of those, requests with at least one click.
    clicks
        int64 array (2,): all clicks in each arm.

    Examples
    --------
    >>> a = UserClicks.empty().add(np.array([0, 1]), np.array([0, 1]), np.array([2, 0]))
    >>> a.n_requests, a.n_clicks, a.n_users_in(1)
    ((1, 1), (2, 0), 1)
    """

    requests: np.ndarray
    clicked: np.ndarray
    clicks: np.ndarray

    @classmethod
    def empty(cls) -> UserClicks:
        """No requests yet."""
        zero = np.zeros((2, 0), dtype=np.int64)
        return cls(zero, zero.copy(), np.zeros(2, dtype=np.int64))

    def add(self, users: np.ndarray, arms: np.ndarray, n_clicks: np.ndarray) -> UserClicks:
        """The counts after requests of ``users`` served by ``arms`` (0/1) got ``n_clicks``."""
        users = np.asarray(users, dtype=np.int64)
        arms = np.asarray(arms, dtype=np.int64)
        n_clicks = np.asarray(n_clicks, dtype=np.int64)
        size = max(self.requests.shape[1], int(users.max()) + 1 if users.size else 0)
        flat = arms * size + users
        requests = np.bincount(flat, minlength=2 * size).reshape(2, size)
        clicked = np.bincount(flat, weights=n_clicks > 0, minlength=2 * size).reshape(2, size)
        clicks = np.bincount(arms, weights=n_clicks, minlength=2)
        return self.merge(UserClicks(requests, clicked.astype(np.int64), clicks.astype(np.int64)))

    def merge(self, other: UserClicks) -> UserClicks:
        """The counts of both (exact: partial results from workers add up)."""
        size = max(self.requests.shape[1], other.requests.shape[1])
        return UserClicks(
            _pad(self.requests, size) + _pad(other.requests, size),
            _pad(self.clicked, size) + _pad(other.clicked, size),
            self.clicks + other.clicks,
        )

    @property
    def n_requests(self) -> tuple[int, int]:
        """Requests per arm."""
        totals = self.requests.sum(axis=1)
        return int(totals[0]), int(totals[1])

    @property
    def n_clicks(self) -> tuple[int, int]:
        """Clicks per arm."""
        return int(self.clicks[0]), int(self.clicks[1])

    def n_users_in(self, arm: int) -> int:
        """Users with at least one request in ``arm``."""
        return int((self.requests[arm] > 0).sum())

    def per_user_ctr(self, arm: int) -> np.ndarray:
        """Clicked share of each user's requests in ``arm`` (users with requests there)."""
        seen = self.requests[arm] > 0
        return self.clicked[arm][seen] / self.requests[arm][seen]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UserClicks):
            return NotImplemented
        size = max(self.requests.shape[1], other.requests.shape[1])
        return (
            np.array_equal(_pad(self.requests, size), _pad(other.requests, size))
            and np.array_equal(_pad(self.clicked, size), _pad(other.clicked, size))
            and np.array_equal(self.clicks, other.clicks)
        )

    __hash__ = None  # type: ignore[assignment]


def intersect(running: tuple[float, float], interval: Any) -> tuple[float, float]:
    """The running intersection of an always-valid interval with the ones before it.

    Intersecting a confidence sequence over looks keeps its coverage (it holds at every look
    simultaneously, so it holds for the intersection), and it makes the interval agree with a
    decision that stays made: once it excludes no effect, it keeps excluding it (Howard, Ramdas,
    McAuliffe & Sekhon, AoS 2021, section 2).

    Examples
    --------
    >>> from interleave.stats import ConfidenceInterval
    >>> intersect((0.1, 0.9), ConfidenceInterval(0.0, 0.5, 0.95))
    (0.1, 0.5)
    """
    return max(running[0], float(interval.low)), min(running[1], float(interval.high))


def _pad(array: np.ndarray, size: int) -> np.ndarray:
    if array.shape[-1] == size:
        return array
    out = np.zeros((*array.shape[:-1], size), dtype=array.dtype)
    out[..., : array.shape[-1]] = array
    return out


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a strategy concludes, with the evidence it concluded from.

    Attributes
    ----------
    strategy
        The strategy's name.
    decision
        :data:`SHIP_CANDIDATE`, :data:`KEEP_PRODUCTION`, :data:`CONTINUE`, or a strategy's own
        word (canary: promote / hold / roll back; shadow: unhealthy).
    decided_by
        The test that made the decision, with its level; while nothing has decided, the test
        that is watching.
    effect
        What ``estimate`` measures (e.g. "per-user CTR, candidate - production").
    estimate, low, high, confidence_level
        The effect and its interval; for a sequential test the running intersection of its
        always-valid intervals over the looks (:func:`intersect`), which agrees with the
        decision.
    pvalue
        The p-value of the deciding test (always-valid: running minimum over looks).
    n_requests
        Requests seen.
    n_candidate_requests, n_candidate_users
        Requests and users that saw the candidate's items.
    n_clicks
        Clicks seen, all arms.
    requests_to_decide
        Requests seen when the decision was made, ``None`` while it continues.
    thresholds
        ``(name, value)`` pairs the decision compared against (alpha, margins, ...).
    evidence
        ``(name, value)`` pairs of the other checks and counts (sample ratio, balance, ...).
    """

    strategy: str
    decision: str
    decided_by: str
    effect: str
    estimate: float
    low: float
    high: float
    confidence_level: float
    pvalue: float
    n_requests: int
    n_candidate_requests: int
    n_candidate_users: int
    n_clicks: int
    requests_to_decide: int | None
    thresholds: tuple[tuple[str, Any], ...] = ()
    evidence: tuple[tuple[str, Any], ...] = ()

    @property
    def decided(self) -> bool:
        """Whether a test has made the decision (it is not :data:`CONTINUE`)."""
        return self.requests_to_decide is not None

    def interval_text(self) -> str:
        """``estimate [low, high]`` as printed in the demo's table (``n/a`` before any data)."""
        if math.isnan(self.estimate):
            return "n/a"
        low = "-inf" if math.isinf(self.low) else f"{self.low:+.3f}"
        high = "inf" if math.isinf(self.high) else f"{self.high:+.3f}"
        return f"{self.estimate:+.3f} [{low}, {high}]"

    def __str__(self) -> str:
        when = (
            f"after {self.requests_to_decide} requests"
            if self.requests_to_decide is not None
            else f"undecided after {self.n_requests} requests"
        )
        return (
            f"{self.strategy}: {self.decision} ({self.decided_by}; {when}); {self.effect} "
            f"{self.interval_text()} at {self.confidence_level:.0%}, p = {self.pvalue:.3g}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (infinite bounds as None)."""
        out = dataclasses.asdict(self)
        for name in ("low", "high", "estimate", "pvalue"):
            if isinstance(out[name], float) and not math.isfinite(out[name]):
                out[name] = None
        out["thresholds"] = {k: _plain(v) for k, v in self.thresholds}
        out["evidence"] = {k: _plain(v) for k, v in self.evidence}
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
