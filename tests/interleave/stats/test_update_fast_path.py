"""The update hot path is a shortcut, not a second definition (issue 7).

``state.update(...)`` with plain ints and floats skips the increment checkers, builds the new data
and state from checked parts (no dataclass ``__init__``), and Johari's look reads ``s``, ``v`` and
``c`` in one pass. Each shortcut must give exactly what the general route gives: numpy scalars
(which go through the checkers), data rebuilt by the validating constructors, and a state
replayed look by look through the public :class:`SequentialState` constructor with the rules of
:mod:`interleave.stats._core` (running-minimum p-value; a stopped test stays stopped).
"""

from __future__ import annotations

import inspect
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interleave.errors import InvalidArgument
from interleave.stats import (
    SPRT,
    ArmCounts,
    BetaBinomialMixture,
    CenteredSum,
    Decision,
    MixtureSPRT,
    SequentialSRM,
    SequentialState,
    TwoMeans,
    TwoProportions,
    WinLoss,
)

# ----------------------------------------------------------------------- random increments

counts = st.integers(0, 10**6)
amounts = st.one_of(counts, st.floats(0.0, 1e6, allow_subnormal=False))
# Sums may come as ints too: they must still add as floats, as real_increment converts them.
reals = st.one_of(st.floats(-1e6, 1e6, allow_subnormal=False), st.integers(-(10**6), 10**6))
squares = st.one_of(st.floats(0.0, 1e12, allow_subnormal=False), st.integers(0, 10**12))

win_loss_steps = st.fixed_dictionaries(
    {}, optional={"wins": amounts, "losses": amounts, "ties": amounts}
)
# successes within trials, per arm, in one update
proportion_steps = st.tuples(counts, counts, counts, counts).map(
    lambda c: {
        "successes_a": min(c[0], c[1]),
        "trials_a": c[1],
        "successes_b": min(c[2], c[3]),
        "trials_b": c[3],
    }
)
mean_steps = st.fixed_dictionaries(
    {},
    optional={
        "n_a": st.integers(0, 50),
        "sum_a": reals,
        "sum_squares_a": squares,
        "n_b": st.integers(0, 50),
        "sum_b": reals,
        "sum_squares_b": squares,
    },
)
centred_steps = st.fixed_dictionaries(
    {"total": reals, "variance": squares}, optional={"n": st.integers(0, 50)}
)
arm_steps = st.tuples(counts, counts).map(lambda c: {"counts": c})

# (test, a fresh data object, increments): every sequential test whose update path was shortened
CASES = {
    "SPRT": (SPRT(), WinLoss(), win_loss_steps),
    "MixtureSPRT WinLoss": (MixtureSPRT(n_opt=50), WinLoss(), win_loss_steps),
    "MixtureSPRT split": (MixtureSPRT(n_opt=50, tie_policy="split"), WinLoss(), win_loss_steps),
    "johari WinLoss": (MixtureSPRT.johari(0.1), WinLoss(), win_loss_steps),
    "johari TwoMeans": (MixtureSPRT.johari(0.1), TwoMeans(), mean_steps),
    "johari TwoProportions": (MixtureSPRT.johari(0.05), TwoProportions(), proportion_steps),
    "johari CenteredSum": (MixtureSPRT.johari(0.2), CenteredSum(), centred_steps),
    "MixtureSPRT TwoProportions": (MixtureSPRT(n_opt=100), TwoProportions(), proportion_steps),
    "MixtureSPRT TwoMeans": (MixtureSPRT(n_opt=100), TwoMeans(), mean_steps),
    "MixtureSPRT CenteredSum": (MixtureSPRT(n_opt=100), CenteredSum(), centred_steps),
    # Totals a user wrote as ints: an increment turns them into floats, as the checkers do.
    "MixtureSPRT TwoMeans int totals": (MixtureSPRT(), TwoMeans(3, 3, 5, 2, 2, 2), mean_steps),
    "johari CenteredSum int totals": (MixtureSPRT.johari(0.2), CenteredSum(2, 1, 1), centred_steps),
    "BetaBinomialMixture": (BetaBinomialMixture(prior_wins=2.0), WinLoss(), win_loss_steps),
    "SequentialSRM": (SequentialSRM(concentration=100.0), ArmCounts((0, 0)), arm_steps),
}

# The field each increment adds to, per kind (a tuple field adds arm by arm).
FIELD_OF = {
    WinLoss: {"wins": "n_wins", "losses": "n_losses", "ties": "n_ties"},
    TwoProportions: {f"{k}_{a}": f"n_{k}_{a}" for k in ("successes", "trials") for a in "ab"},
    TwoMeans: {f: f for f in ("n_a", "sum_a", "sum_squares_a", "n_b", "sum_b", "sum_squares_b")},
    CenteredSum: {"n": "n", "total": "total", "variance": "variance"},
    ArmCounts: {"counts": "n_assigned"},
}
KINDS = {kind.__name__: kind for kind in FIELD_OF}
FLOAT_FIELDS = {"sum_a", "sum_squares_a", "sum_b", "sum_squares_b", "total", "variance"}


