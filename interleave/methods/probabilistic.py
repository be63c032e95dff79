"""Probabilistic interleaving and multileaving, with credit marginalised exactly over assignments.

Hofmann, Whiteson & de Rijke, "A probabilistic method for inferring preferences from clicks",
CIKM 2011; multileaving: Schuth et al., "Probabilistic multileave for online retrieval
evaluation", SIGIR 2015.

Two pieces of arithmetic keep it fast and finite for any ``tau``:

- **Sampling is a race** (the exponential-race / Gumbel-top-k trick): ranker ``j`` gives its item
  at rank ``r`` the key ``tau * log(r + 1) + log(E)``, ``E ~ Exp(1)``, and always draws its
  unshown item of smallest key. Conditioned on what has been shown, the keys of the unshown items
  are still independent and exponential (memorylessness), so each draw is exactly the softmax over
  the ranker's unshown items, whoever removed the others. One sort per ranker: O(n log n) a list.
- **Probabilities are relative to the best unshown rank** ``t``: weights
  ``(t + 1)^tau / (r + 1)^tau`` (at most 1, the top one exactly 1) and normalisers
  ``S[t] - sum(shown ranks below t)``, where ``S[t] = 1 + q_t S[t + 1]`` sums the tail from ``t``.
  Nothing underflows to 0 (absolute weights ``1 / (r + 1)^tau`` do from ``tau`` ~ 200), so there is
  no 0/0, and every normaliser is at least 1.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from interleave._checks import check_int, check_real, short_repr
from interleave.batch import InterleavingBatch, union_index
from interleave.credit import Credit, CreditBatch
from interleave.errors import InvalidArgument
from interleave.keys import as_generator, rng_for
from interleave.methods.base import Interleaver, Randomness
from interleave.ranking import ABSENT, Interleaving, validate_rankings

__all__ = ["MAX_CREDIT_SAMPLES", "MAX_RANKING_LENGTH", "Probabilistic"]

#: Longest ranking Probabilistic interleaves or credits (a logged record's ``ranking_lengths``
#: included): crediting sums each ranker's softmax tail, 8 bytes and ~0.2 us per rank, cached.
#: A module attribute read at every call: assign a new value to change it.
MAX_RANKING_LENGTH = 1_000_000
#: Largest ``credit_samples``: the sampled credit draws ``credit_samples x clicks`` uniforms, in
#: blocks of bounded memory, so time grows with it (about 1 s at 10^6 samples and 10 clicks).
MAX_CREDIT_SAMPLES = 1_000_000
#: Uniforms per block of the sampled credit: bounds its memory at ~100 MB whatever the sizes.
_SAMPLE_BLOCK = 1 << 21


def _check_lengths(lengths: Sequence[int], what: str) -> None:
    longest = max(lengths)
    if longest > MAX_RANKING_LENGTH:
        msg = (
            f"{what} holds a ranking of {longest:,} items, more than MAX_RANKING_LENGTH="
            f"{MAX_RANKING_LENGTH:,} that Probabilistic handles (its credit sums every ranker's "
            "softmax tail); truncate the rankings, or raise "
            "interleave.methods.probabilistic.MAX_RANKING_LENGTH"
        )
        raise InvalidArgument(msg)


@functools.lru_cache(maxsize=64)
def _log_ranks(n: int) -> np.ndarray:
    """``log(r + 1)`` for ranks ``0..n-1`` (read-only)."""
    out = np.log1p(np.arange(n, dtype=np.float64))
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=32)
def _tail_sums(tau: float, n: int) -> np.ndarray:
    """``S[t] = sum over r in t..n-1 of ((t + 1) / (r + 1)) ** tau`` for ``t`` in ``0..n-1``.

    By ``S[t] = 1 + q_t S[t + 1]`` with ``q_t = ((t + 1) / (t + 2)) ** tau``, each step relative
    to its own top: no term underflows unless it is negligible beside the 1 it is added to.
    """
    g = _log_ranks(n + 1)
    with np.errstate(over="ignore", under="ignore"):
        q = np.exp(-tau * (g[1:] - g[:-1])).tolist()
    tail = [1.0] * n
    running = 1.0
    for t in range(n - 2, -1, -1):
        running = 1.0 + q[t] * running
        tail[t] = running
    out = np.array(tail)
    out.flags.writeable = False
    return out


class _Softmax:
    """One ranker's softmax over its not-yet-shown ranks: the state shared by credit and replay.

    Weights are relative to the best unshown rank ``top``; ``above`` holds the shown ranks below
    it (sorted). ``normaliser()`` is at least 1 (the top item's own weight is exactly 1).
    """

    __slots__ = ("above", "remaining", "tail", "tau", "top")

    def __init__(self, tau: float, length: int) -> None:
        self.tau = tau
        self.tail = _tail_sums(tau, length)
        self.top = 0  # best rank not shown yet
        self.above: list[int] = []  # shown ranks below `top` in the ranking (sorted)
        self.remaining = length

    def weight(self, r: int) -> float:
        """``((top + 1) / (r + 1)) ** tau`` for an unshown rank ``r >= top``."""
        return math.exp(-self.tau * (math.log1p(r) - math.log1p(self.top)))

    def normaliser(self) -> float:
        skipped = 0.0
        for r in self.above:
            skipped += self.weight(r)
        return max(1.0, float(self.tail[self.top]) - skipped)

    def probability(self, r: int) -> float:
        """Probability that the ranker draws its rank ``r`` now (0 if shown already)."""
        if r < self.top or r in self.above:
            return 0.0
        return self.weight(r) / self.normaliser()

    def remove(self, r: int) -> None:
        self.remaining -= 1
        if r != self.top:
            bisect.insort(self.above, r)
            return
        top = r + 1
        above = self.above
        i = 0
        while i < len(above) and above[i] == top:
            i += 1
            top += 1
        del above[:i]
        self.top = top


def _race_keys(tau: float, lengths: Sequence[int], u: np.ndarray) -> np.ndarray:
    """Race keys ``tau * log(r + 1) + log(-log(1 - u))`` of every ranker's ranks, concatenated.

    ``u`` is (..., sum(lengths)); the same elementwise ufuncs on the same values give the same
    keys per request and in a batch.
    """
    g = np.concatenate([_log_ranks(n) for n in lengths])
    with np.errstate(all="ignore"):  # tau * log(r + 1) may overflow to inf: a certain last place
        return tau * g + np.log(-np.log1p(-u))


def _shown_items(items: Any, name: str) -> list:
    """``items`` as a list of hashable ids, or a named error."""
    if isinstance(items, (str, bytes)) or not isinstance(items, (Sequence, np.ndarray)):
        msg = (
            f"`{name}` must be a list of the item ids shown so far (possibly empty), got "
            f"{short_repr(items)} of type {type(items).__name__}"
        )
        raise InvalidArgument(msg)
    items = items.tolist() if isinstance(items, np.ndarray) else list(items)
    try:
        set(items)
    except TypeError:
        msg = f"`{name}` holds an unhashable value in {short_repr(items)}; ids are str or int"
        raise InvalidArgument(msg) from None
    return items


class Probabilistic(Interleaver):
    """Probabilistic interleaving (two rankers) and multileaving (any number).

    Each ranker is a softmax over its ranks: item ``d`` at 1-based rank ``r`` has weight
    ``1 / r ** tau``. For every position, a ranker is picked uniformly among those with items
    left, and an item is drawn from its softmax over its items not shown yet; the shown item leaves
    every ranker's softmax (the others renormalise over their remaining items, ranks unchanged).
    An item a ranker did not rank has probability 0 under it. The draw is an exponential race
    (see the module's notes): O(n log n) for rankings of n items, for any ``tau``.

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
        Items to show; ``None`` for the length of the longest ranking. A list never holds more
        than the distinct items of the rankings, whatever ``length`` says.
    tau
        Softmax exponent, ``> 0`` and finite: larger concentrates each ranker on its top items
        (any size works: weights are kept relative to the best unshown item). 3 is the paper's
        value.
    credit_samples
        ``None`` (default): the exact expected outcome. An int ``n`` (at most
        :data:`MAX_CREDIT_SAMPLES`): the Monte-Carlo estimate of Schuth et al. (2015), who sample
        ``n`` assignments of the clicks and average their outcomes; scores and preferences are
        then sample means. The exact computation is cheaper than any useful ``n`` and has no
        sampling noise, so the option exists only to reproduce that paper. The sample stream is a
        pure function of the record (seed, key, shown items) and the clicks, so crediting is
        still deterministic.

    Rankings (and a logged record's ``ranking_lengths``) longer than :data:`MAX_RANKING_LENGTH`
    raise :class:`~interleave.errors.InvalidArgument`.

    Randomness per call: ``m + sum(len(r) for r in rankings)`` uniforms, where
    ``m = min(length, distinct items)`` is the list's length: one per position (which ranker),
    then one per ranked item (its race key). The count depends only on the rankings and
    ``length``, so ``interleave_batch`` equals successive ``interleave(rng=...)`` calls.

    Examples
    --------
    >>> method = Probabilistic(length=4)
    >>> il = method.interleave([["a", "b", "c"], ["b", "d", "a"]], key="request-42", seed=7)
    >>> il.items
    ('a', 'b', 'c', 'd')
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
        if self.credit_samples is not None and self.credit_samples > MAX_CREDIT_SAMPLES:
            msg = (
                f"`credit_samples` must be at most MAX_CREDIT_SAMPLES={MAX_CREDIT_SAMPLES:,}, got "
                f"{self.credit_samples:,}; use credit_samples=None for the exact expected outcome "
                "(cheaper and without sampling noise)"
            )
            raise InvalidArgument(msg)

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
        _check_lengths(list(map(len, lists)), "`rankings`")
        softmaxes = self._replay(lists, positions, _shown_items(shown, "shown"))
        eligible = [j for j, s in enumerate(softmaxes) if s.remaining > 0]
        out: dict[Any, float] = {}
        for j in eligible:
            s = softmaxes[j]
            z = s.normaliser()
            above = set(s.above)
            for r in range(s.top, len(lists[j])):
                if r not in above:
                    item = lists[j][r]
                    out[item] = out.get(item, 0.0) + s.weight(r) / z / len(eligible)
        return out

    def list_probability(self, rankings: Sequence[Sequence], items: Sequence) -> float:
        """The exact probability that :meth:`interleave` shows ``items`` (its first ``len(items)``).

        The product over positions of the mean, over the rankers with items left, of each one's
        softmax probability of the shown item.
        """
        lists, positions = validate_rankings(rankings, max_rankers=self.max_rankers)
        _check_lengths(list(map(len, lists)), "`rankings`")
        items = _shown_items(items, "items")
        probability = 1.0
        for p in range(len(items)):
            softmaxes = self._replay(lists, positions, items[:p])
            eligible = [s for s in softmaxes if s.remaining > 0]
            total = 0.0
            for j, s in enumerate(softmaxes):
                r = positions[j].get(items[p])
                if r is not None and s.remaining > 0:
                    total += s.probability(r)
            probability *= total / len(eligible) if eligible else 0.0
        return probability

    def _replay(self, lists: list[list], positions: list[dict], shown: Sequence) -> list[_Softmax]:
        softmaxes = [_Softmax(self.tau, len(ranking)) for ranking in lists]
        seen = set()
        for item in shown:
            if item in seen:
                msg = f"`shown` repeats the item {short_repr(item)}; an item is shown at most once"
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
        lengths = [len(ranking) for ranking in lists]
        _check_lengths(lengths, "`rankings`")
        k = len(lists)
        n_union = len(set(positions[0]).union(*positions[1:]))
        m = min(length, n_union)
        u = draws.uniforms(m + sum(lengths))
        keys = _race_keys(self.tau, lengths, np.array(u[m:]))
        # Each ranker's items in race order (smallest key first; ties by rank).
        orders = []
        start = 0
        for j, n in enumerate(lengths):
            order = keys[start : start + n].argsort(kind="stable").tolist()
            orders.append(list(map(lists[j].__getitem__, order)))
            start += n
        pointer = [0] * k
        remaining = lengths[:]
        alive = list(range(k))  # rankers with unshown items, ascending (as `eligible` in a batch)
        shown: set = set()
        items: list = []
        teams: list[int] = []
        for p in range(m):
            j = alive[int(u[p] * len(alive))]
            order = orders[j]
            i = pointer[j]
            while order[i] in shown:
                i += 1
            item = order[i]
            pointer[j] = i + 1
            shown.add(item)
            items.append(item)
            teams.append(j)
            for i in range(k):
                if item in positions[i]:
                    remaining[i] -= 1
                    if not remaining[i]:
                        alive.remove(i)
        return items, teams

    def _credit(self, interleaving: Interleaving, clicks: tuple[int, ...]) -> Credit:
        _check_lengths(interleaving.ranking_lengths, "`interleaving.ranking_lengths`")
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
        k = len(ranks)
        softmaxes = [_Softmax(self.tau, n) for n in interleaving.ranking_lengths]
        out = []
        c = 0
        next_click = clicks[0]
        for p in range(clicks[-1] + 1):
            if p == next_click:
                probs = [0.0] * k
                for j in range(k):
                    r = ranks[j][p]
                    if r != ABSENT:
                        probs[j] = softmaxes[j].probability(r)
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
        # In blocks of rows (the same stream as one (n, clicks) draw), so memory stays bounded.
        block = max(1, _SAMPLE_BLOCK // (len(clicks) * (k + 1)))
        count_sum = np.zeros(k)
        sign_sum = np.zeros((k, k))
        for done in range(0, n, block):
            u = rng.random((min(block, n - done), len(clicks)))
            picked = (u[:, :, None] >= cumulative[None, :, :]).sum(axis=2)  # k means "nobody"
            counts = np.stack([(picked == slot).sum(axis=1) for slot in range(k)], axis=1)
            count_sum += counts.sum(axis=0)
            sign_sum += np.sign(counts[:, :, None] - counts[:, None, :]).sum(axis=0)
        slot_scores = count_sum / n
        slot_signs = sign_sum / n
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

        Vectorised over impressions: the same uniforms, the same race keys (the same ufuncs on
        the same values) and the same picks, so the lists are identical. Rows have
        ``min(length, distinct items)`` positions, the most a list can hold.
        """
        lists, _ = validate_rankings(rankings, max_rankers=self.max_rankers)
        lengths = [len(r) for r in lists]
        _check_lengths(lengths, "`rankings`")
        item_ids, rank_table = union_index(lists)
        k, n_union = rank_table.shape
        m = min(self.resolve_length(lists), n_union)
        total = sum(lengths)
        n = self._check_n_impressions(n_impressions, m + total)
        generator = as_generator(rng)
        items = np.full((n, m), -1, dtype=np.int32)
        teams = np.full((n, m), -1, dtype=np.int8)
        # Blocks of impressions, drawn in order (the same stream as one (n, m + total) draw), keep
        # the working arrays near 2**22 cells however many impressions are asked for.
        block = max(1, (1 << 22) // (m + total + k * max(lengths) + n_union))
        for lo in range(0, n, block):
            hi = min(n, lo + block)
            u = generator.random((hi - lo, m + total))
            items[lo:hi], teams[lo:hi] = self._merge_block(u, m, lengths, rank_table)
        return InterleavingBatch(
            self.name, self.params(), item_ids, items, teams, rank_table, tuple(lengths)
        )

    def _merge_block(
        self, u: np.ndarray, m: int, lengths: list[int], rank_table: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Items (union indices) and teams of the lists the rows of ``u`` draw, as ``_merge``."""
        n = u.shape[0]
        k, n_union = rank_table.shape
        keys = _race_keys(self.tau, lengths, np.ascontiguousarray(u[:, m:]))
        # race[i, j, s]: union index of ranker j's s-th item in race order, in impression i.
        race = np.zeros((n, k, max(lengths)), dtype=np.int32)
        start = 0
        for j, length_j in enumerate(lengths):
            by_rank = np.empty(length_j, dtype=np.int32)
            by_rank[rank_table[j][rank_table[j] >= 0]] = np.flatnonzero(rank_table[j] >= 0)
            order = keys[:, start : start + length_j].argsort(axis=1, kind="stable")
            race[:, j, :length_j] = by_rank[order]
            start += length_j
        del keys
        has = (rank_table >= 0).T.astype(np.int64)  # (n_union, k)
        remaining = np.tile(np.array(lengths, dtype=np.int64), (n, 1))
        pointer = np.zeros((n, k), dtype=np.int64)
        shown = np.zeros((n, n_union), dtype=bool)
        items = np.full((n, m), -1, dtype=np.int32)
        teams = np.full((n, m), -1, dtype=np.int8)
        rows = np.arange(n)
        for p in range(m):
            eligible = remaining > 0
            pick = (u[:, p] * eligible.sum(axis=1)).astype(np.int64)
            j = np.argmax(np.cumsum(eligible, axis=1) > pick[:, None], axis=1)
            at = pointer[rows, j]
            item = race[rows, j, at]
            late = np.flatnonzero(shown[rows, item])
            while late.size:  # skip items another ranker showed already
                at[late] += 1
                item[late] = race[late, j[late], at[late]]
                late = late[shown[late, item[late]]]
            pointer[rows, j] = at + 1
            shown[rows, item] = True
            items[:, p] = item
            teams[:, p] = j
            remaining -= has[item]
        return items, teams

    def credit_batch(self, batch: InterleavingBatch, clicks: Any) -> CreditBatch:
        """Credit many impressions; ``clicks`` is bool (n_impressions, length). Vectorised.

        ``batch`` may hold impressions of the same rankings (:meth:`interleave_batch`) or each of
        its own (``InterleavingBatch.from_records`` / ``from_columns``, with ``ranks`` and
        ``ranking_lengths``). Equal to crediting each impression with :meth:`credit` up to
        floating-point rounding (sums are taken in another order). With ``credit_samples`` set
        it falls back to the loop.
        """
        clicks = self._check_batch(batch, clicks)
        lengths = batch.ranking_lengths
        if lengths.size:
            _check_lengths([int(lengths.max())], "`batch.ranking_lengths`")
        if self.credit_samples is not None:
            return super().credit_batch(batch, clicks)
        k = batch.n_rankers
        n, width = clicks.shape
        ranks = batch.ranks
        scores = np.zeros((n, k))
        preferences = np.zeros((n, k, k))
        # Blocks of impressions keep the working arrays near 2**21 cells whatever the batch size.
        block = max(1, (1 << 21) // max(1, width * (width + k)))
        for lo in range(0, n, block):
            hi = min(n, lo + block)
            posterior = self._posterior_batch(ranks[:, lo:hi], lengths[lo:hi], width)
            posterior *= clicks[lo:hi, :, None]
            scores[lo:hi] = posterior.sum(axis=1)
            for i in range(k):
                for j in range(i + 1, k):
                    e = _expected_outcome_batch(posterior[:, :, i], posterior[:, :, j])
                    preferences[lo:hi, i, j] = e
                    preferences[lo:hi, j, i] = -e
        return CreditBatch(self.name, scores, preferences)

    def _posterior_batch(self, ranks: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
        """(n, width, k): per position, ``P(assigned to ranker j | shown list)``, as ``_posterior``.

        Per ranker, ``top`` (best unshown rank) only grows and is at most ``width``, so a shown
        mask of ``width + 1`` ranks finds it; the shown ranks below it are read from the positions
        above.
        """
        k, n, _ = ranks.shape
        tau = self.tau
        rows = np.arange(n)
        probs = np.zeros((n, width, k))
        for j in range(k):
            r_all = ranks[j].astype(np.int64)  # (n, width), -1 absent or padding
            g_all = np.log1p(np.maximum(r_all, 0).astype(np.float64))
            # Tail sums S[top] of each impression's ranking length, gathered per distinct length.
            distinct, which = np.unique(lengths[:, j], return_inverse=True)
            tails = np.ones((distinct.shape[0], width + 1))
            for d, length_d in enumerate(distinct.tolist()):
                tail = _tail_sums(tau, length_d)[: width + 1]
                tails[d, : tail.shape[0]] = tail
            low = np.zeros((n, width + 2), dtype=bool)  # shown ranks 0..width (+1 sentinel)
            top = np.zeros(n, dtype=np.int64)
            for p in range(width):
                r = r_all[:, p]
                present = r >= 0
                g_top = np.log1p(top.astype(np.float64))
                with np.errstate(over="ignore", under="ignore"):
                    above = r_all[:, :p] > top[:, None]
                    skipped = np.where(
                        above, np.exp(-tau * (g_all[:, :p] - g_top[:, None])), 0.0
                    ).sum(axis=1)
                    weight = np.exp(-tau * (g_all[:, p] - g_top))
                z = np.maximum(1.0, tails[which, np.minimum(top, width)] - skipped)
                probs[:, p, j] = np.where(present, weight / z, 0.0)
                # Remove the shown rank: mark it, then move `top` past every shown rank.
                small = present & (r <= width)
                low[rows[small], r[small]] = True
                move = low[rows, top]
                while move.any():
                    top[move] += 1
                    move = low[rows, np.minimum(top, width + 1)]
        total = probs.sum(axis=2, keepdims=True)
        return np.divide(probs, total, out=np.zeros_like(probs), where=total > 0)


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
