"""Credit records and their aggregation into the one win/loss currency, stats.WinLoss."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave import (
    Credit,
    CreditBatch,
    GroupPreference,
    InvalidArgument,
    Probabilistic,
    TeamDraft,
    per_group_preference,
    tally,
)
from interleave.stats import WinLoss, paired_test, sign_test


def credit(outcome, k=2):
    """A credit whose candidate (ranker 1) has ``outcome`` against the baseline (ranker 0)."""
    prefs = np.zeros((k, k))
    prefs[1, 0], prefs[0, 1] = outcome, -outcome
    return Credit("x", (0.0,) * k, tuple(tuple(float(x) for x in row) for row in prefs))


def test_winner_is_the_ranker_preferred_to_every_other():
    prefs = ((0.0, 1.0, 1.0), (-1.0, 0.0, 1.0), (-1.0, -1.0, 0.0))
    assert Credit("x", (3.0, 2.0, 1.0), prefs).winner == 0


def test_a_preference_cycle_has_no_winner():
    prefs = ((0.0, 1.0, -1.0), (-1.0, 0.0, 1.0), (1.0, -1.0, 0.0))
    assert Credit("x", (1.0, 1.0, 1.0), prefs).winner is None


def test_tally_counts_the_candidates_wins_losses_and_ties_as_a_winloss():
    result = tally([credit(1.0), credit(1.0), credit(0.0), credit(-1.0)])
    assert result == WinLoss(2, 1, 1)
    assert all(type(c) is int for c in (result.n_wins, result.n_losses, result.n_ties))
    # The other side of the same impressions: the baseline's wins are the candidate's losses.
    assert tally([credit(1.0), credit(1.0), credit(0.0), credit(-1.0)], 0, 1) == WinLoss(1, 2, 1)
    assert tally([credit(1.0)], candidate=0, baseline=1) == WinLoss(0, 1, 0)


def test_whole_counts_feed_the_exact_sign_test():
    counts = tally([credit(1.0)] * 9 + [credit(-1.0)] + [credit(0.0)] * 3)
    # sign_test reads the WinLoss straight away, no int() casts: 9 wins of 10 decisive.
    assert sign_test(counts.n_wins, counts.n_losses, counts.n_ties).pvalue == pytest.approx(
        22 / 1024  # two-sided binomial: 2 * (C(10,9) + C(10,10)) / 2**10
    )


def test_tally_splits_a_probabilistic_outcome_into_fractional_counts():
    result = tally([credit(0.5), credit(-0.25)])
    assert (result.n_wins, result.n_losses, result.n_ties) == (0.5, 0.25, 1.25)
    assert result.n == 2.0


@given(st.lists(st.floats(-1.0, 1.0), max_size=30))
def test_fractional_counts_keep_one_impression_each_and_the_mean_outcome(outcomes):
    result = tally(credit(e) for e in outcomes)
    assert result.n == pytest.approx(len(outcomes))
    assert result.n_wins - result.n_losses == pytest.approx(sum(outcomes))
    assert min(result.n_wins, result.n_losses, result.n_ties) >= 0


def test_probabilistic_credit_tallies_without_losing_fractions():
    method = Probabilistic(length=4)
    rankings = [[1, 2, 3, 4], [4, 3, 2, 1]]
    credits = [
        method.credit(method.interleave(rankings, key=f"r{i}", seed=3), [0, 2]) for i in range(40)
    ]
    outcomes = [c.preferences[1][0] for c in credits]
    assert any(0 < abs(e) < 1 for e in outcomes)  # the point: fractional expected outcomes
    result = tally(credits)
    assert result.n_wins - result.n_losses == pytest.approx(sum(outcomes))
    assert result.n == pytest.approx(40)


def test_tally_of_a_batch_equals_tally_of_its_rows():
    method = TeamDraft(length=6)
    batch = method.interleave_batch([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]], 300, rng=0)
    clicks = np.random.default_rng(1).random((300, 6)) < 0.3
    credits = method.credit_batch(batch, clicks)
    rows = [method.credit(batch[i], clicks[i]) for i in range(300)]
    assert credits.win_loss() == tally(rows)
    assert credits.win_loss(0, 1) == tally(rows, candidate=0, baseline=1)
    assert tally(credits) == credits.win_loss()


def test_multileave_tally_picks_the_pair():
    prefs = ((0.0, 1.0, -1.0), (-1.0, 0.0, 0.0), (1.0, 0.0, 0.0))
    c = Credit("team_draft", (1.0, 0.0, 2.0), prefs)
    assert tally([c], candidate=2, baseline=0) == WinLoss(1, 0, 0)
    assert tally([c], candidate=1, baseline=2) == WinLoss(0, 0, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"candidate": -1}, "`candidate` must be >= 0, got -1"),  # was negative indexing
        ({"baseline": -2}, "`baseline` must be >= 0, got -2"),
        ({"candidate": 5}, r"`candidate` must be a ranker index in \[0, 1\], got 5"),
        ({"candidate": 0}, "two different rankers"),
        ({"candidate": 1.0}, "`candidate` must be an integer"),
        ({"candidate": True}, "`candidate` must be an integer"),
        ({"i": 5}, r"tally\(\) got i=5; it takes `candidate` and `baseline`"),
        ({"i": 1, "j": 0}, r"got i=1, j=0"),
    ],
)
def test_tally_names_bad_rankers(kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        tally([credit(1.0)], **kwargs)


@pytest.mark.parametrize(
    ("credits", "message"),
    [
        (None, "`credits` must be an iterable of Credit records, got None"),
        ("abc", "`credits` must be an iterable of Credit records"),
        (5, "`credits` must be an iterable of Credit records"),
        (credit(1.0), "`credits` must be an iterable of Credit records"),
        ([credit(1.0), None], r"`credits\[1\]` must be a Credit, got None"),
        ([credit(1.0), credit(float("nan"))], "outcome nan at impression 1"),
        ([credit(2.0)], "outcome 2.0 at impression 0"),
    ],
)
def test_tally_names_bad_credits(credits, message):
    with pytest.raises(InvalidArgument, match=message):
        tally(credits)


def test_ranker_range_is_checked_on_every_credit_size():
    with pytest.raises(InvalidArgument, match=r"`credits\[1\]` compares 2 rankers"):
        tally([credit(1.0, k=3), credit(1.0, k=2)], candidate=2, baseline=0)


def test_float_rounding_past_one_counts_as_one():
    # A probability sum of 1 + 2**-52 is rounding, not a broken credit.
    assert tally([credit(1.0 + 2**-52), credit(-(1.0 + 2**-52))]) == WinLoss(1, 1, 0)
    pref = per_group_preference([1, 1], [1.0 + 2**-52, 1.0])
    assert pref.mean_outcome.tolist() == [1.0]
    with pytest.raises(InvalidArgument, match=r"outcome 1\.001"):
        tally([credit(1.001)])


def test_an_empty_tally_is_zero():
    assert tally([]) == WinLoss(0, 0, 0)


def test_batch_win_loss_names_bad_rankers_and_broken_outcomes():
    prefs = np.zeros((2, 2, 2))
    batch = CreditBatch("x", np.zeros((2, 2)), prefs)
    with pytest.raises(InvalidArgument, match=r"`candidate` must be a ranker index in \[0, 1\]"):
        batch.win_loss(candidate=2)
    with pytest.raises(InvalidArgument, match="`baseline` must be >= 0"):
        batch.win_loss(baseline=-1)
    prefs[1, 1, 0] = np.nan
    with pytest.raises(InvalidArgument, match="outcome nan at impression 1"):
        CreditBatch("x", np.zeros((2, 2)), prefs).win_loss()


# --- per-group preference ------------------------------------------------------------------------


def test_per_group_preference_averages_per_user():
    pref = per_group_preference(["u2", "u1", "u2", "u1", "u1"], [1, -1, 0, 1, 1])
    assert isinstance(pref, GroupPreference)
    assert pref.groups.tolist() == ["u1", "u2"]
    assert pref.mean_outcome.tolist() == pytest.approx([1 / 3, 0.5])
    assert pref.n_impressions.tolist() == [3, 2]
    assert pref.n_groups == len(pref) == 2
    assert pref.mean == pytest.approx((1 / 3 + 0.5) / 2)


def test_group_preference_feeds_the_paired_test_and_prints_what_it_holds():
    rng = np.random.default_rng(5)
    groups = rng.integers(0, 30, 400)
    outcomes = rng.choice([-1.0, 0.0, 1.0], 400)
    pref = per_group_preference(groups, outcomes)
    assert pref.paired_test() == paired_test(pref.mean_outcome)
    assert pref.paired_test(alternative="greater") == paired_test(
        pref.mean_outcome, alternative="greater"
    )
    text = str(pref)
    assert f"{pref.n_groups} groups, 400 impressions" in text
    assert f"{pref.mean:.4g}" in text
    payload = json.loads(json.dumps(pref.to_dict()))
    assert payload["n_impressions"] == pref.n_impressions.tolist()
    frame = pref.to_frame()
    assert frame.columns == ["groups", "mean_outcome", "n_impressions"]
    assert frame.height == pref.n_groups


def test_int_group_ids_stay_ints_and_numpy_ints_mix_with_python_ints():
    pref = per_group_preference([3, np.int64(1), 3], [1.0, 0.0, -1.0])
    assert pref.groups.tolist() == [1, 3]
    assert pref.mean_outcome.tolist() == [0.0, 0.0]
    big = per_group_preference([2**64 - 1, 5], [1.0, -1.0])
    assert big.groups.tolist() == [5, 2**64 - 1]


@pytest.mark.parametrize(
    ("groups", "outcomes", "message"),
    [
        ([1, 2], [1.0], "same length"),
        ([], [], "empty"),
        ([1, None], [1.0, 0.0], r"`groups\[1\]` must be an int or str group id, got None"),
        (["a", None], [1.0, 0.0], r"`groups\[1\]` must be an int or str group id"),
        ([1, "a"], [1.0, 0.0], "mixes int and str ids"),
        ([True, False], [1.0, 0.0], r"`groups\[0\]` must be an int or str group id, got True"),
        (np.array([1.0, 2.0]), [1.0, 0.0], "dtype float64"),
        (None, [1.0], "`groups` must be a list of group ids"),
        ("ab", [1.0, 0.0], "`groups` must be a list of group ids"),
        ([1, 2], [float("nan"), 0.0], "outcome nan at impression 0"),
        ([1, 2], [7.0, 0.0], "outcome 7.0 at impression 0"),
        ([1, 2], [0.0, -7.0], "outcome -7.0 at impression 1"),
        ([1, 2], [0.0, float("inf")], "outcome inf"),
        ([1, 2], ["a", 0.0], "`outcomes` must be numbers in"),
        pytest.param([1], [10**5000], "`outcomes` must be numbers in", id="5001-digit outcome"),
        ([[1], [2]], [1.0, 0.0], "one-dimensional"),
    ],
)
def test_per_group_preference_rejects_bad_input_by_name(groups, outcomes, message):
    with pytest.raises(InvalidArgument, match=message):
        per_group_preference(groups, outcomes)


def test_credit_renders_and_converts():
    c = Credit("team_draft", (2.0, 1.0), ((0.0, 1.0), (-1.0, 0.0)), (0, 3))
    assert str(c) == "team_draft credit: scores=(2, 1) winner=0 clicks=[0, 3]"
    assert c.to_dict()["winner"] == 0
