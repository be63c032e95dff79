"""One schema, many files: every reader validates against it and names what is wrong."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from interleave import TeamDraft
from interleave.errors import InvalidArgument
from interleave.logs import (
    LogFileError,
    check_columns,
    describe_schema,
    detect_kind,
    evaluate,
    scan_log,
)
from interleave.logs.schema import SCHEMAS

from ._logs import click_rows, lean_frame, make_records


def test_check_names_every_missing_and_mistyped_column_and_shows_those_found():
    schema = {"impression_id": pl.Int64, "items": pl.String, "teams": pl.List(pl.Float64)}
    with pytest.raises(InvalidArgument) as error:
        check_columns(schema, "exposures", source="log.csv")
    message = str(error.value)
    assert "log.csv does not follow the 'exposures' schema" in message
    assert "missing column `method`" in message
    assert "column `items` must be List of int or String, got String" in message
    assert "column `teams` must be List of int, got List(Float64)" in message
    assert "columns found: impression_id (Int64), items (String), teams (List(Float64))" in message


def test_optional_columns_are_checked_when_present_and_can_be_required():
    with pytest.raises(InvalidArgument, match="`timestamp` must be"):
        check_columns(
            {"impression_id": pl.Int64, "position": pl.Int64, "timestamp": pl.Boolean}, "clicks"
        )
    with pytest.raises(InvalidArgument, match="missing column `propensity`"):
        check_columns({"policy": pl.String, "click": pl.Int64}, "ab", also_required=("propensity",))


@pytest.mark.parametrize(
    ("columns", "kind"),
    [
        ({"impression_id", "teams", "items", "method"}, "exposures"),
        ({"record", "impression_id"}, "exposures"),
        ({"policy", "click"}, "ab"),
        ({"ranker", "query_id", "item_id", "score"}, "rankings"),
        ({"impression_id", "position"}, "clicks"),
        ({"query_id", "items", "clicks"}, "production"),
    ],
)
def test_the_kind_is_read_from_the_columns(columns, kind):
    assert detect_kind(dict.fromkeys(columns, pl.Int64)) == kind


def test_an_unknown_layout_says_what_each_kind_needs():
    with pytest.raises(InvalidArgument, match="an A/B log has `policy`"):
        detect_kind({"a": pl.Int64})


def test_every_kind_documents_its_columns():
    for kind in SCHEMAS:
        table = describe_schema(kind)
        assert table.count("\n") == len(SCHEMAS[kind]) + 1


@pytest.fixture
def records():
    return make_records(TeamDraft(length=5), 30, seed=11)


def _as_csv(frame: pl.DataFrame) -> pl.DataFrame:
    lists = [c for c, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    return frame.with_columns(
        pl.Series(c, [json.dumps(v) for v in frame[c].to_list()], dtype=pl.String) for c in lists
    )


@pytest.mark.parametrize("form", ["parquet", "csv", "csv.gz", "ndjson"])
def test_every_format_gives_the_same_answer(tmp_path, records, form):
    frame = lean_frame(records, with_ranks=False)
    path = tmp_path / f"log.{form}"
    if form == "parquet":
        frame.write_parquet(path)
    elif form == "csv":
        _as_csv(frame).write_csv(path)
    elif form == "csv.gz":
        path.write_bytes(gzip.compress(_as_csv(frame).write_csv().encode()))
    else:
        frame.write_ndjson(path)
    source = scan_log(path)
    assert source.kind == "exposures"
    expected = evaluate(frame).summary
    assert_frame_equal(evaluate(path).summary, expected)


def test_json_records_of_interleaving_to_dict_are_read(tmp_path, records):
    lines = [
        json.dumps(
            {
                "impression_id": i,
                "user_id": f"u{i % 7}",
                "query_id": f"q{i % 5}",
                "clicks": clicks,
                "record": json.dumps(record.to_dict()),
            }
        )
        for i, (record, clicks) in enumerate(records)
    ]
    path = tmp_path / "records.ndjson"
    path.write_text("\n".join(lines) + "\n")
    lean = lean_frame(records, with_ranks=False)
    assert_frame_equal(evaluate(path).summary, evaluate(lean).summary)


def test_records_written_as_ndjson_objects_are_read(tmp_path, records):
    rows = [
        {**record.to_dict(), "impression_id": i, "user_id": f"u{i % 7}", "clicks": clicks}
        for i, (record, clicks) in enumerate(records)
    ]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = evaluate(path)
    lean = lean_frame(records, with_ranks=False).drop("query_id")
    assert result.result.n_wins == evaluate(lean).result.n_wins


def test_click_rows_in_their_own_file_are_joined(tmp_path, records):
    exposures = lean_frame(records, with_ranks=False, with_clicks=False)
    exposures.write_parquet(tmp_path / "exposures.parquet")
    click_rows(records).write_csv(tmp_path / "clicks.csv")
    joined = evaluate(tmp_path / "exposures.parquet", tmp_path / "clicks.csv")
    inline = evaluate(lean_frame(records, with_ranks=False))
    assert_frame_equal(joined.summary, inline.summary)


def test_unknown_clicks_across_files_are_counted(tmp_path, records):
    lean_frame(records, with_ranks=False, with_clicks=False).write_parquet(tmp_path / "e.parquet")
    rows = pl.concat(
        [click_rows(records), pl.DataFrame({"impression_id": [999, 998], "position": [0, 1]})]
    )
    rows.write_parquet(tmp_path / "c.parquet")
    result = evaluate(tmp_path / "e.parquet", tmp_path / "c.parquet", batch_size=7)
    assert result.result.statistics.count["n_unknown_clicks"] == 2
    assert "unknown clicks: 2" in str(result)


def test_duplicates_in_different_batches_are_found(tmp_path, records):
    frame = lean_frame(records, with_ranks=False)
    doubled = pl.concat([frame, frame.head(4)])
    result = evaluate(doubled, batch_size=5)
    assert result.result.statistics.count["n_duplicate_impressions"] == 4
    assert result.result.statistics.n_impressions == 30
    assert_frame_equal(result.summary, evaluate(frame).summary)


def test_batches_give_the_same_answer_as_one_pass(records):
    frame = lean_frame(records, with_ranks=False, timestamps=[3600.0 * i for i in range(30)])
    one = evaluate(frame, batch_size=1000)
    many = evaluate(frame, batch_size=4)
    assert one.summary["pvalue"].to_list() == pytest.approx(many.summary["pvalue"].to_list())
    assert_frame_equal(one.over_time, many.over_time, check_exact=False)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty.csv", b"", "empty"),
        ("header_only.csv", b"impression_id,position\n", "does not follow the 'clicks'"),
        ("corrupt.parquet", b"PAR1 this is not parquet", "cannot read"),
        ("log.xlsx", b"whatever", "unknown file type"),
        ("bad.ndjson", b'{"a": 1}\n{not json\n', "cannot read|cannot tell"),
    ],
)
def test_bad_files_raise_errors_that_name_the_file(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidArgument, match=match) as error:
        evaluate(path)
    if isinstance(error.value, LogFileError):
        assert error.value.path == str(path)


def test_a_log_with_columns_but_no_rows_says_so(tmp_path):
    lean_frame(make_records(TeamDraft(length=5), 2), with_ranks=False).head(0).write_parquet(
        tmp_path / "empty.parquet"
    )
    with pytest.raises(InvalidArgument, match="header but no impressions"):
        evaluate(tmp_path / "empty.parquet")


def test_a_click_file_alone_is_nothing_to_evaluate(tmp_path, records):
    click_rows(records).write_parquet(tmp_path / "clicks.parquet")
    with pytest.raises(InvalidArgument, match="nothing to evaluate"):
        evaluate(tmp_path / "clicks.parquet")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(LogFileError, match="no such file"):
        scan_log(tmp_path / "nowhere.parquet")


def test_the_embedded_sample_is_evaluated_with_no_path():
    result = evaluate()
    assert result.kind == "interleaving"
    assert result.result.statistics.n_impressions == 20_000
    assert result.result.per_user.height == 40
    # The sample's candidate ranker is truly better (datasets/README.md): the log says so.
    assert result.result.paired_test().mean > 0
    assert result.result.sequential_pvalue < 0.05


def test_click_rows_with_another_id_type_are_a_named_error(records):
    exposures = lean_frame(records, with_ranks=False, with_clicks=False)
    rows = click_rows(records).with_columns(pl.col("impression_id").cast(pl.String))
    with pytest.raises(InvalidArgument, match="one id type"):
        evaluate(exposures, rows)


def test_records_from_a_newer_schema_version_are_refused(tmp_path, records):
    record, clicks = records[0]
    data = {**record.to_dict(), "schema_version": 99}
    line = json.dumps({"impression_id": 1, "clicks": clicks, "record": json.dumps(data)})
    path = tmp_path / "future.ndjson"
    path.write_text(line + "\n")
    with pytest.raises(InvalidArgument, match=r"`schema_version` \[99\]"):
        evaluate(path)
