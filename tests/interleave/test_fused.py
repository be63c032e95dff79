"""The fused two-ranker path (lists, str/int key) gives exactly the general path's record.

The general path is taken for the same rankings passed as tuples, so each property compares
the two paths on identical input.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interleave import Balanced, Optimized, TeamDraft
from interleave._fused import _python_balanced_two, _python_team_draft_two
from interleave.credit import Credit
from interleave.errors import InvalidArgument

ids = st.one_of(
    st.lists(st.integers(0, 40), min_size=1, max_size=14, unique=True),
    st.lists(st.sampled_from([f"d{i}" for i in range(40)]), min_size=1, max_size=14, unique=True),
)


@st.composite
def ranking_pairs(draw):
    a = draw(ids)
    kind = type(a[0])
    b = draw(ids.filter(lambda r: type(r[0]) is kind))
    shared = draw(st.integers(0, min(len(a), len(b))))
    b = list(dict.fromkeys(a[:shared] + b))  # a shared top, as similar rankers have
    return a, b


methods = st.one_of(
    st.builds(TeamDraft, st.one_of(st.none(), st.integers(1, 30)), common_prefix=st.booleans()),
    st.builds(
        Balanced,
        st.one_of(st.none(), st.integers(1, 30)),
        cutoff=st.sampled_from(["joachims", "lerot"]),
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    methods,
    ranking_pairs(),
    st.one_of(st.text(max_size=8), st.integers(-(2**70), 2**70)),
    st.one_of(st.none(), st.integers(0, 2**40)),
)
def test_fused_path_equals_general_path(method, pair, key, seed):
    a, b = pair
    fused = method.interleave([a, b], key=key, seed=seed)
    general = method.interleave([tuple(a), tuple(b)], key=key, seed=seed)
    assert fused == general
    assert fused.to_dict() == general.to_dict()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([1, True], [2, 3]),  # a bool id
        ([1, 2.0], [2, 3]),  # a float id
        ([1, 2], ["x"]),  # mixed id types across rankings
        ([1, 1], [2]),  # a duplicate
        ([], [1]),  # empty
        ([2**64], [1]),  # outside the 64-bit id range
        ((1, 2), [1]),  # not a list
    ],
)
def test_the_reference_declines_what_the_general_path_must_handle(a, b):
    assert _python_team_draft_two(a, b, 2, True, 1) is None
    assert _python_balanced_two(a, b, 2, True) is None


credit_methods = st.one_of(
    st.builds(TeamDraft, st.one_of(st.none(), st.integers(1, 20)), common_prefix=st.booleans()),
    st.builds(
        Optimized,  # relax: rankings of unequal lengths have no unbiased distribution
        st.integers(1, 4),
        credit=st.sampled_from(["inverse", "negative", "linear"]),
        relax=st.just(True),
    ),
)


@settings(max_examples=300, deadline=None)
@given(credit_methods, ranking_pairs(), st.lists(st.integers(-2, 25), max_size=8))
def test_credit_fast_path_equals_general_path(method, pair, clicks):
    record = method.interleave([list(pair[0]), list(pair[1])], key="request", seed=3)
    general, fast = _outcome(method, record, tuple(clicks)), _outcome(method, record, clicks)
    assert fast == general  # the same credit, or the same error message
    if isinstance(fast, Credit):
        assert [str(x) for row in fast.preferences for x in row] == [
            str(x) for row in general.preferences for x in row
        ]


def _outcome(method, record, clicks):
    try:
        return method.credit(record, clicks)  # a tuple takes the general path
    except InvalidArgument as error:
        return str(error)


@pytest.mark.parametrize("clicks", [[True], [0, 0], [0.0], [1, "2"], [None]])
def test_team_draft_credit_fast_path_leaves_odd_clicks_to_the_general_path(clicks):
    method = TeamDraft(length=4)
    record = method.interleave([[1, 2, 3], [3, 4, 5]], key="request", seed=3)
    with pytest.raises(InvalidArgument, match="clicks"):
        method.credit(record, clicks)
