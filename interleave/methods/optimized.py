"""Optimized interleaving: a distribution over prefix-constrained lists found by a linear program.

Radlinski & Craswell, "Optimized interleaving for online retrieval evaluation", WSDM 2013.
Relaxation of infeasible programs after Manabe et al. (SIGIR 2017). The parts live beside this
module: the prefix graph (:mod:`.optimized_graph`), the programs (:mod:`.optimized_lp`) and the
sampler of a solved distribution (:mod:`.optimized_sampler`); this module is the method: which
program to solve (measured before anything is built), caching, sampling per request, credit.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from fractions import Fraction
from itertools import repeat
from typing import Any

import numpy as np

from interleave._checks import check_int, check_one_of
from interleave._fused import plain_pair_key
from interleave.batch import InterleavingBatch, union_index
from interleave.credit import TWO_RANKER_PREFERENCES, Credit, CreditBatch
from interleave.errors import InvalidArgument
from interleave.keys import as_generator, key_digest, plain_key_uniforms
from interleave.methods.base import Interleaver, Randomness, click_positions
from interleave.methods.optimized_graph import build_prefix_graph, measure_prefix_graph
from interleave.methods.optimized_lp import solve_flow, solve_lists
from interleave.methods.optimized_sampler import OptimizedSolution
from interleave.ranking import ABSENT, Interleaving, validate_rankings

__all__ = [
    "MAX_GRAPH_EDGES",
    "MAX_LIST_CELLS",
    "MAX_LIST_GRAPH_EDGES",
    "Optimized",
    "OptimizedInfeasible",
    "OptimizedPair",
    "OptimizedSolution",
    "TooManyCandidates",
]

CREDITS = ("inverse", "linear", "negative")
FORMULATIONS = ("auto", "lists", "flow")

# Bounds, checked by a counting pass before anything is built (module attributes, read at every
# solve: assign a new value to change one). Each refusal is a TooManyCandidates naming the numbers.
#: Largest prefix graph (edges) the flow formulation builds an LP for: about 1 s with HiGHS on
#: 2 cores (50%-overlap rankings: 6,700 edges and 0.3 s at length 100, 22,000 and 1.3 s at 150).
MAX_GRAPH_EDGES = 20_000
#: Most list positions (candidate lists x length) the lists formulation enumerates, whatever
#: ``max_candidates`` says (``None`` included): each table of them takes 8 bytes a position, and
#: the program holds a few, so 4,000,000 keeps a solve near 100 MB.
MAX_LIST_CELLS = 4_000_000
#: Largest prefix graph (edges) the lists formulation walks to enumerate its lists (a graph of few
#: lists can still be long: identical rankings of n items have n edges and one list).
MAX_LIST_GRAPH_EDGES = 200_000
#: Solutions kept by the cache (per rankings, length and configuration).
CACHE_SIZE = 256


class OptimizedInfeasible(InvalidArgument):
    """No distribution over the candidate lists is unbiased under random clicks (infeasible LP)."""


class TooManyCandidates(InvalidArgument):
    """The rankings have more candidate lists (or a larger prefix graph) than a bound allows."""


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached_solution(
    a_list: tuple,
    b_list: tuple,
    length: int,
    credit: str,
    relax: bool,
    formulation: str,
    max_candidates: int | None,
    bounds: tuple[int, int, int],
) -> OptimizedSolution | tuple[type, str]:
    """The solution, or ``(exception class, message)``: failures are cached too (raised afresh).

    The graph is measured (a counting pass that stops at the bound) before it is built, so a
    refusal costs about as much as the bound, never the graph.
    """
    max_graph_edges, max_list_cells, max_list_graph_edges = bounds
    sizes = f"rankings of lengths {len(a_list)} and {len(b_list)} at length={length}"
    error = None
    if formulation in ("lists", "auto"):
        m = min(length, len(set(a_list) | set(b_list)))
        by_cells = max_list_cells // max(m, 1)
        cap = by_cells if max_candidates is None else min(max_candidates, by_cells)
        size = measure_prefix_graph(
            a_list, b_list, length, max_edges=max_list_graph_edges, max_lists=cap
        )
        at_least = "" if size.complete else "at least "
        if size.n_lists > cap and max_candidates is not None and cap == max_candidates:
            error = (
                f"{sizes} have {at_least}{size.n_lists:,} candidate lists, more than "
                f"max_candidates={max_candidates:,}; use formulation='auto' or 'flow' (an LP over "
                "the prefix graph, polynomial in the length), a shorter `length`, or a larger "
                "`max_candidates`"
            )
        elif size.n_lists > cap:
            error = (
                f"{sizes} have {at_least}{size.n_lists:,} candidate lists of {m} items: "
                f"enumerating them passes MAX_LIST_CELLS={max_list_cells:,} list positions "
                f"(about {8 * max_list_cells * 3 / 2**20:,.0f} MB for the program); use "
                "formulation='auto' or 'flow' (an LP over the prefix graph), or a shorter `length`"
            )
        elif size.n_edges > max_list_graph_edges:
            error = (
                f"{sizes} give a prefix graph of {at_least}{size.n_edges:,} edges (counted to "
                f"depth {size.depth:,} of {m:,}), more than MAX_LIST_GRAPH_EDGES="
                f"{max_list_graph_edges:,} the lists formulation walks; use a shorter `length`"
            )
        else:
            graph = build_prefix_graph(a_list, b_list, length)
            solution = solve_lists(graph, credit, relax, size.n_lists)
            return _solved(solution, a_list, b_list, m, size.n_lists, credit, sizes)
        if formulation == "lists":
            return TooManyCandidates, error
    size = measure_prefix_graph(a_list, b_list, length, max_edges=max_graph_edges)
    if size.n_edges > max_graph_edges:
        return TooManyCandidates, (
            f"{sizes} give a prefix graph of {'' if size.complete else 'at least '}"
            f"{size.n_edges:,} edges (counted to depth {size.depth:,} of {size.m:,}), more than "
            f"the MAX_GRAPH_EDGES={max_graph_edges:,} the flow formulation solves in about a "
            "second; use a shorter `length`"
        )
    graph = build_prefix_graph(a_list, b_list, length)
    solution = solve_flow(graph, credit, relax, size.n_lists)
    return _solved(solution, a_list, b_list, size.m, size.n_lists, credit, sizes)


def _solved(
    solution: OptimizedSolution | None,
    a_list: tuple,
    b_list: tuple,
    m: int,
    n_lists: int,
    credit: str,
    sizes: str,
) -> OptimizedSolution | tuple[type, str]:
    if solution is not None:
        return solution
    shorter = min(len(a_list), len(b_list))
    hint = f", or length={shorter} to stop where the shorter ranking ends" if shorter < m else ""
    return OptimizedInfeasible, (
        f"no distribution over the {n_lists:,} candidate lists of {sizes} is unbiased under "
        f"random clicks with credit={credit!r} (the LP is infeasible; typical when the rankings "
        f"differ in length, since the longer one alone fills the deepest positions); pass "
        f"relax=True for the least-biased distribution{hint}"
    )


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
      (or more list positions, lists x length, than :data:`MAX_LIST_CELLS`, whatever
      ``max_candidates`` is) raises :class:`TooManyCandidates` naming the count.
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
    - ``"auto"`` (default): ``"lists"`` up to ``max_candidates`` (and the bounds above),
      ``"flow"`` beyond, so short lists get the paper's program and long ones still solve,
      unbiased: 0.3 s at ``length=100``.

    Every bound is checked by a counting pass over the prefix graph that stops at the bound,
    before the graph or any program is built, so a refusal is immediate and names the numbers;
    the bounds are module attributes (:data:`MAX_GRAPH_EDGES`, :data:`MAX_LIST_CELLS`,
    :data:`MAX_LIST_GRAPH_EDGES`), read at every solve. The work is bounded by the items the
    rankings hold, not by ``length``: a list has ``min(length, distinct items)`` positions.

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
        Most candidate lists the ``"lists"`` formulation enumerates (``None``: only
        :data:`MAX_LIST_CELLS` limits them). 20,000 solve in about 0.3 s.

    Randomness per call: ``solve(rankings).n_uniforms`` uniforms: one for the lists formulation
    (an inverse CDF over its support), one per position for the flow formulation (a walk).

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
        # Rankings served before, bound to their solution: {(tuple(a), tuple(b)): OptimizedPair}.
        # A repeated pair (the same lists for many requests) skips validation and the lookup.
        self._pairs: dict[tuple[tuple, tuple], OptimizedPair] = {}
        self._pairs_lock = threading.Lock()

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
            (MAX_GRAPH_EDGES, MAX_LIST_CELLS, MAX_LIST_GRAPH_EDGES),
        )
        if isinstance(result, tuple):
            error, message = result
            raise error(message)
        return result

    def interleave(
        self,
        rankings: Sequence[Sequence],
        *,
        key: str | int | None = None,
        seed: int | None = None,
        rng: Any = None,
    ) -> Interleaving:
        """Merge ``rankings`` into one list to show: a draw from the solved distribution.

        As :meth:`Interleaver.interleave`; with the lists formulation the record's fields of each
        list in the support are built once and reused. Two plain lists of str or int ids seen
        before (by this object, with a str or int key) skip validation and the solution lookup:
        the request costs its key digest, a bisect and the record.
        """
        if (
            rng is None
            and (type(key) is str or type(key) is int)
            and (type(seed) is int or seed is None)
            and (type(rankings) is list or type(rankings) is tuple)
            and len(rankings) == 2
        ):
            lookup = plain_pair_key(*rankings)
            if lookup is not None:
                pair = self._pairs.get(lookup)
                params = self._params()
                if pair is None or (pair.params is not params and pair.params != params):
                    pair = self.for_rankings(rankings)
                    self._remember(lookup, pair)
                return pair._keyed(key, seed)
        lists, positions = validate_rankings(rankings, max_rankers=self.max_rankers)
        draws = Randomness.resolve(key, seed, rng)
        solution = self._solution(lists, self.resolve_length(lists))
        return self._draw(solution, lists, positions, draws, key, seed)

    def __getstate__(self) -> dict[str, Any]:
        # The cache and its lock stay behind (a lock does not pickle; Spark ships methods).
        state = dict(self.__dict__)
        del state["_pairs"], state["_pairs_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pairs = {}
        self._pairs_lock = threading.Lock()

    def _remember(self, lookup: tuple[tuple, tuple], pair: OptimizedPair) -> None:
        """Keep ``pair`` under its rankings' ``lookup`` (at most CACHE_SIZE, oldest out)."""
        with self._pairs_lock:
            pairs = self._pairs
            if lookup not in pairs and len(pairs) >= CACHE_SIZE:
                del pairs[next(iter(pairs))]
            pairs[lookup] = pair

    def for_rankings(self, rankings: Sequence[Sequence]) -> OptimizedPair:
        """The solved distribution bound to ``rankings``: per request, only the draw remains.

        ``pair.interleave(key=..., seed=...)`` equals ``interleave(rankings, key=..., seed=...)``
        without checking and looking up the rankings again: for a live API that serves the same
        two lists to many requests (a popular query, a home page), as mpkato's ``Optimized``
        binds its rankings in the constructor.

        Examples
        --------
        >>> method = Optimized(length=3)
        >>> pair = method.for_rankings([[1, 2, 3], [2, 1, 3]])
        >>> pair.interleave(key="r1", seed=7) == method.interleave(
        ...     [[1, 2, 3], [2, 1, 3]], key="r1", seed=7)
        True
        """
        lists, positions = validate_rankings(rankings, max_rankers=self.max_rankers)
        solution = self._solution(lists, self.resolve_length(lists))
        return OptimizedPair(self, solution, lists, positions)

    def _draw(
        self,
        solution: OptimizedSolution,
        lists: list[list],
        positions: list[dict],
        draws: Randomness,
        key: Any,
        seed: Any,
    ) -> Interleaving:
        u = draws.uniforms(solution.n_uniforms)
        if solution.formulation == "lists":
            items, teams, ranks = solution.sampler.sample_record(u, positions)
        else:
            shown, picked = solution.sample(u)
            items, teams = tuple(shown), tuple(picked)
            first, second = positions
            ranks = (
                tuple(map(first.get, items, repeat(ABSENT))),
                tuple(map(second.get, items, repeat(ABSENT))),
            )
        lengths = (len(lists[0]), len(lists[1]))
        if (type(key) is str or type(key) is int or key is None) and (
            type(seed) is int or seed is None
        ):  # the parts are the sampler's own: skip re-checking them
            return Interleaving._from_checked_parts(
                self.name, items, teams, ranks, lengths, self._params(), key, seed
            )
        return Interleaving(self.name, items, teams, ranks, lengths, self._params(), key, seed)

    def credit(self, interleaving: Interleaving, clicks: Any) -> Credit:
        """Credit the clicked items by their ranks; see :meth:`Interleaver.credit`."""
        # The record check of the base class with its common case first (a hot path).
        if (
            type(interleaving) is not Interleaving
            or interleaving.method != "optimized"
            or (
                interleaving.params is not self._params()  # its own records: the memo itself
                and interleaving.params != self._params()
            )
        ):
            self._check_record(interleaving)
        n_shown = len(interleaving.items)
        return self._credit(interleaving, click_positions(clicks, n_shown))

    def _merge(
        self,
        lists: list[list],
        positions: list[dict],
        length: int,
        draws: Randomness,
    ) -> tuple[list, list[int]]:
        solution = self._solution(lists, length)
        return solution.sample(draws.uniforms(solution.n_uniforms))

    def _credit(self, interleaving: Interleaving, clicks: tuple[int, ...]) -> Credit:
        absent = max(interleaving.ranking_lengths) + 1
        row_a, row_b = interleaving.ranks
        if self.credit_function == "inverse":
            # The hot path of a live API: one pass, no intermediate lists; 0-based rank r
            # scores 1 / (r + 1), an item a ranking lacks 1 / absent.
            score_a = score_b = 0.0
            for p in clicks:
                a = row_a[p]
                b = row_b[p]
                score_a += 1.0 / (a + 1) if a != ABSENT else 1.0 / absent
                score_b += 1.0 / (b + 1) if b != ABSENT else 1.0 / absent
            difference = score_a - score_b
            if difference > 1e-9:
                sign = 1
            elif difference < -1e-9:
                sign = -1
            else:  # a near tie: decide it in rationals
                exact = _inverse_sign(*self._credit_ranks(row_a, row_b, absent, clicks), 0.0)
                sign = int(exact)
            return Credit._from_checked_parts(
                self.name, (score_a, score_b), TWO_RANKER_PREFERENCES[sign], clicks
            )
        ranks_a, ranks_b = self._credit_ranks(row_a, row_b, absent, clicks)
        scores = _scores(self.credit_function, ranks_a, ranks_b)
        difference = sum(ranks_b) - sum(ranks_a)  # integers: exact
        sign = float((difference > 0) - (difference < 0))
        return Credit(self.name, scores, ((0.0, sign), (-sign, 0.0)), clicks)

    @staticmethod
    def _credit_ranks(
        row_a: Sequence[int], row_b: Sequence[int], absent: int, clicks: tuple[int, ...]
    ) -> tuple[list[int], list[int]]:
        """1-based ranks of the clicked items in A and B, ``absent`` for an item a ranking lacks."""
        return (
            [row_a[p] + 1 if row_a[p] != ABSENT else absent for p in clicks],
            [row_b[p] + 1 if row_b[p] != ABSENT else absent for p in clicks],
        )

    # -- batch -----------------------------------------------------------------------------------

    def interleave_batch(
        self,
        rankings: Sequence[Sequence],
        n_impressions: int,
        *,
        rng: Any = None,
    ) -> InterleavingBatch:
        """Draw ``n_impressions`` lists at once; equal to as many ``interleave(rng=...)`` calls.

        Every list has the solution's length ``min(length, distinct items)``, so the arrays are
        ``(n_impressions, solution.length)``: bounded by the items available, not by ``length``.
        """
        lists, _ = validate_rankings(rankings, max_rankers=self.max_rankers)
        solution = self._solution(lists, self.resolve_length(lists))
        n = self._check_n_impressions(n_impressions, solution.length)
        generator = as_generator(rng)
        u = generator.random((n, solution.n_uniforms))
        item_ids, rank_table = union_index(lists)
        lookup = {item: i for i, item in enumerate(item_ids)}
        if n:
            items, teams = solution.sample_batch(u, lookup)
        else:
            items = np.zeros((0, solution.length), dtype=np.int32)
            teams = np.zeros((0, solution.length), dtype=np.int8)
        return InterleavingBatch(
            self.name, self.params(), item_ids, items, teams, rank_table, tuple(map(len, lists))
        )

    def credit_batch(self, batch: InterleavingBatch, clicks: Any) -> CreditBatch:
        """Credit many impressions; ``clicks`` is bool (n_impressions, length). Vectorised.

        ``batch`` may hold impressions of the same rankings (:meth:`interleave_batch`) or each of
        its own (:meth:`InterleavingBatch.from_records`, ``from_columns``); row ``i`` equals
        ``credit(batch[i], clicks[i])``.
        """
        clicks = self._check_batch(batch, clicks)
        # Per impression (each may have had its own rankings): absent items get max length + 1.
        absent = batch.ranking_lengths.max(axis=1).astype(np.float64) + 1.0
        ranks = batch.ranks.astype(np.float64) + 1.0
        ranks = np.where(ranks == 0, absent[None, :, None], ranks)  # absent and padding
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


