"""THE exposure/click schema: every log reader validates against these tables, defined once here.

A log is one or more polars frames whose columns follow one of four layouts (*kinds*):

``exposures`` (interleaving log)
    One row per impression: what was shown, which ranker each position is credited to, and (lean
    table) the clicked positions, or (record form) the fields of ``Interleaving.to_dict()``. The
    record form is the lean table plus ``ranks`` and ``ranking_lengths`` (and ``params``), or a
    ``record`` column holding the JSON of ``Interleaving.to_dict()``.
``clicks``
    One row per click, joined to the exposures by ``impression_id`` (de-duplicated).
``ab``
    One row per shown item (or per impression) of an A/B test of two policies, with the click and,
    for off-policy estimates, the logging policy's propensity (the Open Bandit Dataset's layout).
``production``
    One row per impression of a single production ranker (``query_id``, ``items``, ``clicks``);
    the click models' session frame (:mod:`interleave.clicks.sessions`) is a view of it
    (:func:`interleave.logs.production.to_sessions`).
``rankings``
    What two rankers would show: one row per (ranker, query, item) with a ``score`` or ``rank``.

Positions are 0-based everywhere. Clicks are always *clicked positions* (a list of ints), never a
mask, so a click beyond the shown list can be counted rather than silently lost.

:func:`check_columns` names every missing or mistyped column at once and shows the columns found;
:func:`detect_kind` picks the kind from the columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from interleave.errors import InvalidArgument

__all__ = [
    "KINDS",
    "SCHEMAS",
    "SUMMARY_SCHEMA",
    "Column",
    "check_columns",
    "describe_schema",
    "detect_kind",
]


def _is_id(dtype: pl.DataType) -> bool:
    return dtype.is_integer() or dtype == pl.String or dtype == pl.Categorical


def _is_int(dtype: pl.DataType) -> bool:
    return dtype.is_integer()


def _is_time(dtype: pl.DataType) -> bool:
    return isinstance(dtype, (pl.Datetime, pl.Date)) or dtype.is_numeric()


def _is_real(dtype: pl.DataType) -> bool:
    return dtype.is_numeric()


def _is_click(dtype: pl.DataType) -> bool:
    return dtype == pl.Boolean or dtype.is_integer()


def _is_string(dtype: pl.DataType) -> bool:
    return dtype == pl.String or dtype == pl.Categorical


def _list_of(inner: Callable[[pl.DataType], bool]) -> Callable[[pl.DataType], bool]:
    def check(dtype: pl.DataType) -> bool:
        return isinstance(dtype, (pl.List, pl.Array)) and inner(dtype.inner)

    return check


def _is_params(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Struct) or dtype == pl.String or dtype == pl.Null


@dataclass(frozen=True)
class Column:
    """One column of a log layout.

    Attributes
    ----------
    name
        Column name.
    dtype
        Human-readable accepted types (shown in errors).
    accepts
        Predicate on the polars dtype.
    required
        Whether every log of the kind must have it.
    meaning
        One line for the documentation and the errors.
    """

    name: str
    dtype: str
    accepts: Callable[[pl.DataType], bool]
    required: bool
    meaning: str


_ID = "int or String"
_TIME = "Datetime, Date or a number (seconds)"

_EXPOSURES = (
    Column("impression_id", _ID, _is_id, True, "unique id of the impression (request)"),
    Column("user_id", _ID, _is_id, False, "who saw it: the default unit of analysis"),
    Column("query_id", _ID, _is_id, False, "the query or context (per-query analysis)"),
    Column("timestamp", _TIME, _is_time, False, "when it was shown (curves over time)"),
    Column("method", "String", _is_string, True, "interleaving method, e.g. 'team_draft'"),
    Column("items", f"List of {_ID}", _list_of(_is_id), True, "shown item ids, top first"),
    Column(
        "teams", "List of int", _list_of(_is_int), True, "ranker credited per position, -1 none"
    ),
    Column("clicks", "List of int", _list_of(_is_int), False, "clicked positions (0-based)"),
    Column(
        "ranks",
        "List of List of int",
        _list_of(_list_of(_is_int)),
        False,
        "ranks[j][p]: rank of items[p] in ranker j's list, -1 absent (balanced, probabilistic, "
        "optimized credit read them)",
    ),
    Column(
        "ranking_lengths", "List of int", _list_of(_is_int), False, "length of each ranker's list"
    ),
    Column("params", "Struct or JSON String", _is_params, False, "the method's configuration"),
    Column(
        "schema_version", "int", _is_int, False, "version of Interleaving.to_dict() (record form)"
    ),
)

_CLICKS = (
    Column("impression_id", _ID, _is_id, True, "the impression clicked on"),
    Column("position", "int", _is_int, True, "clicked position (0-based)"),
    Column("timestamp", _TIME, _is_time, False, "when the click happened"),
)

_AB = (
    Column("policy", _ID, _is_id, True, "the policy (arm) that chose what was shown"),
    Column("click", "Boolean or int 0/1", _is_click, True, "whether the shown item was clicked"),
    Column("user_id", _ID, _is_id, False, "who saw it (sample-ratio check per user)"),
    Column("timestamp", _TIME, _is_time, False, "when it was shown (curves over time)"),
    Column("item_id", _ID, _is_id, False, "the shown item (off-policy estimates)"),
    Column("position", "int", _is_int, False, "the slot it was shown in (0-based)"),
    Column(
        "propensity",
        "float in (0, 1]",
        _is_real,
        False,
        "probability the logging policy showed this item here (off-policy estimates)",
    ),
)

_PRODUCTION = (
    Column("query_id", _ID, _is_id, True, "the query"),
    Column("items", f"List of {_ID}", _list_of(_is_id), True, "shown item ids, top first"),
    Column("clicks", "List of int", _list_of(_is_int), True, "clicked positions (0-based)"),
    Column("impression_id", _ID, _is_id, False, "unique id of the impression"),
    Column("user_id", _ID, _is_id, False, "who saw it"),
    Column("timestamp", _TIME, _is_time, False, "when it was shown"),
)

_RANKINGS = (
    Column("ranker", _ID, _is_id, True, "which ranker (two distinct values)"),
    Column("query_id", _ID, _is_id, True, "the query"),
    Column("item_id", _ID, _is_id, True, "the item ranked"),
    Column("score", "number", _is_real, False, "higher is better (give score or rank)"),
    Column("rank", "int", _is_int, False, "0-based rank, lower is better (give score or rank)"),
)

#: The layouts by kind.
SCHEMAS: dict[str, tuple[Column, ...]] = {
    "exposures": _EXPOSURES,
    "clicks": _CLICKS,
    "ab": _AB,
    "production": _PRODUCTION,
    "rankings": _RANKINGS,
}

#: Columns of every result's ``summary()`` frame: one row per quantity, its interval and test.
SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "quantity": pl.String,
    "estimate": pl.Float64,
    "low": pl.Float64,
    "high": pl.Float64,
    "pvalue": pl.Float64,
    "n": pl.Int64,
}

#: The kinds of a *log* (what ``evaluate`` judges); ``clicks`` and ``rankings`` accompany one.
KINDS = ("interleaving", "ab", "production")


def describe_schema(kind: str) -> str:
    """The layout of ``kind`` as a Markdown table (for READMEs and ``--help``).

    Examples
    --------
    >>> print(describe_schema("clicks").splitlines()[2])
    | impression_id | int or String | required | the impression clicked on |
    """
    columns = _schema_of(kind)
    lines = ["| column | type | | meaning |", "|---|---|---|---|"]
    for c in columns:
        need = "required" if c.required else "optional"
        lines.append(f"| {c.name} | {c.dtype} | {need} | {c.meaning} |")
    return "\n".join(lines)


def _schema_of(kind: str) -> tuple[Column, ...]:
    if kind not in SCHEMAS:
        msg = f"`kind` must be one of {sorted(SCHEMAS)}, got {kind!r}"
        raise InvalidArgument(msg)
    return SCHEMAS[kind]


def _found(schema: Mapping[str, pl.DataType], limit: int = 16) -> str:
    shown = [f"{name or '(unnamed)'} ({dtype})" for name, dtype in schema.items()]
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more or "none"


def check_columns(
    schema: Mapping[str, pl.DataType],
    kind: str,
    *,
    source: str = "the log",
    also_required: tuple[str, ...] = (),
) -> None:
    """Raise :class:`InvalidArgument` naming every missing or mistyped column of ``kind``.

    Parameters
    ----------
    schema
        Column name -> polars dtype (``frame.schema`` or ``lazy_frame.collect_schema()``).
    kind
        One of :data:`SCHEMAS`.
    source
        What to call the data in the message (a file name).
    also_required
        Optional columns this use needs (e.g. ``("propensity",)`` for off-policy estimates).

    Examples
    --------
    >>> import polars as pl
    >>> check_columns({"impression_id": pl.Int64, "position": pl.String}, "clicks")
    Traceback (most recent call last):
    ...
    interleave.errors.InvalidArgument: the log does not follow the 'clicks' schema: column \
