"""Read log files lazily (Parquet, CSV, NDJSON) and check them against the one schema.

``scan_log(path)`` returns a :class:`LogSource`: the file's kind (from its columns, or as given)
and a polars ``LazyFrame`` in the schema of :mod:`interleave.logs.schema`. Nothing is read past
the header until the evaluation collects, so files larger than memory stream.

CSV cannot hold lists: list columns (``items``, ``teams``, ``clicks``, ``ranks``,
``ranking_lengths``) are written as JSON arrays (``"[3, 1, 2]"``) and decoded here. A ``record``
column holding the JSON of ``Interleaving.to_dict()`` is unpacked into the record's columns.

Empty, unreadable or corrupt files raise :class:`LogFileError` (an ``InvalidArgument``) naming the
file and what polars reported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from interleave.errors import InvalidArgument
from interleave.logs.schema import check_columns, detect_kind

__all__ = ["LogFileError", "LogSource", "collect", "read_open_bandit", "scan_log"]

_T = TypeVar("_T")

_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
}

# List columns as JSON text in CSV files, with the dtype to decode them to (items: see below).
_LIST_COLUMNS = {
    "teams": pl.List(pl.Int64),
    "clicks": pl.List(pl.Int64),
    "ranks": pl.List(pl.List(pl.Int64)),
    "ranking_lengths": pl.List(pl.Int64),
}


class LogFileError(InvalidArgument):
    """A log file is missing, empty, unreadable or corrupt.

    Attributes
    ----------
    path
        The file.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {problem}")


def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in _FORMATS:
        raise LogFileError(
            path,
            f"unknown file type {''.join(path.suffixes) or '(no extension)'!r}; use one of "
            f"{sorted(_FORMATS)} (optionally .gz for CSV)",
        )
    return _FORMATS[suffixes[-1]]


def guarded(path: str | os.PathLike[str], action: Callable[[], _T]) -> _T:
    """Run a polars action on ``path``, turning polars and OS errors into :class:`LogFileError`."""
    try:
        return action()
    except pl.exceptions.NoDataError as error:
        raise LogFileError(path, f"the file is empty ({error})") from None
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise LogFileError(path, f"cannot read it as a log: {first}") from None


def collect(frame: pl.LazyFrame, source: str) -> pl.DataFrame:
    """``frame.collect()`` with file errors reported as :class:`LogFileError` naming ``source``."""
    return guarded(source, frame.collect)


def _decode_json_lists(frame: pl.LazyFrame, schema: dict[str, Any], source: Path) -> pl.LazyFrame:
    decoded = []
    for name, dtype in schema.items():
        if dtype != pl.String:
            continue
        if name in _LIST_COLUMNS:
            decoded.append(pl.col(name).str.json_decode(_LIST_COLUMNS[name]))
        elif name == "items":
            # Ids are ints or strings: decide from the first value, like the rest of the library
            # (one id type per log).
            first = guarded(
                source, lambda: frame.select(pl.col("items").drop_nulls().first()).collect()
            )
            text = first.item() if first.height else None
            inner = pl.String if text is not None and '"' in text else pl.Int64
            decoded.append(pl.col("items").str.json_decode(pl.List(inner)))
    return frame.with_columns(decoded) if decoded else frame


def _unpack_records(frame: pl.LazyFrame, source: Path) -> pl.LazyFrame:
    """A ``record`` column of ``Interleaving.to_dict()`` JSON becomes the record's columns."""
    sample = guarded(source, lambda: frame.select(pl.col("record").drop_nulls().first()).collect())
    if not sample.height or sample.item() is None:
        raise LogFileError(source, "the `record` column holds no record")
    inner = pl.String if '"items": ["' in sample.item() or '"items":["' in sample.item() else None
    struct = pl.Struct(
        {
            "method": pl.String,
            "items": pl.List(inner or pl.Int64),
            "teams": pl.List(pl.Int64),
            "ranks": pl.List(pl.List(pl.Int64)),
            "ranking_lengths": pl.List(pl.Int64),
            "schema_version": pl.Int64,
        }
    )
    return frame.with_columns(pl.col("record").str.json_decode(struct)).unnest("record")


