"""Many impressions as numpy arrays: the batch path of simulation and of log evaluation.

One type, two kinds:

- **shared rankings** (what ``method.interleave_batch`` returns): every impression merged the
  same rankings. ``items`` are indices into ``item_ids`` (the union of the rankings, first-seen
  order), so relevance or click-model parameters of the shown items are one fancy-index away:
  ``relevance_of_union[batch.items]``; the ranks come from one ``rank_table``.
- **per impression** (a real log, where every request had its own rankings):
  :meth:`InterleavingBatch.from_records` packs logged :class:`~interleave.ranking.Interleaving`
  records, :meth:`InterleavingBatch.from_columns` takes the columns straight from a frame. The
  batch holds each impression's ranks and ranking lengths, which is all any credit rule needs.

Either way ``method.credit_batch(batch, clicks)`` credits every impression at once, equal to
``method.credit`` of each. Positions past the end of a shorter list are padding: ``-1`` in
``items``, ``teams`` and ``ranks``, never clicked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from interleave.errors import InvalidArgument
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


def _params_tuple(params: Any) -> tuple[tuple[str, Any], ...]:
    if isinstance(params, Mapping):
        return tuple(sorted(params.items()))
    try:
        pairs = tuple((str(name), value) for name, value in params)
    except (TypeError, ValueError):
        msg = f"`params` must be a mapping or (name, value) pairs, got {params!r}"
        raise InvalidArgument(msg) from None
    return tuple(sorted(pairs))


def _int_array(name: str, value: Any, ndim: int, shape_text: str) -> np.ndarray:
    """``value`` as an int64 array of ``ndim`` dimensions, or a named error."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as error:
        msg = f"`{name}` must be an int array {shape_text}, got a value numpy cannot read: {error}"
        raise InvalidArgument(msg) from None
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        msg = f"`{name}` must be an int array {shape_text}, got dtype {array.dtype}"
        raise InvalidArgument(msg)
    if array.ndim != ndim:
        msg = f"`{name}` must be an int array {shape_text}, got shape {array.shape}"
        raise InvalidArgument(msg)
    if array.dtype == np.uint64 and array.size and array.max() > np.iinfo(np.int64).max:
        msg = f"`{name}` holds {array.max()}, beyond int64; ranks and teams are small ints"
        raise InvalidArgument(msg)
    return array.astype(np.int64, copy=False)


