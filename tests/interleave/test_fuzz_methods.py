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


# -- TeamDraft and Balanced -----------------------------------------------------------------------

import re  # noqa: E402

from interleave import Balanced, InvalidArgument, TeamDraft  # noqa: E402


@pytest.mark.parametrize("length", [10**6, 10**7, 10**18])
@pytest.mark.parametrize(
    "method", [TeamDraft, Balanced, lambda length: TeamDraft(length, common_prefix=False)]
)
def test_fuzz_huge_length_is_bounded_by_the_items(method, length):
    # Was: TeamDraft(length=10**6) took 5 s, 10**7 over 120 s, 10**18 forever: the draft drew
    # `length` coins and looped `length` rounds. Now the items available bound both.
    status, il = call_bounded(
        method(length).interleave,
        [[1, 2, 3], [3, 4, 5]],
        key="r",
        seed=1,
        max_seconds=2,
        max_extra_bytes=_SMALL,
    )
    assert status == "ok"
    assert sorted(il.items) == [1, 2, 3, 4, 5]
    status, batch = call_bounded(
        method(length).interleave_batch,
        [[1, 2, 3], [3, 4, 5]],
        1000,
        rng=0,
        max_seconds=2,
        max_extra_bytes=_SMALL,
    )
    assert status == "ok"
    assert batch.shape == (1000, 6)  # bounded by the sum of the rankings' lengths


def test_fuzz_team_draft_multileave_with_huge_length():
    status, il = call_bounded(
        TeamDraft(10**18).interleave,
        [[1, 2], [3], [4, 5, 6]],
        key="r",
        seed=1,
        max_seconds=2,
        max_extra_bytes=_SMALL,
    )
    assert status == "ok"
    assert sorted(il.items) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("method", [TeamDraft(), Balanced()])
def test_fuzz_long_rankings_cost_linear_time(method):
    # 2 x 10^5 items: the two-ranker draft once shifted a 10^5-bit int per round (quadratic, 2 s
    # at 10^5 items and over a minute at 10^6).
    n = 10**5
    rankings = [list(range(n)), list(range(n // 2, n + n // 2))]
    status, il = call_bounded(
        method.interleave, rankings, key="r", seed=1, max_seconds=10, max_extra_bytes=_SMALL
    )
    assert status == "ok"
    assert len(il.items) == n


@pytest.mark.parametrize("method", [TeamDraft(), Balanced(), TeamDraft(length=10**18)])
@pytest.mark.parametrize("n", [10**9, 10**12, 10**30])
def test_fuzz_team_draft_balanced_batch_of_a_billion_refused_before_allocating(method, n):
    status, error = call_bounded(
        method.interleave_batch,
        [[1, 2, 3], [3, 4, 5]],
        n,
        rng=0,
        max_seconds=2,
        max_extra_bytes=_SMALL,
    )
    assert status == "error"
    assert isinstance(error, InvalidArgument)
    assert "`n_impressions`" in str(error)
    assert "max_batch_cells" in str(error)


@pytest.mark.parametrize("n", [-1, 2.5, "10", None, True])
def test_fuzz_bad_n_impressions_named(n):
    status, error = call_bounded(TeamDraft().interleave_batch, [[1, 2], [2, 1]], n, rng=0)
    assert status == "error"
    assert "`n_impressions`" in str(error)


@pytest.mark.parametrize("index", [5, -1, -6, 10**30, 2.0, "1", None, slice(0, 2)])
def test_fuzz_batch_index_out_of_range_named(index):
    # Was: IndexError.
    batch = TeamDraft().interleave_batch([[1, 2, 3], [3, 4, 5]], 5, rng=0)
    status, error = call_bounded(batch.__getitem__, index)
    assert status == "error"
    assert "`index`" in str(error)


@pytest.mark.parametrize(
    ("teams", "message"),
    [((7, 0), r"\[-1, 2\)"), ((0, 2), r"\[-1, 2\)"), ((-5, 0), r"\[-1, 2\)"), ((0,), "one entry")],
)
def test_fuzz_team_draft_hand_built_record_with_bad_teams(teams, message):
    # Was: IndexError for teams=(7, 0); -5 was skipped silently (a wrong answer accepted). The
    # record now refuses such teams when built; the credit refuses them too (defence in depth).
    def build_and_credit(clicks):
        il = Interleaving(
            "team_draft", (1, 2), teams, ((0, -1), (-1, 0)), (1, 1), params=TeamDraft().params()
        )
        return TeamDraft().credit(il, clicks)

    for clicks in ([0], [0, 1]):
        status, error = call_bounded(build_and_credit, clicks)
        if status == "ok":  # only a click that reads valid teams may be credited
            assert teams == (0, 2)
            assert clicks == [0]
            assert error.scores == (1.0, 0.0)
            continue
        assert isinstance(error, InvalidArgument)
        assert re.search(message, str(error)), str(error)


@pytest.mark.parametrize(
    "clicks",
    [
        np.zeros((3, 4)),  # float
        np.zeros((3, 5), dtype=bool),
        np.zeros(4, dtype=bool),
        [[True] * 4] * 2 + [[True] * 3],  # ragged
        "clicks",
        None,
        np.array([[object()] * 4] * 3),
    ],
)
@pytest.mark.parametrize("method", [TeamDraft(length=4), Balanced(length=4)])
def test_fuzz_credit_batch_hostile_clicks_named(method, clicks):
    batch = method.interleave_batch([[1, 2, 3, 4], [4, 5, 6, 7]], 3, rng=0)
    status, error = call_bounded(method.credit_batch, batch, clicks)
    assert status == "error"
    assert "`clicks`" in str(error)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"teams": np.full((2, 2), np.nan)},
        {"teams": np.array([[2**64 - 1, 0]], dtype=np.uint64)},
        {"teams": [[0, 1]], "ranks": np.full((2, 1, 2), np.inf)},
        {"teams": [[0, 1]], "ranking_lengths": [[10**30, 1]]},
        {"teams": [[0, 1]], "ranks": [[[0, 1]], [[1, 0]]], "ranking_lengths": [[-5, 2]]},
        {"teams": [["a", "b"]]},
        {"teams": None},
        {"teams": [[0, 1]], "n_shown": [10**30]},
        {"teams": [[0, 1]], "items": [[{}, 1]]},
        {"teams": [[0, 1]], "keys": 7},
    ],
)
def test_fuzz_from_columns_hostile_columns_named(kwargs):
    status, error = call_bounded(InterleavingBatch.from_columns, "balanced", **kwargs)
    assert status == "error"
    assert isinstance(error, InvalidArgument)


