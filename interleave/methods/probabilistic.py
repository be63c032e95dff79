"""Probabilistic interleaving and multileaving, with credit marginalised exactly over assignments.

Hofmann, Whiteson & de Rijke, "A probabilistic method for inferring preferences from clicks",
CIKM 2011; multileaving: Schuth et al., "Probabilistic multileave for online retrieval
evaluation", SIGIR 2015.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from interleave._checks import check_int, check_real
from interleave.batch import InterleavingBatch, union_index
from interleave.credit import Credit, CreditBatch
from interleave.errors import InvalidArgument
from interleave.keys import as_generator, rng_for
from interleave.methods.base import Interleaver, Randomness
from interleave.ranking import ABSENT, Interleaving, validate_rankings

__all__ = ["Probabilistic"]


@functools.lru_cache(maxsize=64)
def _weights(tau: float, n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Softmax weights ``w[r] = 1 / (r + 1) ** tau`` of ranks ``0..n-1`` and their suffix sums.

    ``suffix[r] = w[r] + ... + w[n - 1]`` (``suffix[n] = 0``), summed from the smallest weight up.
    """
    w = tuple((r + 1.0) ** -tau for r in range(n))
    suffix = [0.0] * (n + 1)
    for r in range(n - 1, -1, -1):
        suffix[r] = suffix[r + 1] + w[r]
    return w, tuple(suffix)


class _Softmax:
    """One ranker's softmax over its not-yet-shown ranks: the state shared by merge and credit.

    The normaliser is ``suffix[top] - sum(w[r] for shown r > top)`` where ``top`` is the best
    unshown rank. Every weight subtracted is below ``w[top]``, so the cancellation loses at most a
    factor ``len(ranking)`` of precision whatever ``tau`` is (``total - shown`` would lose all of
    it for a large ``tau``). The shown ranks are summed in ascending order, the order the batch
    path uses too, so both paths compute bit-identical normalisers.
    """

    __slots__ = ("above", "remaining", "suffix", "top", "w")

    def __init__(self, w: tuple[float, ...], suffix: tuple[float, ...], length: int) -> None:
        self.w = w
        self.suffix = suffix
        self.top = 0  # best rank not shown yet
        self.above: list[int] = []  # shown ranks below `top` in the ranking (sorted)
        self.remaining = length

    def normaliser(self) -> float:
        w = self.w
        skipped = 0.0
        for r in self.above:
            skipped += w[r]
        return self.suffix[self.top] - skipped

    def remove(self, r: int) -> None:
        self.remaining -= 1
        if r != self.top:
            bisect.insort(self.above, r)
            return
        top = r + 1
        above = self.above
        while above and above[0] == top:
            above.pop(0)
            top += 1
        self.top = top


