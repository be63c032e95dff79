"""Multiple comparisons, for multileaving and multi-arm tests.

Comparing ``k`` rankers at once makes ``k (k - 1) / 2`` pairwise tests; at ``alpha = 0.05`` each,
some will come out "significant" by chance. :func:`adjust_pvalues` applies statsmodels'
``multipletests`` (Holm by default: controls the family-wise error rate, uniformly more powerful
than Bonferroni; ``'fdr_bh'`` controls the false discovery rate instead).
:func:`pairwise_sign_tests` runs the exact sign test on every pair of a multileaving win matrix
and adjusts the family.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from interleave._checks import check_alpha, check_one_of
from interleave.errors import InvalidArgument
from interleave.stats._core import Result, as_count_array, as_real_array
from interleave.stats.fixed import sign_test

__all__ = ["METHODS", "AdjustedPvalues", "PairwiseResult", "adjust_pvalues", "pairwise_sign_tests"]

METHODS = ("holm", "bonferroni", "sidak", "holm-sidak", "hommel", "fdr_bh", "fdr_by")


@dataclasses.dataclass(frozen=True, slots=True)
class AdjustedPvalues(Result):
    """P-values adjusted for multiplicity.

    Attributes
    ----------
    pvalues
        As given.
    adjusted
        Adjusted p-values: compare each with the family's ``alpha``.
    method
        The adjustment.
    """

    pvalues: np.ndarray
    adjusted: np.ndarray
    method: str

    def rejected(self, alpha: float = 0.05) -> np.ndarray:
        """Which hypotheses the family rejects at level ``alpha``."""
        return self.adjusted <= check_alpha("alpha", alpha)


def adjust_pvalues(pvalues: Any, method: str = "holm") -> AdjustedPvalues:
    """Adjust a family of p-values (statsmodels ``multipletests``).

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.02, 0.03]).adjusted.round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    from statsmodels.stats.multitest import multipletests

    method = check_one_of("method", method, METHODS)
    values = as_real_array("pvalues", pvalues).astype(float)
    if values.ndim != 1:
        msg = f"`pvalues` must be 1-D, got shape {values.shape}"
        raise InvalidArgument(msg)
    if np.any((values < 0) | (values > 1)):
        msg = f"`pvalues` must lie in [0, 1], got {values.tolist()!r}"
        raise InvalidArgument(msg)
    _, adjusted, _, _ = multipletests(values, method=method)
    return AdjustedPvalues(values, np.asarray(adjusted, dtype=float), method)


@dataclasses.dataclass(frozen=True, slots=True)
class PairwiseResult(Result):
    """Exact sign tests of every pair of rankers, adjusted as one family.

    Attributes
    ----------
    n_wins
        ``n_wins[i, j]``: comparisons in which ranker ``i`` beat ranker ``j``.
    pvalues
        ``pvalues[i, j]``: the sign test of ``i`` against ``j`` (symmetric, NaN on the diagonal).
    adjusted
        The same, adjusted over the ``k (k - 1) / 2`` pairs.
    method
        The adjustment.
    """

    n_wins: np.ndarray
    pvalues: np.ndarray
    adjusted: np.ndarray
    method: str

    def rejected(self, alpha: float = 0.05) -> np.ndarray:
        """Which pairs differ at family-wise (or FDR) level ``alpha`` (False on the diagonal)."""
        return np.nan_to_num(self.adjusted, nan=1.0) <= check_alpha("alpha", alpha)


def pairwise_sign_tests(n_wins: Any, *, method: str = "holm") -> PairwiseResult:
    """Sign tests of all pairs in a multileaving win matrix, adjusted for multiplicity.

    Parameters
    ----------
    n_wins
        Square matrix: ``n_wins[i, j]`` comparisons won by ranker ``i`` over ranker ``j``.
    method
        One of :data:`METHODS`. Each pair is tested two-sided.

    Examples
    --------
    >>> result = pairwise_sign_tests([[0, 60, 80], [40, 0, 55], [20, 45, 0]])
    >>> result.rejected().astype(int).tolist()
    [[0, 0, 1], [0, 0, 0], [1, 0, 0]]
    """
    wins = as_count_array("n_wins", n_wins, whole=False)
    if np.any(wins != np.floor(wins)):
        msg = (
            "`n_wins` must hold whole counts for the exact sign tests, got fractional credit "
            f"such as {wins[wins != np.floor(wins)][0].item()!r}; test fractional credit per "
            "pair with a sequential test (MixtureSPRT, BetaBinomialMixture) or paired_test"
        )
        raise InvalidArgument(msg)
    wins = wins.astype(np.int64)
    if wins.ndim != 2 or wins.shape[0] != wins.shape[1] or wins.shape[0] < 2:
        msg = f"`n_wins` must be a square matrix of at least 2 x 2, got shape {wins.shape}"
        raise InvalidArgument(msg)
    k = wins.shape[0]
    rows, cols = np.triu_indices(k, 1)
    pvalues = np.full((k, k), np.nan)
    flat = []
    for i, j in zip(rows, cols, strict=True):
        if wins[i, j] + wins[j, i] == 0:
            p = 1.0
        else:
            p = sign_test(int(wins[i, j]), int(wins[j, i])).pvalue
        flat.append(p)
    adjusted_flat = adjust_pvalues(flat, method=method).adjusted
    adjusted = np.full((k, k), np.nan)
    pvalues[rows, cols] = pvalues[cols, rows] = flat
    adjusted[rows, cols] = adjusted[cols, rows] = adjusted_flat
    return PairwiseResult(wins, pvalues, adjusted, method)
