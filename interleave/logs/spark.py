"""The same evaluation inside Apache Spark, for logs that outgrow one machine (extra ``spark``).

The work runs where the data is. For an interleaving log:

1. in Spark: duplicated impression ids keep their first row (file order), click rows are grouped
   per impression and joined to it, clicks on unknown impressions are counted (an anti-join);
2. per partition (``mapInArrow``): the polars engine's own per-partition step,
   :func:`~interleave.logs.interleaving.interleaving_statistics`, credits every impression with the
   method's vectorised ``credit_batch`` and sums outcomes per (user, period) and per query;
3. in Spark: those sums are added up per (user, period) and per query across partitions;
4. on the driver: only the merged sums arrive (one row per user and period, not per impression),
   and :class:`~interleave.logs.interleaving.InterleavingResult` runs the same tests as the polars
   engine.

An A/B log is summed with native Spark column expressions (per policy and period, per action for
the off-policy estimators, distinct users per policy), then judged by
:class:`~interleave.logs.ab.ABResult`.

Counts equal the polars engine's exactly; sums of fractional outcomes agree to rounding (Spark
adds partitions in another order), far below 1e-12 relative.

Examples
--------
Given a SparkSession ``spark``::

    from interleave.logs.spark import evaluate_spark
    result = evaluate_spark(spark.read.parquet("s3://bucket/interleaving/"))
    print(result)                      # the same table as `interleave evaluate`
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import polars as pl

from interleave.errors import InvalidArgument
from interleave.logs.ab import ABResult, ABStatistics
from interleave.logs.evaluate import LogEvaluation
from interleave.logs.interleaving import (
    _COUNTS,
    InterleavingResult,
    InterleavingStatistics,
    frames_or_empty,
    interleaving_statistics,
    merge_statistics,
)
from interleave.logs.periods import PERIOD
from interleave.logs.schema import check_columns, detect_kind

__all__ = ["evaluate_spark", "session", "spark_ab_statistics", "spark_interleaving_statistics"]

_SUM_COLUMNS = ("total", "sum_squares", "n_wins", "n_losses", "n_ties")
_META_COUNTS = (
    "n_clicks",
    "n_duplicate_clicks",
    "n_clicks_beyond_list",
    "n_clicked_impressions",
)
_ROW_ORDER = "__interleave_row"
_CLICK_LIST = "__interleave_clicks"


def _require_pyspark() -> Any:
    try:
        import pyspark.sql
    except ModuleNotFoundError as error:
        msg = "the Spark engine needs the `spark` extra: pip install 'interleave[spark]'"
        raise InvalidArgument(msg) from error
    return pyspark.sql


def session(master: str | None = "local[2]", *, app_name: str = "interleave") -> Any:
    """A SparkSession for ``master`` (``local[N]``, ``spark://host:port``, ``yarn``).

    ``None`` keeps the master that ``spark-submit`` (or spark-defaults.conf) configured, and
    falls back to ``local[2]`` where none is. Arrow transfers are on and the UI off; a local run
    binds to the loopback interface and uses few shuffle partitions.
    """
    sql = _require_pyspark()
    if master is None:
        from pyspark import SparkConf

        master = SparkConf().get("spark.master", "local[2]")
    if not isinstance(master, str) or not master:
        msg = f"`master` must be a Spark master URL such as 'local[2]', got {master!r}"
        raise InvalidArgument(msg)
    builder = (
        sql.SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if master.startswith("local"):
        # A local run stays on the loopback interface and sizes its shuffles for a small machine.
        builder = (
            builder.config("spark.sql.shuffle.partitions", "8")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
        )
    return builder.getOrCreate()


def read_log(spark: Any, path: Any) -> Any:
    """A log file or folder as a Spark DataFrame: Parquet, or NDJSON (``.ndjson``/``.jsonl``).

    Parquet may be one file or a folder of parts. CSV logs carry their lists as JSON text, which
    Spark does not parse back: convert them to Parquet first
    (``interleave.logs.scan_log(path).frame.sink_parquet(...)``).
    """
    name = str(path)
    lowered = name.lower().rstrip("/")
    if lowered.endswith((".ndjson", ".jsonl", ".json", ".ndjson.gz", ".jsonl.gz")):
        return spark.read.json(name)
    if lowered.endswith((".csv", ".csv.gz", ".tsv")):
        msg = (
            f"`path` {name!r} is a CSV log; the Spark engine reads Parquet or NDJSON (a CSV log "
            "holds its lists as JSON text): convert it, e.g. with "
            "interleave.logs.scan_log(path).frame.sink_parquet('log.parquet')"
        )
        raise InvalidArgument(msg)
    return spark.read.parquet(name)


def _schema_of(frame: Any) -> dict[str, pl.DataType]:
    """The polars dtypes a Spark frame's columns arrive as (for the shared schema check)."""
    import pyarrow as pa

    empty = frame.limit(0).toArrow() if hasattr(frame, "toArrow") else None
    if empty is None:  # pragma: no cover - Spark < 4
        empty = pa.Table.from_pandas(frame.limit(0).toPandas())
    return dict(pl.from_arrow(empty).schema)


def _check_frame(frame: Any, name: str) -> None:
    sql = _require_pyspark()
    if not isinstance(frame, sql.DataFrame):
        msg = f"`{name}` must be a Spark DataFrame, got {type(frame).__name__}"
        raise InvalidArgument(msg)


def _output_schema(frame: Any, unit: str) -> Any:
    from pyspark.sql import types as T

    fields = {f.name: f.dataType for f in frame.schema.fields}
    query_type = fields.get("query_id", T.StringType())
    return T.StructType(
        [
            T.StructField("table", T.StringType(), False),
            T.StructField("user_id", fields[unit], True),
            T.StructField("query_id", query_type, True),
            T.StructField("period", T.TimestampNTZType(), True),
            T.StructField("n_impressions", T.LongType(), True),
            *(T.StructField(c, T.DoubleType(), True) for c in _SUM_COLUMNS),
            T.StructField("credit_candidate", T.DoubleType(), True),
            T.StructField("credit_baseline", T.DoubleType(), True),
            *(T.StructField(c, T.LongType(), True) for c in _META_COUNTS),
            T.StructField("methods", T.StringType(), True),
        ]
    )


def _partition_step(candidate: int, baseline: int, every: str, arrow_schema: Any) -> Any:
    """The function ``mapInArrow`` runs on every partition (picklable: plain closure)."""

    def step(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        parts = []
        for batch in batches:
            frame = pl.from_arrow(pa.Table.from_batches([batch]))
            if frame.height == 0:
                continue
            click_rows = None
            if _CLICK_LIST in frame.columns:
                click_rows = (
                    frame.select("impression_id", pl.col(_CLICK_LIST).alias("position"))
                    .explode("position")
                    .drop_nulls("position")
                )
                frame = frame.drop(_CLICK_LIST)
            frame = frame.drop(_ROW_ORDER, strict=False)
            parts.append(
                interleaving_statistics(
                    frame, click_rows, candidate=candidate, baseline=baseline, every=every
                )
            )
        if not parts:
            return
        stats = merge_statistics(parts)
        columns = arrow_schema.names
        rows: list[dict[str, Any]] = []
        for record in stats.by_user_period.iter_rows(named=True):
            rows.append({"table": "user", **record})
        for record in stats.by_query.iter_rows(named=True):
            rows.append({"table": "query", **record})
        counts = stats.count
        rows.append(
            {
                "table": "meta",
                "credit_candidate": stats.credit[0],
                "credit_baseline": stats.credit[1],
                **{c: counts.get(c, 0) for c in _META_COUNTS},
                "methods": ",".join(stats.methods),
            }
        )
        table = pa.Table.from_pylist(
            [{c: row.get(c) for c in columns} for row in rows], schema=arrow_schema
        )
        yield from table.to_batches()

    return step


def spark_interleaving_statistics(
    exposures: Any,
    clicks: Any = None,
    *,
    candidate: int = 1,
    baseline: int = 0,
    every: str = "1d",
) -> InterleavingStatistics:
    """The sums of an interleaving log computed inside Spark; only the merged sums are collected.

    ``exposures`` and ``clicks`` are Spark DataFrames in the ``exposures`` and ``clicks`` layouts
    of :mod:`interleave.logs.schema`; the result equals the polars engine's on the same rows.
    """
    _check_frame(exposures, "exposures")
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_schema

    check_columns(_schema_of(exposures), "exposures", source="the Spark exposures")
    if clicks is not None:
        _check_frame(clicks, "clicks")
        check_columns(_schema_of(clicks), "clicks", source="the Spark clicks")
    unit = "user_id" if "user_id" in exposures.columns else "impression_id"

    # 1. First row per impression id, in file order (the polars engine keeps the first too).
    ordered = exposures.withColumn(_ROW_ORDER, F.monotonically_increasing_id())
    totals = ordered.agg(
        F.count(F.lit(1)).alias("n"), F.countDistinct("impression_id").alias("unique")
    ).first()
    n_rows, n_unique = int(totals["n"]), int(totals["unique"])
    if n_rows == 0:
        msg = "the Spark exposures hold no impressions"
        raise InvalidArgument(msg)
    if n_unique < n_rows:
        first = Window.partitionBy("impression_id").orderBy(_ROW_ORDER)
        ordered = (
            ordered.withColumn("__interleave_rank", F.row_number().over(first))
            .filter(F.col("__interleave_rank") == 1)
            .drop("__interleave_rank")
        )
    n_unknown = 0
    if clicks is not None:
        click_rows = clicks.select("impression_id", F.col("position").cast("long"))
        ids = ordered.select("impression_id")
        n_unknown = click_rows.join(ids, on="impression_id", how="left_anti").count()
        grouped = click_rows.groupBy("impression_id").agg(
            F.collect_list("position").alias(_CLICK_LIST)
        )
        ordered = ordered.join(grouped, on="impression_id", how="left")

    # 2. Per partition: the polars engine's own step.
    spark_schema = _output_schema(exposures, unit)
    step = _partition_step(candidate, baseline, every, to_arrow_schema(spark_schema))
    partial = ordered.mapInArrow(step, spark_schema)

    # 3. Added up in Spark; 4. only the merged sums come to the driver.
    sums = [F.sum("n_impressions").alias("n_impressions")] + [
        F.sum(c).alias(c) for c in _SUM_COLUMNS
    ]
    partial = partial.cache()
    try:
        by_user = partial.filter(F.col("table") == "user").groupBy("user_id", "period").agg(*sums)
        by_query = partial.filter(F.col("table") == "query").groupBy("query_id").agg(*sums)
        meta_rows = (
            partial.filter(F.col("table") == "meta")
            .select("credit_candidate", "credit_baseline", *_META_COUNTS, "methods")
            .collect()
        )
        by_user_frame = _to_polars(by_user)
        by_query_frame = _to_polars(by_query) if "query_id" in exposures.columns else None
    finally:
        partial.unpersist()

    counts = dict.fromkeys(_COUNTS, 0)
    for row in meta_rows:
        for c in _META_COUNTS:
            counts[c] += int(row[c] or 0)
    counts.update(
        n_rows=n_rows, n_duplicate_impressions=n_rows - n_unique, n_unknown_clicks=n_unknown
    )
    credit = (
        float(sum(row["credit_candidate"] or 0.0 for row in meta_rows)),
        float(sum(row["credit_baseline"] or 0.0 for row in meta_rows)),
    )
    methods = sorted({m for row in meta_rows for m in (row["methods"] or "").split(",") if m})
    group = {"n_impressions": pl.Int64, **dict.fromkeys(_SUM_COLUMNS, pl.Float64)}
    by_user_frame = by_user_frame.with_columns(pl.col("period").cast(PERIOD)).cast(group)
    if by_query_frame is None:
        by_query_frame = frames_or_empty(["query_id"])
    else:
        by_query_frame = by_query_frame.cast(group)
    return InterleavingStatistics(
        by_user_period=by_user_frame,
        by_query=by_query_frame,
        credit=credit,
        counts=tuple((name, counts[name]) for name in _COUNTS),
        methods=tuple(methods),
        users_are_impressions=unit == "impression_id",
    )


def _to_polars(frame: Any) -> pl.DataFrame:
    return pl.from_arrow(frame.toArrow())


def spark_ab_statistics(log: Any, *, every: str = "1d") -> ABStatistics:
    """The sums of an A/B log with native Spark expressions (same as the polars engine's)."""
    _check_frame(log, "log")
    from pyspark.sql import functions as F

    schema = _schema_of(log)
    check_columns(schema, "ab", source="the Spark A/B log")
    click = F.col("click").cast("long")
    bad = log.filter(F.col("click").isNull() | ~click.isin(0, 1)).count()
    if bad:
        msg = f"`click` must be 0/1 (or Boolean) and never null, but {bad} rows are not"
        raise InvalidArgument(msg)
    frame = log.withColumn("policy", F.col("policy").cast("string")).withColumn("click", click)
    frame = frame.withColumn("period", _spark_period(frame, schema, every))
    by_period = frame.groupBy("policy", "period").agg(
        F.count(F.lit(1)).alias("n_shown"), F.sum("click").alias("n_clicks")
    )
    invalid = 0
    if {"propensity", "item_id", "position"} <= set(log.columns):
        p = F.col("propensity").cast("double")
        valid = p.isNotNull() & (p > 0) & (p <= 1)
        invalid = frame.filter(~valid).count()
        w = 1.0 / p
        by_action = _to_polars(
            frame.filter(valid)
            .withColumn("item_id", F.col("item_id").cast("string"))
            .withColumn("position", F.col("position").cast("long"))
            .groupBy("policy", "item_id", "position")
            .agg(
                F.count(F.lit(1)).alias("n_shown"),
                F.sum("click").alias("n_clicks"),
                F.sum(w).alias("sum_inverse_propensity"),
                F.sum(w * F.col("click")).alias("sum_click_inverse_propensity"),
                F.sum(w * w).alias("sum_inverse_propensity_squared"),
                F.sum(w * w * F.col("click")).alias("sum_click_inverse_propensity_squared"),
            )
        ).sort("policy", "item_id", "position")
    else:
        by_action = pl.DataFrame(
            schema={
                "policy": pl.String,
                "item_id": pl.String,
                "position": pl.Int64,
                "n_shown": pl.Int64,
                "n_clicks": pl.Int64,
                "sum_inverse_propensity": pl.Float64,
                "sum_click_inverse_propensity": pl.Float64,
                "sum_inverse_propensity_squared": pl.Float64,
                "sum_click_inverse_propensity_squared": pl.Float64,
            }
        )
    if "user_id" in log.columns:
        users = _to_polars(
            frame.groupBy("policy").agg(F.countDistinct("user_id").alias("n_users"))
        ).sort("policy")
    else:
        users = pl.DataFrame(schema={"policy": pl.String, "n_users": pl.Int64})
    periods = _to_polars(by_period).with_columns(pl.col("period").cast(PERIOD))
    return ABStatistics(
        periods.cast({"n_shown": pl.Int64, "n_clicks": pl.Int64}).sort(
            "policy", "period", nulls_last=True
        ),
        by_action.cast({"n_shown": pl.Int64, "n_clicks": pl.Int64}),
        users.cast({"n_users": pl.Int64}),
        int(invalid),
    )


def _spark_period(frame: Any, schema: dict[str, pl.DataType], every: str) -> Any:
    """The polars engine's ``period`` (timestamp truncated to ``every``), as a Spark column."""
    from pyspark.sql import functions as F

    from interleave.logs.periods import period_of

    period_of(pl.DataFrame(schema={"timestamp": pl.Float64}), every)  # validates `every`
    if "timestamp" not in schema:
        return F.lit(None).cast("timestamp_ntz")
    seconds = _every_seconds(every)
    dtype = schema["timestamp"]
    if dtype.is_numeric():
        stamp = F.col("timestamp").cast("double")
    else:
        stamp = F.unix_micros(F.col("timestamp").cast("timestamp")) / 1e6
    truncated = F.floor(stamp / seconds) * seconds
    return F.timestamp_micros((truncated * 1_000_000).cast("long")).cast("timestamp_ntz")


def _every_seconds(every: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    number, unit = every[:-1], every[-1]
    if not number.isdigit() or unit not in units:
        msg = (
            f"`every` must be a whole number of s, m, h, d or w (e.g. '1h', '1d') for the Spark "
            f"engine, got {every!r}"
        )
        raise InvalidArgument(msg)
    return int(number) * units[unit]


def evaluate_spark(
    *logs: Any,
    kind: str | None = None,
    unit: str = "user",
    every: str = "1d",
    candidate: Any = None,
    baseline: Any = None,
    alpha: float = 0.05,
    n_opt: float | None = None,
) -> LogEvaluation:
    """:func:`~interleave.logs.evaluate` on Spark DataFrames: the same answer, computed in Spark.

    ``logs``: one interleaving log (exposures) with optional click rows as a second frame, or
    one A/B log. ``kind`` as in :func:`~interleave.logs.evaluate` (default: detected from the
    columns).
    """
    if not logs:
        msg = "`logs` is empty: pass the Spark DataFrame(s) to evaluate"
        raise InvalidArgument(msg)
    started = time.perf_counter()
    kinds = []
    for i, frame in enumerate(logs):
        _check_frame(frame, f"logs[{i}]")
        kinds.append(kind or detect_kind(_schema_of(frame), source=f"Spark frame {i}"))
    if kinds.count("exposures") == 1 and set(kinds) <= {"exposures", "clicks"}:
        exposures = logs[kinds.index("exposures")]
        click_frames = [f for f, k in zip(logs, kinds, strict=True) if k == "clicks"]
        clicks = None
        for frame in click_frames:
            clicks = frame if clicks is None else clicks.unionByName(frame)
        stats = spark_interleaving_statistics(
            exposures,
            clicks,
            candidate=1 if candidate is None else candidate,
            baseline=0 if baseline is None else baseline,
            every=every,
        )
        result = InterleavingResult(
            stats, unit=unit, alpha=alpha, n_opt=1000.0 if n_opt is None else n_opt
        )
        return LogEvaluation(
            "interleaving", ("<spark>",), result, seconds=time.perf_counter() - started
        )
    if kinds == ["ab"]:
        stats = spark_ab_statistics(logs[0], every=every)
        result = ABResult(
            stats,
            baseline=None if baseline is None else str(baseline),
            candidate=None if candidate is None else str(candidate),
            alpha=alpha,
            n_opt=10_000.0 if n_opt is None else n_opt,
        )
        return LogEvaluation("ab", ("<spark>",), result, seconds=time.perf_counter() - started)
    msg = (
        f"the Spark engine evaluates one interleaving log (with optional click frames) or one "
        f"A/B log; got frames of kinds {kinds}"
    )
    raise InvalidArgument(msg)
