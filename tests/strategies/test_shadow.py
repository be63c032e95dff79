"""Shadow: the candidate runs beside production and can never hurt the caller."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave.errors import InvalidArgument
from interleave.simulate import World
from strategies.shadow import (
    UNHEALTHY,
    Shadow,
    ShadowRunner,
    kendall_tau,
    overlap_at_k,
    rank_biased_overlap,
)

PRODUCTION_ANSWER = [1, 2, 3, 4, 5]


def production(request):
    return PRODUCTION_ANSWER


def flaky_candidate(request):
    # 10% raise, 10% sleep well past the 20 ms timeout, the rest answer at once.
    if request % 10 == 0:
        msg = f"candidate broke on {request}"
        raise RuntimeError(msg)
    if request % 10 == 1:
        time.sleep(0.06)
    return [2, 1, 3, 5, 4]


def test_a_failing_candidate_is_invisible_to_callers_and_every_failure_is_counted():
    runner = ShadowRunner(
        production, flaky_candidate, timeout=0.02, max_workers=64, max_pending=None
    )
    answers = [runner.serve(i) for i in range(10_000)]
    report = runner.close()
    assert all(a is PRODUCTION_ANSWER for a in answers)  # zero failures seen by callers
    assert report.n_requests == 10_000
    assert report.n_errors == 1_000
    assert dict(report.error_types) == {"RuntimeError": 1_000}
    # Every sleeper is a timeout; a fast call can only join them if the machine stalls it 20 ms.
    assert report.n_timeouts >= 1_000
    assert report.n_ok + report.n_errors + report.n_timeouts + report.n_shed == 10_000
    assert report.n_shed == 0
    # The overhead is measured per request (its size is a benchmark's business, not a test's).
    assert len(report.overhead) == len(report.production_latency) == 10_000
    assert np.all(report.overhead >= 0)
    assert set(report.to_dict()["overhead"]) == {"p50", "p95", "p99"}


def test_serve_never_waits_for_the_candidate():
    # A candidate blocked until the test releases it: if serve waited, this would deadlock.
    release = threading.Event()

    def blocked(request):
        release.wait()
        return [5, 4, 3, 2, 1]

    runner = ShadowRunner(production, blocked, timeout=10.0, max_workers=2, max_pending=4)
    answers = [runner.serve(i) for i in range(100)]
    assert answers == [PRODUCTION_ANSWER] * 100
    in_flight = runner.report()
    assert in_flight.n_ok == 0
    assert in_flight.n_shed == 96  # the bounded queue sheds instead of piling up
    release.set()
    report = runner.close()
    assert report.n_ok == 4
    assert report.divergence.mean_overlap == 1.0
    assert report.divergence.mean_tau == -1.0


def test_runner_checks_its_arguments():
    with pytest.raises(InvalidArgument, match="`timeout` must be in"):
        ShadowRunner(production, production, timeout=0)
    with pytest.raises(InvalidArgument, match="callables"):
        ShadowRunner(production, "not a function")


def test_divergence_measures_on_hand_computed_lists():
    assert overlap_at_k([1, 2, 3], [3, 4, 5]) == pytest.approx(1 / 3)
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)  # 5 conc., 1 disc.
    assert np.isnan(kendall_tau([1, 2], [3, 4]))
    # RBO_ext by hand, p = 0.5, [1, 2] vs [2, 1]: A_1 = 0, A_2 = 1;
    # 1 * 0.25 + (0.5 / 0.5) * (0 * 0.5 + 1 * 0.25) = 0.5.
    assert rank_biased_overlap([1, 2], [2, 1], p=0.5) == pytest.approx(0.5)


@given(st.permutations(list(range(8))), st.permutations(list(range(8))))
def test_divergence_measures_stay_in_range_and_are_symmetric(a, b):
    assert 0.0 <= rank_biased_overlap(a, b) <= 1.0
    assert rank_biased_overlap(a, b) == pytest.approx(rank_biased_overlap(b, a))
    assert -1.0 <= kendall_tau(a, b) <= 1.0
    assert kendall_tau(a, b) == pytest.approx(kendall_tau(b, a))
    assert rank_biased_overlap(a, a) == pytest.approx(1.0)


def test_simulated_shadow_shows_nobody_the_candidate():
    world = World.build(n_users=200, seed=5)
    result = world.run(Shadow(seed=5), 2_000, look_every=100)
    assert set(result.exposures["policy"].unique()) == {"production"}
    assert result.verdict.n_candidate_requests == 0
    evidence = dict(result.verdict.evidence)
    assert 0.0 < evidence["mean_rbo"] < 1.0
    assert evidence["counterfactual_clicks"] > 0


def test_a_failing_candidate_is_unhealthy_in_simulation():
    world = World.build(n_users=200, seed=5, candidate_error_rate=0.2)
    verdict = world.run(Shadow(seed=5), 2_000, look_every=100).verdict
    assert verdict.decision == UNHEALTHY
    assert dict(verdict.evidence)["error_rate"] == pytest.approx(0.2, abs=0.03)


def test_an_answer_that_cannot_be_compared_counts_as_an_error():
    with ShadowRunner(production, lambda request: None, timeout=1.0) as runner:
        for i in range(20):
            runner.serve(i)
    report = runner.report()
    assert report.n_errors == 20
    assert dict(report.error_types) == {"IncomparableOutput": 20}
    assert "errors 20" in str(report)


def test_a_closed_runner_still_answers_and_sheds_the_shadow_call():
    runner = ShadowRunner(production, production, timeout=1.0)
    runner.close()
    assert runner.serve(1) is PRODUCTION_ANSWER
    assert runner.report().n_shed == 1


def test_requests_to_decide_count_the_requests_the_candidate_failed_on():
    world = World.build(n_users=300, seed=8, candidate_error_rate=0.03)
    result = world.run(Shadow(seed=8, max_error_rate=0.5), 6_000, look_every=100)
    verdict = result.verdict
    assert verdict.requests_to_decide is not None
    assert verdict.requests_to_decide % 100 == 0  # a look boundary, in requests seen
    assert result.state.sequential.n_stopped < verdict.requests_to_decide  # failures left out


@pytest.mark.parametrize("look_every", [1, 25])
def test_a_candidate_failing_on_every_request_is_unhealthy_from_the_hundredth_request(look_every):
    # Shadow's guardrail on errors is a count against a threshold, not an interval, so it has no
    # zero-variance hole: every request failing is unhealthy at the first look with 100 requests,
    # and says so from then on with the request count where it became unhealthy.
    world = World.build(n_users=200, seed=5, candidate_error_rate=1.0)
    result = world.run(Shadow(seed=5), 1_000, look_every=look_every)
    verdict = result.verdict
    assert verdict.decision == UNHEALTHY
    assert verdict.requests_to_decide == 100
    assert verdict.n_requests == 1_000
    assert dict(verdict.evidence)["error_rate"] == 1.0
    # Nothing the candidate answered, so nothing to compare: the counterfactual test never moved.
    assert dict(verdict.evidence)["wins"] == dict(verdict.evidence)["losses"] == 0
    assert verdict.pvalue == 1.0


def test_the_health_check_waits_for_a_hundred_requests():
    world = World.build(n_users=200, seed=5, candidate_error_rate=1.0)
    assert world.run(Shadow(seed=5), 99, look_every=1).verdict.decision != UNHEALTHY
