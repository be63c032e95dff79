"""Pairwise preference multileaving.

Oosterhuis & de Rijke, "Sensitive and scalable online evaluation with theoretical guarantees",
CIKM 2017 (the method's code: HarrieO/PairwisePreferenceMultileave; mpkato/interleaving has it as
``PairwisePreference``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from interleave._checks import check_one_of
from interleave.batch import InterleavingBatch, union_index
from interleave.credit import Credit, CreditBatch, sign_preferences
from interleave.errors import InvalidArgument
from interleave.keys import as_generator
from interleave.methods.base import Interleaver, Randomness
from interleave.ranking import ABSENT, Interleaving, validate_rankings

__all__ = ["PairwisePreference", "pool_sizes"]

_PAIR_RULES = ("examined", "skip_above")
# Longer lists draw from a Fenwick tree (O(log n) a position) instead of a list (O(pool)).
_LIST_POOL_LENGTH = 256
# Rows drawn together in interleave_batch: bounds its (rows x union) work arrays (~32 MB).
_BATCH_CELLS = 1 << 22
_INF = float("inf")


def pool_sizes(top_ranks: Sequence[float]) -> list[int]:
    """Size of the pool each position of a list is drawn from, given the shown items' top ranks.

    ``top_ranks[p]`` is the best rank (over the rankings) of the item shown at position ``p``.
    Restricted to the shown items, the pool at ``x`` is every shown item of top rank ``<= x``
    less the ``x`` items shown before ``x`` (all of which qualify in a list this method draws):
    its size does not depend on the order the items were drawn in.
    """
    n = len(top_ranks)
    per_rank = [0] * n
    for t in top_ranks:
        if t < n:
            per_rank[int(t)] += 1
    sizes = []
    total = 0
    for x in range(n):
        total += per_rank[x]
        sizes.append(total - x)
    return sizes


def _draw_with_tree(lists: list[list], length: int, u: list[float]) -> list:
    """The draw of ``_merge`` in O(n log n): the pool as a Fenwick tree over entry order.

    Picks the same items as the list pool (the ``k``-th remaining item in the order the items
    entered), whose ``pop`` costs O(pool) per position, O(n^2) for long lists.
    """
    entry: list = []  # every item once, in the order it enters the pool
    entered_by: list[int] = []  # how many have entered by each position
    seen: set = set()
    for x in range(length):
        for ranking in lists:
            if x < len(ranking) and ranking[x] not in seen:
                seen.add(ranking[x])
                entry.append(ranking[x])
        entered_by.append(len(entry))
    size = len(entry)
    tree = [0] * (size + 1)  # Fenwick tree of 0/1 "still in the pool" over entry slots 1..size
    top_bit = 1 << size.bit_length()
    items = []
    for x in range(length):
        for slot in range(entered_by[x - 1] + 1 if x else 1, entered_by[x] + 1):
            while slot <= size:
                tree[slot] += 1
                slot += slot & -slot
        pool = entered_by[x] - x
        if pool <= 0:
            break
        remaining = min(int(u[x] * pool), pool - 1) + 1  # find the slot of this prefix count
        slot = 0
        step = top_bit
        while step:
            nxt = slot + step
            if nxt <= size and tree[nxt] < remaining:
                slot = nxt
                remaining -= tree[nxt]
            step >>= 1
        slot += 1
        items.append(entry[slot - 1])
        while slot <= size:
            tree[slot] -= 1
            slot += slot & -slot
    return items


def _click_pairs(clicks: tuple[int, ...], n: int, rule: str) -> list[tuple[int, int]]:
    """(preferred, less preferred) positions the clicks imply."""
    clicked = set(clicks)
    if rule == "examined":
        # Every clicked item over every unclicked one the user saw: above the last click, or
        # right after it (the authors' code).
        seen = [q for q in range(min(clicks[-1] + 2, n)) if q not in clicked]
        return [(p, q) for p in clicks for q in seen]
    pairs = []
    for p in clicks:  # Joachims' skip-above, and the next one (mpkato)
        pairs.extend((p, q) for q in range(p) if q not in clicked)
        if p + 1 < n and p + 1 not in clicked:
            pairs.append((p, p + 1))
    return pairs


class PairwisePreference(Interleaver):
    """Pairwise preference multileaving of any number of rankings (two or more).

    The list: position ``x`` (0-based) is drawn uniformly from the items that some ranking
    places at rank ``x`` or better and that are not shown yet. Every shown item is thus within
    the top ``x + 1`` of some ranker (the list is "considerate"), and every possible list has
    the same probability.

    The credit: clicks imply pairwise preferences between shown items, a clicked item over an
    unclicked one (``pairs``, below). A pair at positions ``p`` and ``q`` counts only if both
    items were in the pool at the higher of the two positions, ``min(p, q) >= max(t_p, t_q)``
    with ``t`` an item's top rank (its best rank over the rankings): then the draw could have
    shown them in either order, as likely. A counted pair is weighted by the inverse of the
    probability that it was comparable: that the item of the better top rank ``t_lo`` was not
    drawn before the other entered the pool, ``prod(1 - 1 / c[x] for x in t_lo .. t_hi - 1)``
    with ``c[x]`` the pool size at position ``x``. Ranker ``j`` scores ``+weight`` for each
    counted pair it orders as the user did and ``-weight`` for each it orders the other way (an
    item a ranker lacks ranks below all it has; two it lacks tie). ``preferences`` are the signs
    of the score differences.

    Where this departs from the paper: its pool sizes count every candidate, also those never
    shown, which a logged record (ranks of the shown items) cannot recover. We take the
    probability conditional on the set of shown items instead. Given that set, every order the
    draw allows is equally likely (every list is), and the number of allowed orders is the
    product of the pool sizes restricted to the shown items (:func:`pool_sizes`), which do not
    depend on the order: so given the set, the draw IS a uniform draw from those restricted
    pools, and our weight is the exact inverse propensity of the pair given the set. It equals
    the paper's whenever the list ends up showing every item that entered a pool, e.g. when it
    is as long as the union of the rankings.

    Unbiased under clicks that ignore the items: for each counted pair of positions, swapping
    the two items gives another possible list, as likely, with the same shown set, the same
    weight and the opposite agreement, so every ranker's expected score is 0 for any click
    distribution over positions (tests enumerate it). The sign of a score difference has no
    such guarantee.

    Choices (each pinned by a test):

    - ``pairs="examined"`` (default, as the authors' code): every clicked item is preferred to
      every unclicked item above the last click and to the one right after it.
      ``pairs="skip_above"`` (mpkato): a clicked item is preferred to the unclicked items above
      it and to the next one if unclicked.
    - Scores are unnormalised weighted sums with +/- agreement, as mpkato's; the authors' code
      counts only agreements and divides by the number of pairs, which changes the scale but not
      the sign of a comparison between rankers that rank every shown item.
    - Credit needs a list this method could draw: a record showing an item at a position above
      its top rank (e.g. a list made elsewhere) is refused, naming the position.

    Randomness per call: one uniform per position, ``length`` of them, or the sum of the rankings'
    lengths when that is smaller (no list can be longer).

    Parameters
    ----------
    length
        Items to show; ``None`` for the length of the longest ranking.
    pairs
        Which preferences clicks imply: ``"examined"`` or ``"skip_above"``.

    Examples
    --------
    >>> method = PairwisePreference(length=3)
    >>> il = method.interleave([[1, 2, 3], [4, 5, 6]], key="r-6", seed=7)
    >>> il.items
    (4, 5, 1)

    A click on 1 prefers it to 4 (both in the first pool: weight 1) and to 5 (which entered the
    pool at rank 1, after 1 survived a draw from two: weight 2); the first ranker agrees with
    both:

    >>> method.credit(il, clicks=[2]).scores
    (3.0, -3.0)
    """

    name = "pairwise_preference"
    max_rankers = None
    credit_reads = ("ranks",)

    def __init__(self, length: int | None = None, *, pairs: str = "examined") -> None:
        super().__init__(length)
        self.pairs = check_one_of("pairs", pairs, _PAIR_RULES)

    def params(self) -> tuple[tuple[str, Any], ...]:
        """Configuration that decides credit."""
        return (("length", self.length), ("pairs", self.pairs))

    def resolve_length(self, lists: Sequence[Sequence]) -> int:
        """Positions to fill: ``length`` bounded by the items the rankings hold together."""
        return self.bounded_length(lists)

    def _merge(
        self,
        lists: list[list],
        positions: list[dict],
        length: int,
        draws: Randomness,
    ) -> tuple[list, list[int]]:
        u = draws.uniforms(length)
        if length > _LIST_POOL_LENGTH:
            items = _draw_with_tree(lists, length, u)
            return items, [-1] * len(items)
        pool: list = []  # not-yet-shown items of rank <= x somewhere, in the order they entered
        entered: set = set()
        items = []
        for x in range(length):
            for ranking in lists:
                if x < len(ranking):
                    item = ranking[x]
                    if item not in entered:
                        entered.add(item)
                        pool.append(item)
            if not pool:
                break
            items.append(pool.pop(min(int(u[x] * len(pool)), len(pool) - 1)))
        return items, [-1] * len(items)

    def interleave_batch(
        self,
        rankings: Sequence[Sequence],
        n_impressions: int,
        *,
        rng: Any = None,
    ) -> InterleavingBatch:
        """Draw ``n_impressions`` lists at once; equal to as many ``interleave(rng=...)`` calls.

        The pool at each position holds the same items for every impression less the ones it
        already shows, in the same order, so each draw is a vectorised "k-th available item".
        """
        lists, _ = validate_rankings(rankings, max_rankers=self.max_rankers)
        length = self.resolve_length(lists)
        n = self._check_n_impressions(n_impressions, length)
        if length * sum(map(len, lists)) > _BATCH_CELLS:
            # Long lists: the vectorised draw costs length x union per impression; the loop of
            # per-request draws is cheaper there.
            return super().interleave_batch(lists, n, rng=rng)
        generator = as_generator(rng)
        item_ids, rank_table = union_index(lists)
        lookup = {item: u for u, item in enumerate(item_ids)}
        entry: list[int] = []  # union indices in the order the items enter the pool
        entered_by = []  # entered_by[x]: how many have entered by position x
        seen: set = set()
        for x in range(length):
            for ranking in lists:
                if x < len(ranking) and ranking[x] not in seen:
                    seen.add(ranking[x])
                    entry.append(lookup[ranking[x]])
            entered_by.append(len(entry))
        entry_index = np.asarray(entry, dtype=np.int32)
        uniforms = generator.random((n, length))
        items = np.full((n, length), -1, dtype=np.int32)
        step = max(1, _BATCH_CELLS // max(len(entry), 1))
        for start in range(0, n, step):
            rows = np.arange(start, min(start + step, n))
            available = np.zeros((len(rows), len(entry)), dtype=bool)
            for x in range(length):
                size = entered_by[x] - x  # the pool's size, the same for every impression
                if size <= 0:
                    break
                available[:, entered_by[x - 1] if x else 0 : entered_by[x]] = True
                k = np.minimum((uniforms[rows, x] * size).astype(np.int64), size - 1)
                rank_among = np.cumsum(available[:, : entered_by[x]], axis=1, dtype=np.int32)
                pick = np.argmax(rank_among > k[:, None], axis=1)
                items[rows, x] = entry_index[pick]
                available[np.arange(len(rows)), pick] = False
        return InterleavingBatch(
            self.name,
            self.params(),
            item_ids,
            items,
            np.full((n, length), -1, dtype=np.int8),
            rank_table,
            tuple(map(len, lists)),
        )

    def _credit(self, interleaving: Interleaving, clicks: tuple[int, ...]) -> Credit:
        scores = self._pair_scores(interleaving.ranks, clicks, interleaving.items)
        return Credit(self.name, tuple(scores), sign_preferences(scores), clicks)

    def _pair_scores(
        self, rank_rows: Sequence[Sequence[int]], clicks: tuple[int, ...], items: Sequence
    ) -> list[float]:
        """Per-ranker credit of one impression from its ranks (``-1`` absent) and clicks."""
        scores = [0.0] * len(rank_rows)
        if not clicks:
            return scores
        ranks = [[_INF if r == ABSENT else r for r in row] for row in rank_rows]
        n = len(ranks[0])
        top = [min(row[p] for row in ranks) for p in range(n)]
        for p, t in enumerate(top):
            if t > p:
                msg = (
                    f"`interleaving` shows {items[p]!r} at position {p}, above its best rank "
                    f"{t} in any ranking; pairwise_preference credits only lists it could draw "
                    "(each item within some ranker's top p + 1)"
                )
                raise InvalidArgument(msg)
        # log_keep[x]: sum of log(1 - 1/c) over the pools before x. A pool of one never lies
        # inside a counted pair's span (the item of the better top rank would be in it too).
        log_keep = [0.0]
        for c in pool_sizes(top):
            log_keep.append(log_keep[-1] + (math.log1p(-1.0 / c) if c > 1 else 0.0))
        for p, q in _click_pairs(clicks, n, self.pairs):
            t_lo, t_hi = (top[p], top[q]) if top[p] <= top[q] else (top[q], top[p])
            if min(p, q) < t_hi:  # the later-entering item was not in the pool yet
                continue
            weight = math.exp(log_keep[t_lo] - log_keep[t_hi]) if t_hi > t_lo else 1.0
            for j, row in enumerate(ranks):
                if row[p] < row[q]:
                    scores[j] += weight
                elif row[p] > row[q]:
                    scores[j] -= weight
        return scores

    def credit_batch(self, batch: InterleavingBatch, clicks: Any) -> CreditBatch:
        """Credit many impressions; ``clicks`` is bool (n_impressions, length).

        Reads only ranks, so it credits logs as well as simulations; each distinct (list,
        clicks) pair is credited once.
        """
        clicks = self._check_batch(batch, clicks)
        ranks = batch.ranks  # (k, n, width), -1 absent or padding
        n_shown = batch.n_shown
        scores = np.zeros((clicks.shape[0], batch.n_rankers))
        done: dict[bytes, list[float]] = {}
        for i in np.flatnonzero(clicks.any(axis=1)).tolist():
            m = int(n_shown[i])
            rows = ranks[:, i, :m]
            shown_clicks = clicks[i, :m]
            key = rows.tobytes() + shown_clicks.tobytes()
            row_scores = done.get(key)
            if row_scores is None:
                positions = tuple(np.flatnonzero(shown_clicks).tolist())
                row_scores = self._pair_scores(rows.tolist(), positions, range(m))
                done[key] = row_scores
            scores[i] = row_scores
        preferences = np.sign(scores[:, :, None] - scores[:, None, :])
        return CreditBatch(self.name, scores, preferences)
