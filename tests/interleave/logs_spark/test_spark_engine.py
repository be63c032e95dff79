"""The Spark engine gives the polars engine's answer: exactly for counts, to 1e-12 otherwise.

Logs are made by the real methods (every interleaver, per-impression rankings), with late clicks
as separate rows, duplicated clicks and impressions, clicks on unknown impressions and beyond the
shown list, and users spread over several Spark partitions.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from interleave import Balanced, Optimized, Probabilistic, TeamDraft
from interleave.logs import evaluate
from tests.interleave.logs._logs import click_rows, lean_frame, make_records

METHODS = {
    "team_draft": TeamDraft(length=5),
    "team_draft_mpkato": TeamDraft(length=5, common_prefix=False),
    "balanced": Balanced(length=5),
    "probabilistic": Probabilistic(length=5),
    "optimized": Optimized(length=5, relax=True),
}


def _messy_log(method, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    records = make_records(method, 300, seed=seed)
    rng = np.random.default_rng(seed)
    exposures = lean_frame(
        records,
        users=[f"u{int(u)}" for u in rng.integers(0, 37, len(records))],
        with_clicks=False,
        timestamps=np.sort(rng.uniform(0, 5 * 86_400, len(records))),
    )
    clicks = click_rows(records)
    extra = pl.DataFrame(
        {
            # a duplicated click, a click on an unknown impression, a click beyond the list
            "impression_id": [int(clicks["impression_id"][0]), 10_000, 3],
            "position": [int(clicks["position"][0]), 0, 40],
        }
    )
    clicks = pl.concat([clicks, extra]).sample(fraction=1.0, shuffle=True, seed=seed)
    duplicated = pl.concat([exposures, exposures.slice(10, 5)])  # the same impressions again
    return duplicated, clicks


def _spark_frames(spark, exposures, clicks, partitions=4):
    import pyspark.sql.functions as F

    sx = spark.createDataFrame(exposures.to_arrow()).repartition(partitions, F.rand(seed=1))
    sc = spark.createDataFrame(clicks.to_arrow()).repartition(3)
    return sx, sc


def _assert_same(polars_result, spark_result):
    a, b = polars_result.result, spark_result.result
    assert a.statistics.count == b.statistics.count
    assert a.statistics.methods == b.statistics.methods
    np.testing.assert_allclose(a.statistics.credit, b.statistics.credit, rtol=1e-12)
    keys = ["user_id", "period"]
    left = a.statistics.by_user_period.sort(keys)
    right = b.statistics.by_user_period.select(left.columns).sort(keys)
    assert left["n_impressions"].to_list() == right["n_impressions"].to_list()
    assert left.select(keys).equals(right.select(keys))
    for column in ("total", "sum_squares", "n_wins", "n_losses", "n_ties"):
        np.testing.assert_allclose(left[column], right[column], rtol=1e-12, atol=1e-12)
    summary_a, summary_b = polars_result.summary, spark_result.summary
    assert summary_a["quantity"].to_list() == summary_b["quantity"].to_list()
    for column in ("estimate", "low", "high", "pvalue"):
        np.testing.assert_allclose(
            summary_a[column].to_numpy().astype(float),
            summary_b[column].to_numpy().astype(float),
            rtol=1e-12,
            atol=1e-12,
        )


@pytest.mark.parametrize("name", sorted(METHODS))
def test_spark_equals_polars_for_every_method(spark, name):
    from interleave.logs.spark import evaluate_spark

    exposures, clicks = _messy_log(METHODS[name], seed=len(name))
    expected = evaluate(exposures, clicks)
    got = evaluate_spark(*_spark_frames(spark, exposures, clicks))
    assert got.result.statistics.count["n_duplicate_impressions"] == 5
    assert got.result.statistics.count["n_unknown_clicks"] == 1
    _assert_same(expected, got)


def test_partitioning_does_not_change_the_answer(spark):
    from interleave.logs.spark import evaluate_spark

    exposures, clicks = _messy_log(TeamDraft(length=5), seed=3)
    one = evaluate_spark(*_spark_frames(spark, exposures, clicks, partitions=1))
    eight = evaluate_spark(*_spark_frames(spark, exposures, clicks, partitions=8))
    _assert_same(one, eight)


def test_ab_log_equals_polars(spark, shared_data):
    from interleave.logs import read_open_bandit
    from interleave.logs.spark import evaluate_spark

    root = shared_data / "open_bandit_dataset_small"
    frames = [
        read_open_bandit(root / p / "all" / "all.csv.gz").collect() for p in ("random", "bts")
    ]
    log = pl.concat(frames, how="diagonal_relaxed")
    expected = evaluate(log)
    got = evaluate_spark(spark.createDataFrame(log.to_arrow()).repartition(4))
    a, b = expected.summary, got.summary
    assert a["quantity"].to_list() == b["quantity"].to_list()
    for column in ("estimate", "low", "high", "pvalue"):
        np.testing.assert_allclose(
            a[column].to_numpy().astype(float),
            b[column].to_numpy().astype(float),
            rtol=1e-9,
            atol=1e-12,
        )


def test_bad_input_names_the_argument(spark):
    from interleave import InvalidArgument
    from interleave.logs.spark import evaluate_spark

    with pytest.raises(InvalidArgument, match="logs"):
        evaluate_spark()
    with pytest.raises(InvalidArgument, match=r"logs\[0\]"):
        evaluate_spark(pl.DataFrame({"a": [1]}))
    frame = spark.createDataFrame(pl.DataFrame({"impression_id": [1]}).to_arrow())
    with pytest.raises(InvalidArgument, match="columns found"):
        evaluate_spark(frame, kind="exposures")


def test_the_command_gives_the_same_answer_on_spark(spark, tmp_path, capsys):
    import json

    from interleave.cli import main

    exposures, clicks = _messy_log(TeamDraft(length=5), seed=5)
    exposures.write_parquet(tmp_path / "exposures.parquet")
    clicks.write_ndjson(tmp_path / "clicks.ndjson")
    paths = [str(tmp_path / "exposures.parquet"), str(tmp_path / "clicks.ndjson")]
    assert main(["evaluate", *paths, "--json"]) == 0
    here = json.loads(capsys.readouterr().out)
    assert main(["evaluate", *paths, "--json", "--engine", "spark"]) == 0
    there = json.loads(capsys.readouterr().out)
    assert here["kind"] == there["kind"] == "interleaving"
    for a, b in zip(here["summary"], there["summary"], strict=True):
        assert a["quantity"] == b["quantity"]
        assert a["n"] == b["n"]
        for column in ("estimate", "low", "high", "pvalue"):
            assert a[column] == pytest.approx(b[column], rel=1e-12, abs=1e-12)


def test_the_command_refuses_csv_on_spark(spark, tmp_path, capsys):
    from interleave.cli import main

    path = tmp_path / "log.csv"
    path.write_text("impression_id,method\n1,team_draft\n")
    assert main(["evaluate", str(path), "--engine", "spark"]) == 2
    assert "Parquet or NDJSON" in capsys.readouterr().err
