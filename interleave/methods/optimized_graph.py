"""The prefix graph of Optimized interleaving: every prefix-constrained list as a path.

A state is ``(a, b)``: the shown items are exactly ``A[:a] | B[:b]`` (both maximal). From a state
a list continues with ``A[a]`` or ``B[b]`` (one edge when they are the same item or a ranking is
used up). The state fixes the depth, so every path from the root to depth ``m`` is one candidate
list, and each list is one path.

The graph can be huge (disjoint rankings of 3,000 items: ~4.5 million nodes), so it is measured
before it is built: :func:`measure_prefix_graph` walks it one level at a time holding only that
level's states, counts edges and paths, and stops as soon as a bound is passed. Only a graph that
fits is then built by :func:`build_prefix_graph`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["GraphSize", "PrefixGraph", "build_prefix_graph", "measure_prefix_graph"]


@dataclass(frozen=True)
class GraphSize:
    """What a counting pass over the prefix graph saw.

    Attributes
    ----------
    m
        Length of every candidate list: ``min(length, distinct items)``.
    depth
        Levels counted: ``m`` when ``complete``, fewer when a bound stopped the count.
    n_edges
        Edges between the root and ``depth``.
    n_lists
        Paths from the root to ``depth``: all candidate lists when ``complete``, otherwise a lower
        bound on them (each prefix extends to at least one list).
    complete
        ``False`` when the count stopped at a bound.
    """

    m: int
    depth: int
    n_edges: int
    n_lists: int
    complete: bool


class _States:
    """Moves between states of two rankings (shared by the counting pass and the builder)."""

    __slots__ = ("a_list", "b_list", "in_a", "in_b", "n_a", "n_b")

    def __init__(self, a_list: tuple, b_list: tuple) -> None:
        self.a_list, self.b_list = a_list, b_list
        self.n_a, self.n_b = len(a_list), len(b_list)
        self.in_a = {x: i for i, x in enumerate(a_list)}
        self.in_b = {x: i for i, x in enumerate(b_list)}

    def depth_of(self, length: int) -> int:
        return min(length, len(self.in_a.keys() | self.in_b.keys()))

    def normalise(self, a: int, b: int) -> tuple[int, int]:
        """Advance past items already shown by the other ranking's prefix."""
        a_list, b_list, in_a, in_b, n_a, n_b = (
            self.a_list,
            self.b_list,
            self.in_a,
            self.in_b,
            self.n_a,
            self.n_b,
        )
        while True:
            moved = False
            while a < n_a and 0 <= in_b.get(a_list[a], -1) < b:
                a += 1
                moved = True
            while b < n_b and 0 <= in_a.get(b_list[b], -1) < a:
                b += 1
                moved = True
            if not moved:
                return a, b

    def options(self, a: int, b: int) -> Iterator[tuple[object, int, tuple[int, int]]]:
        """``(item, team, child state)`` of each edge out of ``(a, b)``; team -1: both rankers."""
        x = self.a_list[a] if a < self.n_a else None
        y = self.b_list[b] if b < self.n_b else None
        if x is not None and y is not None and x == y:
            yield x, -1, self.normalise(a + 1, b + 1)
            return
        if x is not None:
            yield x, 0, self.normalise(a + 1, b)
        if y is not None:
            yield y, 1, self.normalise(a, b + 1)


