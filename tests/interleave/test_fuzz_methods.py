"""Hostile input to the interleaving methods: only the library's own errors, bounded (issue 13).

Every case runs through :func:`tests.fuzzing.call_bounded`: a raw Python/numpy error, a hang past
the time bound or an allocation past the memory bound fails the test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interleave import Interleaving, InterleavingBatch, Optimized, Probabilistic
from interleave.methods.optimized import TooManyCandidates
from tests.fuzzing import call_bounded

# -- Probabilistic and Optimized ------------------------------------------------------------------

_SMALL = 1 << 28  # 256 MiB: every bounded case below needs far less


def test_fuzz_optimized_huge_disjoint_rankings_refused_at_once():
    # Was: TooManyCandidates after 11 s and 2.5 GB (3,000 items); MemoryError at 6,000.
    for n in (3000, 6000):
        rankings = [list(range(n)), list(range(n, 2 * n))]
        status, error = call_bounded(
            Optimized().interleave, rankings, key="r", seed=1, max_seconds=3, max_extra_bytes=_SMALL
        )
        assert status == "error"
        assert isinstance(error, TooManyCandidates)
        assert "20,000" in str(error)


@pytest.mark.parametrize(
    "rankings",
    [
        [list(range(30)), list(range(30, 60))],
        [list(range(10**5)), list(range(10**5, 2 * 10**5))],
    ],
    ids=["30 items", "1e5 disjoint"],
)
def test_fuzz_optimized_unlimited_lists_formulation_fails_fast(rankings):
    # Was: MemoryError (gigabytes) for both.
    method = Optimized(max_candidates=None, formulation="lists")
    status, error = call_bounded(
        method.interleave, rankings, key="r", seed=1, max_seconds=3, max_extra_bytes=_SMALL
    )
    assert status == "error"
    assert "MAX_LIST_CELLS" in str(error)


@pytest.mark.parametrize("method", [Optimized, Probabilistic])
def test_fuzz_length_thirty_million_is_bounded_by_the_items(method):
    # Was: 1-2 GB at length 3e7. A small solve first: the one-time import of scipy.optimize (a
    # second or two on a busy machine) is not what the time bound is about.
    method().interleave([[1, 2], [2, 1]], key="warm-up", seed=1)
    status, il = call_bounded(
        method(length=3 * 10**7).interleave,
        [[1, 2, 3], [3, 4, 5]],
        key="r",
        seed=1,
        max_seconds=3,
        max_extra_bytes=_SMALL,
    )
    assert status == "ok"
    assert sorted(il.items) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("tau", [200.0, 1100.0, 1e10, 1e300])
def test_fuzz_probabilistic_huge_tau_never_divides_by_zero(tau):
    # Was: ZeroDivisionError in credit and next_item_distribution; NaN from credit_batch.
    ranking = list(range(41))
    rankings = [ranking, ranking[::-1]]
    method = Probabilistic(tau=tau)
    status, il = call_bounded(method.interleave, rankings, key="r", seed=1)
    assert status == "ok"
    status, credit = call_bounded(method.credit, il, list(range(41)))
    assert status == "ok"
    assert all(math.isfinite(x) for x in credit.scores)
    status, dist = call_bounded(method.next_item_distribution, rankings, il.items[:20])
    assert status == "ok"
    assert sum(dist.values()) == pytest.approx(1.0)
    batch = method.interleave_batch(rankings, 3, rng=1)
    status, credits = call_bounded(method.credit_batch, batch, np.ones(batch.shape, dtype=bool))
    assert status == "ok"
    assert np.isfinite(credits.scores).all()
    assert np.isfinite(credits.preferences).all()


def test_fuzz_probabilistic_credit_samples_of_a_trillion_refused():
    # Was: an attempt to allocate 14.6 TiB.
    status, error = call_bounded(Probabilistic, credit_samples=10**12, max_extra_bytes=_SMALL)
    assert status == "error"
    assert "MAX_CREDIT_SAMPLES" in str(error)


def test_fuzz_probabilistic_record_with_billion_item_rankings_refused():
    # Was: allocation until MemoryError.
    method = Probabilistic()
    record = method.interleave([[1, 2], [2, 1]], key="r", seed=1).to_dict()
    forged = Interleaving.from_dict({**record, "ranking_lengths": [10**9, 10**9]})
    status, error = call_bounded(method.credit, forged, [0, 1], max_extra_bytes=_SMALL)
    assert status == "error"
    assert "MAX_RANKING_LENGTH" in str(error)
    batch = InterleavingBatch.from_records([forged])
    clicks = np.ones(batch.shape, dtype=bool)
    status, error = call_bounded(method.credit_batch, batch, clicks, max_extra_bytes=_SMALL)
    assert status == "error"
    assert "MAX_RANKING_LENGTH" in str(error)


@pytest.mark.parametrize("shown", [None, 3, 2.5, "ab", b"ab", [[1]], {1: 2}])
def test_fuzz_probabilistic_next_item_distribution_shown_named(shown):
    # Was: a raw TypeError for shown=None.
    status, error = call_bounded(
        Probabilistic().next_item_distribution, [[1, 2], [2, 3]], shown=shown
    )
    assert status == "error"
    assert "`shown`" in str(error)


@pytest.mark.parametrize("method", [Probabilistic(), Optimized()])
@pytest.mark.parametrize("n", [10**9, 10**12])
def test_fuzz_batch_of_a_billion_impressions_refused_before_allocating(method, n):
    status, error = call_bounded(
        method.interleave_batch, [[1, 2, 3], [3, 4, 5]], n, rng=1, max_extra_bytes=_SMALL
    )
    assert status == "error"
    assert "n_impressions" in str(error)


_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.lists(st.integers(0, 3), max_size=2),
)
_TAU = st.one_of(
    st.floats(min_value=1e-300, max_value=1e300),
    st.sampled_from([5e-324, 1e-12, 200.0, 1100.0, 1e308]),
    _ANY,
)
_LENGTH = st.one_of(st.none(), st.integers(-2, 12), st.sampled_from([10**7, 10**18]), _ANY)


@st.composite
def _rankings(draw):
    pool = draw(st.lists(st.integers(0, 20), min_size=1, max_size=12, unique=True))
    k = draw(st.integers(2, 3))
    return [draw(st.permutations(pool))[: draw(st.integers(1, len(pool)))] for _ in range(k)]


def _exercise(method, rankings, seed):
    """interleave, credit, batch and credit_batch under the fuzz rule; check what comes back."""
    status, il = call_bounded(method.interleave, rankings, key=seed, seed=1, max_seconds=10)
    if status == "error":
        return
    assert len(set(il.items)) == len(il.items)
    clicks = list(range(0, len(il.items), 2))
    status, credit = call_bounded(method.credit, il, clicks, max_seconds=10)
    assert status == "ok", credit
    assert all(math.isfinite(x) for x in credit.scores)
    assert all(-1.0 <= x <= 1.0 for row in credit.preferences for x in row)
    status, batch = call_bounded(method.interleave_batch, rankings, 4, rng=seed, max_seconds=10)
    assert status == "ok", batch
    mask = batch.shown.copy()
    status, credits = call_bounded(method.credit_batch, batch, mask, max_seconds=10)
    assert status == "ok", credits
    assert np.isfinite(credits.scores).all()
    logged = InterleavingBatch.from_records([il, il])
    status, credits = call_bounded(method.credit_batch, logged, logged.shown, max_seconds=10)
    assert status == "ok", credits
    assert np.isfinite(credits.preferences).all()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rankings=_rankings(),
    tau=_TAU,
    length=_LENGTH,
    credit_samples=st.one_of(st.none(), st.integers(-5, 300), st.just(10**13), _ANY),
    seed=st.integers(0, 10**6),
)
def test_fuzz_probabilistic_arguments(rankings, tau, length, credit_samples, seed):
    status, method = call_bounded(
        Probabilistic, length=length, tau=tau, credit_samples=credit_samples
    )
    if status == "ok":
        _exercise(method, rankings, seed)
    status, value = call_bounded(
        Probabilistic().next_item_distribution, rankings, shown=rankings[0][:1]
    )
    assert status == "ok"
    exhausted = all(set(r) <= set(rankings[0][:1]) for r in rankings)
    assert sum(value.values()) == (0 if exhausted else pytest.approx(1.0))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rankings=_rankings(),
    length=_LENGTH,
    credit=st.one_of(st.sampled_from(["inverse", "linear", "negative"]), _ANY),
    formulation=st.one_of(st.sampled_from(["auto", "lists", "flow"]), _ANY),
    max_candidates=st.one_of(st.none(), st.integers(-1, 50), st.just(10**15), _ANY),
    relax=st.one_of(st.booleans(), _ANY),
    seed=st.integers(0, 10**6),
)
def test_fuzz_optimized_arguments(
    rankings, length, credit, formulation, max_candidates, relax, seed
):
    status, method = call_bounded(
        Optimized,
        length=length,
        credit=credit,
        formulation=formulation,
        max_candidates=max_candidates,
        relax=relax,
    )
    if status == "ok":
        _exercise(method, rankings[:2], seed)