class InterleavingBatch:
    """``n_impressions`` interleavings as arrays, of the same rankings or each of its own.

    Build one with ``method.interleave_batch`` (simulation), :meth:`from_records` or
    :meth:`from_columns` (logs); the constructor itself is the low-level path of the methods and
    does not validate.

    Attributes
    ----------
    method, params
        As in :class:`~interleave.ranking.Interleaving`.
    teams
        int array (n_impressions, length): the ranker each position is credited to, -1 for none
        and for padding.
    item_ids
        The ids ``items`` index into, or ``None`` when the batch was built from columns without
        ids (then :meth:`__getitem__` gives positions as ids).
    items
        int32 array (n_impressions, length) of indices into ``item_ids``, -1 for padding, or
        ``None`` (built from columns).
    rank_table
        Shared-rankings batches: int32 (n_rankers, n_union), rank of each union item in each
        ranking, -1 absent. ``None`` for per-impression batches.
    keys, seeds
        Per impression, the request key and experiment seed of the record (a method whose credit
        draws randomness, e.g. sampled Probabilistic credit, derives it from them), or ``None``.
    """

    __slots__ = (
        "_lengths",
        "_n_shown",
        "_ranks",
        "item_ids",
        "items",
        "keys",
        "method",
        "n_rankers",
        "params",
        "rank_table",
        "seeds",
        "teams",
    )

    def __init__(
        self,
        method: str,
        params: tuple[tuple[str, Any], ...],
        item_ids: tuple | None,
        items: np.ndarray | None,
        teams: np.ndarray,
        rank_table: np.ndarray | None = None,
        ranking_lengths: Any = None,
        *,
        ranks: np.ndarray | None = None,
        n_shown: np.ndarray | None = None,
        n_rankers: int | None = None,
        keys: tuple | None = None,
        seeds: tuple | None = None,
    ) -> None:
        n = teams.shape[0]
        if ranking_lengths is not None:
            ranking_lengths = np.asarray(ranking_lengths, dtype=np.int64)
            if ranking_lengths.ndim == 1:  # shared rankings: one length per ranker
                ranking_lengths = np.broadcast_to(ranking_lengths, (n, ranking_lengths.shape[0]))
        if n_shown is None:
            n_shown = (
                (items >= 0).sum(axis=1)
                if items is not None
                else np.full(n, teams.shape[1], dtype=np.int64)
            )
        if n_rankers is None:
            if rank_table is not None:
                n_rankers = rank_table.shape[0]
            elif ranks is not None:
                n_rankers = ranks.shape[0]
            else:
                n_rankers = ranking_lengths.shape[1]
        for name, value in (
            ("method", method),
            ("params", params),
            ("item_ids", item_ids),
            ("items", items),
            ("teams", teams),
            ("rank_table", rank_table),
            ("_ranks", ranks),
            ("_lengths", ranking_lengths),
            ("_n_shown", n_shown),
            ("n_rankers", int(n_rankers)),
            ("keys", keys),
            ("seeds", seeds),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        msg = f"an InterleavingBatch is immutable; cannot set {name!r}"
        raise AttributeError(msg)

    def __repr__(self) -> str:
        kind = "shared rankings" if self.rank_table is not None else "per impression"
        n, length = self.shape
        return (
            f"InterleavingBatch(method={self.method!r}, params={dict(self.params)}, "
            f"{n} impressions x {length} positions, {self.n_rankers} rankers, {kind})"
        )

    # -- shape ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.teams.shape[0]

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_impressions, length)``: the shape of a clicks array for this batch."""
        return self.teams.shape

    @property
    def n_shown(self) -> np.ndarray:
        """Per impression, the number of items shown (the rest of the row is padding)."""
        return self._n_shown

    @property
    def shown(self) -> np.ndarray:
        """Positions that show an item, bool (n_impressions, length): clicks fall there."""
        return np.arange(self.teams.shape[1]) < self._n_shown[:, None]

    # -- what credit reads -------------------------------------------------------------------------

    @property
    def ranks(self) -> np.ndarray | None:
        """int32 (n_rankers, n_impressions, length): rank of each shown item, -1 absent or pad.

        ``None`` for a batch built from columns without ranks.
        """
        if self._ranks is not None:
            return self._ranks
        if self.rank_table is None:
            return None
        safe = np.where(self.items >= 0, self.items, 0)
        ranks = self.rank_table[:, safe]
        ranks[:, self.items < 0] = ABSENT
        return ranks

    @property
    def ranking_lengths(self) -> np.ndarray | None:
        """Length of each input ranking of each impression, int (n_impressions, n_rankers).

        ``None`` for a batch built from columns without them. Read-only (a broadcast view when
        the rankings are shared).
        """
        return self._lengths

    # -- per impression ----------------------------------------------------------------------------

    def __getitem__(self, index: int) -> Interleaving:
        """Impression ``index`` as an :class:`Interleaving` (with its key and seed if known).

        For a batch built from columns without item ids, the ids are the positions ``0..m-1``.
        """
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            msg = f"`index` must be an int impression index, got {index!r}"
            raise InvalidArgument(msg)
        if not 0 <= index < n:
            msg = f"`index` {index!r} is outside the batch's {n} impressions (valid: 0..{n - 1})"
            raise InvalidArgument(msg)
        # Only this row's ranks: building the whole (k, n, length) array per row made a loop over
        # a batch quadratic in its size.
        ranks = self._ranks if self._ranks is not None else self.rank_table
        if ranks is None or self._lengths is None:
            missing = " and ".join(
                name
                for name, value in (("ranks", ranks), ("ranking_lengths", self._lengths))
                if value is None
            )
            msg = (
                f"this batch was built without {missing}, which an Interleaving record holds; "
                "pass them to InterleavingBatch.from_columns"
            )
            raise InvalidArgument(msg)
        m = int(self._n_shown[index])
        if self.items is None:
            items = tuple(range(m))
        else:
            item_ids = self.item_ids
            items = tuple(item_ids[u] for u in self.items[index, :m].tolist())
        return Interleaving(
            method=self.method,
            items=items,
            teams=tuple(self.teams[index, :m].tolist()),
            ranks=tuple(
                tuple(row)
                for row in (
                    self._ranks[:, index, :m]
                    if self._ranks is not None
                    else self.rank_table[:, self.items[index, :m]]
                ).tolist()
            ),
            ranking_lengths=tuple(self._lengths[index].tolist()),
            params=self.params,
            key=None if self.keys is None else self.keys[index],
            seed=None if self.seeds is None else self.seeds[index],
        )

    def __iter__(self) -> Iterator[Interleaving]:
        for index in range(len(self)):
            yield self[index]

    # -- builders ----------------------------------------------------------------------------------

    @classmethod
    def from_shared_rankings(
        cls,
        method: str,
        params: tuple[tuple[str, Any], ...],
        lists: Sequence[Sequence],
        records: Sequence[Interleaving],
        length: int,
    ) -> InterleavingBatch:
        """Pack records of the same rankings ``lists`` (e.g. from a loop) into a shared batch."""
        item_ids, rank_table = union_index(lists)
        lookup = {item: u for u, item in enumerate(item_ids)}
        items = np.full((len(records), length), -1, dtype=np.int32)
        teams = np.full((len(records), length), -1, dtype=np.int8)
        for i, record in enumerate(records):
            n = len(record.items)
            items[i, :n] = [lookup[x] for x in record.items]
            teams[i, :n] = record.teams
        return cls(method, params, item_ids, items, teams, rank_table, tuple(len(r) for r in lists))

    @classmethod
    def from_records(cls, records: Sequence[Interleaving]) -> InterleavingBatch:
        """Pack logged records of one method, each with its own rankings, into a batch.

        Every record must come from the same method with the same configuration and compare the
        same number of rankers. ``items`` index into the union of the records' shown ids.

        Examples
        --------
        >>> from interleave import TeamDraft
        >>> method = TeamDraft(length=3)
        >>> records = [method.interleave([[1, 2, 3], [3, 4, 5]], key=k, seed=1) for k in "ab"]
        >>> records.append(method.interleave([[7, 8], [9, 7]], key="c", seed=1))
        >>> batch = InterleavingBatch.from_records(records)
        >>> batch.shape, batch.ranking_lengths.tolist()
        ((3, 3), [[3, 3], [3, 3], [2, 2]])
        >>> batch[2].items == records[2].items, batch[2].ranks == records[2].ranks
        (True, True)
        """
        if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Sequence):
            msg = f"`records` must be a list of Interleaving records, got {type(records).__name__}"
            raise InvalidArgument(msg)
        if not records:
            msg = "`records` is empty; a batch needs at least one impression"
            raise InvalidArgument(msg)
        first = records[0]
        if not isinstance(first, Interleaving):
            msg = f"`records[0]` must be an Interleaving, got {type(first).__name__}"
            raise InvalidArgument(msg)
        method, params, k = first.method, first.params, first.n_rankers
        n = len(records)
        n_shown = np.empty(n, dtype=np.int64)
        lookup: dict[Any, int] = {}
        flat_items: list[int] = []
        flat_teams: list[int] = []
        flat_ranks: list[list[int]] = [[] for _ in range(k)]
        flat_lengths: list[int] = []
        for i, record in enumerate(records):
            if not isinstance(record, Interleaving):
                msg = f"`records[{i}]` must be an Interleaving, got {type(record).__name__}"
                raise InvalidArgument(msg)
            if record.method != method or record.params != params:
                msg = (
                    f"`records[{i}]` was made by {record.method!r} with {dict(record.params)} "
                    f"but `records[0]` by {method!r} with {dict(params)}; a batch holds one "
                    "method and configuration"
                )
                raise InvalidArgument(msg)
            m = len(record.items)
            if (
                len(record.ranks) != k
                or len(record.ranking_lengths) != k
                or len(record.teams) != m
                or any(len(row) != m for row in record.ranks)
            ):
                msg = (
                    f"`records[{i}]` is inconsistent with `records[0]` ({k} rankers) or with "
                    "itself (teams and every ranks row need one entry per shown item); "
                    "Interleaving.check() names the field"
                )
                raise InvalidArgument(msg)
            n_shown[i] = m
            for item in record.items:
                flat_items.append(lookup.setdefault(item, len(lookup)))
            flat_teams.extend(record.teams)
            for j in range(k):
                flat_ranks[j].extend(record.ranks[j])
            flat_lengths.extend(record.ranking_lengths)
        length = int(n_shown.max())
        mask = np.arange(length) < n_shown[:, None]
        items = np.full((n, length), -1, dtype=np.int32)
        items[mask] = flat_items
        teams = np.full((n, length), -1, dtype=np.int64)
        teams[mask] = flat_teams
        ranks = np.full((k, n, length), ABSENT, dtype=np.int64)
        for j in range(k):
            ranks[j][mask] = flat_ranks[j]
        lengths = np.array(flat_lengths, dtype=np.int64).reshape(n, k)
        _check_columns(teams, ranks, lengths, n_shown, k)
        return cls(
            method,
            params,
            tuple(lookup),
            items,
            _narrow(teams),
            None,
            lengths,
            ranks=ranks.astype(np.int32),
            n_shown=n_shown,
            n_rankers=k,
            keys=tuple(record.key for record in records),
            seeds=tuple(record.seed for record in records),
        )

    @classmethod
    def from_columns(
        cls,
        method: Any,
        teams: Any,
        ranks: Any = None,
        ranking_lengths: Any = None,
        params: Any = (),
        *,
        n_shown: Any = None,
        n_rankers: int | None = None,
        keys: Sequence | None = None,
        seeds: Sequence | None = None,
        items: Sequence[Sequence] | None = None,
    ) -> InterleavingBatch:
        """A batch straight from a log's columns, each impression with its own rankings.

        Parameters
        ----------
        method
            The method's name (as in ``Interleaving.method``) or the :class:`Interleaver`
            itself (then ``params`` default to its configuration).
        teams
            int (n_impressions, length): ranker credited per position, -1 for no team and for
            padding past the end of a shorter list.
        ranks
            int (n_rankers, n_impressions, length): 0-based rank of each shown item in each
            ranking, -1 absent or padding. Needed by every method but TeamDraft.
        ranking_lengths
            int (n_impressions, n_rankers): length of each ranking. Needed by Probabilistic and
            Optimized.
        params
            The configuration the lists were made with, a mapping or ``(name, value)`` pairs.
        n_shown
            int (n_impressions,): items shown per impression (the rest is padding). By default
            it is inferred: with ``ranks``, a row ends after its last position that has a team or
            a rank; without, every position counts as shown. Pass it when a list showed items no
            ranker ranked.
        n_rankers
            Needed only when neither ``ranks`` nor ``ranking_lengths`` is given and some ranker
            has no position in any row (default ``max(2, max(teams) + 1)``).
        keys, seeds
            Per impression, the request key and experiment seed, for a credit that draws
            randomness from them (sampled Probabilistic credit); ``None`` when not needed.
        items
            Per impression, the shown ids (a list per row, without padding); they fix
            ``n_shown`` and let :meth:`__getitem__` give the logged record back exactly.

        A method whose credit reads what is missing raises :class:`InvalidArgument` in
        ``credit_batch`` naming it.

        Examples
        --------
        >>> from interleave import TeamDraft
        >>> batch = InterleavingBatch.from_columns(
        ...     TeamDraft(length=3), teams=[[0, 1, 0], [1, 0, -1]], n_shown=[3, 2]
        ... )
        >>> clicks = [[True, False, True], [False, True, False]]
        >>> TeamDraft(length=3).credit_batch(batch, clicks).scores.tolist()
        [[2.0, 0.0], [1.0, 0.0]]
        """
        if isinstance(method, str):
            name = method
            params = _params_tuple(params)
        elif hasattr(method, "name") and hasattr(method, "params") and callable(method.params):
            name = method.name
            params = method.params() if params == () else _params_tuple(params)
        else:
            msg = (
                "`method` must be a method name such as 'team_draft' or an Interleaver, got "
                f"{method!r}"
            )
            raise InvalidArgument(msg)
        teams = _int_array("teams", teams, 2, "(n_impressions, length)")
        n, length = teams.shape
        if ranks is not None:
            ranks = _int_array("ranks", ranks, 3, "(n_rankers, n_impressions, length)")
            if ranks.shape[1:] != (n, length):
                msg = (
                    f"`ranks` must have shape (n_rankers, {n}, {length}) to match `teams`, got "
                    f"{ranks.shape}"
                )
                raise InvalidArgument(msg)
        if ranking_lengths is not None:
            ranking_lengths = _int_array(
                "ranking_lengths", ranking_lengths, 2, "(n_impressions, n_rankers)"
            )
            if ranking_lengths.shape[0] != n:
                msg = (
                    f"`ranking_lengths` must have one row per impression ({n}), got shape "
                    f"{ranking_lengths.shape}"
                )
                raise InvalidArgument(msg)
        sizes = {
            what: value.shape[0 if what == "ranks" else 1]
            for what, value in (("ranks", ranks), ("ranking_lengths", ranking_lengths))
            if value is not None
        }
        if n_rankers is not None:
            if isinstance(n_rankers, bool) or not isinstance(n_rankers, (int, np.integer)):
                msg = f"`n_rankers` must be an int >= 2, got {n_rankers!r}"
                raise InvalidArgument(msg)
            sizes["n_rankers"] = int(n_rankers)
        if len(set(sizes.values())) > 1:
            msg = f"the number of rankers disagrees between arguments: {sizes}"
            raise InvalidArgument(msg)
        k = next(iter(sizes.values())) if sizes else max(2, int(teams.max(initial=-1)) + 1)
        if k < 2:
            msg = f"a batch compares at least 2 rankers, got {k} ({sizes})"
            raise InvalidArgument(msg)
        item_ids = item_index = None
        if items is not None:
            item_ids, item_index, counts = _pack_items(items, n, length)
            if n_shown is not None and not np.array_equal(
                _int_array("n_shown", n_shown, 1, "(n_impressions,)"), counts
            ):
                msg = "`n_shown` disagrees with the number of `items` in some row; pass one of them"
                raise InvalidArgument(msg)
            n_shown = counts
        if n_shown is not None:
            n_shown = _int_array("n_shown", n_shown, 1, "(n_impressions,)")
            if n_shown.shape[0] != n:
                msg = f"`n_shown` must have one entry per impression ({n}), got {n_shown.shape[0]}"
                raise InvalidArgument(msg)
            if n_shown.size and (n_shown.min() < 0 or n_shown.max() > length):
                msg = (
                    f"`n_shown` must be in [0, {length}] (the row length), got values from "
                    f"{n_shown.min()} to {n_shown.max()}"
                )
                raise InvalidArgument(msg)
        elif ranks is not None:
            used = (teams >= 0) | (ranks >= 0).any(axis=0)
            n_shown = np.where(used.any(axis=1), length - np.argmax(used[:, ::-1], axis=1), 0)
        else:
            n_shown = np.full(n, length, dtype=np.int64)
        _check_columns(teams, ranks, ranking_lengths, n_shown, k)
        keys = _per_impression("keys", keys, n)
        seeds = _per_impression("seeds", seeds, n)
        return cls(
            name,
            params,
            item_ids,
            item_index,
            _narrow(teams),
            None,
            ranking_lengths,
            ranks=None if ranks is None else ranks.astype(np.int32),
            n_shown=n_shown,
            n_rankers=k,
            keys=keys,
            seeds=seeds,
        )


def _pack_items(items: Any, n: int, length: int) -> tuple[tuple, np.ndarray, np.ndarray]:
    """Rows of shown ids -> (item_ids, (n, length) int32 indices with -1 padding, row lengths)."""
    if isinstance(items, (str, bytes)) or not hasattr(items, "__len__") or len(items) != n:
        msg = f"`items` must hold one row of shown ids per impression ({n}), got {items!r:.80}"
        raise InvalidArgument(msg)
    lookup: dict[Any, int] = {}
    flat: list[int] = []
    counts = np.empty(n, dtype=np.int64)
    for i, row in enumerate(items):
        if isinstance(row, np.ndarray):
            row = row.tolist()
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) or len(row) > length:
            msg = (
                f"`items[{i}]` must be a list of at most {length} shown ids (the row length), "
                f"got {row!r:.80}"
            )
            raise InvalidArgument(msg)
        if len(set(map(type, row))) > 1 or any(
            type(x) is not int and type(x) is not str for x in row
        ):
            msg = f"`items[{i}]` must hold int or str ids of one type, got {row!r:.80}"
            raise InvalidArgument(msg)
        if len(set(row)) != len(row):
            msg = f"`items[{i}]` repeats an id: {row!r:.80}"
            raise InvalidArgument(msg)
        counts[i] = len(row)
        flat.extend(lookup.setdefault(x, len(lookup)) for x in row)
    index = np.full((n, length), -1, dtype=np.int32)
    index[np.arange(length) < counts[:, None]] = flat
    return tuple(lookup), index, counts


def _per_impression(name: str, values: Any, n: int) -> tuple | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != n:
        msg = f"`{name}` must hold one entry per impression ({n}), got {values!r:.80}"
        raise InvalidArgument(msg)
    return tuple(v.item() if isinstance(v, np.generic) else v for v in values)


def _narrow(teams: np.ndarray) -> np.ndarray:
    return teams.astype(np.int8 if teams.size == 0 or teams.max() < 127 else np.int32)


def _check_columns(
    teams: np.ndarray,
    ranks: np.ndarray | None,
    lengths: np.ndarray | None,
    n_shown: np.ndarray,
    k: int,
) -> None:
    """Vectorised :meth:`Interleaving.check` over a batch's columns."""
    length = teams.shape[1]
    if teams.size and (teams.min() < -1 or teams.max() >= k):
        row, col = np.argwhere((teams < -1) | (teams >= k))[0]
        msg = (
            f"`teams` must be ranker indices in [-1, {k}), got {teams[row, col]} at impression "
            f"{row}, position {col}"
        )
        raise InvalidArgument(msg)
    padding = np.arange(length) >= n_shown[:, None]
    if np.any(teams[padding] != -1):
        msg = "`teams` must be -1 past `n_shown` (padding), but a padding position has a team"
        raise InvalidArgument(msg)
    if lengths is not None and lengths.size and lengths.min() < 1:
        row, col = np.argwhere(lengths < 1)[0]
        msg = (
            f"`ranking_lengths` must be >= 1 (every ranker ranks an item), got {lengths[row, col]} "
            f"for impression {row}, ranker {col}"
        )
        raise InvalidArgument(msg)
    if ranks is None:
        return
    if ranks.size and ranks.min() < ABSENT:
        msg = f"`ranks` must be 0-based ranks or -1 (absent), got {ranks.min()}"
        raise InvalidArgument(msg)
    if np.any(ranks[:, padding] != ABSENT):
        msg = "`ranks` must be -1 past `n_shown` (padding), but a padding position has a rank"
        raise InvalidArgument(msg)
    if lengths is not None:
        too_deep = ranks >= lengths.T[:, :, None]
        if np.any(too_deep):
            j, row, col = np.argwhere(too_deep)[0]
            msg = (
                f"`ranks[{j}]` holds rank {ranks[j, row, col]} at impression {row}, position "
                f"{col}, but that ranking has {lengths[row, j]} items"
            )
            raise InvalidArgument(msg)
    ordered = np.sort(ranks, axis=2)
    repeated = (ordered[:, :, 1:] == ordered[:, :, :-1]) & (ordered[:, :, 1:] >= 0)
    if np.any(repeated):
        j, row, _ = np.argwhere(repeated)[0]
        msg = (
            f"`ranks[{j}]` repeats a rank at impression {row}; each shown item has its own rank "
            "in a ranking"
        )
        raise InvalidArgument(msg)
