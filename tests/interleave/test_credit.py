"""Credit records and their aggregation into the counts the statistics read."""

from __future__ import annotations

import numpy as np
import pytest

from interleave import Credit, InvalidArgument, TeamDraft, per_group_preference, tally


def credit(outcome):
    return Credit("x", (0.0, 0.0), ((0.0, outcome), (-outcome, 0.0)))


def test_winner_is_the_ranker_preferred_to_every_other():
    prefs = ((0.0, 1.0, 1.0), (-1.0, 0.0, 1.0), (-1.0, -1.0, 0.0))
    assert Credit("x", (3.0, 2.0, 1.0), prefs).winner == 0


def test_a_preference_cycle_has_no_winner():
    prefs = ((0.0, 1.0, -1.0), (-1.0, 0.0, 1.0), (1.0, -1.0, 0.0))
    assert Credit("x", (1.0, 1.0, 1.0), prefs).winner is None


def test_tally_counts_wins_losses_and_ties_of_the_first_ranker():
    result = tally([credit(1.0), credit(1.0), credit(0.0), credit(-1.0)])
    assert (result.wins, result.losses, result.ties, result.n) == (2.0, 1.0, 1.0, 4.0)


def test_tally_splits_a_probabilistic_outcome_into_fractional_counts():
    result = tally([credit(0.5), credit(-0.25)])
    assert (result.wins, result.losses, result.ties) == (0.5, 0.25, 1.25)


def test_tally_of_a_batch_equals_tally_of_its_rows():
    method = TeamDraft(length=6)
    batch = method.interleave_batch([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]], 300, rng=0)
    clicks = np.random.default_rng(1).random((300, 6)) < 0.3
    credits = method.credit_batch(batch, clicks)
    assert credits.tally() == tally(method.credit(batch[i], clicks[i]) for i in range(300))


def test_per_group_preference_averages_per_user():
    ids, means, counts = per_group_preference(["u2", "u1", "u2", "u1", "u1"], [1, -1, 0, 1, 1])
    assert ids.tolist() == ["u1", "u2"]
    assert means.tolist() == pytest.approx([1 / 3, 0.5])
    assert counts.tolist() == [3, 2]


def test_per_group_preference_rejects_mismatched_or_empty_input():
    with pytest.raises(InvalidArgument, match="same length"):
        per_group_preference([1, 2], [1.0])
    with pytest.raises(InvalidArgument, match="empty"):
        per_group_preference([], [])


def test_credit_renders_and_converts():
    c = Credit("team_draft", (2.0, 1.0), ((0.0, 1.0), (-1.0, 0.0)), (0, 3))
    assert str(c) == "team_draft credit: scores=(2, 1) winner=0 clicks=[0, 3]"
    assert c.to_dict()["winner"] == 0
