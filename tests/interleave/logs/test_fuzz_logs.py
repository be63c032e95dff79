"""Hostile logs: only the library's own errors escape, in bounded time and memory (issue 13)."""

from __future__ import annotations

import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from interleave.logs import InterleavingResult, ab_statistics, evaluate, interleaving_statistics
from tests.fuzzing import call_bounded

small_int = st.one_of(st.integers(-3, 12), st.sampled_from([2**31, -(2**40), 2**62]))
int_list = st.one_of(st.none(), st.lists(st.one_of(small_int, st.none()), max_size=6))


@st.composite
def exposure_frames(draw):
    n = draw(st.integers(0, 6))
    column = {
        "impression_id": draw(
            st.lists(st.one_of(st.integers(0, 4), st.none()), min_size=n, max_size=n)
        ),
        "user_id": draw(st.lists(st.sampled_from(["u", "v", None]), min_size=n, max_size=n)),
        "method": draw(
            st.lists(
                st.sampled_from(
                    ["team_draft", "balanced", "probabilistic", "optimized", "nope", None]
                ),
                min_size=n,
                max_size=n,
            )
        ),
        "items": draw(st.lists(int_list, min_size=n, max_size=n)),
        "teams": draw(st.lists(int_list, min_size=n, max_size=n)),
        "clicks": draw(st.lists(int_list, min_size=n, max_size=n)),
    }
    schema = {
        "impression_id": pl.Int64,
        "user_id": pl.String,
        "method": pl.String,
        "items": pl.List(pl.Int64),
        "teams": pl.List(pl.Int64),
        "clicks": pl.List(pl.Int64),
    }
    if draw(st.booleans()):
        column["ranks"] = draw(
            st.lists(st.one_of(st.none(), st.lists(int_list, max_size=3)), min_size=n, max_size=n)
        )
        column["ranking_lengths"] = draw(st.lists(int_list, min_size=n, max_size=n))
        schema["ranks"] = pl.List(pl.List(pl.Int64))
        schema["ranking_lengths"] = pl.List(pl.Int64)
    if draw(st.booleans()):
        column["params"] = draw(
            st.lists(
                st.sampled_from(
                    [
                        "",
                        "{}",
                        '{"length": 3}',
                        '{"length": -1}',
                        "[1]",
                        "{oops",
                        json.dumps({"length": 10**30}),
                        None,
                    ]
                ),
                min_size=n,
                max_size=n,
            )
        )
        schema["params"] = pl.String
    if draw(st.booleans()):
        column["timestamp"] = draw(
            st.lists(
                st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()),
                min_size=n,
                max_size=n,
            )
        )
        schema["timestamp"] = pl.Float64
    return pl.DataFrame(column, schema=schema)


@st.composite
def click_frames(draw):
    n = draw(st.integers(0, 5))
    return pl.DataFrame(
        {
            "impression_id": draw(
                st.lists(st.one_of(st.integers(0, 6), st.none()), min_size=n, max_size=n)
            ),
            "position": draw(st.lists(st.one_of(small_int, st.none()), min_size=n, max_size=n)),
        },
        schema={"impression_id": pl.Int64, "position": pl.Int64},
    )


def _evaluate(frame, clicks):
    stats = interleaving_statistics(frame, clicks)
    result = InterleavingResult(stats)
    return result.summary(), result.to_dict()


@settings(max_examples=300)
@given(frame=exposure_frames(), clicks=st.one_of(st.none(), click_frames()))
def test_hostile_interleaving_logs_raise_only_our_errors(frame, clicks):
    call_bounded(_evaluate, frame, clicks, max_seconds=10)


@settings(max_examples=100)
@given(frame=exposure_frames(), batch=st.integers(1, 4))
def test_hostile_logs_through_evaluate_raise_only_our_errors(frame, batch):
    call_bounded(lambda: evaluate(frame, batch_size=batch).to_dict(), max_seconds=10)


@settings(max_examples=150)
@given(
    n=st.integers(0, 6),
    data=st.data(),
)
def test_hostile_ab_logs_raise_only_our_errors(n, data):
    frame = pl.DataFrame(
        {
            "policy": data.draw(
                st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n)
            ),
            "click": data.draw(st.lists(st.one_of(small_int, st.none()), min_size=n, max_size=n)),
            "item_id": data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
            "position": data.draw(st.lists(small_int, min_size=n, max_size=n)),
            "propensity": data.draw(
                st.lists(st.one_of(st.floats(), st.none()), min_size=n, max_size=n)
            ),
        },
        schema={
            "policy": pl.String,
            "click": pl.Int64,
            "item_id": pl.Int64,
            "position": pl.Int64,
            "propensity": pl.Float64,
        },
    )
    call_bounded(lambda: evaluate(frame).to_dict(), max_seconds=10)
    call_bounded(ab_statistics, frame, max_seconds=10)


def test_a_wrong_type_for_the_log_is_a_named_error():
    for value in (None, 3, {"a": 1}, [1, 2]):
        status, error = call_bounded(evaluate, value)
        assert status == "error"
        assert "path or a polars" in str(error)
