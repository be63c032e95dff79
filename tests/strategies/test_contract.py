"""The contract every rollout strategy passes (one suite, every strategy)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave.methods import Balanced, Probabilistic, TeamDraft
from interleave.simulate import ARM_NAMES, EXPOSURE_SCHEMA, World
from interleave.stats import MixtureSPRT
from strategies.ab import AB
from strategies.canary import Canary
from strategies.interleaved import Interleaved
from strategies.protocol import CONTINUE, SHIP_CANDIDATE, Verdict
from strategies.shadow import Shadow

FACTORIES = {
    "ab": lambda seed: AB(seed=seed, test=MixtureSPRT(n_opt=50)),
    "ab_sticky": lambda seed: AB(seed=seed, assignment="user", candidate_share=0.5),
    "canary": lambda seed: Canary(seed=seed, min_stage_requests=20),
    "shadow": lambda seed: Shadow(seed=seed),
    "team_draft": lambda seed: Interleaved(seed=seed, method=TeamDraft(length=10)),
    "balanced": lambda seed: Interleaved(seed=seed, method=Balanced(length=10)),
    "probabilistic": lambda seed: Interleaved(seed=seed, method=Probabilistic(length=10)),
}
NAMES = sorted(FACTORIES)


@pytest.fixture(scope="module")
def world():
    return World.build(n_users=60, seed=7)


@pytest.fixture(scope="module")
def runs(world):
    return {name: world.run(FACTORIES[name](7), 400, look_every=10) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_routing_is_a_pure_function_of_seed_key_and_user(name):
    strategy = FACTORIES[name](11)
    state = strategy.start()
    keys = [f"req_{i}" for i in range(300)]
    users = np.arange(300) % 37
    whole = strategy.route(state, keys, users)
    # In another worker, in another order, in smaller batches: the same arms.
    again = FACTORIES[name](11)
    order = np.random.default_rng(0).permutation(300)
    shuffled = np.empty(300, dtype=np.int8)
    for part in np.array_split(order, 7):
        shuffled[part] = again.route(again.start(), [keys[i] for i in part], users[part])
    assert np.array_equal(whole, shuffled)


@pytest.mark.parametrize("name", NAMES)
def test_no_exposure_or_click_is_lost(name, runs, world):
    result = runs[name]
    exposures = result.exposures
    assert dict(exposures.schema) == EXPOSURE_SCHEMA
    assert exposures["impression_id"].n_unique() == 400
    assert exposures.height == 400 * world.depth
    assert result.verdict.n_requests == 400
    assert result.verdict.n_clicks == exposures["click"].sum()
    assert set(exposures["policy"].unique()) <= set(ARM_NAMES)
    assert result.path["n_requests"].to_list() == list(range(10, 401, 10))


@pytest.mark.parametrize("name", sorted(set(NAMES) - {"canary"}))
def test_statistics_from_workers_merge_exactly(name, world):
    # Three workers each read a part of the requests; their statistics add up to one reader's.
    strategy = FACTORIES[name](3)
    look = world.outcomes(strategy, 300)
    one = strategy.statistics(strategy.update(strategy.start(), look))
    parts = [
        strategy.statistics(strategy.update(strategy.start(), look.take(rows)))
        for rows in (slice(0, 70), slice(70, 71), slice(71, 300))
    ]
    merged = parts[0].merge(parts[1]).merge(parts[2])
    assert merged == one
    assert parts[2].merge(parts[0]).merge(parts[1]) == one  # in any order


def test_canary_statistics_merge_across_stages(world):
    canary = FACTORIES["canary"](3)
    result = world.run(canary, 300, look_every=10)
    per_stage = result.state.all_counts
    assert sum(per_stage.n_requests) == 300
    assert per_stage.merge(type(per_stage).empty()) == per_stage


@pytest.mark.parametrize("name", NAMES)
def test_a_verdict_carries_its_evidence(name, runs):
    verdict = runs[name].verdict
    assert isinstance(verdict, Verdict)
    assert verdict.decided_by
    assert verdict.effect
    assert 0.0 < verdict.confidence_level < 1.0
    assert 0.0 <= verdict.pvalue <= 1.0
    assert dict(verdict.thresholds)["alpha"] == 0.05
    assert verdict.evidence
    assert verdict.strategy in str(verdict)
    json.dumps(verdict.to_dict())  # JSON-able, infinite bounds included
    assert runs[name].strategy.verdict(runs[name].state) == verdict


def test_the_reported_interval_agrees_with_the_decision(runs):
    # The interval is the running intersection of always-valid intervals: once the test has
    # decided for the candidate it excludes "no effect" for good. (Pinned runs: the interleaved
    # ones decide within the 400 requests.)
    decided = [r.verdict for r in runs.values() if r.verdict.decision == SHIP_CANDIDATE]
    assert len(decided) >= 3
    for verdict in decided:
        assert verdict.low > 0
        assert verdict.estimate > 0
    for result in runs.values():
        if result.verdict.decision == CONTINUE:  # no look rejected, so every interval held 0
            assert result.verdict.low <= 0 <= result.verdict.high


@pytest.mark.parametrize("name", NAMES)
def test_a_decision_once_made_stays(name, runs):
    decisions = runs[name].path["decision"].to_list()
    first = runs[name].verdict.requests_to_decide
    if first is not None and name != "canary":
        at = runs[name].path["n_requests"].to_list().index(first)
        assert len(set(decisions[at:])) == 1


@given(
    users=st.lists(st.integers(0, 50), min_size=1, max_size=30),
    arms=st.lists(st.integers(0, 1), min_size=30, max_size=30),
    clicks=st.lists(st.integers(0, 3), min_size=30, max_size=30),
    cut=st.integers(0, 30),
)
def test_user_counts_merge_like_one_batch(users, arms, clicks, cut):
    from strategies.protocol import UserClicks

    n = len(users)
    u, a, c = np.array(users), np.array(arms[:n]), np.array(clicks[:n])
    cut = min(cut, n)
    one = UserClicks.empty().add(u, a, c)
    two = (
        UserClicks.empty()
        .add(u[:cut], a[:cut], c[:cut])
        .merge(UserClicks.empty().add(u[cut:], a[cut:], c[cut:]))
    )
    assert one == two
    assert sum(one.n_requests) == n
    assert sum(one.n_clicks) == c.sum()


@given(
    seed=st.integers(0, 2**63),
    key=st.one_of(st.text(max_size=30), st.integers(-(2**70), 2**70)),
)
def test_routing_coins_are_stable_uniforms_that_tell_key_types_apart(seed, key):
    from strategies.protocol import routing_uniforms

    coin = routing_uniforms(seed, "ab", [key])[0]
    assert 0.0 <= coin < 1.0
    assert routing_uniforms(seed, "ab", [key, key]).tolist() == [coin, coin]
    assert routing_uniforms(seed, "canary", [key])[0] != coin  # salts separate strategies
    if isinstance(key, int):
        assert routing_uniforms(seed, "ab", [str(key)])[0] != coin  # 1 and "1" differ
