"""Time periods: how a log's timestamps become the looks of a curve over time.

A period is the impression's timestamp truncated to a fixed duration (``every``, a polars duration
such as ``"1h"`` or ``"1d"``), so partitions of a log agree on the periods without talking to each
other. Numeric timestamps are seconds since the epoch; a log without timestamps has one period,
null.
"""

from __future__ import annotations

import polars as pl

from interleave.errors import InvalidArgument

__all__ = ["PERIOD", "period_of"]

#: dtype of the ``period`` column of every statistic.
PERIOD = pl.Datetime("us")


def period_of(frame: pl.DataFrame, every: str) -> pl.Expr:
    """The ``period`` of each row of ``frame`` (an expression), null without ``timestamp``.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"timestamp": [0.0, 90_000.0]})
    >>> frame.select(period_of(frame, "1d")).to_series().dt.day().to_list()
    [1, 2]
    """
    if not isinstance(every, str) or not every:
        msg = f"`every` must be a polars duration such as '1h' or '1d', got {every!r}"
        raise InvalidArgument(msg)
    if "timestamp" not in frame.columns:
        return pl.lit(None, dtype=PERIOD)
    dtype = frame.schema["timestamp"]
    stamp = pl.col("timestamp")
    if dtype.is_numeric():
        stamp = pl.from_epoch((stamp.cast(pl.Float64) * 1e6).cast(pl.Int64), time_unit="us")
    elif isinstance(dtype, pl.Date):
        stamp = stamp.cast(PERIOD)
    else:
        stamp = stamp.dt.replace_time_zone(None).dt.cast_time_unit("us")
    try:
        pl.select(pl.lit(0).cast(PERIOD).dt.truncate(every))
    except (pl.exceptions.PolarsError, ValueError):
        msg = f"`every` must be a polars duration such as '1h' or '1d', got {every!r}"
        raise InvalidArgument(msg) from None
    return stamp.dt.truncate(every)
