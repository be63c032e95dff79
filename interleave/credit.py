"""Clicks in, credit out: the :class:`Credit` of one impression and :class:`CreditBatch` of many.

Every interleaving method ends in the same record, so the statistics downstream never care which
method produced it:

- ``scores[j]``: the credit of ranker ``j`` (clicks counted for it, or their expectation);
- ``preferences[i][j]``: in [-1, 1], how strongly the impression prefers ranker ``i`` to ``j``
  (``+1`` i wins, ``-1`` j wins, ``0`` tie; for probabilistic credit the expected outcome
  P(i beats j) - P(j beats i)); the matrix is antisymmetric;
- ``winner``: the ranker preferred to every other (the Condorcet winner), ``None`` if there is none.

:func:`tally` (and :meth:`CreditBatch.win_loss`) turns many credits into the one win/loss currency,
:class:`interleave.stats.WinLoss`, that every sign test and sequential test reads: the candidate
ranker's wins, losses and ties against the baseline. :func:`per_group_preference` averages
outcomes per user or query into a :class:`GroupPreference`, the unit of a paired test.

Fractional (probabilistic) credit is counted explicitly, never rounded: an impression whose
expected outcome for the candidate is ``e`` in [-1, 1] adds ``max(e, 0)`` to wins, ``max(-e, 0)``
to losses and ``1 - |e|`` to ties, so each impression adds exactly 1 to ``n`` and the expected
``wins - losses`` is the sum of the outcomes. When every outcome is -1, 0 or +1 the counts are
ints, which the exact sign test needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from interleave._checks import check_int, short_repr
from interleave._slots import new_slotted, slots_of
from interleave.errors import InvalidArgument

if TYPE_CHECKING:  # stats loads scipy: imported when first needed, not with interleave
    import polars as pl

    from interleave.stats import PairedTestResult, WinLoss

__all__ = ["Credit", "CreditBatch", "GroupPreference", "per_group_preference", "tally"]


#: The preference matrix of two rankers for each sign of (ranker 0's score - ranker 1's): shared,
#: so the per-click paths build no tuples (matrices of -0.0 where they are 0: ``-sign``'s).
TWO_RANKER_PREFERENCES = {
    1: ((0.0, 1.0), (-1.0, 0.0)),
    0: ((0.0, 0.0), (-0.0, 0.0)),
    -1: ((0.0, -1.0), (1.0, 0.0)),
}


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

    @classmethod
    def _from_checked_parts(
        cls, method: str, scores: tuple, preferences: tuple, clicks: tuple
    ) -> Credit:
        """A credit from parts a method has just computed from checked clicks (the hot path)."""
        return new_slotted(cls, _CREDIT_SLOTS, method, scores, preferences, clicks)

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


# For Credit._from_checked_parts (see interleave._slots).
_CREDIT_SLOTS = slots_of(Credit, ("method", "scores", "preferences", "clicks"))


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

    def win_loss(self, candidate: int = 1, baseline: int = 0) -> WinLoss:
        """The candidate ranker's wins, losses and ties against the baseline ranker.

        Fractional outcomes count as the module docstring says; see :func:`tally`.
        """
        k = self.preferences.shape[1]
        candidate, baseline = _check_pair(candidate, baseline, k, "this batch")
        return _win_loss(self.preferences[:, candidate, baseline], "batch")

    def __getitem__(self, index: int) -> Credit:
        row = self.preferences[index]
        return Credit(
            method=self.method,
            scores=tuple(float(s) for s in self.scores[index]),
            preferences=tuple(tuple(float(x) for x in r) for r in row),
        )


def _check_pair(candidate: Any, baseline: Any, n_rankers: int, where: str) -> tuple[int, int]:
    """Two distinct ranker indices in ``range(n_rankers)`` (no negative indexing)."""
    upper = n_rankers - 1
    candidate = check_int("candidate", candidate, minimum=0)
    baseline = check_int("baseline", baseline, minimum=0)
    for name, value in (("candidate", candidate), ("baseline", baseline)):
        if value > upper:
            msg = (
                f"`{name}` must be a ranker index in [0, {upper}], got {value}: {where} "
                f"compares {n_rankers} rankers"
            )
            raise InvalidArgument(msg)
    if candidate == baseline:
        msg = f"`candidate` and `baseline` must be two different rankers, got {candidate} for both"
        raise InvalidArgument(msg)
    return candidate, baseline


#: Outcomes this far past +-1 are float rounding (a probability sum of 1 + 1e-16), clipped to +-1;
#: any further is a broken credit.
ROUNDING_SLACK = 1e-9


def _checked_outcomes(outcomes: np.ndarray, name: str) -> np.ndarray:
    """Outcomes in [-1, 1] (rounding clipped), or a named error for NaN and larger values."""
    magnitude = np.abs(outcomes)
    bad = ~(magnitude <= 1.0 + ROUNDING_SLACK)  # NaN fails the comparison
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        msg = (
            f"`{name}` has the outcome {float(outcomes[index])!r} at impression {index}; a "
            "preference lies in [-1, 1] (a NaN or larger value means a broken credit)"
        )
        raise InvalidArgument(msg)
    return np.clip(outcomes, -1.0, 1.0) if (magnitude > 1.0).any() else outcomes


def _win_loss(outcomes: np.ndarray, name: str) -> WinLoss:
    from interleave.stats import WinLoss

    outcomes = _checked_outcomes(np.asarray(outcomes, dtype=float), name)
    wins_mask = outcomes == 1.0
    losses_mask = outcomes == -1.0
    n_wins = int(np.count_nonzero(wins_mask))
    n_losses = int(np.count_nonzero(losses_mask))
    n_ties = int(np.count_nonzero(outcomes == 0.0))
    if n_wins + n_losses + n_ties == outcomes.size:  # whole outcomes: int counts
        return WinLoss(n_wins, n_losses, n_ties)
    return WinLoss(
        float(np.clip(outcomes, 0.0, None).sum()),
        float(np.clip(-outcomes, 0.0, None).sum()),
        float((1.0 - np.abs(outcomes)).sum()),
    )


def tally(
    credits: Iterable[Credit], candidate: int = 1, baseline: int = 0, **renamed: Any
) -> WinLoss:
    """The candidate ranker's wins, losses and ties against the baseline over many credits.

    Parameters
    ----------
    credits
        :class:`Credit` records (any iterable), or a :class:`CreditBatch`.
    candidate, baseline
        Ranker indices (by default ranker 1, the candidate, against ranker 0, production).
        A win is an impression that prefers ``candidate`` to ``baseline``.

    Returns
    -------
    interleave.stats.WinLoss
        Int counts when every outcome is -1, 0 or +1; fractional (probabilistic) outcomes
        count as the module docstring says.

    Examples
    --------
    >>> a = Credit("team_draft", (0.0, 1.0), ((0.0, -1.0), (1.0, 0.0)))
    >>> b = Credit("team_draft", (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0)))
    >>> tally([a, a, b])
    WinLoss(n_wins=2, n_losses=0, n_ties=1)
    >>> p = Credit("probabilistic", (0.4, 0.6), ((0.0, -0.5), (0.5, 0.0)))
    >>> tally([p, a])
    WinLoss(n_wins=1.5, n_losses=0.0, n_ties=0.5)
    """
    if renamed:
        names = ", ".join(f"{name}={short_repr(value)}" for name, value in renamed.items())
        msg = (
            f"tally() got {names}; it takes `candidate` and `baseline` ranker indices "
            "(i and j were renamed: tally(credits, candidate=1, baseline=0))"
        )
        raise InvalidArgument(msg)
    if isinstance(credits, CreditBatch):
        return credits.win_loss(candidate, baseline)
    if isinstance(credits, (str, bytes, Credit)) or not isinstance(credits, Iterable):
        msg = (
            f"`credits` must be an iterable of Credit records, got {short_repr(credits)} of type "
            f"{type(credits).__name__}"
        )
        raise InvalidArgument(msg)
    candidate = check_int("candidate", candidate, minimum=0)
    baseline = check_int("baseline", baseline, minimum=0)
    outcomes = []
    checked_k = -1
    for index, credit in enumerate(credits):
        if not isinstance(credit, Credit):
            msg = (
                f"`credits[{index}]` must be a Credit, got {short_repr(credit)} of type "
                f"{type(credit).__name__}"
            )
            raise InvalidArgument(msg)
        k = len(credit.preferences)
        if k != checked_k:
            _check_pair(candidate, baseline, k, f"`credits[{index}]`")
            checked_k = k
        outcomes.append(credit.preferences[candidate][baseline])
    if not outcomes:
        _check_pair(candidate, baseline, max(candidate, baseline) + 1, "")
    try:
        array = np.array(outcomes, dtype=float)
    except (TypeError, ValueError, OverflowError) as error:
        msg = f"`credits` hold a preference that is not a number: {error}"
        raise InvalidArgument(msg) from None
    return _win_loss(array, "credits")


@dataclass(frozen=True, eq=False)
class GroupPreference:
    """Mean outcome per group (user or query): one number per unit for a paired test.

    Heavy users click on many impressions; averaging per user first makes each user count once,
    so a test over users is not anti-conservative the way one over impressions is.

    Attributes
    ----------
    groups
        The group ids, sorted.
    mean_outcome
        Per group, the mean of its impressions' outcomes (each in [-1, 1]).
    n_impressions
        Per group, how many impressions it had.

    Examples
    --------
    >>> pref = per_group_preference(["u2", "u1", "u2", "u1"], [1, -1, 0, 1])
    >>> str(pref)
    'GroupPreference: 2 groups, 4 impressions, mean per-group outcome 0.25'
    >>> pref.mean_outcome.tolist()
    [0.0, 0.5]
    """

    groups: np.ndarray
    mean_outcome: np.ndarray
    n_impressions: np.ndarray

    def __len__(self) -> int:
        return self.groups.shape[0]

    @property
    def n_groups(self) -> int:
        """Number of groups (users or queries)."""
        return self.groups.shape[0]

    @property
    def mean(self) -> float:
        """The mean over groups of the per-group mean outcome (each group counts once)."""
        return float(self.mean_outcome.mean())

    def paired_test(self, **kwargs: Any) -> PairedTestResult:
        """:func:`interleave.stats.paired_test` over the per-group means (``kwargs`` passed on)."""
        from interleave.stats import paired_test

        return paired_test(self.mean_outcome, **kwargs)

    def __str__(self) -> str:
        return (
            f"GroupPreference: {self.n_groups} groups, {int(self.n_impressions.sum())} "
            f"impressions, mean per-group outcome {self.mean:.4g}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the three columns."""
        return {
            "groups": self.groups.tolist(),
            "mean_outcome": self.mean_outcome.tolist(),
            "n_impressions": self.n_impressions.tolist(),
        }

    def to_frame(self) -> pl.DataFrame:
        """The three columns as a polars DataFrame, one row per group."""
        import polars as pl

        return pl.DataFrame(self.to_dict())


