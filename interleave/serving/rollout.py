"""Any rollout strategy behind the live experiment: A/B, canary, shadow or interleaving.

:class:`RolloutExperiment` has the life cycle of :class:`~interleave.serving.experiment.Experiment`
(the same attribution windows, clicks credited once, rejected clicks counted, durable events,
resume after a restart, thread safety: it reuses that machinery) with a strategy of
:mod:`strategies` deciding what each request shows:

- ``serve(request_key, rankings, user=...)`` routes the request with
  ``strategy.route(state, [request_key], [user])``, a pure function of (seed, key, user) and, for
  canary, of the stage the state is in when the request arrives. It shows production's list, the
  candidate's, the strategy's interleaved merge, or (shadow) production's with the candidate's
  recorded beside it and never shown.
- A credited impression becomes one row of a :class:`~interleave.simulate.Look`; every
  ``look_every`` rows (in crediting order) the strategy reads them once with ``strategy.update``,
  as :meth:`World.run <interleave.simulate.World.run>` does with its ``look_every``. So
  ``result().verdict`` is what the strategy concludes from the same outcomes fed to it directly.
- Users become int indices (what the strategies' per-user statistics are indexed by) in order of
  first appearance; each impression event stores its user's index, so a replay gives the same.

Reading the store back, :func:`rollout_log` gives one row per shown position in the ``ab`` log
layout (whose list was shown, the click, the user, the time), ready for ``interleave evaluate``.

The strategy is passed in: ``interleave.serving`` never imports :mod:`strategies` (the dependency
points from strategies to interleave, as with :mod:`interleave.simulate`).

**A failing candidate.** Pass ``None`` as the candidate's list when the candidate failed on the
request: production's list is shown, and on the candidate and shadow arms the request counts as a
candidate error, which canary's guardrail and shadow's health check read. (On the interleaved arm
the merge cannot be made: production's list is shown and the impression is credited as a tie.)

**Shadow in live serving.** Nobody saw the candidate's list, so there are no counterfactual
clicks (only a simulation can draw them). Each shadowed request enters the strategy as a tie
(its counterfactual clicks set to its real ones), so the click comparison never decides: the
only decision shadow can reach live is on the candidate's error rate, with the divergence of its
lists from production's in the evidence, and :attr:`RolloutResult.notes` says so.

Examples
--------
>>> from strategies import AB
>>> exp = RolloutExperiment(AB(seed=3, candidate_share=0.5), experiment_id="ab-demo")
>>> lists = {"production": ["a", "b", "c"], "candidate": ["c", "a", "b"]}
>>> served = exp.serve("request-1", lists, user="u1", at=0.0)
>>> served.arm, served.items
('candidate', ('c', 'a', 'b'))
>>> bool(exp.record_click(served.impression_id, 0, at=2.0))
True
>>> exp.end_session("u1", at=3.0)  # the session ended: its impressions are credited
1
>>> result = exp.result(at=3.0)
>>> result.n_credited, result.verdict.n_candidate_requests, result.verdict.decision
(1, 1, 'keep collecting')
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from interleave._checks import check_int, short_repr
from interleave.errors import InvalidArgument
from interleave.methods.base import Interleaver
from interleave.ranking import Interleaving, validate_rankings
from interleave.serving.experiment import Experiment, _impression_id
from interleave.serving.stores import EVENT_SCHEMA_VERSION, EventStore, open_store
from interleave.simulate import (
    ARM_CANDIDATE,
    ARM_INTERLEAVED,
    ARM_PRODUCTION,
    ARM_SHADOW,
    Look,
    Requests,
)

__all__ = ["ARM_LABELS", "RolloutExperiment", "RolloutResult", "RolloutServed", "rollout_log"]

#: The name of each arm code of :mod:`interleave.simulate` (``ARM_SHADOW`` shows production).
ARM_LABELS = ("production", "candidate", "interleaved", "shadow")

SHADOW_NOTE = (
    "shadow in live serving: no user saw the candidate's list, so there are no counterfactual "
    "clicks; every shadowed request entered the strategy as a tie, so its click comparison "
    "cannot decide: the only decision it can reach is on the candidate's error rate, and the "
    "lists' divergence is in its evidence"
)
_NO_CONTEXT = -1  # Requests.query: live requests carry no simulated context
_LOG_SCHEMA = {  # rollout_log's columns (item_id: Int64 when every id is an int)
    "impression_id": pl.String,
    "arm": pl.String,
    "policy": pl.String,
    "user_id": pl.String,
    "timestamp": pl.Float64,
    "position": pl.Int64,
    "item_id": pl.String,
    "click": pl.Boolean,
    "credited": pl.Boolean,
}


@dataclass(frozen=True, slots=True)
class RolloutServed:
    """What ``serve`` returns: the list to show, the id to report its clicks under, the arm.

    Attributes
    ----------
    impression_id
        Report clicks on ``items`` under this id.
    arm
        Where the strategy routed the request: ``production``, ``candidate``, ``interleaved``
        or ``shadow`` (production shown, the candidate's list recorded beside it).
    items
        The list to show, best first.
    interleaving
        The merge's record on the interleaved arm (``None`` elsewhere).
    candidate_failed
        The candidate's list was ``None``: production's list is shown.
    repeated
        This request key had been served before (the same impression is returned).
    """

    impression_id: str
    arm: str
    items: tuple
    interleaving: Interleaving | None = None
    candidate_failed: bool = False
    repeated: bool = False

    @property
    def shown(self) -> str:
        """Whose list the user sees: ``production``, ``candidate`` or ``interleaved``."""
        if self.arm == "shadow" or self.candidate_failed:
            return "production"
        return self.arm

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the impression id, the arm, what is shown and the merge's record."""
        return {
            "impression_id": self.impression_id,
            "arm": self.arm,
            "shown": self.shown,
            "items": list(self.items),
            "record": None if self.interleaving is None else self.interleaving.to_dict(),
            "candidate_failed": self.candidate_failed,
            "repeated": self.repeated,
        }


@dataclass(frozen=True)
class RolloutResult:
    """The live state of a rollout; ``strategy.verdict(state)`` recomputes :attr:`verdict`.

    Attributes
    ----------
    experiment_id
        Which experiment.
    strategy, state
        The strategy and its state after the last look: every number of the verdict comes from
        them.
    verdict
        The strategy's :class:`~strategies.protocol.Verdict`.
    n_impressions, n_open, n_credited
        Impressions served, still collecting clicks, and credited.
    n_pending
        Credited impressions waiting for the look to fill (``look_every`` rows); not yet in the
        verdict.
    n_looks
        Times the strategy has read a look.
    n_clicks
        Accepted clicks (on open impressions).
    rejected_clicks
        Rejected clicks by reason: unknown or closed impression, position outside the list.
    served
        Impressions per arm (``production``, ``candidate``, ``interleaved``, ``shadow``).
    n_candidate_failures
        Requests whose candidate list was ``None`` (the candidate failed).
    notes
        What the verdict cannot rest on here (shadow: no counterfactual clicks).
    """

    experiment_id: str
    strategy: Any = field(repr=False)
    state: Any = field(repr=False)
    verdict: Any
    n_impressions: int
    n_open: int
    n_credited: int
    n_pending: int
    n_looks: int
    n_clicks: int
    rejected_clicks: dict[str, int]
    served: dict[str, int]
    n_candidate_failures: int
    notes: tuple[str, ...] = ()

    @property
    def decision(self) -> str:
        """The strategy's decision so far (one of its verdict words)."""
        return str(self.verdict.decision)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the counts, the verdict as its own ``to_dict``, the notes."""
        return {
            "experiment_id": self.experiment_id,
            "strategy": self.strategy.name,
            "decision": self.decision,
            "n_impressions": self.n_impressions,
            "n_open": self.n_open,
            "n_credited": self.n_credited,
            "n_pending": self.n_pending,
            "n_looks": self.n_looks,
            "n_clicks": self.n_clicks,
            "rejected_clicks": dict(self.rejected_clicks),
            "served": dict(self.served),
            "n_candidate_failures": self.n_candidate_failures,
            "verdict": self.verdict.to_dict(),
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        served = ", ".join(f"{arm} {n}" for arm, n in self.served.items() if n)
        rejected = sum(self.rejected_clicks.values())
        text = (
            f"{self.experiment_id}: {self.n_impressions} impressions ({served or 'none'}; "
            f"{self.n_open} open, {self.n_credited} credited, {self.n_pending} awaiting a look); "
            f"{self.n_clicks} clicks, {rejected} rejected; {self.verdict}"
        )
        return text + "".join(f" [{note}]" for note in self.notes)


@dataclass(slots=True)
class _Shown:
    # One served impression: what the strategy will read once it is credited. ``items`` is the
    # shown list, as Experiment's click checks expect of an open impression's record.
    items: tuple
    arm: int
    index: int
    user_index: int
    at: float
    error: bool
    production: tuple
    candidate: tuple | None
    interleaving: Interleaving | None


@dataclass(frozen=True, slots=True)
class _Credited:
    shown: _Shown
    n_clicks: int
    preference: float
    first_team: int


def _check_strategy(strategy: Any) -> None:
    missing = [
        name
        for name in ("start", "route", "update", "verdict")
        if not callable(getattr(strategy, name, None))
    ]
    if missing or not isinstance(getattr(strategy, "name", None), str):
        msg = (
            f"`strategy` must follow the strategies protocol (start, route, update, verdict, "
            f"name, seed), such as strategies.AB(seed=1); got {short_repr(strategy)} of type "
            f"{type(strategy).__name__}" + (f" without {', '.join(missing)}" if missing else "")
        )
        raise InvalidArgument(msg)
    check_int("strategy.seed", getattr(strategy, "seed", None), minimum=0)


def _describe(strategy: Any) -> dict[str, str]:
    # What a restart must match. ``needs`` is left out: a frozenset's repr orders by hash.
    if dataclasses.is_dataclass(strategy):
        return {
            f.name: repr(getattr(strategy, f.name))
            for f in dataclasses.fields(strategy)
            if f.name != "needs"
        }
    return {"type": type(strategy).__qualname__, "seed": repr(strategy.seed)}


def _check_key(request_key: Any) -> str | int:
    if isinstance(request_key, bool) or not isinstance(request_key, (str, int)):
        msg = (
            f"`request_key` must be a str or int identifying the request (routing hashes it), got "
            f"{short_repr(request_key)} of type {type(request_key).__name__}"
        )
        raise InvalidArgument(msg)
    return request_key


def _two_lists(rankings: Any) -> tuple[tuple, tuple | None]:
    """(production, candidate or None) from a mapping or a pair; ids checked as `rankings[j]`."""
    if isinstance(rankings, Mapping):
        if set(rankings) != {"production", "candidate"}:
            msg = (
                f"`rankings` as a mapping must have exactly the keys 'production' and "
                f"'candidate', got {sorted(map(str, rankings))}"
            )
            raise InvalidArgument(msg)
        production, candidate = rankings["production"], rankings["candidate"]
    elif isinstance(rankings, (list, tuple)) and len(rankings) == 2:
        production, candidate = rankings
    else:
        msg = (
            f"`rankings` must be {{'production': [...], 'candidate': [...]}} or a pair "
            f"(production, candidate), got {short_repr(rankings)}"
        )
        raise InvalidArgument(msg)
    if production is None:
        msg = "`rankings` has no production list (None); production must always answer"
        raise InvalidArgument(msg)
    pair = [production, production if candidate is None else candidate]
    lists, _ = validate_rankings(pair, max_rankers=2, name="rankings")
    return tuple(lists[0]), None if candidate is None else tuple(lists[1])


def _look(rows: list[_Credited]) -> Look:
    """The :class:`Look` of credited impressions, in crediting order."""
    shown = [row.shown for row in rows]
    n = len(rows)
    arm = np.fromiter((s.arm for s in shown), dtype=np.int8, count=n)
    n_clicks = np.fromiter((row.n_clicks for row in rows), dtype=np.int64, count=n)
    requests = Requests(
        np.fromiter((s.index for s in shown), dtype=np.int64, count=n),
        np.fromiter((s.user_index for s in shown), dtype=np.int64, count=n),
        np.full(n, _NO_CONTEXT, dtype=np.int64),
        np.fromiter((s.at for s in shown), dtype=float, count=n),
    )
    production, candidate = _item_codes(shown)
    return Look(
        requests=requests,
        arm=arm,
        n_clicks=n_clicks,
        error=np.fromiter((s.error for s in shown), dtype=bool, count=n),
        preference=np.fromiter((row.preference for row in rows), dtype=float, count=n),
        first_team=np.fromiter((row.first_team for row in rows), dtype=np.int8, count=n),
        production_items=production,
        candidate_items=candidate,
        # No counterfactual clicks live: a shadowed request is a tie (see the module docstring).
        counterfactual_clicks=np.where(arm == ARM_SHADOW, n_clicks, 0),
    )


def _item_codes(shown: list[_Shown]) -> tuple[np.ndarray, np.ndarray]:
    # Both rankers' lists as int codes (equal ids, equal codes: the divergence measures only
    # compare ids), one row per request. A look's rows must be of one width: lists of differing
    # lengths within a look are cut to the shortest (never with one row per look).
    codes: dict[Any, int] = {}
    production = [[codes.setdefault(x, len(codes)) for x in s.production] for s in shown]
    candidate = [
        [
            codes.setdefault(x, len(codes))
            for x in (s.production if s.candidate is None else s.candidate)
        ]
        for s in shown
    ]
    width_p = min(map(len, production))
    width_c = min(map(len, candidate))
    return (
        np.array([row[:width_p] for row in production], dtype=np.int64),
        np.array([row[:width_c] for row in candidate], dtype=np.int64),
    )


class RolloutExperiment(Experiment):
    """A live rollout: serve through a strategy, record clicks, read the strategy's verdict.

    Parameters
    ----------
    strategy
        Any strategy of :mod:`strategies` (``AB``, ``Canary``, ``Shadow``, ``Interleaved``) or
        an object following its protocol; its ``seed`` is the experiment seed.
    experiment_id
        A name for the experiment; events in a shared store are kept apart by it.
    store
        A file path (``.ndjson``/``.jsonl``: NDJSON, else SQLite), an
        :class:`~interleave.serving.stores.EventStore`, or ``None`` (in memory, not durable).
    attribution_window
        Seconds after serving during which clicks count (default 1800, half an hour).
    look_every
        Credited impressions per look (the strategy updates and decides once per look). 1, the
        default, reads after every credited impression; more is cheaper per impression (an
        update costs a few hundred microseconds) and decides at the same looks ``World.run``
        would with the same ``look_every``.
    clock
        Seconds since the epoch when a call gives no ``at`` (default ``time.time``).

    Every method of :class:`~interleave.serving.experiment.Experiment` but ``serve`` and
    ``result`` works as there (``record_click``, ``correct_clicks``, ``close``, ``end_session``,
    ``close_expired``, ``flush``, ``close_store``, ``with``). A repeated request key returns its
    open impression; once that impression is credited, a repeat is routed again (canary's stage
    may have moved) and flagged ``repeated``, never a second impression. Rejected clicks are
    counted, not stored (they are no event): after a restart their count starts at zero.
    """

    _CONFIG_FIELDS = ("strategy", "strategy_config", "seed", "look_every")

    def __init__(
        self,
        strategy: Any,
        *,
        experiment_id: str,
        store: Any = None,
        attribution_window: float = 1800.0,
        look_every: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_strategy(strategy)
        self.strategy = strategy
        self.look_every = check_int("look_every", look_every, minimum=1)
        self._strategy_state = strategy.start()
        self._pending: list[_Credited] = []
        self._n_looks = 0
        self._user_index: dict[str, int] = {}
        self._n_served = 0
        self._served = [0] * len(ARM_LABELS)
        self._n_failures = 0
        method = getattr(strategy, "method", None)
        # Experiment's own sequential test stays unused: the strategy routes, merges (with its
        # method, which ``self.method`` names when it has one) and decides.
        super().__init__(
            experiment_id,
            method if isinstance(method, Interleaver) else None,
            seed=strategy.seed,
            store=store,
            attribution_window=attribution_window,
            clock=clock,
        )

    # The public calls ---------------------------------------------------------------------------

    def serve(  # type: ignore[override]
        self, request_key: Any, rankings: Any, *, user: Any = None, at: Any = None
    ) -> RolloutServed:
        """Route one request, open its impression, store the event; returns what to show.

        ``rankings`` is ``{"production": [...], "candidate": [...]}`` or the pair (production,
        candidate); the candidate's list may be ``None`` (it failed). ``user`` (str or int;
        default: the request key) is what routing and the per-user statistics read.
        """
        key = _check_key(request_key)
        user_id = self._user(user, key)  # checks the type; the str form groups sessions
        raw_user = key if user is None else user
        now = self._now(at)
        production, candidate = _two_lists(rankings)
        impression_id = _impression_id(self.experiment_id, key)
        with self._lock:
            seen = self._open.get(impression_id)
            if seen is not None:
                return self._served_of(impression_id, seen.record, repeated=True)
            state = self._strategy_state
        arm = self._route(state, key, raw_user)
        shown = self._show(arm, key, production, candidate)
        event = {
            "v": EVENT_SCHEMA_VERSION,
            "kind": "impression",
            "experiment": self.experiment_id,
            "impression": impression_id,
            "at": now,
            "user": user_id,
            "user_key": raw_user,
            "key": key,
            "arm": ARM_LABELS[arm],
            "items": list(shown.items),
            "production": list(production),
            "candidate": None if candidate is None else list(candidate),
            "error": shown.error,
        }
        if shown.interleaving is not None:
            event["record"] = shown.interleaving.to_dict()
        with self._lock:
            self._expire(now)
            known = self._open.get(impression_id)
            if known is not None or impression_id in self._closed:
                return self._served_of(impression_id, known.record if known else shown, True)
            # Indices are given under the lock, in the order the events reach the store.
            shown.index = self._n_served
            shown.user_index = self._user_index.setdefault(
                json.dumps(raw_user), len(self._user_index)
            )
            shown.at = now
            event["user_index"] = shown.user_index
            self._store.append([event])
            self._open_impression(impression_id, shown, user_id)
        return self._served_of(impression_id, shown)

    def result(self, *, at: Any = None) -> RolloutResult:  # type: ignore[override]
        """The running result: the strategy's verdict after the last look, and the counts."""
        now = self._now(at)
        with self._lock:
            self._expire(now)
            state = self._strategy_state
            counts = {
                "n_impressions": len(self._open) + len(self._closed),
                "n_open": len(self._open),
                "n_credited": len(self._closed),
                "n_pending": len(self._pending),
                "n_looks": self._n_looks,
                "n_clicks": self._n_clicks,
                "rejected_clicks": dict(self._rejected),
                "served": dict(zip(ARM_LABELS, self._served, strict=True)),
                "n_candidate_failures": self._n_failures,
            }
        needs = frozenset(getattr(self.strategy, "needs", ()))
        return RolloutResult(
            experiment_id=self.experiment_id,
            strategy=self.strategy,
            state=state,
            verdict=self.strategy.verdict(state),  # the state is immutable: read outside the lock
            notes=(SHADOW_NOTE,) if "counterfactual" in needs else (),
            **counts,
        )

    @property
    def state(self) -> Any:
        """The strategy's state after the last look."""
        with self._lock:
            return self._strategy_state

    # Routing and showing (outside the lock: pure) -----------------------------------------------

    def _route(self, state: Any, key: str | int, user: Any) -> int:
        arms = np.asarray(self.strategy.route(state, [key], [user]))
        if arms.shape != (1,) or int(arms[0]) not in range(len(ARM_LABELS)):
            msg = (
                f"`strategy` {self.strategy.name!r} routed {short_repr(arms)} for one request; "
                "its route must give one arm code (0-3, the ARM_* of interleave.simulate) per key"
            )
            raise InvalidArgument(msg)
        return int(arms[0])

    def _show(self, arm: int, key: str | int, production: tuple, candidate: tuple | None) -> _Shown:
        failed = candidate is None
        items, record = production, None
        if arm == ARM_CANDIDATE and not failed:
            items = candidate
        elif arm == ARM_INTERLEAVED and not failed:
            method = getattr(self.strategy, "method", None)
            if not isinstance(method, Interleaver):
                msg = (
                    f"`strategy` {self.strategy.name!r} routed a request to interleaving but has "
                    "no interleaver as its `method`"
                )
                raise InvalidArgument(msg)
            record = method.interleave(
                [list(production), list(candidate)], key=key, seed=self.strategy.seed
            )
            items = record.items
        # A failure counts where the candidate had to answer (the arms that read errors).
        error = failed and arm != ARM_PRODUCTION
        return _Shown(tuple(items), arm, -1, -1, math.nan, error, production, candidate, record)

    def _served_of(
        self, impression_id: str, shown: _Shown, repeated: bool = False
    ) -> RolloutServed:
        return RolloutServed(
            impression_id,
            ARM_LABELS[shown.arm],
            shown.items,
            shown.interleaving,
            shown.candidate is None,
            repeated,
        )

    # Bookkeeping (under the lock) ---------------------------------------------------------------

    def _open_impression(self, impression_id: str, shown: _Shown, user_id: str) -> None:
        self._apply_impression(impression_id, shown, user_id, shown.at)  # type: ignore[arg-type]
        self._n_served += 1
        self._served[shown.arm] += 1
        self._n_failures += shown.candidate is None

    def _credit(self, shown: _Shown, clicks: set[int]) -> tuple[int, float, int]:
        # (clicks, preference for the candidate, team of position 1) as World's looks hold them.
        if shown.interleaving is None:
            return len(clicks), 0.0, -1
        credit = self.strategy.method.credit(shown.interleaving, sorted(clicks))
        teams = shown.interleaving.teams
        return len(clicks), float(credit.preferences[1][0]), int(teams[0]) if teams else -1

    def _close(self, impression_ids: list[str], now: float, reason: str) -> None:
        if not impression_ids:
            return
        credits = [self._credit(self._open[i].record, self._open[i].clicks) for i in impression_ids]
        self._store.append(
            [
                self._close_event(
                    impression_id,
                    now,
                    reason,
                    n_clicks=n_clicks,
                    preference=preference,
                    first_team=first_team,
                )
                for impression_id, (n_clicks, preference, first_team) in zip(
                    impression_ids, credits, strict=True
                )
            ]
        )
        for impression_id, credit in zip(impression_ids, credits, strict=True):
            self._apply_credit(impression_id, *credit)

    def _apply_credit(
        self, impression_id: str, n_clicks: int, preference: float, first_team: int
    ) -> None:
        shown = self._retire(impression_id).record
        self._pending.append(_Credited(shown, n_clicks, preference, first_team))  # type: ignore[arg-type]
        if len(self._pending) >= self.look_every:
            look = _look(self._pending)
            self._pending = []
            self._strategy_state = self.strategy.update(self._strategy_state, look)
            self._n_looks += 1

    # Restart ------------------------------------------------------------------------------------

    def _config_event(self) -> dict[str, Any]:
        return {
            "v": EVENT_SCHEMA_VERSION,
            "kind": "config",
            "experiment": self.experiment_id,
            "impression": "",
            "at": float(self._clock()),
            "strategy": self.strategy.name,
            "strategy_config": _describe(self.strategy),
            "seed": self.strategy.seed,
            "attribution_window": self.attribution_window,
            "look_every": self.look_every,
        }

    def _replay_impression(self, event: dict[str, Any]) -> None:
        if "arm" not in event or "user_index" not in event:
            msg = (
                f"the store holds experiment {self.experiment_id!r} written by another kind of "
                "experiment (an impression without a routed arm); use a new experiment id"
            )
            raise InvalidArgument(msg)
        candidate = event["candidate"]
        record = event.get("record")
        shown = _Shown(
            tuple(event["items"]),
            ARM_LABELS.index(event["arm"]),
            self._n_served,
            int(event["user_index"]),
            float(event["at"]),
            bool(event["error"]),
            tuple(event["production"]),
            None if candidate is None else tuple(candidate),
            None if record is None else Interleaving.from_dict(record),
        )
        self._user_index.setdefault(json.dumps(event["user_key"]), shown.user_index)
        self._open_impression(event["impression"], shown, event["user"])

    def _replay_close(self, event: dict[str, Any]) -> None:
        self._apply_credit(
            event["impression"],
            int(event["n_clicks"]),
            float(event["preference"]),
            int(event["first_team"]),
        )


