"""The linear programs of Optimized interleaving: over candidate lists, or over prefix-graph edges.

Radlinski & Craswell, "Optimized interleaving for online retrieval evaluation", WSDM 2013 (the
lists program, eqs. 9-13); relaxation of infeasible programs after Manabe et al. (SIGIR 2017).

scipy.optimize and scipy.sparse are imported inside the solving functions: together they are
most of a cold ``import interleave``, and only a cold solve needs them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from interleave.errors import InvalidArgument
from interleave.methods.optimized_graph import PrefixGraph
from interleave.methods.optimized_sampler import FlowSampler, ListSampler, OptimizedSolution

__all__ = ["credit_difference", "list_sensitivity", "solve_flow", "solve_lists"]

# HiGHS works to 1e-7 by default; unbiasedness is pinned to 1e-9, so ask for more.
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def credit_difference(credit: str, rank_a: np.ndarray, rank_b: np.ndarray) -> np.ndarray:
    """Per clicked item, ranker A's credit minus ranker B's (the paper's delta)."""
    if credit == "inverse":
        return 1.0 / rank_a - 1.0 / rank_b
    return rank_b - rank_a  # linear rank difference; "negative" gives the same difference


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(
            np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
            + np.where(q > 0, q * np.log2(np.where(q > 0, q, 1.0)), 0.0)
        )
    return h


def list_sensitivity(signs: np.ndarray) -> np.ndarray:
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
    from scipy.optimize import linprog  # lazy: only a cold solve needs it

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
    from scipy import sparse

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
    from scipy import sparse

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


def solve_lists(
    graph: PrefixGraph, credit: str, relax: bool, n_candidates: int
) -> OptimizedSolution | None:
    """The paper's program over every candidate list (``None``: infeasible and not ``relax``)."""
    from scipy import sparse

    paths = graph.paths()
    delta = credit_difference(credit, graph.rank_a, graph.rank_b)[paths]  # (lists, m)
    signs = np.sign(graph.rank_b - graph.rank_a)[paths]
    sensitivity = list_sensitivity(signs)
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
        sampler=ListSampler(items, teams, x[keep]),
    )


def _prefix_imbalance(graph: PrefixGraph) -> np.ndarray:
    """Per edge, ``f(position) * |a - b|`` of the state it leads to (the flow program's cost)."""
    states = np.array(graph.states, dtype=np.float64)
    imbalance = np.abs(states[:, 0] - states[:, 1])[graph.dst]
    f = 1.0 / np.arange(1, graph.m + 1)
    f /= f.sum()
    return f[graph.pos] * imbalance


def solve_flow(
    graph: PrefixGraph, credit: str, relax: bool, n_candidates: int
) -> OptimizedSolution | None:
    """The program over the prefix graph's edges (``None``: infeasible and not ``relax``)."""
    from scipy import sparse

    n_edges = graph.n_edges
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
    delta = credit_difference(credit, graph.rank_a, graph.rank_b)
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
        sampler=FlowSampler(graph, take_first),
    )