def rebuilt(data: Any, increments: dict[str, Any]) -> Any:
    """The data after ``increments``, built by the kind's validating constructor."""
    fields = {name: getattr(data, name) for name in type(data).__slots__}
    # Every increment left out adds its default (0, 0.0; CenteredSum counts one observation).
    defaults = inspect.signature(type(data).update).parameters
    increments = {k: p.default for k, p in defaults.items() if k != "self"} | increments
    for key, value in increments.items():
        field = FIELD_OF[type(data)][key]
        if isinstance(value, tuple):
            fields[field] = tuple(t + v for t, v in zip(fields[field], value, strict=True))
        else:
            fields[field] = fields[field] + (float(value) if field in FLOAT_FIELDS else value)
    return type(data)(**fields)


def replayed(state: SequentialState, data: Any) -> SequentialState:
    """One look by the rules, through the public constructor (the route before the shortcut)."""
    statistic, pvalue, decision, looks = state.test.look(data, state)
    pvalue = min(pvalue, state.pvalue)
    looks = state.looks if looks is None else looks
    if state.stopped or decision is Decision.CONTINUE:
        return SequentialState(
            state.test, data, statistic, pvalue, state.n_stopped, state.stopped_decision, looks
        )
    return SequentialState(state.test, data, statistic, pvalue, data.n, decision, looks)


def as_numpy(increments: dict[str, Any]) -> dict[str, Any]:
    """The same increments as numpy scalars: they take the general route through the checkers."""
    out: dict[str, Any] = {}
    for key, value in increments.items():
        if isinstance(value, tuple):
            out[key] = tuple(np.int64(v) for v in value)
        elif isinstance(value, int):
            out[key] = np.int64(value)
        else:
            out[key] = np.float64(value)
    return out


def same(left: Any, right: Any) -> bool:
    """Equal values of equal types, field by field (an int total must not become a float)."""
    if isinstance(left, tuple):
        return len(left) == len(right) and all(map(same, left, right))
    return type(left) is type(right) and left == right


@pytest.mark.parametrize("case", CASES, ids=str)
@settings(max_examples=60)
@given(data=st.data())
def test_the_hot_path_gives_exactly_the_general_paths_state_and_decision(case, data):
    test, fresh, steps = CASES[case]
    fast = slow = by_rule = test.start(fresh)
    for increments in data.draw(st.lists(steps, min_size=1, max_size=8)):
        try:
            expected = rebuilt(by_rule.data, increments)
        except InvalidArgument:  # a total past a bound (e.g. a float sum overflowing)
            with pytest.raises(InvalidArgument):
                fast.update(**increments)
            return
        fast = fast.update(**increments)
        slow = slow.update(**as_numpy(increments))
        by_rule = replayed(by_rule, expected)
        assert fast == slow == by_rule
        for name in type(fresh).__slots__:
            assert same(getattr(fast.data, name), getattr(by_rule.data, name))
            assert same(getattr(slow.data, name), getattr(by_rule.data, name))
        # The statistic to the bit (NaN never; the state compares it with ==).
        assert fast.statistic == by_rule.statistic
        assert not math.isnan(fast.statistic)
        assert fast.decision is by_rule.decision
        assert fast.n_stopped == by_rule.n_stopped


@pytest.mark.parametrize(
    "data",
    [
        WinLoss(3, 1, 2),
        WinLoss(0.5, 2.25, 0.25),
        TwoProportions(10, 100, 12, 100),
        TwoProportions(0, 5, 5, 5),
        TwoProportions(),
        TwoMeans(10, 10.0, 20.0, 10, 11.0, 22.0),
        TwoMeans(5, 0.0, 0.0, 5, 5.0, 5.0),
        TwoMeans(1, 1.0, 1.0, 3, 3.0, 5.0),
        CenteredSum(4, 1.5, 3.0),
        CenteredSum(),
    ],
    ids=repr,
)
@pytest.mark.parametrize("tie_policy", ["drop", "split"])
def test_the_one_pass_projection_equals_centred_and_effect_scale(data, tie_policy):
    s, v, scale = data.centred_with_scale(tie_policy)
    assert (s, v) == data.centred(tie_policy)
    assert scale == data.effect_scale(tie_policy)
    assert all(type(x) is float for x in (s, v, scale))