`position` must be int, got String; columns found: impression_id (Int64), position (String)
    """
    columns = _schema_of(kind)
    problems = []
    for column in columns:
        dtype = schema.get(column.name)
        if dtype is None:
            if column.required or column.name in also_required:
                problems.append(
                    f"missing column `{column.name}` ({column.dtype}: {column.meaning})"
                )
        elif not column.accepts(dtype):
            problems.append(f"column `{column.name}` must be {column.dtype}, got {dtype}")
    if kind == "rankings" and "score" not in schema and "rank" not in schema:
        problems.append("missing column `score` or `rank` (one of them orders each ranker's list)")
    if problems:
        msg = (
            f"{source} does not follow the {kind!r} schema: {'; '.join(problems)}; "
            f"columns found: {_found(schema)}"
        )
        raise InvalidArgument(msg)


# Columns that only one kind has: enough to tell the kinds apart.
_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (
    ("exposures", frozenset({"teams"})),
    ("exposures", frozenset({"record"})),
    ("ab", frozenset({"policy"})),
    ("rankings", frozenset({"ranker"})),
    ("clicks", frozenset({"impression_id", "position"})),
    ("production", frozenset({"query_id", "items"})),
)


def detect_kind(schema: Mapping[str, pl.DataType], *, source: str = "the log") -> str:
    """The kind of a frame from its columns (``teams`` -> exposures, ``policy`` -> ab, ...).

    Examples
    --------
    >>> import polars as pl
    >>> detect_kind({"policy": pl.String, "click": pl.Int8})
    'ab'
    """
    names = set(schema)
    for kind, signature in _SIGNATURES:
        if signature <= names:
            return kind
    msg = (
        f"cannot tell what kind of log {source} is from its columns ({_found(schema)}): an "
        "interleaving log has `teams` (or a JSON `record`), click rows have `impression_id` and "
        "`position`, an A/B log has `policy`, a production log has `query_id` and `items`, "
        "rankings have `ranker`; rename the columns or pass the kind explicitly"
    )
    raise InvalidArgument(msg)
