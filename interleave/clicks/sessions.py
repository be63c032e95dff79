"""Click-log sessions: the one frame schema every click model reads, and readers for Yandex logs.

A *session* is one query, the list of results shown for it (top first) and which of them were
clicked. A log is a polars ``DataFrame`` with one row per session:

============  ==============================  ===================================================
column        dtype                           meaning
============  ==============================  ===================================================
``query``     ``String``                      the query id
``items``     ``List`` of integer or String   the results shown, rank 1 first (no nulls)
``clicks``    ``List(Boolean)``               ``clicks[r]`` is True iff ``items[r]`` was clicked
``relevance`` ``List`` of integer, optional   graded relevance of each result (models fitted
                                              ``by="relevance"`` read it instead of the items)
============  ==============================  ===================================================

Every session of a log shows the same number of results ``k`` (click models have per-rank
parameters). Other columns are carried along and ignored. :func:`validate_sessions` checks all
of this and names the offending column; every ``fit`` and every evaluation calls it.

Two readers turn the Yandex Relevance Prediction Challenge (WSCD 2012) logs into this frame
(:mod:`interleave.clicks.readers`, re-exported here): :func:`read_pyclick_sessions` for the
pre-processed sample shipped with early PyClick, and :func:`read_yandex_relpred` for the raw
challenge format. Malformed lines raise :class:`LogFormatError`, which names the file, the line
number and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from interleave.clicks import limits
from interleave.clicks.readers import LogFormatError, read_pyclick_sessions, read_yandex_relpred
from interleave.errors import InvalidArgument

__all__ = [
    "LogFormatError",
    "read_pyclick_sessions",
    "read_yandex_relpred",
    "validate_sessions",
]

_SCHEMA_HINT = (
    "a session log is a polars DataFrame with columns `query` (String), `items` (List of int or "
    "String, top result first) and `clicks` (List(Boolean), same length as `items`)"
)


# --------------------------------------------------------------------------------------------
# Schema validation


def _is_integer(dtype: pl.DataType) -> bool:
    return dtype.is_integer()


def validate_sessions(
    sessions: pl.DataFrame, *, name: str = "sessions", require: tuple[str, ...] = ("query", "items")
) -> int:
    """Check that ``sessions`` follows the session schema; return the number of results ``k``.

    Parameters
    ----------
    sessions
        The session log (see the module docstring for the schema).
    name
        The argument name used in error messages.
    require
        Which key columns must be present besides ``clicks``: ``("query", "items")`` for models
        keyed by document, ``("relevance",)`` for models keyed by relevance grade, ``()`` for
        models with no per-result parameters.

    Returns
    -------
    int
        The number of results shown per session, the same for every session.

    Raises
    ------
    InvalidArgument
        Naming the missing or mistyped column, the rows with mismatched lengths, or an empty log.

    Examples
    --------
    >>> import polars as pl
    >>> log = pl.DataFrame(
    ...     {"query": ["q1"], "items": [[3, 1, 2]], "clicks": [[False, True, False]]}
    ... )
    >>> validate_sessions(log)
    3
    """
    keys = ("query", "items", "relevance")
    if not isinstance(require, tuple | list) or not all(c in keys for c in require):
        msg = f"`require` must be a tuple of column names out of {keys!r}, got {require!r:.80}"
        raise InvalidArgument(msg)
    if not isinstance(sessions, pl.DataFrame):
        msg = f"`{name}` must be a polars DataFrame, got {type(sessions).__name__}; {_SCHEMA_HINT}"
        raise InvalidArgument(msg)
    schema = sessions.schema
    needed = ("clicks", *require)
    missing = [c for c in needed if c not in schema]
    if missing:
        msg = (
            f"`{name}` is missing the column(s) {missing!r} (it has {list(schema)!r}); "
            f"{_SCHEMA_HINT}"
        )
        raise InvalidArgument(msg)
    if sessions.height == 0:
        msg = f"`{name}` is empty (0 sessions); a click model needs at least one session"
        raise InvalidArgument(msg)

    def mistyped(column: str, expected: str) -> InvalidArgument:
        return InvalidArgument(
            f"`{name}` column {column!r} must be {expected}, got {schema[column]}; "
            f"cast it, e.g. sessions.with_columns(pl.col({column!r}).cast(...))"
        )

    if "query" in require and schema["query"] != pl.String:
        error = mistyped("query", "String")
        raise error
    list_columns = [c for c in ("items", "clicks", "relevance") if c in needed]
    for column in list_columns:
        dtype = schema[column]
        if not isinstance(dtype, pl.List):
            raise mistyped(column, "a List")
        inner = dtype.inner
        ok = {
            "items": inner == pl.String or _is_integer(inner),
            "clicks": inner == pl.Boolean,
            "relevance": _is_integer(inner),
        }[column]
        if not ok:
            expected = {
                "items": "List of integer or String",
                "clicks": "List(Boolean)",
                "relevance": "List of integer",
            }[column]
            raise mistyped(column, expected)
    for column in (*[c for c in require if c == "query"], *list_columns):
        n_null = sessions[column].null_count()
        if column != "query":
            n_null += sessions[column].explode(empty_as_null=False).null_count()
        if n_null:
            msg = f"`{name}` column {column!r} has {n_null} null value(s); drop or fill them first"
            raise InvalidArgument(msg)
    lengths = sessions["clicks"].list.len().to_numpy()
    for column in list_columns:
        if column == "clicks":
            continue
        other = sessions[column].list.len().to_numpy()
        bad = np.flatnonzero(other != lengths)
        if bad.size:
            msg = (
                f"`{name}` row {int(bad[0])}: {column!r} has {int(other[bad[0]])} entries but "
                f"'clicks' has {int(lengths[bad[0]])}; every list of a session has one entry per "
                f"shown result ({bad.size} row(s) differ)"
            )
            raise InvalidArgument(msg)
    k = int(lengths[0])
    if k == 0:
        msg = f"`{name}` row 0 shows no results; every session must show at least one result"
        raise InvalidArgument(msg)
    bad = np.flatnonzero(lengths != k)
    if bad.size:
        msg = (
            f"`{name}` sessions show different numbers of results (row 0: {k}, row "
            f"{int(bad[0])}: {int(lengths[bad[0]])}); click models have per-rank parameters, so "
            f"keep one length, e.g. sessions.filter(pl.col('clicks').list.len() == {k})"
        )
        raise InvalidArgument(msg)
    return k


# --------------------------------------------------------------------------------------------
# Internal encoding: sessions -> numpy arrays (n_sessions, k)


@dataclass(frozen=True)
class EncodedSessions:
    """A validated log as arrays: ``index`` into a key table, ``clicks``, and the key table."""

    index: np.ndarray  # (n, k) int64: row of the key table of each shown result
    clicks: np.ndarray  # (n, k) bool
    keys: pl.DataFrame | None  # by document: the distinct (query, item) pairs, row i = key i
    n_keys: int


def _column_matrix(sessions: pl.DataFrame, column: str, k: int) -> np.ndarray:
    return sessions[column].explode().to_numpy().reshape(sessions.height, k)


def encode_sessions(
    sessions: pl.DataFrame, *, by: str | None, name: str = "sessions"
) -> EncodedSessions:
    """Validate and encode a log for fitting: key index per result (n, k) and clicks (n, k)."""
    require = {"document": ("query", "items"), "relevance": ("relevance",), None: ()}[by]
    k = validate_sessions(sessions, name=name, require=require)
    n = sessions.height
    clicks = _column_matrix(sessions, "clicks", k).astype(bool)
    if by == "document":
        long = pl.DataFrame(
            {
                "query": np.repeat(sessions["query"].to_numpy(), k),
                "item": sessions["items"].explode(),
            }
        )
        # First-seen order keeps the key table stable for a given log.
        keys = long.unique(maintain_order=True).with_row_index("key")
        index = (
            long.join(keys, on=["query", "item"], how="left", maintain_order="left")["key"]
            .to_numpy()
            .astype(np.int64)
            .reshape(n, k)
        )
        return EncodedSessions(index, clicks, keys.drop("key"), keys.height)
    if by == "relevance":
        # Range-check in the column's own dtype: a UInt64 grade of 2^64 - 1 is too large, not -1.
        grades = sessions["relevance"].explode()
        low, high = grades.min(), grades.max()
        if low < 0:
            msg = (
                f"`{name}` column 'relevance' has negative grades (min {low}); grades are 0, 1, ..."
            )
            raise InvalidArgument(msg)
        if high >= limits.MAX_GRADES:
            msg = (
                f"`{name}` column 'relevance' has grade {high}, above the bound of "
                f"{limits.MAX_GRADES} grades (0..{limits.MAX_GRADES - 1}, "
                "interleave.clicks.limits.MAX_GRADES): a model keyed by relevance keeps one "
                "parameter per grade up to the largest; map the grades onto 0..n-1 first, e.g. "
                "pl.col('relevance').list.eval(pl.element().rank('dense') - 1)"
            )
            raise InvalidArgument(msg)
        index = grades.cast(pl.Int64).to_numpy().reshape(n, k)
        return EncodedSessions(index, clicks, None, int(high) + 1)
    return EncodedSessions(np.zeros((n, k), dtype=np.int64), clicks, None, 1)


def lookup_documents(keys: pl.DataFrame, query: pl.Series, items: pl.Series, k: int) -> np.ndarray:
    """Row of ``keys`` (query, item) for each result; ``keys.height`` for pairs not in the table.

    ``query`` is a String series, one per list; ``items`` the flat ids, ``k`` per list.
    """
    item_dtype = keys.schema["item"]
    if items.dtype != item_dtype:
        both_int = items.dtype.is_integer() and item_dtype.is_integer()
        if not both_int:
            msg = (
                f"`items` hold {items.dtype} ids but the model was fitted on {item_dtype} ids; "
                "use the same id type for fitting and prediction"
            )
            raise InvalidArgument(msg)
        # An id the table's integer type cannot hold (a UInt64 beyond Int64, a negative id for a
        # UInt64 table) was never seen in training: null, then the unseen row below.
        items = items.cast(item_dtype, strict=False)
    n = len(items) // k
    long = pl.DataFrame({"query": query.rename("query").repeat_by(k).explode(), "item": items})
    table = keys.select("query", "item").with_row_index("key")
    found = long.join(table, on=["query", "item"], how="left", maintain_order="left")["key"]
    return found.fill_null(keys.height).to_numpy().astype(np.int64).reshape(n, k)
