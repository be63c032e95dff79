"""The per-request path of two-ranker Team-Draft and Balanced: check, merge and rank in one pass.

A live API calls ``interleave`` once per request with two fresh lists of ten or so ids. The
general path (``validate_rankings`` building an index per ranking, the method's merge keeping a
set of shown items, then the ranks looked up item by item) walks the lists four times. Here one
pass does all of it: each ranking's ``{id: rank}`` dict is both the duplicate check and the rank
table, and an item is "already shown" exactly when the *other* ranking's pointer has passed it,
so the merge needs no set and reads the ranks it records from the dicts it consults anyway.

Each function returns ``None`` when its input is anything but the common case (two non-empty
lists of plain ``str``, or of plain ``int`` in the 64-bit id range, without duplicates): the
caller then takes the general path, which converts numpy ints and names what is wrong. Results
are exactly the general path's (a property test holds them equal).

When the optional compiled module ``interleave._speedups`` was built (a C compiler at install
time), it replaces these functions with the same behaviour; the pure-Python definitions stay
available as ``_python_*`` for the tests that hold the two equal.
"""

from __future__ import annotations

import contextlib

from interleave.ranking import ID_MAX, ID_MIN

__all__ = ["balanced_two", "plain_pair_key", "team_draft_two"]

_JUST_STR = {str}
_JUST_INT = {int}


def _index(ranking: list, kind: type | None) -> dict | None:
    """``{id: rank}`` of a list of plain str or in-range int ids of type ``kind`` (or any one)."""
    if type(ranking) is not list or not ranking:
        return None
    kinds = set(map(type, ranking))
    if kinds == _JUST_STR:
        if kind is int:
            return None
    elif kinds == _JUST_INT:
        if kind is str or min(ranking) < ID_MIN or max(ranking) >= ID_MAX:
            return None
    else:
        return None
    position = dict(zip(ranking, range(len(ranking))))  # noqa: B905 (same length)
    return position if len(position) == len(ranking) else None


def team_draft_two(
    a: list, b: list, length: int, common_prefix: bool, coins: int
) -> tuple[tuple, tuple, tuple, tuple] | None:
    """Two-ranker Team-Draft: ``(items, teams, ranks_a, ranks_b)`` or ``None`` (general path).

    ``length`` is the resolved number of positions (at most ``len(a) + len(b)``); coin ``r``
    (bit ``r`` of ``coins``, 1 = A picks first) orders round ``r``. With ``common_prefix`` the
    top ranks where ``a`` and ``b`` agree come first, credited to no team (``-1``). Ranks are
    0-based, ``-1`` where a ranking lacks the item.

    Examples
    --------
    >>> team_draft_two(["x", "y"], ["y", "z"], 3, True, 0b1)
    (('x', 'y', 'z'), (0, 1, 1), (0, 1, -1), (-1, 0, 1))
    >>> team_draft_two([1, 2], [2, 2], 2, True, 0) is None  # a duplicate: the general path names it
    True
    """
    position_a = _index(a, None)
    if position_a is None:
        return None
    position_b = _index(b, type(a[0]))
    if position_b is None:
        return None
    na, nb = len(a), len(b)
    c = 0
    if common_prefix:
        limit = min(length, na, nb)
        while c < limit and a[c] == b[c]:
            c += 1
    items = a[:c]
    teams = [-1] * c
    ranks_a = list(range(c))
    ranks_b = ranks_a[:]
    rank_in_a, rank_in_b = position_a.get, position_b.get
    add_item, add_team, add_a, add_b = items.append, teams.append, ranks_a.append, ranks_b.append
    pa = pb = count = c
    # An item is already shown iff the other ranking's pointer has passed it: its own pointer
    # only moves forward, and the other pointer passes exactly the items it added or skipped.
    for r in range(length):
        if count >= length:
            break
        before = count
        if (coins >> r) & 1:  # A first, then B
            while pa < na:
                item = a[pa]
                j = rank_in_b(item, -1)
                pa += 1
                if not -1 < j < pb:
                    add_item(item), add_team(0), add_a(pa - 1), add_b(j)
                    count += 1
                    break
            if count >= length:
                break
            while pb < nb:
                item = b[pb]
                j = rank_in_a(item, -1)
                pb += 1
                if not -1 < j < pa:
                    add_item(item), add_team(1), add_a(j), add_b(pb - 1)
                    count += 1
                    break
        else:  # B first, then A
            while pb < nb:
                item = b[pb]
                j = rank_in_a(item, -1)
                pb += 1
                if not -1 < j < pa:
                    add_item(item), add_team(1), add_a(j), add_b(pb - 1)
                    count += 1
                    break
            if count >= length:
                break
            while pa < na:
                item = a[pa]
                j = rank_in_b(item, -1)
                pa += 1
                if not -1 < j < pb:
                    add_item(item), add_team(0), add_a(pa - 1), add_b(j)
                    count += 1
                    break
        if count == before:
            break
    return tuple(items), tuple(teams), tuple(ranks_a), tuple(ranks_b)


