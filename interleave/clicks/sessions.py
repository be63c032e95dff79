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

Two readers turn the Yandex Relevance Prediction Challenge (WSCD 2012) logs into this frame:
:func:`read_pyclick_sessions` for the pre-processed sample shipped with early PyClick, and
:func:`read_yandex_relpred` for the raw challenge format. Malformed lines raise
:class:`LogFormatError`, which names the file, the line number and what was expected.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

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


class LogFormatError(InvalidArgument):
    """A line of a click-log file does not have the expected format.

    Attributes
    ----------
    path
        The file being read.
    line_number
        1-based number of the offending line.
    expected
        What the reader expected to find there.
    """

    def __init__(self, path: str | os.PathLike[str], line_number: int, expected: str, found: str):
        self.path = str(path)
        self.line_number = line_number
        self.expected = expected
        shown = found if len(found) <= 80 else found[:77] + "..."
        super().__init__(f"{self.path}, line {line_number}: expected {expected}, found {shown!r}")


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
        index = _column_matrix(sessions, "relevance", k).astype(np.int64)
        if index.min() < 0:
            low = int(index.min())
            msg = (
                f"`{name}` column 'relevance' has negative grades (min {low}); grades are 0, 1, ..."
            )
            raise InvalidArgument(msg)
        return EncodedSessions(index, clicks, None, int(index.max()) + 1)
    return EncodedSessions(np.zeros((n, k), dtype=np.int64), clicks, None, 1)


def lookup_documents(
    keys: pl.DataFrame, query: np.ndarray | pl.Series, items: pl.Series, k: int
) -> np.ndarray:
    """Row of ``keys`` (query, item) for each result; ``keys.height`` for pairs not in the table."""
    item_dtype = keys.schema["item"]
    if items.dtype != item_dtype:
        both_int = items.dtype.is_integer() and item_dtype.is_integer()
        if not both_int:
            msg = (
                f"`items` hold {items.dtype} ids but the model was fitted on {item_dtype} ids; "
                "use the same id type for fitting and prediction"
            )
            raise InvalidArgument(msg)
        items = items.cast(item_dtype)
    n = len(items) // k
    long = pl.DataFrame({"query": np.repeat(np.asarray(query, dtype=object), k), "item": items})
    long = long.with_columns(pl.col("query").cast(pl.String))
    table = keys.select("query", "item").with_row_index("key")
    found = long.join(table, on=["query", "item"], how="left", maintain_order="left")["key"]
    return found.fill_null(keys.height).to_numpy().astype(np.int64).reshape(n, k)


# --------------------------------------------------------------------------------------------
# Readers


def _open_text(path: str | os.PathLike[str]) -> Iterator[str]:
    p = Path(path)
    if not p.is_file():
        msg = f"`path` {str(path)!r} is not a file; pass the path of a session log (plain or .gz)"
        raise InvalidArgument(msg)
    with p.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with opener(p, "rt", encoding="utf-8", newline="") as handle:
        yield from handle


_PYCLICK_EXPECTED = "'<query>\\t<doc>,<doc>,... : <clicked doc> , ...' (sessions separated by ';')"


def read_pyclick_sessions(path: str | os.PathLike[str]) -> pl.DataFrame:
    r"""Read a session log in the format of PyClick's Yandex WSCD 2012 sample.

    Each session is ``<query>\t<doc1>,<doc2>,...,<docN> : <clicked>, <clicked>, ...`` and sessions
    are separated by ``;`` (a line may hold many sessions, and blank pieces are skipped). The
    parsing rule is PyClick's (``examples/WscdExample.py``, Markov 2014) with the whitespace
    around click ids stripped: ``clicks[r]`` is True iff ``items[r]`` appears in the click list;
    repeated clicks count once and clicks on documents not on the result list are ignored.
    Stripping matters: the literal 2014 code compares ``" 232429 "`` with ``"232429"`` and loses
    every click of a multi-click session, while stripping reproduces the figures of
    ``SOURCE.md`` and PyClick's published test log-likelihoods.

    Parameters
    ----------
    path
        A plain-text or gzip-compressed file (detected from its first bytes).

    Returns
    -------
    polars.DataFrame
        Columns ``query`` (String), ``items`` (List(Int64)), ``clicks`` (List(Boolean)), in file
        order.

    Raises
    ------
    LogFormatError
        For a session without a tab, without ``:``, with an empty or non-integer document id.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = "98435_1\t11,12,13 : 12 , 12;98435_1\t11,12,13 :;"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "log"
    ...     _ = path.write_text(text)
    ...     read_pyclick_sessions(path)["clicks"].to_list()
    [[False, True, False], [False, False, False]]
    """
    queries: list[str] = []
    items: list[list[int]] = []
    clicks: list[list[bool]] = []
    for line_number, line in enumerate(_open_text(path), start=1):
        for piece in line.split(";"):
            session = piece.strip()
            if not session:
                continue
            query, tab, rest = session.partition("\t")
            if not tab or not query.strip():
                raise LogFormatError(
                    path, line_number, f"a query id and a tab: {_PYCLICK_EXPECTED}", session
                )
            shown, colon, clicked = rest.partition(":")
            if not colon:
                raise LogFormatError(
                    path, line_number, f"' : ' after the result list: {_PYCLICK_EXPECTED}", session
                )
            try:
                docs = [int(d) for d in shown.split(",")]
                clicked_ids = {int(c) for c in clicked.split(",") if c.strip()}
            except ValueError:
                raise LogFormatError(
                    path,
                    line_number,
                    f"integer document ids separated by ',': {_PYCLICK_EXPECTED}",
                    session,
                ) from None
            queries.append(query.strip())
            items.append(docs)
            clicks.append([d in clicked_ids for d in docs])
    return pl.DataFrame(
        {"query": queries, "items": items, "clicks": clicks},
        schema={"query": pl.String, "items": pl.List(pl.Int64), "clicks": pl.List(pl.Boolean)},
    )


