"""Many impressions of the same rankings as numpy arrays: the batch path of simulation.

Items are indices into ``item_ids`` (the union of the rankings, in first-seen order), so that
relevance or click-model parameters of the shown items are one fancy-index away:
``relevance_of_union[batch.items]``. Positions past the end of a shorter list hold ``-1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interleave.ranking import ABSENT, Interleaving

__all__ = ["InterleavingBatch", "union_index"]


def union_index(lists: Sequence[Sequence]) -> tuple[tuple, np.ndarray]:
    """The union of the rankings' ids (first-seen order) and the rank table.

    ``rank_table[j, u]`` is the 0-based rank of ``item_ids[u]`` in ranking ``j``, or -1.
    """
    index: dict[Any, int] = {}
    for ranking in lists:
        for item in ranking:
            index.setdefault(item, len(index))
    rank_table = np.full((len(lists), len(index)), ABSENT, dtype=np.int32)
    for j, ranking in enumerate(lists):
        rank_table[j, [index[item] for item in ranking]] = np.arange(len(ranking), dtype=np.int32)
    return tuple(index), rank_table


@dataclass(frozen=True, eq=False)
class InterleavingBatch:
    """``n_impressions`` interleavings of the same rankings.

    Attributes
    ----------
    method, params
        As in :class:`~interleave.ranking.Interleaving`.
    item_ids
        The union of the rankings' ids; ``items`` index into it.
    items
        int32 array (n_impressions, length): shown items as indices into ``item_ids``, -1 past
        the end of a shorter list.
    teams
        int8 array (n_impressions, length): the ranker each position is credited to, -1 none.
    rank_table
        int32 array (n_rankers, n_union): rank of each union item in each ranking, -1 absent.
    ranking_lengths
        Length of each input ranking.
    """

    method: str
    params: tuple[tuple[str, Any], ...]
    item_ids: tuple
    items: np.ndarray = field(repr=False)
    teams: np.ndarray = field(repr=False)
    rank_table: np.ndarray = field(repr=False)
    ranking_lengths: tuple[int, ...]

    def __len__(self) -> int:
        return self.items.shape[0]

    @property
    def n_rankers(self) -> int:
        """Number of rankers compared."""
        return self.rank_table.shape[0]

    @property
    def ranks(self) -> np.ndarray:
        """int32 (n_rankers, n_impressions, length): rank of each shown item, -1 absent or pad."""
        safe = np.where(self.items >= 0, self.items, 0)
        ranks = self.rank_table[:, safe]
        ranks[:, self.items < 0] = ABSENT
        return ranks

    def __getitem__(self, index: int) -> Interleaving:
        row = self.items[index]
        shown = row[row >= 0]
        n = shown.shape[0]
        return Interleaving(
            method=self.method,
            items=tuple(self.item_ids[u] for u in shown.tolist()),
            teams=tuple(self.teams[index, :n].tolist()),
            ranks=tuple(tuple(r.tolist()) for r in self.rank_table[:, shown]),
            ranking_lengths=self.ranking_lengths,
            params=self.params,
        )

    @classmethod
    def from_records(
        cls,
        method: str,
        params: tuple[tuple[str, Any], ...],
        lists: Sequence[Sequence],
        records: Sequence[Interleaving],
        length: int,
    ) -> InterleavingBatch:
        """Pack per-request records (e.g. from a loop) into a batch."""
        item_ids, rank_table = union_index(lists)
        lookup = {item: u for u, item in enumerate(item_ids)}
        items = np.full((len(records), length), -1, dtype=np.int32)
        teams = np.full((len(records), length), -1, dtype=np.int8)
        for i, record in enumerate(records):
            n = len(record.items)
            items[i, :n] = [lookup[x] for x in record.items]
            teams[i, :n] = record.teams
        return cls(method, params, item_ids, items, teams, rank_table, tuple(len(r) for r in lists))
