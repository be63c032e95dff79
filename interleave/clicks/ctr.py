"""Click-through-rate baselines: every result clicked independently with a fixed rate.

- :class:`GlobalCTR`: one rate for every result (the random click model);
- :class:`RankCTR`: one rate per rank;
- :class:`DocumentCTR`: one rate per (query, item) pair, or per relevance grade.

Fitted in closed form as PyClick's ``GCTR``, ``RCTR`` and ``DCTR``: ``(clicks + 1) / (shown + 2)``.
They are the floor any click model should beat on log-likelihood and perplexity.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from interleave._checks import check_probability
from interleave.clicks._base import (
    ClickModel,
    _grade_table,
    check_n_ranks,
    key_sum,
    mle,
    probability_array,
)

__all__ = ["DocumentCTR", "GlobalCTR", "RankCTR"]


class _IndependentClicks(ClickModel):
    _SCALED: ClassVar[str] = "ctr"

    def _probabilities(self, v, shape):
        return np.broadcast_to(v["ctr"], shape).astype(np.float64)

    def _conditional(self, v, clicks):
        return np.where(clicks, v["ctr"], 1.0 - v["ctr"])

    def _simulate(self, v, shape, rng):
        return rng.random(shape) < v["ctr"]


class GlobalCTR(_IndependentClicks):
    """Every result is clicked with the same probability ``ctr``.

    Parameters
    ----------
    ctr
        The click probability; None for a model to be fitted.

    Examples
    --------
    >>> import numpy as np
    >>> GlobalCTR(0.25).click_probabilities(np.zeros((1, 3), dtype=int))
    array([[0.25, 0.25, 0.25]])
    """

    _KEYLESS = True

    def __init__(self, ctr: float | None = None) -> None:
        super().__init__()
        if ctr is not None:
            self._ranks = {"ctr": np.float64(check_probability("ctr", ctr))}

    @property
    def ctr(self) -> float:
        """The click probability of every result."""
        self._require()
        return float(self._ranks["ctr"])

    def _keyless_values(self, shape):
        return {"ctr": np.full(shape, float(self._ranks["ctr"]))}

    def _estimate(self, index, clicks, weights, n_keys):
        k = clicks.shape[1]
        return {"ctr": mle(weights @ clicks.sum(axis=1), weights.sum() * k)}, {}, "closed_form", 0


class RankCTR(_IndependentClicks):
    """The result at rank r is clicked with probability ``ctr[r]``.

    Parameters
    ----------
    ctr
        Click probability per rank, shape (k,); None for a model to be fitted.

    Examples
    --------
    >>> import numpy as np
    >>> RankCTR([0.5, 0.2]).click_probabilities(np.zeros((1, 2), dtype=int))
    array([[0.5, 0.2]])
    """

    _KEYLESS = True

    def __init__(self, ctr: Any = None) -> None:
        super().__init__()
        if ctr is not None:
            self._ranks = {"ctr": probability_array("ctr", ctr, ndim=1)}

    @property
    def ctr(self) -> np.ndarray:
        """Click probability per rank, shape (k,)."""
        self._require()
        return self._ranks["ctr"]

    def _check_ranks(self, k: int) -> None:
        check_n_ranks(self, "rates", len(self._ranks["ctr"]), k)

    def _keyless_values(self, shape):
        return {"ctr": np.broadcast_to(self._ranks["ctr"], shape).copy()}

    def _estimate(self, index, clicks, weights, n_keys):
        return {"ctr": mle(weights @ clicks, weights.sum())}, {}, "closed_form", 0


class DocumentCTR(_IndependentClicks):
    """Each result is clicked with its own rate, keyed by (query, item) or by relevance grade.

    Parameters
    ----------
    by
        ``"document"`` (default) or ``"relevance"``.

    Examples
    --------
    >>> import numpy as np
    >>> DocumentCTR.from_grades([0.1, 0.6]).click_probabilities(np.array([[1, 0]]))
    array([[0.6, 0.1]])
    """

    @classmethod
    def from_grades(cls, ctr: Any) -> DocumentCTR:
        """Click probability per relevance grade."""
        rates = probability_array("ctr", ctr, ndim=1)
        return cls(by="relevance")._with({}, _grade_table({"ctr": rates}), None)

    def _estimate(self, index, clicks, weights, n_keys):
        n, k = index.shape
        w = weights[:, None]
        ctr = mle(
            key_sum(index, w * clicks, n_keys), key_sum(index, np.broadcast_to(w, (n, k)), n_keys)
        )
        return {}, {"ctr": ctr}, "closed_form", 0
