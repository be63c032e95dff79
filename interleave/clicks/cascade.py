"""The cascade click model: the simulated user of the interleaving literature, with its presets.

Per-grade click and stop probabilities.

The user reads the list top down. At each examined rank she clicks with ``p_click[grade]``.
Two stop rules exist in the literature and both are supported:

- ``stop="after_click"`` (the default): only after a click does she stop, with
  ``p_stop[grade]``; a result she skips never ends the session. This is the rule of the standard
  tables (Lerot; Schuth et al. CIKM 2014; Hofmann et al. WSDM 2013).
- ``stop="every_rank"``: after examining any rank she stops with ``p_stop[grade]``, whether or
  not she clicked (mpkato/interleaving's and Oosterhuis' simulators).

The two agree when every ``p_stop`` is 0 (the ``perfect`` and ``random`` presets).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from interleave._checks import check_int, check_one_of
from interleave.clicks import _chain
from interleave.clicks._base import (
    ClickModel,
    _grade_table,
    check_iterations,
    choice,
    em_estimate,
    key_sum,
    probability_array,
)
from interleave.errors import InvalidArgument

__all__ = ["PRESETS", "CascadeModel"]

STOP_RULES = ("after_click", "every_rank")

# REFERENCES.md §2: Schuth et al. CIKM 2014 Table 1; Hofmann et al. WSDM 2013; Oosterhuis & de
# Rijke CIKM 2017 Table 2. name -> number of grades -> (P(click | grade), P(stop | grade)).
PRESETS: dict[str, dict[int, tuple[tuple[float, ...], tuple[float, ...]]]] = {
    "perfect": {
        2: ((0.0, 1.0), (0.0, 0.0)),
        3: ((0.0, 0.5, 1.0), (0.0, 0.0, 0.0)),
        5: ((0.0, 0.2, 0.4, 0.8, 1.0), (0.0, 0.0, 0.0, 0.0, 0.0)),
    },
    "navigational": {
        2: ((0.05, 0.95), (0.2, 0.9)),
        3: ((0.05, 0.5, 0.95), (0.2, 0.5, 0.9)),
        5: ((0.05, 0.3, 0.5, 0.7, 0.95), (0.2, 0.3, 0.5, 0.7, 0.9)),
    },
    "informational": {
        2: ((0.4, 0.9), (0.1, 0.5)),
        3: ((0.4, 0.7, 0.9), (0.1, 0.3, 0.5)),
        5: ((0.4, 0.6, 0.7, 0.8, 0.9), (0.1, 0.2, 0.3, 0.4, 0.5)),
    },
    "almost_random": {
        2: ((0.4, 0.6), (0.5, 0.5)),
        3: ((0.4, 0.5, 0.6), (0.5, 0.5, 0.5)),
        5: ((0.4, 0.45, 0.5, 0.55, 0.6), (0.5, 0.5, 0.5, 0.5, 0.5)),
    },
    "random": {
        2: ((0.5, 0.5), (0.0, 0.0)),
        3: ((0.5, 0.5, 0.5), (0.0, 0.0, 0.0)),
        5: ((0.5, 0.5, 0.5, 0.5, 0.5), (0.0, 0.0, 0.0, 0.0, 0.0)),
    },
}


class CascadeModel(ClickModel):
    """Cascade click model driven by relevance grades, with two stop rules.

    Parameters
    ----------
    p_click
        ``P(click | examined, grade)`` for grades 0, 1, ...; None for a model to be fitted.
    p_stop
        ``P(stop | grade)``, same length as ``p_click``; when it applies depends on ``stop``.
    stop
        ``"after_click"`` (default): the user may stop only right after a click.
        ``"every_rank"``: after examining rank r she stops with ``p_stop[grade_r]`` whether or not
        she clicked.
    n_iterations
        EM iterations used by :meth:`fit` (from logs with a ``relevance`` column).

    Notes
    -----
    With ``stop="after_click"``, ``P(examine r+1) = P(examine r) (1 - p_click p_stop)``; with
    ``stop="every_rank"``, ``P(examine r+1) = P(examine r) (1 - p_stop)``; in both,
    ``P(C_r = 1) = P(examine r) p_click``. :meth:`simulate` draws one uniform per result and
    never loops over impressions.

    Examples
    --------
    >>> import numpy as np
    >>> model = CascadeModel.preset("navigational", grades=3)
    >>> relevance = np.array([[2, 0, 1], [0, 0, 2]])
    >>> model.click_probabilities(relevance).round(4)
    array([[0.95  , 0.0073, 0.0718],
           [0.05  , 0.0495, 0.9311]])
    >>> model.simulate(relevance, rng=7).shape
    (2, 3)
    """

    _SCALED: ClassVar[str] = "p_click"

    def __init__(
        self,
        p_click: Any = None,
        p_stop: Any = None,
        *,
        stop: str = "after_click",
        n_iterations: int = 50,
    ) -> None:
        super().__init__(by="relevance")
        self._stop = choice("stop", stop, STOP_RULES)
        self._n_iterations = check_iterations(n_iterations)
        if (p_click is None) != (p_stop is None):
            msg = (
                "pass both `p_click` and `p_stop` (one probability per grade each), "
                "or neither to fit from logs"
            )
            raise InvalidArgument(msg)
        if p_click is not None:
            click = probability_array("p_click", p_click, ndim=1)
            stop_p = probability_array("p_stop", p_stop, ndim=1)
            if click.shape != stop_p.shape:
                msg = (
                    f"`p_click` and `p_stop` need one entry per grade each, got {click.size} and "
                    f"{stop_p.size} entries"
                )
                raise InvalidArgument(msg)
            self._table = _grade_table({"p_click": click, "p_stop": stop_p})
            self._precompute()

    @classmethod
    def preset(cls, name: str, *, grades: int = 2, stop: str = "after_click") -> CascadeModel:
        """A standard user of REFERENCES §2 (Schuth et al. CIKM 2014 Table 1 and its sources).

        Parameters
        ----------
        name
            One of ``"perfect"``, ``"navigational"``, ``"informational"``, ``"almost_random"``,
            ``"random"``.
        grades
            Number of relevance grades: 2 (binary), 3 or 5.
        stop
            The stop rule (see the class docstring); the tables were published with
            ``"after_click"``.

        Examples
        --------
        >>> CascadeModel.preset("informational", grades=3).p_stop.tolist()
        [0.1, 0.3, 0.5]
        """
        choice("name", name, tuple(PRESETS))
        grades = check_one_of("grades", check_int("grades", grades), (2, 3, 5))
        p_click, p_stop = PRESETS[name][grades]
        return cls(p_click, p_stop, stop=stop)

    @property
    def stop(self) -> str:
        """The stop rule, ``"after_click"`` or ``"every_rank"``."""
        return self._stop

    @property
    def p_click(self) -> np.ndarray:
        """``P(click | examined, grade)`` per grade (read-only)."""
        return self._require().values["p_click"]

    @property
    def p_stop(self) -> np.ndarray:
        """``P(stop | grade)`` per grade (read-only)."""
        return self._require().values["p_stop"]

    def _config(self) -> str:
        return f"stop={self._stop!r}"

    def _with(self, ranks, table, fit_result):
        new = super()._with(ranks, table, fit_result)
        new._precompute()
        return new

    def _precompute(self) -> None:
        # Per-grade thresholds for the single-uniform sampler: the hot path gathers three small
        # tables instead of computing continuation probabilities per cell.
        if self._table is None:
            return
        a = self._table.values["p_click"]
        cont_click, cont_skip = self._continuations(self._table.values["p_stop"])
        self._thresholds = (a, a * cont_click, 1.0 - (1.0 - a) * (1.0 - cont_skip))

    def _continuations(self, p_stop: np.ndarray) -> tuple[np.ndarray, np.ndarray | float]:
        if self._stop == "after_click":
            return 1.0 - p_stop, 1.0
        return 1.0 - p_stop, 1.0 - p_stop

    # -- hooks -------------------------------------------------------------------------------

    def _sample(self, index, shape, propensity, rng):
        t_click, t_go_click, t_go_skip = self._thresholds
        p_click = self._table.values["p_click"]
        cont_click, cont_skip = self._continuations(self._table.values["p_stop"])

        def thresholds(rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            grades = index[rows]
            if propensity is None:
                return t_click[grades], t_go_click[grades], t_go_skip[grades]
            a = np.clip(p_click[grades] * propensity[rows, None], 0.0, 1.0)
            skip = cont_skip if np.isscalar(cont_skip) else cont_skip[grades]
            return a, a * cont_click[grades], 1.0 - (1.0 - a) * (1.0 - skip)

        return _chain.sample(thresholds, shape, rng)

    def _chain_args(
        self, v: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | float]:
        cont_click, cont_skip = self._continuations(v["p_stop"])
        return v["p_click"], cont_click, cont_skip

    def _probabilities(self, v, shape):
        return _chain.probabilities(*self._chain_args(v))

    def _conditional(self, v, clicks):
        return _chain.conditional(*self._chain_args(v), clicks)

    def _simulate(self, v, shape, rng):
        return _chain.simulate(*self._chain_args(v), rng)

    def _estimate(self, index, clicks, weights, n_keys):
        # EM over the exact chain posterior (see _chain.posterior), PyClick's start and smoothing.
        n, k = index.shape
        w = weights[:, None]
        p_click = np.full(n_keys, 0.5)
        p_stop = np.full(n_keys, 0.5)
        shown = key_sum(index, np.broadcast_to(w, (n, k)), n_keys)
        inner = index[:, : k - 1]  # transitions out of the last rank are never observed
        clicked_inner = clicks[:, : k - 1]
        clicks_inner = key_sum(inner, w * clicked_inner, n_keys)
        for _ in range(self._n_iterations):
            a = p_click[index]
            cont_click, cont_skip = self._continuations(p_stop[index])
            post = _chain.posterior(a, cont_click, cont_skip, clicks)
            attracted = np.where(clicks, 1.0, (1.0 - post.exam) * a)
            new_click = em_estimate(key_sum(index, w * attracted, n_keys), shown)
            if self._stop == "after_click":
                stopped = clicked_inner * (1.0 - post.exam[:, 1:])
                new_stop = em_estimate(key_sum(inner, w * stopped, n_keys), clicks_inner)
            else:
                stopped = post.exam[:, :-1] - post.exam[:, 1:]
                new_stop = em_estimate(
                    key_sum(inner, w * stopped, n_keys),
                    key_sum(inner, w * post.exam[:, :-1], n_keys),
                )
            p_click, p_stop = new_click, new_stop
        return {}, {"p_click": p_click, "p_stop": p_stop}, "em", self._n_iterations
