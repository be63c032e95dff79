"""``interleave evaluate [PATH ...]``: which of two rankers wins on click logs.

Thin: it parses arguments, calls :func:`interleave.logs.evaluate` and prints. With no path it
evaluates the embedded sample log. Output files (``--json FILE``, ``--plot FILE.png``) are written
to a temporary file in the same folder and renamed into place, so an interrupted run never leaves a
half-written file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from interleave.errors import InvalidArgument
from interleave.logs.evaluate import LogEvaluation, evaluate
from interleave.logs.sample import SAMPLES, sample_log_path

__all__ = ["configure", "run"]

_PROGRESS_AFTER = 2.0  # seconds: quick files print no progress at all


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``interleave evaluate``."""
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="log files (.parquet, .csv[.gz], .ndjson): an interleaving log and optional click "
        "rows, an A/B log of two policies, or a production log and the two rankers' outputs "
        "(a prediction); the kind is read from the columns. None: the embedded sample log",
    )
    parser.add_argument(
        "--sample",
        choices=tuple(SAMPLES),
        default="interleaving",
        help="with no PATH, which embedded log to evaluate: the synthetic interleaving log "
        "(default) or the Open Bandit Dataset's A/B log of two policies",
    )
    parser.add_argument(
        "--kind",
        choices=("interleaving", "clicks", "ab", "production", "rankings"),
        help="force the layout of every file instead of detecting it from the columns",
    )
    parser.add_argument(
        "--unit",
        choices=("user", "query"),
        default="user",
        help="unit of the interleaving paired test (default: user)",
    )
    parser.add_argument(
        "--every",
        default="1d",
        metavar="DURATION",
        help="period of the curve over time, a polars duration such as 1h or 1d (default: 1d)",
    )
    parser.add_argument(
        "--candidate",
        metavar="WHO",
        help="interleaving: index of the candidate ranker (default 1); A/B: its policy name",
    )
    parser.add_argument(
        "--baseline",
        metavar="WHO",
        help="interleaving: index of the production ranker (default 0); A/B: its policy name",
    )
    parser.add_argument("--alpha", type=float, default=0.05, help="error rate (default: 0.05)")
    parser.add_argument(
        "--engine",
        choices=("polars", "spark"),
        default="polars",
        help="where the work runs: polars on this machine (default) or Apache Spark (extra "
        "`spark`; Parquet or NDJSON logs)",
    )
    parser.add_argument(
        "--master",
        default=None,
        help="Spark master with --engine spark: local[N], spark://host:port or yarn (default: "
        "the one spark-submit configured, else local[2])",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="print the result as JSON (to FILE if given) instead of the table",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw the preference (or CTR) curve over time to a PNG (needs interleave[plot])",
    )


