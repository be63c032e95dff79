"""A live interleaving experiment inside a recommender API.

``serve`` merges the rankers' lists for one request and opens an *impression*; ``record_click``
collects clicks on it; when its attribution window closes (a time after serving, or the end of the
user's session), the impression is credited **once** and its outcome updates the running
sequential test. ``result()`` reads that running state: it is updated incrementally, never by
re-reading the log.

Every event is appended to a durable :mod:`~interleave.serving.stores` store before the call
returns, so after a restart ``Experiment(..., store=same_path)`` replays the events and resumes:
the sequential state restored exactly, open impressions still open (their clicks included),
closed ones still closed.

Threads: every method may be called from any number of threads. The interleaving itself (pure)
runs outside the lock; bookkeeping and the store append run under one lock, so the events are in
the store in the order their effects were applied.

Attribution rules, chosen so that no impression counts twice:

- an impression's clicks accumulate (a repeated click on the same position is counted as a
  duplicate and ignored); ``correct_clicks`` replaces the whole click set of an open impression;
- an impression is credited when its window has passed (checked on every call, and by
  ``close_expired``), when ``end_session(user)`` is called, or by ``close(impression_id)``;
- a click on an unknown impression, on a closed one, or at a position outside the shown list is
  rejected (never raised) and counted by reason in ``result().rejected_clicks``;
- serving the same request key again returns the same impression (a retried request is not a
  second impression).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from interleave._checks import check_real
from interleave.errors import InvalidArgument
from interleave.methods.base import Interleaver
from interleave.methods.team_draft import TeamDraft
from interleave.ranking import Interleaving
from interleave.serving.stores import EVENT_SCHEMA_VERSION, EventStore, _one_shot, open_store
from interleave.stats import MixtureSPRT, SequentialState, WinLoss, paired_test

__all__ = ["ClickReceipt", "Experiment", "ExperimentResult", "Served"]

REJECT_REASONS = ("unknown_impression", "closed_impression", "bad_position")
HISTORY_POINTS = 512  # the preference path keeps at most 2x this many points (thinned evenly)


@dataclass(frozen=True, slots=True)
class Served:
    """What ``serve`` returns: the list to show and the id to report its clicks under."""

    impression_id: str
    interleaving: Interleaving
    repeated: bool = False
    """True when this request key had been served before (the same impression is returned)."""

    @property
    def items(self) -> tuple:
        """The merged list to show, best first."""
        return self.interleaving.items

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the impression id, the shown items and the full record."""
        return {
            "impression_id": self.impression_id,
            "items": list(self.interleaving.items),
            "record": self.interleaving.to_dict(),
            "repeated": self.repeated,
        }


@dataclass(frozen=True, slots=True)
class ClickReceipt:
    """What ``record_click`` returns: accepted, or rejected with the reason (never raised)."""

    accepted: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.accepted


