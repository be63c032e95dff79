"""Optimized interleaving: a distribution over prefix-constrained lists found by a linear program.

Radlinski & Craswell, "Optimized interleaving for online retrieval evaluation", WSDM 2013.
Relaxation of infeasible programs after Manabe et al. (SIGIR 2017).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from interleave._checks import check_int, check_one_of
from interleave.batch import InterleavingBatch, union_index
from interleave.credit import Credit, CreditBatch
from interleave.errors import InvalidArgument
from interleave.keys import as_generator
from interleave.methods.base import Interleaver, Randomness
from interleave.ranking import ABSENT, Interleaving, validate_rankings

__all__ = ["Optimized", "OptimizedInfeasible", "OptimizedSolution", "TooManyCandidates"]

CREDITS = ("inverse", "linear", "negative")
FORMULATIONS = ("auto", "lists", "flow")
#: Largest prefix graph (edges) the flow formulation builds an LP for: about 1 s with HiGHS on
#: 2 cores (50%-overlap rankings: 6,700 edges and 0.3 s at length 100, 22,000 and 1.3 s at 150).
MAX_GRAPH_EDGES = 20_000
#: Solutions kept by the cache (per rankings, length and configuration).
CACHE_SIZE = 256
# HiGHS works to 1e-7 by default; unbiasedness is pinned to 1e-9, so ask for more.
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


class OptimizedInfeasible(InvalidArgument):
    """No distribution over the candidate lists is unbiased under random clicks (infeasible LP)."""


class TooManyCandidates(InvalidArgument):
    """The rankings have more candidate lists (or a larger prefix graph) than the configured cap."""


# -- the prefix graph -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _PrefixGraph:
    """Every prefix-constrained list as a path in a graph of states.

    A state is ``(a, b)``: the shown items are exactly ``A[:a] | B[:b]`` (both maximal). From a
    state, a list continues with ``A[a]`` or ``B[b]`` (one edge when they are the same item or a
    ranking is used up). The state fixes the depth, so every path from the root to depth ``m`` is
    one candidate list, and each list is one path. Nodes are numbered breadth first; the out-edges
    of node ``v`` are ``first[v] .. first[v] + n_out[v] - 1``.
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
    rank_a: np.ndarray  # 1-based credit rank of the edge's item in A (absent: max length + 1)
    rank_b: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.states)

    def n_lists(self) -> int:
        """Number of candidate lists (paths), exactly: a Python int, possibly astronomical."""
        count = [1] * self.n_nodes
        first = self.first.tolist()
        n_out = self.n_out.tolist()
        dst = self.dst.tolist()
        for v in range(self.n_nodes - 1, -1, -1):
            if n_out[v]:
                count[v] = sum(count[dst[e]] for e in range(first[v], first[v] + n_out[v]))
        return count[0]

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