def _group_ids(groups: Any) -> np.ndarray:
    """Group ids as an int or str array; None, floats, bools and mixtures named."""
    if isinstance(groups, (str, bytes)) or groups is None:
        msg = f"`groups` must be a list of group ids, got {short_repr(groups)}"
        raise InvalidArgument(msg)
    array = groups if isinstance(groups, np.ndarray) else np.asarray(groups, dtype=object)
    if array.ndim != 1:
        msg = f"`groups` must be one-dimensional, got shape {array.shape}"
        raise InvalidArgument(msg)
    if array.dtype.kind in "iuU":
        return array
    if array.dtype.kind == "O":
        values = array.tolist()
        if all(
            isinstance(g, (int, np.integer)) and not isinstance(g, (bool, np.bool_)) for g in values
        ):
            return np.array(
                [int(g) for g in values], dtype=object if values and _wide(values) else np.int64
            )
        if all(isinstance(g, str) for g in values):
            return np.array(values, dtype=str)
        for index, g in enumerate(values):
            ok = isinstance(g, str) or (
                isinstance(g, (int, np.integer)) and not isinstance(g, (bool, np.bool_))
            )
            if not ok:
                msg = (
                    f"`groups[{index}]` must be an int or str group id, got {short_repr(g)} of "
                    f"type {type(g).__name__}; drop or label impressions without a group"
                )
                raise InvalidArgument(msg)
        msg = "`groups` mixes int and str ids; use one id type (e.g. str for every group)"
        raise InvalidArgument(msg)
    msg = (
        f"`groups` must hold int or str ids, got an array of dtype {array.dtype}; convert the "
        "ids (e.g. user ids read as floats) to int or str"
    )
    raise InvalidArgument(msg)