class OptimizedPair:
    """:class:`Optimized`'s distribution bound to one pair of rankings (``for_rankings``).

    Attributes
    ----------
    method
        The :class:`Optimized` configuration it was solved for (credit its records with it).
    solution
        The :class:`~interleave.methods.optimized_sampler.OptimizedSolution` it draws from.
    rankings
        The two rankings, as checked lists.
    """

    __slots__ = ("_lengths", "_positions", "method", "params", "rankings", "solution")

    def __init__(
        self,
        method: Optimized,
        solution: OptimizedSolution,
        lists: list[list],
        positions: list[dict],
    ) -> None:
        self.method = method
        self.solution = solution
        self.rankings = lists
        self.params = method._params()  # the memo itself: the per-request check is `is`
        self._positions = positions
        self._lengths = (len(lists[0]), len(lists[1]))

    def interleave(
        self, *, key: str | int | None = None, seed: int | None = None, rng: Any = None
    ) -> Interleaving:
        """One request's list, as ``method.interleave(rankings, key=, seed=, rng=)`` gives it."""
        if (
            rng is None
            and (type(key) is str or type(key) is int)
            and (type(seed) is int or seed is None)
        ):
            return self._keyed(key, seed)
        draws = Randomness.resolve(key, seed, rng)
        return self.method._draw(self.solution, self.rankings, self._positions, draws, key, seed)

    def _keyed(self, key: str | int, seed: int | None) -> Interleaving:
        """The draw of a plain str or int ``key`` and int (or no) ``seed``: the hot path."""
        solution = self.solution
        if solution.formulation != "lists":
            draws = Randomness(key_digest(seed, key), None)
            return self.method._draw(solution, self.rankings, self._positions, draws, key, seed)
        u = plain_key_uniforms(seed, key, 1)  # the lists formulation draws one uniform
        items, teams, ranks = solution.sampler.sample_record(u, self._positions)
        return Interleaving._from_checked_parts(
            "optimized", items, teams, ranks, self._lengths, self.params, key, seed
        )

    def __repr__(self) -> str:
        return (
            f"OptimizedPair({self.method!r}, rankings of lengths {tuple(map(len, self.rankings))})"
        )
