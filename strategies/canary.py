"""Canary: a growing share of users gets the candidate; a guardrail promotes, holds or rolls back.

Users are assigned by MD5 buckets, the seed document's convention: a user is in the canary at
stage fraction ``f`` when ``md5_bucket(user, salt=...) < f * 10_000``. The threshold only grows
along the ramp (5% -> 20% -> 50% -> 100% by default), so the assignment is monotone: a user in
the 5% stays in at 50%, and no user flips back while the ramp goes up. (The seed's own
``get_canary_users`` ranks a known user list by MD5 instead: :func:`canary_users`; the same
prefix property makes it monotone too.)

At each stage the guardrail compares the canary's users with the others over that stage's
requests, on clicks and on errors, with always-valid intervals (a mixture SPRT's confidence
sequence), so it may be read after every look:

- **roll back** as soon as the candidate is confidently worse than production at all: the
  per-user CTR difference's interval lies below 0, or the error-rate difference's lies above 0
  (a canary exists to stop harm early; waiting to be sure the harm exceeds a margin would keep
  hurting the canary's users);
- **promote** when it is confidently not worse by more than the margins (the CTR interval lies
  above ``-click_margin``, the error interval below ``error_margin`` or no error was seen) and the
  stage has served at least ``min_stage_requests`` canary requests;
- **hold** otherwise.

Every transition is recorded with the measured values and the thresholds it was compared with.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from interleave._checks import check_int, check_real
from interleave.errors import InvalidArgument
from interleave.keys import md5_bucket, md5_order
from interleave.stats import MixtureSPRT, TwoMeans, TwoProportions
from strategies.protocol import SHIP_CANDIDATE, UserClicks, Verdict

__all__ = ["ROLL_BACK", "Canary", "CanaryState", "Transition", "canary_users"]

ROLL_BACK = "roll back"
_BUCKETS = 10_000


def canary_users(all_users: Sequence[str], fraction: float) -> set[str]:
    """The seed document's canary: the first ``max(1, int(len * fraction))`` users by MD5.

    Examples
    --------
    >>> sorted(canary_users([f"user_{i}" for i in range(40)], 0.05))
    ['user_36', 'user_7']
    """
    fraction = check_real("fraction", fraction, low=0.0, high=1.0)
    n = max(1, int(len(all_users) * fraction))
    return set(md5_order(list(all_users))[:n])


def _user_name(user: Any) -> str:
    return user if isinstance(user, str) else f"user_{int(user)}"


@dataclasses.dataclass(frozen=True)
class Transition:
    """One guardrail event: at ``n_requests``, ``event`` at ``fraction``, and why."""

    n_requests: int
    event: str
    fraction: float
    ctr_difference: float
    ctr_low: float
    ctr_high: float
    error_difference: float

    def __str__(self) -> str:
        return (
            f"{self.event} at {self.fraction:.0%} after {self.n_requests} requests "
            f"(CTR difference {self.ctr_difference:+.3f} in [{self.ctr_low:+.3f}, "
            f"{self.ctr_high:+.3f}], error-rate difference {self.error_difference:+.3f})"
        )


@dataclasses.dataclass(frozen=True)
class CanaryState:
    """Where the ramp is and what it has seen.

    Attributes
    ----------
    stage
        Index into the ramp's ``stages``.
    stage_counts
        Per-user requests and clicks per arm during the current stage (mergeable).
    stage_errors
        Errors and requests per arm during the current stage.
    all_counts
        The same counts over the whole run.
    outcome
        ``None`` while ramping, :data:`ROLL_BACK`, or :data:`SHIP_CANDIDATE` (fully rolled out).
    decided_at
        Requests seen when the outcome was reached.
    history
        Every promotion or rollback, with its numbers.
    """

    stage: int
    stage_counts: UserClicks
    stage_errors: TwoProportions
    all_counts: UserClicks
    outcome: str | None
    decided_at: int | None
    history: tuple[Transition, ...]
    stage_pvalue: float

    @property
    def n_requests(self) -> int:
        """Requests seen."""
        return sum(self.all_counts.n_requests)


@dataclasses.dataclass(frozen=True)
class Canary:
    """Canary release with a monotone ramp and a sequential guardrail.

    Parameters
    ----------
    seed
        Experiment seed: the MD5 salt, so experiments pick different canary users.
    stages
        Increasing fractions of users; the last must be 1 (full rollout).
    click_margin
        How much lower the candidate's per-user CTR may be and still be promoted. A canary
        guards against toxic shifts (the seed's words), not small effects: a small canary
        cannot resolve a few points of per-user CTR, so 0.05 by default.
    error_margin
        How much higher its error rate may be and still be promoted.
    min_stage_requests
        Canary requests a stage must serve before it may promote.
    min_stage_users
        Users each arm needs in a stage before the guardrail promotes, or rolls back on clicks
        (the per-user CTR intervals estimate variances: with a handful of users they can be
        spuriously narrow). A rollback on errors does not wait: errors are counted per request
        and an arm without a variance estimate (every request failed) counts the largest one.
    test
        Supplies the always-valid intervals; ``None`` means a mixture SPRT at alpha 0.05.

    Examples
    --------
    >>> canary = Canary(seed=42)
    >>> state = canary.start()
    >>> arms = canary.route(state, [f"req_{i}" for i in range(40)], list(range(40)))
    >>> int(arms.sum()) <= 40
    True
    """

    seed: int = 0
    stages: tuple[float, ...] = (0.05, 0.20, 0.50, 1.0)
    click_margin: float = 0.05
    error_margin: float = 0.01
    min_stage_requests: int = 50
    min_stage_users: int = 5
    test: MixtureSPRT | None = None
    name: str = "canary"
    needs: frozenset[str] = frozenset()
    adaptive: bool = True  # routing follows the ramp, which follows what was learnt

    def __post_init__(self) -> None:
        check_int("seed", self.seed, minimum=0)
        if not isinstance(self.stages, (tuple, list)) or len(self.stages) > 100:
            msg = (
                f"`stages` must be a tuple of at most 100 increasing fractions ending at 1.0, "
                f"got {self.stages!r}"
            )
            raise InvalidArgument(msg)
        stages = tuple(
            check_real("stages", f, low=0.0, high=1.0, low_open=True) for f in self.stages
        )
        if not stages or any(b <= a for a, b in itertools.pairwise(stages)):
            msg = f"`stages` must be increasing fractions in (0, 1], got {self.stages!r}"
            raise InvalidArgument(msg)
        if stages[-1] != 1.0:
            msg = f"`stages` must end at 1.0 (full rollout), got {self.stages!r}"
            raise InvalidArgument(msg)
        object.__setattr__(self, "stages", stages)
        check_real("click_margin", self.click_margin, low=0.0)
        check_real("error_margin", self.error_margin, low=0.0)
        check_int("min_stage_requests", self.min_stage_requests, minimum=1)
        check_int("min_stage_users", self.min_stage_users, minimum=2)
        if self.test is None:
            object.__setattr__(self, "test", MixtureSPRT(alpha=0.05, n_opt=1000))

    # -- routing --------------------------------------------------------------------------------

    def bucket(self, user: Any) -> int:
        """The user's MD5 bucket in ``range(10_000)`` (salted by the seed)."""
        return md5_bucket(_user_name(user), salt=f"canary-{self.seed}", n_buckets=_BUCKETS)

    def fraction(self, state: CanaryState) -> float:
        """Share of users routed to the candidate in this state."""
        if state.outcome == ROLL_BACK:
            return 0.0
        if state.outcome == SHIP_CANDIDATE:
            return 1.0
        return self.stages[state.stage]

    def start(self) -> CanaryState:
        """At the first stage, nothing seen."""
        empty = UserClicks.empty()
        return CanaryState(0, empty, TwoProportions(), empty, None, None, (), 1.0)

    def route(self, state: CanaryState, keys: Sequence[Any], users: Any) -> np.ndarray:
        """1 for users whose bucket is below the stage's fraction, else 0."""
        threshold = self.fraction(state) * _BUCKETS
        users = list(users.tolist() if isinstance(users, np.ndarray) else users)
        unique = {u: self.bucket(u) < threshold for u in set(users)}
        return np.fromiter((unique[u] for u in users), dtype=np.int8, count=len(users))

    # -- learning -------------------------------------------------------------------------------

    def update(self, state: CanaryState, look: Any) -> CanaryState:
        """Add one look; the guardrail reads the stage's counts and may promote or roll back."""
        arms = np.asarray(look.arm, dtype=np.int64)
        users = look.requests.user
        all_counts = state.all_counts.add(users, arms, look.n_clicks)
        if state.outcome is not None:
            return dataclasses.replace(state, all_counts=all_counts)
        stage_counts = state.stage_counts.add(users, arms, look.n_clicks)
        error = np.asarray(look.error, dtype=bool)
        stage_errors = state.stage_errors.update(
            successes_a=int((error & (arms == 0)).sum()),
            trials_a=int((arms == 0).sum()),
            successes_b=int((error & (arms == 1)).sum()),
            trials_b=int((arms == 1).sum()),
        )
        ctr = self.test.start(_per_user(stage_counts))
        interval = ctr.confidence_interval()
        stage_pvalue = min(state.stage_pvalue, ctr.pvalue)
        error_difference, error_low, error_high = self._errors(stage_errors)
        n_requests = sum(all_counts.n_requests)
        errors_worse = error_low > 0.0
        worse = interval.high < 0.0 or errors_worse
        not_worse = interval.low > -self.click_margin and error_high < self.error_margin
        enough = stage_counts.n_requests[1] >= self.min_stage_requests
        users = min(stage_counts.n_users_in(0), stage_counts.n_users_in(1))
        event = ROLL_BACK if worse else ("promote" if not_worse and enough else None)
        if users < self.min_stage_users and not errors_worse:
            event = None
        if event is None:
            return CanaryState(
                state.stage,
                stage_counts,
                stage_errors,
                all_counts,
                None,
                None,
                state.history,
                stage_pvalue,
            )
        transition = Transition(
            n_requests,
            event,
            self.stages[state.stage],
            _difference(stage_counts),
            interval.low,
            interval.high,
            error_difference,
        )
        history = (*state.history, transition)
        if event == ROLL_BACK:
            return CanaryState(
                state.stage,
                stage_counts,
                stage_errors,
                all_counts,
                ROLL_BACK,
                n_requests,
                history,
                stage_pvalue,
            )
        stage = state.stage + 1
        if self.stages[stage] >= 1.0:
            # The last guarded stage passed: full rollout; its counts stay as the evidence.
            return CanaryState(
                state.stage,
                stage_counts,
                stage_errors,
                all_counts,
                SHIP_CANDIDATE,
                n_requests,
                history,
                stage_pvalue,
            )
        empty = UserClicks.empty()
        return CanaryState(stage, empty, TwoProportions(), all_counts, None, None, history, 1.0)

    def _errors(self, errors: TwoProportions) -> tuple[float, float, float]:
        # No error in either arm: nothing to compare, the guardrail on errors passes.
        if errors.n_successes_a == 0 and errors.n_successes_b == 0:
            return 0.0, 0.0, 0.0
        rate_a = errors.n_successes_a / errors.n_trials_a if errors.n_trials_a else 0.0
        rate_b = errors.n_successes_b / errors.n_trials_b if errors.n_trials_b else 0.0
        interval = self.test.start(errors).confidence_interval()
        return rate_b - rate_a, interval.low, interval.high

    def statistics(self, state: CanaryState) -> UserClicks:
        """The mergeable counts over the whole run (every stage)."""
        return state.all_counts

    def decision(self, state: CanaryState) -> str:
        """Roll back, ship (fully rolled out), or hold at the current fraction."""
        if state.outcome is not None:
            return state.outcome
        return f"hold at {self.fraction(state):.0%}"

    def pvalue(self, state: CanaryState) -> float:
        """The always-valid p-value of no CTR difference in the current stage."""
        return state.stage_pvalue

    def _guardrail_text(self, state: CanaryState) -> str:
        text = (
            f"guardrail: always-valid {1 - self.test.alpha:.0%} intervals (mixture SPRT) "
            f"vs margins CTR -{self.click_margin:g}, errors +{self.error_margin:g}"
        )
        if state.outcome is None:
            counts = state.stage_counts
            users = min(counts.n_users_in(0), counts.n_users_in(1))
            if users < self.min_stage_users or counts.n_requests[1] < self.min_stage_requests:
                text += (
                    f"; this stage has {users} of {self.min_stage_users} users per arm and "
                    f"{counts.n_requests[1]} of {self.min_stage_requests} canary requests needed"
                )
        return text

    def verdict(self, state: CanaryState) -> Verdict:
        """The ramp's position with the guardrail's numbers and every transition."""
        ctr = self.test.start(_per_user(state.stage_counts))
        interval = ctr.confidence_interval()
        error_difference, error_low, error_high = self._errors(state.stage_errors)
        counts = state.all_counts
        return Verdict(
            strategy=self.name,
            decision=self.decision(state),
            decided_by=self._guardrail_text(state),
            effect="per-user CTR, candidate - production (this stage)",
            estimate=_difference(state.stage_counts),
            low=interval.low,
            high=interval.high,
            confidence_level=interval.confidence_level,
            pvalue=state.stage_pvalue,
            n_requests=sum(counts.n_requests),
            n_candidate_requests=counts.n_requests[1],
            n_candidate_users=counts.n_users_in(1),
            n_clicks=sum(counts.n_clicks),
            requests_to_decide=state.decided_at,
            thresholds=(
                ("stages", self.stages),
                ("click_margin", self.click_margin),
                ("error_margin", self.error_margin),
                ("min_stage_requests", self.min_stage_requests),
                ("min_stage_users", self.min_stage_users),
                ("alpha", self.test.alpha),
            ),
            evidence=(
                ("fraction", self.fraction(state)),
                ("stage_requests_production", state.stage_counts.n_requests[0]),
                ("stage_requests_candidate", state.stage_counts.n_requests[1]),
                ("stage_users_candidate", state.stage_counts.n_users_in(1)),
                ("error_rate_difference", error_difference),
                ("error_interval", (error_low, error_high)),
                ("history", tuple(str(t) for t in state.history)),
            ),
        )


def _per_user(counts: UserClicks) -> TwoMeans:
    a, b = counts.per_user_ctr(0), counts.per_user_ctr(1)
    return TwoMeans(
        len(a), float(a.sum()), float((a * a).sum()), len(b), float(b.sum()), float((b * b).sum())
    )


def _difference(counts: UserClicks) -> float:
    a, b = counts.per_user_ctr(0), counts.per_user_ctr(1)
    if a.size == 0 or b.size == 0:
        return math.nan
    return float(b.mean() - a.mean())