def _wide(values: list[int]) -> bool:
    return min(values) < -(2**63) or max(values) >= 2**63


def per_group_preference(groups: Any, outcomes: Any) -> GroupPreference:
    """Mean outcome per group (user or query): the unit of a paired test on per-user preference.

    Parameters
    ----------
    groups
        Per impression, its group id (int or str; never None).
    outcomes
        Per impression, the candidate's preference in [-1, 1] (e.g. ``CreditBatch.outcome`` or
        ``[c.preferences[1][0] for c in credits]``).

    Returns
    -------
    GroupPreference
        Groups in sorted order with their mean outcome and impression count;
        ``.paired_test()`` tests whether the mean per-group preference differs from 0.
    """
    group_ids = _group_ids(groups)
    try:
        values = np.asarray(outcomes, dtype=float)
    except (TypeError, ValueError, OverflowError):
        msg = f"`outcomes` must be numbers in [-1, 1], got {short_repr(outcomes)}"
        raise InvalidArgument(msg) from None
    if group_ids.shape != values.shape:
        msg = (
            f"`groups` and `outcomes` must be 1-d arrays of the same length, got shapes "
            f"{group_ids.shape} and {values.shape}"
        )
        raise InvalidArgument(msg)
    if group_ids.size == 0:
        msg = "`outcomes` is empty; there is nothing to aggregate"
        raise InvalidArgument(msg)
    values = _checked_outcomes(values, "outcomes")
    ids, index = np.unique(group_ids, return_inverse=True)
    counts = np.bincount(index)
    means = np.bincount(index, weights=values) / counts
    return GroupPreference(ids, means, counts)
