"""Click logs in, a defensible answer out: which of two rankers (or policies) wins.

- :func:`evaluate`: log files (Parquet, CSV, NDJSON) or polars frames -> :class:`LogEvaluation`
  (per-user, per-query, per-impression and always-valid results; polars frames inside);
  ``interleave evaluate`` on the command line (:mod:`interleave.logs.command`).
- :mod:`~interleave.logs.schema`: THE exposure/click schema, defined once; every reader checks it.
- :func:`scan_log`: read a file lazily, detect its kind, validate its columns.
- :func:`predict`: a production log and two rankers' outputs -> the predicted online
  interleaving outcome (fitted PBM, simulated team-draft, IPS counterfactual clicks).
- The per-partition steps, pure functions of a polars frame to mergeable sufficient statistics:
  :func:`interleaving_statistics` and :func:`ab_statistics` (partitions evaluated apart and
  merged equal the whole; what the distributed engine runs).
"""

from interleave.logs.ab import ABResult, ABStatistics, OffPolicyEstimate, ab_statistics
from interleave.logs.evaluate import LogEvaluation, evaluate
from interleave.logs.interleaving import (
    InterleavingResult,
    InterleavingStatistics,
    interleaving_statistics,
    merge_statistics,
    method_named,
)
from interleave.logs.production import ProductionPrediction, predict, to_sessions
from interleave.logs.readers import LogFileError, LogSource, read_open_bandit, scan_log
from interleave.logs.sample import sample_log_path
from interleave.logs.schema import SCHEMAS, check_columns, describe_schema, detect_kind

__all__ = [
    "SCHEMAS",
    "ABResult",
    "ABStatistics",
    "InterleavingResult",
    "InterleavingStatistics",
    "LogEvaluation",
    "LogFileError",
    "LogSource",
    "OffPolicyEstimate",
    "ProductionPrediction",
    "ab_statistics",
    "check_columns",
    "describe_schema",
    "detect_kind",
    "evaluate",
    "interleaving_statistics",
    "merge_statistics",
    "method_named",
    "predict",
    "read_open_bandit",
    "sample_log_path",
    "scan_log",
    "to_sessions",
]