_RELPRED_QUERY = "'SessionID\\tTimePassed\\tQ\\tQueryID\\tRegionID\\tURLID\\t...' (a query line)"
_RELPRED_CLICK = "'SessionID\\tTimePassed\\tC\\tURLID' (a click line)"


def read_yandex_relpred(path: str | os.PathLike[str]) -> pl.DataFrame:
    r"""Read the raw Yandex Relevance Prediction Challenge click log into sessions.

    The challenge log (Serdyukov et al., WSCD 2012) has two kinds of tab-separated lines::

        SessionID  TimePassed  Q  QueryID  RegionID  URLID_1 ... URLID_n   (a result page)
        SessionID  TimePassed  C  URLID                                    (a click)

    Each ``Q`` line starts a new search session (one row of the result); a ``C`` line marks the
    clicked URL on the most recent result page of the same ``SessionID`` (PyClick's
    ``YandexRelPredChallengeParser`` rule: a click on a URL that page did not show is ignored, as
    are repeated clicks). Unlike PyClick, which silently skips lines it does not understand, a
    malformed line raises.

    Parameters
    ----------
    path
        A plain-text or gzip-compressed file.

    Returns
    -------
    polars.DataFrame
        Columns ``session_id`` (Int64), ``time_passed`` (Int64), ``query`` (String: the QueryID,
        as PyClick uses it; combine it with ``region`` for the ``<query>_<region>`` ids of the
        PyClick sample), ``region`` (Int64), ``items`` (List(Int64)), ``clicks``
        (List(Boolean)).

    Raises
    ------
    LogFormatError
        For a line that is neither a query nor a click line, non-integer fields, or a click
        whose session has shown no result page yet.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = "7\t0\tQ\t42\t1\t5\t6\t8\n7\t3\tC\t6\n"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "log"
    ...     _ = path.write_text(text)
    ...     frame = read_yandex_relpred(path)
    >>> frame.select("query", "items", "clicks").row(0)
    ('42', [5, 6, 8], [False, True, False])
    """
    session_ids: list[int] = []
    times: list[int] = []
    queries: list[str] = []
    regions: list[int] = []
    items: list[list[int]] = []
    clicks: list[list[bool]] = []
    # Most recent result page of each session: (row, {url: first rank}).
    current: dict[int, tuple[int, dict[int, int]]] = {}
    for line_number, line in enumerate(_open_text(path), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        fields = stripped.split("\t")
        kind = fields[2] if len(fields) >= 3 else ""
        if kind == "Q" and len(fields) >= 6:
            try:
                session_id, time_passed = int(fields[0]), int(fields[1])
                region = int(fields[4])
                urls = [int(u) for u in fields[5:]]
            except ValueError:
                raise LogFormatError(
                    path, line_number, f"integer fields in {_RELPRED_QUERY}", stripped
                ) from None
            ranks: dict[int, int] = {}
            for r, url in enumerate(urls):
                ranks.setdefault(url, r)
            current[session_id] = (len(queries), ranks)
            session_ids.append(session_id)
            times.append(time_passed)
            queries.append(fields[3])
            regions.append(region)
            items.append(urls)
            clicks.append([False] * len(urls))
        elif kind == "C" and len(fields) == 4:
            try:
                session_id, url = int(fields[0]), int(fields[3])
                int(fields[1])
            except ValueError:
                raise LogFormatError(
                    path, line_number, f"integer fields in {_RELPRED_CLICK}", stripped
                ) from None
            if session_id not in current:
                raise LogFormatError(
                    path,
                    line_number,
                    f"a query line of session {session_id} before its first click",
                    stripped,
                )
            row, ranks = current[session_id]
            rank = ranks.get(url)
            if rank is not None:
                clicks[row][rank] = True
        else:
            raise LogFormatError(
                path, line_number, f"{_RELPRED_QUERY} or {_RELPRED_CLICK}", stripped
            )
    return pl.DataFrame(
        {
            "session_id": session_ids,
            "time_passed": times,
            "query": queries,
            "region": regions,
            "items": items,
            "clicks": clicks,
        },
        schema={
            "session_id": pl.Int64,
            "time_passed": pl.Int64,
            "query": pl.String,
            "region": pl.Int64,
            "items": pl.List(pl.Int64),
            "clicks": pl.List(pl.Boolean),
        },
    )