def _progress_printer(stream: Any = None) -> Callable[[int, int], None]:
    stream = sys.stderr if stream is None else stream
    started = time.perf_counter()

    def show(done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        if elapsed < _PROGRESS_AFTER:
            return
        width = 30
        filled = int(width * done / max(total, 1))
        end = "\n" if done >= total or not stream.isatty() else ""
        stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} impressions "
            f"{elapsed:.1f} s{end}"
        )
        stream.flush()

    return show


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)`` then rename it to ``path``: all of the file or none."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path()
    if not folder.is_dir():
        msg = f"cannot write {str(target)!r}: the folder {str(folder)!r} does not exist"
        raise InvalidArgument(msg)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix, dir=folder
    )
    os.close(handle)
    try:
        write(Path(temporary))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give it a normal mode
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def plot(evaluation: LogEvaluation, path: str | os.PathLike[str]) -> None:
    """Draw the curve over time of ``evaluation`` to a PNG at ``path``."""
    if not str(path).lower().endswith(".png"):
        msg = f"`--plot` must name a .png file, got {str(path)!r}"
        raise InvalidArgument(msg)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        msg = "--plot needs matplotlib: pip install 'interleave[plot]'"
        raise InvalidArgument(msg) from None
    curve = evaluation.over_time
    figure, axes = plt.subplots(figsize=(7, 4), dpi=120)
    if evaluation.kind == "production":
        ranks = curve["rank"].to_list()
        axes.plot(ranks, curve["observed"].to_list(), marker="o", label="observed in the log")
        axes.plot(ranks, curve["predicted"].to_list(), marker="x", label="fitted PBM")
        axes.set_xlabel("rank")
        axes.set_ylabel("click rate")
        axes.set_title("Production log: click rate by rank, observed and fitted")
        axes.legend()
        figure.tight_layout()
        _save(figure, path, plt)
        return
    x = curve["period"].to_list()
    if any(v is None for v in x):
        x = list(range(1, curve.height + 1))
        axes.set_xlabel("look")
    else:
        axes.set_xlabel("period")
        figure.autofmt_xdate()
    result = evaluation.result
    if evaluation.kind == "interleaving":
        axes.fill_between(
            x,
            curve["low"].to_list(),
            curve["high"].to_list(),
            alpha=0.25,
            label=f"{100 * (1 - result.alpha):g}% confidence sequence",
        )
        axes.plot(
            x, curve["mean_preference"].to_list(), marker="o", label="cumulative mean preference"
        )
        axes.axhline(0.0, color="black", linewidth=0.8)
        axes.set_ylabel("preference for the candidate")
        axes.set_title("Interleaving: candidate vs production over time")
    else:
        axes.plot(x, curve["ctr_baseline"].to_list(), marker="o", label=str(result.baseline))
        axes.plot(x, curve["ctr_candidate"].to_list(), marker="o", label=str(result.candidate))
        axes.set_ylabel("cumulative CTR")
        axes.set_title("A/B: click-through rate over time")
    axes.legend()
    figure.tight_layout()
    _save(figure, path, plt)


def _save(figure: Any, path: str | os.PathLike[str], plt: Any) -> None:
    def save(temporary: Path) -> None:
        figure.savefig(temporary, format="png")

    try:
        write_atomically(path, save)
    finally:
        plt.close(figure)


def _who(value: str | None, kind: str | None) -> Any:
    if value is None or kind == "ab":
        return value
    try:
        return int(value)
    except ValueError:
        return value  # an A/B policy name, checked once the kind is known


def run(args: argparse.Namespace) -> int:
    """Run ``interleave evaluate``; exit code 0 (bad input raises, the command prints it)."""
    kind = {"interleaving": "exposures"}.get(args.kind, args.kind)
    paths = args.paths or [sample_log_path(args.sample)]
    if args.engine == "spark":
        evaluation = _evaluate_on_spark(args, paths, kind)
    else:
        evaluation = evaluate(
            *paths,
            kind=kind,
            unit=args.unit,
            every=args.every,
            candidate=_who(args.candidate, args.kind),
            baseline=_who(args.baseline, args.kind),
            alpha=args.alpha,
            progress=_progress_printer(),
        )
    if args.plot:
        plot(evaluation, args.plot)
    if args.json is None:
        print(evaluation)
        if args.plot:
            print(f"plot: {args.plot}")
    elif args.json == "-":
        print(evaluation.to_json())
    else:
        text = evaluation.to_json()
        write_atomically(args.json, lambda temporary: temporary.write_text(text + "\n"))
        print(f"wrote {args.json}")
    return 0


def _evaluate_on_spark(args: argparse.Namespace, paths: list[Any], kind: str | None) -> Any:
    """The same evaluation inside Spark: the files are read by Spark, never by this process."""
    from pyspark.sql import SparkSession

    from interleave.logs.spark import evaluate_spark, read_log, session

    ours = SparkSession.getActiveSession() is None  # a session we start, we also stop
    spark = session(args.master)
    try:
        frames = [read_log(spark, path) for path in paths]
        return evaluate_spark(
            *frames,
            kind=kind,
            unit=args.unit,
            every=args.every,
            candidate=_who(args.candidate, args.kind),
            baseline=_who(args.baseline, args.kind),
            alpha=args.alpha,
        )
    finally:
        if ours:
            spark.stop()
