"""A store's events as a log in the exposure/click schema, ready for ``interleave evaluate``.

:func:`exposures_frame` gives one row per served impression (columns of
:data:`interleave.logs.schema.SCHEMAS` ``["exposures"]``: ``impression_id``, ``user_id``,
``timestamp``, ``method``, ``items``, ``teams``, ``clicks``, ``ranks``, ``ranking_lengths``,
``params``), the clicks being those the experiment accepted (corrections applied), so evaluating
the frame offline gives the same wins and losses as the live result for the credited impressions.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from interleave.errors import InvalidArgument
from interleave.serving.stores import EventStore, open_store

__all__ = ["exposures_frame"]

_SCHEMA = {
    "impression_id": pl.String,
    "user_id": pl.String,
    "timestamp": pl.Float64,
    "method": pl.String,
    "items": pl.List(pl.String),
    "teams": pl.List(pl.Int64),
    "clicks": pl.List(pl.Int64),
    "ranks": pl.List(pl.List(pl.Int64)),
    "ranking_lengths": pl.List(pl.Int64),
    "params": pl.String,
    "credited": pl.Boolean,
}


def exposures_frame(store: Any, experiment: str) -> pl.DataFrame:
    """One row per impression of ``experiment`` in ``store`` (a path or an EventStore).

    ``items`` are strings when the experiment served str ids; int ids become ``Int64``.
    ``credited`` says whether the impression's window had closed when the store was read.
    """
    owned = not isinstance(store, EventStore)
    events = open_store(store)
    rows: dict[str, dict[str, Any]] = {}
    try:
        for event in events.read(experiment):
            kind = event.get("kind")
            if kind == "impression":
                record = event.get("record")
                if record is None:  # a rollout's A/B, canary or shadow arm: no merge was shown
                    msg = (
                        f"impression {event['impression']!r} of {experiment!r} has no "
                        "interleaving record (a rollout arm that showed one ranker's list); read "
                        "a rollout with interleave.serving.rollout_log"
                    )
                    raise InvalidArgument(msg)
                rows[event["impression"]] = {
                    "impression_id": event["impression"],
                    "user_id": event["user"],
                    "timestamp": float(event["at"]),
                    "method": record["method"],
                    "items": record["items"],
                    "teams": record["teams"],
                    "clicks": set(),
                    "ranks": record["ranks"],
                    "ranking_lengths": record["ranking_lengths"],
                    "params": json.dumps(record.get("params") or {}, sort_keys=True),
                    "credited": False,
                }
            elif kind == "click" and event["impression"] in rows:
                row = rows[event["impression"]]
                if "replace" in event:
                    row["clicks"] = set(event["replace"])
                else:
                    row["clicks"].add(event["position"])
            elif kind == "close" and event["impression"] in rows:
                rows[event["impression"]]["credited"] = True
    finally:
        if owned:
            events.close()
    records = [{**row, "clicks": sorted(row["clicks"])} for row in rows.values()]
    ints = bool(records) and all(
        isinstance(x, int) and not isinstance(x, bool) for r in records for x in r["items"]
    )
    schema = {**_SCHEMA, "items": pl.List(pl.Int64)} if ints else _SCHEMA
    if not ints:
        for record in records:
            record["items"] = [str(x) for x in record["items"]]
    return pl.DataFrame(records, schema=schema) if records else pl.DataFrame(schema=schema)
