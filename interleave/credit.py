"""Clicks in, credit out: the :class:`Credit` of one impression and :class:`CreditBatch` of many.

Every interleaving method ends in the same record, so the statistics downstream never care which
method produced it:

- ``scores[j]``: the credit of ranker ``j`` (clicks counted for it, or their expectation);
- ``preferences[i][j]``: in [-1, 1], how strongly the impression prefers ranker ``i`` to ``j``
  (``+1`` i wins, ``-1`` j wins, ``0`` tie; for probabilistic credit the expected outcome
  P(i beats j) - P(j beats i)); the matrix is antisymmetric;
- ``winner``: the ranker preferred to every other (the Condorcet winner), ``None`` if there is none.

:func:`tally` turns many credits into the wins / losses / ties a sign test or SPRT reads, and
:func:`per_group_preference` averages outcomes per user or query, the unit A/B analyses use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interleave.errors import InvalidArgument

__all__ = ["Credit", "CreditBatch", "Tally", "per_group_preference", "tally"]


def _condorcet_winner(preferences: Sequence[Sequence[float]]) -> int | None:
    k = len(preferences)
    for i in range(k):
        row = preferences[i]
        if all(row[j] > 0 for j in range(k) if j != i):
            return i
    return None


@dataclass(frozen=True, slots=True)
class Credit:
    """Credit of one interleaved impression.

    Attributes
    ----------
    method
        The interleaving method that credited it.
    scores
        Per-ranker credit (tuple of floats).
    preferences
        Antisymmetric matrix, ``preferences[i][j]`` in [-1, 1]: ranker ``i`` over ranker ``j``.
    clicks
        The clicked positions, sorted.

    Examples
    --------
    >>> c = Credit("team_draft", (2.0, 1.0), ((0.0, 1.0), (-1.0, 0.0)), (0, 1, 3))
    >>> c.winner, c.outcome
    (0, 1.0)
    """

    method: str
    scores: tuple[float, ...]
    preferences: tuple[tuple[float, ...], ...]
    clicks: tuple[int, ...] = ()

    @property
    def n_rankers(self) -> int:
        """Number of rankers compared."""
        return len(self.scores)

    @property
    def winner(self) -> int | None:
        """Index of the ranker preferred to every other, ``None`` for a tie or no such ranker."""
        return _condorcet_winner(self.preferences)

    @property
    def outcome(self) -> float:
        """``preferences[0][1]``: +1 when the first ranker wins, -1 when the second does."""
        return self.preferences[0][1]

    def __str__(self) -> str:
        scores = ", ".join(f"{s:g}" for s in self.scores)
        clicks = list(self.clicks)
        return f"{self.method} credit: scores=({scores}) winner={self.winner} clicks={clicks}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "method": self.method,
            "scores": list(self.scores),
            "preferences": [list(row) for row in self.preferences],
            "clicks": list(self.clicks),
            "winner": self.winner,
        }


def sign_preferences(scores: Sequence[float]) -> tuple[tuple[float, ...], ...]:
    """Preferences from comparing scores: ``sign(scores[i] - scores[j])``."""
    if len(scores) == 2:
        a, b = scores
        outcome = float((a > b) - (a < b))
        return ((0.0, outcome), (-outcome, 0.0))
    return tuple(tuple(float((a > b) - (a < b)) for b in scores) for a in scores)


@dataclass(frozen=True, eq=False)
class CreditBatch:
    """Credit of many impressions at once (the batch path of simulation).

    Attributes
    ----------
    method
        The interleaving method that credited them.
    scores
        Array (n_impressions, n_rankers) of per-ranker credit.
    preferences
        Array (n_impressions, n_rankers, n_rankers), antisymmetric in the last two axes.
    """

    method: str
    scores: np.ndarray
    preferences: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return self.scores.shape[0]

    @property
    def outcome(self) -> np.ndarray:
        """``preferences[:, 0, 1]``: per impression, the first ranker's preference over the second.

        (Shorter lists pad with no clicks, so their rows are ties.)
        """
        return self.preferences[:, 0, 1]

    def tally(self, i: int = 0, j: int = 1) -> Tally:
        """Wins, losses and ties of ranker ``i`` against ranker ``j``."""
        return _tally_array(self.preferences[:, i, j])

    def __getitem__(self, index: int) -> Credit:
        row = self.preferences[index]
        return Credit(
            method=self.method,
            scores=tuple(float(s) for s in self.scores[index]),
            preferences=tuple(tuple(float(x) for x in r) for r in row),
        )


@dataclass(frozen=True, slots=True)
class Tally:
    """Wins, losses and ties of one ranker against another over many impressions.

    For probabilistic credit an impression contributes fractionally: its expected outcome
    ``e`` adds ``max(e, 0)`` to wins and ``max(-e, 0)`` to losses, and ``1 - |e|`` to ties.
    """

    wins: float
    losses: float
    ties: float

    @property
    def n(self) -> float:
        """Impressions counted."""
        return self.wins + self.losses + self.ties

    def __str__(self) -> str:
        return f"wins={self.wins:g} losses={self.losses:g} ties={self.ties:g}"


def _tally_array(outcomes: np.ndarray) -> Tally:
    outcomes = np.asarray(outcomes, dtype=float)
    wins = float(np.clip(outcomes, 0, None).sum())
    losses = float(np.clip(-outcomes, 0, None).sum())
    ties = float((1.0 - np.abs(outcomes)).sum())
    return Tally(wins, losses, ties)


def tally(credits: Iterable[Credit], i: int = 0, j: int = 1) -> Tally:
    """Wins, losses and ties of ranker ``i`` against ranker ``j`` over many credits.

    Examples
    --------
    >>> a = Credit("team_draft", (1.0, 0.0), ((0.0, 1.0), (-1.0, 0.0)))
    >>> b = Credit("team_draft", (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0)))
    >>> str(tally([a, a, b]))
    'wins=2 losses=0 ties=1'
    """
    return _tally_array(np.fromiter((c.preferences[i][j] for c in credits), dtype=float))


def per_group_preference(groups: Any, outcomes: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean outcome per group (user or query): the unit of a paired test on per-user preference.

    Returns ``(group_ids, mean_outcome, n_impressions)``, groups in sorted order.
    """
    groups = np.asarray(groups)
    outcomes = np.asarray(outcomes, dtype=float)
    if groups.shape != outcomes.shape or groups.ndim != 1:
        msg = (
            f"`groups` and `outcomes` must be 1-d arrays of the same length, got shapes "
            f"{groups.shape} and {outcomes.shape}"
        )
        raise InvalidArgument(msg)
    if groups.size == 0:
        msg = "`outcomes` is empty; there is nothing to aggregate"
        raise InvalidArgument(msg)
    ids, index = np.unique(groups, return_inverse=True)
    counts = np.bincount(index)
    means = np.bincount(index, weights=outcomes) / counts
    return ids, means, counts
