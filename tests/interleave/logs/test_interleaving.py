"""Interleaving logs -> statistics: credit equals the methods' own, bad data is counted, merges are
exact, and the per-user unit is what keeps heavy users from faking significance."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from interleave import Balanced, Optimized, Probabilistic, TeamDraft
from interleave.errors import InvalidArgument
from interleave.logs import (
    InterleavingResult,
    interleaving_statistics,
    merge_statistics,
    method_named,
)
from interleave.stats import paired_test

from ._logs import click_rows, lean_frame, make_records

METHODS = [
    TeamDraft(length=5),
    Balanced(length=5),
    Probabilistic(length=5),
    Optimized(length=5, relax=True),
]


def _sorted(frame):
    """Statistics are sums per group, in no particular order."""
    return frame.sort(frame.columns[:2], nulls_last=True)


def outcomes_by_hand(method, records, candidate=1, baseline=0):
    return np.array(
        [method.credit(r, c).preferences[candidate][baseline] for r, c in records], dtype=float
    )


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_log_credit_equals_each_impressions_own_credit(method):
    records = make_records(method, 60, seed=3)
    stats = interleaving_statistics(lean_frame(records))
    expected = outcomes_by_hand(method, records)
    by_user = stats.by_user_period.group_by("user_id").agg(pl.col("total").sum()).sort("user_id")
    users = np.array([f"u{i % 7}" for i in range(60)])
    for user, total in by_user.iter_rows():
        assert total == pytest.approx(expected[users == user].sum(), abs=1e-12)
    assert stats.n_impressions == 60
    assert stats.methods == (method.name,)


def test_clicks_as_separate_rows_equal_clicks_in_the_table():
    records = make_records(TeamDraft(length=5), 40, seed=1)
    inline = interleaving_statistics(lean_frame(records, with_ranks=False))
    joined = interleaving_statistics(
        lean_frame(records, with_ranks=False, with_clicks=False), click_rows(records)
    )
    assert_frame_equal(_sorted(inline.by_user_period), _sorted(joined.by_user_period))
    assert inline.count["n_clicks"] == joined.count["n_clicks"] > 0


def test_bad_clicks_are_counted_and_left_out_never_silently_dropped():
    records = make_records(TeamDraft(length=5), 20, seed=2)
    rows = click_rows(records)
    first = rows.head(3)
    beyond = pl.DataFrame({"impression_id": [0, 1], "position": [99, -1]})
    unknown = pl.DataFrame({"impression_id": [1000, 1001, 1002], "position": [0, 0, 1]})
    hostile = pl.concat([rows, first, beyond, unknown])
    clean = interleaving_statistics(lean_frame(records, with_ranks=False, with_clicks=False), rows)
    stats = interleaving_statistics(
        lean_frame(records, with_ranks=False, with_clicks=False), hostile
    )
    assert stats.count["n_duplicate_clicks"] == 3
    assert stats.count["n_clicks_beyond_list"] == 2
    assert stats.count["n_unknown_clicks"] == 3
    assert_frame_equal(_sorted(stats.by_user_period), _sorted(clean.by_user_period))


def test_duplicated_impressions_keep_the_first_row_and_are_counted():
    records = make_records(TeamDraft(length=5), 10, seed=4)
    frame = lean_frame(records, with_ranks=False)
    tampered = frame[3].with_columns(pl.Series("clicks", [[0, 1]], dtype=pl.List(pl.Int64)))
    stats = interleaving_statistics(pl.concat([frame, tampered]))
    assert stats.count["n_duplicate_impressions"] == 1
    assert stats.count["n_rows"] == 11
    assert_frame_equal(
        _sorted(stats.by_user_period), _sorted(interleaving_statistics(frame).by_user_period)
    )


def test_a_method_whose_credit_reads_ranks_names_them_when_they_are_missing():
    records = make_records(Balanced(length=5), 5)
    frame = lean_frame(records, with_ranks=False)
    with pytest.raises(InvalidArgument, match="ranks"):
        interleaving_statistics(frame)


def test_teams_must_match_the_shown_items():
    records = make_records(TeamDraft(length=5), 5)
    frame = lean_frame(records, with_ranks=False).with_columns(pl.col("teams").list.head(1))
    with pytest.raises(InvalidArgument, match=r"one entry per shown item.*impression_id 0"):
        interleaving_statistics(frame)


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(InvalidArgument, match=r"known: .*team_draft"):
        method_named("coin_flip")


def test_candidate_and_baseline_must_differ_and_exist():
    frame = lean_frame(make_records(TeamDraft(length=5), 5), with_ranks=False)
    with pytest.raises(InvalidArgument, match="different rankers"):
        interleaving_statistics(frame, candidate=0, baseline=0)
    with pytest.raises(InvalidArgument, match="must index the 2 rankers"):
        interleaving_statistics(frame, candidate=3, baseline=0)


def test_swapping_candidate_and_baseline_mirrors_the_preference():
    frame = lean_frame(make_records(TeamDraft(length=5), 50, seed=5), with_ranks=False)
    forward = InterleavingResult(interleaving_statistics(frame))
    backward = InterleavingResult(interleaving_statistics(frame, candidate=0, baseline=1))
    assert forward.mean_preference == pytest.approx(-backward.mean_preference)
    assert forward.n_wins == backward.n_losses


@settings(max_examples=30)
@given(
    assignment=st.lists(st.integers(0, 3), min_size=40, max_size=40),
    method_index=st.integers(0, len(METHODS) - 1),
)
def test_partitions_evaluated_apart_and_merged_equal_the_whole(assignment, method_index):
    method = METHODS[method_index]
    records = make_records(method, 40, seed=method_index)
    frame = lean_frame(records, timestamps=[86_400.0 * (i % 3) for i in range(40)])
    whole = interleaving_statistics(frame, every="1d")
    parts = [
        interleaving_statistics(frame.filter(pl.Series(assignment) == p), every="1d")
        for p in sorted(set(assignment))
    ]
    merged = merge_statistics(parts)
    assert_frame_equal(
        _sorted(merged.by_user_period), _sorted(whole.by_user_period), check_exact=False
    )
    assert_frame_equal(_sorted(merged.by_query), _sorted(whole.by_query), check_exact=False)
    assert merged.count == whole.count
    assert merged.credit == pytest.approx(whole.credit)
    a, b = InterleavingResult(merged), InterleavingResult(whole)
    assert a.summary()["pvalue"].to_list() == pytest.approx(b.summary()["pvalue"].to_list())


def test_merge_with_click_rows_partitioned_with_their_impressions():
    records = make_records(TeamDraft(length=5), 30, seed=6)
    frame = lean_frame(records, with_ranks=False, with_clicks=False)
    rows = click_rows(records)
    whole = interleaving_statistics(frame, rows)
    parts = [
        interleaving_statistics(
            frame.filter(pl.col("impression_id") % 2 == p),
            rows.filter(pl.col("impression_id") % 2 == p),
        )
        for p in (0, 1)
    ]
    merged = parts[0].merge(parts[1])
    assert_frame_equal(_sorted(merged.by_user_period), _sorted(whole.by_user_period))
    assert merged.count == whole.count


def test_per_user_paired_test_is_the_stats_paired_test_of_user_means():
    records = make_records(TeamDraft(length=5), 70, seed=7)
    result = InterleavingResult(interleaving_statistics(lean_frame(records, with_ranks=False)))
    outcomes = outcomes_by_hand(TeamDraft(length=5), records)
    users = np.array([i % 7 for i in range(70)])
    means = [outcomes[users == u].mean() for u in range(7)]
    expected = paired_test(means)
    assert result.paired_test().pvalue == pytest.approx(expected.pvalue)
    assert result.per_user["mean_preference"].to_list() == pytest.approx(means)


def test_without_users_each_impression_is_its_own_unit():
    frame = lean_frame(make_records(TeamDraft(length=5), 30), with_ranks=False).drop("user_id")
    result = InterleavingResult(interleaving_statistics(frame))
    assert result.statistics.users_are_impressions
    assert result.per_user.height == 30


def test_an_empty_log_is_an_error_naming_the_problem():
    frame = lean_frame(make_records(TeamDraft(length=5), 3), with_ranks=False).head(0)
    with pytest.raises(InvalidArgument, match="no impressions"):
        InterleavingResult(interleaving_statistics(frame))


def test_over_time_has_one_look_per_period_and_its_last_look_is_the_whole_log():
    records = make_records(TeamDraft(length=5), 90, seed=8)
    frame = lean_frame(records, with_ranks=False, timestamps=[3600.0 * i for i in range(90)])
    result = InterleavingResult(interleaving_statistics(frame, every="1d"))
    curve = result.over_time
    assert curve.height == 4  # 90 hours: days 0, 1, 2, 3
    assert curve["n_impressions"][-1] == 90
    assert curve["mean_preference"][-1] == pytest.approx(result.mean_preference)
    assert (curve["low"] <= curve["mean_preference"]).all()
    assert (curve["pvalue"].diff().drop_nulls() <= 0).all()  # running minimum


def _heavy_user_log(rng, n_users=20, n_impressions=2000):
    """A/A log: no ranker is better on average, but each user has a taste (+1 or -1 bias)."""
    weights = 1.0 / np.arange(1, n_users + 1) ** 1.2
    who = rng.choice(n_users, size=n_impressions, p=weights / weights.sum())
    taste = rng.choice([-0.6, 0.6], size=n_users)
    p_candidate = 0.5 + 0.5 * taste[who]
    clicked_team = (rng.random(n_impressions) < p_candidate).astype(np.int64)
    return pl.DataFrame(
        {
            "impression_id": np.arange(n_impressions),
            "user_id": who.astype(str),
            "method": ["team_draft"] * n_impressions,
            "items": [[0, 1]] * n_impressions,
            "teams": [[0, 1]] * n_impressions,
            "clicks": [[int(t)] for t in clicked_team],
            "timestamp": np.sort(rng.uniform(0, 5 * 86_400, n_impressions)),
        }
    )


@pytest.mark.slow
def test_per_user_unit_keeps_its_error_rate_when_heavy_users_have_tastes():
    # 200 seeded A/A logs with user-level tastes (no ranker better on average). Impression-level
    # sign tests treat one heavy user's 500 clicks as 500 independent votes and reject far more
    # often than alpha; per-user tests do not. With alpha = 0.05 and 200 logs, the per-user
    # rejection count exceeds 22 with probability < 0.2% under Binomial(200, 0.05) (a false
    # failure of this test); the sign test's count is far above it (about 0.9 in our runs).
    rng = np.random.default_rng(20261202)
    per_user = impression_level = always_valid = 0
    for _ in range(200):
        result = InterleavingResult(interleaving_statistics(_heavy_user_log(rng)))
        per_user += result.paired_test().pvalue <= 0.05
        impression_level += result.sign_test().pvalue <= 0.05
        always_valid += result.sequential_pvalue <= 0.05
    assert per_user <= 22
    assert always_valid <= 22
    assert impression_level >= 100


def test_partitions_with_different_id_types_do_not_merge():
    frame = lean_frame(make_records(TeamDraft(length=5), 10), with_ranks=False)
    as_ints = frame.with_columns(pl.int_range(pl.len()).alias("user_id"))
    with pytest.raises(InvalidArgument, match="different types"):
        merge_statistics([interleaving_statistics(frame), interleaving_statistics(as_ints)])