def measure_prefix_graph(
    a_list: tuple,
    b_list: tuple,
    length: int,
    *,
    max_edges: int,
    max_lists: int | None = None,
) -> GraphSize:
    """Count the graph's edges and paths level by level; stop once either bound is passed.

    Memory is one level of states; time is proportional to the edges counted, at most
    ``max_edges + 2 * (nodes of one level)``, whatever the rankings' size or ``length``.
    """
    states = _States(a_list, b_list)
    m = states.depth_of(length)
    level = {(0, 0): 1}  # state -> number of paths reaching it
    n_edges = 0
    n_lists = 1
    for depth in range(m):
        following: dict[tuple[int, int], int] = {}
        for (a, b), paths in level.items():
            for _, _, child in states.options(a, b):
                n_edges += 1
                following[child] = following.get(child, 0) + paths
        level = following
        n_lists = sum(level.values())
        if n_edges > max_edges or (max_lists is not None and n_lists > max_lists):
            return GraphSize(m, depth + 1, n_edges, n_lists, depth + 1 == m)
    return GraphSize(m, m, n_edges, n_lists, True)


@dataclass(frozen=True, eq=False)
class PrefixGraph:
    """The prefix graph as arrays.

    Nodes are numbered breadth first; the out-edges of node ``v`` are
    ``first[v] .. first[v] + n_out[v] - 1``. ``rank_a``/``rank_b`` hold the 1-based credit rank
    of each edge's item in A and B (absent: ``max(len(A), len(B)) + 1``).
    """

    m: int
    states: list[tuple[int, int]]
    first: np.ndarray
    n_out: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    pos: np.ndarray
    items: list
    teams: np.ndarray
    rank_a: np.ndarray
    rank_b: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of states."""
        return len(self.states)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return self.src.shape[0]

    def paths(self) -> np.ndarray:
        """All paths as an (n_lists, m) array of edge ids, in a fixed order."""
        paths = np.zeros((1, 0), dtype=np.int64)
        frontier = np.zeros(1, dtype=np.int64)
        for _ in range(self.m):
            reps = self.n_out[frontier]
            paths = np.repeat(paths, reps, axis=0)
            starts = np.repeat(self.first[frontier], reps)
            offsets = np.arange(starts.shape[0]) - np.repeat(np.cumsum(reps) - reps, reps)
            edges = starts + offsets
            paths = np.concatenate([paths, edges[:, None]], axis=1)
            frontier = self.dst[edges]
        return paths


def build_prefix_graph(a_list: tuple, b_list: tuple, length: int) -> PrefixGraph:
    """Build the graph; measure it first (:func:`measure_prefix_graph`), it can be huge."""
    states_of = _States(a_list, b_list)
    m = states_of.depth_of(length)
    index = {(0, 0): 0}
    states = [(0, 0)]
    first: list[int] = []
    n_out: list[int] = []
    src: list[int] = []
    dst: list[int] = []
    pos: list[int] = []
    items: list = []
    teams: list[int] = []
    frontier = [0]
    for depth in range(m):
        next_frontier = []
        for v in frontier:  # breadth-first: nodes are processed in the order they were numbered
            first.append(len(src))
            count = 0
            for item, team, child in states_of.options(*states[v]):
                node = index.get(child)
                if node is None:
                    node = index[child] = len(states)
                    states.append(child)
                    next_frontier.append(node)
                src.append(v)
                dst.append(node)
                pos.append(depth)
                items.append(item)
                teams.append(team)
                count += 1
            n_out.append(count)
        frontier = next_frontier
    n_edges = len(src)
    first.extend([n_edges] * (len(states) - len(first)))
    n_out.extend([0] * (len(states) - len(n_out)))
    in_a, in_b = states_of.in_a, states_of.in_b
    absent = max(len(a_list), len(b_list)) + 1
    return PrefixGraph(
        m=m,
        states=states,
        first=np.array(first, dtype=np.int64),
        n_out=np.array(n_out, dtype=np.int64),
        src=np.array(src, dtype=np.int64),
        dst=np.array(dst, dtype=np.int64),
        pos=np.array(pos, dtype=np.int64),
        items=items,
        teams=np.array(teams, dtype=np.int64),
        rank_a=np.array([in_a[x] + 1 if x in in_a else absent for x in items], dtype=np.float64),
        rank_b=np.array([in_b[x] + 1 if x in in_b else absent for x in items], dtype=np.float64),
    )
