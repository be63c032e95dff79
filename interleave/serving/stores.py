"""Durable event stores for a live experiment: what was shown, what was clicked, what was credited.

An experiment appends events and, after a restart, reads them back to resume where it stood. An
event is a flat JSON object with a ``kind`` (``"config"``, ``"impression"``, ``"click"``,
``"close"``), the ``experiment`` id, the ``impression`` id (empty for ``config``), the time ``at``
(seconds since the epoch) and the kind's own fields; :data:`EVENT_SCHEMA_VERSION` is in every one.

Stores:

- :class:`SQLiteStore`: the embedded default, a file path away. WAL journal; every ``append``
  commits before it returns, so an acknowledged event survives the process being killed (SIGKILL).
  ``synchronous=NORMAL`` is durable against a process crash; pass ``fsync=True`` to also survive
  a power loss (slower: every commit reaches the disk). With ``batch_interval`` it queues instead
  and commits many appends in one transaction (group commit; the sidecar acknowledges a request
  once ``committed`` has passed its events).
- :class:`NDJSONStore`: one JSON object per line, appended and flushed per ``append``; a partial
  last line (the process was killed mid-write) is skipped with a :class:`DataWarning`, never a
  crash, and the next append starts on a fresh line.
- :class:`MemoryStore`: for tests and simulations, nothing on disk.

All three are safe to call from many threads (the experiment serialises its appends anyway).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from interleave._checks import check_real
from interleave.errors import DataWarning, InvalidArgument

__all__ = [
    "EVENT_KINDS",
    "EVENT_SCHEMA_VERSION",
    "EventStore",
    "MemoryStore",
    "NDJSONStore",
    "SQLiteStore",
    "open_store",
]

EVENT_SCHEMA_VERSION = 1
EVENT_KINDS = ("config", "impression", "click", "close")


@runtime_checkable
class EventStore(Protocol):
    """Where an experiment's events go: appended durably, read back in order."""

    def append(self, events: list[dict[str, Any]]) -> None:
        """Store ``events`` durably, in order, before returning (the acknowledgement)."""
        ...

    def read(self, experiment: str | None = None) -> Iterator[dict[str, Any]]:
        """Every stored event in append order (of one ``experiment``, or all)."""
        ...

    def flush(self) -> None:
        """Make every appended event durable before returning (stores that batch)."""
        ...

    def close(self) -> None:
        """Release the file; appends after ``close`` are an error."""
        ...