@dataclass(frozen=True)
class LogSource:
    """One log file, not read yet.

    Attributes
    ----------
    path
        The file.
    kind
        Its layout (see :mod:`interleave.logs.schema`).
    frame
        A polars ``LazyFrame`` in that layout.
    """

    path: str
    kind: str
    frame: pl.LazyFrame

    def __str__(self) -> str:
        return f"{self.path} ({self.kind})"


def scan_log(path: str | os.PathLike[str], *, kind: str | None = None) -> LogSource:
    """Open a log file lazily, detect (or check) its kind and validate its columns.

    Parameters
    ----------
    path
        A ``.parquet``, ``.csv`` (``.csv.gz``) or ``.ndjson``/``.jsonl`` file.
    kind
        ``"exposures"``, ``"clicks"``, ``"ab"``, ``"production"`` or ``"rankings"``; ``None``
        detects it from the columns.

    Raises
    ------
    LogFileError
        The file is missing, empty or unreadable.
    InvalidArgument
        A column is missing or mistyped (every one is named, with the columns found).
    """
    file = Path(path)
    if not file.is_file():
        raise LogFileError(file, "no such file")
    if file.stat().st_size == 0:
        raise LogFileError(file, "the file is empty")
    form = _format_of(file)
    if form == "parquet":
        frame = pl.scan_parquet(file)
    elif form == "csv":
        separator = "\t" if ".tsv" in [s.lower() for s in file.suffixes] else ","
        frame = pl.scan_csv(file, separator=separator, infer_schema_length=10_000)
    else:
        frame = pl.scan_ndjson(file, infer_schema_length=10_000)
    schema = dict(guarded(file, frame.collect_schema))
    if _is_open_bandit(schema) and kind in (None, "ab"):
        frame = _open_bandit_view(frame, file.parent.parent.name)
        schema = dict(guarded(file, frame.collect_schema))
    if "record" in schema and "items" not in schema:
        frame = _unpack_records(frame, file)
        schema = dict(guarded(file, frame.collect_schema))
    frame = _decode_json_lists(frame, schema, file)
    schema = dict(guarded(file, frame.collect_schema))
    found = detect_kind(schema, source=str(file)) if kind is None else kind
    check_columns(schema, found, source=str(file))
    return LogSource(str(file), found, frame)


_OPEN_BANDIT = ("timestamp", "item_id", "position", "click", "propensity_score")


def _is_open_bandit(schema: dict[str, Any]) -> bool:
    return "policy" not in schema and all(name in schema for name in _OPEN_BANDIT)


def _open_bandit_view(frame: pl.LazyFrame, policy: str) -> pl.LazyFrame:
    return frame.select(
        pl.lit(policy).alias("policy"),
        pl.col("timestamp").str.to_datetime(time_zone="UTC"),
        pl.col("item_id"),
        (pl.col("position") - 1).alias("position"),
        pl.col("click"),
        pl.col("propensity_score").alias("propensity"),
    )


def read_open_bandit(path: str | os.PathLike[str], *, policy: str | None = None) -> pl.LazyFrame:
    """An Open Bandit Dataset CSV (Saito et al. 2021) in the ``ab`` layout.

    The dataset's ``position`` (1, 2, 3) becomes 0-based, ``propensity_score`` becomes
    ``propensity``, and ``policy`` is taken from the folder (``random``/``bts``) unless given.
    One row is one shown item (an action in one slot). :func:`scan_log` recognises these files
    by their columns and reads them the same way.

    Parameters
    ----------
    path
        ``.../open_bandit_dataset_small/{random,bts}/{campaign}/{campaign}.csv.gz``.
    policy
        Name of the logging policy; default: the folder two levels up.
    """
    file = Path(path)
    if not file.is_file():
        raise LogFileError(file, "no such file")
    frame = pl.scan_csv(file, infer_schema_length=10_000)
    schema = dict(guarded(file, frame.collect_schema))
    if not _is_open_bandit(schema):
        missing = [c for c in _OPEN_BANDIT if c not in schema]
        raise LogFileError(
            file, f"not an Open Bandit Dataset file: missing {missing}; {_shown(schema)}"
        )
    return _open_bandit_view(frame, policy if policy is not None else file.parent.parent.name)


def _shown(schema: dict[str, Any], limit: int = 12) -> str:
    names = list(schema)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return "columns found: " + ", ".join(names[:limit]) + more
