"""The sequential-state contract every test meets: immutable states, batch = one look,
a stopped test stays stopped, and the vectorised stream equals look-by-look updates."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave.errors import InterleaveError
from interleave.stats import (
    SPRT,
    BetaBinomialMixture,
    CenteredSum,
    Decision,
    GroupSequential,
    MixtureSPRT,
    SequentialSRM,
    TwoMeans,
    TwoProportions,
    WinLoss,
)

WIN_RATE_TESTS = [
    pytest.param(SPRT(), id="sprt"),
    pytest.param(SPRT(tie_policy="split"), id="sprt-split"),
    pytest.param(MixtureSPRT(n_opt=200), id="mixture"),
    pytest.param(MixtureSPRT(n_opt=200, tie_policy="split"), id="mixture-split"),
    pytest.param(MixtureSPRT.johari(tau=0.15), id="johari"),
    pytest.param(BetaBinomialMixture(), id="beta-binomial"),
    pytest.param(
        BetaBinomialMixture(tie_policy="split", prior_wins=2, prior_losses=3), id="bb-split"
    ),
]

counts = st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 10))


def _as_update(c: tuple[int, int, int]) -> dict[str, int]:
    return {"wins": c[0], "losses": c[1], "ties": c[2]}


@pytest.mark.parametrize("test", WIN_RATE_TESTS)
@given(first=counts, second=counts)
def test_updating_in_one_batch_or_two_gives_the_same_state(test, first, second):
    start = test.start()
    middle = start.update(**_as_update(first))
    two = middle.update(**_as_update(second))
    one = start.update(**_as_update(tuple(a + b for a, b in zip(first, second, strict=True))))
    # Always: the same sufficient statistics, statistic and interval.
    assert two.data == one.data
    assert two.statistic == one.statistic
    if not isinstance(test, SPRT):
        assert two.confidence_interval() == one.confidence_interval()
    # The whole state is equal unless the look in between stopped the test or saw a smaller
    # p-value (a batch is one look; see interleave.stats._core).
    if not middle.stopped and middle.pvalue >= one.pvalue:
        assert two == one


@pytest.mark.parametrize("test", WIN_RATE_TESTS)
@given(outcomes=st.lists(st.sampled_from([1, -1, 0]), min_size=1, max_size=120))
def test_a_stream_evaluates_like_one_update_per_step(test, outcomes):
    result = test.evaluate(np.asarray(outcomes))
    state = test.start()
    for step, outcome in enumerate(outcomes):
        state = state.update(
            wins=int(outcome == 1), losses=int(outcome == -1), ties=int(outcome == 0)
        )
        assert result.decision[step] == state.decision.code
        assert result.pvalue[step] == pytest.approx(state.pvalue, rel=1e-12, abs=1e-300)
        assert result.statistic[step] == pytest.approx(state.statistic, rel=1e-9, abs=1e-12)
        assert result.n[step] == state.n
    expected_stop = -1 if state.n_stopped is None else state.n_stopped
    assert int(result.n_stopped) == expected_stop


@pytest.mark.parametrize("test", WIN_RATE_TESTS)
def test_a_stopped_test_stays_stopped_while_data_keeps_accumulating(test):
    state = test.start().update(wins=200, losses=20)
    assert state.stopped
    assert state.decision is Decision.REJECT
    assert state.n_stopped == 220
    later = state.update(losses=500)
    assert later.decision is Decision.REJECT
    assert later.n_stopped == 220
    assert later.n == 720
    assert later.pvalue <= state.pvalue


def test_states_are_immutable_and_cannot_be_unpacked():
    state = MixtureSPRT().start()
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.pvalue = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        _, _ = state  # type: ignore[misc]
    assert state.update(wins=1) is not state
    assert state.n == 0


def test_only_sprt_and_group_sequential_can_accept():
    # The mixture and beta-binomial tests have no acceptance region: a perfectly balanced
    # stream never ends them, while Wald's SPRT accepts H0.
    balanced = np.tile([1, -1], 2000)
    assert not MixtureSPRT().evaluate(balanced).stopped.item()
    assert not BetaBinomialMixture().evaluate(balanced).stopped.item()
    assert SPRT().evaluate(balanced).accepted.item()
    final = GroupSequential(max_n=100).start().update(wins=50, losses=50)
    assert final.decision is Decision.ACCEPT


@pytest.mark.parametrize(
    ("data", "stream"),
    [
        pytest.param(
            TwoProportions(),
            lambda rng: TwoProportions.from_observations(
                rng.integers(0, 2, 300), rng.random(300) < 0.3
            ),
            id="proportions",
        ),
        pytest.param(
            TwoMeans(),
            lambda rng: TwoMeans.from_observations(rng.integers(0, 2, 300), rng.normal(size=300)),
            id="means",
        ),
        pytest.param(
            CenteredSum(),
            lambda rng: CenteredSum.from_increments(rng.normal(size=300), np.ones(300)),
            id="centered",
        ),
    ],
)
@pytest.mark.parametrize(
    "test", [MixtureSPRT(n_opt=100), MixtureSPRT.johari(tau=0.3)], ids=["n_opt", "johari"]
)
def test_ab_streams_evaluate_like_one_update_per_step(data, stream, test):
    rng = np.random.default_rng(7)
    arrays = stream(rng)
    result = test.evaluate(arrays)
    state = test.start(data)
    fields = type(data).__slots__
    previous = {f: 0 for f in fields}
    for step in range(300):
        now = {f: getattr(arrays, f)[step] for f in fields}
        increments = {f: (now[f] - previous[f]).item() for f in fields}
        previous = now
        if isinstance(data, TwoProportions):
            increments = {
                "successes_a": increments["n_successes_a"],
                "trials_a": increments["n_trials_a"],
                "successes_b": increments["n_successes_b"],
                "trials_b": increments["n_trials_b"],
            }
        elif isinstance(data, CenteredSum):
            increments = {
                "n": increments["n"],
                "total": increments["total"],
                "variance": increments["variance"],
            }
        state = state.update(**increments)
        assert result.statistic[step] == pytest.approx(state.statistic, rel=1e-7, abs=1e-9)
        assert result.decision[step] == state.decision.code


def test_group_sequential_stream_and_state_agree_at_planned_looks():
    rng = np.random.default_rng(11)
    outcomes = rng.choice([-1, 1], size=(40, 400), p=[0.45, 0.55])
    cumulative = WinLoss.from_outcomes(outcomes)
    looks = np.array([99, 199, 299, 399])
    stream = WinLoss(
        n_wins=cumulative.n_wins[:, looks],
        n_losses=cumulative.n_losses[:, looks],
        n_ties=cumulative.n_ties[:, looks],
    )
    design = GroupSequential(max_n=400, spending="pocock")
    result = design.evaluate(stream)
    for e in range(40):
        state = design.start()
        previous = (0, 0)
        for j, step in enumerate(looks):
            wins, losses = int(cumulative.n_wins[e, step]), int(cumulative.n_losses[e, step])
            state = state.update(wins=wins - previous[0], losses=losses - previous[1])
            previous = (wins, losses)
            assert result.decision[e, j] == state.decision.code
            # stream p-values are interpolated from a table, the state's found by root finding
            assert result.pvalue[e, j] == pytest.approx(state.pvalue, rel=1e-4)


def test_group_sequential_rejects_exactly_when_the_repeated_pvalue_reaches_alpha():
    design = GroupSequential(max_n=1000, spending="obrien-fleming")
    state = design.start()
    for _ in range(4):
        state = state.update(wins=140, losses=110)
        assert (state.decision is Decision.REJECT) == (state.pvalue <= design.alpha)
    interval = state.confidence_interval()
    assert (0.5 in interval) == (state.decision is not Decision.REJECT)


def test_the_mixture_interval_excludes_the_null_exactly_when_it_rejects():
    test = MixtureSPRT(n_opt=500)
    for wins in range(40, 90):
        state = test.start().update(wins=wins, losses=100 - wins)
        assert (0.5 in state.confidence_interval()) == (state.decision is Decision.CONTINUE)


def test_the_beta_binomial_interval_excludes_p0_exactly_when_it_rejects():
    test = BetaBinomialMixture()
    for wins in range(40, 90):
        state = test.start().update(wins=wins, losses=100 - wins)
        assert (0.5 in state.confidence_interval()) == (state.decision is Decision.CONTINUE)


def test_sprt_and_srm_have_no_interval_and_say_what_to_use_instead():
    with pytest.raises(InterleaveError, match="MixtureSPRT or BetaBinomialMixture"):
        SPRT().start().update(wins=3).confidence_interval()
    with pytest.raises(InterleaveError, match="no confidence interval"):
        SequentialSRM().start().update(counts=[3, 4]).confidence_interval()


def test_states_render_as_a_line_and_convert_to_a_dict():
    state = MixtureSPRT().start().update(wins=3, losses=1)
    assert "pvalue=" in str(state)
    assert state.to_dict()["data"] == {"kind": "WinLoss", "n_wins": 3, "n_losses": 1, "n_ties": 0}


def test_a_start_with_data_counts_as_one_look():
    state = SPRT().start(WinLoss(n_wins=80, n_losses=20))
    assert state.decision is Decision.REJECT
    assert state.n_stopped == 100


@pytest.mark.parametrize("test", WIN_RATE_TESTS)
def test_long_one_sided_streams_raise_no_overflow_warnings(test):
    # filterwarnings = error: an overflow in exp(-statistic) would fail this test.
    result = test.evaluate(-np.ones(50_000))
    assert np.all((result.pvalue >= 0) & (result.pvalue <= 1))


@pytest.mark.parametrize(
    ("design", "fractions"),
    [
        (GroupSequential(max_n=1), (0.25, 0.5, 0.75, 1.0)),
        (GroupSequential(max_n=1, spending="pocock"), (0.2, 0.4, 0.6, 0.8, 1.0)),
        (GroupSequential(max_n=1, spending=2.0, alternative="greater"), (0.1, 0.3, 0.7)),
        (GroupSequential(max_n=1000), tuple(np.arange(1, 31) / 1000)),
    ],
    ids=["obf-4", "pocock-5", "power-one-sided", "obf-30-small"],
)
def test_tabulated_repeated_pvalues_agree_with_root_finding_to_one_percent(design, fractions):
    # The table interpolates 65 levels from a coarser recursion; root finding over alpha on the
    # decisions' own grid is the reference. Deterministic: no false-failure rate.
    from interleave.stats.group_sequential import _repeated_pvalue_by_root, _RepeatedPvalues

    table = _RepeatedPvalues(design, fractions)
    for look in range(0, len(fractions), max(1, len(fractions) // 6)):
        bound = float(design.bounds(fractions[: look + 1])[-1])
        for stat in np.linspace(0.5, 8.0, 13):
            reference = _repeated_pvalue_by_root(design, fractions[: look + 1], float(stat))
            tabulated = float(table.pvalue(look, stat, bound))
            if 1e-10 < reference < 0.999:
                assert abs(math.log(tabulated / reference)) < 0.01
            assert (tabulated <= design.alpha) == (stat >= bound)


def test_group_sequential_state_and_stream_agree_over_fifty_small_looks():
    # The case (was 108 s): one look per comparison, 50 looks at t = k / 1000.
    design = GroupSequential(max_n=1000)
    result = design.evaluate(np.ones(50))
    state = design.start()
    for step in range(50):
        state = state.update(wins=1)
        assert result.pvalue[step] == state.pvalue
        assert result.statistic[step] == pytest.approx(state.statistic, rel=1e-12)
    assert len(state.looks) == 50
    assert np.all(np.diff(result.pvalue) <= 0)


def test_group_sequential_results_do_not_depend_on_its_caches():
    from interleave.stats.group_sequential import _CACHE_SIZE, _CARRIES, clear_caches

    design = GroupSequential(max_n=500, spending="pocock")
    stream = np.tile([1, 1, -1], 40)
    warm = design.evaluate(stream)
    clear_caches()
    assert len(_CARRIES) == 0
    cold = design.evaluate(stream)
    np.testing.assert_array_equal(warm.pvalue, cold.pvalue)
    np.testing.assert_array_equal(warm.decision, cold.decision)
    assert len(_CARRIES) <= _CACHE_SIZE
