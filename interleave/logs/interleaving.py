"""Interleaving logs -> mergeable sufficient statistics -> which ranker wins.

The per-partition step, :func:`interleaving_statistics`, is a pure function of a polars frame of
exposures (and optionally click rows) to an :class:`InterleavingStatistics`: sums per (user,
period) and per query, plus counts of what was wrong with the data. Statistics of partitions
:meth:`~InterleavingStatistics.merge` exactly into the statistics of the whole, provided each
impression's duplicates and click rows sit in the same partition as the impression (partition by
impression id, or by user): this is what the distributed engine runs.

:class:`InterleavingResult` reads only the statistics:

- per user (the default unit): each user's mean preference for the candidate, tested with a
  paired t-test, since impression-level tests are anti-conservative when heavy users dominate;
- per query, the same;
- per impression: wins, losses, ties and the sign test (when every outcome is a whole win, loss or
  tie);
- over time: the cumulative mean preference with an always-valid confidence sequence and
  p-value (normal mixture, :mod:`interleave.stats.mixture`), its variance clustered by user.

The *preference* of an impression is ``preferences[candidate][baseline]`` of its credit: +1 the
candidate won, -1 it lost, 0 a tie, and in between for probabilistic credit.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from interleave._checks import check_alpha, check_int, check_one_of
from interleave.batch import InterleavingBatch
from interleave.errors import InvalidArgument
from interleave.logs.periods import PERIOD, period_of
from interleave.logs.schema import SUMMARY_SCHEMA, check_columns
from interleave.methods.base import Interleaver
from interleave.ranking import SCHEMA_VERSION
from interleave.stats import MixtureSPRT, paired_test, sign_test
from interleave.stats.sufficient import CenteredSum

__all__ = [
    "InterleavingResult",
    "InterleavingStatistics",
    "interleaving_statistics",
    "merge_statistics",
    "method_named",
]

_SUMS = ("n_impressions", "total", "sum_squares", "n_wins", "n_losses", "n_ties")
_COUNTS = (
    "n_rows",
    "n_duplicate_impressions",
    "n_clicks",
    "n_duplicate_clicks",
    "n_clicks_beyond_list",
    "n_unknown_clicks",
    "n_clicked_impressions",
)
_GROUP_SCHEMA = {
    "n_impressions": pl.Int64,
    "total": pl.Float64,
    "sum_squares": pl.Float64,
    "n_wins": pl.Float64,
    "n_losses": pl.Float64,
    "n_ties": pl.Float64,
}


def _all_methods() -> dict[str, type[Interleaver]]:
    found: dict[str, type[Interleaver]] = {}
    stack = list(Interleaver.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        name = getattr(cls, "name", None)
        if isinstance(name, str):
            found.setdefault(name, cls)
    return found


def method_named(name: str, params: dict[str, Any] | None = None) -> Interleaver:
    """The interleaving method called ``name`` (``Interleaving.method``), configured by ``params``.

    Examples
    --------
    >>> method_named("team_draft", {"length": 3})
    TeamDraft(common_prefix=True, length=3)
    """
    methods = _all_methods()
    if name not in methods:
        msg = f"`method` {name!r} is not an interleaving method; known: {sorted(methods)}"
        raise InvalidArgument(msg)
    try:
        return methods[name](**(params or {}))
    except TypeError as error:
        msg = f"`params` {params!r} do not configure {name!r}: {error}"
        raise InvalidArgument(msg) from None


# ------------------------------------------------------------------------------- statistics


@dataclasses.dataclass(frozen=True, eq=False)
class InterleavingStatistics:
    """What an interleaving log says, as sums that merge exactly across partitions.

    Attributes
    ----------
    by_user_period
        One row per (user, period): ``n_impressions``, ``total`` (sum of preferences),
        ``sum_squares``, ``n_wins``, ``n_losses``, ``n_ties`` (fractional for probabilistic
        credit). ``period`` is null when the log has no timestamps.
    by_query
        The same sums per ``query_id`` (empty when the log has no queries).
    credit
        Total credit of the candidate and of the baseline (clicks credited to each).
    counts
        Data-quality counts: rows read, duplicate impressions dropped, clicks used, duplicate
        clicks dropped, clicks beyond the shown list dropped, clicks on unknown impressions,
        impressions with a click.
    methods
        The interleaving methods found, sorted.
    users_are_impressions
        True when the log had no ``user_id``: every impression is its own unit.
    """

    by_user_period: pl.DataFrame
    by_query: pl.DataFrame
    credit: tuple[float, float] = (0.0, 0.0)
    counts: tuple[tuple[str, int], ...] = tuple((name, 0) for name in _COUNTS)
    methods: tuple[str, ...] = ()
    users_are_impressions: bool = False

    @property
    def count(self) -> dict[str, int]:
        """The data-quality counts as a dict."""
        return dict(self.counts)

    @property
    def n_impressions(self) -> int:
        """Impressions evaluated (after dropping duplicates)."""
        return int(self.by_user_period["n_impressions"].sum())

    def merge(self, other: InterleavingStatistics) -> InterleavingStatistics:
        """The statistics of both partitions together (exact; order does not matter)."""
        if not isinstance(other, InterleavingStatistics):
            msg = f"`other` must be InterleavingStatistics, got {type(other).__name__}"
            raise InvalidArgument(msg)
        return merge_statistics([self, other])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary (the frames as lists of rows)."""
        return {
            "by_user_period": self.by_user_period.to_dicts(),
            "by_query": self.by_query.to_dicts(),
            "credit": list(self.credit),
            "counts": dict(self.counts),
            "methods": list(self.methods),
            "users_are_impressions": self.users_are_impressions,
        }


