"""The dynamic Bayesian network model (DBN) and its simplified form SDBN.

Chapelle & Zhang, WWW 2009.

The user examines results top down. An examined result is clicked with its attractiveness
``a``; after a click she is satisfied with its satisfaction ``s`` and stops; if not satisfied (or
after a skip) she goes on with the continuation (perseverance) ``gamma``. SDBN fixes
``gamma = 1``.

Fitting:

- :class:`DBN` by EM with the exact posterior of the hidden examination and satisfaction (a
  forward-backward pass per session, see :mod:`interleave.clicks._chain`), started at 1/2 with
  PyClick's smoothing.
- :class:`SDBN` by default in closed form, Chapelle & Zhang's Algorithm 1 as PyClick computes it:
  results up to the last click count as examined (all results when nothing was clicked),
  ``a = (clicks + 1) / (examined + 2)``, ``s = (last clicks + 1) / (clicks + 2)``. That estimator
  treats the last click as satisfying, which the model does not assume, so it is biased (``s``
  up, ``a`` up for lower ranks) when users go on after their last click; ``estimator="em"`` gives
  the maximum-likelihood fit of the same model.

PyClick's DBN EM uses other update rules: a session without clicks counts every result as
examined and unattractive and is never allowed to stop (its ``get_last_click_rank()`` is k),
which drives ``gamma`` to ~1. On the Yandex WSCD sample (10 iterations) PyClick reports test
log-likelihood -0.3581 and perplexity 1.4397; the exact EM here gives -0.3316 and 1.4402 with
``gamma`` 0.82 (``python -m benchmarks clicks_speed``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from interleave._checks import check_probability
from interleave.clicks import _chain
from interleave.clicks._base import (
    ClickModel,
    _grade_table,
    check_iterations,
    choice,
    em_estimate,
    key_sum,
    last_click,
    mle,
    probability_array,
)
from interleave.errors import InvalidArgument

__all__ = ["DBN", "SDBN"]


def _em(
    index: np.ndarray,
    clicks: np.ndarray,
    weights: np.ndarray,
    n_keys: int,
    n_iterations: int,
    *,
    fit_continuation: bool,
) -> tuple[np.ndarray, np.ndarray, float]:
    n, k = index.shape
    w = weights[:, None]
    shown = key_sum(index, np.broadcast_to(w, (n, k)), n_keys)
    rows = np.arange(n)
    last = last_click(clicks)
    # Satisfaction is observable only after a click above the last rank: a click at the bottom
    # tells nothing about whether the user would have gone on.
    informative = clicks[:, : k - 1]
    inner = index[:, : k - 1]
    n_informative = key_sum(inner, w * informative, n_keys)
    attr = np.full(n_keys, 0.5)
    sat = np.full(n_keys, 0.5)
    gamma = 1.0 if not fit_continuation else 0.5
    for _ in range(n_iterations):
        a, s = attr[index], sat[index]
        cont_click = gamma * (1.0 - s)
        post = _chain.posterior(a, cont_click, gamma, clicks)
        attracted = np.where(clicks, 1.0, (1.0 - post.exam) * a)
        # P(S = 1 | C) is 0 at a click the user went on from, and at the last click
        # s / (s + (1 - s)((1 - gamma) + gamma tail[last + 1])).
        at_last = (last >= 0) & (last < k - 1)
        satisfied = np.zeros((n, k - 1))
        lr = last[at_last]
        s_last = s[rows[at_last], lr]
        den = s_last + (1.0 - s_last) * ((1.0 - gamma) + gamma * post.tail[rows[at_last], lr + 1])
        satisfied[rows[at_last], lr] = s_last / den
        new_attr = em_estimate(key_sum(index, w * attracted, n_keys), shown)
        new_sat = em_estimate(key_sum(inner, w * satisfied, n_keys), n_informative)
        if fit_continuation:
            # E_{r+1} = 1 implies E_r = 1 and S_r = 0: numerator P(E_{r+1} | C), denominator
            # P(E_r = 1, S_r = 0 | C) = P(E_r | C) - P(S_r = 1 | C), over ranks with a successor.
            went_on = float(np.sum(w * post.exam[:, 1:]))
            could = float(np.sum(w * (post.exam[:, :-1] - satisfied)))
            gamma = float(em_estimate(went_on, could))
        attr, sat = new_attr, new_sat
    return attr, sat, gamma


def _closed_form(
    index: np.ndarray, clicks: np.ndarray, weights: np.ndarray, n_keys: int
) -> tuple[np.ndarray, np.ndarray]:
    k = index.shape[1]
    w = weights[:, None]
    last = last_click(clicks)
    # PyClick's get_last_click_rank returns k when nothing was clicked: every result counts.
    cutoff = np.where(last >= 0, last, k)
    examined = np.arange(k)[None, :] <= cutoff[:, None]
    is_last = np.arange(k)[None, :] == last[:, None]
    attr = mle(
        key_sum(index, w * (clicks & examined), n_keys), key_sum(index, w * examined, n_keys)
    )
    sat = mle(key_sum(index, w * (clicks & is_last), n_keys), key_sum(index, w * clicks, n_keys))
    return attr, sat


class DBN(ClickModel):
    """Dynamic Bayesian network model: attractiveness, satisfaction, one continuation ``gamma``.

    Parameters
    ----------
    by
        ``"document"`` (query, item) pairs or ``"relevance"`` grades key the result parameters.
    n_iterations
        EM iterations of :meth:`fit`.

    Attributes
    ----------
    continuation
        ``gamma``, the probability of going on after a skip or an unsatisfying click.

    Examples
    --------
    >>> import numpy as np
    >>> model = DBN.from_grades([0.2, 0.8], [0.1, 0.6], continuation=0.9)
    >>> model.click_probabilities(np.array([[1, 0, 1]])).round(4)
    array([[0.8   , 0.0936, 0.3302]])
    """

    def __init__(self, *, by: str = "document", n_iterations: int = 50) -> None:
        super().__init__(by=by)
        self._n_iterations = check_iterations(n_iterations)

    @classmethod
    def from_grades(cls, attractiveness: Any, satisfaction: Any, continuation: float) -> DBN:
        """A DBN driven by relevance grades (per-grade ``a`` and ``s``, one ``gamma``)."""
        attr = probability_array("attractiveness", attractiveness, ndim=1)
        sat = probability_array("satisfaction", satisfaction, ndim=1)
        gamma = check_probability("continuation", continuation)
        table = _grade_table({"attractiveness": attr, "satisfaction": sat})
        return cls(by="relevance")._with({"continuation": np.float64(gamma)}, table, None)

    @property
    def continuation(self) -> float:
        """``gamma``: P(go on | examined, not satisfied)."""
        self._require()
        return float(self._ranks["continuation"])

    def _config(self) -> str:
        return f"{super()._config()}, n_iterations={self._n_iterations}"

    def _gamma(self) -> float:
        return float(self._ranks["continuation"])

    def _chain_args(self, v: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, float]:
        gamma = self._gamma()
        return v["attractiveness"], gamma * (1.0 - v["satisfaction"]), gamma

    def _probabilities(self, v, shape):
        return _chain.probabilities(*self._chain_args(v))

    def _conditional(self, v, clicks):
        return _chain.conditional(*self._chain_args(v), clicks)

    def _simulate(self, v, shape, rng):
        return _chain.simulate(*self._chain_args(v), rng)

    def _estimate(self, index, clicks, weights, n_keys):
        attr, sat, gamma = _em(
            index, clicks, weights, n_keys, self._n_iterations, fit_continuation=True
        )
        return (
            {"continuation": np.float64(gamma)},
            {"attractiveness": attr, "satisfaction": sat},
            "em",
            self._n_iterations,
        )


class SDBN(DBN):
    """Simplified DBN: the DBN with continuation ``gamma = 1``.

    Parameters
    ----------
    by
        ``"document"`` (query, item) pairs or ``"relevance"`` grades key the result parameters.
    estimator
        ``"closed_form"`` (default): Chapelle & Zhang's counting estimate as in PyClick (see the
        module docstring for its bias); ``"em"``: maximum likelihood by EM.
    n_iterations
        EM iterations when ``estimator="em"``.

    Examples
    --------
    >>> import numpy as np
    >>> model = SDBN.from_grades(attractiveness=[0.2, 0.8], satisfaction=[0.1, 0.6])
    >>> model.click_probabilities(np.array([[1, 0, 1]])).round(4)
    array([[0.8   , 0.104 , 0.4077]])
    """

    def __init__(
        self, *, by: str = "document", estimator: str = "closed_form", n_iterations: int = 50
    ) -> None:
        super().__init__(by=by, n_iterations=n_iterations)
        self._estimator = choice("estimator", estimator, ("closed_form", "em"))

    @classmethod
    def from_grades(cls, attractiveness: Any, satisfaction: Any, continuation: float = 1.0) -> SDBN:
        """An SDBN driven by relevance grades (per-grade ``a`` and ``s``)."""
        if continuation != 1.0:
            msg = (
                f"SDBN fixes `continuation` at 1, got {continuation!r}; "
                "use DBN.from_grades for another value"
            )
            raise InvalidArgument(msg)
        attr = probability_array("attractiveness", attractiveness, ndim=1)
        sat = probability_array("satisfaction", satisfaction, ndim=1)
        table = _grade_table({"attractiveness": attr, "satisfaction": sat})
        return cls(by="relevance")._with({"continuation": np.float64(1.0)}, table, None)

    def _config(self) -> str:
        its = f", n_iterations={self._n_iterations}" if self._estimator == "em" else ""
        return f"by={self._by!r}, estimator={self._estimator!r}{its}"

    def _estimate(self, index, clicks, weights, n_keys):
        if self._estimator == "closed_form":
            attr, sat = _closed_form(index, clicks, weights, n_keys)
            iterations = 0
        else:
            attr, sat, _ = _em(
                index, clicks, weights, n_keys, self._n_iterations, fit_continuation=False
            )
            iterations = self._n_iterations
        params = {"attractiveness": attr, "satisfaction": sat}
        return {"continuation": np.float64(1.0)}, params, self._estimator, iterations