@st.composite
def _td_rankings(draw):
    ids = draw(
        st.one_of(
            st.lists(st.integers(-(2**70), 2**70), min_size=1, max_size=12, unique=True),
            st.lists(st.text(max_size=4), min_size=1, max_size=12, unique=True),
        )
    )
    k = draw(st.integers(1, 4))
    return [draw(st.permutations(ids))[: draw(st.integers(0, len(ids)))] for _ in range(k)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rankings=_td_rankings(),
    length=st.one_of(st.none(), st.integers(-3, 40), st.integers(10**6, 10**30)),
    method=st.sampled_from(["team_draft", "team_draft_no_prefix", "balanced", "balanced_lerot"]),
    key=st.one_of(st.text(max_size=6), st.integers(-(2**70), 2**70)),
    n_impressions=st.one_of(st.integers(-2, 30), st.integers(10**8, 10**20)),
    data=st.data(),
)
def test_fuzz_team_draft_and_balanced_end_to_end(
    rankings, length, method, key, n_impressions, data
):
    # interleave -> credit, interleave_batch -> credit_batch, and a log of the records through
    # from_records: every call either works or raises our own error, fast and within memory.
    def make():
        if method.startswith("team_draft"):
            return TeamDraft(length, common_prefix=method == "team_draft")
        return Balanced(length, cutoff="lerot" if method.endswith("lerot") else "joachims")

    status, m = call_bounded(make, max_seconds=2, max_extra_bytes=_SMALL)
    if status == "error":
        return
    status, il = call_bounded(
        m.interleave, rankings, key=key, seed=3, max_seconds=2, max_extra_bytes=_SMALL
    )
    if status == "ok":
        clicks = data.draw(
            st.one_of(
                st.lists(st.integers(-2, len(il.items) + 2), max_size=5),
                st.lists(st.booleans(), max_size=len(il.items) + 1),
            )
        )
        call_bounded(m.credit, il, clicks, max_seconds=2, max_extra_bytes=_SMALL)
        status, batch = call_bounded(
            InterleavingBatch.from_records, [il, il], max_seconds=2, max_extra_bytes=_SMALL
        )
        assert status == "ok"
        call_bounded(m.credit_batch, batch, batch.shown, max_seconds=2, max_extra_bytes=_SMALL)
    status, batch = call_bounded(
        m.interleave_batch, rankings, n_impressions, rng=1, max_seconds=2, max_extra_bytes=_SMALL
    )
    if status == "ok":
        clicks = np.random.default_rng(0).random(batch.shape) < 0.5
        call_bounded(m.credit_batch, batch, clicks, max_seconds=2, max_extra_bytes=_SMALL)
        call_bounded(
            m.credit_batch, batch, clicks & batch.shown, max_seconds=2, max_extra_bytes=_SMALL
        )