def _build_graph(a_list: tuple, b_list: tuple, length: int) -> _PrefixGraph:
    n_a, n_b = len(a_list), len(b_list)
    in_a = {x: i for i, x in enumerate(a_list)}
    in_b = {x: i for i, x in enumerate(b_list)}
    m = min(length, len(in_a.keys() | in_b.keys()))

    def normalise(a: int, b: int) -> tuple[int, int]:
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
            a, b = states[v]
            x = a_list[a] if a < n_a else None
            y = b_list[b] if b < n_b else None
            if x is not None and y is not None and x == y:
                options = [(x, -1, a + 1, b + 1)]
            else:
                options = []
                if x is not None:
                    options.append((x, 0, a + 1, b))
                if y is not None:
                    options.append((y, 1, a, b + 1))
            first.append(len(src))
            n_out.append(len(options))
            for item, team, na, nb in options:
                child = normalise(na, nb)
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
        frontier = next_frontier
    n_edges = len(src)
    first.extend([n_edges] * (len(states) - len(first)))
    n_out.extend([0] * (len(states) - len(n_out)))
    absent = max(n_a, n_b) + 1
    return _PrefixGraph(
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


def _credit_difference(credit: str, rank_a: np.ndarray, rank_b: np.ndarray) -> np.ndarray:
    """Per clicked item, ranker A's credit minus ranker B's (the paper's delta)."""
    if credit == "inverse":
        return 1.0 / rank_a - 1.0 / rank_b
    return rank_b - rank_a  # linear rank difference; "negative" gives the same difference


# -- the solution ---------------------------------------------------------------------------------


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
        the items (not the expected win/loss sign: see :class:`Optimized`).
    sensitivity
        For ``"lists"``, the paper's objective ``sum_L p_L s(L)`` (0..1); for ``"flow"``, the
        expected prefix imbalance it minimises (see :class:`Optimized`).
    length
        Length ``m`` of every candidate list.
    """

    formulation: str
    n_candidates: int
    n_support: int
    relaxed: bool
    bias: tuple[float, ...]
    sensitivity: float
    length: int
    _sampler: Any = field(repr=False)

    def sample(self, u: Sequence[float]) -> tuple[list, list[int]]:
        """The list (items, teams) chosen by the uniforms ``u`` (``length`` of them, in [0, 1))."""
        return self._sampler.sample(u)

    def lists(self, limit: int = 100_000) -> dict[tuple, float]:
        """``{items: probability}`` over the lists with positive probability.

        For ``"flow"`` the lists are enumerated from the graph; more than ``limit`` raises.
        """
        return self._sampler.lists(limit)


class _ListSampler:
    """Inverse CDF over an explicit support (the lists formulation); uses ``u[0]`` only."""

    def __init__(self, items: list[tuple], teams: list[tuple], probabilities: np.ndarray) -> None:
        self.items = items
        self.teams = teams
        self.probabilities = probabilities.tolist()
        self.cumulative = np.cumsum(probabilities).tolist()

    def sample(self, u: Sequence[float]) -> tuple[list, list[int]]:
        i = min(
            bisect.bisect_right(self.cumulative, u[0] * self.cumulative[-1]), len(self.items) - 1
        )
        return list(self.items[i]), list(self.teams[i])

    def sample_index(self, u: np.ndarray) -> np.ndarray:
        index = np.searchsorted(np.array(self.cumulative), u * self.cumulative[-1], side="right")
        return np.minimum(index, len(self.items) - 1)

    def lists(self, limit: int) -> dict[tuple, float]:
        return dict(zip(self.items, self.probabilities, strict=True))


class _FlowSampler:
    """A walk down the prefix graph: at a fork, the first edge with probability ``take_first``."""

    def __init__(self, graph: _PrefixGraph, take_first: np.ndarray) -> None:
        self.m = graph.m
        self.first = graph.first.tolist()
        self.n_out = graph.n_out.tolist()
        self.dst = graph.dst.tolist()
        self.items = graph.items
        self.teams = graph.teams.tolist()
        self.take_first = take_first.tolist()
        self.graph = graph
        self.take_first_array = take_first

    def sample(self, u: Sequence[float]) -> tuple[list, list[int]]:
        node = 0
        items: list = []
        teams: list[int] = []
        for k in range(self.m):
            e = self.first[node]
            if self.n_out[node] == 2 and u[k] >= self.take_first[node]:
                e += 1
            items.append(self.items[e])
            teams.append(self.teams[e])
            node = self.dst[e]
        return items, teams

    def sample_edges(self, u: np.ndarray) -> np.ndarray:
        g = self.graph
        node = np.zeros(u.shape[0], dtype=np.int64)
        out = np.zeros((u.shape[0], self.m), dtype=np.int64)
        for k in range(self.m):
            e = g.first[node] + ((g.n_out[node] == 2) & (u[:, k] >= self.take_first_array[node]))
            out[:, k] = e
            node = g.dst[e]
        return out

    def lists(self, limit: int) -> dict[tuple, float]:
        out: dict[tuple, float] = {}
        stack = [(0, (), 1.0)]
        while stack:
            node, prefix, p = stack.pop()
            if len(prefix) == self.m:
                out[prefix] = p
                if len(out) > limit:
                    msg = f"the distribution has more than limit={limit} lists; raise `limit`"
                    raise InvalidArgument(msg)
                continue
            e = self.first[node]
            split = (
                [(e, 1.0)]
                if self.n_out[node] == 1
                else [(e, self.take_first[node]), (e + 1, 1.0 - self.take_first[node])]
            )
            for edge, q in split:
                if q > 0:
                    stack.append((self.dst[edge], (*prefix, self.items[edge]), p * q))
        return out


# -- the linear programs --------------------------------------------------------------------------


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(
            np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
            + np.where(q > 0, q * np.log2(np.where(q > 0, q, 1.0)), 0.0)
        )
    return h


def _list_sensitivity(signs: np.ndarray) -> np.ndarray:
    """The paper's sensitivity of each list: ``(w_A + w_B) * H(w_A / (w_A + w_B))``.

    ``signs[L, i]`` is +1 when a click at position ``i`` credits A, -1 B, 0 a tie; a random user
    clicks position ``i`` with probability ``f(i) ∝ 1/i`` (the paper's footnote 4; normalised so
    that ``w_A + w_B + w_T = 1``). ``w_A + w_B`` is the chance a click decides anything and ``H``
    the entropy of who it favours: a list whose clicks always favour one ranker tells nothing.
    """
    m = signs.shape[1]
    f = 1.0 / np.arange(1, m + 1)
    f /= f.sum()
    w_a = (signs > 0) @ f
    w_b = (signs < 0) @ f
    decided = w_a + w_b
    share = np.divide(w_a, decided, out=np.full_like(decided, 0.5), where=decided > 0)
    return decided * _binary_entropy(share)


def _linprog(c, a_eq, b_eq, a_ub=None, b_ub=None, method="highs"):
    """HiGHS with tight tolerances; on a solver error (not a verdict), retry with dual simplex.

    Interior point can end in "Solve error" on an infeasible program instead of certifying it;
    the simplex settles it.
    """
    attempts = [(method, _HIGHS), ("highs-ds", _HIGHS), ("highs-ds", {})]
    for solver, options in attempts if method != "highs-ds" else attempts[1:]:
        result = linprog(
            c,
            A_ub=a_ub,
            b_ub=b_ub,
            A_eq=a_eq,
            b_eq=b_eq,
            bounds=(0, None),
            method=solver,
            options=options,
        )
        if result.status in (0, 2):  # optimal or proven infeasible
            break
    return result


def _solve_program(
    cost: np.ndarray,
    structure: Any,
    structure_rhs: np.ndarray,
    bias_rows: Any,
    relax: bool,
    method: str = "highs",
) -> tuple[np.ndarray, bool] | None:
    """``min cost @ x`` over ``x >= 0`` with ``structure @ x = rhs`` and ``bias_rows @ x = 0``.

    Returns ``(x, relaxed)``, or ``None`` when infeasible and not ``relax``. Relaxed (Manabe et
    al. 2017 style, made lexicographic): first the least total absolute bias over cut-offs
    ``sum_k |cumulative bias_k|``, then the best cost among distributions with that bias.
    """
    a_eq = sparse.vstack([structure, bias_rows], format="csr")
    b_eq = np.concatenate([structure_rhs, np.zeros(bias_rows.shape[0])])
    result = _linprog(cost, a_eq, b_eq, method=method)
    if result.status == 0:
        return result.x, False
    if result.status == 2 and not relax:
        return None
    # Proven infeasible, or HiGHS could not tell (numerical trouble, seen on long lists of unequal
    # length): the least-biased program is always feasible and settles it either way.
    x, least = _least_biased(cost, structure, structure_rhs, bias_rows, method)
    if result.status != 2 and least <= _UNBIASED_TOLERANCE:
        return x, False
    if not relax:
        return None
    return x, True


#: Total absolute bias over cut-offs below which the least-biased program counts as unbiased.
_UNBIASED_TOLERANCE = 1e-9


def _least_biased(
    cost: np.ndarray,
    structure: Any,
    structure_rhs: np.ndarray,
    bias_rows: Any,
    method: str,
) -> tuple[np.ndarray, float]:
    """The distribution with the least total absolute bias, best ``cost`` among those; its bias."""
    m = bias_rows.shape[0]
    n = structure.shape[1]
    cumulative = sparse.csr_array(np.tril(np.ones((m, m)))) @ sparse.csr_array(bias_rows)
    eye = sparse.identity(m, format="csr")
    a_ub = sparse.vstack(
        [sparse.hstack([cumulative, -eye]), sparse.hstack([-cumulative, -eye])], format="csr"
    )
    b_ub = np.zeros(2 * m)
    a_eq = sparse.hstack([structure, sparse.csr_array((structure.shape[0], m))], format="csr")
    stage1 = _linprog(
        np.concatenate([np.zeros(n), np.ones(m)]), a_eq, structure_rhs, a_ub, b_ub, method
    )
    if stage1.status != 0:  # pragma: no cover - the relaxed program is always feasible
        msg = f"the relaxed optimized-interleaving LP failed: {stage1.message}"
        raise InvalidArgument(msg)
    least = stage1.fun
    budget = sparse.csr_array(np.concatenate([np.zeros(n), np.ones(m)])[None, :])
    stage2 = _linprog(
        np.concatenate([cost, np.zeros(m)]),
        a_eq,
        structure_rhs,
        sparse.vstack([a_ub, budget], format="csr"),
        np.concatenate([b_ub, [least * (1 + 1e-7) + 1e-10]]),
        method,
    )
    x = stage2.x if stage2.status == 0 else stage1.x
    return x[:n], float(least)


def _polish(x: np.ndarray, rows: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Re-solve the equalities on the support of a vertex solution in least squares.

    HiGHS meets them to its tolerance (~1e-10); the support of a vertex has at most as many lists
    as there are equalities, so a least-squares solve on it meets them to rounding (~1e-15).
    """
    support = x > 1e-12
    if not support.any():  # pragma: no cover - a feasible solution has positive mass
        return x
    exact, *_ = np.linalg.lstsq(rows[:, support], rhs, rcond=None)
    if (
        exact.min() < 0
        or np.abs(rows[:, support] @ exact - rhs).max() > np.abs(rows @ x - rhs).max()
    ):
        return x
    out = np.zeros_like(x)
    out[support] = exact
    return out


def _solve_lists(
    graph: _PrefixGraph, credit: str, relax: bool, n_candidates: int
) -> OptimizedSolution:
    paths = graph.paths()
    delta = _credit_difference(credit, graph.rank_a, graph.rank_b)[paths]  # (lists, m)
    signs = np.sign(graph.rank_b - graph.rank_a)[paths]
    sensitivity = _list_sensitivity(signs)
    n = paths.shape[0]
    solved = _solve_program(
        -sensitivity,
        sparse.csr_array(np.ones((1, n))),
        np.ones(1),
        sparse.csr_array(delta.T),
        relax,
    )
    if solved is None:
        return None
    x, relaxed = solved
    x = np.clip(x, 0.0, None)
    if not relaxed:
        rows = np.vstack([np.ones(n), delta.T])
        rhs = np.concatenate([[1.0], np.zeros(graph.m)])
        x = _polish(x, rows, rhs)
    x /= x.sum()
    keep = np.flatnonzero(x > 0)
    items = [tuple(graph.items[e] for e in path) for path in paths[keep].tolist()]
    teams = [tuple(graph.teams[path].tolist()) for path in paths[keep]]
    bias = np.cumsum(delta.T @ x)
    return OptimizedSolution(
        formulation="lists",
        n_candidates=n_candidates,
        n_support=len(keep),
        relaxed=relaxed,
        bias=tuple(float(b) for b in bias),
        sensitivity=float(sensitivity @ x),
        length=graph.m,
        _sampler=_ListSampler(items, teams, x[keep]),
    )


def _prefix_imbalance(graph: _PrefixGraph) -> np.ndarray:
    """Per edge, ``f(position) * |a - b|`` of the state it leads to (the flow program's cost)."""
    states = np.array(graph.states, dtype=np.float64)
    imbalance = np.abs(states[:, 0] - states[:, 1])[graph.dst]
    f = 1.0 / np.arange(1, graph.m + 1)
    f /= f.sum()
    return f[graph.pos] * imbalance


def _solve_flow(
    graph: _PrefixGraph, credit: str, relax: bool, n_candidates: int
) -> OptimizedSolution:
    n_edges = graph.src.shape[0]
    inner = np.flatnonzero(graph.n_out > 0)  # nodes above depth m: flow in = flow out
    row_of = np.full(graph.n_nodes, -1)
    row_of[inner] = np.arange(inner.shape[0])
    edges = np.arange(n_edges)
    into = row_of[graph.dst] >= 0
    conservation = sparse.csr_array(
        (
            np.concatenate([np.ones(n_edges), -np.ones(into.sum())]),
            (
                np.concatenate([row_of[graph.src], row_of[graph.dst[into]]]),
                np.concatenate([edges, edges[into]]),
            ),
        ),
        shape=(inner.shape[0], n_edges),
    )
    rhs = np.zeros(inner.shape[0])
    rhs[row_of[0]] = 1.0
    delta = _credit_difference(credit, graph.rank_a, graph.rank_b)
    bias_rows = sparse.csr_array((delta, (graph.pos, edges)), shape=(graph.m, n_edges))
    cost = _prefix_imbalance(graph)
    # Interior point (with crossover to a vertex) is ~1.5x faster than simplex on these sparse,
    # network-like programs (0.3 s at length 100).
    solved = _solve_program(cost, conservation, rhs, bias_rows, relax, method="highs-ipm")
    if solved is None:
        return None
    flow, relaxed = solved
    flow = np.clip(flow, 0.0, None)
    # Walk probabilities at each node; the flow the walk actually induces is recomputed from them,
    # so the reported bias is that of what is sampled.
    out_flow = np.zeros(graph.n_nodes)
    np.add.at(out_flow, graph.src, flow)
    first_flow = np.where(graph.n_out > 0, flow[np.minimum(graph.first, n_edges - 1)], 0.0)
    take_first = np.divide(first_flow, out_flow, out=np.ones(graph.n_nodes), where=out_flow > 0)
    take_first = np.where(graph.n_out == 2, take_first, 1.0)
    reach = np.zeros(graph.n_nodes)
    reach[0] = 1.0
    induced = np.zeros(n_edges)
    for v in range(graph.n_nodes):  # numbered breadth first: parents before children
        if graph.n_out[v] == 0 or reach[v] == 0:
            continue
        e = graph.first[v]
        induced[e] = reach[v] * take_first[v]
        reach[graph.dst[e]] += induced[e]
        if graph.n_out[v] == 2:
            induced[e + 1] = reach[v] * (1.0 - take_first[v])
            reach[graph.dst[e + 1]] += induced[e + 1]
    bias = np.cumsum(bias_rows @ induced)
    return OptimizedSolution(
        formulation="flow",
        n_candidates=n_candidates,
        n_support=int((induced > 0).sum()),
        relaxed=relaxed,
        bias=tuple(float(b) for b in bias),
        sensitivity=float(cost @ induced),
        length=graph.m,
        _sampler=_FlowSampler(graph, take_first),
    )


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached_solution(
    a_list: tuple,
    b_list: tuple,
    length: int,
    credit: str,
    relax: bool,
    formulation: str,
    max_candidates: int | None,
) -> OptimizedSolution | tuple[type, str]:
    """The solution, or ``(exception class, message)``: failures are cached too (raised afresh)."""
    graph = _build_graph(a_list, b_list, length)
    sizes = f"rankings of lengths {len(a_list)} and {len(b_list)} at length={length}"
    n_lists = graph.n_lists()
    use_lists = formulation == "lists" or (
        formulation == "auto" and (max_candidates is None or n_lists <= max_candidates)
    )
    if use_lists and max_candidates is not None and n_lists > max_candidates:
        return TooManyCandidates, (
            f"{sizes} have {n_lists:,} candidate lists, more than "
            f"max_candidates={max_candidates:,}; "
            "use formulation='auto' or 'flow' (an LP over the prefix graph, polynomial in the "
            "length), a shorter `length`, or a larger `max_candidates`"
        )
    if not use_lists and graph.src.shape[0] > MAX_GRAPH_EDGES:
        return TooManyCandidates, (
            f"{sizes} give a prefix graph of {graph.src.shape[0]:,} edges, more than the "
            f"{MAX_GRAPH_EDGES:,} the flow formulation solves in about a second; "
            "use a shorter `length`"
        )
    solution = (_solve_lists if use_lists else _solve_flow)(graph, credit, relax, n_lists)
    if solution is None:
        shorter = min(len(a_list), len(b_list))
        hint = (
            f", or length={shorter} to stop where the shorter ranking ends"
            if shorter < graph.m
            else ""
        )
        return OptimizedInfeasible, (
            f"no distribution over the {n_lists:,} candidate lists of {sizes} is unbiased under "
            f"random clicks with credit={credit!r} (the LP is infeasible; typical when the "
            f"rankings differ in length, since the longer one alone fills the deepest "
            f"positions); pass relax=True for the least-biased distribution{hint}"
        )
    return solution


# -- the method -----------------------------------------------------------------------------------


class Optimized(Interleaver):
    """Optimized interleaving of two rankers (Radlinski & Craswell 2013).

    The shown list is drawn from a distribution over the *candidate lists*: lists in which every
    prefix is the union of a prefix of each ranking (each next item is the best not-yet-shown
    item of one ranker). The distribution solves a linear program:

    - **unbiased**: for every cut-off ``k``, the expected credit of ranker 0 minus that of
      ranker 1, if the top ``k`` positions were clicked, is 0 (equivalently: per position, the
      expected credit difference of a click there is 0), so a user whose clicks ignore the items
      gives neither ranker more credit in expectation, whatever their position bias;
    - **sensitive**: among unbiased distributions, it maximises the paper's expected sensitivity
      ``sum_L p_L (w_A + w_B) H(w_A / (w_A + w_B))``, where ``w_A`` (``w_B``) is the chance that
      a click at position ``i`` with probability ``∝ 1/i`` favours A (B), ``H`` the binary
      entropy: lists on which random clicks favour one side tell little. This is the paper's
      eqs. 9-13 as Lerot implements them, with ``f`` normalised so that ``w_A + w_B + w_T = 1``.
      (mpkato minimises instead Schuth et al.'s (2014) multileaving variance of the expected
      credits; both favour lists that balance credit, and both give mpkato's test example, whose
      solution the constraints alone determine.)

    Unbiased here means what the paper means: the expected credit *difference* is 0. The
    win/loss *sign* of an impression (``preferences``, ``winner``) can still lean to one ranker
    under random clicks, e.g. -0.029 for ``range(10)`` against ``range(5, 15)`` with each position
    clicked with probability 0.3 (pinned in the tests); test fairness on
    ``scores[0] - scores[1]``.

    The program depends only on the rankings, the length and the configuration, not on the
    request, so its solution is cached (an LRU of the last 256 ranking pairs, thread-safe; a
    live API sends the same rankings many times). The request's randomness only picks a list.

    Candidate lists number up to ``2 ** length``. ``formulation`` says what to do:

    - ``"lists"``: the paper's program over every candidate list; more than ``max_candidates``
      raises :class:`TooManyCandidates` naming the count.
    - ``"flow"``: a program over the edges of the prefix graph (one node per shown set
      ``A[:a] | B[:b]``, at most ``(len(A)+1)(len(B)+1)`` of them; candidate lists are its
      paths). Any distribution over the lists induces an edge flow with the same expected credit
      at every position, and every flow is induced by one (flow decomposition), so this program
      is feasible exactly when the paper's is and gives the same exact unbiasedness, without
      enumerating the lists; a list is sampled by walking the graph. Its objective must be
      linear in the edges, so it cannot be the paper's per-list entropy: it minimises the
      expected imbalance ``sum_k f(k) |a_k - b_k|`` of how deep into each ranking the prefix has
      reached (``f(k) ∝ 1/k``), the invariant Team-Draft and Balanced keep. On 60 random pairs
      of 8 items it reaches 96% (at worst 93%) of the paper's optimal sensitivity (see
      ``benchmarks/speed_probabilistic_optimized.py``). Graphs above
      :data:`MAX_GRAPH_EDGES` edges (about a second of solving) raise
      :class:`TooManyCandidates`.
    - ``"auto"`` (default): ``"lists"`` up to ``max_candidates``, ``"flow"`` beyond, so short
      lists get the paper's program and long ones still solve, unbiased: 0.3 s at
      ``length=100``.

    Credit (``credit=``), with 1-based ranks and an item a ranking lacks given rank
    ``max(len(A), len(B)) + 1`` for both rankers (the paper truncates both rankings to the same
    length ``k`` and gives absent items ``k + 1``; mpkato's per-ranking ``len + 1`` would let a
    short ranking collect credit for items it never ranked):

    - ``"inverse"`` (default; paper eq. 15, mpkato's default): a click on item ``d`` gives each
      ranker ``1 / rank(d)``. Chosen because it weights disagreements at the top, where users
      look, and one click on a deep item cannot outweigh several at the top.
    - ``"linear"`` (paper eq. 14, Lerot's default): the linear rank difference: the ranker that
      ranked ``d`` higher gets ``|rank_A(d) - rank_B(d)|``.
    - ``"negative"`` (mpkato): each ranker gets ``-rank(d)``. Its differences, hence preferences
      and the program, equal ``"linear"``'s; only the scores read differently.

    ``scores[j]`` sums ranker ``j``'s credit over the clicks; the preference is the sign of the
    difference (summed exactly, so equal credit is a tie). ``teams[p]`` is the ranker whose next
    item position ``p`` took, ``-1`` when it was the next item of both; credit does not use it.

    Infeasible programs: with equal-length rankings none was found (every pair over 5 items at
    every length, and 4,800 random pairs of up to 8 items); rankings of different lengths often
    are, e.g. ``[[1], [2, 1]]`` at length 2. Then ``relax=False`` (default) raises
    :class:`OptimizedInfeasible`; ``relax=True`` returns the distribution with the least total
    absolute bias over cut-offs, and among those the most sensitive, with
    ``solve(rankings).relaxed`` set and its ``bias`` reported. Failures are cached as well.

    Parameters
    ----------
    length
        Items to show; ``None`` for the length of the longest ranking.
    credit
        ``"inverse"``, ``"linear"`` or ``"negative"``.
    relax
        Return the least-biased distribution instead of raising when no unbiased one exists.
    formulation
        ``"auto"``, ``"lists"`` or ``"flow"``.
    max_candidates
        Most candidate lists the ``"lists"`` formulation enumerates (``None``: no limit). 20,000
        solve in about 0.3 s.

    Randomness per call: ``length`` uniforms (the lists formulation uses the first).

    Examples
    --------
    >>> method = Optimized()
    >>> solution = method.solve([[1, 2], [2, 3]])
    >>> {items: round(p, 4) for items, p in sorted(solution.lists().items())}
    {(1, 2): 0.4286, (2, 1): 0.3714, (2, 3): 0.2}
    >>> il = method.interleave([[1, 2], [2, 3]], key="request-42", seed=7)
    >>> il.items, il.teams
    ((1, 2), (0, -1))
    >>> method.credit(il, clicks=[0]).winner
    0
    """

    name = "optimized"
    max_rankers = 2

    def __init__(
        self,
        length: int | None = None,
        *,
        credit: str = "inverse",
        relax: bool = False,
        formulation: str = "auto",
        max_candidates: int | None = 20_000,
    ) -> None:
        super().__init__(length)
        self.credit_function = check_one_of("credit", credit, CREDITS)
        if not isinstance(relax, bool):
            msg = f"`relax` must be True or False, got {relax!r}"
            raise InvalidArgument(msg)
        self.relax = relax
        self.formulation = check_one_of("formulation", formulation, FORMULATIONS)
        self.max_candidates = (
            None
            if max_candidates is None
            else check_int("max_candidates", max_candidates, minimum=1)
        )

    def params(self) -> tuple[tuple[str, Any], ...]:
        """Configuration that decides the distribution and the credit."""
        return (
            ("credit", self.credit_function),
            ("formulation", self.formulation),
            ("length", self.length),
            ("max_candidates", self.max_candidates),
            ("relax", self.relax),
        )

    def solve(self, rankings: Sequence[Sequence]) -> OptimizedSolution:
        """The (cached) distribution over lists for ``rankings``.

        Raises :class:`OptimizedInfeasible` or :class:`TooManyCandidates` as described above.
        """
        lists, _ = validate_rankings(rankings, max_rankers=self.max_rankers)
        return self._solution(lists, self.resolve_length(lists))

    def _solution(self, lists: list[list], length: int) -> OptimizedSolution:
        result = _cached_solution(
            tuple(lists[0]),
            tuple(lists[1]),
            length,
            self.credit_function,
            self.relax,
            self.formulation,
            self.max_candidates,
        )
        if isinstance(result, tuple):
            error, message = result
            raise error(message)
        return result

    def _merge(
        self,
        lists: list[list],
        positions: list[dict],
        length: int,
        draws: Randomness,
    ) -> tuple[list, list[int]]:
        u = draws.uniforms(length)
        return self._solution(lists, length).sample(u)

    def _credit(self, interleaving: Interleaving, clicks: tuple[int, ...]) -> Credit:
        absent = max(interleaving.ranking_lengths) + 1
        row_a, row_b = interleaving.ranks
        ranks_a = [row_a[p] + 1 if row_a[p] != ABSENT else absent for p in clicks]
        ranks_b = [row_b[p] + 1 if row_b[p] != ABSENT else absent for p in clicks]
        scores = _scores(self.credit_function, ranks_a, ranks_b)
        if self.credit_function == "inverse":
            sign = _inverse_sign(ranks_a, ranks_b, scores[0] - scores[1])
        else:
            difference = sum(ranks_b) - sum(ranks_a)  # integers: exact
            sign = float((difference > 0) - (difference < 0))
        return Credit(self.name, scores, ((0.0, sign), (-sign, 0.0)), clicks)

    # -- batch -----------------------------------------------------------------------------------

    def interleave_batch(
        self,
        rankings: Sequence[Sequence],
        n_impressions: int,
        *,
        rng: Any = None,
    ) -> InterleavingBatch:
        """Draw ``n_impressions`` lists at once; equal to as many ``interleave(rng=...)`` calls."""
        n = check_int("n_impressions", n_impressions, minimum=0)
        lists, _ = validate_rankings(rankings, max_rankers=self.max_rankers)
        generator = as_generator(rng)
        length = self.resolve_length(lists)
        solution = self._solution(lists, length)
        u = generator.random((n, length))
        item_ids, rank_table = union_index(lists)
        lookup = {item: i for i, item in enumerate(item_ids)}
        m = solution.length
        items = np.full((n, length), -1, dtype=np.int32)
        teams = np.full((n, length), -1, dtype=np.int8)
        sampler = solution._sampler
        if isinstance(sampler, _ListSampler):
            chosen = sampler.sample_index(u[:, 0]) if n else np.zeros(0, dtype=np.int64)
            table = np.array(
                [[lookup[x] for x in row] for row in sampler.items], dtype=np.int32
            ).reshape(-1, m)
            team_table = np.array(sampler.teams, dtype=np.int8).reshape(-1, m)
            items[:, :m] = table[chosen]
            teams[:, :m] = team_table[chosen]
        else:
            edges = sampler.sample_edges(u)
            edge_items = np.array([lookup[x] for x in sampler.items], dtype=np.int32)
            items[:, :m] = edge_items[edges]
            teams[:, :m] = sampler.graph.teams[edges]
        return InterleavingBatch(
            self.name, self.params(), item_ids, items, teams, rank_table, tuple(map(len, lists))
        )

    def credit_batch(self, batch: InterleavingBatch, clicks: Any) -> CreditBatch:
        """Credit many impressions; ``clicks`` is bool (n_impressions, length). Vectorised."""
        clicks = self._check_batch(batch, clicks)
        absent = max(batch.ranking_lengths) + 1
        ranks = batch.ranks.astype(np.float64) + 1.0
        ranks[ranks == 0] = absent  # absent items and padding (never clicked)
        a, b = ranks[0], ranks[1]
        if self.credit_function == "inverse":
            per_click = np.stack([1.0 / a, 1.0 / b])
        elif self.credit_function == "negative":
            per_click = np.stack([-a, -b])
        else:
            per_click = np.stack([np.maximum(0.0, b - a), np.maximum(0.0, a - b)])
        scores = (per_click * clicks[None]).sum(axis=2).T
        if self.credit_function == "inverse":
            difference = scores[:, 0] - scores[:, 1]
            sign = np.sign(difference)
            for i in np.flatnonzero(np.abs(difference) <= 1e-9):  # near ties: decide exactly
                sign[i] = _inverse_sign(a[i][clicks[i]], b[i][clicks[i]], difference[i])
        else:
            sign = np.sign(((b - a) * clicks).sum(axis=1))  # integer-valued: exact
        preferences = np.zeros((len(batch), 2, 2))
        preferences[:, 0, 1] = sign
        preferences[:, 1, 0] = -sign
        return CreditBatch(self.name, scores, preferences)


def _scores(credit: str, ranks_a: list[int], ranks_b: list[int]) -> tuple[float, float]:
    if credit == "inverse":
        return (float(sum(1.0 / a for a in ranks_a)), float(sum(1.0 / b for b in ranks_b)))
    if credit == "negative":
        return (-float(sum(ranks_a)), -float(sum(ranks_b)))
    return (
        float(sum(max(0, b - a) for a, b in zip(ranks_a, ranks_b, strict=True))),
        float(sum(max(0, a - b) for a, b in zip(ranks_a, ranks_b, strict=True))),
    )


def _inverse_sign(ranks_a: Sequence[float], ranks_b: Sequence[float], approximate: float) -> float:
    """Sign of ``sum(1/a) - sum(1/b)``, exact: rationals when the float difference is near 0."""
    if abs(approximate) > 1e-9:
        return float(approximate > 0) - float(approximate < 0)
    exact = sum(Fraction(1, int(a)) for a in ranks_a) - sum(Fraction(1, int(b)) for b in ranks_b)
    return float(exact > 0) - float(exact < 0)
