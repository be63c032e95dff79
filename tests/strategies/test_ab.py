"""A/B: the weighted split, sticky users, per-user analysis, the sample-ratio check."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from interleave.errors import InvalidArgument
from interleave.simulate import World
from strategies.ab import AB, SAMPLE_RATIO_MISMATCH
from strategies.protocol import CONTINUE, KEEP_PRODUCTION


def test_the_split_sends_the_seed_share_to_the_candidate():
    ab = AB(seed=42)
    arms = ab.route(ab.start(), [f"req_{i}" for i in range(20_000)], np.zeros(20_000, int))
    # Exact binomial test of the realised share against 10%: fails by chance with p < 1e-6.
    assert stats.binomtest(int(arms.sum()), 20_000, 0.10).pvalue > 1e-6


def test_sticky_assignment_gives_a_user_one_arm_whatever_the_request():
    ab = AB(seed=1, assignment="user", candidate_share=0.5)
    users = np.repeat(np.arange(50), 20)
    arms = ab.route(ab.start(), [f"req_{i}" for i in range(1000)], users).reshape(50, 20)
    assert np.all(arms == arms[:, :1])
    assert 0 < arms[:, 0].sum() < 50


def test_impression_level_tests_are_anti_conservative_with_heavy_users():
    # A/A: identical rankers, users stay in their arm, a few users make most requests and users
    # differ in how readily they click. Each request is not an independent unit: the impression
    # -level test calls a difference "significant" far more often than its 5%, the per-user test
    # does not. Seeded, 100 experiments: if the per-user false-positive rate is 5%, seeing more
    # than 12 of 100 has probability ~0.1% (binomial); the impression test measured 84 of 100.
    impression, per_user = [], []
    for seed in range(100):
        world = World.build(
            n_users=100,
            seed=seed,
            candidate_quality=0.35,
            activity_sigma=2.0,
            propensity_sigma=1.0,
        )
        ab = AB(seed=seed, assignment="user", candidate_share=0.5)
        state = ab.update(ab.start(), world.outcomes(ab, 3000))
        pvalues = ab.fixed_tests(state)
        impression.append(pvalues["impression"] < 0.05)
        per_user.append(pvalues["per_user"] < 0.05)
    assert np.mean(per_user) <= 0.12
    assert np.mean(impression) > 0.5


def test_a_broken_split_is_caught_and_overrides_the_decision():
    # Logging loses 40% of the candidate's requests: the realised split is no longer 90/10.
    world = World.build(n_users=500, seed=3)
    ab = AB(seed=3)
    look = world.outcomes(ab, 20_000)
    keep = (look.arm == 0) | (np.arange(len(look)) % 5 >= 2)
    kept = np.flatnonzero(keep)
    state = ab.start()
    for part in np.array_split(kept, 20):
        state = ab.update(state, _rows(look, part))
    verdict = ab.verdict(state)
    assert verdict.decision == SAMPLE_RATIO_MISMATCH
    assert verdict.decided_by.startswith("sequential SRM")
    assert dict(verdict.evidence)["srm_pvalue"] < 0.001


def test_an_intact_split_passes_the_sample_ratio_check():
    world = World.build(n_users=500, seed=3)
    ab = AB(seed=3)
    result = world.run(ab, 20_000, look_every=1000, keep_exposures=False)
    assert result.verdict.decision != SAMPLE_RATIO_MISMATCH
    assert dict(result.verdict.evidence)["srm_sequential_pvalue"] > 0.001


def test_no_decision_before_each_arm_has_enough_users():
    world = World.build(n_users=40, seed=42)
    ab = AB(seed=42, min_users=30)
    result = world.run(ab, 200, look_every=1)
    assert result.verdict.decision == CONTINUE
    assert result.verdict.pvalue == 1.0  # the test never read fewer than 30 users per arm


def test_bad_configuration_names_the_argument():
    with pytest.raises(InvalidArgument, match="`candidate_share` must be in"):
        AB(candidate_share=1.5)
    with pytest.raises(InvalidArgument, match="`assignment` must be one of"):
        AB(assignment="session")
    with pytest.raises(InvalidArgument, match="`analysis` must be one of"):
        AB(analysis="query")


def _rows(look, index):
    from interleave.simulate import Look, Requests

    r = look.requests
    return Look(
        Requests(r.request_id[index], r.user[index], r.query[index], r.timestamp[index]),
        look.arm[index],
        look.n_clicks[index],
        look.error[index],
        look.preference[index],
        look.first_team[index],
        look.production_items[index],
        look.candidate_items[index],
        look.counterfactual_clicks[index],
    )


def _synthetic_look(ab, users, clicks_of_arm):
    # A look built by hand: routing by the strategy, clicks by the arm (no click model).
    from interleave.simulate import Look, Requests

    n = len(users)
    ids = np.arange(n, dtype=np.int64)
    arms = ab.route(ab.start(), [f"req_{i}" for i in range(n)], users)
    items = np.zeros((n, 1), dtype=np.int64)
    return Look(
        Requests(ids, users, np.zeros(n, dtype=np.int64), ids.astype(float)),
        arms,
        clicks_of_arm(arms),
        np.zeros(n, dtype=bool),
        np.zeros(n),
        np.full(n, -1, dtype=np.int8),
        items,
        items,
        np.zeros(n, dtype=np.int64),
    )


def test_a_candidate_never_clicked_against_a_production_always_clicked_is_decided():
    # Both arms at a boundary (0/n and n/n): the impression-level proportions used to have zero
    # variance and never stopped; now production is kept at the first look each arm has 30.
    ab = AB(seed=4, analysis="impression", candidate_share=0.5)
    look = _synthetic_look(ab, np.arange(400, dtype=np.int64), lambda arms: 1 - arms)
    state = ab.start()
    for part in np.array_split(np.arange(400), 40):
        state = ab.update(state, _rows(look, part))
    verdict = ab.verdict(state)
    assert verdict.decision == KEEP_PRODUCTION
    assert verdict.estimate == -1.0
    assert -1.0 <= verdict.low <= verdict.high < 0.0
    assert verdict.requests_to_decide <= 100  # the first looks with 30 requests in each arm


def test_a_candidate_nobody_clicks_is_kept_out_by_the_per_user_analysis():
    # The default analysis: users stay in their arm and make 5 requests each; production's users
    # click 30% of theirs, nobody clicks the candidate's lists (per-user CTR 0 for every user).
    ab = AB(seed=4, assignment="user", candidate_share=0.5)
    users = np.repeat(np.arange(200, dtype=np.int64), 5)
    coins = np.random.default_rng(4).random(len(users)) < 0.3
    look = _synthetic_look(ab, users, lambda arms: ((arms == 0) & coins).astype(np.int64))
    state = ab.start()
    for part in np.array_split(np.arange(len(users)), 20):
        state = ab.update(state, _rows(look, part))
    verdict = ab.verdict(state)
    assert verdict.decision == KEEP_PRODUCTION
    assert verdict.high < 0.0
