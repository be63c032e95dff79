"""The Spark engine against the polars engine on the same 10^7 impressions, and its scaling.

Issue 10's benchmark: the log of ``evaluate_speed`` (10,000,000 synthetic team-draft impressions,
Parquet, 10 positions, 10^6 users over 7 days; ``--quick``: 10^6) evaluated

- by the polars engine (``interleave.logs.evaluate``), and
- by the Spark engine (``interleave.logs.spark.evaluate_spark``) on ``local[2]``, with the log
  read as 1, 2, 4 and 8 partitions.

Each row gives the wall time and how many rows reached the driver: the merged per-(user, period)
sums, never the impressions, which shows the work is done in the executors rather than gathered.
Both engines' per-user p-values are printed side by side (they must agree). On a 2-core machine
``local[2]`` cannot beat polars, which already uses both cores; the scaling rows show the work
spreads over partitions. Run: ``python -m benchmarks spark_speed``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.evaluate_speed import write_log


def run(quick: bool = False) -> list[dict[str, Any]]:
    try:
        from interleave.logs.spark import evaluate_spark, session
    except ImportError as error:  # pragma: no cover - depends on the install
        return [{"case": "skipped", "why": f"the spark extra is not installed: {error}"}]
    from interleave.logs import evaluate

    n = 1_000_000 if quick else 10_000_000
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = write_log(Path(tmp) / "log.parquet", n)
        started = time.perf_counter()
        polars_result = evaluate(path)
        rows.append(
            {
                "case": f"polars engine, {n:,} impressions",
                "seconds": time.perf_counter() - started,
                "rows_to_driver": "-",
                "pvalue_per_user": float(polars_result.summary["pvalue"][0]),
            }
        )
        spark = session("local[2]", app_name="interleave-benchmark")
        try:
            spark.sparkContext.setLogLevel("ERROR")
            for partitions in (1, 2, 4, 8):
                frame = spark.read.parquet(str(path)).repartition(partitions)
                frame.cache().count()  # read once, so each row times the evaluation alone
                started = time.perf_counter()
                result = evaluate_spark(frame)
                seconds = time.perf_counter() - started
                frame.unpersist()
                stats = result.result.statistics
                rows.append(
                    {
                        "case": f"spark local[2], {partitions} partition(s)",
                        "seconds": seconds,
                        "rows_to_driver": stats.by_user_period.height + stats.by_query.height,
                        "pvalue_per_user": float(result.summary["pvalue"][0]),
                    }
                )
        finally:
            spark.stop()
    return rows
