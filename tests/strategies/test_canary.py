"""Canary: monotone MD5 buckets, a ramp that only grows, rollback on a worse candidate."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave.errors import InvalidArgument
from interleave.keys import md5_order
from interleave.simulate import World
from strategies.canary import ROLL_BACK, Canary, canary_users
from strategies.protocol import SHIP_CANDIDATE


@given(
    user=st.one_of(st.integers(0, 10**9), st.text(min_size=1, max_size=20)),
    low=st.floats(0.0, 1.0),
    high=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
)
def test_a_user_in_the_canary_stays_in_as_the_ramp_grows(user, low, high, seed):
    low, high = sorted((low, high))
    canary = Canary(seed=seed)
    bucket = canary.bucket(user)
    assert (bucket < low * 10_000) <= (bucket < high * 10_000)
    assert canary.bucket(user) == bucket  # the same user, the same bucket


def test_the_seed_canary_is_a_prefix_of_the_md5_order():
    users = [f"user_{i}" for i in range(40)]
    order = md5_order(users)
    for fraction in (0.05, 0.1, 0.2, 0.25, 0.5):
        assert canary_users(users, fraction) == set(order[: max(1, int(40 * fraction))])


def test_the_stage_share_of_users_matches_the_fraction():
    canary = Canary(seed=5)
    users = np.arange(20_000)
    for stage, fraction in enumerate(canary.stages[:-1]):
        state = canary.start()
        state = type(state)(stage, *list(state.__dict__.values())[1:])
        share = canary.route(state, [""] * len(users), users).mean()
        # Binomial standard error at 20,000 users is <= 0.0036; 0.02 is over 5 of them.
        assert share == pytest.approx(fraction, abs=0.02)


@pytest.fixture(scope="module")
def better():
    world = World.build(n_users=3000, seed=11)
    return world.run(Canary(seed=11), 60_000, look_every=500)


def test_a_better_candidate_is_promoted_stage_by_stage(better):
    verdict = better.verdict
    assert verdict.decision == SHIP_CANDIDATE
    events = [t.event for t in better.state.history]
    assert events == ["promote"] * (len(Canary().stages) - 1)
    fractions = [t.fraction for t in better.state.history]
    assert fractions == sorted(fractions)
    assert all("promote at" in line for line in dict(verdict.evidence)["history"])


def test_no_user_flips_back_to_production_while_the_ramp_grows(better):
    arms = (
        better.exposures.filter(pl.col("position") == 0)
        .sort("impression_id")
        .group_by("user_id", maintain_order=True)
        .agg((pl.col("policy") == "candidate").cast(pl.Int8).alias("arm"))
    )
    for sequence in arms["arm"].to_list():
        # 0 ... 0 1 ... 1: once in the canary, always in it.
        assert sequence == sorted(sequence)


def test_a_worse_candidate_is_rolled_back_and_everyone_returns_to_production():
    world = World.build(n_users=3000, seed=12, production_quality=0.55, candidate_quality=0.15)
    result = world.run(Canary(seed=12), 40_000, look_every=500)
    assert result.verdict.decision == ROLL_BACK
    assert result.state.history[-1].event == ROLL_BACK
    assert result.state.history[-1].ctr_high < 0.0
    after = result.exposures.filter(pl.col("impression_id") >= result.verdict.requests_to_decide)
    assert set(after["policy"].unique()) == {"production"}


def test_a_candidate_that_fails_is_rolled_back_on_errors():
    world = World.build(n_users=3000, seed=13, candidate_error_rate=0.2, candidate_quality=0.35)
    result = world.run(Canary(seed=13), 40_000, look_every=500)
    assert result.verdict.decision == ROLL_BACK
    assert result.state.history[-1].error_difference > 0.1


def test_bad_ramps_are_refused():
    with pytest.raises(InvalidArgument, match="`stages` must be increasing"):
        Canary(stages=(0.5, 0.2, 1.0))
    with pytest.raises(InvalidArgument, match=r"must end at 1\.0"):
        Canary(stages=(0.05, 0.5))


@pytest.mark.parametrize(("look_every", "min_stage_users"), [(1, 5), (10, 5), (1, 50)])
def test_a_candidate_failing_on_every_request_is_rolled_back_within_a_few_of_them(
    look_every, min_stage_users
):
    # The defect: every candidate request failing against a production that never fails is 0/n
    # against n/n, whose plug-in variance is 0; the error interval was (-inf, inf) and the canary
    # held at 5% forever. Now the error interval counts a failing arm with the largest Bernoulli
    # variance, |z| = 1 / sqrt(1/(4k) + 1/(4 n_a)) ~ 2 sqrt(k) after k failures: 3 of 3 at ~130
    # requests is 3.4 < the boundary 3.7, the 4th failure makes it 3.9 (140 requests in all).
    # Errors are counted per request, so the rollback does not wait for min_stage_users users.
    # For comparison: a fixed-horizon Fisher test of 0/136 against 4/4 has p ~ 1e-7, and a
    # one-sided SPRT of a 1% against a 50% error rate stops at the first failure; the two-sided
    # mixture tuned at 1,000 users pays three more failed requests for being valid at every look.
    world = World.build(n_users=3000, seed=13, candidate_error_rate=1.0)
    canary = Canary(seed=13, min_stage_users=min_stage_users)
    result = world.run(canary, 2000, look_every=look_every)
    assert result.verdict.decision == ROLL_BACK
    assert result.verdict.requests_to_decide == 140
    rollback = result.state.history[-1]
    assert (rollback.event, rollback.fraction, rollback.error_difference) == (ROLL_BACK, 0.05, 1.0)
    errors = result.state.stage_errors
    assert errors.n_successes_b == errors.n_trials_b == 4
    assert errors.n_successes_a == 0
    low, high = dict(result.verdict.evidence)["error_interval"]
    assert 0.0 < low <= high <= 1.0
    after = result.exposures.filter(pl.col("impression_id") >= result.verdict.requests_to_decide)
    assert set(after["policy"].unique()) == {"production"}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_worlds_roll_back_a_failing_candidate_after_four_or_five_failures(seed):
    # Seeds 1-3 measured: 4 failures at 158 requests, 5 at 67, 4 at 95. Seed 2's first four came
    # within 21 requests, where the boundary is wider (|z| 3.6 against 6.6; with the 5th, 4.3
    # crosses 4.3 at request 67).
    world = World.build(n_users=3000, seed=seed, candidate_error_rate=1.0)
    result = world.run(Canary(seed=seed), 2000, look_every=1, keep_exposures=False)
    assert result.verdict.decision == ROLL_BACK
    assert result.state.stage_errors.n_trials_b in (4, 5)
    assert result.verdict.requests_to_decide <= 200
