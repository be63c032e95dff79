"""The one protocol and the one state: every test meets SequentialTest, a state survives a JSON
round trip (a service restart) with the exact same decision, and every statistic merges."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave.errors import InvalidArgument
from interleave.stats import (
    SPRT,
    STATE_SCHEMA_VERSION,
    ArmCounts,
    BetaBinomialMixture,
    CenteredSum,
    ConfidenceInterval,
    Decision,
    GroupSequential,
    Look,
    MixtureSPRT,
    SequentialSRM,
    SequentialState,
    SequentialTest,
    TwoMeans,
    TwoProportions,
    WinLoss,
    paired_test,
    pairwise_sign_tests,
    sign_test,
)
from interleave.stats.sufficient import as_stream

# ------------------------------------------------------------------------------ the protocol

ALL_TESTS = [
    SPRT(),
    MixtureSPRT(n_opt=200),
    MixtureSPRT.johari(tau=0.2),
    BetaBinomialMixture(prior_wins=2.0),
    GroupSequential(max_n=300, spending="pocock"),
    SequentialSRM(expected_ratios=[1, 2, 1]),
]


@pytest.mark.parametrize("test", ALL_TESTS, ids=lambda t: type(t).__name__)
def test_every_sequential_test_meets_the_protocol(test):
    assert isinstance(test, SequentialTest)
    state = test.start()
    assert isinstance(state, SequentialState)
    look = test.look(state.data, state)
    assert isinstance(look, Look)


@dataclasses.dataclass(frozen=True)
class _Threshold:
    """A toy test written against the public protocol only: reject when wins - losses >= 5."""

    alpha: float = 0.05

    def start(self, data: Any = None) -> SequentialState:
        return SequentialState(self, WinLoss() if data is None else data)

    def look(self, data: WinLoss, previous: SequentialState) -> Look:
        margin = data.n_wins - data.n_losses
        return Look(
            float(margin),
            0.01 if margin >= 5 else 1.0,
            Decision.REJECT if margin >= 5 else Decision.CONTINUE,
        )

    def interval(self, data, confidence_level, looks=()):
        return ConfidenceInterval(0.0, 1.0, confidence_level)

    def evaluate(self, stream):
        raise NotImplementedError


def test_a_new_test_needs_only_the_public_protocol():
    test = _Threshold()
    assert isinstance(test, SequentialTest)
    state = test.start().update(wins=3).update(wins=3, losses=1)
    assert state.decision is Decision.REJECT
    assert state.n_stopped == 7
    assert state.confidence_interval(0.9) == ConfidenceInterval(0.0, 1.0, 0.9)


def test_group_sequential_state_is_the_shared_state_and_the_old_name_warns():
    state = GroupSequential(max_n=100).start().update(wins=30, losses=20)
    assert type(state) is SequentialState
    assert state.looks == (0.5,)
    import interleave.stats as stats

    with pytest.warns(DeprecationWarning, match="GroupSequentialState is now SequentialState"):
        alias = stats.GroupSequentialState
    assert alias is SequentialState


def test_the_stats_modules_import_without_a_cycle():
    # _core imports no other stats module, not even inside a function; sufficient imports only
    # _core; so the two no longer import each other.
    import ast
    import inspect

    import interleave.stats._core as core
    import interleave.stats.sufficient as sufficient

    def stats_imports(module: Any) -> set[str]:
        tree = ast.parse(inspect.getsource(module))
        found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        return {name for name in found if name.startswith("interleave.stats")}

    assert stats_imports(core) == set()
    assert stats_imports(sufficient) == {"interleave.stats._core"}


# -------------------------------------------------------------------------- serialisation


def _restored(state: SequentialState) -> SequentialState:
    return SequentialState.from_dict(json.loads(json.dumps(state.to_dict())))


win_loss_steps = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 30), st.floats(0, 30, allow_nan=False)),
        st.one_of(st.integers(0, 30), st.floats(0, 30, allow_nan=False)),
        st.integers(0, 5),
    ),
    min_size=1,
    max_size=12,
)

WIN_LOSS_TESTS = [
    SPRT(tie_policy="split"),
    MixtureSPRT(n_opt=150),
    MixtureSPRT.johari(tau=0.3, tie_policy="split"),
    BetaBinomialMixture(prior_losses=3.0),
    GroupSequential(max_n=200, spending=2.0),
    GroupSequential(max_n=200, alternative="less"),
]


@pytest.mark.parametrize("test", WIN_LOSS_TESTS, ids=lambda t: repr(t)[:40])
@given(steps=win_loss_steps, cut=st.integers(0, 12))
def test_a_restored_state_continues_exactly_like_the_uninterrupted_one(test, steps, cut):
    uninterrupted = test.start()
    for wins, losses, ties in steps:
        uninterrupted = uninterrupted.update(wins=wins, losses=losses, ties=ties)
    resumed = test.start()
    for i, (wins, losses, ties) in enumerate(steps):
        if i == cut:
            resumed = _restored(resumed)  # the service restarts here
            assert resumed.to_dict() == json.loads(json.dumps(resumed.to_dict()))
        resumed = resumed.update(wins=wins, losses=losses, ties=ties)
    assert resumed == uninterrupted
    assert _restored(resumed) == uninterrupted
    assert resumed.decision is uninterrupted.decision


@pytest.mark.parametrize(
    ("test", "data", "updates"),
    [
        (
            MixtureSPRT.johari(tau=0.05),
            TwoMeans(),
            [dict(n_a=3, sum_a=3.0, sum_squares_a=5.0, n_b=3, sum_b=4.5, sum_squares_b=9.0)] * 4,
        ),
        (
            MixtureSPRT.growthbook(),
            TwoProportions(),
            [dict(successes_a=10, trials_a=100, successes_b=15, trials_b=100)] * 3,
        ),
        (
            GroupSequential(max_n=50),
            CenteredSum(),
            [dict(total=2.5, variance=10.0, n=10)] * 5,
        ),
        (SequentialSRM(expected_ratios=[1, 2, 1]), None, [dict(counts=(5, 9, 6))] * 3),
    ],
)
def test_every_kind_of_state_round_trips_through_json(test, data, updates):
    state = test.start(data)
    for update in updates:
        state = state.update(**update)
        assert _restored(state) == state


def test_a_stopped_state_restores_stopped_with_its_stopping_sample_size():
    state = MixtureSPRT(n_opt=100).start().update(wins=80, losses=20)
    assert state.stopped
    restored = _restored(state)
    assert restored.decision is Decision.REJECT
    assert restored.n_stopped == 100
    assert restored.update(losses=500).decision is Decision.REJECT


def _record() -> dict:
    return MixtureSPRT(n_opt=100).start().update(wins=8, losses=2).to_dict()


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        (lambda r: r.update(schema_version=2), "`schema_version` 2 is not one"),
        (lambda r: r.pop("schema_version"), "`schema_version` None"),
        (lambda r: r.update(schema_version=True), "`schema_version` True"),
        (lambda r: r.pop("pvalue"), "must have exactly the fields"),
        (lambda r: r.update(extra=1), "must have exactly the fields"),
        (lambda r: r["test"].update(kind="os.system"), r"`test.kind` must be one of"),
        (lambda r: r["data"].update(kind="TwoMeans"), "`data` has fields"),
        (lambda r: r["data"].update(n_wins=-1), "WinLoss.n_wins must be >= 0"),
        (lambda r: r["data"].update(n_wins="8"), "WinLoss.n_wins must be a number"),
        (lambda r: r["test"].update(alpha=2.0), "`alpha` must be in"),
        (lambda r: r["test"].update(bogus=2.0), "`test` has fields"),
        (lambda r: r.update(pvalue=1.5), "`pvalue` must be in"),
        (lambda r: r.update(pvalue=None), "`pvalue` must be a real number"),
        (lambda r: r.update(stopped_decision="reject"), "both be None"),
        (lambda r: r.update(stopped_decision="maybe", n_stopped=3), "'reject' or 'accept'"),
        (lambda r: r.update(looks="abc"), "`looks` must be a list"),
        (lambda r: r.update(data=[1, 2]), "`data` must be a dict"),
    ],
)
def test_a_tampered_record_is_refused_naming_the_field(tamper, match):
    record = _record()
    tamper(record)
    with pytest.raises(InvalidArgument, match=match):
        SequentialState.from_dict(record)


def test_a_record_must_be_a_dict_and_a_stream_cannot_be_serialised():
    with pytest.raises(InvalidArgument, match="`record` must be the dict"):
        SequentialState.from_dict("{}")
    stream_state = SequentialState(MixtureSPRT(), WinLoss.from_outcomes([1, -1]))
    with pytest.raises(InvalidArgument, match="cannot be serialised"):
        stream_state.to_dict()


def test_a_record_for_data_the_test_cannot_read_is_refused():
    record = SPRT().start().update(wins=3).to_dict()
    record["data"] = {"kind": "TwoProportions", "n_trials_a": 3}
    with pytest.raises(InvalidArgument, match=r"SPRT reads one of \{WinLoss\}"):
        SequentialState.from_dict(record)


# ---------------------------------------------------------------------------------- merging

amounts = st.one_of(st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False))


@given(a=st.tuples(amounts, amounts, amounts), b=st.tuples(amounts, amounts, amounts))
def test_win_loss_merges_like_updating_with_the_other_counts(a, b):
    left, right = WinLoss(*a), WinLoss(*b)
    merged = left.merge(right)
    assert merged == left.update(wins=b[0], losses=b[1], ties=b[2])
    assert merged == left + right == right + left


counts = st.integers(0, 10**9)


@given(a=st.tuples(counts, counts, counts, counts), b=st.tuples(counts, counts, counts, counts))
def test_every_count_kind_merges_exactly_and_in_any_order(a, b):
    prop_a = TwoProportions(min(a[0], a[1]), max(a[0], a[1]), min(a[2], a[3]), max(a[2], a[3]))
    prop_b = TwoProportions(min(b[0], b[1]), max(b[0], b[1]), min(b[2], b[3]), max(b[2], b[3]))
    assert prop_a + prop_b == prop_b + prop_a
    assert (prop_a + prop_b).n == prop_a.n + prop_b.n
    arms_a, arms_b = ArmCounts(a[:3]), ArmCounts(b[:3])
    assert (arms_a + arms_b).n_assigned == tuple(x + y for x, y in zip(a[:3], b[:3], strict=True))


def test_sums_merge_and_kinds_do_not_mix():
    left = TwoMeans(2, 3.0, 5.0, 2, 4.0, 8.0)
    right = TwoMeans(1, 1.0, 1.0, 3, 3.0, 3.5)
    assert left + right == TwoMeans(3, 4.0, 6.0, 5, 7.0, 11.5)
    assert CenteredSum(2, 1.0, 2.0) + CenteredSum(1, -0.5, 1.0) == CenteredSum(3, 0.5, 3.0)
    with pytest.raises(InvalidArgument, match=r"WinLoss\.merge needs another WinLoss"):
        WinLoss(1, 2).merge(CenteredSum())
    with pytest.raises(InvalidArgument, match="cannot merge ArmCounts of 2 and 3 arms"):
        ArmCounts((1, 2)) + ArmCounts((1, 2, 3))


def test_two_workers_merged_give_the_state_of_one_worker():
    rng = np.random.default_rng(3)
    outcomes = rng.choice([-1.0, -0.5, 0.0, 0.25, 1.0], size=400)
    one = WinLoss.totals(outcomes)
    merged = WinLoss.totals(outcomes[:150]) + WinLoss.totals(outcomes[150:])
    assert merged.n_wins == pytest.approx(one.n_wins, rel=1e-12)
    assert merged.n_losses == pytest.approx(one.n_losses, rel=1e-12)
    assert merged.n == pytest.approx(400, rel=1e-12)


# ------------------------------------------------------------------- one win/loss currency


def test_fractional_outcomes_count_as_credit_aggregates_them():
    # interleave.credit's rule: e adds max(e, 0) wins, max(-e, 0) losses and 1 - |e| ties.
    running = WinLoss.from_outcomes([0.5, -0.25, 1.0])
    np.testing.assert_allclose(running.n_wins, [0.5, 0.5, 1.5])
    np.testing.assert_allclose(running.n_losses, [0.0, 0.25, 0.25])
    np.testing.assert_allclose(running.n_ties, [0.5, 1.25, 1.25])
    assert WinLoss.totals([0.5, -0.25, 1.0]) == WinLoss(1.5, 0.25, 1.25)
    with pytest.raises(InvalidArgument, match=r"`outcomes` must lie in \[-1, 1\]"):
        WinLoss.from_outcomes([0.5, 1.5])


@pytest.mark.parametrize("test", WIN_LOSS_TESTS, ids=lambda t: repr(t)[:40])
def test_sequential_tests_read_fractional_counts_and_streams_agree_with_updates(test):
    rng = np.random.default_rng(8)
    outcomes = rng.uniform(-1, 1, size=60).round(3)
    result = test.evaluate(outcomes)
    state = test.start()
    for step, e in enumerate(outcomes):
        state = state.update(wins=max(e, 0.0), losses=max(-e, 0.0), ties=1.0 - abs(e))
        assert result.statistic[step] == pytest.approx(state.statistic, rel=1e-9, abs=1e-12)
        assert result.decision[step] == state.decision.code
    assert 0.0 <= state.pvalue <= 1.0


def test_the_exact_sign_test_needs_whole_counts_and_says_where_fractions_go():
    assert sign_test(WinLoss(60, 40, 3)).pvalue == sign_test(60, 40, 3).pvalue
    assert sign_test(60.0, 40.0).n_trials == 100  # whole floats are whole counts
    with pytest.raises(InvalidArgument, match=r"whole count for the exact sign test.*paired_test"):
        sign_test(WinLoss(89.33, 49.97))
    with pytest.raises(InvalidArgument, match="`losses` is missing"):
        sign_test(5)
    with pytest.raises(
        InvalidArgument, match=r"whole counts for the exact sign tests.*such as 2\.5"
    ):
        pairwise_sign_tests([[0, 2.5], [1.0, 0]])


def test_paired_test_reads_a_per_group_mean_array():
    means = np.array([0.5, -0.25, 1.0, 0.75, 0.0, 0.4])
    result = paired_test(means)
    assert result.n_users == 6
    assert result.mean == pytest.approx(means.mean())


def test_the_stream_helper_refuses_what_it_cannot_read():
    with pytest.raises(InvalidArgument, match="reads one of"):
        as_stream(CenteredSum(), (WinLoss,), "SPRT")
    assert math.isfinite(float(as_stream([1, -1], (WinLoss,), "SPRT").n_wins[-1]))


def test_the_schema_version_is_one():
    assert STATE_SCHEMA_VERSION == 1
    assert _record()["schema_version"] == 1


@pytest.mark.parametrize("x", [0.5, 3.0, 999.0, 1e3, 1e5, 1e7, 3e7])
@pytest.mark.parametrize("d", [0.0, 0.5, 1.0, 17.0, 1e4])
def test_log_rising_factorial_agrees_with_lgamma_where_lgamma_is_exact_enough(x, d):
    from interleave.stats._core import log_rising_factorial, log_rising_factorial_array

    expected = math.lgamma(x + d) - math.lgamma(x)
    tolerance = 1e-12 * max(1.0, abs(math.lgamma(x + d)))
    assert log_rising_factorial(x, d) == pytest.approx(expected, abs=tolerance)
    assert float(log_rising_factorial_array(x, d)) == pytest.approx(expected, abs=tolerance)


def test_log_rising_factorial_keeps_what_lgamma_differences_lose():
    from interleave.stats._core import log_rising_factorial

    # lgamma(x + 1) - lgamma(x) = log(x) exactly; at x = 1e17, x + 1 == x in float64.
    assert math.lgamma(1e17 + 1) - math.lgamma(1e17) == 0.0
    assert log_rising_factorial(1e17, 1.0) == pytest.approx(math.log(1e17), rel=1e-15)
    assert log_rising_factorial(1e300, 2.0) == pytest.approx(2 * math.log(1e300), rel=1e-15)


def test_a_state_of_overwhelming_evidence_round_trips_through_strict_json():
    # Sums this extreme take the mixture statistic to +inf; a restart must still restore it, and
    # strict JSON (Starlette's encoder, the event stores') has no Infinity.
    state = MixtureSPRT().start(TwoMeans(10, 10.0, 20.0, 10, 11.0, 22.0))
    state = state.update(n_b=10**6, sum_b=1e300, sum_squares_b=1e300)
    assert state.statistic == math.inf
    record = json.loads(json.dumps(state.to_dict(), allow_nan=False))
    assert record["statistic"] == "inf"
    restored = SequentialState.from_dict(record)
    assert restored == state
    assert restored.decision == state.decision
    # A lenient parser's float('inf') is read too; other strings are refused naming the field.
    assert SequentialState.from_dict({**record, "statistic": math.inf}) == state
    with pytest.raises(InvalidArgument, match="statistic"):
        SequentialState.from_dict({**record, "statistic": "infinity"})
