"""``evaluate``: log files (or frames) in, one :class:`LogEvaluation` out.

The files are classified by their columns (:func:`~interleave.logs.schema.detect_kind`), read
lazily and streamed in batches of ``batch_size`` rows through the per-partition step of their
kind; the batches' statistics merge into the statistics of the whole log, so a log larger than
memory is evaluated in bounded memory. Before streaming, one pass over the impression ids finds
duplicates and clicks on unknown impressions across the whole log (a batch alone could not).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from interleave._checks import check_int, check_one_of
from interleave.errors import InvalidArgument
from interleave.logs.ab import ABResult, ab_statistics
from interleave.logs.interleaving import (
    InterleavingResult,
    interleaving_statistics,
    merge_statistics,
)
from interleave.logs.production import predict
from interleave.logs.readers import LogSource, collect, guarded, scan_log
from interleave.logs.sample import sample_log_path
from interleave.logs.schema import check_columns, detect_kind

__all__ = ["LogEvaluation", "evaluate"]

Progress = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True, eq=False)
class LogEvaluation:
    """The answer of :func:`evaluate`: which ranker or policy wins on the logs, and the evidence.

    Attributes
    ----------
    kind
        ``"interleaving"``, ``"ab"`` or ``"production"``.
    sources
        The files (or ``"<frame>"``) read.
    result
        :class:`~interleave.logs.interleaving.InterleavingResult`,
        :class:`~interleave.logs.ab.ABResult` or
        :class:`~interleave.logs.production.ProductionPrediction`: the statistics and every
        test, recomputable.
    seconds
        Wall-clock time of the evaluation.
    """

    kind: str
    sources: tuple[str, ...]
    result: Any
    seconds: float = 0.0

    @property
    def summary(self) -> pl.DataFrame:
        """Per quantity: ``quantity``, ``estimate``, ``low``, ``high``, ``pvalue``, ``n``."""
        return self.result.summary()

    @property
    def over_time(self) -> pl.DataFrame:
        """The curve over time (cumulative preference or CTRs, always-valid p-values)."""
        return self.result.over_time

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what ``interleave evaluate --json`` prints)."""
        return {"sources": list(self.sources), "seconds": self.seconds, **self.result.to_dict()}

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    def __str__(self) -> str:
        return render(self)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 10**digits:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def render(evaluation: LogEvaluation) -> str:
    """A readable plain-text report: header, data quality, the summary table, a verdict line."""
    data = evaluation.result.to_dict()
    lines = [f"{evaluation.kind} log: {', '.join(evaluation.sources)}"]
    if evaluation.kind == "interleaving":
        lines.append(
            f"{data['n_impressions']:,} impressions, {data['n_users']:,} users, "
            f"{data['n_queries']:,} queries; method {', '.join(data['methods'])}; "
            f"candidate won {data['n_wins']:,.0f}, lost {data['n_losses']:,.0f}, "
            f"tied {data['n_ties']:,.0f}"
        )
        quality = {
            k: v
            for k, v in data["data_quality"].items()
            if v and k not in ("n_rows", "n_clicks", "n_clicked_impressions")
        }
        if quality:
            lines.append(
                "data problems (counted, left out): "
                + ", ".join(
                    f"{k.removeprefix('n_').replace('_', ' ')}: {v:,}" for k, v in quality.items()
                )
            )
    elif evaluation.kind == "production":
        lines.append(
            f"PBM fitted on the log (examination by rank: "
            f"{', '.join(f'{e:.2f}' for e in data['examination'])}); team-draft of baseline "
            f"{data['baseline']!r} against candidate {data['candidate']!r} simulated "
            f"{data['n_simulated_per_query']:,} times per query"
        )
        if data["n_sessions_left_out"]:
            lines.append(
                f"sessions left out (another list length, or clicks beyond it): "
                f"{data['n_sessions_left_out']:,}"
            )
    else:
        lines.append(f"baseline {data['baseline']!r} against candidate {data['candidate']!r}")
        if data["n_invalid_propensities"]:
            lines.append(
                f"rows with a propensity outside (0, 1] left out of off-policy estimates: "
                f"{data['n_invalid_propensities']:,}"
            )
    table = evaluation.summary
    header = (
        "quantity",
        "estimate",
        f"{100 * (1 - evaluation.result.alpha):g}% low",
        "high",
        "p-value",
        "n",
    )
    rows = [header] + [
        (
            r["quantity"],
            _fmt(r["estimate"]),
            _fmt(r["low"]),
            _fmt(r["high"]),
            _fmt(r["pvalue"], 3),
            _fmt(r["n"]),
        )
        for r in table.iter_rows(named=True)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines.append("")
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(verdict(evaluation))
    return "\n".join(lines)


def verdict(evaluation: LogEvaluation) -> str:
    """One sentence: the always-valid test's answer (or, for a production log, the prediction)."""
    result = evaluation.result
    if evaluation.kind == "interleaving":
        last = result.over_time.row(-1, named=True)
        if last["pvalue"] <= result.alpha:
            better = "the candidate" if last["mean_preference"] > 0 else "production"
            return (
                f"verdict: {better} is preferred (always-valid p = {last['pvalue']:.3g} <= "
                f"alpha = {result.alpha:g})."
            )
        return (
            f"verdict: no difference shown yet (always-valid p = {last['pvalue']:.3g} > "
            f"alpha = {result.alpha:g}); keep collecting."
        )
    if evaluation.kind == "production":
        needed = result.impressions_for_power()
        plan = (
            f"about {needed:,} interleaved impressions give 95% power"
            if needed is not None
            else "no preference is predicted"
        )
        return (
            f"prediction: the candidate wins {100 * result.p_win:.1f}% of impressions, "
            f"production {100 * result.p_loss:.1f}%; {plan}."
        )
    last = result.over_time.row(-1, named=True)
    if last["pvalue"] <= result.alpha:
        better = (
            result.candidate if last["ctr_candidate"] > last["ctr_baseline"] else (result.baseline)
        )
        return f"verdict: {better!r} has the higher CTR (always-valid p = {last['pvalue']:.3g})."
    return (
        f"verdict: no CTR difference shown yet (always-valid p = {last['pvalue']:.3g} > "
        f"alpha = {result.alpha:g})."
    )


# ------------------------------------------------------------------------------ evaluation


def _sources(paths: Sequence[Any], kind: str | None) -> list[LogSource]:
    found = []
    for item in paths:
        if isinstance(item, LogSource):
            found.append(item)
        elif isinstance(item, (pl.DataFrame, pl.LazyFrame)):
            frame = item.lazy()
            schema = dict(frame.collect_schema())
            detected = detect_kind(schema, source="the frame") if kind is None else kind
            check_columns(schema, detected, source="the frame")
            found.append(LogSource("<frame>", detected, frame))
        elif isinstance(item, (str, os.PathLike)):
            found.append(scan_log(item, kind=kind))
        else:
            msg = (
                f"each log must be a path or a polars DataFrame/LazyFrame, got "
                f"{type(item).__name__}"
            )
            raise InvalidArgument(msg)
    return found


def _concat(sources: list[LogSource]) -> pl.LazyFrame:
    if len(sources) == 1:
        return sources[0].frame
    return pl.concat([s.frame for s in sources], how="diagonal_relaxed")


def _stream(
    frame: pl.LazyFrame, n_rows: int, batch_size: int, progress: Progress | None, source: str
) -> Any:
    done = 0
    batches = guarded(source, lambda: frame.collect_batches(chunk_size=batch_size))
    iterator = iter(batches)
    while True:
        batch = guarded(source, lambda: next(iterator, None))
        if batch is None:
            return
        done += batch.height
        yield batch
        if progress is not None:
            progress(done, n_rows)


def _evaluate_interleaving(
    exposures: list[LogSource],
    clicks: list[LogSource],
    *,
    unit: str,
    every: str,
    candidate: int,
    baseline: int,
    alpha: float,
    n_opt: float,
    batch_size: int,
    progress: Progress | None,
) -> InterleavingResult:
    frame = _concat(exposures)
    where = ", ".join(s.path for s in exposures)
    ids = collect(
        frame.select(pl.len().alias("n"), pl.col("impression_id").n_unique().alias("unique")),
        where,
    )
    n_rows, n_unique = int(ids["n"][0]), int(ids["unique"][0])
    if n_rows == 0:
        msg = f"{where}: the log has a header but no impressions"
        raise InvalidArgument(msg)
    if n_unique < n_rows:
        # Duplicates may sit in different batches: keep each id's first row before batching.
        frame = frame.filter(pl.col("impression_id").is_first_distinct())
    click_rows = None
    unknown = 0
    if clicks:
        click_rows = collect(
            _concat(clicks).select("impression_id", "position"), ", ".join(s.path for s in clicks)
        )
        known = collect(frame.select("impression_id").unique(), where)["impression_id"]
        if (known.dtype == pl.String) != (click_rows["impression_id"].dtype == pl.String):
            msg = (
                f"`impression_id` is {known.dtype} in the exposures but "
                f"{click_rows['impression_id'].dtype} in the click rows; use one id type in both"
            )
            raise InvalidArgument(msg)
        unknown_mask = ~click_rows["impression_id"].cast(known.dtype, strict=False).is_in(
            known.implode()
        )
        unknown = int(unknown_mask.sum())
        click_rows = click_rows.filter(~unknown_mask)
    parts = []
    for batch in _stream(frame, n_unique, batch_size, progress, where):
        rows = None
        if click_rows is not None:
            rows = click_rows.join(batch.select("impression_id"), on="impression_id", how="semi")
        parts.append(
            interleaving_statistics(
                batch, rows, candidate=candidate, baseline=baseline, every=every
            )
        )
        # Merge once the new batches hold as many groups as the merged ones: memory stays about
        # twice the distinct (user, period) pairs, and each group is merged O(1) times on average.
        pending = sum(p.by_user_period.height for p in parts[1:])
        if len(parts) > 1 and pending >= parts[0].by_user_period.height:
            parts = [merge_statistics(parts)]
    statistics = merge_statistics(parts)
    counts = statistics.count
    counts["n_rows"] = n_rows
    counts["n_duplicate_impressions"] = n_rows - n_unique
    counts["n_unknown_clicks"] = unknown
    statistics = dataclasses.replace(statistics, counts=tuple(counts.items()))
    return InterleavingResult(statistics, unit=unit, alpha=alpha, n_opt=n_opt)


def evaluate(
    *logs: Any,
    kind: str | None = None,
    unit: str = "user",
    every: str = "1d",
    candidate: Any = None,
    baseline: Any = None,
    alpha: float = 0.05,
    n_opt: float | None = None,
    batch_size: int = 500_000,
    progress: Progress | None = None,
) -> LogEvaluation:
    """Evaluate two rankers (or two policies) on log files or frames.

    Parameters
    ----------
    *logs
        Paths (Parquet, CSV, NDJSON) or polars frames: an interleaving log (exposures, plus
        optional click rows), an A/B log of two policies, or a production log with the two
        rankers' outputs (a prediction). None: the embedded sample.
    kind
        Force the layout of every input (``"exposures"``, ``"clicks"``, ``"ab"``); default:
        detected from each input's columns.
    unit
        ``"user"`` (default) or ``"query"``: the unit of the interleaving paired test.
    every
        Period of the curve over time (polars duration: ``"1h"``, ``"1d"``).
    candidate, baseline
        Interleaving: ranker indices (default 1 and 0). A/B: policy names (default: sorted).
    alpha
        Error rate of the tests; intervals at ``1 - alpha``.
    n_opt
        Where the always-valid interval is tightest (default 1,000 for interleaving, 10,000
        shown rows for A/B).
    batch_size
        Rows per streamed batch (bounds memory).
    progress
        Called as ``progress(rows_done, rows_total)`` after each batch.

    Examples
    --------
    >>> result = evaluate()  # the embedded sample
    >>> result.kind, result.result.statistics.n_impressions
    ('interleaving', 20000)
    """
    started = time.perf_counter()
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if kind is not None:
        check_one_of(
            "kind", kind, ("exposures", "clicks", "ab", "interleaving", "production", "rankings")
        )
        kind = "exposures" if kind == "interleaving" else kind
    inputs = list(logs) if logs else [sample_log_path()]
    sources = _sources(inputs, kind)
    by_kind: dict[str, list[LogSource]] = {}
    for source in sources:
        by_kind.setdefault(source.kind, []).append(source)
    names = tuple(s.path for s in sources)
    if "exposures" in by_kind:
        other = set(by_kind) - {"exposures", "clicks"}
        if other:
            msg = f"an interleaving log cannot be evaluated together with {sorted(other)} logs"
            raise InvalidArgument(msg)
        result = _evaluate_interleaving(
            by_kind["exposures"],
            by_kind.get("clicks", []),
            unit=unit,
            every=every,
            candidate=1 if candidate is None else candidate,
            baseline=0 if baseline is None else baseline,
            alpha=alpha,
            n_opt=1000.0 if n_opt is None else n_opt,
            batch_size=batch_size,
            progress=progress,
        )
        return LogEvaluation("interleaving", names, result, time.perf_counter() - started)
    if "ab" in by_kind:
        if set(by_kind) != {"ab"}:
            msg = f"an A/B log cannot be evaluated together with {sorted(set(by_kind) - {'ab'})}"
            raise InvalidArgument(msg)
        frame = _concat(by_kind["ab"])
        where = ", ".join(s.path for s in by_kind["ab"])
        n_rows = int(collect(frame.select(pl.len()), where).item())
        if n_rows == 0:
            msg = f"{where}: the A/B log has a header but no rows"
            raise InvalidArgument(msg)
        parts = [
            ab_statistics(batch, every=every)
            for batch in _stream(frame, n_rows, batch_size, progress, where)
        ]
        statistics = parts[0]
        for part in parts[1:]:
            statistics = statistics.merge(part)
        result = ABResult(
            statistics,
            baseline=None if baseline is None else str(baseline),
            candidate=None if candidate is None else str(candidate),
            alpha=alpha,
            n_opt=10_000.0 if n_opt is None else n_opt,
        )
        return LogEvaluation("ab", names, result, time.perf_counter() - started)
    if "production" in by_kind or "rankings" in by_kind:
        if set(by_kind) != {"production", "rankings"}:
            msg = (
                "a production log is evaluated with the two rankers' outputs: give one file of "
                "each (a production log has query_id, items, clicks; rankings have ranker, "
                f"query_id, item_id, score or rank); got {sorted(by_kind)}"
            )
            raise InvalidArgument(msg)
        log = collect(_concat(by_kind["production"]), "the production log")
        rankings = collect(_concat(by_kind["rankings"]), "the rankings")
        result = predict(
            log,
            rankings,
            baseline=baseline,
            candidate=candidate,
            alpha=alpha,
        )
        return LogEvaluation("production", names, result, time.perf_counter() - started)
    found = ", ".join(str(s) for s in sources)
    msg = (
        f"nothing to evaluate in {found}: give an interleaving log (exposures, with optional "
        "click rows) or an A/B log of two policies"
    )
    raise InvalidArgument(msg)
