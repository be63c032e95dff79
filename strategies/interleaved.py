"""Interleaved: every request shows a merge of both rankers' lists; clicks say which one wins.

Any interleaver of :mod:`interleave` works (team-draft, balanced, probabilistic, optimized, and
the multileaving ones with two rankers); the engine draws the merged lists on the method's batch
path and credits the clicks with ``credit_batch``. Each impression's preference for the candidate
(in [-1, 1]) becomes a win, loss or tie (its sign) in a :class:`~interleave.stats.WinLoss`, which
a normal-mixture sequential test reads after every look; per-user mean preferences give a
per-user paired test beside it (a user is an independent unit, an impression is not). The
balance check asks whether each ranker leads position 1 about half the time (a biased merge
would show here first).

Because both rankers are compared within the same request by the same user, the between-user
variance that dominates A/B cancels: interleaving needs far fewer requests (Chapelle, Joachims,
Radlinski & Yue, TOIS 2012).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from interleave._checks import check_int
from interleave.errors import InterleaveError, InvalidArgument
from interleave.methods import Interleaver, TeamDraft
from interleave.simulate import ARM_INTERLEAVED
from interleave.stats import (
    Decision,
    MixtureSPRT,
    SequentialState,
    WinLoss,
    paired_test,
    sign_test,
)
from strategies.protocol import (
    CONTINUE,
    KEEP_PRODUCTION,
    SHIP_CANDIDATE,
    Verdict,
    _pad,
    intersect,
)

__all__ = ["BALANCE_THRESHOLD", "Interleaved", "InterleavedState", "Preferences"]

#: A balance-check p-value below this flags a merge that favours one ranker at position 1.
BALANCE_THRESHOLD = 0.001


@dataclasses.dataclass(frozen=True)
class Preferences:
    """Interleaving outcomes: mergeable counts and per-user sums.

    Attributes
    ----------
    outcomes
        Wins, losses and ties of the candidate (the sign of each impression's preference).
    user_requests, user_preference
        Per user (index): impressions and the sum of their preferences for the candidate.
    leads
        int64 (2,): impressions whose position 1 was credited to production, to the candidate.
    n_clicks
        Clicks on all impressions.
    """

    outcomes: WinLoss
    user_requests: np.ndarray
    user_preference: np.ndarray
    leads: np.ndarray
    n_clicks: int

    @classmethod
    def empty(cls) -> Preferences:
        """No impressions yet."""
        return cls(WinLoss(), np.zeros(0, np.int64), np.zeros(0), np.zeros(2, np.int64), 0)

    @classmethod
    def of(cls, users: Any, preference: Any, first_team: Any, n_clicks: Any) -> Preferences:
        """The counts of one batch of impressions."""
        users = np.asarray(users, dtype=np.int64)
        preference = np.asarray(preference, dtype=float)
        sign = np.sign(preference)
        size = int(users.max()) + 1 if users.size else 0
        first_team = np.asarray(first_team)
        return cls(
            WinLoss(int((sign > 0).sum()), int((sign < 0).sum()), int((sign == 0).sum())),
            np.bincount(users, minlength=size).astype(np.int64),
            np.bincount(users, weights=preference, minlength=size),
            np.array([(first_team == 0).sum(), (first_team == 1).sum()], dtype=np.int64),
            int(np.asarray(n_clicks).sum()),
        )

    def merge(self, other: Preferences) -> Preferences:
        """Both batches' counts (exact)."""
        size = max(len(self.user_requests), len(other.user_requests))
        return Preferences(
            self.outcomes.update(
                wins=int(other.outcomes.n_wins),
                losses=int(other.outcomes.n_losses),
                ties=int(other.outcomes.n_ties),
            ),
            _pad(self.user_requests, size) + _pad(other.user_requests, size),
            _pad(self.user_preference, size) + _pad(other.user_preference, size),
            self.leads + other.leads,
            self.n_clicks + other.n_clicks,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Preferences):
            return NotImplemented
        size = max(len(self.user_requests), len(other.user_requests))
        return (
            self.outcomes == other.outcomes
            and np.array_equal(_pad(self.user_requests, size), _pad(other.user_requests, size))
            and np.allclose(_pad(self.user_preference, size), _pad(other.user_preference, size))
            and np.array_equal(self.leads, other.leads)
            and self.n_clicks == other.n_clicks
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def n_requests(self) -> int:
        """Impressions counted."""
        return int(self.outcomes.n)

    def per_user_preference(self) -> np.ndarray:
        """Mean preference for the candidate of each user with impressions."""
        seen = self.user_requests > 0
        return self.user_preference[seen] / self.user_requests[seen]


@dataclasses.dataclass(frozen=True)
class InterleavedState:
    """The counts and the sequential test's state (with the sign at its stop)."""

    preferences: Preferences
    sequential: SequentialState
    direction: int
    interval: tuple[float, float] = (-math.inf, math.inf)  # win rate, intersected over looks


@dataclasses.dataclass(frozen=True)
class Interleaved:
    """Interleaving test with any method; sequential decision, per-user check, balance check.

    Parameters
    ----------
    seed
        Experiment seed (every request is interleaved: routing does not draw).
    method
        The interleaver; ``None`` means ``TeamDraft(length=10)``.
    test
        Sequential test on wins and losses; ``None`` means a mixture SPRT at alpha 0.05 tuned at
        1,000 decisive comparisons.

    Examples
    --------
    >>> strategy = Interleaved(seed=42)
    >>> strategy.route(strategy.start(), ["req_0", "req_1"], [3, 4]).tolist()
    [2, 2]
    """

    seed: int = 0
    method: Interleaver | None = None
    test: MixtureSPRT | None = None
    name: str = "interleaved"
    needs: frozenset[str] = frozenset({"interleaving"})

    def __post_init__(self) -> None:
        check_int("seed", self.seed, minimum=0)
        if self.method is None:
            object.__setattr__(self, "method", TeamDraft(length=10))
        elif not isinstance(self.method, Interleaver):
            msg = (
                f"`method` must be an interleaver such as TeamDraft(length=10), got {self.method!r}"
            )
            raise InvalidArgument(msg)
        if self.test is None:
            object.__setattr__(self, "test", MixtureSPRT(alpha=0.05, n_opt=1000))

    def start(self) -> InterleavedState:
        """No impressions yet."""
        return InterleavedState(Preferences.empty(), self.test.start(), 0)

    def route(self, state: InterleavedState, keys: Sequence[Any], users: Any) -> np.ndarray:
        """Every request is interleaved."""
        return np.full(len(keys), ARM_INTERLEAVED, dtype=np.int8)

    def update(self, state: InterleavedState, look: Any) -> InterleavedState:
        """Add one look's impressions; the test reads their wins, losses and ties once."""
        batch = Preferences.of(look.requests.user, look.preference, look.first_team, look.n_clicks)
        sequential = state.sequential.update(
            wins=int(batch.outcomes.n_wins),
            losses=int(batch.outcomes.n_losses),
            ties=int(batch.outcomes.n_ties),
        )
        direction = state.direction
        if direction == 0 and sequential.stopped:
            data = sequential.data
            direction = 1 if data.n_wins > data.n_losses else -1
        interval = intersect(state.interval, sequential.confidence_interval())
        return InterleavedState(state.preferences.merge(batch), sequential, direction, interval)

    def statistics(self, state: InterleavedState) -> Preferences:
        """The mergeable counts."""
        return state.preferences

    def decision(self, state: InterleavedState) -> str:
        """Ship, keep production or keep collecting."""
        if state.sequential.decision is not Decision.REJECT:
            return CONTINUE
        return SHIP_CANDIDATE if state.direction > 0 else KEEP_PRODUCTION

    def pvalue(self, state: InterleavedState) -> float:
        """The always-valid p-value so far."""
        return state.sequential.pvalue

    def verdict(self, state: InterleavedState) -> Verdict:
        """The decision with wins/losses/ties, the win rate's interval and both checks."""
        prefs = state.preferences
        outcomes = prefs.outcomes
        decisive = int(outcomes.n_wins + outcomes.n_losses)
        win_rate = outcomes.n_wins / decisive if decisive else 0.5
        interval = state.sequential.confidence_interval()  # for its level
        low, high = state.interval
        per_user = prefs.per_user_preference()
        try:
            per_user_p = paired_test(per_user).pvalue
        except InterleaveError:  # fewer than two users, or all equal
            per_user_p = math.nan
        leads = prefs.leads
        balance_p = sign_test(int(leads[1]), int(leads[0])).pvalue if leads.sum() > 0 else math.nan
        return Verdict(
            strategy=self.name,
            decision=self.decision(state),
            decided_by=f"mixture SPRT (alpha {self.test.alpha:g}) on wins/losses",
            effect="candidate win rate - 1/2",
            estimate=win_rate - 0.5,
            low=low - 0.5,
            high=high - 0.5,
            confidence_level=interval.confidence_level,
            pvalue=state.sequential.pvalue,
            n_requests=prefs.n_requests,
            n_candidate_requests=prefs.n_requests,
            n_candidate_users=int((prefs.user_requests > 0).sum()),
            n_clicks=prefs.n_clicks,
            requests_to_decide=state.sequential.n_stopped,
            thresholds=(("alpha", self.test.alpha), ("balance_threshold", BALANCE_THRESHOLD)),
            evidence=(
                ("method", repr(self.method)),
                ("wins", int(outcomes.n_wins)),
                ("losses", int(outcomes.n_losses)),
                ("ties", int(outcomes.n_ties)),
                ("per_user_mean_preference", float(per_user.mean()) if per_user.size else 0.0),
                ("per_user_pvalue", per_user_p),
                ("leads_production", int(leads[0])),
                ("leads_candidate", int(leads[1])),
                ("balance_pvalue", balance_p),
                ("balanced", bool(not balance_p < BALANCE_THRESHOLD)),
            ),
        )
