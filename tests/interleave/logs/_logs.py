"""Small logs for the tests: made by the real methods, so every record is one they could log."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl

from interleave import Interleaving
from interleave.methods.base import Interleaver


def make_records(
    method: Interleaver, n: int, *, seed: int = 0, n_items: int = 8, depth: int = 5
) -> list[tuple[Interleaving, list[int]]]:
    """``n`` impressions of ``method`` on random rankings, each with random clicked positions."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        a = rng.permutation(n_items)[: int(rng.integers(2, depth + 1))].tolist()
        b = rng.permutation(n_items)[: int(rng.integers(2, depth + 1))].tolist()
        shown = method.interleave([a, b], key=f"imp-{i}", seed=seed)
        clicks = np.flatnonzero(rng.random(len(shown.items)) < 0.3).tolist()
        records.append((shown, clicks))
    return records


def lean_frame(
    records: list[tuple[Interleaving, list[int]]],
    *,
    users: Any = None,
    with_ranks: bool = True,
    with_clicks: bool = True,
    timestamps: Any = None,
) -> pl.DataFrame:
    """The lean exposures layout of ``records`` (impression ids 0..n-1)."""
    n = len(records)
    columns: dict[str, Any] = {
        "impression_id": list(range(n)),
        "user_id": [f"u{i % 7}" for i in range(n)] if users is None else list(users),
        "query_id": [f"q{i % 5}" for i in range(n)],
        "method": [r.method for r, _ in records],
        "items": [list(r.items) for r, _ in records],
        "teams": [list(r.teams) for r, _ in records],
    }
    if with_clicks:
        columns["clicks"] = [list(c) for _, c in records]
    if with_ranks:
        columns["ranks"] = [[list(row) for row in r.ranks] for r, _ in records]
        columns["ranking_lengths"] = [list(r.ranking_lengths) for r, _ in records]
        columns["params"] = [json.dumps(dict(r.params), sort_keys=True) for r, _ in records]
    if timestamps is not None:
        columns["timestamp"] = list(timestamps)
    schema = {
        "impression_id": pl.Int64,
        "user_id": pl.String,
        "query_id": pl.String,
        "method": pl.String,
        "items": pl.List(pl.Int64),
        "teams": pl.List(pl.Int64),
        "clicks": pl.List(pl.Int64),
        "ranks": pl.List(pl.List(pl.Int64)),
        "ranking_lengths": pl.List(pl.Int64),
        "params": pl.String,
        "timestamp": pl.Float64,
    }
    return pl.DataFrame(columns, schema={k: v for k, v in schema.items() if k in columns})


def click_rows(records: list[tuple[Interleaving, list[int]]]) -> pl.DataFrame:
    """The clicks of ``records`` as separate rows (impression_id, position)."""
    ids = [i for i, (_, clicks) in enumerate(records) for _ in clicks]
    positions = [p for _, clicks in records for p in clicks]
    return pl.DataFrame(
        {"impression_id": ids, "position": positions},
        schema={"impression_id": pl.Int64, "position": pl.Int64},
    )
