"""Team-Draft interleaving and multileaving.

Radlinski, Kurup & Joachims, "How does clickthrough data reflect retrieval quality?", CIKM 2008;
multileaving: Schuth, Sietsma, Whiteson, Lefortier & de Rijke, "Multileaved comparisons for fast
online evaluation", CIKM 2014.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from interleave._fused import team_draft_two
from interleave.batch import InterleavingBatch, union_index
from interleave.credit import TWO_RANKER_PREFERENCES, Credit, CreditBatch
from interleave.errors import InvalidArgument
from interleave.keys import as_generator, key_digest
from interleave.methods.base import Interleaver, Randomness, click_positions
from interleave.ranking import Interleaving, validate_rankings

__all__ = ["TeamDraft"]

# Two-ranker batches of up to this many positions tabulate all 2**length coin sequences.
_MAX_TABULATED_LENGTH = 16
# A key's digest holds 256 coins; longer lists draw more (the general path).
_MAX_DIGEST_COINS = 256


def common_prefix_length(lists: Sequence[Sequence], length: int) -> int:
    """Number of top ranks at which every ranking has the same item (at most ``length``)."""
    first = lists[0]
    c = 0
    if len(lists) == 2:  # hot path: no generator per rank
        second = lists[1]
        limit = min(length, len(first), len(second))
        while c < limit and first[c] == second[c]:
            c += 1
        return c
    others = lists[1:]
    limit = min(length, *map(len, lists))
    while c < limit and all(other[c] == first[c] for other in others):
        c += 1
    return c


_JUST_INT = frozenset({int})


@functools.lru_cache(maxsize=4096)
def _sign_matrix(counts: tuple[int, ...]) -> tuple[tuple[float, ...], ...]:
    """``sign(counts[i] - counts[j])`` as floats; cached: few click-count patterns recur."""
    return tuple(tuple([float((a > b) - (a < b)) for b in counts]) for a in counts)


class TeamDraft(Interleaver):
    """Team-Draft interleaving (two rankers) and multileaving (any number).

    The list is drafted in rounds. At the start of each round a fresh random order of the
    rankers is drawn (a fair coin for two); in that order each ranker adds its highest-ranked
    item not yet shown, and that position joins the ranker's team. A ranker with nothing left
    to add sits the round out. A click credits the team of the clicked position; a ranker wins
    an impression against another when its team got more clicks.

    Choices made here (each pinned by a test):

    - Per-round order, not "the smaller team picks next": the two agree until a ranking runs
      out; then the per-round rule lets the other rankers continue alone.
    - ``common_prefix=True`` (default): the items the rankings agree on at the top
      (``lists[i][:c]`` equal for all ``i``) are shown first and credited to no team (``-1``).
      Whoever "drafted" them, both rankers would have shown them there, so crediting them only
      adds noise: clicks on them go to a random team. Dropping them keeps the method unbiased
      under random clicks and raises sensitivity (Chapelle et al. 2012; Schuth et al. 2015;
      Lerot). ``common_prefix=False`` is the original algorithm (mpkato).
    - ``length=None`` shows as many items as the longest ranking has.

    Randomness per call: ``m`` coins for two rankers, ``m * n_rankers`` uniforms for more (one
    order per possible round), where ``m = min(length, sum of the rankings' lengths)``: the list
    cannot be longer, so ``length=10**18`` costs no more than the items available.

    Parameters
    ----------
    length
        Items to show; ``None`` for the length of the longest ranking.
    common_prefix
        Show the shared top of the rankings first, credited to no team.

    Examples
    --------
    >>> method = TeamDraft(length=4)
    >>> il = method.interleave([["a", "b", "c"], ["b", "d", "a"]], key="request-42", seed=7)
    >>> il.items, il.teams
    (('b', 'a', 'c', 'd'), (1, 0, 0, 1))
    >>> method.credit(il, clicks=[1]).winner
    0
    """

    name = "team_draft"
    max_rankers = None
    credit_reads = ("teams",)

    def __init__(self, length: int | None = None, *, common_prefix: bool = True) -> None:
        super().__init__(length)
        if not isinstance(common_prefix, bool):
            msg = f"`common_prefix` must be True or False, got {common_prefix!r}"
            raise InvalidArgument(msg)
        self.common_prefix = common_prefix

    def resolve_length(self, lists: Sequence[Sequence]) -> int:
        """Positions to fill: ``length`` bounded by the items the rankings hold together.

        (:meth:`Interleaver.bounded_length`, inlined: it runs on every request.)
        """
        length = self.length
        if length is None:
            return max(map(len, lists))
        total = sum(map(len, lists))
        return length if length < total else total

    def params(self) -> tuple[tuple[str, Any], ...]:
        """Configuration that decides credit."""
        return (("common_prefix", self.common_prefix), ("length", self.length))

    def interleave(
        self,
        rankings: Sequence[Sequence],
        *,
        key: str | int | None = None,
        seed: int | None = None,
        rng: Any = None,
    ) -> Interleaving:
        """Merge ``rankings`` (best first) into one list; see :meth:`Interleaver.interleave`.

        Two lists of str or int ids with a str or int key take a fused path
        (:mod:`interleave._fused`, compiled where it was built) that gives exactly the general
        path's record.
        """
        pair = self._plain_pair(rankings, key, seed, rng)
        if pair is not None and pair[2] <= _MAX_DIGEST_COINS:
            a, b, length = pair
            coins = int.from_bytes(key_digest(seed, key), "little")
            merged = team_draft_two(a, b, length, self.common_prefix, coins)
            if merged is not None:
                return self._fused_record(merged, a, b, key, seed)
        return super().interleave(rankings, key=key, seed=seed, rng=rng)

    def _merge(
        self,
        lists: list[list],
        positions: list[dict],
        length: int,
        draws: Randomness,
    ) -> tuple[list, list[int]]:
        k = len(lists)
        c = common_prefix_length(lists, length) if self.common_prefix else 0
        items = lists[0][:c]
        teams = [-1] * c
        shown = set(items)
        if k == 2:
            return self._draft_two(
                lists[0], lists[1], c, length, draws.coin_bits(length), items, teams, shown
            )
        pointers = [c] * k
        u = draws.uniforms(length * k)
        # Each round adds at least one item or ends the draft, so `length` rounds always suffice.
        for r in range(length):
            if len(items) >= length:
                break
            added = False
            for j in sorted(range(k), key=u[r * k : (r + 1) * k].__getitem__):
                ranking = lists[j]
                p = pointers[j]
                n = len(ranking)
                while p < n and ranking[p] in shown:
                    p += 1
                if p < n:
                    item = ranking[p]
                    items.append(item)
                    teams.append(j)
                    shown.add(item)
                    p += 1
                    added = True
                pointers[j] = p
                if len(items) >= length:
                    break
            if not added:
                break
        return items, teams

    @staticmethod
    def _draft_two(
        a: list, b: list, c: int, length: int, coins: int, items: list, teams: list, shown: set
    ) -> tuple[list, list[int]]:
        # The two-ranker draft, unrolled (one branch per coin side, bound methods): this is the
        # per-request hot path of a live API.
        na, nb = len(a), len(b)
        pa = pb = c
        count = c
        add_item, add_team, mark = items.append, teams.append, shown.add
        # Coin r is bit r; past 64 coins, shifting a long int each round would be quadratic.
        bits = format(coins, f"0{length}b")[::-1] if length > 64 else None
        if count >= length:  # the common prefix filled the list
            return items, teams
        for r in range(length):
            before = count
            if ((coins >> r) & 1) if bits is None else bits[r] == "1":  # A picks first
                while pa < na and a[pa] in shown:
                    pa += 1
                if pa < na:
                    item = a[pa]
                    pa += 1
                    add_item(item)
                    add_team(0)
                    mark(item)
                    count += 1
                    if count >= length:
                        break
                while pb < nb and b[pb] in shown:
                    pb += 1
                if pb < nb:
                    item = b[pb]
                    pb += 1
                    add_item(item)
                    add_team(1)
                    mark(item)
                    count += 1
            else:  # B picks first
                while pb < nb and b[pb] in shown:
                    pb += 1
                if pb < nb:
                    item = b[pb]
                    pb += 1
                    add_item(item)
                    add_team(1)
                    mark(item)
                    count += 1
                    if count >= length:
                        break
                while pa < na and a[pa] in shown:
                    pa += 1
                if pa < na:
                    item = a[pa]
                    pa += 1
                    add_item(item)
                    add_team(0)
                    mark(item)
                    count += 1
            if count >= length or count == before:
                break
        return items, teams

    def credit(self, interleaving: Interleaving, clicks: Any) -> Credit:
        """Credit the team of each clicked position; see :meth:`Interleaver.credit`."""
        # The record check of the base class, with its common case first (a hot path).
        if (
            type(interleaving) is not Interleaving
            or interleaving.method != "team_draft"
            or (
                interleaving.params is not self._params()  # its own records: the memo itself
                and interleaving.params != self._params()
            )
        ):
            self._check_record(interleaving)
        teams = interleaving.teams
        if type(clicks) is list and len(interleaving.ranks) == 2:
            # The per-click hot path of a live API: a short list of int positions, counted in
            # the pass that checks them (teams are in [-1, 2): the record checked them).
            positions = sorted(clicks) if set(map(type, clicks)) <= _JUST_INT else None
            if positions is not None and (
                not positions or (positions[0] >= 0 and positions[-1] < len(teams))
            ):
                a = b = 0
                previous = -1
                for p in positions:
                    if p == previous:  # a repeated position: the general path names it
                        break
                    previous = p
                    team = teams[p]
                    if team == 0:
                        a += 1
                    elif team == 1:
                        b += 1
                else:
                    return Credit._from_checked_parts(
                        "team_draft",
                        (float(a), float(b)),
                        TWO_RANKER_PREFERENCES[(a > b) - (a < b)],
                        tuple(positions),
                    )
        return self._credit(interleaving, click_positions(clicks, len(teams)))

    def _credit(self, interleaving: Any, clicks: tuple[int, ...]) -> Credit:
        k = len(interleaving.ranks)
        teams = interleaving.teams
        if k == 2:  # the per-request hot path: two counters, no list
            a = b = 0
            for p in clicks:
                team = teams[p]
                if team == 0:
                    a += 1
                elif team == 1:
                    b += 1
                elif team != -1:
                    msg = f"`teams` must be ranker indices in [-1, 2), got {teams!r}"
                    raise InvalidArgument(msg)
            outcome = float((a > b) - (a < b))
            return Credit(
                self.name, (float(a), float(b)), ((0.0, outcome), (-outcome, 0.0)), clicks
            )
        scores = [0] * k
        for p in clicks:
            team = teams[p]
            if team >= 0:
                scores[team] += 1
            elif team != -1:
                msg = f"`teams` must be ranker indices in [-1, {k}), got {teams!r}"
                raise InvalidArgument(msg)
        counts = tuple(scores)
        return Credit(self.name, tuple(map(float, counts)), _sign_matrix(counts), clicks)

    # -- batch -----------------------------------------------------------------------------------

    def interleave_batch(
        self,
        rankings: Sequence[Sequence],
        n_impressions: int,
        *,
        rng: Any = None,
    ) -> InterleavingBatch:
        """Draft ``n_impressions`` lists at once; equal to as many ``interleave(rng=...)`` calls.

        Two rankers and at most 16 positions (the common case): a list is a function of its
        coin sequence, so each distinct sequence is drafted once by the per-request code and
        every row gathers its list. Otherwise the draft runs vectorised over impressions: the
        state of a row is one pointer per ranker (an item is shown iff it lies above some
        ranker's pointer), so each pick is a few numpy operations on all rows together.
        """
        lists, positions = validate_rankings(rankings, max_rankers=self.max_rankers)
        length = self.resolve_length(lists)
        n = self._check_n_impressions(n_impressions, length)
        generator = as_generator(rng)
        k = len(lists)
        item_ids, rank_table = union_index(lists)
        lookup = {item: u for u, item in enumerate(item_ids)}
        if k == 2 and length <= _MAX_TABULATED_LENGTH:
            coins = generator.random((n, length)) < 0.5
            codes = (coins.astype(np.int32) << np.arange(length, dtype=np.int32)).sum(axis=1)
            table_items = np.full((1 << length, length), -1, dtype=np.int32)
            table_teams = np.full((1 << length, length), -1, dtype=np.int8)
            for code in np.flatnonzero(np.bincount(codes, minlength=1 << length)).tolist():
                shown, teams = self._merge(
                    lists, positions, length, Randomness.from_coin_bits(code)
                )
                table_items[code, : len(shown)] = [lookup[x] for x in shown]
                table_teams[code, : len(teams)] = teams
            return InterleavingBatch(
                self.name,
                self.params(),
                item_ids,
                table_items[codes],
                table_teams[codes],
                rank_table,
                tuple(map(len, lists)),
            )
        n_union = len(item_ids)
        # Union index of each ranking's items, padded with the sentinel n_union ("nothing left").
        padded = np.full((k, max(map(len, lists)) + 1), n_union, dtype=np.int32)
        for j, ranking in enumerate(lists):
            padded[j, : len(ranking)] = [lookup[item] for item in ranking]
        ranks_ext = np.concatenate([rank_table, np.full((k, 1), -1, dtype=np.int32)], axis=1)

        if k == 2:
            first = np.where(generator.random((n, length)) < 0.5, 0, 1).astype(np.int8)
            orders = np.stack([first, 1 - first], axis=2)
        else:
            orders = generator.random((n, length, k)).argsort(axis=2).astype(np.int8)

        c = common_prefix_length(lists, length) if self.common_prefix else 0
        items = np.full((n, length), -1, dtype=np.int32)
        teams = np.full((n, length), -1, dtype=np.int8)
        items[:, :c] = padded[0, :c]
        pointers = np.full((n, k), c, dtype=np.int32)
        count = np.full(n, c, dtype=np.int32)
        rows = np.arange(n)
        for r in range(length):
            active = count < length
            if not active.any():
                break
            for slot in range(k):
                j = orders[:, r, slot]
                p = pointers[rows, j]
                while True:
                    candidate = padded[j, p]
                    # Shown iff some ranker's pointer has passed it.
                    rank_in = ranks_ext[:, candidate]  # (k, n)
                    shown = ((rank_in >= 0) & (rank_in < pointers.T)).any(axis=0)
                    advance = shown & (candidate != n_union)
                    if not advance.any():
                        break
                    p = p + advance
                take = active & (candidate != n_union)
                where = rows[take]
                items[where, count[take]] = candidate[take]
                teams[where, count[take]] = j[take]
                pointers[rows, j] = p + take
                count += take
                active = count < length
        return InterleavingBatch(
            self.name, self.params(), item_ids, items, teams, rank_table, tuple(map(len, lists))
        )

    def credit_batch(self, batch: InterleavingBatch, clicks: Any) -> CreditBatch:
        """Credit many impressions; ``clicks`` is bool (n_impressions, length). Vectorised.

        Reads only ``teams``, so a batch built from a log's team column alone is enough.
        """
        clicks = self._check_batch(batch, clicks)
        k = batch.n_rankers
        scores = np.stack(
            [(clicks & (batch.teams == j)).sum(axis=1) for j in range(k)], axis=1
        ).astype(float)
        preferences = np.sign(scores[:, :, None] - scores[:, None, :])
        return CreditBatch(self.name, scores, preferences)
