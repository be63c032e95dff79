"""The user browsing model (UBM; Dupret & Piwowarski, SIGIR 2008).

Like the position-based model, but examination depends on the rank *and* on the rank of the
previous click: ``P(C_r = 1 | C_<r) = examination[r, j] * attractiveness(result at r)``, where
``j = 0`` when nothing above r was clicked and ``j = 1 + p`` when the last click above r was at
0-based rank ``p``. Only ``j <= r`` occurs; the other cells are NaN.

PyClick indexes "no click above" by the last rank ``M - 1``; ``j = 0`` here is the same cell under
a readable name, so fitted values compare one to one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from interleave.clicks._base import (
    ClickModel,
    _grade_table,
    check_iterations,
    check_n_ranks,
    em_estimate,
    key_sum,
    probability_array,
)
from interleave.errors import InvalidArgument

__all__ = ["UBM"]


def previous_click_index(clicks: np.ndarray) -> np.ndarray:
    """``j[:, r]``: 0 without a click above rank r, else 1 + the 0-based rank of the last one."""
    n, k = clicks.shape
    marks = np.where(clicks, np.arange(1, k + 1), 0)
    running = np.maximum.accumulate(marks, axis=1)
    out = np.zeros((n, k), dtype=np.int64)
    out[:, 1:] = running[:, :-1]
    return out


class UBM(ClickModel):
    """User browsing model: examination by (rank, previous click), attractiveness per result.

    Parameters
    ----------
    by
        ``"document"`` (query, item) pairs or ``"relevance"`` grades key the attractiveness.
    n_iterations
        EM iterations of :meth:`fit` (PyClick's default is 50).

    Attributes
    ----------
    examination
        Shape (k, k): ``examination[r, j]`` with ``j = 0`` for no click above rank r and
        ``j = 1 + p`` for a last click at rank p above r (0-based); cells with ``j > r`` are NaN.

    Notes
    -----
    EM as PyClick's ``UBM`` (the PBM updates with examination indexed by ``(r, j)``). As for
    PBM, examination and attractiveness are identified only up to a common scale.

    Examples
    --------
    >>> import numpy as np
    >>> exam = [[1.0, np.nan], [0.5, 0.8]]
    >>> model = UBM.from_grades(examination=exam, attractiveness=[0.0, 0.5])
    >>> model.click_probabilities(np.array([[1, 1]]))
    array([[0.5  , 0.325]])
    """

    def __init__(self, *, by: str = "document", n_iterations: int = 50) -> None:
        super().__init__(by=by)
        self._n_iterations = check_iterations(n_iterations)

    @classmethod
    def from_grades(cls, examination: Any, attractiveness: Any) -> UBM:
        """A UBM driven by relevance grades.

        Parameters
        ----------
        examination
            Shape (k, k), ``examination[r, j]`` as in the class docstring; entries with ``j > r``
            are ignored (NaN allowed there).
        attractiveness
            ``P(click | examined, grade)`` for grades 0, 1, ...
        """
        exam = probability_array("examination", examination, ndim=2, allow_nan=True)
        k = exam.shape[0]
        if exam.shape != (k, k):
            msg = f"`examination` must be square, shape (k, k), got {exam.shape}"
            raise InvalidArgument(msg)
        used = np.tril(np.ones((k, k), dtype=bool))
        if np.isnan(exam[used]).any():
            r, j = np.argwhere(np.isnan(exam) & used)[0]
            msg = (
                f"`examination`[{r}, {j}] is NaN but the cell is used (j <= r); "
                "give it a probability"
            )
            raise InvalidArgument(msg)
        exam = np.where(used, exam, np.nan)
        attr = probability_array("attractiveness", attractiveness, ndim=1)
        return cls(by="relevance")._with(
            {"examination": exam}, _grade_table({"attractiveness": attr}), None
        )

    @property
    def examination(self) -> np.ndarray:
        """``examination[r, j]``, shape (k, k); see the class docstring."""
        self._require()
        return self._ranks["examination"]

    def _config(self) -> str:
        return f"{super()._config()}, n_iterations={self._n_iterations}"

    def _check_ranks(self, k: int) -> None:
        check_n_ranks(self, "examination", self._ranks["examination"].shape[0], k)

    def _probabilities(self, v, shape):
        # Distribution of the previous-click state j, propagated rank by rank.
        a = v["attractiveness"]
        n, k = shape
        exam = self._ranks["examination"]
        state = np.zeros((n, k + 1))
        state[:, 0] = 1.0
        out = np.empty((n, k))
        for r in range(k):
            click_given_state = exam[r, : r + 1][None, :] * a[:, r : r + 1]  # (n, r+1)
            joint = state[:, : r + 1] * click_given_state
            out[:, r] = joint.sum(axis=1)
            state[:, : r + 1] -= joint
            state[:, r + 1] = out[:, r]
        return out

    def _conditional(self, v, clicks):
        k = clicks.shape[1]
        j = previous_click_index(clicks)
        p = self._ranks["examination"][np.arange(k), j] * v["attractiveness"]
        return np.where(clicks, p, 1.0 - p)

    def _simulate(self, v, shape, rng):
        a = v["attractiveness"]
        n, k = shape
        exam = self._ranks["examination"]
        u = rng.random(shape)
        clicks = np.empty(shape, dtype=bool)
        j = np.zeros(n, dtype=np.int64)
        for r in range(k):
            clicks[:, r] = u[:, r] < exam[r, j] * a[:, r]
            j = np.where(clicks[:, r], r + 1, j)
        return clicks

    def _estimate(self, index, clicks, weights, n_keys):
        n, k = index.shape
        w = weights[:, None]
        shown = key_sum(index, np.broadcast_to(w, (n, k)), n_keys)
        cell = np.arange(k)[None, :] * k + previous_click_index(clicks)  # flat (r, j) cell
        cell_count = key_sum(cell, np.broadcast_to(w, (n, k)), k * k)
        attr = np.full(n_keys, 0.5)
        exam = np.full(k * k, 0.5)
        for _ in range(self._n_iterations):
            a = attr[index]
            e = exam[cell]
            skip = 1.0 - e * a
            post_attr = np.where(clicks, 1.0, (1.0 - e) * a / skip)
            post_exam = np.where(clicks, 1.0, e * (1.0 - a) / skip)
            attr = em_estimate(key_sum(index, w * post_attr, n_keys), shown)
            exam = em_estimate(key_sum(cell, w * post_exam, k * k), cell_count)
        exam = np.where(np.tril(np.ones((k, k), dtype=bool)), exam.reshape(k, k), np.nan)
        return {"examination": exam}, {"attractiveness": attr}, "em", self._n_iterations