class Probabilistic(Interleaver):
    """Probabilistic interleaving (two rankers) and multileaving (any number).

    Each ranker is a softmax over its ranks: item ``d`` at 1-based rank ``r`` has weight
    ``1 / r ** tau``. For every position, a ranker is picked uniformly among those with items
    left, and an item is drawn from its softmax over its items not shown yet; the shown item leaves
    every ranker's softmax (the others renormalise over their remaining items, ranks unchanged).
    An item a ranker did not rank has probability 0 under it.

    Credit does not use which ranker was picked: it marginalises over every assignment of the
    clicked positions to rankers that could have produced the shown list. Given the list, the
    assignments of different positions are independent (the softmaxes at position ``p`` depend
    only on the items shown above ``p``), with
    ``P(position p came from ranker j | list) ∝ P_j(items[p] | items[:p])``. So

    - ``scores[j]`` is the expected number of clicks assigned to ranker ``j``;
    - ``preferences[i][j] = P(i gets more clicks than j) - P(j gets more than i)``, each click
      going to ``i``, to ``j`` or elsewhere independently: exact by a small dynamic program over
      the difference of the two counts, ``O(clicks ** 2)`` per pair, for any number of rankers
      (no ``2 ** n`` enumeration as in mpkato's ``evaluate``).

    ``teams[p]`` records the ranker actually picked for position ``p``; it is informational and
    credit never reads it (a record rebuilt with ``Interleaving.from_rankings`` credits the same).

    Parameters
    ----------
    length
        Items to show; ``None`` for the length of the longest ranking.
    tau
        Softmax exponent, ``> 0``: larger concentrates each ranker on its top items. 3 is the
        paper's value.
    credit_samples
        ``None`` (default): the exact expected outcome. An int ``n``: the Monte-Carlo estimate of
        Schuth et al. (2015), who sample ``n`` assignments of the clicks and average their
        outcomes; scores and preferences are then sample means. The exact computation is cheaper
        than any useful ``n`` and has no sampling noise, so the option exists only to reproduce
        that paper. The sample stream is a pure function of the record (seed, key, shown items)
        and the clicks, so crediting is still deterministic.

    Randomness per call: ``2 * length`` uniforms (a ranker and an item per position).

    Examples
    --------
    >>> method = Probabilistic(length=4)
    >>> il = method.interleave([["a", "b", "c"], ["b", "d", "a"]], key="request-42", seed=7)
    >>> il.items
    ('a', 'b', 'd', 'c')
    >>> credit = method.credit(il, clicks=[0])
    >>> [round(s, 3) for s in credit.scores], credit.winner
    ([0.964, 0.036], 0)
    """

    name = "probabilistic"
    max_rankers = None

    def __init__(
        self,
        length: int | None = None,
        *,
        tau: float = 3.0,
        credit_samples: int | None = None,
    ) -> None:
        super().__init__(length)
        self.tau = check_real("tau", tau, low=0.0, low_open=True)
        self.credit_samples = (
            None
            if credit_samples is None
            else check_int("credit_samples", credit_samples, minimum=1)
        )

    def params(self) -> tuple[tuple[str, Any], ...]:
        """Configuration that decides credit."""
        return (("credit_samples", self.credit_samples), ("length", self.length), ("tau", self.tau))

    # -- exact probabilities ---------------------------------------------------------------------

    def next_item_distribution(
        self, rankings: Sequence[Sequence], shown: Sequence = ()
    ) -> dict[Any, float]:
        """The exact probability of each item being shown next after ``shown``.

        With ``shown=()`` this is the distribution of the first position: for
        ``[[0, 1, 2], [0, 1, 2]]`` and ``tau=3`` it is ``{0: .86056, 1: .10757, 2: .03187}``.

        Examples
        --------
        >>> dist = Probabilistic().next_item_distribution([[0, 1], [1, 2]])
        >>> {item: round(p, 5) for item, p in dist.items()}
        {0: 0.44444, 1: 0.5, 2: 0.05556}
        """
        lists, positions = validate_rankings(rankings, max_rankers=self.max_rankers)
        softmaxes = self._replay(lists, positions, shown)
        eligible = [j for j, s in enumerate(softmaxes) if s.remaining > 0]
        out: dict[Any, float] = {}
        for j in eligible:
            s = softmaxes[j]
            z = s.normaliser()
            for r, item in enumerate(lists[j]):
                if r >= s.top and r not in s.above:
                    out[item] = out.get(item, 0.0) + s.w[r] / z / len(eligible)
        return out

    def list_probability(self, rankings: Sequence[Sequence], items: Sequence) -> float:
        """The exact probability that :meth:`interleave` shows ``items`` (its first ``len(items)``).

        The product over positions of the mean, over the rankers with items left, of each one's
        softmax probability of the shown item.
        """
        lists, positions = validate_rankings(rankings, max_rankers=self.max_rankers)
        items = list(items)
        probability = 1.0
        for p in range(len(items)):
            softmaxes = self._replay(lists, positions, items[:p])
            eligible = [s for s in softmaxes if s.remaining > 0]
            total = 0.0
            for j, s in enumerate(softmaxes):
                r = positions[j].get(items[p])
                if r is not None and s.remaining > 0 and r >= s.top and r not in s.above:
                    total += s.w[r] / s.normaliser()
            probability *= total / len(eligible) if eligible else 0.0
        return probability

    def _replay(self, lists: list[list], positions: list[dict], shown: Sequence) -> list[_Softmax]:
        n_max = max(map(len, lists))
        w, _ = _weights(self.tau, n_max)
        softmaxes = [
            _Softmax(w, _weights(self.tau, len(ranking))[1], len(ranking)) for ranking in lists
        ]
        seen = set()
        for item in shown:
            if item in seen:
                msg = f"`shown` repeats the item {item!r}; an item is shown at most once"
                raise InvalidArgument(msg)
            seen.add(item)
            for j, position in enumerate(positions):
                r = position.get(item)
                if r is not None:
                    softmaxes[j].remove(r)
        return softmaxes

    # -- per request -----------------------------------------------------------------------------

    def _merge(
        self,
        lists: list[list],
        positions: list[dict],
        length: int,
        draws: Randomness,
    ) -> tuple[list, list[int]]:
        k = len(lists)
        u = draws.uniforms(2 * length)
        w, _ = _weights(self.tau, max(map(len, lists)))
        softmaxes = [
            _Softmax(w, _weights(self.tau, len(ranking))[1], len(ranking)) for ranking in lists
        ]
        items: list = []
        teams: list[int] = []
        for p in range(length):
            eligible = [j for j in range(k) if softmaxes[j].remaining > 0]
            if not eligible:
                break
            j = eligible[int(u[2 * p] * len(eligible))]
            s = softmaxes[j]
            target = u[2 * p + 1] * s.normaliser()
            ranking = lists[j]
            above = s.above
            acc = 0.0
            chosen = -1
            for r in range(s.top, len(ranking)):
                if above and r in above:
                    continue
                acc += w[r]
                chosen = r
                if acc > target:
                    break
            # Rounding can leave `acc` a hair below `target` at the end: the last unshown item.
            item = ranking[chosen]
            items.append(item)
            teams.append(j)
            for i in range(k):
                r = positions[i].get(item)
                if r is not None:
                    softmaxes[i].remove(r)
        return items, teams

    def _credit(self, interleaving: Interleaving, clicks: tuple[int, ...]) -> Credit:
        k = interleaving.n_rankers
        posterior = self._posterior(interleaving, clicks)
        if self.credit_samples is None:
            scores = tuple(float(sum(row[j] for row in posterior)) for j in range(k))
            preferences = [[0.0] * k for _ in range(k)]
            for i in range(k):
                for j in range(i + 1, k):
                    e = _expected_outcome(
                        [row[i] for row in posterior], [row[j] for row in posterior]
                    )
                    preferences[i][j] = e
                    preferences[j][i] = -e
            return Credit(self.name, scores, tuple(map(tuple, preferences)), clicks)
        return self._sampled_credit(interleaving, clicks, posterior)

    def _posterior(self, interleaving: Interleaving, clicks: tuple[int, ...]) -> list[list[float]]:
        """Per clicked position, ``P(assigned to ranker j | shown list)`` for every ranker ``j``.

        All zeros for an item no ranker ranked (possible in a record built from a log).
        """
        if not clicks:
            return []
        ranks = interleaving.ranks
        lengths = interleaving.ranking_lengths
        k = len(ranks)
        w, _ = _weights(self.tau, max(lengths))
        softmaxes = [_Softmax(w, _weights(self.tau, n)[1], n) for n in lengths]
        out = []
        c = 0
        next_click = clicks[0]
        for p in range(clicks[-1] + 1):
            if p == next_click:
                probs = [0.0] * k
                for j in range(k):
                    r = ranks[j][p]
                    if r != ABSENT:
                        probs[j] = w[r] / softmaxes[j].normaliser()
                total = math.fsum(probs)  # exactly rounded: the same for any order of the rankers
                out.append([x / total for x in probs] if total > 0 else probs)
                c += 1
                next_click = clicks[c] if c < len(clicks) else -1
            for j in range(k):
                r = ranks[j][p]
                if r != ABSENT:
                    softmaxes[j].remove(r)
        return out

    def _sampled_credit(
        self, interleaving: Interleaving, clicks: tuple[int, ...], posterior: list[list[float]]
    ) -> Credit:
        k = interleaving.n_rankers
        n = self.credit_samples
        if not clicks:
            return Credit(self.name, (0.0,) * k, ((0.0,) * k,) * k, clicks)
        # Rankers in an order that does not depend on their labels (their rank rows), so that
        # relabelling the record permutes the credit instead of changing it.
        order = sorted(
            range(k), key=lambda j: (interleaving.ranking_lengths[j], interleaving.ranks[j])
        )
        key = "" if interleaving.key is None else interleaving.key
        rng = rng_for(
            interleaving.seed,
            "probabilistic/credit",
            key,
            len(interleaving.items),
            *interleaving.items,
            *clicks,
        )
        probs = np.array([[row[j] for j in order] for row in posterior])  # (clicks, k)
        cumulative = np.cumsum(probs, axis=1)
        u = rng.random((n, len(clicks)))
        picked = (u[:, :, None] >= cumulative[None, :, :]).sum(axis=2)  # k means "nobody"
        counts = np.stack([(picked == slot).sum(axis=1) for slot in range(k)], axis=1)
        slot_scores = counts.mean(axis=0)
        slot_signs = np.sign(counts[:, :, None] - counts[:, None, :]).mean(axis=0)
        # Identical rankers (same ranks) are interchangeable, as in the exact credit: average
        # their estimates so that the result does not depend on which of them came first.
        keys = [(interleaving.ranking_lengths[j], interleaving.ranks[j]) for j in order]
        start = 0
        for end in range(1, k + 1):
            if end == k or keys[end] != keys[start]:
                if end - start > 1:
                    group = list(range(start, end))
                    slot_scores[group] = slot_scores[group].mean()
                    slot_signs[group, :] = slot_signs[group, :].mean(axis=0)
                    slot_signs[:, group] = slot_signs[:, group].mean(axis=1, keepdims=True)
                    slot_signs[np.ix_(group, group)] = 0.0
                start = end
        scores = [0.0] * k
        preferences = [[0.0] * k for _ in range(k)]
        for s, j in enumerate(order):
            scores[j] = float(slot_scores[s])
            for t, i in enumerate(order):
                preferences[j][i] = float(slot_signs[s, t])
        return Credit(self.name, tuple(scores), tuple(map(tuple, preferences)), clicks)

    # -- batch -----------------------------------------------------------------------------------

    def interleave_batch(
        self,
        rankings: Sequence[Sequence],
        n_impressions: int,
        *,
        rng: Any = None,
    ) -> InterleavingBatch:
        """Interleave ``n_impressions`` times at once, as many ``interleave(rng=...)`` calls would.

        Vectorised over impressions with the same floating-point operations, in the same order,
        as the per-request path, so the lists are identical.
        """
        n = check_int("n_impressions", n_impressions, minimum=0)
        lists, _ = validate_rankings(rankings, max_rankers=self.max_rankers)
        generator = as_generator(rng)
        length = self.resolve_length(lists)
        k = len(lists)
        lengths = [len(r) for r in lists]
        n_max = max(lengths)
        item_ids, rank_table = union_index(lists)
        w = np.array(_weights(self.tau, n_max)[0])
        suffixes = [np.array(_weights(self.tau, m)[1]) for m in lengths]
        # by_rank[j, r]: union index of ranking j's item at rank r (padding points at a dummy).
        by_rank = np.full((k, n_max), len(item_ids), dtype=np.int64)
        for j in range(k):
            by_rank[j, : lengths[j]] = rank_table[j].argsort()[len(item_ids) - lengths[j] :]
        in_range = np.arange(n_max)[None, :] < np.array(lengths)[:, None]  # (k, n_max)

        u = generator.random((n, 2 * length))
        shown = np.zeros((n, len(item_ids) + 1), dtype=bool)
        remaining = np.tile(np.array(lengths), (n, 1))
        items = np.full((n, length), -1, dtype=np.int32)
        teams = np.full((n, length), -1, dtype=np.int8)
        rows = np.arange(n)
        ranks_of = np.concatenate(
            [rank_table, np.full((k, 1), ABSENT, dtype=rank_table.dtype)], axis=1
        )
        for p in range(length):
            eligible = remaining > 0
            n_eligible = eligible.sum(axis=1)
            active = n_eligible > 0
            if not active.any():
                break
            pick = np.floor(u[:, 2 * p] * n_eligible).astype(np.int64)
            j = np.argmax(np.cumsum(eligible, axis=1) > pick[:, None], axis=1)
            ranked = by_rank[j]  # (n, n_max)
            unshown = ~shown[rows[:, None], ranked] & in_range[j]
            top = np.argmax(unshown, axis=1)
            above = ~unshown & in_range[j] & (np.arange(n_max)[None, :] > top[:, None])
            skipped = np.cumsum(np.where(above, w, 0.0), axis=1)[:, -1]
            z = np.zeros(n)
            for ranker, suffix in enumerate(suffixes):
                mine = j == ranker
                z[mine] = suffix[top[mine]]
            target = u[:, 2 * p + 1] * (z - skipped)
            acc = np.cumsum(np.where(unshown, w, 0.0), axis=1)
            hit = (acc > target[:, None]) & unshown
            last = n_max - 1 - np.argmax(unshown[:, ::-1], axis=1)
            chosen = np.where(hit.any(axis=1), np.argmax(hit, axis=1), last)
            item = ranked[rows, chosen]
            take = rows[active]
            items[take, p] = item[active]
            teams[take, p] = j[active]
            shown[take, item[active]] = True
            remaining[take] -= (ranks_of[:, item[active]] != ABSENT).T
        return InterleavingBatch(
            self.name, self.params(), item_ids, items, teams, rank_table, tuple(lengths)
        )

    def credit_batch(self, batch: InterleavingBatch, clicks: Any) -> CreditBatch:
        """Credit many impressions; ``clicks`` is bool (n_impressions, length). Vectorised.

        Equal to crediting each impression with :meth:`credit` up to floating-point rounding
        (sums are taken in another order). With ``credit_samples`` set it falls back to the loop.
        """
        clicks = self._check_batch(batch, clicks)
        if self.credit_samples is not None:
            return super().credit_batch(batch, clicks)
        k = batch.n_rankers
        n, length = batch.items.shape
        lengths = batch.ranking_lengths
        n_max = max(lengths)
        w = np.array(_weights(self.tau, n_max)[0])
        suffixes = [np.array(_weights(self.tau, m)[1]) for m in lengths]
        ranks = batch.ranks  # (k, n, length), -1 absent or padding
        shown = np.zeros((k, n, n_max), dtype=bool)
        rows = np.arange(n)
        positions = np.arange(n_max)[None, :]
        posterior = np.zeros((n, length, k))
        for p in range(length):
            probs = np.zeros((k, n))
            for j in range(k):
                r = ranks[j, :, p]
                present = r >= 0
                unshown = ~shown[j] & (positions < lengths[j])
                top = np.argmax(unshown, axis=1)
                above = shown[j] & (positions > top[:, None])
                skipped = np.cumsum(np.where(above, w, 0.0), axis=1)[:, -1]
                z = suffixes[j][top] - skipped
                probs[j] = np.where(
                    present, w[np.where(present, r, 0)] / np.where(present, z, 1.0), 0.0
                )
                shown[j, rows[present], r[present]] = True
            total = probs.sum(axis=0)
            posterior[:, p, :] = np.where(total > 0, probs / np.where(total > 0, total, 1.0), 0.0).T
        posterior *= clicks[:, :, None]
        scores = posterior.sum(axis=1)
        preferences = np.zeros((n, k, k))
        for i in range(k):
            for j in range(i + 1, k):
                e = _expected_outcome_batch(posterior[:, :, i], posterior[:, :, j])
                preferences[:, i, j] = e
                preferences[:, j, i] = -e
        return CreditBatch(self.name, scores, preferences)


