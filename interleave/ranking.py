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

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from interleave._checks import short_repr
from interleave._slots import new_slotted, slots_of
from interleave.errors import DataWarning, InvalidArgument
from interleave.keys import check_request_key, check_seed

__all__ = [
    "ABSENT",
    "CREDITED_BY_RANKS",
    "MAX_RANKING_LENGTH",
    "SCHEMA_VERSION",
    "Interleaving",
    "validate_rankings",
]

#: Rank recorded for an item that a ranker did not rank at all.
ABSENT = -1

#: Version of the dict :meth:`Interleaving.to_dict` writes. 1: the unversioned records (str or
#: int keys); 2: ``schema_version`` written, tuple keys (as JSON lists) allowed.
SCHEMA_VERSION = 2

#: Methods whose credit reads only ``ranks`` and ``ranking_lengths``, never ``teams``: a list
#: shown elsewhere can be recorded for them without teams (see :meth:`Interleaving.from_rankings`).
CREDITED_BY_RANKS = frozenset(
    {"balanced", "debiased_balanced", "optimized", "pairwise_preference", "probabilistic"}
)

#: Int ids are 64-bit, as in the exposure log (int64, or uint64 up to 2**64 - 1).
ID_MIN, ID_MAX = -(2**63), 2**64

#: Longest ranking materialised from a lazy sequence (e.g. a ``range``): a bound checked first.
MAX_RANKING_LENGTH = 10_000_000

_ID_TYPES = (int, str)


def _as_list(ranking: Any, name: str) -> list:
    kind = type(ranking)
    if kind is list:
        return ranking
    if kind is tuple:
        return list(ranking)
    if isinstance(ranking, np.ndarray):
        if ranking.ndim != 1:
            msg = f"`{name}` must be one-dimensional, got an array of shape {ranking.shape}"
            raise InvalidArgument(msg)
        return ranking.tolist()
    if isinstance(ranking, (str, bytes, Mapping)) or not isinstance(ranking, Sequence):
        msg = (
            f"`{name}` must be a list of item ids (best first), got {short_repr(ranking)} of "
            f"type {type(ranking).__name__}"
        )
        raise InvalidArgument(msg)
    try:  # a range or another lazy sequence: check its size before building the list
        size = len(ranking)
    except OverflowError:  # more than sys.maxsize items
        size = None
    if size is None or size > MAX_RANKING_LENGTH:
        count = "more than 2**63" if size is None else f"{size:,}"
        msg = (
            f"`{name}` holds {count} items, more than MAX_RANKING_LENGTH = "
            f"{MAX_RANKING_LENGTH:,}; cut it to the items that can be shown"
        )
        raise InvalidArgument(msg)
    return list(ranking)