@pytest.mark.parametrize("tau", [0.05, 0.1, 1.0])
def test_the_johari_look_is_the_papers_closed_form_for_means(tau):
    # Johari et al. (2022), eq. for Lambda_n: n pairs of mean difference x with variance V per
    # pair, log Lambda = 0.5 log(V / (V + n tau^2)) + n^2 tau^2 x^2 / (2 V (V + n tau^2)).
    data = TwoMeans(40, 40.0, 90.0, 40, 52.0, 110.0)
    difference, variance = data.moments()
    n = data.n
    pair_variance = variance * n  # V: the variance of one observation in the mixture's units
    expected = 0.5 * math.log(pair_variance / (pair_variance + n * tau**2)) + n**2 * tau**2 * (
        difference**2
    ) / (2 * pair_variance * (pair_variance + n * tau**2))
    statistic = MixtureSPRT.johari(tau).start(data).statistic
    assert statistic == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.update(wins=-1), "`wins` must be a non-negative count"),
        (lambda s: s.update(wins=math.nan), "`wins` must be finite"),
        (lambda s: s.update(losses=True), "`losses` must be a non-negative count"),
        (lambda s: s.update(ties=math.inf), "`ties` must be finite"),
        (lambda s: s.update(wins=2**53 + 1), "`wins` must be <= 2\\*\\*53"),
    ],
)
def test_bad_win_loss_increments_still_name_themselves(call, match):
    for state in (MixtureSPRT().start(), MixtureSPRT.johari(0.1).start(), SPRT().start()):
        with pytest.raises(InvalidArgument, match=match):
            call(state)


@pytest.mark.parametrize(
    ("increments", "match"),
    [
        ({"n_a": -1}, "`n_a` must be a non-negative"),
        ({"n_b": 1.0}, "`n_b` must be a non-negative integer count"),
        ({"sum_a": math.nan}, "`sum_a` must be finite"),
        ({"sum_b": math.inf}, "`sum_b` must be finite"),
        ({"sum_squares_a": -1.0}, "`sum_squares_a` must be in"),
        ({"sum_squares_b": math.inf}, "`sum_squares_b` must be finite"),
        ({"sum_a": 1e308, "sum_squares_a": 0.0}, None),
        ({"sum_squares_b": 1.7e308, "sum_b": 0.0}, None),
    ],
)
def test_bad_mean_increments_still_name_themselves(increments, match):
    state = MixtureSPRT.johari(0.1).start(TwoMeans(2, 1e308, 1.7e308, 2, 1.0, 1.7e308))
    if match is None:  # the running total overflows: named by its field
        field = next(iter(increments))
        match = f"running total `{field}` overflows"
    with pytest.raises(InvalidArgument, match=match):
        state.update(**increments)


@pytest.mark.parametrize(
    ("increments", "match"),
    [
        ({"successes_a": -1}, "`successes_a` must be a non-negative"),
        ({"trials_b": 0.5}, "`trials_b` must be a non-negative integer count"),
        ({"successes_b": 3, "trials_b": 2}, "successes cannot exceed trials"),
    ],
)
def test_bad_proportion_increments_still_name_themselves(increments, match):
    with pytest.raises(InvalidArgument, match=match):
        MixtureSPRT().start(TwoProportions()).update(**increments)


@pytest.mark.parametrize(
    ("counts", "match"),
    [((1, -1), "`counts\\[1\\]` must be a non-negative"), ((0.5, 1), "`counts\\[0\\]` must be")],
)
def test_bad_arm_counts_still_name_themselves(counts, match):
    with pytest.raises(InvalidArgument, match=match):
        SequentialSRM().start().update(counts=counts)


@pytest.mark.parametrize(
    ("kind", "fields", "match"),
    [
        ("WinLoss", {"n_wins": -1}, "WinLoss.n_wins must be >= 0"),
        ("WinLoss", {"n_losses": 2**53 + 1}, "WinLoss.n_losses must be <= 2\\*\\*53"),
        ("WinLoss", {"n_ties": -0.5}, "WinLoss.n_ties must be >= 0"),
        ("TwoProportions", {"n_trials_a": 1.5}, "TwoProportions.n_trials_a must be an integer"),
        ("TwoMeans", {"n_b": 2.0}, "TwoMeans.n_b must be an integer count"),
        ("CenteredSum", {"n": -3}, "CenteredSum.n must be >= 0"),
    ],
)
def test_a_restored_record_with_bad_counts_is_refused_by_field(kind, fields, match):
    test = MixtureSPRT()
    record = json.loads(json.dumps(test.start().to_dict()))
    record["data"] = {"kind": kind, **fields}
    with pytest.raises(InvalidArgument, match=match):
        SequentialState.from_dict(record)
    # The same value as a numpy array is refused with the same words.
    array_fields = {k: np.asarray(v) for k, v in fields.items()}
    with pytest.raises(InvalidArgument, match=match.split(" must")[0] + " must"):
        KINDS[kind](**array_fields)