def _sum_groups(frames: list[pl.DataFrame], keys: list[str]) -> pl.DataFrame:
    frames = [f for f in frames if f.height]
    if not frames:
        return frames_or_empty(keys)
    if len(frames) == 1:
        return frames[0]
    kinds = {str(f.schema[keys[0]]) for f in frames}
    if len(kinds) > 1:
        msg = (
            f"cannot merge partitions whose `{keys[0]}` has different types {sorted(kinds)}: the "
            "same id would count as two; read every partition with one id type"
        )
        raise InvalidArgument(msg)
    merged = pl.concat([f.lazy() for f in frames], how="vertical_relaxed")
    return merged.group_by(keys).agg(pl.col(c).sum() for c in _SUMS).collect()


def frames_or_empty(keys: list[str]) -> pl.DataFrame:
    """An empty group frame with the given key columns (String keys, period Datetime)."""
    schema: dict[str, pl.DataType] = {k: (PERIOD if k == "period" else pl.String) for k in keys}
    return pl.DataFrame(schema={**schema, **_GROUP_SCHEMA})


def merge_statistics(parts: Iterable[InterleavingStatistics]) -> InterleavingStatistics:
    """Combine the statistics of partitions (exact)."""
    parts = list(parts)
    if not parts:
        msg = "`parts` is empty; merge at least one InterleavingStatistics"
        raise InvalidArgument(msg)
    if len({p.users_are_impressions for p in parts}) > 1:
        msg = "cannot merge partitions with and without `user_id`"
        raise InvalidArgument(msg)
    counts = {name: sum(p.count.get(name, 0) for p in parts) for name in _COUNTS}
    return InterleavingStatistics(
        by_user_period=_sum_groups([p.by_user_period for p in parts], ["user_id", "period"]),
        by_query=_sum_groups([p.by_query for p in parts], ["query_id"]),
        credit=(sum(p.credit[0] for p in parts), sum(p.credit[1] for p in parts)),
        counts=tuple(counts.items()),
        methods=tuple(sorted({m for p in parts for m in p.methods})),
        users_are_impressions=parts[0].users_are_impressions,
    )


def _padded(values: np.ndarray, lengths: np.ndarray, width: int, fill: int) -> np.ndarray:
    """Ragged rows (flat ``values``, row ``lengths``) as a dense (n, width) array."""
    n = lengths.shape[0]
    if values.size == n * width:  # every row full: a reshape, no scatter
        return values.astype(np.int64, copy=False).reshape(n, width)
    out = np.full((n, width), fill, dtype=np.int64)
    if values.size:
        rows = np.repeat(np.arange(n), lengths)
        starts = np.cumsum(lengths) - lengths
        cols = np.arange(values.size) - np.repeat(starts, lengths)
        out[rows, cols] = values
    return out


def _first_bad(frame: pl.DataFrame, mask: np.ndarray) -> str:
    return repr(frame["impression_id"][int(np.flatnonzero(mask)[0])])


