"""The dependent click model (DCM; Guo, Liu & Wang, WSDM 2009).

A cascade in which the user may go on after a click: at an examined rank she clicks with the
result's attractiveness ``a``; after a click at rank r she goes on with the per-rank continuation
``lambda_r``; after a skip she always goes on.

Fitting:

- ``estimator="closed_form"`` (default): Guo et al.'s estimate (their equations 13-14, as in
  PyClick's ``DCM``): results up to the last click count as examined (all of them when nothing
  was clicked); ``a = (clicks + 1) / (examined + 2)``; ``lambda_r = (clicks at r that are not the
  last + 1) / (clicks at r + 2)``. It maximises a lower bound of the likelihood that assumes the
  user stopped at the last click. A user who goes on but clicks nothing further looks as if she
  stopped, so ``lambda`` comes out low, the more so near the bottom of the list where few
  results are left to click (``lambda = 0.6`` comes back as ~0.6 at rank 1 and ~0.3 at rank 9
  in ``tests/interleave/clicks/test_recovery.py``).
- ``estimator="em"``: maximum likelihood of the same model by EM over the exact posterior
  (:mod:`interleave.clicks._chain`). ``lambda`` of the last rank is never observed and stays at
  its prior 1/2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from interleave.clicks import _chain
from interleave.clicks._base import (
    ClickModel,
    _grade_table,
    check_iterations,
    check_n_ranks,
    choice,
    em_estimate,
    key_sum,
    last_click,
    mle,
    probability_array,
)

__all__ = ["DCM"]


class DCM(ClickModel):
    """Dependent click model: per-result attractiveness, per-rank continuation after a click.

    Parameters
    ----------
    by
        ``"document"`` (query, item) pairs or ``"relevance"`` grades key the attractiveness.
    estimator
        ``"closed_form"`` (default, as PyClick) or ``"em"`` (maximum likelihood).
    n_iterations
        EM iterations when ``estimator="em"``.

    Attributes
    ----------
    continuation
        ``lambda_r``: P(go on | clicked at rank r), shape (k,).

    Examples
    --------
    >>> import numpy as np
    >>> model = DCM.from_grades(attractiveness=[0.1, 0.7], continuation=[0.6, 0.5, 0.4])
    >>> model.click_probabilities(np.array([[1, 1, 0]])).round(4)
    array([[0.7   , 0.504 , 0.0468]])
    """

    def __init__(
        self, *, by: str = "document", estimator: str = "closed_form", n_iterations: int = 50
    ) -> None:
        super().__init__(by=by)
        self._estimator = choice("estimator", estimator, ("closed_form", "em"))
        self._n_iterations = check_iterations(n_iterations)

    @classmethod
    def from_grades(cls, attractiveness: Any, continuation: Any) -> DCM:
        """A DCM driven by relevance grades: per-grade ``a``, per-rank ``lambda`` (length k)."""
        attr = probability_array("attractiveness", attractiveness, ndim=1)
        lam = probability_array("continuation", continuation, ndim=1)
        return cls(by="relevance")._with(
            {"continuation": lam}, _grade_table({"attractiveness": attr}), None
        )

    @property
    def continuation(self) -> np.ndarray:
        """``lambda_r``: P(go on | clicked at rank r), shape (k,)."""
        self._require()
        return self._ranks["continuation"]

    def _config(self) -> str:
        its = f", n_iterations={self._n_iterations}" if self._estimator == "em" else ""
        return f"by={self._by!r}, estimator={self._estimator!r}{its}"

    def _check_ranks(self, k: int) -> None:
        check_n_ranks(self, "continuation", len(self._ranks["continuation"]), k)

    def _chain_args(self, v: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, float]:
        return v["attractiveness"], self._ranks["continuation"][None, :], 1.0

    def _probabilities(self, v, shape):
        return _chain.probabilities(*self._chain_args(v))

    def _conditional(self, v, clicks):
        return _chain.conditional(*self._chain_args(v), clicks)

    def _simulate(self, v, shape, rng):
        return _chain.simulate(*self._chain_args(v), rng)

    def _estimate(self, index, clicks, weights, n_keys):
        n, k = index.shape
        w = weights[:, None]
        last = last_click(clicks)
        if self._estimator == "closed_form":
            cutoff = np.where(last >= 0, last, k)  # PyClick: no click -> every result examined
            examined = np.arange(k)[None, :] <= cutoff[:, None]
            not_last = clicks & (np.arange(k)[None, :] != last[:, None])
            attr = mle(
                key_sum(index, w * (clicks & examined), n_keys),
                key_sum(index, w * examined, n_keys),
            )
            lam = mle(weights @ not_last, weights @ clicks)
            return {"continuation": lam}, {"attractiveness": attr}, "closed_form", 0
        shown = key_sum(index, np.broadcast_to(w, (n, k)), n_keys)
        clicks_at = weights @ clicks[:, : k - 1]
        attr = np.full(n_keys, 0.5)
        lam = np.full(k, 0.5)
        for _ in range(self._n_iterations):
            a = attr[index]
            post = _chain.posterior(a, lam[None, :], 1.0, clicks)
            attracted = np.where(clicks, 1.0, (1.0 - post.exam) * a)
            went_on = weights @ (clicks[:, : k - 1] * post.exam[:, 1:])
            attr = em_estimate(key_sum(index, w * attracted, n_keys), shown)
            lam = np.append(em_estimate(went_on, clicks_at), 0.5)
        return {"continuation": lam}, {"attractiveness": attr}, "em", self._n_iterations
