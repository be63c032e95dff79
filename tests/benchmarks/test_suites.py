"""Smoke tests of the benchmark suites: each runs small, returns well-formed rows and one fact.

The facts are exact (enumerations) or seeded simulations with the false-failure rate stated.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from benchmarks import _harness, bias, sensitivity, sequential
from interleave.stats import sample_size_sign_test
from strategies import SHIP_CANDIDATE


@pytest.fixture(scope="module")
def bias_result():  # about 5 s; every test reading it is marked slow
    return bias.run(quick=True, seed=3, n_impressions=2000)


def _by_case(rows, prefix):
    return {row["case"].removeprefix(prefix): row for row in rows if row["case"].startswith(prefix)}


@pytest.mark.slow
def test_bias_rows_cover_every_method_in_every_part(bias_result):
    rows, figures = bias_result
    labels = set(bias.methods())
    assert set(_by_case(rows, "exact: ")) == labels
    assert set(_by_case(rows, "exact random: ")) == labels
    simulated = {row["case"] for row in rows if row["case"].startswith("random clicks: ")}
    assert len(simulated) == 2 * len(labels)  # two ranking pairs
    assert all(
        isinstance(value, float | int | str | bool) for row in rows for value in row.values()
    )
    assert set(figures) == {"bias.png"}


@pytest.mark.slow
def test_team_draft_reproduces_the_published_example(bias_result):
    exact = _by_case(bias_result[0], "exact: ")
    # REFERENCES §3 (Oosterhuis' thesis, recomputed): +0.0570 while the true difference is -0.08.
    for label in ("TeamDraft (original)", "TeamDraft (common prefix)"):
        assert round(exact[label]["expected_outcome"], 4) == 0.0570
        assert exact[label]["true_difference"] == pytest.approx(-0.08)
    assert exact["TeamDraft (original)"]["meets"] is True


@pytest.mark.slow
def test_random_clicks_exact_bias_zero_for_team_draft_nonzero_for_balanced(bias_result):
    exact_random = _by_case(bias_result[0], "exact random: ")
    for label in ("TeamDraft (original)", "DebiasedBalanced", "Probabilistic (tau=3)"):
        assert exact_random[label]["expected_outcome"] == pytest.approx(0.0, abs=1e-12)
    # Balanced's textbook bias (REFERENCES §1) on this very pair, by enumeration: p = 0.3 per
    # position gives -0.21 with Joachims' cut-off.
    assert exact_random["Balanced (joachims cut-off)"]["expected_outcome"] == pytest.approx(-0.21)
    # Optimized is unbiased in expected credit, not in the sign of the outcome.
    assert exact_random["Optimized (inverse credit)"]["expected_score_difference"] == (
        pytest.approx(0.0, abs=1e-12)
    )


@pytest.mark.slow
def test_exact_random_click_values_agree_with_the_batch_simulation(bias_result):
    # Two independent paths: per-request credit over the exact list distribution, and the
    # vectorised batch path on 2,000 seeded impressions. Each of the 8 checks fails falsely with
    # probability 7e-6 at 4.5 SE (normal approximation), all 8 together below 1e-4.
    rows = bias_result[0]
    exact = _by_case(rows, "exact random: ")
    for label, row in exact.items():
        simulated = next(
            r
            for r in rows
            if r["case"] == f"random clicks: {label} on [A,B,C] vs [B,C,A]"
            and r["impressions"] == 2000
        )
        gap = abs(simulated["mean_outcome"] - row["expected_outcome"])
        assert gap <= 4.5 * simulated["standard_error"] + 1e-12, label


def test_every_list_distribution_is_complete_and_coins_are_fair():
    for label, method in bias.methods().items():
        distribution = bias.list_distribution(method, bias.RANKINGS)
        assert sum(p for p, _ in distribution) == pytest.approx(1.0, abs=1e-12), label
        assert all(p > 0 for p, _ in distribution), label
    # Team-Draft on 3 positions draws 3 coins: 8 equally likely sequences.
    team_draft = bias.list_distribution(bias.TeamDraft(), bias.RANKINGS)
    assert [p for p, _ in team_draft] == [1 / 8] * 8


@pytest.mark.slow
def test_simulated_balanced_preference_is_nonzero(bias_result):
    rows = bias_result[0]
    row = next(
        r
        for r in rows
        if r["case"] == "random clicks: Balanced (joachims cut-off) on [A,B,C] vs [B,C,A]"
        and r["impressions"] == 2000
    )
    # Exact mean -0.21, SE about 0.01 at 2,000 impressions: 0 lies ~20 SE away, so with seed 3
    # a false failure has probability far below 1e-12.
    assert row["mean_outcome"] < -3 * row["standard_error"]


def test_write_results_saves_figures_beside_the_tables(tmp_path):
    from matplotlib.figure import Figure

    figure = Figure()
    figure.subplots().plot([0, 1], [1, 0])
    path = _harness.write_results(
        "suite", [{"case": "x", "value": 1.0}], out=tmp_path, figures={"suite.png": figure}
    )
    assert path == tmp_path / "suite.md"
    assert (tmp_path / "suite.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "suite.json").read_text())["rows"][0]["case"] == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["suite.json", "suite.md", "suite.png"]


@pytest.fixture(scope="module")
def sensitivity_result():  # about 10 s; every test reading it is marked slow
    # One world per effect on the suite's 5,000 users, budgets and pilots capped at 20,000
    # requests, 20 verification experiments per strategy; deterministic given the seeds.
    return sensitivity.run(
        quick=True, seed=0, n_seeds=1, n_users=5000, max_requests=20_000, replicates=20
    )


@pytest.mark.slow
def test_sensitivity_interleaving_decides_correctly_and_faster_than_ab(sensitivity_result):
    rows, figures = sensitivity_result
    assert set(figures) == {"sensitivity.png", "sensitivity_power.png"}
    by_case = {row["case"]: row for row in rows}
    for effect in sensitivity.EFFECTS:
        interleaving = by_case[f"{effect} effect: interleaving"]
        assert interleaving["true_ctr_lift"] > 0  # the candidate is truly better
        assert interleaving["correct"] == 1
        assert interleaving["wrong"] == 0
    worlds = [row for row in rows if row["case"].startswith("world ")]
    assert len(worlds) == len(sensitivity.EFFECTS)
    for world in worlds:
        assert world["interleaving_decision"] == SHIP_CANDIDATE
    large = by_case["large effect: ratio A/B : interleaving"]
    assert large["ratio_min"] > 1  # interleaving needs fewer requests than A/B


@pytest.mark.slow
def test_sensitivity_power_counts_follow_the_formula_and_verify(sensitivity_result):
    rows = sensitivity_result[0]
    by_case = {row["case"]: row for row in rows}
    hits = trials = 0
    for effect in sensitivity.EFFECTS:
        for name in sensitivity.POWER_STRATEGIES:
            assert by_case[f"power {effect} effect: {name}"]["unit"] == "requests"
        interleaving = by_case[f"power {effect} effect: interleaving"]
        assert interleaving["reached"] == 1
        # The count is the library's planner on the pilot's rates (recomputed from the row).
        world = by_case[f"power world {effect} seed 0"]
        planned = sample_size_sign_test(
            world["interleaving_win_rate"],
            tie_rate=world["interleaving_tie_rate"],
            power=0.95,
            method="exact",
        ).n_comparisons
        assert world["interleaving_requests"] == planned == interleaving["requests_median"]
        hits += round(interleaving["verified_power"] * interleaving["replicates"])
        trials += interleaving["replicates"]
        # A/B needs more requests than interleaving, reached or not (then the pilot's length).
        assert by_case[f"power {effect} effect: ratio A/B : interleaving"]["ratio_min"] > 1
    # Planned for 95% power: 40 verification experiments; at a true power of 0.93 (the pilot's
    # win rate is an estimate) at most 31 successes has probability 1.5e-3 (binomial).
    assert trials == 40
    assert hits >= 32


@settings(max_examples=50, deadline=None)  # each example solves for a t-test size: ~25 ms
@given(
    difference=st.floats(0.001, 0.2),
    variance_a=st.floats(0.01, 0.25),
    variance_b=st.floats(0.01, 0.25),
    users_a=st.floats(2, 50_000),
    ratio=st.floats(0.05, 1.0),
)
def test_per_user_pilot_reaches_exactly_when_the_planned_power_does(
    difference, variance_a, variance_b, users_a, ratio
):
    pilot = sensitivity.PerUserPilot(
        1000, 1, difference, variance_a, variance_b, users_a, max(2.0, users_a * ratio)
    )
    assume(pilot.planned_users() is not None)
    power = pilot.planned_power()
    assert not math.isnan(power)  # power_two_means integrates the far tail itself (never NaN)
    # sample_size_two_means rounds its users up; power_two_means at the pilot's (whole) users
    # is then >= 95% exactly when they reach that size (1e-6: the solver's tolerance).
    if pilot.reached():
        assert power >= 0.95 - 1e-6
    else:
        assert power < 0.95 + 1e-6


def test_fresh_stream_keeps_the_world_and_draws_new_requests():
    world = sensitivity.World.build(n_users=40, seed=5)
    fresh = sensitivity.fresh_stream(world, "pilot", "A/B")
    assert fresh.production is world.production
    assert fresh.population is world.population
    assert not np.array_equal(fresh.requests(200).user, world.requests(200).user)
    again = sensitivity.fresh_stream(world, "pilot", "A/B")
    assert np.array_equal(again.requests(200).user, fresh.requests(200).user)
    other = sensitivity.fresh_stream(world, "pilot", "interleaving")
    assert not np.array_equal(other.requests(200).user, fresh.requests(200).user)


@pytest.mark.slow
def test_sequential_rows_and_aa_false_positive_rates():
    rows, figures = sequential.run(quick=True, seed=0, n_experiments=100)
    assert set(figures) == {"sequential.png"}
    by_case = {row["case"]: row for row in rows}
    fixed = by_case["win rate 0.55: fixed-horizon sign test at n_fixed"]
    assert fixed["n_fixed"] == 783  # sample_size_sign_test(0.55) (its doctest)
    # Fixed-horizon power at n_fixed is 0.8 by design; with 100 runs its SE is 0.04, so the
    # 0.8 +- 0.2 band (5 SE) fails falsely with probability < 1e-6.
    assert abs(fixed["power"] - 0.8) < 0.2
    aa = {case: row for case, row in by_case.items() if case.startswith("A/A: ")}
    assert len(aa) == 1 + len(sequential.sequential_tests(783))
    # Repeated peeking at 10,000 looks rejects an A/A test most of the time (about 0.6): the
    # 2-alpha bound sits ~ 15 SE below it.
    assert aa["A/A: repeated fixed-horizon z-test"]["fpr"] > 0.1
    # Always-valid tests keep alpha: 0.05 + 4 SE (0.137 at 100 runs) fails falsely < 1e-4 each.
    for case in ("A/A: MixtureSPRT n_opt=1000", "A/A: BetaBinomialMixture Beta(1, 1)"):
        assert aa[case]["fpr"] <= 0.05 + 4 * aa[case]["fpr_se"]
    for row in rows:
        if "mean_share" in row:
            assert row["mean_share"] > 0
            assert row["n_fixed"] >= 1


def test_replicates_are_separate_experiments_of_the_asked_length():
    world = sensitivity.World.build(n_users=40, seed=5)
    looks = list(sensitivity.replicate_looks(world, "A/B", 50, 3))
    assert [len(look) for look in looks] == [50, 50, 50]
    # Blocks of one stream: consecutive requests, none shared.
    ids = np.concatenate([look.requests.request_id for look in looks])
    assert len(np.unique(ids)) == 150
    # A canary replicate draws its own canary users (a new routing seed and stream each).
    canary = list(sensitivity.replicate_looks(world, "canary 50%", 400, 2))
    chosen = [set(look.requests.user[look.arm == 1].tolist()) for look in canary]
    assert chosen[0] != chosen[1]