def _is_int_id(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _coerce_ids(ranking: list, name: str) -> tuple[list, type]:
    """Slow path of the id check: plain ids from numpy scalars, IntEnums and str subclasses.

    Or a message naming the first id that is wrong.
    """
    if all(map(_is_int_id, ranking)):
        return [int(x) for x in ranking], int
    if all(isinstance(x, str) for x in ranking):  # numpy.str_, StrEnum: their text
        return [str.__str__(x) for x in ranking], str
    for position, item in enumerate(ranking):
        if not (_is_int_id(item) or isinstance(item, str)):
            hint = " (bools are not ids)" if isinstance(item, (bool, np.bool_)) else ""
            msg = (
                f"`{name}[{position}]` must be an int or str item id{hint}, got "
                f"{short_repr(item)} of type {type(item).__name__}; convert ids with int() or "
                "str() first"
            )
            raise InvalidArgument(msg)
    first_int = next(p for p, x in enumerate(ranking) if not isinstance(x, str))
    first_str = next(p for p, x in enumerate(ranking) if isinstance(x, str))
    msg = (
        f"`{name}` mixes int and str ids ({short_repr(ranking[first_int])} at position "
        f"{first_int}, {short_repr(ranking[first_str])} at {first_str}); use one id type for "
        "every item"
    )
    raise InvalidArgument(msg)


def _id_range_message(ranking: list, name: str) -> str:
    position = next(p for p, x in enumerate(ranking) if not ID_MIN <= x < ID_MAX)
    return (
        f"`{name}[{position}]` is the int id {short_repr(ranking[position])}, outside the 64-bit "
        f"range [-2**63, 2**64) that logs store; pass ids that large as str"
    )


def _duplicate_message(ranking: list, name: str) -> str:
    first_seen: dict[Any, int] = {}
    for position, item in enumerate(ranking):
        if item in first_seen:
            return (
                f"`{name}` has the duplicate id {short_repr(item)} at positions "
                f"{first_seen[item]} and {position}; each item may appear once in a ranking"
            )
        first_seen[item] = position
    msg = "unreachable: the caller found a duplicate"  # pragma: no cover
    raise AssertionError(msg)  # pragma: no cover


def _check_ids(ranking: list, name: str, kind: type | None = None) -> tuple[list, type, dict]:
    """One ranking's ids: (the ids as plain ints or strs, their type, id -> position).

    ``kind`` is the one type of every id when the caller knows it already.
    """
    if kind is None:
        kinds = set(map(type, ranking))
        kind = kinds.pop() if len(kinds) == 1 else None
    if kind is not int and kind is not str:
        ranking, kind = _coerce_ids(ranking, name)
    if kind is int and (min(ranking) < ID_MIN or max(ranking) >= ID_MAX):
        raise InvalidArgument(_id_range_message(ranking, name))
    position = dict(zip(ranking, range(len(ranking))))  # noqa: B905 (same length; strict= costs 0.2 us)
    if len(position) != len(ranking):
        raise InvalidArgument(_duplicate_message(ranking, name))
    return ranking, kind, position


def _as_rankings_sequence(rankings: Any, name: str) -> Sequence:
    if isinstance(rankings, np.ndarray) and rankings.ndim == 2:
        return list(rankings)
    if isinstance(rankings, (str, bytes, Mapping)) or not isinstance(rankings, Sequence):
        msg = (
            f"`{name}` must be a list of rankings (each a list of item ids), got "
            f"{short_repr(rankings)} of type {type(rankings).__name__}"
        )
        raise InvalidArgument(msg)
    if len(rankings) > MAX_RANKING_LENGTH:
        msg = f"`{name}` holds {len(rankings)} rankings; compare at most a few dozen rankers"
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
    an empty ranking, an unhashable, duplicate or mixed-type id, or an int id outside 64 bits.
    numpy ints, IntEnums and str subclasses become plain ``int``/``str`` ids.
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
        if kind is str or (kind is int and min(ranking) >= ID_MIN and max(ranking) < ID_MAX):
            position = dict(zip(ranking, range(len(ranking))))  # noqa: B905 (as in _check_ids)
            if len(position) != len(ranking):
                raise InvalidArgument(_duplicate_message(ranking, f"{name}[{j}]"))
        else:  # numpy scalars, enums, ids out of range, mixtures: convert or name the problem
            ranking, kind, position = _check_ids(ranking, f"{name}[{j}]", kind)
        if id_type is None:
            id_type = kind
        elif kind is not id_type:
            msg = (
                f"`{name}[{j}]` has {kind.__name__} ids but `{name}[0]` has {id_type.__name__} "
                "ids; use one id type across all rankings"
            )
            raise InvalidArgument(msg)
        lists.append(ranking)
        positions.append(position)
    return lists, positions


def _int_field(name: str, value: Any, low: int, high: int | None) -> int:
    """One int of a record: not a bool, float, None or str; in ``[low, high)``."""
    if type(value) is not int:
        if not _is_int_id(value):
            msg = f"`{name}` must be an int, got {short_repr(value)} of type {type(value).__name__}"
            raise InvalidArgument(msg)
        value = int(value)
    if value < low or (high is not None and value >= high):
        bound = f"in [{low}, {high})" if high is not None else f">= {low}"
        msg = f"`{name}` must be {bound}, got {short_repr(value)}"
        raise InvalidArgument(msg)
    return value


def _int_list(name: str, value: Any, low: int, high: int) -> list[int]:
    """A list field of ints in ``[low, high)``; one C-level pass when it is fine."""
    values = _list_field(name, value)
    if values and not (
        set(map(type, values)) == _JUST_INT and min(values) >= low and max(values) < high
    ):
        values = [_int_field(f"{name}[{i}]", v, low, high) for i, v in enumerate(values)]
    return values


def _list_field(name: str, value: Any) -> list:
    """A list (or tuple) field of a record, never a str, mapping, number or None."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    if type(value) is not list and type(value) is not tuple:
        msg = f"`{name}` must be a list, got {short_repr(value)} of type {type(value).__name__}"
        raise InvalidArgument(msg)
    return list(value)


_JSON_SCALARS = (str, int, float, bool, type(None))


def _check_params(name: str, params: Any) -> tuple[tuple[str, Any], ...]:
    """The method's configuration as sorted pairs, from a mapping or ``method.params()``."""
    if type(params) is tuple and all(type(p) is tuple and len(p) == 2 for p in params):
        params = dict(params)
    if not isinstance(params, Mapping):
        msg = (
            f"`{name}` must be a mapping of the method's configuration, got "
            f"{short_repr(params)} of type {type(params).__name__}"
        )
        raise InvalidArgument(msg)
    pairs = []
    for field_name, value in params.items():
        if type(field_name) is not str:
            msg = f"`{name}` keys must be str, got {short_repr(field_name)}"
            raise InvalidArgument(msg)
        if isinstance(value, np.generic):
            value = value.item()
        kind = type(value)
        if (
            kind not in _JSON_SCALARS
            or (kind is float and not math.isfinite(value))
            or (kind is int and not ID_MIN <= value < ID_MAX)
        ):
            msg = (
                f"`{name}[{short_repr(field_name)}]` must be a JSON scalar (str, 64-bit int, "
                f"finite float, bool or None), got {short_repr(value)} of type {kind.__name__}"
            )
            raise InvalidArgument(msg)
        pairs.append((field_name, value))
    return tuple(sorted(pairs))


_TEAM_SETS = {k: frozenset(range(-1, k)) for k in range(2, 33)}


def _valid_teams(teams: tuple, k: int) -> bool:
    """Ranker indices in [-1, k) (the slow path of the construction check, any ``k``)."""
    try:
        return type(sum(teams)) is int and set(teams) <= (
            _TEAM_SETS.get(k) or frozenset(range(-1, k))
        )
    except TypeError:
        return False


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
        The request key (str, int or a tuple of them) and experiment seed the randomness came
        from (``None`` when it came from an ``rng`` or fresh entropy).

    Construction checks what credit indexes (one team and one rank per shown item, team
    indices in ``[-1, n_rankers)``) and turns numpy ints in ``key``/``seed`` into ints, so a
    bad record fails here rather than in credit; :meth:`check` validates everything else
    (ids, ranks) and :meth:`from_dict` runs it on every record read back from a log.

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
    key: str | int | tuple | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        # Every request builds one: only what credit indexes is checked here; check() does the rest.
        items, teams, ranks, lengths = self.items, self.teams, self.ranks, self.ranking_lengths
        if (
            type(items) is not tuple
            or type(teams) is not tuple
            or type(ranks) is not tuple
            or type(lengths) is not tuple
        ):
            self._normalise_containers()
            items, teams, ranks, lengths = self.items, self.teams, self.ranks, self.ranking_lengths
        n = len(items)
        k = len(ranks)
        if k < 2 or len(lengths) != k:
            msg = (
                f"an Interleaving needs ranks and ranking_lengths for >= 2 rankers, got "
                f"{k} rank rows and {len(lengths)} lengths"
            )
            raise InvalidArgument(msg)
        if len(teams) != n:
            self._raise_ragged(n)
        for row in ranks:
            if type(row) is not tuple or len(row) != n:
                self._normalise_containers()  # names a row that is not a list
                if any(len(r) != n for r in self.ranks):
                    self._raise_ragged(n)
        if n:
            # Ranker indices in [-1, k): a float, str or None makes the sum a float or a
            # TypeError; the set holds the values (a bool passes as the int it equals).
            try:
                valid = type(sum(teams)) is int and set(teams) <= _TEAM_SETS[k]
            except (TypeError, KeyError):
                valid = _valid_teams(teams, k)
            if not valid:
                msg = f"`teams` must be ranker indices (ints) in [-1, {k}), got {short_repr(teams)}"
                raise InvalidArgument(msg)
        key = self.key
        if key is not None and type(key) is not str and type(key) is not int:
            object.__setattr__(self, "key", check_request_key(key))
        seed = self.seed
        if seed is not None and type(seed) is not int:
            object.__setattr__(self, "seed", check_seed(seed))

    @classmethod
    def _from_checked_parts(
        cls,
        method: str,
        items: tuple,
        teams: tuple,
        ranks: tuple,
        ranking_lengths: tuple,
        params: tuple,
        key: str | int | None,
        seed: int | None,
    ) -> Interleaving:
        """A record from parts a method has just made and checked (the per-request hot path).

        Skips the construction checks, which re-verify what the method guarantees: tuples of the
        right lengths, teams in range, a plain str/int key and int seed. Only methods call it.
        """
        return new_slotted(
            cls, _RECORD_SLOTS, method, items, teams, ranks, ranking_lengths, params, key, seed
        )

    @staticmethod
    def _raise_ragged(n: int) -> None:
        msg = f"`teams` and every row of `ranks` must have one entry per shown item ({n})"
        raise InvalidArgument(msg)

    def _normalise_containers(self) -> None:
        # Lists (or arrays) given by hand become the tuples a frozen record holds.
        fields = {
            "items": _list_field("items", self.items),
            "teams": _list_field("teams", self.teams),
            "ranks": [
                _list_field(f"ranks[{j}]", r)
                for j, r in enumerate(_list_field("ranks", self.ranks))
            ],
            "ranking_lengths": _list_field("ranking_lengths", self.ranking_lengths),
        }
        object.__setattr__(self, "items", tuple(fields["items"]))
        object.__setattr__(self, "teams", tuple(fields["teams"]))
        object.__setattr__(self, "ranks", tuple(tuple(r) for r in fields["ranks"]))
        object.__setattr__(self, "ranking_lengths", tuple(fields["ranking_lengths"]))

    @property
    def n_rankers(self) -> int:
        """Number of rankers compared."""
        return len(self.ranks)

    def __len__(self) -> int:
        return len(self.items)

    def __str__(self) -> str:
        shown = ", ".join(
            short_repr(item) if team < 0 else f"{short_repr(item)}<{team}>"
            for item, team in zip(self.items, self.teams, strict=True)
        )
        return f"{self.method} key={short_repr(self.key)} seed={short_repr(self.seed)}: [{shown}]"

    def relabel(self, order: Sequence[int]) -> Interleaving:
        """The same impression with the rankers renumbered: new ranker ``i`` is old ``order[i]``.

        ``il.relabel([1, 0])`` swaps two rankers; crediting it mirrors the credit of ``il``.
        """
        k = self.n_rankers
        if isinstance(order, (str, bytes)) or not isinstance(order, (Sequence, np.ndarray)):
            msg = (
                f"`order` must be a permutation of range({k}) as a list of ints, got "
                f"{short_repr(order)} of type {type(order).__name__}"
            )
            raise InvalidArgument(msg)
        order = [_int_field(f"order[{i}]", o, 0, k) for i, o in enumerate(order)]
        if sorted(order) != list(range(k)):
            msg = f"`order` must be a permutation of range({k}), got {short_repr(order)}"
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
        """A JSON-able dict (lists, ints, strs, floats, bools, None) with its ``schema_version``.

        A tuple key becomes a list; :meth:`from_dict` turns it back into a tuple.
        """
        return {
            "schema_version": SCHEMA_VERSION,
            "method": self.method,
            "params": dict(self.params),
            "items": list(self.items),
            "teams": list(self.teams),
            "ranks": [list(r) for r in self.ranks],
            "ranking_lengths": list(self.ranking_lengths),
            "key": list(self.key) if type(self.key) is tuple else self.key,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Interleaving:
        """Rebuild and validate a record made by :meth:`to_dict` (e.g. read back from a log).

        Reads schema versions 1 (unversioned records) to :data:`SCHEMA_VERSION`; every field's
        type and range is checked, and a wrong one raises :class:`InvalidArgument` naming it.
        Keys other than the record's fields (a log's own columns, say) are ignored.
        """
        if not isinstance(record, Mapping):
            msg = (
                "`record` must be a mapping made by Interleaving.to_dict, got "
                f"{type(record).__name__}"
            )
            raise InvalidArgument(msg)
        version = record.get("schema_version", 1)
        if type(version) is not int or not 1 <= version <= SCHEMA_VERSION:
            msg = (
                f"`record['schema_version']` is {short_repr(version)}; this interleave reads "
                f"Interleaving records of schema versions 1 to {SCHEMA_VERSION}; read a newer "
                "record with the interleave release that wrote it"
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
        method = record["method"]
        if type(method) is not str or not method:
            msg = f"`record['method']` must be a method name (str), got {short_repr(method)}"
            raise InvalidArgument(msg)
        items = _list_field("record['items']", record["items"])
        if items:
            items, _, _ = _check_ids(items, "record['items']")
        lengths = _int_list("record['ranking_lengths']", record["ranking_lengths"], 1, ID_MAX)
        rows = _list_field("record['ranks']", record["ranks"])
        if len(lengths) < 2 or len(rows) != len(lengths):
            msg = (
                f"`record['ranks']` has {len(rows)} rows and `record['ranking_lengths']` "
                f"{len(lengths)} entries; the record needs both, for each of >= 2 rankers"
            )
            raise InvalidArgument(msg)
        ranks = tuple(
            tuple(_int_list(f"record['ranks'][{j}]", row, -1, length))
            for j, (row, length) in enumerate(zip(rows, lengths, strict=True))
        )
        teams = tuple(_int_list("record['teams']", record["teams"], -1, len(lengths)))
        key = record.get("key")
        if key is not None:
            if type(key) is list and version >= 2:
                key = tuple(key)
            key = check_request_key(key, "record['key']")
        il = cls(
            method=method,
            items=tuple(items),
            teams=teams,
            ranks=ranks,
            ranking_lengths=tuple(lengths),
            params=_check_params("record['params']", record.get("params") or {}),
            key=key,
            seed=check_seed(record.get("seed"), "record['seed']"),
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

        ``ranks`` are computed from ``rankings``. ``teams`` may be left out only for the methods
        in :data:`CREDITED_BY_RANKS` (every method but team_draft), whose credit never reads
        them; it is then ``-1`` everywhere. Team-credited methods such as ``team_draft``
        need the teams that were logged, or every click would silently credit nobody.

        Warns with :class:`~interleave.errors.DataWarning` when a shown item is in none of the
        rankings: clicks on it credit nobody, which usually means the log and the rankings
        disagree.
        """
        if type(method) is not str or not method:
            msg = f"`method` must be a method name (str), got {short_repr(method)}"
            raise InvalidArgument(msg)
        lists, positions = validate_rankings(rankings)
        shown = _as_list(items, "items")
        if shown:
            shown, kind, _ = _check_ids(shown, "items")
            if kind is not type(lists[0][0]):
                msg = (
                    f"`items` has {kind.__name__} ids but the rankings have "
                    f"{type(lists[0][0]).__name__} ids; use the same ids in both"
                )
                raise InvalidArgument(msg)
        if teams is None:
            if method not in CREDITED_BY_RANKS:
                msg = (
                    f"`teams` is required for {method!r}: its credit reads which ranker each "
                    "position is credited to; pass the logged teams (-1 for none). Only "
                    f"{', '.join(sorted(CREDITED_BY_RANKS))} credit from ranks alone"
                )
                raise InvalidArgument(msg)
            teams = [-1] * len(shown)
        teams = tuple(
            _int_field(f"teams[{p}]", t, -1, len(lists))
            for p, t in enumerate(_list_field("teams", teams))
        )
        ranks = tuple(tuple(p.get(x, ABSENT) for x in shown) for p in positions)
        unranked = [p for p in range(len(shown)) if all(row[p] == ABSENT for row in ranks)]
        if unranked:
            warnings.warn(
                f"`items` at positions {unranked[:10]} (e.g. {short_repr(shown[unranked[0]])}) "
                "are in none of the rankings; clicks on them credit nobody. Check that the "
                "rankings are the ones the list was made from",
                DataWarning,
                stacklevel=2,
            )
        il = cls(
            method=method,
            items=tuple(shown),
            teams=teams,
            ranks=ranks,
            ranking_lengths=tuple(len(r) for r in lists),
            params=_check_params("params", params or {}),
        )
        il.check()
        return il

    def check(self) -> None:
        """Raise :class:`InvalidArgument` if the record is inconsistent (e.g. hand-edited)."""
        n = len(self.items)
        k = len(self.ranks)
        if type(self.method) is not str:
            msg = f"`method` must be a str, got {short_repr(self.method)}"
            raise InvalidArgument(msg)
        if n:
            _check_ids(list(self.items), "items")
        for j, length in enumerate(self.ranking_lengths):
            _int_field(f"ranking_lengths[{j}]", length, 1, ID_MAX)
        for j, (row, length) in enumerate(zip(self.ranks, self.ranking_lengths, strict=True)):
            if n and (set(map(type, row)) != _JUST_INT or min(row) < ABSENT or max(row) >= length):
                msg = (
                    f"`ranks[{j}]` must hold ranks (ints) in [0, {length}) or -1, got "
                    f"{short_repr(row)}"
                )
                raise InvalidArgument(msg)
            present = n - row.count(ABSENT)
            if len(set(row)) != present + (present < n):
                msg = f"`ranks[{j}]` must hold distinct ranks or -1, got {short_repr(row)}"
                raise InvalidArgument(msg)
        _check_params("params", dict(self.params))
        if k != len(self.ranking_lengths):  # pragma: no cover - construction checks it
            msg = "ranks and ranking_lengths differ in length"
            raise InvalidArgument(msg)


_JUST_INT = {int}

# For Interleaving._from_checked_parts (see interleave._slots).
_RECORD_SLOTS = slots_of(
    Interleaving,
    ("method", "items", "teams", "ranks", "ranking_lengths", "params", "key", "seed"),
)