def balanced_two(
    a: list, b: list, length: int, a_first: bool
) -> tuple[tuple, tuple, tuple, tuple] | None:
    """Balanced merge: ``(items, teams, ranks_a, ranks_b)`` or ``None`` (general path).

    The leader (``a`` if ``a_first``) and the other ranking add their items in turn, rank by
    rank, skipping what is shown, then the longer one's tail; ``length`` positions at most.

    Examples
    --------
    >>> balanced_two([1, 2, 3], [2, 4], 3, False)
    ((2, 1, 4), (1, 0, 1), (1, 0, -1), (0, -1, 1))
    """
    position_a = _index(a, None)
    if position_a is None:
        return None
    position_b = _index(b, type(a[0]))
    if position_b is None:
        return None
    if a_first:
        first, second, first_team, second_team = a, b, 0, 1
        rank_in_first, rank_in_second = position_a.get, position_b.get
    else:
        first, second, first_team, second_team = b, a, 1, 0
        rank_in_first, rank_in_second = position_b.get, position_a.get
    items: list = []
    teams: list[int] = []
    ranks_first: list[int] = []
    ranks_second: list[int] = []
    add_item, add_team = items.append, teams.append
    add_first, add_second = ranks_first.append, ranks_second.append
    count = 0
    common = min(len(a), len(b))
    for i in range(common):
        if count >= length:
            break
        x = first[i]
        j = rank_in_second(x, -1)
        if not -1 < j < i:  # shown iff the second ranking already added it (ranks below i)
            add_item(x), add_team(first_team), add_first(i), add_second(j)
            count += 1
            if count >= length:
                break
        y = second[i]
        j = rank_in_first(y, -1)
        if not -1 < j <= i:  # shown iff the first ranking added it (ranks up to i)
            add_item(y), add_team(second_team), add_first(j), add_second(i)
            count += 1
    else:
        if len(first) > common:
            tail, team, rank_in_other, add_own, add_other = (
                first,
                first_team,
                rank_in_second,
                add_first,
                add_second,
            )
        else:
            tail, team, rank_in_other, add_own, add_other = (
                second,
                second_team,
                rank_in_first,
                add_second,
                add_first,
            )
        for i in range(common, len(tail)):
            if count >= length:
                break
            x = tail[i]
            j = rank_in_other(x, -1)
            if not -1 < j < common:
                add_item(x), add_team(team), add_own(i), add_other(j)
                count += 1
    if a_first:
        return tuple(items), tuple(teams), tuple(ranks_first), tuple(ranks_second)
    return tuple(items), tuple(teams), tuple(ranks_second), tuple(ranks_first)


def plain_pair_key(a: list, b: list) -> tuple[tuple, tuple] | None:
    """``(tuple(a), tuple(b))`` when both are non-empty lists of exact str or of exact int ids.

    A cache key for rankings served before: equal tuples may hold other types (``1.0 == 1``,
    ``True == 1``, numpy ints), so only plain ids of one kind qualify; ``None`` otherwise. The
    values are not checked (range, duplicates): a key that hits equals rankings already checked.

    Examples
    --------
    >>> plain_pair_key([1, 2], [2, 3])
    ((1, 2), (2, 3))
    >>> plain_pair_key([1, 2], [2.0, 3]) is None
    True
    """
    if type(a) is not list or type(b) is not list or not a or not b:
        return None
    kinds = set(map(type, a))
    kinds.update(map(type, b))
    return (tuple(a), tuple(b)) if kinds in (_JUST_STR, _JUST_INT) else None


_python_team_draft_two = team_draft_two
_python_balanced_two = balanced_two
_python_plain_pair_key = plain_pair_key

# The compiled versions, where a C compiler built them at install time; otherwise the above.
with contextlib.suppress(ImportError):
    from interleave._speedups import balanced_two, plain_pair_key, team_draft_two
