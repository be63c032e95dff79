"""Offline ranking metrics: the ground truth that online comparisons are checked against.

NDCG with the exponential gain ``2**grade - 1`` and the ``1 / log2(rank + 1)`` discount
(Järvelin & Kekäläinen 2002; the form of the LETOR and interleaving-simulation literature).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from interleave._checks import check_int

__all__ = ["dcg", "ndcg"]


def dcg(grades: Sequence[float], k: int | None = None) -> float:
    """Discounted cumulative gain of grades listed in ranked order, cut at ``k``."""
    cut = len(grades) if k is None else check_int("k", k, minimum=1)
    return sum((2.0**g - 1.0) / math.log2(r + 2.0) for r, g in enumerate(grades[:cut]))


def ndcg(ranking: Sequence[Any], relevance: Mapping[Any, float], k: int | None = 10) -> float:
    """NDCG@k of ``ranking`` given each item's grade (items missing from ``relevance`` count 0).

    The ideal ordering sorts every graded item, not only the ranked ones; a query with no relevant
    item has NDCG 0 (LETOR's convention).

    Examples
    --------
    >>> round(ndcg(["a", "b", "c"], {"a": 0, "b": 2, "c": 1}, k=3), 4)
    0.659
    """
    ideal = dcg(sorted(relevance.values(), reverse=True), k)
    if ideal == 0.0:
        return 0.0
    return dcg([relevance.get(item, 0) for item in ranking], k) / ideal
