"""Bad input raises InvalidArgument naming the argument, showing the value and the fix."""

from __future__ import annotations

import math

import numpy as np
import pytest

from interleave.errors import InvalidArgument
from interleave.stats import (
    SPRT,
    BetaBinomialMixture,
    GroupSequential,
    MixtureSPRT,
    SequentialSRM,
    TwoMeans,
    TwoProportions,
    WinLoss,
    bootstrap_test,
    paired_test,
    sample_size_sign_test,
    sign_test,
    srm_test,
    two_proportions_test,
    welch_test,
)


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, math.nan, "0.05"])
@pytest.mark.parametrize("make", [MixtureSPRT, SPRT, BetaBinomialMixture, SequentialSRM])
def test_alpha_outside_the_unit_interval_is_refused(make, alpha):
    with pytest.raises(InvalidArgument, match="`alpha`"):
        make(alpha=alpha)


def test_group_sequential_refuses_bad_alpha_spending_and_fractions():
    with pytest.raises(InvalidArgument, match="`alpha` must be in"):
        GroupSequential(max_n=10, alpha=1.0)
    with pytest.raises(InvalidArgument, match="`spending` must be 'obrien-fleming', 'pocock'"):
        GroupSequential(max_n=10, spending="haybittle")
    with pytest.raises(InvalidArgument, match="strictly increasing"):
        GroupSequential(max_n=10).bounds([0.5, 0.25])
    with pytest.raises(InvalidArgument, match="only the last look"):
        GroupSequential(max_n=10).bounds([1.0, 1.5])


@pytest.mark.parametrize("field", ["wins", "losses", "ties"])
def test_negative_counts_are_refused(field):
    with pytest.raises(InvalidArgument, match=f"`{field}` must be a non-negative count, got -1"):
        MixtureSPRT().start().update(**{field: -1})


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (math.nan, "`wins` must be finite"),
        (math.inf, "`wins` must be finite"),
        (True, "`wins` must be a non-negative count"),
        ("3", "`wins` must be a non-negative count"),
        (2**53 + 1, r"`wins` must be <= 2\*\*53"),
    ],
)
def test_win_loss_counts_must_be_finite_non_negative_numbers(value, match):
    with pytest.raises(InvalidArgument, match=match):
        SPRT().start().update(wins=value)


def test_fractional_wins_are_accepted_but_other_counts_must_be_whole():
    # Probabilistic credit gives expected outcomes: fractional win/loss counts are data.
    assert SPRT().start().update(wins=1.5, losses=0.25).n == 1.75
    with pytest.raises(InvalidArgument, match="`trials_a` must be a non-negative integer count"):
        MixtureSPRT().start(TwoProportions()).update(trials_a=1.5)


def test_sums_must_be_finite_and_sums_of_squares_non_negative():
    state = MixtureSPRT().start(TwoMeans())
    with pytest.raises(InvalidArgument, match="`sum_a` must be finite, got nan"):
        state.update(n_a=1, sum_a=math.nan)
    with pytest.raises(InvalidArgument, match="`sum_squares_b` must be in"):
        state.update(n_b=1, sum_squares_b=-1.0)


def test_successes_cannot_exceed_trials():
    with pytest.raises(InvalidArgument, match="successes cannot exceed trials"):
        MixtureSPRT().start(TwoProportions()).update(successes_a=3, trials_a=2)
    with pytest.raises(InvalidArgument, match=r"n_successes_b .* exceeds"):
        TwoProportions(n_successes_b=5, n_trials_b=4)


@pytest.mark.parametrize("stream", [[], np.empty((3, 0))])
def test_empty_streams_are_refused(stream):
    with pytest.raises(InvalidArgument, match="`outcomes` is empty"):
        MixtureSPRT().evaluate(stream)


def test_nan_and_foreign_values_in_streams_are_refused():
    with pytest.raises(InvalidArgument, match="`outcomes` must be finite"):
        SPRT().evaluate([1.0, math.nan])
    with pytest.raises(InvalidArgument, match=r"`outcomes` must lie in \[-1, 1\].* got 2"):
        SPRT().evaluate([1, 2])
    with pytest.raises(InvalidArgument, match="`value` must be finite"):
        TwoMeans.from_observations([0, 1], [1.0, math.inf])
    with pytest.raises(InvalidArgument, match="`arm` must hold 0 or 1"):
        TwoProportions.from_observations([0, 2], [1, 1])


def test_a_scalar_state_is_not_a_stream():
    with pytest.raises(InvalidArgument, match="needs running totals per look"):
        MixtureSPRT().evaluate(WinLoss(n_wins=3))


def test_tests_refuse_data_they_cannot_read():
    with pytest.raises(InvalidArgument, match=r"SPRT reads one of \{WinLoss\}"):
        SPRT().start(TwoProportions())


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sign_test(0, 0, 5), "no decisive comparisons"),
        (lambda: sign_test(5, 5, tie_policy="half"), "`tie_policy` must be one of"),
        (lambda: sign_test(5, 5, alternative="bigger"), "`alternative` must be one of"),
        (lambda: paired_test([]), "`preferences` is empty"),
        (lambda: paired_test([0.2, math.nan]), "`preferences` must be finite"),
        (lambda: paired_test([0.5, 0.5]), "every preference equals"),
        (lambda: two_proportions_test(0, 1, 0, 10), "`n_trials_a` must be >= 2"),
        (lambda: welch_test(1, 1.0, 1.0, 3, 3.0, 5.0), "`n_a` must be >= 2"),
        (lambda: bootstrap_test([1, -1], [0, 1]), "`wins` must hold non-negative counts"),
        (lambda: bootstrap_test([1], [0], n_resamples=0), "`n_resamples` must be >= 1"),
        (lambda: bootstrap_test([1], [0], rng=-3), "`rng` as an integer seed must be >= 0"),
        (lambda: srm_test([600]), "at least two arm counts"),
        (lambda: srm_test([600, -1]), "non-negative counts"),
        (
            lambda: srm_test([6, 4], expected_ratios=[1, 0]),
            "`expected_ratios` must be finite and > 0",
        ),
        (lambda: sample_size_sign_test(0.5), "no sample size detects no preference"),
        (
            lambda: sample_size_sign_test(0.6, tie_policy="split", method="exact"),
            "only available with",
        ),
        (lambda: SPRT(p0=0.6, p1=0.55), "`p1` must be greater than `p0`"),
        (lambda: MixtureSPRT(n_opt=0), "`n_opt` must be in"),
        (lambda: MixtureSPRT.johari(tau=-1), "`tau` must be in"),
    ],
)
def test_bad_arguments_name_themselves(call, match):
    with pytest.raises(InvalidArgument, match=match):
        call()


def test_confidence_level_must_be_inside_the_unit_interval():
    with pytest.raises(InvalidArgument, match="`confidence_level`"):
        MixtureSPRT().start().update(wins=3).confidence_interval(1.0)
    with pytest.raises(InvalidArgument, match="`confidence_level`"):
        sign_test(6, 4).confidence_interval(95)
