"""What every click model shares: the interface, parameter tables, fitting plumbing and evaluation.

A click model has two kinds of parameters:

- *rank parameters* (examination per rank, continuation, ...), numpy arrays;
- *result parameters* (attractiveness, satisfaction, ...), one value per key, where the key of a
  shown result is either its relevance grade (``by="relevance"``: the model simulates from an
  int array ``relevance``) or its (query, item) pair (``by="document"``: the model is fitted from
  logs and simulates from ``query`` and ``items``).

Log-likelihood and perplexity follow PyClick (Markov; ``pyclick/click_models/Evaluation.py``) so
that numbers compare with its published ones:

- log-likelihood: for each session the mean over ranks of ``log P(C_r = c_r | C_<r)`` (natural
  log), then the mean over sessions;
- perplexity at rank r: ``2 ** (-(1/N) sum_sessions log2 P(C_r = c_r))`` with the unconditional
  click probability; the reported perplexity is the mean over ranks (Dupret & Piwowarski 2008).

Estimates follow PyClick's smoothing: every parameter starts at 1/2; counting (MLE) estimates are
``(clicks + 1) / (n + 2)``; EM estimates are ``(1 + sum of posteriors) / (2 + n)`` capped at
``1 - 1e-6``; a (query, item) pair never seen in training gets 1/2 for every result parameter.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl

from interleave._checks import check_int, check_one_of
from interleave.clicks import limits
from interleave.clicks import sessions as _sessions
from interleave.errors import InterleaveError, InvalidArgument
from interleave.keys import as_generator

__all__ = ["ClickModel", "Evaluation", "FitResult", "NotFittedError"]

PRIOR = 0.5  # PyClick's starting value and the value of an unseen (query, item) pair
EM_CAP = 1.0 - 1e-6  # PyClick's ParamEM.PROB_MIN guard against log(0)
SIMULATION_CHUNK = 1 << 15  # impressions simulated per block


class NotFittedError(InterleaveError, ValueError):
    """The click model has no parameters yet: fit it or build it from parameters."""


@dataclass(frozen=True)
class Evaluation:
    """How well a click model predicts a set of sessions (PyClick's definitions).

    Attributes
    ----------
    log_likelihood
        Mean over sessions of the mean over ranks of ``log P(C_r = c_r | C_<r)``.
    perplexity
        Mean over ranks of :attr:`perplexity_by_rank`; 1 is perfect, 2 is a coin flip.
    perplexity_by_rank
        ``2 ** (-(1/N) sum log2 P(C_r = c_r))`` with unconditional click probabilities.
    n_sessions
        Number of sessions evaluated.
    """

    log_likelihood: float
    perplexity: float
    perplexity_by_rank: tuple[float, ...]
    n_sessions: int

    def __str__(self) -> str:
        return (
            f"log-likelihood {self.log_likelihood:.4f}, perplexity {self.perplexity:.4f} "
            f"over {self.n_sessions} sessions"
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (``perplexity_by_rank`` as a list)."""
        out = asdict(self)
        out["perplexity_by_rank"] = list(self.perplexity_by_rank)
        return out


@dataclass(frozen=True)
class FitResult:
    """How a click model was fitted, and its fit to the training sessions.

    Attributes
    ----------
    model
        Class name of the fitted model.
    estimator
        ``"closed_form"`` (counting MLE) or ``"em"``.
    n_sessions
        Number of training sessions.
    n_iterations
        EM iterations run (0 for closed-form estimates).
    train
        The :class:`Evaluation` on the training sessions.
    """

    model: str
    estimator: str
    n_sessions: int
    n_iterations: int
    train: Evaluation

    def __str__(self) -> str:
        its = f", {self.n_iterations} iterations" if self.estimator == "em" else ""
        fitted = f"{self.model} fitted by {self.estimator}{its}"
        return f"{fitted} on {self.n_sessions} sessions: {self.train}"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a flat dict (training figures prefixed with ``train_``)."""
        out = {k: v for k, v in asdict(self).items() if k != "train"}
        out.update({f"train_{k}": v for k, v in self.train.to_dict().items()})
        return out


# ------------------------------------------------------------------------------------------
# Argument helpers


def choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    """``value`` must be one of the string ``options`` (an array or list is refused by type)."""
    if not isinstance(value, str):
        shown = "{" + ", ".join(repr(o) for o in options) + "}"
        msg = f"`{name}` must be one of {shown}, got {value!r:.80} of type {type(value).__name__}"
        raise InvalidArgument(msg)
    return check_one_of(name, value, options)


def check_iterations(value: Any) -> int:
    """An EM iteration count in ``1 .. limits.MAX_ITERATIONS``."""
    return check_int("n_iterations", value, minimum=1, maximum=limits.MAX_ITERATIONS)


def as_array(name: str, value: Any, what: str) -> np.ndarray:
    """``np.asarray(value)``, or raise naming ``name`` when it is ragged or not array-like."""
    try:
        return np.asarray(value)
    except (TypeError, ValueError, OverflowError) as error:
        msg = f"`{name}` must be {what}, got {value!r:.80} ({error})"
        raise InvalidArgument(msg) from None


def probability_array(
    name: str, value: Any, *, ndim: int | None = None, allow_nan: bool = False
) -> np.ndarray:
    """``value`` as a read-only float array of probabilities in [0, 1], or raise naming ``name``."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        msg = f"`{name}` must be an array of probabilities in [0, 1], got {value!r}"
        raise InvalidArgument(msg) from None
    if ndim is not None and arr.ndim != ndim:
        msg = f"`{name}` must be {ndim}-dimensional, got shape {arr.shape} from {value!r}"
        raise InvalidArgument(msg)
    if arr.size == 0:
        msg = f"`{name}` must not be empty, got {value!r}"
        raise InvalidArgument(msg)
    checked = arr[~np.isnan(arr)] if allow_nan else arr
    bad = ~((checked >= 0.0) & (checked <= 1.0))
    if bad.any():
        msg = (
            f"`{name}` must hold probabilities in [0, 1], got {float(checked[bad][0])!r} "
            f"in {value!r}; clip or rescale it"
        )
        raise InvalidArgument(msg)
    arr.flags.writeable = False
    return arr


def check_n_ranks(model: object, what: str, n_ranks: int, k: int) -> None:
    """Raise if a model with ``what`` for ``n_ranks`` ranks is given lists of ``k`` results."""
    if k != n_ranks:
        msg = (
            f"this {type(model).__name__} has {what} for {n_ranks} ranks but the lists show {k} "
            f"results; pass lists of {n_ranks}"
        )
        raise InvalidArgument(msg)


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    arr.flags.writeable = False
    return arr


def mle(numerator: np.ndarray | float, denominator: np.ndarray | float) -> np.ndarray:
    """PyClick's counting estimate ``(numerator + 1) / (denominator + 2)``."""
    return (np.asarray(numerator, dtype=np.float64) + 1.0) / (
        np.asarray(denominator, dtype=np.float64) + 2.0
    )


def em_estimate(numerator: np.ndarray | float, denominator: np.ndarray | float) -> np.ndarray:
    """PyClick's EM estimate: ``(1 + sum posteriors) / (2 + n)`` capped at ``1 - 1e-6``."""
    return np.minimum(mle(numerator, denominator), EM_CAP)


def key_sum(index: np.ndarray, values: np.ndarray, n_keys: int) -> np.ndarray:
    """Sum of ``values`` (n, k) per key in ``index`` (n, k): a length-``n_keys`` vector."""
    return np.bincount(index.ravel(), weights=np.ravel(values), minlength=n_keys)


def last_click(clicks: np.ndarray) -> np.ndarray:
    """0-based rank of the last click of each session, -1 for sessions without a click."""
    k = clicks.shape[1]
    return np.where(clicks.any(axis=1), k - 1 - np.argmax(clicks[:, ::-1], axis=1), -1)


# ------------------------------------------------------------------------------------------
# Parameter tables


@dataclass(frozen=True, eq=False)
class _Table:
    """Result parameters per key. By document, row ``n_keys`` of each array is the unseen prior."""

    by: str
    values: dict[str, np.ndarray]
    keys: pl.DataFrame | None  # by document: (query, item) of each key
    n_shown: np.ndarray | None  # by document: training impressions of each key

    @property
    def n_keys(self) -> int:
        return len(self.keys) if self.keys is not None else len(next(iter(self.values.values())))


def _grade_table(values: dict[str, np.ndarray]) -> _Table:
    lengths = {name: len(v) for name, v in values.items()}
    if len(set(lengths.values())) != 1:
        msg = (
            f"the per-grade parameters must have one entry per grade each, got lengths {lengths!r}"
        )
        raise InvalidArgument(msg)
    return _Table("relevance", {k: _readonly(v) for k, v in values.items()}, None, None)


# ------------------------------------------------------------------------------------------
# The base class


class ClickModel:
    """Base class of every click model: a simulated user and a model fitted from logs.

    Subclasses implement the model-specific hooks (``_probabilities``, ``_conditional``,
    ``_simulate``, ``_estimate``); this class does the rest: input validation, parameter
    lookup, fitting plumbing and evaluation. Fitted and constructed models never change:
    :meth:`fit` returns a new model.
    """

    _SCALED: ClassVar[str] = "attractiveness"  # the P(click | examined) that `propensity` scales
    _KEYLESS: ClassVar[bool] = False  # True for models without result parameters

    def __init__(self, *, by: str = "document") -> None:
        options = ("document", "relevance")
        self._by = None if self._KEYLESS else choice("by", by, options)
        self._table: _Table | None = None
        self._ranks: dict[str, np.ndarray] = {}
        self._fit_result: FitResult | None = None

    # -- state -------------------------------------------------------------------------------

    @property
    def by(self) -> str | None:
        """What result parameters are keyed by: ``"relevance"``, ``"document"`` or None."""
        return self._by

    @property
    def is_fitted(self) -> bool:
        """Whether the model has parameters (from :meth:`fit` or a constructor)."""
        return bool(self._ranks) or self._table is not None

    @property
    def fit_result(self) -> FitResult | None:
        """How the model was fitted (None for a model built from parameters)."""
        return self._fit_result

    @property
    def documents(self) -> pl.DataFrame:
        """Result parameters per (query, item).

        Columns ``query``, ``item``, one per parameter, and ``n_shown`` (training impressions).
        """
        table = self._require()
        if table is None or table.by != "document":
            msg = (
                f"this {type(self).__name__} is keyed by {self._by!r}, not by document; "
                "see `.grades`"
            )
            raise InvalidArgument(msg)
        n = table.n_keys
        columns = {name: values[:n] for name, values in table.values.items()}
        return table.keys.with_columns(
            *(pl.Series(name, col) for name, col in columns.items()),
            pl.Series("n_shown", table.n_shown),
        )

    @property
    def grades(self) -> pl.DataFrame:
        """Result parameters per relevance grade: columns ``grade`` and one per parameter."""
        table = self._require()
        if table is None or table.by != "relevance":
            msg = (
                f"this {type(self).__name__} is keyed by {self._by!r}, not by relevance; "
                "see `.documents`"
            )
            raise InvalidArgument(msg)
        return pl.DataFrame({"grade": np.arange(table.n_keys), **table.values})

    def _require(self) -> _Table | None:
        if not self.is_fitted:
            msg = (
                f"this {type(self).__name__} has no parameters yet; call `.fit(sessions)` (which "
                "returns the fitted model) or build one from parameters (e.g. `.from_grades(...)`)"
            )
            raise NotFittedError(msg)
        return self._table

    def _with(
        self, ranks: dict[str, np.ndarray], table: _Table | None, fit_result: FitResult | None
    ) -> Self:
        new = copy.copy(self)
        new._ranks = {name: _readonly(np.asarray(v, dtype=np.float64)) for name, v in ranks.items()}
        new._table = table
        new._fit_result = fit_result
        return new

    def _config(self) -> str:
        return "" if self._KEYLESS else f"by={self._by!r}"

    def __repr__(self) -> str:
        state = "unfitted"
        if self._fit_result is not None:
            state = f"fitted on {self._fit_result.n_sessions} sessions"
        elif self.is_fitted:
            state = "from parameters"
        config = self._config()
        return f"{type(self).__name__}({config}{'; ' if config else ''}{state})"

    # -- hooks -------------------------------------------------------------------------------

    def _check_ranks(self, k: int) -> None:
        """Raise if the rank parameters do not fit lists of ``k`` results."""

    def _probabilities(self, v: dict[str, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
        raise NotImplementedError

    def _conditional(self, v: dict[str, np.ndarray], clicks: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _simulate(
        self, v: dict[str, np.ndarray], shape: tuple[int, int], rng: np.random.Generator
    ) -> np.ndarray:
        raise NotImplementedError

    def _estimate(
        self, index: np.ndarray, clicks: np.ndarray, weights: np.ndarray, n_keys: int
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], str, int]:
        """Return (rank parameters, result parameters per key, estimator, iterations)."""
        raise NotImplementedError

    def _keyless_values(self, shape: tuple[int, int]) -> dict[str, np.ndarray]:
        return {}

    # -- inputs ------------------------------------------------------------------------------

    def _index(
        self, relevance: Any, query: Any, items: Any, n_impressions: int | None
    ) -> tuple[np.ndarray | None, tuple[int, int]]:
        table = self._require()
        if self._KEYLESS:
            source = relevance if relevance is not None else items
            if source is None:
                name = type(self).__name__
                msg = f"{name} needs the shape of the lists: pass `relevance` or `items`"
                raise InvalidArgument(msg)
            name = "relevance" if relevance is not None else "items"
            arr = as_array(name, source, "an array of shape (n_impressions, k) or (k,)")
            shape = _shape(name, arr, n_impressions)
            self._check_ranks(shape[1])
            return None, shape
        if table.by == "relevance":
            if relevance is None or query is not None or items is not None:
                msg = (
                    f"this {type(self).__name__} is keyed by relevance grade: pass `relevance` "
                    "(an int array, shape (n_impressions, k) or (k,) with `n_impressions`), not "
                    "`query`/`items`"
                )
                raise InvalidArgument(msg)
            index = _relevance_index(relevance, n_impressions, table.n_keys)
            self._check_ranks(index.shape[1])
            return index, index.shape
        if relevance is not None or query is None or items is None:
            msg = (
                f"this {type(self).__name__} is keyed by (query, item): pass `query` (a str or an "
                "array of n_impressions str) and `items` (shape (n_impressions, k) or (k,) with "
                "`n_impressions`), not `relevance`"
            )
            raise InvalidArgument(msg)
        index = _document_index(table, query, items, n_impressions)
        self._check_ranks(index.shape[1])
        return index, index.shape

    def _gather(
        self, index: np.ndarray | None, shape: tuple[int, int], propensity: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        if index is None:
            v = self._keyless_values(shape)
        else:
            v = {name: values[index] for name, values in self._table.values.items()}
        if propensity is not None:
            v[self._SCALED] = np.clip(v[self._SCALED] * propensity[:, None], 0.0, 1.0)
        return v

    # -- public interface --------------------------------------------------------------------

    def click_probabilities(
        self,
        relevance: Any = None,
        *,
        query: Any = None,
        items: Any = None,
        n_impressions: int | None = None,
        propensity: Any = None,
    ) -> np.ndarray:
        """Unconditional click probability of each shown result, ``P(C_r = 1)``.

        Parameters
        ----------
        relevance
            For models keyed by relevance: int grades, shape (n_impressions, k), or (k,) with
            ``n_impressions``.
        query, items
            For models keyed by document: the query of each impression (a str, or an array of
            n_impressions str) and the items shown, shape (n_impressions, k) or (k,) with
            ``n_impressions``. Pairs not seen in training get 1/2 (PyClick's rule).
        n_impressions
            Number of impressions when ``relevance``/``items`` is a single list.
        propensity
            Optional per-impression multipliers of the click probability given examination
            (clipped to [0, 1]), shape (n_impressions,): a user's click propensity.

        Returns
        -------
        numpy.ndarray
            Float array, shape (n_impressions, k).
        """
        index, shape = self._index(relevance, query, items, n_impressions)
        scale = _propensity(propensity, shape[0])
        return self._probabilities(self._gather(index, shape, scale), shape)

    def simulate(
        self,
        relevance: Any = None,
        *,
        query: Any = None,
        items: Any = None,
        n_impressions: int | None = None,
        propensity: Any = None,
        rng: Any = None,
    ) -> np.ndarray:
        """Draw clicks: a bool array (n_impressions, k), True where the user clicked.

        Takes the same inputs as :meth:`click_probabilities`, plus ``rng`` (None for fresh
        entropy, an int seed, a ``SeedSequence`` or a ``Generator``). Vectorised over
        impressions: the cost is a few numpy passes over the (n_impressions, k) array.
        """
        index, shape = self._index(relevance, query, items, n_impressions)
        generator = as_generator(rng)
        scale = _propensity(propensity, shape[0])
        return self._sample(index, shape, scale, generator)

    def _sample(
        self,
        index: np.ndarray | None,
        shape: tuple[int, int],
        propensity: np.ndarray | None,
        rng: np.random.Generator,
    ) -> np.ndarray:
        # Row chunks keep the per-cell parameter arrays small: peak memory stays flat however
        # many impressions are simulated.
        n, k = shape
        out = np.empty(shape, dtype=bool)
        for start in range(0, n, SIMULATION_CHUNK):
            rows = slice(start, min(n, start + SIMULATION_CHUNK))
            part = (rows.stop - rows.start, k)
            sub_index = None if index is None else index[rows]
            sub_propensity = None if propensity is None else propensity[rows]
            out[rows] = self._simulate(self._gather(sub_index, part, sub_propensity), part, rng)
        return out

    def fit(self, sessions: pl.DataFrame) -> Self:
        """Estimate the parameters from a session log; return a new fitted model.

        The model ``fit`` is called on only carries the configuration and is left unchanged.

        Parameters
        ----------
        sessions
            A session log (see :mod:`interleave.clicks.sessions`): columns ``query``, ``items``,
            ``clicks`` (and ``relevance`` for models keyed by relevance).

        Returns
        -------
        ClickModel
            A new model of the same class and configuration, with parameters and
            :attr:`fit_result`.
        """
        encoded = _sessions.encode_sessions(sessions, by=self._by)
        index, clicks, weights = _deduplicate(encoded.index, encoded.clicks)
        ranks, values, estimator, iterations = self._estimate(
            index, clicks, weights, encoded.n_keys
        )
        if self._KEYLESS:
            table = None
        elif self._by == "document":
            n_shown = np.bincount(
                index.ravel(), weights=np.repeat(weights, index.shape[1]), minlength=encoded.n_keys
            )
            values = {name: _readonly(np.append(v, PRIOR)) for name, v in values.items()}
            table = _Table("document", values, encoded.keys, _readonly(n_shown.astype(np.int64)))
        else:
            table = _grade_table(values)
        fitted = self._with(ranks, table, None)
        train = fitted._evaluate(None if self._KEYLESS else index, clicks, weights)
        result = FitResult(type(self).__name__, estimator, sessions.height, iterations, train)
        fitted._fit_result = result
        return fitted

    def evaluate(self, sessions: pl.DataFrame) -> Evaluation:
        """Log-likelihood and perplexity of ``sessions`` under the model (PyClick's definitions).

        Returns
        -------
        Evaluation
            ``log_likelihood``, ``perplexity``, ``perplexity_by_rank``, ``n_sessions``.
        """
        table = self._require()
        require = (
            ()
            if self._KEYLESS
            else ("relevance",)
            if table.by == "relevance"
            else ("query", "items")
        )
        k = _sessions.validate_sessions(sessions, require=require)
        if self._KEYLESS:
            index, shape = None, (sessions.height, k)
        elif table.by == "relevance":
            rel = sessions["relevance"].explode().to_numpy().reshape(sessions.height, k)
            index = _relevance_index(rel, None, table.n_keys, name="sessions['relevance']")
            shape = index.shape
        else:
            index = _sessions.lookup_documents(
                table.keys, sessions["query"], sessions["items"].explode(), k
            )
            shape = index.shape
        self._check_ranks(k)
        clicks = sessions["clicks"].explode().to_numpy().reshape(sessions.height, k).astype(bool)
        return self._evaluate(index, clicks, None, shape)

    def log_likelihood(self, sessions: pl.DataFrame) -> float:
        """Mean over sessions of the mean over ranks of ``log P(C_r | C_<r)``; see ``evaluate``."""
        return self.evaluate(sessions).log_likelihood

    def perplexity(self, sessions: pl.DataFrame) -> float:
        """Mean over ranks of the per-rank click perplexity; see :meth:`evaluate`."""
        return self.evaluate(sessions).perplexity

    def _evaluate(
        self,
        index: np.ndarray | None,
        clicks: np.ndarray,
        weights: np.ndarray | None,
        shape: tuple[int, int] | None = None,
    ) -> Evaluation:
        shape = clicks.shape if shape is None else shape
        v = self._gather(index, shape)
        conditional = self._conditional(v, clicks)
        probabilities = self._probabilities(v, shape)
        observed = np.where(clicks, probabilities, 1.0 - probabilities)
        # A model that gives an observed event probability 0 (e.g. the `perfect` preset) has
        # log-likelihood -inf and perplexity inf: reported, not hidden.
        with np.errstate(divide="ignore"):
            log_conditional = np.log(conditional)
            log2_observed = np.log2(observed)
        per_session = log_conditional.mean(axis=1)
        if weights is None:
            log_likelihood = float(per_session.mean())
            by_rank = 2.0 ** (-log2_observed.mean(axis=0))
            n_sessions = clicks.shape[0]
        else:
            total = weights.sum()
            log_likelihood = float(per_session @ weights / total)
            by_rank = 2.0 ** (-(weights @ log2_observed) / total)
            n_sessions = round(total)
        return Evaluation(
            log_likelihood, float(by_rank.mean()), tuple(float(x) for x in by_rank), n_sessions
        )


# ------------------------------------------------------------------------------------------
# Input conversion


def _shape(name: str, arr: np.ndarray, n_impressions: int | None) -> tuple[int, int]:
    if arr.ndim == 1:
        if n_impressions is None:
            msg = (
                f"`{name}` is a single list of shape {arr.shape}; pass `n_impressions` too, "
                "or a 2-D array"
            )
            raise InvalidArgument(msg)
        n = check_int("n_impressions", n_impressions, minimum=0)
        shape = (n, arr.shape[0])
        if n * shape[1] > limits.MAX_CELLS:
            msg = (
                f"`n_impressions` = {n} with {shape[1]} results each makes {n * shape[1]} result "
                f"cells, above the bound of {limits.MAX_CELLS} per call "
                "(interleave.clicks.limits.MAX_CELLS); simulate in batches"
            )
            raise InvalidArgument(msg)
    elif arr.ndim == 2:
        if (
            n_impressions is not None
            and check_int("n_impressions", n_impressions, minimum=0) != arr.shape[0]
        ):
            msg = (
                f"`n_impressions`={n_impressions!r} disagrees with `{name}` of shape "
                f"{arr.shape}; drop `n_impressions`"
            )
            raise InvalidArgument(msg)
        shape = (arr.shape[0], arr.shape[1])
    else:
        msg = f"`{name}` must have shape (n_impressions, k) or (k,), got shape {arr.shape}"
        raise InvalidArgument(msg)
    if shape[1] == 0:
        msg = f"`{name}` must show at least one result per impression, got shape {arr.shape}"
        raise InvalidArgument(msg)
    return shape


def _relevance_index(
    relevance: Any, n_impressions: int | None, n_grades: int, *, name: str = "relevance"
) -> np.ndarray:
    arr = as_array(name, relevance, "an integer array of relevance grades")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        msg = (
            f"`{name}` must be an integer array of relevance grades, got dtype {arr.dtype} "
            f"({relevance!r:.60})"
        )
        raise InvalidArgument(msg)
    shape = _shape(name, arr, n_impressions)
    if arr.size:
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= n_grades:
            bad = low if low < 0 else high
            msg = (
                f"`{name}` has grade {bad!r}, outside this model's table of {n_grades} grades "
                f"(0..{n_grades - 1}); map grades into that range or build a model with more grades"
            )
            raise InvalidArgument(msg)
    if arr.ndim == 1:
        arr = np.broadcast_to(arr, shape)
    return arr


def _document_index(table: _Table, query: Any, items: Any, n_impressions: int | None) -> np.ndarray:
    if isinstance(items, pl.Series) and isinstance(items.dtype, pl.List):
        lengths = items.list.len().unique()
        if len(lengths) != 1:
            shown = sorted(lengths.to_list())
            msg = f"`items` lists must all have the same length, got lengths {shown!r}"
            raise InvalidArgument(msg)
        k = int(lengths[0])
        flat = items.explode()
        shape = _shape("items", np.empty((len(items), k)), n_impressions)
    else:
        arr = as_array("items", items, "an array of int or str ids, shape (n_impressions, k)")
        if arr.dtype.kind == "f" and not isinstance(items, np.ndarray):
            arr = _exact_uint64(items, arr)
        if arr.dtype == object:
            # Python ints beyond 64 bits, mixed ints and str, None: no id type fits them all.
            msg = (
                f"`items` must hold ids of one type, int (within 64 bits) or str, got {items!r:.80}"
            )
            raise InvalidArgument(msg)
        shape = _shape("items", arr, n_impressions)
        if arr.ndim == 1:
            arr = np.broadcast_to(arr, shape)
        flat = pl.Series("item", np.ascontiguousarray(arr).ravel())
    n, k = shape
    queries = _queries(query, n)
    if n == 0:
        return np.zeros((0, k), dtype=np.int64)
    return _sessions.lookup_documents(table.keys, queries, flat, k)


def _exact_uint64(items: Any, arr: np.ndarray) -> np.ndarray:
    """Keep Python int ids beyond int64 exact (numpy would read them as float64, losing digits).

    uint64 when every id is an int that fits; else an object array, which the caller refuses.
    """
    flat = np.asarray(items, dtype=object).ravel()
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in flat):
        return arr  # genuine floats: refused later as Float64 ids
    try:
        return np.asarray(items, dtype=np.uint64)
    except (OverflowError, ValueError):
        return np.asarray(items, dtype=object)


def _queries(query: Any, n: int) -> pl.Series:
    """The query of each of ``n`` impressions as a String series (a str is shown to all)."""
    expected = f"a str or an array of {n} str (one per impression)"
    if isinstance(query, str):
        return pl.repeat(query, n, dtype=pl.String, eager=True).rename("query")
    if isinstance(query, pl.Series):
        categorical = query.dtype == pl.Categorical or isinstance(query.dtype, pl.Enum)
        series = query.cast(pl.String) if categorical else query
    elif isinstance(query, list | tuple) and not all(isinstance(q, str) for q in query):
        # numpy would turn ["a", 5] into ["a", "5"]: a number is not a query id.
        msg = f"`query` must be {expected}, got {query!r:.80}"
        raise InvalidArgument(msg)
    else:
        arr = as_array("query", query, expected)
        if arr.ndim != 1 or arr.dtype.kind not in "UO":
            msg = f"`query` must be {expected}, got dtype {arr.dtype} and shape {arr.shape}"
            raise InvalidArgument(msg)
        try:
            series = pl.Series("query", arr, dtype=pl.String, strict=True)
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            msg = f"`query` must be {expected}, got {query!r:.80}"
            raise InvalidArgument(msg) from None
    if series.dtype != pl.String or series.null_count():
        msg = f"`query` must be {expected}, got {series.dtype} with {series.null_count()} null(s)"
        raise InvalidArgument(msg)
    if len(series) != n:
        msg = f"`query` must be {expected}, got shape ({len(series)},)"
        raise InvalidArgument(msg)
    return series


def _propensity(propensity: Any, n: int) -> np.ndarray | None:
    if propensity is None:
        return None
    try:
        arr = np.asarray(propensity, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        msg = (
            f"`propensity` must be a real number or one real number per impression, shape "
            f"({n},), got {propensity!r:.80}"
        )
        raise InvalidArgument(msg) from None
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        msg = (
            f"`propensity` must have one multiplier per impression, shape ({n},), "
            f"got shape {arr.shape}"
        )
        raise InvalidArgument(msg)
    if not np.all(np.isfinite(arr) & (arr >= 0)):
        bad = float(arr[~(np.isfinite(arr) & (arr >= 0))][0])
        msg = f"`propensity` must be finite and >= 0, got {bad!r}"
        raise InvalidArgument(msg)
    return arr


def _deduplicate(
    index: np.ndarray, clicks: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Identical sessions (same keys, same clicks) collapse into one row with a weight.

    Real logs repeat the same result page and click pattern many times (the Yandex sample's
    35,064 training sessions have far fewer distinct rows), so EM iterations touch fewer rows.
    """
    k = index.shape[1]
    rows = np.concatenate([index, clicks.astype(np.int64)], axis=1)
    unique, counts = np.unique(rows, axis=0, return_counts=True)
    return (
        np.ascontiguousarray(unique[:, :k]),
        unique[:, k:].astype(bool),
        counts.astype(np.float64),
    )
