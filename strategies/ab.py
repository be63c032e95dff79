"""A/B: a weighted split between production and the candidate, analysed per user.

Routing sends a request to the candidate when its routing coin (BLAKE2b of (seed, key), or of
(seed, user) when ``assignment='user'``, the sticky split) is below ``candidate_share``: the seed
document's 10% by default. What is learnt is :class:`~strategies.protocol.UserClicks`, per-user
requests and clicked requests in each arm, which merges exactly across workers.

Analysis is per user by default: each user's click-through rate is one observation, so a few
heavy users cannot pass their own click habits off as evidence. An impression-level test
(``analysis='impression'``) treats every request as independent; when users differ in activity
and propensity and stay in one arm it is anti-conservative (``tests/strategies/test_ab.py``
measures how much). The decision is a normal-mixture sequential test (always-valid, safe to read
after every look) on the difference in CTR; the realised split is checked with Lindon & Malek's
sequential sample-ratio test, and a mismatch overrides any decision.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from interleave._checks import check_int, check_one_of, check_real
from interleave.errors import InterleaveError
from interleave.stats import (
    Decision,
    MixtureSPRT,
    SequentialSRM,
    SequentialState,
    TwoMeans,
    TwoProportions,
    srm_test,
    two_proportions_test,
    welch_test,
)
from strategies.protocol import (
    CONTINUE,
    KEEP_PRODUCTION,
    SHIP_CANDIDATE,
    UserClicks,
    Verdict,
    intersect,
    routing_uniforms,
)

__all__ = ["AB", "SAMPLE_RATIO_MISMATCH", "ABState"]

SAMPLE_RATIO_MISMATCH = "invalid: sample-ratio mismatch"


@dataclasses.dataclass(frozen=True)
class ABState:
    """What an A/B test has learnt: the per-user counts and the monitoring record.

    Attributes
    ----------
    counts
        Per-user requests and clicked requests per arm (mergeable).
    pvalue
        Always-valid p-value: running minimum over looks.
    stopped_at
        Requests seen at the look that crossed the boundary, ``None`` while it continues.
    direction
        Sign of the estimate at that look (+1 candidate better, -1 worse), 0 while it continues.
    srm
        The sequential sample-ratio test's state over assignments (requests, or users if sticky).
    """

    counts: UserClicks
    pvalue: float
    stopped_at: int | None
    direction: int
    srm: SequentialState
    interval: tuple[float, float] = (-math.inf, math.inf)  # intersected over looks

    @property
    def n_requests(self) -> int:
        """Requests seen."""
        return sum(self.counts.n_requests)


@dataclasses.dataclass(frozen=True)
class AB:
    """A/B test: weighted split, per-user analysis, sequential test, sample-ratio check.

    Parameters
    ----------
    seed
        Experiment seed: routing depends on it and the request key (or user) only.
    candidate_share
        Share of requests (or users) sent to the candidate.
    assignment
        ``'request'``: each request flips its own coin (the seed document's ``ab_route``);
        ``'user'``: sticky, a user always gets the same arm.
    analysis
        ``'user'``: Welch-type comparison of per-user CTRs; ``'impression'``: two proportions
        over requests (anti-conservative with heavy users, kept to show it).
    test
        The sequential test; ``None`` means a mixture SPRT at alpha 0.05 tuned at 1,000
        observations.
    min_users
        Users (requests, for the impression analysis) each arm needs before the test may stop.
        The A/B intervals estimate their variance, so their validity is asymptotic: with a
        handful of users an arm's estimate can be far too small and the interval spuriously
        narrow (an arm with no variance at all is handled in :mod:`interleave.stats`; the
        small-arm rates left are measured in ``tests/interleave/stats/test_peeking.py``).

    Examples
    --------
    >>> ab = AB(seed=42)
    >>> arms = ab.route(ab.start(), ["req_0", "req_1", "req_2"], [0, 1, 2])
    >>> arms.tolist() == ab.route(ab.start(), ["req_0", "req_1", "req_2"], [5, 6, 7]).tolist()
    True
    """

    seed: int = 0
    candidate_share: float = 0.10
    assignment: str = "request"
    analysis: str = "user"
    test: MixtureSPRT | None = None
    min_users: int = 30
    name: str = "A/B"
    needs: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        check_int("seed", self.seed, minimum=0)
        check_real(
            "candidate_share",
            self.candidate_share,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
        )
        check_one_of("assignment", self.assignment, ("request", "user"))
        check_one_of("analysis", self.analysis, ("user", "impression"))
        check_int("min_users", self.min_users, minimum=2)
        if self.test is None:
            object.__setattr__(self, "test", MixtureSPRT(alpha=0.05, n_opt=1000))

    # -- protocol ---------------------------------------------------------------------------------

    def start(self) -> ABState:
        """No requests yet."""
        srm = SequentialSRM(expected_ratios=(1 - self.candidate_share, self.candidate_share))
        return ABState(UserClicks.empty(), 1.0, None, 0, srm.start())

    def route(self, state: ABState, keys: Sequence[Any], users: Any) -> np.ndarray:
        """1 (candidate) when the routing coin is below ``candidate_share``, else 0."""
        if self.assignment == "user":
            users = np.asarray(users)
            unique, inverse = np.unique(users, return_inverse=True)
            coins = routing_uniforms(self.seed, "ab-user", unique.tolist())[inverse]
        else:
            coins = routing_uniforms(self.seed, "ab", keys)
        return (coins < self.candidate_share).astype(np.int8)

    def update(self, state: ABState, look: Any) -> ABState:
        """Add one look's requests and read the test once."""
        arms = np.asarray(look.arm, dtype=np.int64)
        before_users = (state.counts.n_users_in(0), state.counts.n_users_in(1))
        counts = state.counts.add(look.requests.user, arms, look.n_clicks)
        if self.assignment == "user":
            assigned = (
                counts.n_users_in(0) - before_users[0],
                counts.n_users_in(1) - before_users[1],
            )
        else:
            assigned = (int((arms == 0).sum()), int((arms == 1).sum()))
        srm = state.srm.update(counts=assigned)
        if self.analysis == "user":
            smallest = min(counts.n_users_in(0), counts.n_users_in(1))
        else:
            smallest = min(counts.n_requests)
        stopped_at, direction = state.stopped_at, state.direction
        if smallest < self.min_users:
            return ABState(counts, state.pvalue, stopped_at, direction, srm, state.interval)
        read = self.test.start(self.data(counts))
        interval = intersect(state.interval, read.confidence_interval())
        pvalue = min(state.pvalue, read.pvalue)
        if stopped_at is None and read.decision is Decision.REJECT:
            stopped_at = sum(counts.n_requests)
            direction = 1 if self._estimate(counts) > 0 else -1
        return ABState(counts, pvalue, stopped_at, direction, srm, interval)

    def data(self, counts: UserClicks) -> TwoMeans | TwoProportions:
        """The sufficient statistics the test reads: per-user CTRs, or requests."""
        if self.analysis == "impression":
            n_a, n_b = counts.n_requests
            return TwoProportions(
                int(counts.clicked[0].sum()), n_a, int(counts.clicked[1].sum()), n_b
            )
        a, b = counts.per_user_ctr(0), counts.per_user_ctr(1)
        return TwoMeans(
            len(a),
            float(a.sum()),
            float((a * a).sum()),
            len(b),
            float(b.sum()),
            float((b * b).sum()),
        )

    def _estimate(self, counts: UserClicks) -> float:
        # The difference the test reads: of per-user CTR means, or of pooled request CTRs.
        if self.analysis == "impression":
            n_a, n_b = counts.n_requests
            if n_a == 0 or n_b == 0:
                return 0.0
            return float(counts.clicked[1].sum() / n_b - counts.clicked[0].sum() / n_a)
        a, b = counts.per_user_ctr(0), counts.per_user_ctr(1)
        if a.size == 0 or b.size == 0:
            return 0.0
        return float(b.mean() - a.mean())

    def statistics(self, state: ABState) -> UserClicks:
        """The mergeable counts."""
        return state.counts

    def decision(self, state: ABState) -> str:
        """Ship, keep production, keep collecting, or invalid (sample-ratio mismatch)."""
        if state.srm.decision is Decision.REJECT:
            return SAMPLE_RATIO_MISMATCH
        if state.stopped_at is None:
            return CONTINUE
        return SHIP_CANDIDATE if state.direction > 0 else KEEP_PRODUCTION

    def pvalue(self, state: ABState) -> float:
        """The always-valid p-value so far."""
        return state.pvalue

    def fixed_tests(self, state: ABState) -> dict[str, float]:
        """Fixed-horizon p-values of both analyses on the same counts (NaN where undefined).

        ``per_user``: Welch's t on per-user CTRs; ``impression``: two proportions over requests.
        """
        counts = state.counts
        out = {"per_user": math.nan, "impression": math.nan}
        a, b = counts.per_user_ctr(0), counts.per_user_ctr(1)
        with contextlib.suppress(InterleaveError):
            out["per_user"] = welch_test(
                len(a),
                float(a.sum()),
                float((a * a).sum()),
                len(b),
                float(b.sum()),
                float((b * b).sum()),
            ).pvalue
        n_a, n_b = counts.n_requests
        with contextlib.suppress(InterleaveError):
            out["impression"] = two_proportions_test(
                int(counts.clicked[0].sum()), n_a, int(counts.clicked[1].sum()), n_b
            ).pvalue
        return out

    def verdict(self, state: ABState) -> Verdict:
        """The decision with the per-arm counts, the estimate, its interval and the SRM check."""
        counts = state.counts
        read = self.test.start(self.data(counts))
        interval = read.confidence_interval()
        n_a, n_b = counts.n_requests
        assigned = (
            (counts.n_users_in(0), counts.n_users_in(1))
            if self.assignment == "user"
            else (n_a, n_b)
        )
        srm_p = (
            srm_test(assigned, (1 - self.candidate_share, self.candidate_share)).pvalue
            if min(assigned) > 0
            else math.nan
        )
        decision = self.decision(state)
        unit = "per-user" if self.analysis == "user" else "per-request"
        watching = f"mixture SPRT (alpha {self.test.alpha:g}) on {unit} CTR"
        if self.analysis == "user":
            smallest = min(counts.n_users_in(0), counts.n_users_in(1))
        else:
            smallest = min(n_a, n_b)
        if smallest < self.min_users:
            what = "users" if self.analysis == "user" else "requests"
            watching += f", not read until each arm has {self.min_users} {what} ({smallest} yet)"
        decided_by = (
            "sequential SRM (alpha 0.001)" if decision == SAMPLE_RATIO_MISMATCH else watching
        )
        fixed = self.fixed_tests(state)
        return Verdict(
            strategy=self.name,
            decision=decision,
            decided_by=decided_by,
            effect=f"{unit} CTR, candidate - production",
            estimate=self._estimate(counts),
            low=state.interval[0],
            high=state.interval[1],
            confidence_level=interval.confidence_level,
            pvalue=state.pvalue,
            n_requests=n_a + n_b,
            n_candidate_requests=n_b,
            n_candidate_users=counts.n_users_in(1),
            n_clicks=sum(counts.n_clicks),
            requests_to_decide=state.stopped_at
            if decision != SAMPLE_RATIO_MISMATCH
            else state.srm.n_stopped,
            thresholds=(
                ("alpha", self.test.alpha),
                ("min_users", self.min_users),
                ("candidate_share", self.candidate_share),
                ("srm_alpha", state.srm.test.alpha),
            ),
            evidence=(
                ("requests_production", n_a),
                ("requests_candidate", n_b),
                ("users_production", counts.n_users_in(0)),
                ("users_candidate", counts.n_users_in(1)),
                ("clicks_production", counts.n_clicks[0]),
                ("clicks_candidate", counts.n_clicks[1]),
                ("srm_pvalue", srm_p),
                ("srm_sequential_pvalue", state.srm.pvalue),
                ("fixed_pvalue_per_user", fixed["per_user"]),
                ("fixed_pvalue_impression", fixed["impression"]),
            ),
        )
