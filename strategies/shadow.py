"""Shadow ("dark launch"): production answers every request; the candidate runs beside it, unseen.

Two halves:

- :class:`ShadowRunner`, for a live service: ``serve(request)`` calls production, hands the
  request to the candidate in a thread pool and returns production's answer without waiting. The
  candidate's exceptions and timeouts are counted, never raised to the caller; when the pool is
  saturated (more than ``max_pending`` candidate calls in flight) the shadow call is shed and
  counted, so production's overhead stays bounded by one queue submission. A thread cannot be
  killed: a candidate call past its timeout finishes in its worker and its answer is discarded.
  :meth:`ShadowRunner.report` gives latency percentiles of both, error, timeout and shed rates,
  production's overhead, and the output divergence per request.
- :class:`Shadow`, the strategy the simulation runs: every request is served by production and the
  candidate's list is compared with it (top-k overlap, Kendall tau, rank-biased overlap); in
  simulation the click model also says what the same user would have clicked on the candidate's
  list, a counterfactual win/loss read by a sequential test.

Divergence measures: overlap@k = |top-k of a and b| / k; Kendall's tau-b over the items both lists
hold (NaN with fewer than two); rank-biased overlap, extrapolated (Webber, Moffat & Zobel, TOIS
2010, eq. 32): ``RBO = A_k p^k + (1 - p) / p * sum_{d <= k} A_d p^d`` with ``A_d`` the overlap at
depth ``d``, 1 for identical lists.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from interleave._checks import check_int, check_real
from interleave.errors import InvalidArgument
from interleave.simulate import ARM_SHADOW
from interleave.stats import Decision, MixtureSPRT, SequentialState, WinLoss
from strategies.protocol import CONTINUE, KEEP_PRODUCTION, SHIP_CANDIDATE, Verdict, intersect

__all__ = [
    "UNHEALTHY",
    "Divergence",
    "Shadow",
    "ShadowCounts",
    "ShadowReport",
    "ShadowRunner",
    "ShadowState",
    "kendall_tau",
    "overlap_at_k",
    "rank_biased_overlap",
]

UNHEALTHY = "candidate unhealthy"


def overlap_at_k(a: Sequence[Any], b: Sequence[Any], k: int | None = None) -> float:
    """Share of the top ``k`` items the two lists have in common.

    Examples
    --------
    >>> overlap_at_k([1, 2, 3, 4], [2, 1, 5, 6], k=2)
    1.0
    """
    k = max(len(a), len(b)) if k is None else check_int("k", k, minimum=1)
    if k == 0:
        return 1.0
    return len(set(a[:k]) & set(b[:k])) / k


def kendall_tau(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Kendall's tau between the orders of the items both lists hold (NaN if fewer than two).

    Examples
    --------
    >>> kendall_tau([1, 2, 3], [3, 2, 1]), kendall_tau([1, 2, 3, 9], [1, 2, 3, 8])
    (-1.0, 1.0)
    """
    rank_b = {item: r for r, item in enumerate(b)}
    common = [rank_b[item] for item in a if item in rank_b]
    n = len(common)
    if n < 2:
        return math.nan
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            if common[i] < common[j]:
                concordant += 1
            else:
                discordant += 1
    return (concordant - discordant) / (n * (n - 1) / 2)


def rank_biased_overlap(a: Sequence[Any], b: Sequence[Any], p: float = 0.9) -> float:
    """Extrapolated rank-biased overlap of two lists of equal depth (Webber et al. 2010).

    Examples
    --------
    >>> rank_biased_overlap([1, 2, 3], [1, 2, 3])
    1.0
    >>> round(rank_biased_overlap([1, 2, 3], [4, 5, 6]), 6)
    0.0
    """
    p = check_real("p", p, low=0.0, high=1.0, low_open=True, high_open=True)
    k = min(len(a), len(b))
    if k == 0:
        return 1.0
    seen_a: set = set()
    seen_b: set = set()
    overlap = 0
    total = 0.0
    agreement = 0.0
    for d in range(1, k + 1):
        x, y = a[d - 1], b[d - 1]
        if x == y:
            overlap += 1
        else:
            overlap += (x in seen_b) + (y in seen_a)
        seen_a.add(x)
        seen_b.add(y)
        agreement = overlap / d
        total += agreement * p**d
    return float(min(1.0, agreement * p**k + (1 - p) / p * total))


@functools.lru_cache(maxsize=4096)
def _measures(a: tuple, b: tuple) -> tuple[float, float, float]:
    # Simulated contexts repeat the same pair of lists many times: measure each pair once.
    return overlap_at_k(a, b), rank_biased_overlap(a, b), kendall_tau(a, b)


