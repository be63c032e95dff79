"""Production logs plus two rankers' outputs: predict the interleaving outcome before going online.

A production log (``production`` layout: ``query_id``, ``items``, ``clicks`` positions) shows what
one ranker served and what users clicked. :func:`predict` fits a position-based click model (PBM,
:class:`interleave.clicks.PBM`) on it, then, for the two rankers' lists of each query (``rankings``
layout: ``ranker``, ``query_id``, ``item_id``, ``score`` or ``rank``):

- simulates team-draft interleaving of the two lists with PBM clicks (queries weighted by how
  often the log shows them) and reports the expected credit of each ranker, the probabilities of
  a win, a loss and a tie, and the impressions an online test needs for 95% power (sign test);
- estimates each ranker's clicks per session two ways: by the model (``sum_r examination[r] *
  attractiveness(query, item at r)``; pairs the log never showed get PyClick's 1/2, counted), and
  by inverse propensity scoring of the logged clicks, which needs no attractiveness at all: a
  click on item ``d`` at logged rank ``r`` counts ``examination[r'] / examination[r]`` where
  ``r'`` is ``d``'s rank in the ranker's list (0 when it falls outside the top k). IPS is unbiased
  under the PBM for items the log showed, and blind to items it never showed (Joachims, Swaminathan
  & Schnabel, WSDM 2017).

:func:`to_sessions` is the click models' session frame as a view of the production layout.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from interleave._checks import check_int
from interleave.clicks import PBM
from interleave.errors import InvalidArgument
from interleave.keys import rng_for
from interleave.logs.schema import SUMMARY_SCHEMA, check_columns
from interleave.methods.team_draft import TeamDraft
from interleave.stats import sample_size_sign_test

__all__ = [
    "ProductionPrediction",
    "click_rates_by_rank",
    "predict",
    "ranked_lists",
    "to_sessions",
]


def to_sessions(log: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The click models' session frame (``query``, ``items``, ``clicks`` mask) of a production log.

    Click models need one list length ``k``: sessions of the most common length are kept.
    Returns the sessions and the number of sessions left out (other lengths, or clicks beyond
    the list).

    Examples
    --------
    >>> import polars as pl
    >>> log = pl.DataFrame({"query_id": ["q"], "items": [[4, 2, 9]], "clicks": [[1]]})
    >>> to_sessions(log)[0]["clicks"].to_list()
    [[False, True, False]]
    """
    check_columns(log.schema, "production", source="the production log")
    lengths = log["items"].fill_null([]).list.len()
    k = int(lengths.mode().sort()[-1]) if log.height else 0
    clicks = log["clicks"].fill_null([])
    beyond = clicks.list.eval((pl.element() < 0) | (pl.element() >= k)).list.any()
    keep = (lengths == k) & ~beyond.fill_null(False)
    kept = log.filter(keep)
    masks = [
        [p in clicked for p in range(k)]
        for clicked in map(set, kept["clicks"].fill_null([]).to_list())
    ]
    sessions = pl.DataFrame(
        {
            "query": kept["query_id"].cast(pl.String),
            "items": kept["items"],
            "clicks": pl.Series("clicks", masks, dtype=pl.List(pl.Boolean)),
        }
    )
    return sessions, log.height - kept.height


def ranked_lists(rankings: pl.DataFrame, depth: int) -> dict[Any, dict[Any, list]]:
    """``{ranker: {query: top-depth item ids}}`` from the ``rankings`` layout.

    Higher ``score`` first (or lower ``rank``), ties broken by item id.
    """
    check_columns(rankings.schema, "rankings", source="the rankings")
    order = (
        [pl.col("score"), pl.col("item_id")]
        if "score" in rankings.columns
        else [pl.col("rank"), pl.col("item_id")]
    )
    descending = [True, False] if "score" in rankings.columns else [False, False]
    top = (
        rankings.sort(order, descending=descending)
        .group_by("ranker", "query_id", maintain_order=True)
        .agg(pl.col("item_id").head(depth))
    )
    lists: dict[Any, dict[Any, list]] = {}
    for ranker, query, items in top.iter_rows():
        lists.setdefault(ranker, {})[str(query)] = items
    if len(lists) != 2:
        msg = f"`rankings` must hold exactly two rankers, found {sorted(map(str, lists))}"
        raise InvalidArgument(msg)
    return lists


