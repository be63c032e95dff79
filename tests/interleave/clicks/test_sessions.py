"""The session frame schema and the two Yandex readers: what they accept and how they refuse."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from interleave.clicks import (
    PBM,
    SDBN,
    DocumentCTR,
    LogFormatError,
    read_pyclick_sessions,
    read_yandex_relpred,
    validate_sessions,
)
from interleave.errors import InvalidArgument


def good_log() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "query": ["a", "b"],
            "items": [[1, 2, 3], [4, 5, 6]],
            "clicks": [[True, False, False], [False, False, True]],
        }
    )


# -- schema ----------------------------------------------------------------------------------


def test_a_valid_log_reports_its_list_length() -> None:
    assert validate_sessions(good_log()) == 3
    string_items = good_log().with_columns(pl.col("items").cast(pl.List(pl.String)))
    assert validate_sessions(string_items) == 3


def test_extra_columns_are_carried_along() -> None:
    log = good_log().with_columns(pl.lit(1).alias("user"))
    assert SDBN().fit(log).fit_result.n_sessions == 2


@pytest.mark.parametrize(
    ("log", "match"),
    [
        (good_log().drop("clicks"), r"`sessions` is missing the column\(s\) \['clicks'\]"),
        (good_log().drop("query", "items"), r"missing the column\(s\) \['query', 'items'\]"),
        (good_log().clear(), r"`sessions` is empty \(0 sessions\)"),
        (
            good_log().with_columns(pl.col("query").cast(pl.Categorical)),
            r"column 'query' must be String, got Categorical",
        ),
        (
            good_log().with_columns(pl.lit(1).alias("items")),
            r"column 'items' must be a List, got Int32",
        ),
        (
            good_log().with_columns(pl.col("clicks").cast(pl.List(pl.Int8))),
            r"column 'clicks' must be List\(Boolean\), got List\(Int8\)",
        ),
        (
            good_log().with_columns(pl.col("items").cast(pl.List(pl.Float64))),
            r"column 'items' must be List of integer or String",
        ),
        (
            pl.DataFrame({"query": ["a"], "items": [[1, 2]], "clicks": [[True]]}),
            r"row 0: 'items' has 2 entries but 'clicks' has 1",
        ),
        (
            pl.DataFrame(
                {
                    "query": ["a", "b"],
                    "items": [[1, 2], [1, 2, 3]],
                    "clicks": [[True, False], [True, False, False]],
                }
            ),
            r"sessions show different numbers of results \(row 0: 2, row 1: 3\)",
        ),
        (
            pl.DataFrame({"query": ["a"], "items": [[1, None]], "clicks": [[True, False]]}),
            r"column 'items' has 1 null value\(s\)",
        ),
        (
            pl.DataFrame({"query": ["a"], "items": [[]], "clicks": [[]]}, schema=good_log().schema),
            r"row 0 shows no results",
        ),
    ],
)
def test_bad_logs_are_refused_naming_the_column(log: pl.DataFrame, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        validate_sessions(log)


def test_fit_validates_the_log() -> None:
    with pytest.raises(InvalidArgument, match=r"`sessions` is empty"):
        PBM().fit(good_log().clear())
    with pytest.raises(InvalidArgument, match=r"`sessions` must be a polars DataFrame, got dict"):
        PBM().fit({"query": ["a"]})
    with pytest.raises(InvalidArgument, match=r"missing the column\(s\) \['relevance'\]"):
        PBM(by="relevance").fit(good_log())


def test_evaluation_needs_the_same_item_id_type_as_training() -> None:
    model = DocumentCTR().fit(good_log())
    with pytest.raises(
        InvalidArgument, match=r"`items` hold String ids but the model was fitted on Int64 ids"
    ):
        model.evaluate(good_log().with_columns(pl.col("items").cast(pl.List(pl.String))))
    # Another integer width is fine.
    assert (
        model.evaluate(good_log().with_columns(pl.col("items").cast(pl.List(pl.Int32)))).n_sessions
        == 2
    )


# -- PyClick sample format -------------------------------------------------------------------


def write(tmp_path: Path, text: str, *, gz: bool = False) -> Path:
    path = tmp_path / ("log.gz" if gz else "log")
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_pyclick_sessions_mark_each_clicked_result_once(tmp_path: Path) -> None:
    # Repeated and off-list clicks (REFERENCES / SOURCE.md) and spaces around ids.
    text = "q1\t10,11,12 : 11 , 11 , 99; q1\t10,11,12 :;\nq2\t7,8,9 : 9  ;  \n\n"
    log = read_pyclick_sessions(write(tmp_path, text, gz=True))
    assert log.schema == pl.Schema(
        {"query": pl.String, "items": pl.List(pl.Int64), "clicks": pl.List(pl.Boolean)}
    )
    assert log.rows() == [
        ("q1", [10, 11, 12], [False, True, False]),
        ("q1", [10, 11, 12], [False, False, False]),
        ("q2", [7, 8, 9], [False, False, True]),
    ]


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("q\t1,2 : 1;\nq 1,2 : 1;", 2, "a query id and a tab"),
        ("q\t1,2 : 1;\n\nq\t1,2 1;", 3, "' : ' after the result list"),
        ("q\t1,x : 1;", 1, "integer document ids separated by ','"),
        ("q\t1,,2 : 1;", 1, "integer document ids separated by ','"),
    ],
)
def test_malformed_pyclick_lines_name_file_line_and_expectation(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(LogFormatError, match=rf"{path}, line {line}: expected {expected}") as info:
        read_pyclick_sessions(path)
    assert (info.value.path, info.value.line_number) == (str(path), line)
    assert isinstance(info.value, InvalidArgument)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"`path` .*nothing-here' is not a file"):
        read_pyclick_sessions(tmp_path / "nothing-here")


# -- raw Relevance Prediction Challenge format ------------------------------------------------


RELPRED = (
    "1\t0\tQ\t100\t2\t11\t12\t13\n"
    "1\t5\tC\t12\n"
    "1\t9\tC\t12\n"  # a repeated click counts once
    "1\t12\tQ\t101\t2\t21\t22\t23\n"  # a new result page of the same session
    "1\t14\tC\t99\n"  # a URL not on that page: ignored
    "1\t15\tC\t23\n"
    "2\t0\tQ\t100\t3\t13\t12\t11\n"
)


def test_relpred_lines_become_one_session_per_result_page(tmp_path: Path) -> None:
    log = read_yandex_relpred(write(tmp_path, RELPRED))
    assert log.columns == ["session_id", "time_passed", "query", "region", "items", "clicks"]
    assert log.rows() == [
        (1, 0, "100", 2, [11, 12, 13], [False, True, False]),
        (1, 12, "101", 2, [21, 22, 23], [False, False, True]),
        (2, 0, "100", 3, [13, 12, 11], [False, False, False]),
    ]
    assert validate_sessions(log) == 3


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            "1\t0\tQ\t100\t2\t11\n1\t3\tX\t11\n",
            2,
            r"'SessionID\\tTimePassed\\tQ.* or 'SessionID\\tTimePassed\\tC",
        ),
        ("1\t0\tQ\t100\t2\t11\n1\t3\tC\n", 2, r"'SessionID\\tTimePassed\\tQ"),
        ("1\t0\tQ\t100\tmoscow\t11\n", 1, r"integer fields in 'SessionID\\tTimePassed\\tQ"),
        (
            "1\t0\tQ\t100\t2\t11\n1\tsoon\tC\t11\n",
            2,
            r"integer fields in 'SessionID\\tTimePassed\\tC",
        ),
        (
            "1\t0\tQ\t100\t2\t11\n2\t3\tC\t11\n",
            2,
            r"a query line of session 2 before its first click",
        ),
    ],
)
def test_malformed_relpred_lines_name_file_line_and_expectation(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(LogFormatError, match=rf"line {line}: expected {expected}"):
        read_yandex_relpred(path)


def test_readers_give_frames_every_model_can_fit(tmp_path: Path) -> None:
    log = read_yandex_relpred(write(tmp_path, RELPRED, gz=True))
    model = SDBN().fit(log)
    np.testing.assert_allclose(
        model.click_probabilities(query="100", items=[11, 12, 13], n_impressions=1).shape, (1, 3)
    )
