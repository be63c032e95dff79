"""Drawing lists from a solved Optimized distribution, one request or a batch at a time.

The program's solution is fixed per rankings; only the pick is per request, so both samplers
precompute everything a pick needs and a request costs a bisect (lists) or a walk (flow).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interleave.errors import InvalidArgument
from interleave.methods.optimized_graph import PrefixGraph

__all__ = ["FlowSampler", "ListSampler", "OptimizedSolution"]


class ListSampler:
    """Inverse CDF over an explicit support (the lists formulation): one uniform per list."""

    n_uniforms = 1

    def __init__(self, items: list[tuple], teams: list[tuple], probabilities: np.ndarray) -> None:
        self.items = items
        self.teams = teams
        self.probabilities = probabilities.tolist()
        cumulative = np.cumsum(probabilities)
        # Scaled to end at exactly 1, so a uniform in [0, 1) maps straight to a list.
        self.cumulative = (cumulative / cumulative[-1]).tolist()
        self.last = len(items) - 1
        # Per list, the shown items and teams as lists, built once (a request copies nothing).
        self._picks = [(list(i), list(t)) for i, t in zip(items, teams, strict=True)]
        self._records: dict[int, tuple[tuple, tuple, tuple]] = {}  # filled on first use

    def sample(self, u: Sequence[float]) -> tuple[list, list[int]]:
        """The list whose cumulative probability first exceeds ``u[0]`` (shared: do not mutate)."""
        i = bisect.bisect_right(self.cumulative, u[0])
        items, teams = self._picks[i if i <= self.last else self.last]
        return items, teams

    def sample_batch(
        self, u: np.ndarray, lookup: Mapping[Any, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Items (as ``lookup`` indices, int32) and teams (int8) for each row of uniforms."""
        chosen = np.minimum(
            np.searchsorted(np.array(self.cumulative), u[:, 0], side="right"), self.last
        )
        m = len(self.items[0])
        table = np.array([[lookup[x] for x in row] for row in self.items], dtype=np.int32)
        team_table = np.array(self.teams, dtype=np.int8).reshape(-1, m)
        return table.reshape(-1, m)[chosen], team_table[chosen]

    def sample_record(
        self, u: Sequence[float], positions: Sequence[Mapping[Any, int]]
    ) -> tuple[tuple, tuple, tuple]:
        """Items, teams and ranks (as tuples, for the record) of the list ``u`` picks.

        Per support list they are built once, on first use (``positions`` are the rankings'
        rank maps, the same for every request of this solution).
        """
        i = bisect.bisect_right(self.cumulative, u[0])
        i = i if i <= self.last else self.last
        record = self._records.get(i)
        if record is None:
            items = self.items[i]
            ranks = tuple(tuple(p.get(x, -1) for x in items) for p in positions)
            record = self._records[i] = (items, self.teams[i], ranks)
        return record

    def lists(self, limit: int) -> dict[tuple, float]:
        """``{items: probability}`` over the support."""
        return dict(zip(self.items, self.probabilities, strict=True))