@dataclasses.dataclass(frozen=True, eq=False)
class ProductionPrediction:
    """What the production log predicts for an online interleaving test of two rankers.

    Attributes
    ----------
    baseline, candidate
        The two rankers' names.
    model
        The fitted :class:`~interleave.clicks.PBM`.
    per_query
        One row per query both rankers rank: ``weight`` (share of log sessions), ``p_win``,
        ``p_loss``, ``p_tie`` (candidate against baseline, simulated), expected team-draft
        credit of each ranker, model clicks per session of each list, IPS clicks per session of
        each list, ``n_sessions`` and ``unseen_pairs`` (list items the log never showed).
    ips_values
        Per logged session (of the queries in ``per_query``), the IPS value of each ranker
        (columns ``baseline``, ``candidate``) and the logged clicks (``logged``).
    per_rank
        Per rank: the log's observed click rate and the fitted model's (how well it fits).
    n_sessions_left_out
        Log sessions of another list length (the click model needs one).
    n_simulated
        Simulated impressions per query.
    """

    baseline: str
    candidate: str
    model: Any
    per_query: pl.DataFrame
    ips_values: pl.DataFrame
    per_rank: pl.DataFrame
    n_sessions_left_out: int
    n_simulated: int
    alpha: float = 0.05

    def _weighted(self, column: str) -> float:
        return float((self.per_query[column] * self.per_query["weight"]).sum())

    @property
    def p_win(self) -> float:
        """Probability that an impression prefers the candidate."""
        return self._weighted("p_win")

    @property
    def p_loss(self) -> float:
        """Probability that an impression prefers the baseline."""
        return self._weighted("p_loss")

    @property
    def p_tie(self) -> float:
        """Probability of no preference (no click, or equal credit)."""
        return self._weighted("p_tie")

    def impressions_for_power(self, power: float = 0.95) -> int | None:
        """Impressions an online sign test needs (ties included) to detect the predicted win rate.

        ``None`` when the prediction is no preference at all.
        """
        decisive = self.p_win + self.p_loss
        if decisive <= 0 or self.p_win == self.p_loss:
            return None
        plan = sample_size_sign_test(
            self.p_win / decisive, tie_rate=min(self.p_tie, 0.999), alpha=self.alpha, power=power
        )
        return int(plan.n_comparisons)

    @cached_property
    def ips(self) -> dict[str, tuple[float, float, float]]:
        """Per ranker (and ``logged``): IPS clicks per session with its normal interval."""
        z = 1.959963984540054 if self.alpha == 0.05 else _z(self.alpha)
        out = {}
        for column in ("baseline", "candidate", "logged"):
            values = self.ips_values[column].to_numpy()
            mean = float(values.mean())
            half = z * float(values.std(ddof=1)) / math.sqrt(values.size) if values.size > 1 else 0
            out[column] = (mean, mean - half, mean + half)
        return out

    @property
    def over_time(self) -> pl.DataFrame:
        """Per rank (no time axis here): observed and fitted click rates, the model check."""
        return self.per_rank

    def summary(self) -> pl.DataFrame:
        """One row per quantity, every number from this object."""
        rows = []

        def add(quantity: str, estimate: float, low: Any = None, high: Any = None, n: Any = None):
            rows.append(
                {
                    "quantity": quantity,
                    "estimate": float(estimate),
                    "low": low,
                    "high": high,
                    "pvalue": None,
                    "n": n,
                }
            )

        n_queries = self.per_query.height
        add(f"P(candidate {self.candidate} wins an impression)", self.p_win, n=n_queries)
        add(f"P(baseline {self.baseline} wins an impression)", self.p_loss, n=n_queries)
        add("P(tie)", self.p_tie, n=n_queries)
        add(f"expected credit of {self.candidate}", self._weighted("credit_candidate"))
        add(f"expected credit of {self.baseline}", self._weighted("credit_baseline"))
        needed = self.impressions_for_power()
        if needed is not None:
            add("impressions for 95% power (sign test)", float(needed))
        n_logged = self.ips_values.height
        for name, label in (
            ("baseline", self.baseline),
            ("candidate", self.candidate),
            ("logged", "the logged lists"),
        ):
            mean, low, high = self.ips[name]
            add(f"clicks/session of {label} (PBM IPS)", mean, low, high, n_logged)
        add(f"clicks/session of {self.baseline} (PBM model)", self._weighted("model_baseline"))
        add(f"clicks/session of {self.candidate} (PBM model)", self._weighted("model_candidate"))
        return pl.DataFrame(
            rows,
            schema=SUMMARY_SCHEMA,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of what the command prints."""
        return {
            "kind": "production",
            "baseline": self.baseline,
            "candidate": self.candidate,
            "alpha": self.alpha,
            "examination": self.model.examination.tolist(),
            "n_sessions_left_out": self.n_sessions_left_out,
            "n_simulated_per_query": self.n_simulated,
            "impressions_for_95_power": self.impressions_for_power(),
            "summary": self.summary().to_dicts(),
            "per_query": self.per_query.to_dicts(),
        }


def _z(alpha: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(1 - alpha / 2))


def predict(
    log: pl.DataFrame,
    rankings: pl.DataFrame,
    *,
    baseline: Any = None,
    candidate: Any = None,
    n_simulated: int = 2_000,
    seed: int = 0,
    alpha: float = 0.05,
) -> ProductionPrediction:
    """Fit a PBM on ``log`` and predict an online team-draft test of the two rankers.

    Parameters
    ----------
    log
        Production log (``production`` layout).
    rankings
        The two rankers' outputs (``rankings`` layout).
    baseline, candidate
        Ranker names; default: sorted order.
    n_simulated
        Simulated interleaved impressions per query.
    seed
        Seed of the simulation (``interleave.keys.rng_for(seed, query)`` per query).
    """
    n_simulated = check_int("n_simulated", n_simulated, minimum=1, maximum=10**6)
    sessions, left_out = to_sessions(log)
    if sessions.height == 0:
        msg = "the production log holds no session to fit a click model on"
        raise InvalidArgument(msg)
    k = len(sessions["items"][0])
    model = PBM().fit(sessions)
    examination = model.examination
    lists = ranked_lists(rankings, k)
    names = sorted(lists, key=str)
    baseline = names[0] if baseline is None else baseline
    candidate = names[1] if candidate is None else candidate
    for label, value in (("baseline", baseline), ("candidate", candidate)):
        if value not in lists:
            msg = f"`{label}` must be one of the rankers {names}, got {value!r}"
            raise InvalidArgument(msg)
    counts = sessions.group_by("query").len()
    total = sessions.height
    method = TeamDraft(length=k)
    rows = []
    ips_rows = []
    for query, n_q in counts.sort("query").iter_rows():
        a, b = lists[baseline].get(query), lists[candidate].get(query)
        if a is None or b is None or len(a) < k or len(b) < k:
            continue
        batch = method.interleave_batch([a, b], n_simulated, rng=rng_for(seed, "interleave", query))
        ids = np.asarray(batch.item_ids)
        shown = ids[batch.items]
        clicks = model.simulate(query=query, items=shown, rng=rng_for(seed, "clicks", query))
        credit = method.credit_batch(batch, clicks)
        outcome = credit.preferences[:, 1, 0]
        model_clicks = [
            float(
                model.click_probabilities(query=query, items=np.asarray(lst), n_impressions=1).sum()
            )
            for lst in (a, b)
        ]
        seen = set(sessions.filter(pl.col("query") == query)["items"].explode().unique().to_list())
        rows.append(
            {
                "query_id": query,
                "weight": n_q / total,
                "n_sessions": n_q,
                "p_win": float(np.mean(outcome > 0)),
                "p_loss": float(np.mean(outcome < 0)),
                "p_tie": float(np.mean(outcome == 0)),
                "credit_baseline": float(credit.scores[:, 0].mean()),
                "credit_candidate": float(credit.scores[:, 1].mean()),
                "model_baseline": model_clicks[0],
                "model_candidate": model_clicks[1],
                "unseen_pairs": sum(item not in seen for item in set(a) | set(b)),
            }
        )
        ips_rows.append(_ips(sessions.filter(pl.col("query") == query), a, b, examination))
    if not rows:
        msg = (
            f"no query of the log is ranked to depth {k} by both rankers {baseline!r} and "
            f"{candidate!r}; check the rankings' query_id values"
        )
        raise InvalidArgument(msg)
    per_query = pl.DataFrame(rows).with_columns(pl.col("weight") / pl.col("weight").sum())
    return ProductionPrediction(
        str(baseline),
        str(candidate),
        model,
        per_query,
        pl.concat(ips_rows),
        click_rates_by_rank(model, sessions),
        left_out,
        n_simulated,
        alpha,
    )


def click_rates_by_rank(model: Any, sessions: pl.DataFrame) -> pl.DataFrame:
    """Per rank: observed click rate of ``sessions`` and the one ``model`` predicts for them.

    Evaluated on held-out sessions, this is the validation of a fitted model.
    """
    items = np.asarray(sessions["items"].to_list())
    observed = np.asarray(sessions["clicks"].to_list(), dtype=float).mean(axis=0)
    predicted = model.click_probabilities(query=sessions["query"].to_numpy(), items=items).mean(
        axis=0
    )
    return pl.DataFrame(
        {"rank": np.arange(1, observed.size + 1), "observed": observed, "predicted": predicted}
    )


def _ips(sessions: pl.DataFrame, a: list, b: list, examination: np.ndarray) -> pl.DataFrame:
    """Per session: sum over clicks of examination[new rank] / examination[logged rank]."""
    items = np.asarray(sessions["items"].to_list())
    clicks = np.asarray(sessions["clicks"].to_list(), dtype=bool)
    k = examination.shape[0]
    out = {"logged": clicks.sum(axis=1).astype(float)}
    for name, ranking in (("baseline", a), ("candidate", b)):
        position = {item: r for r, item in enumerate(ranking[:k])}
        new_rank = np.array([[position.get(x, -1) for x in row] for row in items.tolist()])
        ratio = np.where(new_rank >= 0, examination[np.maximum(new_rank, 0)], 0.0) / examination
        out[name] = (ratio * clicks).sum(axis=1)
    return pl.DataFrame(out)