@dataclasses.dataclass(frozen=True)
class Divergence:
    """Sums of the divergence measures over requests (mergeable); means by property."""

    n: int = 0
    overlap: float = 0.0
    rbo: float = 0.0
    tau: float = 0.0
    n_tau: int = 0

    @classmethod
    def of(cls, pairs: Sequence[tuple[Sequence[Any], Sequence[Any]]]) -> Divergence:
        """The sums over ``(production list, candidate list)`` pairs."""
        out = cls()
        for a, b in pairs:
            out = out.merge(cls._one(tuple(a), tuple(b)))
        return out

    @staticmethod
    def _one(a: tuple, b: tuple, count: int = 1) -> Divergence:
        overlap, rbo, tau = _measures(a, b)
        has_tau = not math.isnan(tau)
        return Divergence(
            count,
            count * overlap,
            count * rbo,
            count * tau if has_tau else 0.0,
            count if has_tau else 0,
        )

    def merge(self, other: Divergence) -> Divergence:
        """Both sums."""
        return Divergence(
            self.n + other.n,
            self.overlap + other.overlap,
            self.rbo + other.rbo,
            self.tau + other.tau,
            self.n_tau + other.n_tau,
        )

    def __eq__(self, other: object) -> bool:
        # Counts compare exactly; float sums to rounding (addition order differs across workers).
        if not isinstance(other, Divergence):
            return NotImplemented
        return (
            self.n == other.n
            and self.n_tau == other.n_tau
            and all(
                math.isclose(getattr(self, f), getattr(other, f), rel_tol=1e-12, abs_tol=1e-12)
                for f in ("overlap", "rbo", "tau")
            )
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def mean_overlap(self) -> float:
        """Mean overlap@k."""
        return self.overlap / self.n if self.n else math.nan

    @property
    def mean_rbo(self) -> float:
        """Mean rank-biased overlap."""
        return self.rbo / self.n if self.n else math.nan

    @property
    def mean_tau(self) -> float:
        """Mean Kendall tau over requests where it is defined."""
        return self.tau / self.n_tau if self.n_tau else math.nan


# ------------------------------------------------------------------------------ live runner


@dataclasses.dataclass(frozen=True)
class ShadowReport:
    """What a :class:`ShadowRunner` measured.

    Attributes
    ----------
    n_requests
        Requests served (every one answered by production).
    n_ok, n_errors, n_timeouts, n_shed
        Candidate calls that answered in time, raised, ran past the timeout, or were not made
        because the pool was saturated; they add up to ``n_requests``.
    production_latency, candidate_latency, overhead
        Seconds, one entry per call: production's own time; the candidate's time (answered
        calls); what ``serve`` added on top of production (the submission to the pool).
    divergence
        Sums of the divergence measures over answered calls.
    error_types
        ``(exception type name, count)`` pairs.
    """

    n_requests: int
    n_ok: int
    n_errors: int
    n_timeouts: int
    n_shed: int
    production_latency: np.ndarray = dataclasses.field(repr=False)
    candidate_latency: np.ndarray = dataclasses.field(repr=False)
    overhead: np.ndarray = dataclasses.field(repr=False)
    divergence: Divergence
    error_types: tuple[tuple[str, int], ...]

    @staticmethod
    def percentiles(values: np.ndarray) -> dict[str, float]:
        """p50, p95, p99 of ``values`` (NaN when empty)."""
        if len(values) == 0:
            return {"p50": math.nan, "p95": math.nan, "p99": math.nan}
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {"p50": float(p50), "p95": float(p95), "p99": float(p99)}

    @property
    def error_rate(self) -> float:
        """Candidate calls that raised, per request."""
        return self.n_errors / self.n_requests if self.n_requests else 0.0

    @property
    def timeout_rate(self) -> float:
        """Candidate calls past the timeout, per request."""
        return self.n_timeouts / self.n_requests if self.n_requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict with the percentiles instead of the raw latencies."""
        return {
            "n_requests": self.n_requests,
            "n_ok": self.n_ok,
            "n_errors": self.n_errors,
            "n_timeouts": self.n_timeouts,
            "n_shed": self.n_shed,
            "error_rate": self.error_rate,
            "timeout_rate": self.timeout_rate,
            "production_latency": self.percentiles(self.production_latency),
            "candidate_latency": self.percentiles(self.candidate_latency),
            "overhead": self.percentiles(self.overhead),
            "mean_overlap": self.divergence.mean_overlap,
            "mean_rbo": self.divergence.mean_rbo,
            "mean_kendall_tau": self.divergence.mean_tau,
            "error_types": dict(self.error_types),
        }

    def __str__(self) -> str:
        overhead = self.percentiles(self.overhead)
        return (
            f"shadow: {self.n_requests} requests; candidate ok {self.n_ok}, errors "
            f"{self.n_errors}, timeouts {self.n_timeouts}, shed {self.n_shed}; production "
            f"overhead p99 {overhead['p99'] * 1e6:.0f} us; mean RBO {self.divergence.mean_rbo:.3f}"
        )


class ShadowRunner:
    """Serve production, run the candidate beside it in a worker pool; see the module docstring.

    Parameters
    ----------
    production, candidate
        Callables ``request -> list of items``.
    timeout
        Seconds a candidate call may take; a slower answer is discarded and counted.
    max_workers
        Threads running candidate calls.
    max_pending
        Candidate calls allowed in flight before new ones are shed; ``None`` means no limit.

    Examples
    --------
    >>> with ShadowRunner(lambda r: [1, 2, 3], lambda r: [2, 1, 3], timeout=1.0) as runner:
    ...     answers = [runner.serve(i) for i in range(5)]
    >>> answers[0], runner.report().n_ok
    ([1, 2, 3], 5)
    """

    def __init__(
        self,
        production: Callable[[Any], Sequence[Any]],
        candidate: Callable[[Any], Sequence[Any]],
        *,
        timeout: float = 0.1,
        max_workers: int = 4,
        max_pending: int | None = 1000,
    ) -> None:
        if not callable(production) or not callable(candidate):
            msg = "`production` and `candidate` must be callables taking a request"
            raise InvalidArgument(msg)
        self._production = production
        self._candidate = candidate
        self.timeout = check_real("timeout", timeout, low=0.0, low_open=True)
        self.max_workers = check_int("max_workers", max_workers, minimum=1)
        self.max_pending = (
            None if max_pending is None else check_int("max_pending", max_pending, minimum=1)
        )
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="shadow")
        self._lock = threading.Lock()
        self._pending = 0
        self._counts = {"requests": 0, "ok": 0, "errors": 0, "timeouts": 0, "shed": 0}
        self._production_latency: list[float] = []
        self._candidate_latency: list[float] = []
        self._overhead: list[float] = []
        self._divergence = Divergence()
        self._error_types: dict[str, int] = {}
        self._closed = False

    def serve(self, request: Any) -> Sequence[Any]:
        """Production's answer to ``request``; the candidate's call is only submitted."""
        start = time.perf_counter()
        answer = self._production(request)
        answered = time.perf_counter()
        with self._lock:
            self._counts["requests"] += 1
            shed = self._closed or (
                self.max_pending is not None and self._pending >= self.max_pending
            )
            if shed:
                self._counts["shed"] += 1
            else:
                self._pending += 1
        if not shed:
            try:
                self._pool.submit(self._shadow, request, answer)
            except RuntimeError:  # the pool shut down between the check and the submission
                with self._lock:
                    self._pending -= 1
                    self._counts["shed"] += 1
        done = time.perf_counter()
        with self._lock:
            self._production_latency.append(answered - start)
            self._overhead.append(done - answered)
        return answer

    def _shadow(self, request: Any, answer: Sequence[Any]) -> None:
        start = time.perf_counter()
        try:
            output = self._candidate(request)
        except Exception as error:
            with self._lock:
                self._pending -= 1
                self._counts["errors"] += 1
                name = type(error).__name__
                self._error_types[name] = self._error_types.get(name, 0) + 1
            return
        elapsed = time.perf_counter() - start
        divergence = None
        if elapsed <= self.timeout:
            try:
                divergence = Divergence.of([(answer, output)])
            except Exception:
                divergence = None
                elapsed = -1.0
        with self._lock:
            self._pending -= 1
            if elapsed < 0:
                self._counts["errors"] += 1
                self._error_types["IncomparableOutput"] = (
                    self._error_types.get("IncomparableOutput", 0) + 1
                )
            elif divergence is None:
                self._counts["timeouts"] += 1
            else:
                self._counts["ok"] += 1
                self._candidate_latency.append(elapsed)
                self._divergence = self._divergence.merge(divergence)

    def report(self) -> ShadowReport:
        """Everything measured so far (call :meth:`close` first to include calls in flight)."""
        with self._lock:
            c = dict(self._counts)
            return ShadowReport(
                c["requests"],
                c["ok"],
                c["errors"],
                c["timeouts"],
                c["shed"],
                np.array(self._production_latency),
                np.array(self._candidate_latency),
                np.array(self._overhead),
                self._divergence,
                tuple(sorted(self._error_types.items())),
            )

    def close(self) -> ShadowReport:
        """Wait for the candidate calls in flight, stop the pool, return the report."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True)
        return self.report()

    def __enter__(self) -> ShadowRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------ simulated strategy


@dataclasses.dataclass(frozen=True)
class ShadowCounts:
    """What shadow learns, mergeable: divergence sums, counterfactual outcomes, errors, clicks.

    Attributes
    ----------
    divergence
        Sums of the divergence measures over requests the candidate answered.
    outcomes
        Counterfactual wins, losses and ties of the candidate's list.
    n_requests, n_errors, n_clicks, n_counterfactual_clicks
        Requests, candidate failures, clicks on production's lists, clicks the click model drew
        on the candidate's lists.
    users
        Users seen.
    """

    divergence: Divergence = dataclasses.field(default_factory=Divergence)
    outcomes: WinLoss = dataclasses.field(default_factory=WinLoss)
    n_requests: int = 0
    n_errors: int = 0
    n_clicks: int = 0
    n_counterfactual_clicks: int = 0
    users: frozenset = frozenset()

    def merge(self, other: ShadowCounts) -> ShadowCounts:
        """Both counts (exact)."""
        return ShadowCounts(
            self.divergence.merge(other.divergence),
            self.outcomes.update(
                wins=int(other.outcomes.n_wins),
                losses=int(other.outcomes.n_losses),
                ties=int(other.outcomes.n_ties),
            ),
            self.n_requests + other.n_requests,
            self.n_errors + other.n_errors,
            self.n_clicks + other.n_clicks,
            self.n_counterfactual_clicks + other.n_counterfactual_clicks,
            self.users | other.users,
        )


@dataclasses.dataclass(frozen=True)
class ShadowState:
    """Shadow's counts, the sequential test's state and the sign at its stop."""

    counts: ShadowCounts
    sequential: SequentialState
    direction: int
    interval: tuple[float, float] = (-math.inf, math.inf)  # win rate, intersected over looks
    stopped_at: int | None = None  # requests seen (failed ones included) when the test stopped
    unhealthy_at: int | None = None  # requests seen when the error rate last crossed the limit

    @property
    def n_requests(self) -> int:
        """Requests seen."""
        return self.counts.n_requests


@dataclasses.dataclass(frozen=True)
class Shadow:
    """Shadow test in simulation: production serves, the candidate is compared and never shown.

    Parameters
    ----------
    seed
        Experiment seed (every request is shadowed: routing does not draw).
    max_error_rate
        The candidate is unhealthy when its error rate exceeds this (after 100 requests).
    test
        Sequential test of the counterfactual wins and losses; ``None`` means a mixture SPRT at
        alpha 0.05 tuned at 1,000 decisive comparisons.

    Examples
    --------
    >>> shadow = Shadow(seed=1)
    >>> shadow.route(shadow.start(), ["req_0"], [0]).tolist()
    [3]
    """

    seed: int = 0
    max_error_rate: float = 0.05
    test: MixtureSPRT | None = None
    name: str = "shadow"
    needs: frozenset[str] = frozenset({"counterfactual"})

    def __post_init__(self) -> None:
        check_int("seed", self.seed, minimum=0)
        check_real("max_error_rate", self.max_error_rate, low=0.0, high=1.0)
        if self.test is None:
            object.__setattr__(self, "test", MixtureSPRT(alpha=0.05, n_opt=1000))

    def start(self) -> ShadowState:
        """Nothing seen."""
        return ShadowState(ShadowCounts(), self.test.start(), 0)

    def route(self, state: ShadowState, keys: Sequence[Any], users: Any) -> np.ndarray:
        """Every request is shadowed: production shown, candidate computed beside it."""
        return np.full(len(keys), ARM_SHADOW, dtype=np.int8)

    def update(self, state: ShadowState, look: Any) -> ShadowState:
        """Add one look: divergence per request, counterfactual win/loss, candidate errors."""
        batch = self.counts_of(look)
        sequential = state.sequential.update(
            wins=int(batch.outcomes.n_wins),
            losses=int(batch.outcomes.n_losses),
            ties=int(batch.outcomes.n_ties),
        )
        direction, stopped_at = state.direction, state.stopped_at
        if direction == 0 and sequential.stopped:
            direction = 1 if sequential.data.n_wins > sequential.data.n_losses else -1
            stopped_at = state.n_requests + len(look)
        interval = intersect(state.interval, sequential.confidence_interval())
        counts = state.counts.merge(batch)
        unhealthy_at = None
        if self._unhealthy(counts):  # since when: the look it crossed, kept while it stays over
            unhealthy_at = state.unhealthy_at or counts.n_requests
        return ShadowState(counts, sequential, direction, interval, stopped_at, unhealthy_at)

    @staticmethod
    def counts_of(look: Any) -> ShadowCounts:
        """The counts of one look: divergence per request, counterfactual win/loss, errors."""
        ok = ~np.asarray(look.error, dtype=bool)
        production = np.asarray(look.production_items)[ok]
        candidate = np.asarray(look.candidate_items)[ok]
        divergence = Divergence()
        if len(production):
            pairs, counts = np.unique(
                np.concatenate([production, candidate], axis=1), axis=0, return_counts=True
            )
            depth = production.shape[1]
            for row, count in zip(pairs.tolist(), counts.tolist(), strict=True):
                divergence = divergence.merge(
                    Divergence._one(tuple(row[:depth]), tuple(row[depth:]), count)
                )
        # The same user, both lists: a click on the candidate's list only is a win, on
        # production's only a loss.
        real = np.asarray(look.n_clicks)[ok] > 0
        counterfactual = np.asarray(look.counterfactual_clicks)[ok] > 0
        wins = int((counterfactual & ~real).sum())
        losses = int((real & ~counterfactual).sum())
        return ShadowCounts(
            divergence,
            WinLoss(wins, losses, int(ok.sum()) - wins - losses),
            len(look),
            int((~ok).sum()),
            int(np.asarray(look.n_clicks).sum()),
            int(np.asarray(look.counterfactual_clicks)[ok].sum()),  # lists the candidate made
            frozenset(np.unique(look.requests.user).tolist()),
        )

    def statistics(self, state: ShadowState) -> ShadowCounts:
        """The mergeable counts."""
        return state.counts

    def _unhealthy(self, counts: ShadowCounts) -> bool:
        n = counts.n_requests
        return n >= 100 and counts.n_errors / n > self.max_error_rate

    def decision(self, state: ShadowState) -> str:
        """Unhealthy, or what the counterfactual clicks say (ship, keep, keep collecting)."""
        if self._unhealthy(state.counts):
            return UNHEALTHY
        if state.sequential.decision is not Decision.REJECT:
            return CONTINUE
        return SHIP_CANDIDATE if state.direction > 0 else KEEP_PRODUCTION

    def pvalue(self, state: ShadowState) -> float:
        """The always-valid p-value of the counterfactual comparison."""
        return state.sequential.pvalue

    def verdict(self, state: ShadowState) -> Verdict:
        """The decision with divergence, errors and the counterfactual comparison."""
        data: WinLoss = state.sequential.data
        decisive = int(data.n_wins + data.n_losses)
        interval = state.sequential.confidence_interval()  # for its level
        low, high = state.interval
        decision = self.decision(state)
        n = state.n_requests
        return Verdict(
            strategy=self.name,
            decision=decision,
            decided_by=(
                f"health: error rate > {self.max_error_rate:g}"
                if decision == UNHEALTHY
                else f"mixture SPRT (alpha {self.test.alpha:g}) on counterfactual clicks "
                "(simulation only: no user saw the candidate)"
            ),
            effect="counterfactual win rate - 1/2",
            estimate=(data.n_wins / decisive - 0.5) if decisive else 0.0,
            low=low - 0.5,
            high=high - 0.5,
            confidence_level=interval.confidence_level,
            pvalue=state.sequential.pvalue,
            n_requests=n,
            n_candidate_requests=0,
            n_candidate_users=0,
            n_clicks=state.counts.n_clicks,
            requests_to_decide=(state.unhealthy_at if decision == UNHEALTHY else state.stopped_at),
            thresholds=(("alpha", self.test.alpha), ("max_error_rate", self.max_error_rate)),
            evidence=(
                ("users", len(state.counts.users)),
                ("error_rate", state.counts.n_errors / n if n else 0.0),
                ("mean_overlap", state.counts.divergence.mean_overlap),
                ("mean_rbo", state.counts.divergence.mean_rbo),
                ("mean_kendall_tau", state.counts.divergence.mean_tau),
                ("counterfactual_clicks", state.counts.n_counterfactual_clicks),
                ("wins", int(data.n_wins)),
                ("losses", int(data.n_losses)),
                ("ties", int(data.n_ties)),
            ),
        )