class FlowSampler:
    """A walk down the prefix graph: at a fork, the first edge with probability ``take_first``.

    One uniform per position.
    """

    def __init__(self, graph: PrefixGraph, take_first: np.ndarray) -> None:
        self.m = graph.m
        self.n_uniforms = graph.m
        self.graph = graph
        self.take_first = take_first
        first = graph.first.tolist()
        n_out = graph.n_out.tolist()
        p = take_first.tolist()
        # Per node: (threshold, first edge); a node without a fork gets threshold 2 (never >=).
        self._step = [(p[v] if n_out[v] == 2 else 2.0, first[v]) for v in range(graph.n_nodes)]
        self._dst = graph.dst.tolist()
        self._items = graph.items
        self._teams = graph.teams.tolist()

    def sample(self, u: Sequence[float]) -> tuple[list, list[int]]:
        """Walk from the root: at a fork, the second edge when ``u[k] >= take_first``."""
        step, dst, edge_items, edge_teams = self._step, self._dst, self._items, self._teams
        node = 0
        items: list = []
        teams: list[int] = []
        for x in u[: self.m]:
            threshold, e = step[node]
            if x >= threshold:
                e += 1
            items.append(edge_items[e])
            teams.append(edge_teams[e])
            node = dst[e]
        return items, teams

    def sample_batch(
        self, u: np.ndarray, lookup: Mapping[Any, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Items (as ``lookup`` indices, int32) and teams (int8) for each row of uniforms."""
        g = self.graph
        node = np.zeros(u.shape[0], dtype=np.int64)
        edges = np.zeros((u.shape[0], self.m), dtype=np.int64)
        for k in range(self.m):
            e = g.first[node] + ((g.n_out[node] == 2) & (u[:, k] >= self.take_first[node]))
            edges[:, k] = e
            node = g.dst[e]
        edge_items = np.array([lookup[x] for x in g.items], dtype=np.int32)
        return edge_items[edges], g.teams[edges].astype(np.int8)

    def lists(self, limit: int) -> dict[tuple, float]:
        """``{items: probability}`` by enumerating the walks; more than ``limit`` raises."""
        out: dict[tuple, float] = {}
        stack = [(0, (), 1.0)]
        first, n_out = self.graph.first.tolist(), self.graph.n_out.tolist()
        take_first = self.take_first.tolist()
        while stack:
            node, prefix, p = stack.pop()
            if len(prefix) == self.m:
                out[prefix] = p
                if len(out) > limit:
                    msg = f"the distribution has more than limit={limit} lists; raise `limit`"
                    raise InvalidArgument(msg)
                continue
            e = first[node]
            split = (
                [(e, 1.0)]
                if n_out[node] == 1
                else [(e, take_first[node]), (e + 1, 1.0 - take_first[node])]
            )
            for edge, q in split:
                if q > 0:
                    stack.append((self._dst[edge], (*prefix, self._items[edge]), p * q))
        return out


@dataclass(frozen=True, eq=False)
class OptimizedSolution:
    """The distribution Optimized samples from, for one pair of rankings.

    Attributes
    ----------
    formulation
        ``"lists"`` (the paper's program over every candidate list) or ``"flow"`` (the program
        over the edges of the prefix graph).
    n_candidates
        Number of prefix-constrained candidate lists (exact; for ``"flow"`` they are not
        enumerated and the number can be astronomically large).
    n_support
        Lists with positive probability (``"lists"``) or edges with positive flow (``"flow"``).
    relaxed
        ``True`` when no unbiased distribution exists and this is the least-biased one.
    bias
        Per cut-off ``k`` (1..m), the expected credit of ranker 0 minus ranker 1 when the top
        ``k`` positions are clicked: all 0 (to ~1e-12) unless ``relaxed``. By linearity, zero at
        every cut-off makes the expected credit difference 0 under any click model that ignores
        the items (not the expected win/loss sign: see :class:`~interleave.methods.Optimized`).
    sensitivity
        For ``"lists"``, the paper's objective ``sum_L p_L s(L)`` (0..1); for ``"flow"``, the
        expected prefix imbalance it minimises.
    length
        Length ``m`` of every candidate list.
    sampler
        The :class:`ListSampler` or :class:`FlowSampler` that draws lists from it.
    """

    formulation: str
    n_candidates: int
    n_support: int
    relaxed: bool
    bias: tuple[float, ...]
    sensitivity: float
    length: int
    sampler: ListSampler | FlowSampler = field(repr=False)

    @property
    def n_uniforms(self) -> int:
        """Uniforms one draw takes: 1 for ``"lists"``, ``length`` for ``"flow"``."""
        return self.sampler.n_uniforms

    def sample(self, u: Sequence[float]) -> tuple[list, list[int]]:
        """The list (items, teams) chosen by the uniforms ``u`` (``n_uniforms`` of them)."""
        return self.sampler.sample(u)

    def sample_batch(
        self, u: np.ndarray, lookup: Mapping[Any, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row ``i`` of ``u`` (shape (n, n_uniforms)) drawn as :meth:`sample` would draw it.

        Returns items as indices ``lookup[item]`` (int32, (n, length)) and teams (int8).
        """
        return self.sampler.sample_batch(u, lookup)

    def lists(self, limit: int = 100_000) -> dict[tuple, float]:
        """``{items: probability}`` over the lists with positive probability.

        For ``"flow"`` the lists are enumerated from the graph; more than ``limit`` raises.
        """
        return self.sampler.lists(limit)