def _flat(series: pl.Series, name: str) -> np.ndarray:
    """The elements of a list column, row after row; a null element is an error."""
    flat = series.explode(empty_as_null=False, keep_nulls=False)
    if flat.null_count():
        msg = f"`{name}` holds {flat.null_count()} null element(s); give ints only"
        raise InvalidArgument(msg)
    return flat.to_numpy()


def _list_column(frame: pl.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    series = frame[name]
    if series.null_count():
        bad = series.is_null().to_numpy()
        msg = (
            f"`{name}` is null in {int(bad.sum())} impression(s) (first: impression_id "
            f"{_first_bad(frame, bad)}); every impression needs its {name}"
        )
        raise InvalidArgument(msg)
    lengths = series.list.len().to_numpy().astype(np.int64)
    return _flat(series, name), lengths


def _click_mask(
    frame: pl.DataFrame, click_rows: pl.DataFrame | None, n_shown: np.ndarray, width: int
) -> tuple[np.ndarray, dict[str, int]]:
    """The valid clicks as a bool (n, width) mask, and the counts of what was dropped."""
    rows_parts: list[np.ndarray] = []
    pos_parts: list[np.ndarray] = []
    counts = {"n_unknown_clicks": 0}
    if "clicks" in frame.columns:
        series = frame["clicks"].fill_null([])
        lengths = series.list.len().to_numpy().astype(np.int64)
        rows_parts.append(np.repeat(np.arange(frame.height), lengths))
        pos_parts.append(_flat(series, "clicks").astype(np.int64))
    if click_rows is not None and click_rows.height:
        check_columns(click_rows.schema, "clicks", source="the click rows")
        left, right = frame.schema["impression_id"], click_rows.schema["impression_id"]
        if (left == pl.String) != (right == pl.String):
            msg = (
                f"`impression_id` is {left} in the exposures but {right} in the click rows; "
                "use one id type in both files"
            )
            raise InvalidArgument(msg)
        index = frame.select(pl.col("impression_id"), pl.int_range(pl.len()).alias("_row"))
        clicks = click_rows.select(
            pl.col("impression_id").cast(left), pl.col("position").cast(pl.Int64)
        )
        joined = clicks.join(index, on="impression_id", how="left")
        unknown = joined["_row"].is_null()
        counts["n_unknown_clicks"] = int(unknown.sum())
        known = joined.filter(~unknown)
        rows_parts.append(known["_row"].to_numpy().astype(np.int64))
        pos_parts.append(known["position"].to_numpy())
    mask = np.zeros((frame.height, width), dtype=bool)
    if not rows_parts:
        return mask, {**counts, "n_duplicate_clicks": 0, "n_clicks_beyond_list": 0}
    rows = rows_parts[0] if len(rows_parts) == 1 else np.concatenate(rows_parts)
    positions = pos_parts[0] if len(pos_parts) == 1 else np.concatenate(pos_parts)
    inside = (positions >= 0) & (positions < n_shown[rows])
    counts["n_clicks_beyond_list"] = int(inside.size - np.count_nonzero(inside))
    if counts["n_clicks_beyond_list"]:
        rows, positions = rows[inside], positions[inside]
    mask[rows, positions] = True
    counts["n_duplicate_clicks"] = int(rows.size - np.count_nonzero(mask))
    return mask, counts


def _method_groups(frame: pl.DataFrame) -> list[tuple[str, str, np.ndarray | None]]:
    """(method, params JSON, rows) per configuration in the frame; rows None means all rows."""
    if frame["method"].null_count():
        msg = "`method` is null in some impressions; every impression names its method"
        raise InvalidArgument(msg)
    if "params" not in frame.columns or frame.schema["params"] == pl.Null:
        params = pl.lit("")
    elif frame.schema["params"] == pl.String:
        params = pl.col("params").fill_null("")
    else:
        params = pl.col("params").struct.json_encode().fill_null("")
    keys = frame.select(pl.col("method").cast(pl.String), params.alias("params"))
    distinct = keys.unique()
    if distinct.height == 1:
        return [(distinct["method"][0], distinct["params"][0], None)]
    indexed = keys.with_row_index("_row").group_by("method", "params", maintain_order=True)
    return [
        (name, text, rows.to_numpy())
        for name, text, rows in indexed.agg(pl.col("_row")).iter_rows()
    ]


def _parse_params(text: str) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        config = json.loads(text)
    except ValueError:
        msg = f"`params` must be a JSON object of the method's configuration, got {text!r}"
        raise InvalidArgument(msg) from None
    if not isinstance(config, dict):
        msg = f"`params` must be a JSON object of the method's configuration, got {text!r}"
        raise InvalidArgument(msg)
    return config


def _ranks_array(frame: pl.DataFrame, k_hint: int | None, width: int) -> np.ndarray | None:
    if "ranks" not in frame.columns or frame["ranks"].null_count() == frame.height:
        return None
    if frame["ranks"].null_count():
        bad = frame["ranks"].is_null().to_numpy()
        msg = (
            f"`ranks` is null in {int(bad.sum())} impression(s) (first: impression_id "
            f"{_first_bad(frame, bad)}); give ranks for every impression or for none"
        )
        raise InvalidArgument(msg)
    per_row = frame["ranks"].list.len().to_numpy().astype(np.int64)
    k = int(per_row[0]) if per_row.size else (k_hint or 2)
    if np.any(per_row != k):
        bad = per_row != k
        msg = (
            f"`ranks` must hold one list per ranker ({k}) in every impression; impression_id "
            f"{_first_bad(frame, bad)} has {int(per_row[bad][0])}"
        )
        raise InvalidArgument(msg)
    inner = frame["ranks"].explode(empty_as_null=False, keep_nulls=False)
    if inner.null_count():
        msg = "`ranks` holds a null ranking; give one list of ranks per ranker"
        raise InvalidArgument(msg)
    lengths = inner.list.len().to_numpy().astype(np.int64)
    values = _flat(inner, "ranks")
    dense = _padded(values, lengths, width, -1)  # (n * k, width), row-major by impression
    return dense.reshape(frame.height, k, width).transpose(1, 0, 2)


def _lengths_array(frame: pl.DataFrame) -> np.ndarray | None:
    if "ranking_lengths" not in frame.columns or frame["ranking_lengths"].null_count():
        return None
    values, per_row = _list_column(frame, "ranking_lengths")
    if per_row.size and np.any(per_row != per_row[0]):
        msg = "`ranking_lengths` must have one entry per ranker in every impression"
        raise InvalidArgument(msg)
    return values.reshape(frame.height, int(per_row[0]) if per_row.size else 0)


def _credit(
    frame: pl.DataFrame,
    teams: np.ndarray,
    n_shown: np.ndarray,
    clicks: np.ndarray,
    candidate: int,
    baseline: int,
) -> tuple[np.ndarray, float, float, list[str]]:
    """Preference for the candidate per impression, credit totals, methods used."""
    ranks = _ranks_array(frame, None, teams.shape[1])
    lengths = _lengths_array(frame)
    outcome = np.zeros(frame.height)
    credit = [0.0, 0.0]
    groups = _method_groups(frame)
    for name, text, members in groups:
        config = _parse_params(text)
        method = method_named(name, config)
        rows = slice(None) if members is None else members
        batch = InterleavingBatch.from_columns(
            method,
            teams[rows],
            None if ranks is None else ranks[:, rows],
            None if lengths is None else lengths[rows],
            n_shown=n_shown[rows],
            # Without ranks the rankers are those the teams name (at least two).
            n_rankers=None
            if ranks is not None or lengths is not None
            else max(2, int(teams.max(initial=-1)) + 1),
        )
        if max(candidate, baseline) >= batch.n_rankers:
            msg = (
                f"`candidate`={candidate} and `baseline`={baseline} must index the "
                f"{batch.n_rankers} rankers of the log"
            )
            raise InvalidArgument(msg)
        result = method.credit_batch(batch, clicks[rows])
        outcome[rows] = result.preferences[:, candidate, baseline]
        credit[0] += float(result.scores[:, candidate].sum())
        credit[1] += float(result.scores[:, baseline].sum())
    return outcome, credit[0], credit[1], sorted({name for name, _, _ in groups})


def _check_versions(frame: pl.DataFrame) -> None:
    """Records carry ``schema_version`` (none means 1); a newer one than we read is an error."""
    if "schema_version" not in frame.columns:
        return
    versions = frame["schema_version"].fill_null(1)
    if versions.len() and (versions.min() < 1 or versions.max() > SCHEMA_VERSION):
        bad = sorted(set(versions.filter((versions < 1) | (versions > SCHEMA_VERSION)).to_list()))
        msg = (
            f"`schema_version` {bad} is not one this version of interleave reads (1 to "
            f"{SCHEMA_VERSION}); upgrade interleave or re-log the records"
        )
        raise InvalidArgument(msg)


def interleaving_statistics(
    exposures: pl.DataFrame,
    click_rows: pl.DataFrame | None = None,
    *,
    candidate: int = 1,
    baseline: int = 0,
    every: str = "1d",
) -> InterleavingStatistics:
    """The per-partition step: exposures (and click rows) -> mergeable sufficient statistics.

    Parameters
    ----------
    exposures
        Impressions in the ``exposures`` layout (:mod:`interleave.logs.schema`). Duplicated
        ``impression_id`` rows are counted and all but the first dropped.
    click_rows
        Optional clicks in the ``clicks`` layout, joined by ``impression_id`` to the exposures'
        own ``clicks`` lists; a click given twice counts once (and is counted as a duplicate),
        clicks on impressions not in ``exposures`` and clicks beyond the shown list are counted
        and left out.
    candidate, baseline
        The rankers compared (indices into each impression's rankers).
    every
        Period of the curve over time (a polars duration such as ``"1h"`` or ``"1d"``).

    Examples
    --------
    >>> import polars as pl
    >>> log = pl.DataFrame({
    ...     "impression_id": [1, 2, 3], "user_id": ["u", "u", "v"],
    ...     "method": ["team_draft"] * 3, "items": [[7, 8], [8, 7], [7, 9]],
    ...     "teams": [[1, 0], [0, 1], [1, 0]], "clicks": [[0], [1], []],
    ... })
    >>> stats = interleaving_statistics(log)
    >>> stats.by_user_period.sort("user_id").select("user_id", "n_wins", "n_losses").rows()
    [('u', 2.0, 0.0), ('v', 0.0, 0.0)]
    """
    if not isinstance(exposures, pl.DataFrame):
        msg = f"`exposures` must be a polars DataFrame, got {type(exposures).__name__}"
        raise InvalidArgument(msg)
    if click_rows is not None and not isinstance(click_rows, pl.DataFrame):
        msg = f"`click_rows` must be a polars DataFrame or None, got {type(click_rows).__name__}"
        raise InvalidArgument(msg)
    check_columns(exposures.schema, "exposures", source="the exposures")
    candidate = check_int("candidate", candidate, minimum=0)
    baseline = check_int("baseline", baseline, minimum=0)
    if candidate == baseline:
        msg = f"`candidate` and `baseline` must be different rankers, got {candidate} for both"
        raise InvalidArgument(msg)
    n_rows = exposures.height
    _check_versions(exposures)
    if exposures["impression_id"].n_unique() == n_rows:  # the usual case, and cheaper to ask
        frame = exposures
    else:
        frame = exposures.filter(pl.col("impression_id").is_first_distinct())
    users_are_impressions = "user_id" not in frame.columns
    counts = {"n_rows": n_rows, "n_duplicate_impressions": n_rows - frame.height}
    if frame.height == 0:
        counts.update({"n_unknown_clicks": 0 if click_rows is None else click_rows.height})
        return InterleavingStatistics(
            frames_or_empty(["user_id", "period"]),
            frames_or_empty(["query_id"]),
            counts=tuple((name, counts.get(name, 0)) for name in _COUNTS),
            users_are_impressions=users_are_impressions,
        )
    team_values, team_lengths = _list_column(frame, "teams")
    item_lengths = frame["items"].fill_null([]).list.len().to_numpy().astype(np.int64)
    if np.any(team_lengths != item_lengths):
        bad = team_lengths != item_lengths
        msg = (
            f"`teams` must have one entry per shown item, but {int(bad.sum())} impression(s) "
            f"differ (first: impression_id {_first_bad(frame, bad)} shows "
            f"{int(item_lengths[bad][0])} items with {int(team_lengths[bad][0])} teams)"
        )
        raise InvalidArgument(msg)
    width = max(int(item_lengths.max(initial=0)), 1)
    teams = _padded(team_values, team_lengths, width, -1)
    clicks, click_counts = _click_mask(frame, click_rows, item_lengths, width)
    counts.update(click_counts)
    counts["n_clicks"] = int(np.count_nonzero(clicks))
    counts["n_clicked_impressions"] = int(np.count_nonzero(clicks.any(axis=1)))
    outcome, credit_candidate, credit_baseline, methods = _credit(
        frame, teams, item_lengths, clicks, candidate, baseline
    )
    unit = "impression_id" if users_are_impressions else "user_id"
    per = frame.select(
        pl.col(unit).alias("user_id"),
        (
            pl.col("query_id") if "query_id" in frame.columns else pl.lit(None, dtype=pl.String)
        ).alias("query_id"),
        period_of(frame, every).alias("period"),
    ).with_columns(pl.Series("outcome", outcome))
    # Plain sums per group (the lazy engine aggregates them fastest); a win is (|o| + o) / 2,
    # a loss (|o| - o) / 2 and a tie 1 - |o|, exact for fractional credit too.
    per = per.with_columns(
        pl.col("outcome").abs().alias("_abs"), (pl.col("outcome") ** 2).alias("sum_squares")
    )
    sums = [
        pl.len().cast(pl.Int64).alias("n_impressions"),
        pl.col("outcome").sum().alias("total"),
        pl.col("sum_squares").sum(),
        pl.col("_abs").sum(),
    ]
    counts_of = [
        ((pl.col("_abs") + pl.col("total")) / 2).alias("n_wins"),
        ((pl.col("_abs") - pl.col("total")) / 2).alias("n_losses"),
        (pl.col("n_impressions") - pl.col("_abs")).alias("n_ties"),
    ]

    def grouped(keys: list[str]) -> pl.DataFrame:
        return per.lazy().group_by(keys).agg(sums).with_columns(counts_of).drop("_abs").collect()

    by_user_period = grouped(["user_id", "period"])
    by_query = (
        grouped(["query_id"]) if "query_id" in frame.columns else frames_or_empty(["query_id"])
    )
    return InterleavingStatistics(
        by_user_period=by_user_period,
        by_query=by_query,
        credit=(credit_candidate, credit_baseline),
        counts=tuple((name, counts.get(name, 0)) for name in _COUNTS),
        methods=tuple(methods),
        users_are_impressions=users_are_impressions,
    )


# ------------------------------------------------------------------------------------ result


def _per_group(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """One row per ``key`` (summing over periods), with the mean preference."""
    if key == "user_id":
        frame = frame.lazy().group_by(key).agg(pl.col(c).sum() for c in _SUMS).collect()
    return frame.select(
        key,
        "n_impressions",
        (pl.col("total") / pl.col("n_impressions")).alias("mean_preference"),
        "n_wins",
        "n_losses",
        "n_ties",
    ).sort(key)


def _confidence_sequence(
    n: np.ndarray,
    total: np.ndarray,
    sum_ss: np.ndarray,
    sum_ns: np.ndarray,
    sum_nn: np.ndarray,
    rho: float,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per look, the means ``m`` in [-1, 1] the mixture test at ``m`` would not reject.

    Testing "the mean preference is ``m``" reads ``s = total - n m`` with the variance that
    hypothesis implies, ``v(m) = sum_u (S_u - n_u m)^2 = sum_ss - 2 m sum_ns + m^2 sum_nn``; the
    set of such ``m`` is found by bisection outwards from the estimate (where ``s = 0``), so the
    interval excludes 0 exactly when the test of no preference rejects.
    """
    mean = total / n
    log_level = 2.0 * math.log(1.0 / alpha)

    def inside(m: np.ndarray) -> np.ndarray:
        v = np.maximum(sum_ss - 2 * m * sum_ns + m * m * sum_nn, 0.0)
        return (total - n * m) ** 2 <= (v + rho) * (np.log1p(v / rho) + log_level)

    bounds = []
    for edge in (-1.0, 1.0):
        near, far = mean.copy(), np.full_like(mean, edge)
        open_end = inside(far)
        for _ in range(60):  # 2^-60 of the range: beyond float precision
            middle = 0.5 * (near + far)
            ok = inside(middle)
            near = np.where(ok, middle, near)
            far = np.where(ok, far, middle)
        bounds.append(np.where(open_end, edge, near))
    return bounds[0], bounds[1]


@dataclasses.dataclass(frozen=True, eq=False)
class InterleavingResult:
    """Which ranker an interleaving log prefers, recomputable from its statistics.

    Parameters
    ----------
    statistics
        The merged :class:`InterleavingStatistics`.
    unit
        ``"user"`` (default) or ``"query"``: what the fixed-horizon paired test treats as one
        observation, and (``"user"``) how the sequential variance is clustered.
    alpha
        Error rate of the sequential test and ``1 - alpha`` confidence of every interval.
    n_opt
        Where the confidence sequence is tightest, in units of the summed squared preference
        (about the number of decisive impressions).
    """

    statistics: InterleavingStatistics
    unit: str = "user"
    alpha: float = 0.05
    n_opt: float = 1000.0

    def __post_init__(self) -> None:
        check_one_of("unit", self.unit, ("user", "query"))
        check_alpha("alpha", self.alpha)
        if self.statistics.n_impressions == 0:
            msg = (
                "the log holds no impressions to evaluate (after dropping "
                f"{self.statistics.count['n_duplicate_impressions']} duplicates); check the file"
            )
            raise InvalidArgument(msg)

    # -- per unit -----------------------------------------------------------------------------

    @cached_property
    def per_user(self) -> pl.DataFrame:
        """One row per user: impressions, mean preference for the candidate, wins/losses/ties."""
        return _per_group(self.statistics.by_user_period, "user_id")

    @cached_property
    def per_query(self) -> pl.DataFrame:
        """One row per query (empty when the log has no ``query_id``)."""
        return _per_group(
            self.statistics.by_query.filter(pl.col("query_id").is_not_null()), "query_id"
        )

    @property
    def n_wins(self) -> float:
        """Impressions the candidate won (fractional for probabilistic credit)."""
        return float(self.statistics.by_user_period["n_wins"].sum())

    @property
    def n_losses(self) -> float:
        """Impressions the candidate lost."""
        return float(self.statistics.by_user_period["n_losses"].sum())

    @property
    def n_ties(self) -> float:
        """Impressions tied (no click, or equal credit)."""
        return float(self.statistics.by_user_period["n_ties"].sum())

    @property
    def mean_preference(self) -> float:
        """Mean preference per impression for the candidate, in [-1, 1]."""
        frame = self.statistics.by_user_period
        return float(frame["total"].sum() / frame["n_impressions"].sum())

    def paired_test(self, unit: str | None = None) -> Any:
        """The paired t-test of per-unit mean preferences against 0 (``None`` if undefined)."""
        unit = self.unit if unit is None else check_one_of("unit", unit, ("user", "query"))
        frame = self.per_user if unit == "user" else self.per_query
        values = frame["mean_preference"].to_numpy()
        if values.size < 2 or np.all(values == values[0]):
            return None
        return paired_test(values)

    def sign_test(self) -> Any:
        """The exact sign test on impressions (``None`` for fractional credit or no decisive one).

        Impression-level: anti-conservative when a few heavy users dominate; prefer
        :meth:`paired_test`.
        """
        counts = (self.n_wins, self.n_losses, self.n_ties)
        if any(c != round(c) for c in counts) or counts[0] + counts[1] == 0:
            return None
        return sign_test(int(counts[0]), int(counts[1]), int(counts[2]))

    # -- over time ----------------------------------------------------------------------------

    @cached_property
    def over_time(self) -> pl.DataFrame:
        """Cumulative preference per period with an always-valid confidence sequence.

        Columns: ``period``, ``n_impressions`` (cumulative), ``mean_preference`` (cumulative),
        ``low``/``high`` (the ``1 - alpha`` confidence sequence: valid at every period at once),
        ``variance`` (of the cumulative sum, the mixture's information), ``pvalue`` (always
        valid: the running minimum).

        The variance is clustered by user whatever ``unit`` says: ``sum_u (S_u - n_u m)^2`` with
        ``S_u``, ``n_u`` a user's running sum and count, evaluated at the hypothesised mean ``m``
        (0 for the p-value), so a heavy user counts as the one correlated block it is. The
        variance is estimated, so validity is asymptotic in the number of users (as for the A/B
        kinds of :mod:`interleave.stats.sufficient`); with a few dominant users the sequence is
        wide, which is the honest answer: the log holds few independent voices.
        """
        frame = self.statistics.by_user_period.lazy().sort("period", nulls_last=True)
        # Per look t, with S_u and n_u a user's running sum and count: the increments of
        # sum_u S_u^2, sum_u n_u S_u and sum_u n_u^2 (a user's previous values subtracted).
        s_now = pl.col("total").cum_sum().over("user_id")
        n_now = pl.col("n_impressions").cum_sum().over("user_id")
        running = (
            frame.with_columns(s_now.alias("_s"), n_now.alias("_n"))
            .with_columns(
                (pl.col("_s") - pl.col("total")).alias("_s0"),
                (pl.col("_n") - pl.col("n_impressions")).alias("_n0"),
            )
            .with_columns(
                (pl.col("_s") ** 2 - pl.col("_s0") ** 2).alias("_ss"),
                (pl.col("_n") * pl.col("_s") - pl.col("_n0") * pl.col("_s0")).alias("_ns"),
                (pl.col("_n").cast(pl.Float64) ** 2 - pl.col("_n0").cast(pl.Float64) ** 2).alias(
                    "_nn"
                ),
            )
        )
        looks = (
            running.group_by("period")
            .agg(pl.col("n_impressions", "total", "_ss", "_ns", "_nn").sum())
            .sort("period", nulls_last=True)
            .with_columns(pl.col("n_impressions", "total", "_ss", "_ns", "_nn").cum_sum())
            .collect()
        )
        n = looks["n_impressions"].to_numpy()
        total = looks["total"].to_numpy()
        mean = total / n
        sum_ss = looks["_ss"].to_numpy()
        sum_ns = looks["_ns"].to_numpy()
        sum_nn = looks["_nn"].to_numpy()
        test = MixtureSPRT(alpha=self.alpha, n_opt=self.n_opt)
        # The test of "no preference" uses the variance the null implies, sum_u S_u^2: centring
        # it at the estimate instead (the sandwich) is anti-conservative when a few heavy users
        # carry most impressions (13% false positives at alpha 5% in the heavy-user test).
        variance = np.maximum(sum_ss, 0.0)
        monitored = test.evaluate(CenteredSum(n=n.astype(np.int64), total=total, variance=variance))
        low, high = _confidence_sequence(n, total, sum_ss, sum_ns, sum_nn, test.rho, self.alpha)
        return pl.DataFrame(
            {
                "period": looks["period"],
                "n_impressions": n,
                "mean_preference": mean,
                "low": low,
                "high": high,
                "variance": variance,
                "pvalue": monitored.pvalue,
            }
        )

    @property
    def sequential_pvalue(self) -> float:
        """The always-valid p-value at the last period."""
        return float(self.over_time["pvalue"][-1])

    # -- rendering -----------------------------------------------------------------------------

    def summary(self) -> pl.DataFrame:
        """The table the command prints: one row per quantity, every number from this object."""
        level = 1 - self.alpha
        rows: list[dict[str, Any]] = []

        def add(quantity: str, estimate: float, low: Any, high: Any, pvalue: Any, n: Any) -> None:
            rows.append(
                {
                    "quantity": quantity,
                    "estimate": float(estimate),
                    "low": None if low is None else float(low),
                    "high": None if high is None else float(high),
                    "pvalue": None if pvalue is None else float(pvalue),
                    "n": None if n is None else int(n),
                }
            )

        for unit in ("user", "query"):
            test = self.paired_test(unit)
            if test is not None:
                ci = test.confidence_interval(level)
                add(
                    f"mean preference per {unit} (paired t)",
                    test.mean,
                    ci.low,
                    ci.high,
                    test.pvalue,
                    test.n_users,
                )
        sign = self.sign_test()
        if sign is not None:
            ci = sign.confidence_interval(level)
            add(
                "win rate per impression (sign test)",
                sign.statistic,
                ci.low,
                ci.high,
                sign.pvalue,
                sign.n_trials,
            )
        last = self.over_time.row(-1, named=True)
        add(
            "mean preference, always valid (mixture)",
            last["mean_preference"],
            last["low"],
            last["high"],
            last["pvalue"],
            last["n_impressions"],
        )
        return pl.DataFrame(
            rows,
            schema=SUMMARY_SCHEMA,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of what the command prints."""
        return {
            "kind": "interleaving",
            "unit": self.unit,
            "alpha": self.alpha,
            "methods": list(self.statistics.methods),
            "n_impressions": self.statistics.n_impressions,
            "n_users": self.per_user.height,
            "n_queries": self.per_query.height,
            "n_wins": self.n_wins,
            "n_losses": self.n_losses,
            "n_ties": self.n_ties,
            "credit": {
                "candidate": self.statistics.credit[0],
                "baseline": self.statistics.credit[1],
            },
            "data_quality": self.statistics.count,
            "summary": self.summary().to_dicts(),
            "over_time": self.over_time.with_columns(pl.col("period").cast(pl.String)).to_dicts(),
        }