def _one_shot(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """``encoder.encode`` without its per-call set-up: the same text and errors, ~1-1.7 us less.

    ``JSONEncoder.encode`` builds a new C encoder and a dict of the containers it has entered (to
    name a cycle) on every call: 2.4 -> 1.4 us for a click event, 8.1 -> 6.4 us for an impression,
    1.5 -> 0.5 us for an impression id's key (three calls per served and clicked request). Here
    one C encoder, made once with the same options, is reused; it keeps no such dict, so it holds
    no state between calls (threads may share it). Our events cannot hold a cycle, but if one ever
    did, that encoder would recurse until RecursionError: ``encoder`` itself then encodes it and
    raises its own error (``ValueError: Circular reference detected``).
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None or encoder.indent is not None:  # no C accelerator, or not its one-line form
        return encoder.encode
    encode_c = make(
        None,  # no cycle check: see above
        encoder.default,
        # What JSONEncoder.iterencode picks for these options:
        json.encoder.encode_basestring_ascii
        if encoder.ensure_ascii
        else json.encoder.encode_basestring,
        None,  # indent (checked above)
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )
    join = "".join

    def encode(value: Any) -> str:
        try:
            return join(encode_c(value, 0))
        except RecursionError:
            return encoder.encode(value)

    return encode


# allow_nan=False: a NaN or inf must fail here, not be written as invalid JSON. One encoder for
# every event: json.dumps with options builds a new encoder per call, a third of the cost.
_EVENT_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)
_encode_event = _one_shot(_EVENT_ENCODER)


def _encode(event: dict[str, Any]) -> str:
    try:
        return _encode_event(event)
    except (TypeError, ValueError) as error:
        msg = f"event {event.get('kind')!r} is not JSON-serialisable: {error}"
        raise InvalidArgument(msg) from None


def _row(event: dict[str, Any]) -> tuple[str, str, str]:
    """The SQLite row of ``event``, checked here so that no queued row can fail its commit."""
    body = _encode(event)
    try:
        if not body.isascii():  # (ASCII holds no surrogate: most events skip the encoding)
            body.encode()
    except UnicodeEncodeError as error:
        # json.loads accepts a lone surrogate ("\\ud800") that UTF-8, so SQLite, cannot hold;
        # queued, it would fail every batch it joined.
        msg = f"event {event.get('kind')!r} holds text that is not valid Unicode: {error}"
        raise InvalidArgument(msg) from None
    return event["experiment"], event["kind"], body


# Rows per INSERT statement: 3 parameters each, within the 999 of SQLite builds before 3.32.
_ROWS_PER_INSERT = 256


@functools.lru_cache(maxsize=_ROWS_PER_INSERT)
def _insert_sql(n_rows: int) -> str:
    return "INSERT INTO events (experiment, kind, body) VALUES " + ",".join(["(?,?,?)"] * n_rows)


class _Closing:
    """``with Store(...) as store:`` closes the store at the end of the block."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()  # type: ignore[attr-defined]


class MemoryStore(_Closing):
    """Events in a list: no durability, for tests and simulation."""

    def __init__(self) -> None:
        self._events: list[str] = []
        self._lock = threading.Lock()

    def append(self, events: list[dict[str, Any]]) -> None:
        """Keep ``events`` (JSON-encoded, so they read back exactly as a file store would)."""
        lines = [_encode(e) for e in events]
        with self._lock:
            self._events.extend(lines)

    def read(self, experiment: str | None = None) -> Iterator[dict[str, Any]]:
        """The kept events in order."""
        with self._lock:
            lines = list(self._events)
        for line in lines:
            event = json.loads(line)
            if experiment is None or event["experiment"] == experiment:
                yield event

    def flush(self) -> None:
        """Nothing to flush."""

    def close(self) -> None:
        """Nothing to release."""


class SQLiteStore(_Closing):
    """Events in one SQLite table, WAL journal: the embedded default.

    Parameters
    ----------
    path
        The database file (created if absent).
    fsync
        ``False`` (default): ``synchronous=NORMAL``, durable when the process is killed.
        ``True``: ``synchronous=FULL``, durable when the machine loses power too.
    batch_interval
        ``None`` (default): every ``append`` commits before it returns (an event is acknowledged
        when the call returns). A number of seconds: ``append`` only queues, and a writer thread
        commits the queue as one transaction at most this often (group commit: far cheaper per
        event on the serving path); an event is then acknowledged when :meth:`flush` returns
        (``close`` flushes), and a kill may lose at most the last interval's events.
        ``math.inf``: ``append`` only queues and no thread commits on a timer: the owner commits
        with :meth:`flush` when it needs an acknowledgement (the sidecar's group commit).

    Queued events are counted: ``appended`` and ``committed`` are positions in the append order
    (``committed <= appended``), so a caller that noted ``appended`` after its own append knows
    its events are durable once ``committed`` reaches that number. Commits run one at a time, in
    append order; a commit that fails leaves its events queued (retried by the next ``flush``)
    and raises.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: bool = False,
        batch_interval: float | None = None,
    ) -> None:
        if batch_interval is not None and not (
            isinstance(batch_interval, float) and batch_interval == math.inf
        ):
            batch_interval = check_real("batch_interval", batch_interval, low=0.0, low_open=True)
        if not isinstance(path, (str, os.PathLike)):
            msg = f"`path` must be a file path, got {path!r} of type {type(path).__name__}"
            raise InvalidArgument(msg)
        self.path = Path(path)
        if self.path.is_dir():
            msg = f"`path` {str(self.path)!r} is a folder; give the database file's path"
            raise InvalidArgument(msg)
        try:
            # check_same_thread=False: one connection, every use under self._lock.
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS events ("
                " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " experiment TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL)"
            )
            self._db.execute(
                "CREATE INDEX IF NOT EXISTS events_by_experiment ON events(experiment)"
            )
        except sqlite3.DatabaseError as error:
            msg = f"`path` {str(self.path)!r} is not a usable SQLite database: {error}"
            raise InvalidArgument(msg) from None
        self._lock = threading.Lock()  # the connection
        self._closed = False
        self._batch_interval = batch_interval
        self._queue: list[tuple[str, str, str]] = []
        self._queue_lock = threading.Lock()  # the queue and the counts; never held while committing
        # One commit at a time, taking the queue and committing it as one step, so batches reach
        # the table in append order even when the writer thread and a caller's flush race.
        self._commit_lock = threading.Lock()
        self._appended = 0
        self._committed = 0
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        if batch_interval is not None and batch_interval != math.inf:
            self._writer = threading.Thread(
                target=self._write_batches, name="interleave-sqlite-writer", daemon=True
            )
            self._writer.start()

    @property
    def appended(self) -> int:
        """How many events were appended through this store object (queued or committed)."""
        return self._appended

    @property
    def committed(self) -> int:
        """How many of the ``appended`` events are committed (the first ``committed`` of them)."""
        return self._committed

    def append(self, events: list[dict[str, Any]]) -> None:
        """Insert ``events``: committed when this returns (or, batched, queued for the writer)."""
        rows = [_row(e) for e in events]
        if self._batch_interval is not None:
            with self._queue_lock:
                if self._closed:
                    self._check_open()
                self._queue.extend(rows)
                self._appended += len(rows)
            return
        with self._commit_lock:
            self._commit(rows)
            with self._queue_lock:
                self._appended += len(rows)
                self._committed += len(rows)

    def flush(self) -> None:
        """Commit every queued event before returning (a no-op when not batching).

        If the commit fails, its events stay queued, first in line for the next ``flush``, and
        the error is raised: none of them was committed (one transaction).
        """
        if self._batch_interval is None:
            return
        with self._commit_lock:
            with self._queue_lock:
                rows, self._queue = self._queue, []
            try:
                self._commit(rows)
            except BaseException:
                with self._queue_lock:
                    self._queue[:0] = rows
                raise
            with self._queue_lock:
                self._committed += len(rows)

    def _write_batches(self) -> None:
        while not self._wake.wait(self._batch_interval):
            # A failed commit keeps its events queued: the next tick, a flush or close retries.
            with contextlib.suppress(Exception):
                self.flush()

    def _commit(self, rows: list[tuple[str, str, str]]) -> None:
        if not rows:
            return
        with self._lock:
            self._check_open()
            if len(rows) <= _ROWS_PER_INSERT:
                # One statement is its own transaction (autocommit) and one call into SQLite: the
                # GIL is released and taken back once, not once per row and statement (a commit
                # thread waits for it while the event loop runs; 16 rows: 67 us, 81-103 us with
                # BEGIN, executemany, COMMIT, on this machine).
                self._db.execute(_insert_sql(len(rows)), [v for row in rows for v in row])
                return
            self._db.execute("BEGIN")
            try:
                for start in range(0, len(rows), _ROWS_PER_INSERT):
                    chunk = rows[start : start + _ROWS_PER_INSERT]
                    self._db.execute(_insert_sql(len(chunk)), [v for row in chunk for v in row])
                self._db.execute("COMMIT")
            except BaseException:
                # A failed COMMIT can leave the transaction open (SQLITE_BUSY): end it, so the
                # next BEGIN works and the rows are not half in the table.
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def read(self, experiment: str | None = None) -> Iterator[dict[str, Any]]:
        """Stored events in append order (queued events are committed first)."""
        self.flush()
        with self._lock:
            self._check_open()
            if experiment is None:
                rows = self._db.execute("SELECT body FROM events ORDER BY seq").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT body FROM events WHERE experiment = ? ORDER BY seq", (experiment,)
                ).fetchall()
        for (body,) in rows:
            yield json.loads(body)

    def experiments(self) -> list[str]:
        """The ids of the experiments with events in this store, in order of first event."""
        with self._lock:
            self._check_open()
            rows = self._db.execute(
                "SELECT experiment FROM events GROUP BY experiment ORDER BY MIN(seq)"
            ).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        """Commit what is queued, then close (the WAL is checkpointed into the database file).

        The file is closed even when that last commit fails; the error is then raised.
        """
        if self._writer is not None:
            self._wake.set()
            self._writer.join()
        try:
            if self._batch_interval is not None and not self._closed:
                self.flush()
        finally:
            with self._commit_lock, self._queue_lock, self._lock:
                if not self._closed:
                    self._db.close()
                    self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            msg = f"the store at {str(self.path)!r} is closed; open a new SQLiteStore"
            raise InvalidArgument(msg)


class NDJSONStore(_Closing):
    """Events as newline-delimited JSON, appended and flushed to the OS on every ``append``.

    Parameters
    ----------
    path
        The file (created if absent; appended to if present).
    fsync
        Also ``os.fsync`` after each append (survives power loss; slower).
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        if not isinstance(path, (str, os.PathLike)):
            msg = f"`path` must be a file path, got {path!r} of type {type(path).__name__}"
            raise InvalidArgument(msg)
        self.path = Path(path)
        if self.path.is_dir():
            msg = f"`path` {str(self.path)!r} is a folder; give the NDJSON file's path"
            raise InvalidArgument(msg)
        self._fsync = fsync
        self._lock = threading.Lock()
        self._file = open(self.path, "ab")  # noqa: SIM115 - held open for the store's life
        # A killed writer may have left a partial last line: start the next record on a new one.
        if self._file.tell() > 0:
            with open(self.path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    self._file.write(b"\n")
                    self._file.flush()

    def append(self, events: list[dict[str, Any]]) -> None:
        """Write ``events`` as lines and flush them to the OS before returning."""
        data = "".join(_encode(e) + "\n" for e in events).encode()
        with self._lock:
            if self._file.closed:
                msg = f"the store at {str(self.path)!r} is closed; open a new NDJSONStore"
                raise InvalidArgument(msg)
            self._file.write(data)
            self._file.flush()
            if self._fsync:
                os.fsync(self._file.fileno())

    def flush(self) -> None:
        """Nothing to flush: every ``append`` already reached the OS."""

    def read(self, experiment: str | None = None) -> Iterator[dict[str, Any]]:
        """Stored events in order; a line that is not a whole JSON object is skipped, warned."""
        with self._lock:
            if not self._file.closed:
                self._file.flush()
        with open(self.path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    event = json.loads(raw)
                    if not isinstance(event, dict) or "experiment" not in event:
                        raise ValueError  # handled as a parse error
                except ValueError:
                    warnings.warn(
                        f"{self.path}:{number}: skipped a partial or corrupt event record "
                        f"({len(raw)} bytes; a writer was probably killed mid-write)",
                        DataWarning,
                        stacklevel=2,
                    )
                    continue
                if experiment is None or event["experiment"] == experiment:
                    yield event

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if not self._file.closed:
                self._file.close()


def open_store(where: Any) -> EventStore:
    """The store for ``where``: a path, a store (returned as is) or ``None`` (in memory).

    A path ending ``.ndjson``/``.jsonl`` is an NDJSON store, any other path a SQLite one.
    """
    if where is None:
        return MemoryStore()
    if isinstance(where, EventStore):
        return where
    if isinstance(where, (str, os.PathLike)):
        suffix = Path(where).suffix.lower()
        return NDJSONStore(where) if suffix in {".ndjson", ".jsonl"} else SQLiteStore(where)
    msg = (
        f"`store` must be a file path, an EventStore or None (in memory), got {where!r} of type "
        f"{type(where).__name__}"
    )
    raise InvalidArgument(msg)
