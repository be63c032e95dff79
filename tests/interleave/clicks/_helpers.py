"""Helpers of the click-model tests: build session frames straight from numpy arrays."""

from __future__ import annotations

import numpy as np
import polars as pl


def sessions_frame(
    clicks: np.ndarray,
    *,
    items: np.ndarray | None = None,
    query: str | np.ndarray = "q",
    relevance: np.ndarray | None = None,
) -> pl.DataFrame:
    """A session log from (n, k) arrays: one query (or one per row), items, clicks, relevance."""
    n = clicks.shape[0]
    columns: dict[str, pl.Series] = {}
    if items is not None:
        columns["query"] = pl.Series(
            "query", np.broadcast_to(np.asarray(query, dtype=object), (n,)), dtype=pl.String
        )
        columns["items"] = pl.Series("items", np.asarray(items, dtype=np.int64)).cast(
            pl.List(pl.Int64)
        )
    if relevance is not None:
        columns["relevance"] = pl.Series("relevance", np.asarray(relevance, dtype=np.int64)).cast(
            pl.List(pl.Int64)
        )
    columns["clicks"] = pl.Series("clicks", np.asarray(clicks, dtype=bool)).cast(
        pl.List(pl.Boolean)
    )
    return pl.DataFrame(columns)


def random_lists(n: int, n_items: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` lists of ``k`` distinct items out of ``range(n_items)``, in random order.

    Random placement puts every item at every rank, which is what separates position effects
    from item effects in the fit.
    """
    return np.argsort(rng.random((n, n_items)), axis=1)[:, :k]