def rollout_log(store: Any, experiment: str) -> pl.DataFrame:
    """A rollout's impressions as a log in the ``ab`` layout: one row per shown position.

    Columns of :data:`interleave.logs.schema.SCHEMAS` ``["ab"]``: ``policy`` (whose list the
    user saw: ``production``, ``candidate`` or ``interleaved``), ``click``, ``user_id``,
    ``timestamp``, ``item_id``, ``position``; and ``impression_id``, ``arm`` (where the strategy
    routed the request: shadow and failed-candidate requests show production) and ``credited``
    (its window had closed when the store was read). The clicks are those the experiment accepted
    (corrections applied). An A/B or canary rollout's frame is ready for ``interleave evaluate``
    as an A/B log; an interleaved rollout is read as an interleaving log by
    :func:`~interleave.serving.export.exposures_frame`.

    ``store`` is a path or an :class:`~interleave.serving.stores.EventStore`; ``item_id`` is
    ``Int64`` when every shown id is an int, else ``String``.
    """
    owned = not isinstance(store, EventStore)
    events = open_store(store)
    impressions: dict[str, list[Any]] = {}  # id -> [impression event, clicked positions, credited]
    try:
        for event in events.read(experiment):
            kind = event.get("kind")
            if kind == "impression":
                if "arm" not in event:
                    msg = (
                        f"experiment {experiment!r} is not a rollout (its impressions have no "
                        "routed arm); read an interleaving experiment with exposures_frame"
                    )
                    raise InvalidArgument(msg)
                impressions[event["impression"]] = [event, set(), False]
            elif kind == "click" and event["impression"] in impressions:
                clicked = impressions[event["impression"]][1]
                if "replace" in event:
                    clicked.clear()
                    clicked.update(event["replace"])
                else:
                    clicked.add(event["position"])
            elif kind == "close" and event["impression"] in impressions:
                impressions[event["impression"]][2] = True
    finally:
        if owned:
            events.close()
    columns: dict[str, list[Any]] = {name: [] for name in _LOG_SCHEMA}
    for impression_id, (event, clicked, credited) in impressions.items():
        arm = event["arm"]
        failed = event["candidate"] is None
        policy = "production" if arm in ("production", "shadow") or failed else arm
        for position, item in enumerate(event["items"]):
            columns["impression_id"].append(impression_id)
            columns["arm"].append(arm)
            columns["policy"].append(policy)
            columns["user_id"].append(event["user"])
            columns["timestamp"].append(float(event["at"]))
            columns["position"].append(position)
            columns["item_id"].append(item)
            columns["click"].append(position in clicked)
            columns["credited"].append(credited)
    items = columns["item_id"]
    ints = all(isinstance(x, int) and not isinstance(x, bool) for x in items)
    if not ints:
        columns["item_id"] = [str(x) for x in items]
    schema = {**_LOG_SCHEMA, "item_id": pl.Int64 if ints and items else pl.String}
    return pl.DataFrame(columns, schema=schema)