@dataclass(frozen=True)
class ExperimentResult:
    """The live state of an experiment; every number it prints is recomputed from its fields.

    Attributes
    ----------
    experiment_id, method
        Which experiment, and the interleaving method serving it.
    n_impressions, n_open, n_credited
        Impressions served, still collecting clicks, and credited.
    n_clicks
        Accepted clicks (on open impressions).
    rejected_clicks
        Rejected clicks by reason: unknown or closed impression, position outside the list.
    win_loss
        Credited outcomes of the candidate against the baseline (fractional for probabilistic
        credit).
    state
        The running sequential test (one look per credited impression).
    per_user
        ``{user: (sum of outcomes, impressions)}`` of credited impressions, for the per-user test.
    history
        ``(n_credited, win_rate, low, high)`` after credited impressions, thinned to at most about
        a thousand points: the preference and its confidence sequence over time.
    """

    experiment_id: str
    method: str
    n_impressions: int
    n_open: int
    n_credited: int
    n_clicks: int
    rejected_clicks: dict[str, int]
    win_loss: WinLoss
    state: SequentialState
    per_user: dict[str, tuple[float, int]] = field(repr=False)
    history: tuple[tuple[float, float, float, float], ...] = field(repr=False)

    @property
    def decision(self) -> str:
        """The sequential test's decision: ``continue``, ``reject`` (a difference) or ``accept``."""
        return str(self.state.decision)

    @property
    def verdict(self) -> str:
        """The decision in words: which ranker is better, or keep collecting."""
        decision = self.decision
        if decision == "reject":
            return "candidate better" if self.win_rate > 0.5 else "production better"
        return "no difference" if decision == "accept" else "keep collecting"

    @property
    def win_rate(self) -> float:
        """Wins over decided comparisons (ties left out); NaN before the first."""
        decided = self.win_loss.n_wins + self.win_loss.n_losses
        return float(self.win_loss.n_wins / decided) if decided else math.nan

    def per_user_test(self) -> Any:
        """Paired t-test of the per-user mean outcome (``None``: under two users, or no spread).

        Per user is the unit a defensible analysis uses: a heavy user counts once.
        """
        means = [total / n for total, n in self.per_user.values() if n]
        if len(means) < 2 or len(set(means)) < 2:
            return None
        return paired_test(means)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, the sequential state as its own ``to_dict``."""
        interval = self.state.confidence_interval()
        user_test = self.per_user_test()
        return {
            "experiment_id": self.experiment_id,
            "method": self.method,
            "n_impressions": self.n_impressions,
            "n_open": self.n_open,
            "n_credited": self.n_credited,
            "n_clicks": self.n_clicks,
            "rejected_clicks": dict(self.rejected_clicks),
            "wins": float(self.win_loss.n_wins),
            "losses": float(self.win_loss.n_losses),
            "ties": float(self.win_loss.n_ties),
            "win_rate": None if math.isnan(self.win_rate) else self.win_rate,
            "decision": self.decision,
            "verdict": self.verdict,
            "decided_by": type(self.state.test).__name__,
            "pvalue": float(self.state.pvalue),
            "interval": {
                "low": interval.low,
                "high": interval.high,
                "confidence_level": interval.confidence_level,
            },
            "n_users": len(self.per_user),
            "per_user_pvalue": None if user_test is None else float(user_test.pvalue),
            "state": self.state.to_dict(),
            "history": [list(point) for point in self.history],
        }

    def __str__(self) -> str:
        interval = self.state.confidence_interval()
        wl = self.win_loss
        return (
            f"{self.experiment_id} ({self.method}): {self.n_impressions} impressions "
            f"({self.n_open} open, {self.n_credited} credited); candidate wins {wl.n_wins:g}, "
            f"losses {wl.n_losses:g}, ties {wl.n_ties:g}; win rate {self.win_rate:.3f} "
            f"({interval.confidence_level:.0%} confidence sequence {interval.low:.3f}-"
            f"{interval.high:.3f}); {type(self.state.test).__name__} p = "
            f"{float(self.state.pvalue):.3g}: {self.verdict}"
        )


@dataclass(slots=True)
class _Open:
    record: Interleaving
    user: str
    deadline: float
    clicks: set[int]


_KEY_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_encode_key = _one_shot(_KEY_ENCODER)


def _impression_id(experiment_id: str, key: Any) -> str:
    # A pure function of (experiment, request key): a retried request maps to the same impression.
    # (One shared encoder, set up once: json.dumps with options would build one per call.)
    payload = _encode_key([experiment_id, key])
    try:
        raw = payload.encode()
    except UnicodeEncodeError as error:  # a lone surrogate ('\ud800'): no store can keep it
        msg = (
            f"`request_key` {key!r} is not valid Unicode text ({error.reason} at character "
            f"{error.start}): the event store keeps UTF-8; pass the key as valid text or an int"
        )
        raise InvalidArgument(msg) from None
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def _check_request_key(key: Any) -> Any:
    if isinstance(key, bool) or not isinstance(key, (str, int, tuple)):
        msg = (
            f"`request_key` must be a str, int or tuple of them identifying the request, got "
            f"{key!r} of type {type(key).__name__}"
        )
        raise InvalidArgument(msg)
    if isinstance(key, tuple):
        if not key or not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in key):
            msg = f"`request_key` tuple must hold str or int parts, got {key!r}"
            raise InvalidArgument(msg)
        return list(key)
    return key


class Experiment:
    """A live interleaving experiment: serve, record clicks, read the running result.

    Parameters
    ----------
    experiment_id
        A name for the experiment; events in a shared store are kept apart by it.
    method
        The interleaver (default ``TeamDraft(length=10)``). Ranker ``baseline`` is production,
        ``candidate`` the new ranker (indices into the rankings passed to ``serve``).
    seed
        The experiment seed: the shown list is a pure function of (seed, request key).
    store
        A file path (``.ndjson``/``.jsonl``: NDJSON, else SQLite), an
        :class:`~interleave.serving.stores.EventStore`, or ``None`` (in memory, not durable).
    attribution_window
        Seconds after serving during which clicks count (default 1800, half an hour).
    test
        The sequential test (default :class:`~interleave.stats.MixtureSPRT`), updated once per
        credited impression.
    clock
        Seconds since the epoch when a call gives no ``at`` (default ``time.time``).

    Examples
    --------
    >>> exp = Experiment("demo", seed=7)
    >>> served = exp.serve("request-1", [[1, 2, 3], [3, 4, 5]], user="u1", at=0.0)
    >>> bool(exp.record_click(served.impression_id, 0, at=5.0))
    True
    >>> exp.close(served.impression_id, at=6.0)
    >>> exp.result().n_credited
    1
    """

    def __init__(
        self,
        experiment_id: str,
        method: Interleaver | None = None,
        *,
        seed: int,
        store: Any = None,
        attribution_window: float = 1800.0,
        test: Any = None,
        candidate: int = 1,
        baseline: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(experiment_id, str) or not experiment_id:
            msg = f"`experiment_id` must be a non-empty str, got {experiment_id!r}"
            raise InvalidArgument(msg)
        self.experiment_id = experiment_id
        self.method = TeamDraft(length=10) if method is None else method
        if not isinstance(self.method, Interleaver):
            msg = (
                f"`method` must be an interleaver such as TeamDraft(length=10), got "
                f"{type(self.method).__name__}"
            )
            raise InvalidArgument(msg)
        if isinstance(seed, bool) or not isinstance(seed, int):
            msg = f"`seed` must be an int (the experiment seed), got {seed!r}"
            raise InvalidArgument(msg)
        self.seed = seed
        self.attribution_window = check_real(
            "attribution_window", attribution_window, low=0.0, low_open=True
        )
        for name, value in (("candidate", candidate), ("baseline", baseline)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                msg = f"`{name}` must be a ranker index (int >= 0), got {value!r}"
                raise InvalidArgument(msg)
        if candidate == baseline:
            msg = f"`candidate` and `baseline` must differ, both are {candidate}"
            raise InvalidArgument(msg)
        self.candidate, self.baseline = candidate, baseline
        self.test = MixtureSPRT() if test is None else test
        self._clock = clock
        owns_store = not isinstance(store, EventStore)
        self._store: EventStore = open_store(store)
        self._lock = threading.RLock()

        self._open: dict[str, _Open] = {}
        self._deadlines: list[tuple[float, str]] = []
        self._by_user: dict[str, set[str]] = {}
        self._closed: set[str] = set()
        self._n_clicks = 0
        self._rejected = dict.fromkeys(REJECT_REASONS, 0)
        self._win_loss = WinLoss()
        self._state: SequentialState = self.test.start(WinLoss())
        self._per_user: dict[str, list[float]] = {}
        self._history: list[tuple[float, float, float, float]] = []
        self._history_stride = 1

        try:
            self._resume()
        except BaseException:
            if owns_store:  # opened here from a path: nothing of ours may stay open
                self._store.close()
            raise

    # The public calls ---------------------------------------------------------------------------

    def serve(
        self, request_key: Any, rankings: Sequence[Sequence], *, user: Any = None, at: Any = None
    ) -> Served:
        """Merge ``rankings`` for one request; the impression opens and its event is stored.

        ``user`` (str or int; default: the request key) groups impressions for the per-user
        analysis and for ``end_session``.
        """
        key = _check_request_key(request_key)
        user_id = self._user(user, key)
        now = self._now(at)
        impression_id = _impression_id(self.experiment_id, key)
        with self._lock:
            seen = self._open.get(impression_id)
            if seen is not None:
                return Served(impression_id, seen.record, repeated=True)
        record = self.method.interleave(
            rankings, key=tuple(key) if isinstance(key, list) else key, seed=self.seed
        )
        self._check_rankers(record)
        event = {
            "v": EVENT_SCHEMA_VERSION,
            "kind": "impression",
            "experiment": self.experiment_id,
            "impression": impression_id,
            "at": now,
            "user": user_id,
            "key": key,
            "record": record.to_dict(),
        }
        with self._lock:
            self._expire(now)
            if impression_id in self._open or impression_id in self._closed:
                known = self._open.get(impression_id)
                return Served(impression_id, known.record if known else record, repeated=True)
            self._store.append([event])
            self._apply_impression(impression_id, record, user_id, now)
        return Served(impression_id, record)

    def record_click(self, impression_id: Any, position: Any, *, at: Any = None) -> ClickReceipt:
        """Add a click at ``position`` (0-based, in the shown list) to an open impression.

        Returns a :class:`ClickReceipt`; a rejected click is counted, never raised, so a bad
        client cannot break the serving path.
        """
        now = self._now(at)
        with self._lock:
            self._expire(now)
            reason = self._click_problem(impression_id, position)
            if reason is not None:
                self._rejected[reason] += 1
                return ClickReceipt(False, reason)
            impression = self._open[impression_id]
            if position in impression.clicks:
                return ClickReceipt(True, "duplicate")
            self._store.append(
                [
                    {
                        "v": EVENT_SCHEMA_VERSION,
                        "kind": "click",
                        "experiment": self.experiment_id,
                        "impression": impression_id,
                        "at": now,
                        "position": position,
                    }
                ]
            )
            impression.clicks.add(position)
            self._n_clicks += 1
        return ClickReceipt(True)

    def correct_clicks(
        self, impression_id: str, positions: Sequence[int], *, at: Any = None
    ) -> None:
        """Replace the click set of an open impression (a correction never adds to clicks)."""
        now = self._now(at)
        positions = list(positions) if isinstance(positions, (list, tuple)) else positions
        with self._lock:
            self._expire(now)
            if impression_id not in self._open:
                msg = (
                    f"`impression_id` {impression_id!r} is not open (unknown or already "
                    "credited); only an open impression's clicks can be corrected"
                )
                raise InvalidArgument(msg)
            for position in positions:
                if self._click_problem(impression_id, position) is not None:
                    msg = f"`positions` holds {position!r}, not a position in the shown list"
                    raise InvalidArgument(msg)
            self._store.append(
                [
                    {
                        "v": EVENT_SCHEMA_VERSION,
                        "kind": "click",
                        "experiment": self.experiment_id,
                        "impression": impression_id,
                        "at": now,
                        "replace": sorted(set(positions)),
                    }
                ]
            )
            impression = self._open[impression_id]
            self._n_clicks += len(set(positions)) - len(impression.clicks)
            impression.clicks = set(positions)

    def close(self, impression_id: str, *, at: Any = None) -> None:
        """Credit an open impression now (e.g. the page was left); unknown ids are an error."""
        now = self._now(at)
        with self._lock:
            if impression_id not in self._open:
                msg = f"`impression_id` {impression_id!r} is not open (unknown or already credited)"
                raise InvalidArgument(msg)
            self._close([impression_id], now, "explicit")

    def end_session(self, user: Any, *, at: Any = None) -> int:
        """Credit every open impression of ``user`` (the session ended); returns how many."""
        user_id = self._user(user, None)
        now = self._now(at)
        with self._lock:
            ids = sorted(self._by_user.get(user_id, ()))
            self._close(ids, now, "session")
        return len(ids)

    def close_expired(self, *, at: Any = None) -> int:
        """Credit every impression whose attribution window has passed; returns how many."""
        now = self._now(at)
        with self._lock:
            return self._expire(now)

    def result(self, *, at: Any = None) -> ExperimentResult:
        """The running result (after crediting the impressions whose window has passed)."""
        now = self._now(at)
        with self._lock:
            self._expire(now)
            return ExperimentResult(
                experiment_id=self.experiment_id,
                method=self.method.name,
                n_impressions=len(self._open) + len(self._closed),
                n_open=len(self._open),
                n_credited=len(self._closed),
                n_clicks=self._n_clicks,
                rejected_clicks=dict(self._rejected),
                win_loss=self._win_loss,
                state=self._state,
                per_user={u: (s, int(n)) for u, (s, n) in self._per_user.items()},
                history=tuple(self._history),
            )

    def flush(self) -> None:
        """Make every event so far durable (needed only with a batching store)."""
        self._store.flush()

    def close_store(self) -> None:
        """Release the store (the experiment cannot serve afterwards)."""
        self._store.close()

    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close_store()

    @property
    def store(self) -> EventStore:
        """The event store (read it with ``store.read(experiment_id)``)."""
        return self._store

    # Bookkeeping (under the lock) ---------------------------------------------------------------

    def _now(self, at: Any) -> float:
        if at is None:
            return float(self._clock())
        if type(at) is float and math.isfinite(at):
            return at  # what check_real returns for it, without its checks (twice per request)
        return check_real("at", at)

    @staticmethod
    def _user(user: Any, key: Any) -> str:
        if user is None:
            if key is None:
                msg = "`user` is required"
                raise InvalidArgument(msg)
            return json.dumps(key) if not isinstance(key, str) else key
        if isinstance(user, bool) or not isinstance(user, (str, int)):
            msg = f"`user` must be a str or int user id, got {user!r} of type {type(user).__name__}"
            raise InvalidArgument(msg)
        return str(user)

    def _check_rankers(self, record: Interleaving) -> None:
        k = len(record.ranking_lengths)
        if max(self.candidate, self.baseline) >= k:
            msg = (
                f"`rankings` holds {k} rankers but the experiment compares candidate "
                f"{self.candidate} with baseline {self.baseline}; pass at least "
                f"{max(self.candidate, self.baseline) + 1} rankings"
            )
            raise InvalidArgument(msg)

    def _click_problem(self, impression_id: Any, position: Any) -> str | None:
        impression = self._open.get(impression_id) if isinstance(impression_id, str) else None
        if impression is None:
            # Only a str can be a closed id; an unhashable one (a list) must not raise here.
            closed = isinstance(impression_id, str) and impression_id in self._closed
            return "closed_impression" if closed else "unknown_impression"
        if (
            isinstance(position, bool)
            or not isinstance(position, int)
            or not 0 <= position < len(impression.record.items)
        ):
            return "bad_position"
        return None

    def _apply_impression(self, impression_id: str, record: Interleaving, user: str, at: float):
        deadline = at + self.attribution_window
        self._open[impression_id] = _Open(record, user, deadline, set())
        self._by_user.setdefault(user, set()).add(impression_id)
        heapq.heappush(self._deadlines, (deadline, impression_id))

    def _expire(self, now: float) -> int:
        due = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, impression_id = heapq.heappop(self._deadlines)
            if impression_id in self._open:
                due.append(impression_id)
        if due:
            self._close(due, now, "window")
        return len(due)

    def _close_event(
        self, impression_id: str, now: float, reason: str, **outcome: Any
    ) -> dict[str, Any]:
        """The stored event that credits one impression (``outcome``: what a replay applies)."""
        return {
            "v": EVENT_SCHEMA_VERSION,
            "kind": "close",
            "experiment": self.experiment_id,
            "impression": impression_id,
            "at": now,
            "reason": reason,
            **outcome,
        }

    def _close(self, impression_ids: list[str], now: float, reason: str) -> None:
        if not impression_ids:
            return
        outcomes = []
        for impression_id in impression_ids:
            impression = self._open[impression_id]
            credit = self.method.credit(impression.record, sorted(impression.clicks))
            outcomes.append(float(credit.preferences[self.candidate][self.baseline]))
        self._store.append(
            [
                self._close_event(impression_id, now, reason, outcome=outcome)
                for impression_id, outcome in zip(impression_ids, outcomes, strict=True)
            ]
        )
        for impression_id, outcome in zip(impression_ids, outcomes, strict=True):
            self._apply_close(impression_id, outcome)

    def _apply_close(self, impression_id: str, outcome: float) -> None:
        impression = self._retire(impression_id)
        wins, losses = max(outcome, 0.0), max(-outcome, 0.0)
        ties = 1.0 - abs(outcome)
        self._win_loss = self._win_loss.update(wins=wins, losses=losses, ties=ties)
        self._state = self._state.update(wins=wins, losses=losses, ties=ties)
        total = self._per_user.setdefault(impression.user, [0.0, 0])
        total[0] += outcome
        total[1] += 1
        self._record_history()

    def _retire(self, impression_id: str) -> _Open:
        # Open -> closed: the attribution bookkeeping of a close, apart from what it credits.
        impression = self._open.pop(impression_id)
        self._by_user[impression.user].discard(impression_id)
        if not self._by_user[impression.user]:
            del self._by_user[impression.user]
        self._closed.add(impression_id)
        return impression

    def _record_history(self) -> None:
        n = len(self._closed)
        if n % self._history_stride:
            return
        decided = self._win_loss.n_wins + self._win_loss.n_losses
        if not decided:
            return
        interval = self._state.confidence_interval()
        self._history.append(
            (float(n), float(self._win_loss.n_wins / decided), interval.low, interval.high)
        )
        if len(self._history) >= 2 * HISTORY_POINTS:
            # Keep every other point and look half as often: the path stays evenly spaced.
            self._history = self._history[1::2]
            self._history_stride *= 2

    # Restart ------------------------------------------------------------------------------------

    # The configuration a restart must match (the attribution window may change).
    _CONFIG_FIELDS: tuple[str, ...] = ("method", "params", "seed", "candidate", "baseline", "test")

    def _replay_impression(self, event: dict[str, Any]) -> None:
        record = Interleaving.from_dict(event["record"])
        self._apply_impression(event["impression"], record, event["user"], event["at"])

    def _replay_close(self, event: dict[str, Any]) -> None:
        self._apply_close(event["impression"], float(event["outcome"]))

    def _config_event(self) -> dict[str, Any]:
        return {
            "v": EVENT_SCHEMA_VERSION,
            "kind": "config",
            "experiment": self.experiment_id,
            "impression": "",
            "at": float(self._clock()),
            "method": self.method.name,
            "params": {k: v for k, v in self.method.params()},
            "seed": self.seed,
            "attribution_window": self.attribution_window,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "test": self.test.start(WinLoss()).to_dict()["test"],
        }

    def _resume(self) -> None:
        config = self._config_event()
        stored_config = None
        for event in self._store.read(self.experiment_id):
            kind = event.get("kind")
            if kind == "config":
                stored_config = event
            elif kind == "impression":
                self._replay_impression(event)
            elif kind == "click" and event["impression"] in self._open:
                impression = self._open[event["impression"]]
                if "replace" in event:
                    self._n_clicks += len(event["replace"]) - len(impression.clicks)
                    impression.clicks = set(event["replace"])
                elif event["position"] not in impression.clicks:
                    impression.clicks.add(event["position"])
                    self._n_clicks += 1
            elif kind == "close" and event["impression"] in self._open:
                self._replay_close(event)
        if stored_config is None:
            self._store.append([config])
            return
        mismatched = [
            name
            for name in self._CONFIG_FIELDS
            if json.dumps(stored_config.get(name), sort_keys=True)
            != json.dumps(config[name], sort_keys=True)
        ]
        if mismatched:
            msg = (
                f"the store already holds experiment {self.experiment_id!r} with another "
                f"configuration ({', '.join(mismatched)} differ: stored "
                f"{ {n: stored_config.get(n) for n in mismatched} }); use a new experiment id "
                "or the stored configuration"
            )
            raise InvalidArgument(msg)
