"""The position-based click model (PBM): click = examined(rank) and attracted(result).

The two are independent.

``P(C_r = 1) = examination[r] * attractiveness(result at r)`` (Richardson et al. WWW 2007; Craswell
et al. WSDM 2008). Fitted from logs by EM as in PyClick's ``PBM``; or built from grades, e.g. the
variant of Oosterhuis & de Rijke ICTIR 2020 with examination ``1/rank`` and attractiveness
``0.225 y + 0.1`` for grade y in 0..4 (:meth:`PBM.inverse_rank`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from interleave._checks import check_int
from interleave.clicks import limits
from interleave.clicks._base import (
    ClickModel,
    _grade_table,
    check_iterations,
    check_n_ranks,
    em_estimate,
    key_sum,
    probability_array,
)

__all__ = ["PBM"]


class PBM(ClickModel):
    """Position-based model: per-rank examination times per-result attractiveness.

    Parameters
    ----------
    by
        What attractiveness is keyed by when fitting: ``"document"`` (query, item) pairs, or
        ``"relevance"`` grades (the log then needs a ``relevance`` column).
    n_iterations
        EM iterations of :meth:`fit` (PyClick's default is 50).

    Attributes
    ----------
    examination
        ``P(examine rank r)``, shape (k,).

    Notes
    -----
    EM (as PyClick): with ``e`` the examination of the rank and ``a`` the attractiveness of the
    result, a click sets both posteriors to 1; a skip gives ``P(A=1 | skip) = (1-e) a / (1 - e a)``
    and ``P(E=1 | skip) = e (1-a) / (1 - e a)``. Each iteration updates every parameter from the
    previous iteration's values. Only the products ``examination * attractiveness`` are
    identified: ``(c e, a / c)`` fits equally well, and EM started at 1/2 returns one member of
    that family. Compare fitted parameters after fixing one of them (e.g. ``examination[0]``).

    Examples
    --------
    >>> import numpy as np
    >>> model = PBM.from_grades(examination=[1.0, 0.5, 0.25], attractiveness=[0.1, 0.9])
    >>> model.click_probabilities(np.array([1, 0, 1]), n_impressions=1)
    array([[0.9  , 0.05 , 0.225]])
    """

    def __init__(self, *, by: str = "document", n_iterations: int = 50) -> None:
        super().__init__(by=by)
        self._n_iterations = check_iterations(n_iterations)

    @classmethod
    def from_grades(cls, examination: Any, attractiveness: Any) -> PBM:
        """A PBM driven by relevance grades.

        Parameters
        ----------
        examination
            ``P(examine rank r)`` for r = 1..k.
        attractiveness
            ``P(click | examined, grade)`` for grades 0, 1, ...
        """
        exam = probability_array("examination", examination, ndim=1)
        attr = probability_array("attractiveness", attractiveness, ndim=1)
        model = cls(by="relevance")
        return model._with({"examination": exam}, _grade_table({"attractiveness": attr}), None)

    @classmethod
    def inverse_rank(cls, n_ranks: int = 10) -> PBM:
        """Oosterhuis & de Rijke (ICTIR 2020): examination ``1/r``, attractiveness ``0.225y + 0.1``.

        Five grades, y = 0..4.

        Examples
        --------
        >>> PBM.inverse_rank(3).grades["attractiveness"].to_list()
        [0.1, 0.325, 0.55, 0.775, 1.0]
        """
        n_ranks = check_int("n_ranks", n_ranks, minimum=1, maximum=limits.MAX_CELLS)
        grades = np.arange(5)
        return cls.from_grades(1.0 / np.arange(1, n_ranks + 1), np.round(0.225 * grades + 0.1, 12))

    @property
    def examination(self) -> np.ndarray:
        """``P(examine rank r)``, shape (k,)."""
        self._require()
        return self._ranks["examination"]

    def _config(self) -> str:
        return f"{super()._config()}, n_iterations={self._n_iterations}"

    def _check_ranks(self, k: int) -> None:
        check_n_ranks(self, "examination", len(self._ranks["examination"]), k)

    def _probabilities(self, v, shape):
        return self._ranks["examination"] * v["attractiveness"]

    def _conditional(self, v, clicks):
        p = self._probabilities(v, clicks.shape)
        return np.where(clicks, p, 1.0 - p)

    def _simulate(self, v, shape, rng):
        return rng.random(shape) < self._probabilities(v, shape)

    def _estimate(self, index, clicks, weights, n_keys):
        n, k = index.shape
        w = weights[:, None]
        shown = key_sum(index, np.broadcast_to(w, (n, k)), n_keys)
        attr = np.full(n_keys, 0.5)
        exam = np.full(k, 0.5)
        total = weights.sum()
        for _ in range(self._n_iterations):
            a = attr[index]
            e = exam[None, :]
            skip = 1.0 - e * a
            post_attr = np.where(clicks, 1.0, (1.0 - e) * a / skip)
            post_exam = np.where(clicks, 1.0, e * (1.0 - a) / skip)
            attr = em_estimate(key_sum(index, w * post_attr, n_keys), shown)
            exam = em_estimate(weights @ post_exam, total)
        return {"examination": exam}, {"attractiveness": attr}, "em", self._n_iterations