def _expected_outcome(p_i: list[float], p_j: list[float]) -> float:
    """``P(X > 0) - P(X < 0)`` for ``X = sum of independent +1 (p_i) / -1 (p_j) / 0`` steps.

    Written so that swapping ``p_i`` and ``p_j`` negates the result exactly (every sum has two
    operands or runs outward from 0), which keeps the credit of a relabelled record a mirror.
    """
    m = len(p_i)
    if m == 0:
        return 0.0
    dist = [0.0] * (2 * m + 3)  # dist[m + 1 + d] = P(difference == d), one zero pad each side
    dist[m + 1] = 1.0
    for a, b in zip(p_i, p_j, strict=True):
        c = max(0.0, 1.0 - (a + b))
        dist = (
            [0.0]
            + [dist[t] * c + (dist[t - 1] * a + dist[t + 1] * b) for t in range(1, 2 * m + 2)]
            + [0.0]
        )
    win = 0.0
    lose = 0.0
    for d in range(1, m + 1):
        win += dist[m + 1 + d]
        lose += dist[m + 1 - d]
    return min(1.0, max(-1.0, win - lose))  # rounding can overshoot by an ulp


def _expected_outcome_batch(p_i: np.ndarray, p_j: np.ndarray) -> np.ndarray:
    """Row-wise :func:`_expected_outcome` over positions (zero probabilities change nothing)."""
    n, length = p_i.shape
    dist = np.zeros((n, 2 * length + 1))
    dist[:, length] = 1.0
    for p in range(length):
        a = p_i[:, p : p + 1]
        b = p_j[:, p : p + 1]
        c = np.maximum(0.0, 1.0 - a - b)
        new = dist * c
        new[:, 1:] += dist[:, :-1] * a
        new[:, :-1] += dist[:, 1:] * b
        dist = new
    return np.clip(dist[:, length + 1 :].sum(axis=1) - dist[:, :length].sum(axis=1), -1.0, 1.0)
