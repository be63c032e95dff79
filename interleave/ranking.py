"""Rankings in, the :class:`Interleaving` record out.

A ranking is a sequence of item ids, best first. Ids are all ``int`` or all ``str`` (one type
across every ranking of a call, so that JSON round trips cannot confuse ``1`` with ``"1"``); a
duplicate id is an error, never silently dropped.

The :class:`Interleaving` is the impression record: what was shown, who each position is
credited to, and for every ranker the rank each shown item had in it. Those ranks (with the
rankings' lengths) are all any credit rule needs, so a record logged at request time can be
credited later, in another process, without the full candidate lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from interleave.errors import InvalidArgument

__all__ = ["ABSENT", "Interleaving", "validate_rankings"]

#: Rank recorded for an item that a ranker did not rank at all.
ABSENT = -1

_ID_TYPES = (int, str)


def _as_list(ranking: Any, name: str) -> list:
    kind = type(ranking)
    if kind is list:
        return ranking
    if kind is tuple or kind is range:
        return list(ranking)
    if isinstance(ranking, np.ndarray):
        if ranking.ndim != 1:
            msg = f"`{name}` must be one-dimensional, got an array of shape {ranking.shape}"
            raise InvalidArgument(msg)
        return ranking.tolist()
    if isinstance(ranking, (str, bytes)) or not isinstance(ranking, Sequence):
        msg = (
            f"`{name}` must be a list of item ids (best first), got {ranking!r} of type "
            f"{type(ranking).__name__}"
        )
        raise InvalidArgument(msg)
    return list(ranking)


def _coerce_ids(ranking: list, name: str) -> tuple[list, type]:
    """Slow path of the id check: convert numpy scalars, or explain what is wrong."""
    if all(isinstance(x, np.integer) for x in ranking):
        return [int(x) for x in ranking], int
    if all(isinstance(x, str) for x in ranking):  # includes numpy.str_
        return [str(x) for x in ranking], str
    for position, item in enumerate(ranking):
        if not isinstance(item, (int, str, np.integer)) or isinstance(item, bool):
            hint = " (bools are not ids)" if isinstance(item, bool) else ""
            msg = (
                f"`{name}[{position}]` must be an int or str item id{hint}, got {item!r} of type "
                f"{type(item).__name__}; convert ids with int() or str() first"
            )
            raise InvalidArgument(msg)
    msg = f"`{name}` mixes int and str ids: {ranking!r}; use one id type for every item"
    raise InvalidArgument(msg)


def _duplicate_message(ranking: list, name: str) -> str:
    first_seen: dict[Any, int] = {}
    for position, item in enumerate(ranking):
        if item in first_seen:
            return (
                f"`{name}` has the duplicate id {item!r} at positions {first_seen[item]} and "
                f"{position}; each item may appear once in a ranking"
            )
        first_seen[item] = position
    msg = "unreachable: the caller found a duplicate"  # pragma: no cover
    raise AssertionError(msg)  # pragma: no cover


def _as_rankings_sequence(rankings: Any, name: str) -> Sequence:
    if isinstance(rankings, np.ndarray) and rankings.ndim == 2:
        return list(rankings)
    if isinstance(rankings, (str, bytes, Mapping)) or not isinstance(rankings, Sequence):
        msg = (
            f"`{name}` must be a list of rankings (each a list of item ids), got {rankings!r} of "
            f"type {type(rankings).__name__}"
        )
        raise InvalidArgument(msg)
    return rankings


def validate_rankings(
    rankings: Any,
    *,
    max_rankers: int | None = None,
    name: str = "rankings",
) -> tuple[list[list], list[dict]]:
    """Check rankings and index them.

    Returns the rankings as lists and, for each, a dict from item id to its 0-based rank.
    Raises :class:`InvalidArgument` for fewer than 2 rankings (or more than ``max_rankers``),
    an empty ranking, an unhashable, duplicate or mixed-type id.
    """
    if type(rankings) is not list and type(rankings) is not tuple:
        rankings = _as_rankings_sequence(rankings, name)
    n_rankers = len(rankings)
    if n_rankers < 2:
        msg = f"`{name}` must hold at least 2 rankings to compare, got {n_rankers}"
        raise InvalidArgument(msg)
    if max_rankers is not None and n_rankers > max_rankers:
        msg = (
            f"`{name}` holds {n_rankers} rankings but this method compares exactly {max_rankers}; "
            "use TeamDraft or Probabilistic to multileave more"
        )
        raise InvalidArgument(msg)
    lists: list[list] = []
    positions: list[dict] = []
    id_type = None
    # Hot path of every request: labels for messages are built only when something is wrong.
    for j, ranking in enumerate(rankings):
        if type(ranking) is not list:
            ranking = _as_list(ranking, f"{name}[{j}]")
        if not ranking:
            msg = f"`{name}[{j}]` is empty; every ranker must rank at least one item"
            raise InvalidArgument(msg)
        kinds = set(map(type, ranking))
        kind = kinds.pop() if len(kinds) == 1 else None
        if kind is not int and kind is not str:
            ranking, kind = _coerce_ids(ranking, f"{name}[{j}]")
        if id_type is None:
            id_type = kind
        elif kind is not id_type:
            msg = (
                f"`{name}[{j}]` has {kind.__name__} ids but `{name}[0]` has {id_type.__name__} "
                "ids; use one id type across all rankings"
            )
            raise InvalidArgument(msg)
        position = dict(zip(ranking, range(len(ranking))))  # noqa: B905 (same length; strict= costs 0.2 us)
        if len(position) != len(ranking):
            raise InvalidArgument(_duplicate_message(ranking, f"{name}[{j}]"))
        lists.append(ranking)
        positions.append(position)
    return lists, positions


def _params_dict(params: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return dict(params)


@dataclass(frozen=True, slots=True)
class Interleaving:
    """One impression: the shown list and who each position is credited to.

    Attributes
    ----------
    method
        Name of the interleaving method that made it (``"team_draft"``, ``"balanced"``, ...).
    items
        The shown item ids, top first.
    teams
        Per position, the index of the ranker the item is credited to, ``-1`` for none (what
        "credited to" means is method-specific: see each method's docstring).
    ranks
        ``ranks[j][p]`` is the 0-based rank of ``items[p]`` in ranking ``j``, ``-1`` if absent.
    ranking_lengths
        Length of each input ranking (the Probabilistic credit needs them).
    params
        The method's configuration, as sorted ``(name, value)`` pairs; crediting with a method
        configured differently is an error.
    key, seed
        The request key and experiment seed the randomness came from (``None`` when it came
        from an ``rng`` or fresh entropy).

    Examples
    --------
    >>> from interleave import TeamDraft
    >>> il = TeamDraft(length=3).interleave([[1, 2, 3], [3, 4, 5]], key="r1", seed=0)
    >>> Interleaving.from_dict(il.to_dict()) == il
    True
    """

    method: str
    items: tuple
    teams: tuple[int, ...]
    ranks: tuple[tuple[int, ...], ...]
    ranking_lengths: tuple[int, ...]
    params: tuple[tuple[str, Any], ...] = ()
    key: str | int | None = None
    seed: int | None = None

    @property
    def n_rankers(self) -> int:
        """Number of rankers compared."""
        return len(self.ranks)

    def __len__(self) -> int:
        return len(self.items)

    def __str__(self) -> str:
        shown = ", ".join(
            f"{item!r}" if team < 0 else f"{item!r}<{team}>"
            for item, team in zip(self.items, self.teams, strict=True)
        )
        return f"{self.method} key={self.key!r} seed={self.seed!r}: [{shown}]"

    def relabel(self, order: Sequence[int]) -> Interleaving:
        """The same impression with the rankers renumbered: new ranker ``i`` is old ``order[i]``.

        ``il.relabel([1, 0])`` swaps two rankers; crediting it mirrors the credit of ``il``.
        """
        order = [int(o) for o in order]
        if sorted(order) != list(range(self.n_rankers)):
            msg = f"`order` must be a permutation of range({self.n_rankers}), got {order!r}"
            raise InvalidArgument(msg)
        new_index = {old: new for new, old in enumerate(order)}
        return Interleaving(
            method=self.method,
            items=self.items,
            teams=tuple(new_index[t] if t >= 0 else t for t in self.teams),
            ranks=tuple(self.ranks[o] for o in order),
            ranking_lengths=tuple(self.ranking_lengths[o] for o in order),
            params=self.params,
            key=self.key,
            seed=self.seed,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (lists, ints, strs, floats, bools, None)."""
        return {
            "method": self.method,
            "params": _params_dict(self.params),
            "items": list(self.items),
            "teams": list(self.teams),
            "ranks": [list(r) for r in self.ranks],
            "ranking_lengths": list(self.ranking_lengths),
            "key": self.key,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Interleaving:
        """Rebuild and validate a record made by :meth:`to_dict` (e.g. read back from a log)."""
        if not isinstance(record, Mapping):
            msg = (
                "`record` must be a mapping made by Interleaving.to_dict, got "
                f"{type(record).__name__}"
            )
            raise InvalidArgument(msg)
        required = ("method", "items", "teams", "ranks", "ranking_lengths")
        missing = [field for field in required if field not in record]
        if missing:
            msg = (
                f"`record` lacks the field(s) {missing}; expected the keys of "
                "Interleaving.to_dict()"
            )
            raise InvalidArgument(msg)
        params = record.get("params") or {}
        if not isinstance(params, Mapping):
            msg = f"`record['params']` must be a mapping, got {params!r}"
            raise InvalidArgument(msg)
        il = cls(
            method=str(record["method"]),
            items=tuple(record["items"]),
            teams=tuple(int(t) for t in record["teams"]),
            ranks=tuple(tuple(int(r) for r in ranks) for ranks in record["ranks"]),
            ranking_lengths=tuple(int(n) for n in record["ranking_lengths"]),
            params=tuple(sorted(params.items())),
            key=record.get("key"),
            seed=record.get("seed"),
        )
        il.check()
        return il

    @classmethod
    def from_rankings(
        cls,
        method: str,
        items: Sequence,
        rankings: Sequence[Sequence],
        *,
        teams: Sequence[int] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Interleaving:
        """A record for a list shown by someone else (e.g. read from a click log).

        ``ranks`` are computed from ``rankings``; ``teams`` default to ``-1`` everywhere, which
        suits the methods whose credit reads ranks (balanced, probabilistic, optimized).
        """
        lists, positions = validate_rankings(rankings)
        shown = _as_list(items, "items")
        if teams is None:
            teams = [-1] * len(shown)
        il = cls(
            method=method,
            items=tuple(shown),
            teams=tuple(int(t) for t in teams),
            ranks=tuple(tuple(p.get(x, ABSENT) for x in shown) for p in positions),
            ranking_lengths=tuple(len(r) for r in lists),
            params=tuple(sorted((params or {}).items())),
        )
        il.check()
        return il

    def check(self) -> None:
        """Raise :class:`InvalidArgument` if the record is inconsistent (e.g. hand-edited)."""
        n = len(self.items)
        k = len(self.ranks)
        if k < 2 or len(self.ranking_lengths) != k:
            msg = (
                f"an Interleaving needs ranks and ranking_lengths for >= 2 rankers, got "
                f"{k} rank rows and {len(self.ranking_lengths)} lengths"
            )
            raise InvalidArgument(msg)
        if len(self.teams) != n or any(len(r) != n for r in self.ranks):
            msg = f"`teams` and every row of `ranks` must have one entry per shown item ({n})"
            raise InvalidArgument(msg)
        if (n and len(set(map(type, self.items))) != 1) or any(
            type(x) not in _ID_TYPES for x in self.items
        ):
            msg = f"`items` must be int or str ids of one type, got {self.items!r}"
            raise InvalidArgument(msg)
        if len(set(self.items)) != n:
            msg = f"`items` has a duplicate id: {self.items!r}"
            raise InvalidArgument(msg)
        if any(not -1 <= t < k for t in self.teams):
            msg = f"`teams` must be ranker indices in [-1, {k}), got {self.teams!r}"
            raise InvalidArgument(msg)
        for j, (row, length) in enumerate(zip(self.ranks, self.ranking_lengths, strict=True)):
            present = [r for r in row if r != ABSENT]
            if any(not 0 <= r < length for r in present) or len(set(present)) != len(present):
                msg = f"`ranks[{j}]` must hold distinct ranks in [0, {length}) or -1, got {row!r}"
                raise InvalidArgument(msg)
