"""The simulated world: users, a catalogue with true relevance, two rankers, a click model.

A :class:`World` holds what does not change during an experiment: ``n_queries`` contexts, each
with ``n_items`` items of true relevance grade 0, 1 or 2; a production and a candidate ranker; a
:class:`~interleave.clicks.UserPopulation` (heavy-tailed activity, per-user click propensity); a
click model. :meth:`World.run` sends requests through a rollout strategy (any object following the
:mod:`strategies` protocol: passed in, never imported here) and returns every exposure and click,
and the strategy's running decision at every look.

The rankers score item ``j`` of query ``q`` as ``quality * grade / 2 + (1 - quality) * noise[q, j]``
with one noise table shared by both, so their difference is controlled by the two qualities alone:
equal qualities give identical rankings (an exact A/A test), and the seed document's score caps
(production up to 0.35, candidate up to 0.55) are the default qualities.

The loop, vectorised per look (``look_every`` requests)::

    arms = strategy.route(state, request_keys, users)        # pure function of (seed, key, user)
    shown = production / candidate / interleaved list by arm  # interleaved: the batch path
    clicks = population.simulate(click_model, users, grades)  # the shared simulated user
    state = strategy.update(state, look)                      # mergeable sufficient statistics

Exposure/click schema (:data:`EXPOSURE_SCHEMA`), one row per shown position. It is the ``ab``
layout of :mod:`interleave.logs.schema` (``policy``, ``click``, ``user_id``, ``timestamp``,
``item_id``, ``position``) with the impression, the context, the credited team and the true grade
added, so ``interleave.logs`` reads a simulated run as it reads a production log;
:meth:`SimulationResult.impressions` regroups it into that module's ``exposures`` layout (one row
per impression: ``items``, ``teams``, clicked positions).

============= ======= ================================================================
column        dtype   meaning
============= ======= ================================================================
impression_id Int64   request index in arrival order; its key is ``f"req_{impression_id}"``
timestamp     Float64 seconds since the start (Poisson arrivals, ``rate`` per second)
user_id       Int64   index of the user in the population
query_id      Int64   the context the request asked for
policy        String  what was shown: ``production``, ``candidate`` or ``interleaved``
position      Int16   0-based rank on the shown list
item_id       Int64   ``query_id * n_items + j``
team          Int8    ranker the position is credited to: 0 production, 1 candidate, -1 none
relevance     Int8    the item's true grade (simulation only)
click         Boolean whether the simulated user clicked it
============= ======= ================================================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import polars as pl

from interleave._checks import check_int, check_one_of, check_probability, check_real
from interleave.clicks import CascadeModel, ClickModel, UserPopulation
from interleave.clicks.cascade import PRESETS
from interleave.errors import InvalidArgument
from interleave.keys import rng_for

__all__ = [
    "ARM_CANDIDATE",
    "ARM_INTERLEAVED",
    "ARM_NAMES",
    "ARM_PRODUCTION",
    "ARM_SHADOW",
    "EXPOSURE_SCHEMA",
    "Look",
    "RequestKeys",
    "Requests",
    "SimulationResult",
    "World",
]

#: What a strategy routes a request to (int8 codes in arrays).
ARM_PRODUCTION = 0
ARM_CANDIDATE = 1
ARM_INTERLEAVED = 2
ARM_SHADOW = 3  # production shown, candidate computed beside it and never shown
ARM_NAMES = ("production", "candidate", "interleaved", "production")

EXPOSURE_SCHEMA = {
    "impression_id": pl.Int64,
    "timestamp": pl.Float64,
    "user_id": pl.Int64,
    "query_id": pl.Int64,
    "policy": pl.String,
    "position": pl.Int16,
    "item_id": pl.Int64,
    "team": pl.Int8,
    "relevance": pl.Int8,
    "click": pl.Boolean,
}

_MAX_GRADE = 2
_MAX_USERS = 10**7
_MAX_CATALOGUE = 10**7
_MAX_REQUESTS = 10**7  # a look holds (n, depth) arrays: bound memory before allocating
# P(grade) of a catalogue item: most items are irrelevant, a few are perfect (as in LETOR-style
# three-grade judgements, where about two-thirds of judged documents are non-relevant).
_GRADE_SHARES = (0.6, 0.3, 0.1)


class RequestKeys(Sequence):
    """``f"req_{id}"`` for each request id, formatted when read (most strategies never read them).

    Examples
    --------
    >>> keys = RequestKeys(np.arange(5))
    >>> len(keys), keys[3], list(keys[1:3])
    (5, 'req_3', ['req_1', 'req_2'])
    """

    def __init__(self, request_id: np.ndarray) -> None:
        self._ids = request_id

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return RequestKeys(self._ids[index])
        return f"req_{int(self._ids[index])}"

    def __iter__(self) -> Iterator[str]:
        return (f"req_{i}" for i in self._ids.tolist())


@dataclasses.dataclass(frozen=True, eq=False)
class Requests:
    """Requests in arrival order: who asked, for which context, when."""

    request_id: np.ndarray
    user: np.ndarray
    query: np.ndarray
    timestamp: np.ndarray

    def __len__(self) -> int:
        return self.request_id.shape[0]

    @property
    def keys(self) -> RequestKeys:
        """The request keys routing reads (``req_<id>``, the seed document's ids), made lazily."""
        return RequestKeys(self.request_id)

    def take(self, rows: slice) -> Requests:
        """The requests in ``rows``."""
        return Requests(
            self.request_id[rows], self.user[rows], self.query[rows], self.timestamp[rows]
        )


@dataclasses.dataclass(frozen=True, eq=False)
class Look:
    """What a strategy learns from one look: the requests since the last look and their outcome.

    Attributes
    ----------
    requests
        The requests of this look.
    arm
        int8 arm code per request (``ARM_*``).
    n_clicks
        Clicks per request on the shown list.
    error
        Whether the candidate failed on the request (its answer replaced by production's).
    preference
        Interleaved requests: the credit's preference for the candidate over production, in
        [-1, 1]; 0 elsewhere.
    first_team
        Interleaved requests: the ranker credited with position 1 (-1 none); -1 elsewhere.
    production_items, candidate_items
        Both rankers' lists for every request (what shadow compares), item ids (n, depth).
    counterfactual_clicks
        Shadow requests: the clicks the same user would have made on the candidate's list, drawn
        from the click model (nobody saw it; simulation only); 0 elsewhere.
    """

    requests: Requests
    arm: np.ndarray
    n_clicks: np.ndarray
    error: np.ndarray
    preference: np.ndarray
    first_team: np.ndarray
    production_items: np.ndarray
    candidate_items: np.ndarray
    counterfactual_clicks: np.ndarray

    def __len__(self) -> int:
        return len(self.requests)

    def take(self, rows: slice) -> Look:
        """The outcome of the requests in ``rows``."""
        return Look(
            self.requests.take(rows),
            *(getattr(self, f.name)[rows] for f in dataclasses.fields(self)[1:]),
        )


@dataclasses.dataclass(frozen=True, eq=False)
class SimulationResult:
    """One strategy run on one world.

    Attributes
    ----------
    strategy
        The strategy that ran (its configuration).
    state
        Its final state: the sufficient statistics every reported number comes from;
        ``strategy.verdict(state)`` recomputes :attr:`verdict`.
    verdict
        The strategy's verdict at the end.
    path
        One row per look: ``n_requests`` so far, ``decision``, ``pvalue``.
    exposures
        Every shown position and its click (:data:`EXPOSURE_SCHEMA`), or ``None`` when the run
        was asked not to keep them.
    """

    strategy: Any
    state: Any
    verdict: Any
    path: pl.DataFrame
    exposures: pl.DataFrame | None

    def impressions(self) -> pl.DataFrame:
        """The exposures regrouped one row per impression (``interleave.logs``' ``exposures``).

        Columns ``impression_id``, ``user_id``, ``query_id``, ``timestamp``, ``policy``,
        ``items`` and ``teams`` (lists, top first), ``clicks`` (clicked positions) and
        ``method`` (the interleaver's name; ``"none"`` for a strategy that does not interleave).
        """
        if self.exposures is None:
            msg = "this run did not keep its exposures; run it with keep_exposures=True"
            raise InvalidArgument(msg)
        method = getattr(getattr(self.strategy, "method", None), "name", None)
        return (
            self.exposures.sort("impression_id", "position")
            .group_by("impression_id", maintain_order=True)
            .agg(
                pl.col("user_id", "query_id", "timestamp", "policy").first(),
                pl.col("item_id").alias("items"),
                pl.col("team").cast(pl.Int64).alias("teams"),
                pl.col("position").filter(pl.col("click")).cast(pl.Int64).alias("clicks"),
            )
            .with_columns(method=pl.lit(method or "none", dtype=pl.String))
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: the verdict and the decision path (not the exposures)."""
        return {"verdict": self.verdict.to_dict(), "path": self.path.to_dict(as_series=False)}

    def __str__(self) -> str:
        return str(self.verdict)


@dataclasses.dataclass(frozen=True, eq=False)
class World:
    """A catalogue, two rankers, a user population and a click model; see the module docstring.

    Build it with :meth:`build`; every array is derived from ``seed`` only.

    Examples
    --------
    >>> world = World.build(n_users=40, seed=42)
    >>> world.production.shape, world.candidate.shape
    ((50, 10), (50, 10))
    >>> float(world.true_ctr("candidate")) > float(world.true_ctr("production"))
    True
    """

    grades: np.ndarray
    production: np.ndarray
    candidate: np.ndarray
    population: UserPopulation
    click_model: ClickModel
    production_quality: float
    candidate_quality: float
    candidate_error_rate: float
    rate: float
    seed: int

    @classmethod
    def build(
        cls,
        *,
        n_users: int = 40,
        n_queries: int = 50,
        n_items: int = 30,
        depth: int = 10,
        production_quality: float = 0.35,
        candidate_quality: float = 0.55,
        click_model: str | ClickModel = "navigational",
        activity_sigma: float = 1.5,
        propensity_sigma: float = 0.5,
        candidate_error_rate: float = 0.0,
        rate: float = 10.0,
        seed: int = 42,
    ) -> World:
        """Draw a world.

        Parameters
        ----------
        n_users
            Users in the population.
        n_queries, n_items
            Contexts, and candidate items per context.
        depth
            Items each ranker returns (and a shown list holds).
        production_quality, candidate_quality
            Weight of true relevance in each ranker's score, in [0, 1]; equal means identical
            rankers.
        click_model
            A cascade preset name (3 grades, the user may stop after any examined rank) or any
            click model keyed by relevance.
        activity_sigma, propensity_sigma
            Spread of user activity and click propensity (:class:`UserPopulation`).
        candidate_error_rate
            Chance the candidate fails on a request it serves (production's list is shown
            instead); canary and shadow guard against it.
        rate
            Requests per second (Poisson arrivals), for the timestamps.
        seed
            Everything in the world derives from it.
        """
        n_users = check_int("n_users", n_users, minimum=1, maximum=_MAX_USERS)
        n_queries = check_int("n_queries", n_queries, minimum=1, maximum=_MAX_CATALOGUE)
        depth = check_int("depth", depth, minimum=1, maximum=1000)
        n_items = check_int("n_items", n_items, minimum=depth, maximum=_MAX_CATALOGUE)
        if n_queries * n_items > _MAX_CATALOGUE:
            # Checked before the tables are drawn: their size is n_queries x n_items.
            msg = (
                f"the catalogue n_queries x n_items = {n_queries} x {n_items} exceeds "
                f"{_MAX_CATALOGUE:,} items; use fewer contexts or items per context"
            )
            raise InvalidArgument(msg)
        production_quality = check_probability("production_quality", production_quality)
        candidate_quality = check_probability("candidate_quality", candidate_quality)
        candidate_error_rate = check_probability("candidate_error_rate", candidate_error_rate)
        rate = check_real("rate", rate, low=0.0, low_open=True)
        seed = check_int("seed", seed, minimum=0)
        if isinstance(click_model, str):
            check_one_of("click_model", click_model, PRESETS)
            # Stopping after any examined rank (mpkato's and Oosterhuis' simulators) makes clicks
            # depend on the order, not only on which items reach the list.
            click_model = CascadeModel.preset(click_model, grades=_MAX_GRADE + 1, stop="every_rank")
        elif not isinstance(click_model, ClickModel):
            msg = (
                f"`click_model` must be a cascade preset name or a ClickModel, got {click_model!r}"
            )
            raise InvalidArgument(msg)
        catalogue = rng_for(seed, "catalogue")
        grades = catalogue.choice(_MAX_GRADE + 1, size=(n_queries, n_items), p=_GRADE_SHARES)
        noise = catalogue.random((n_queries, n_items))
        offsets = np.arange(n_queries, dtype=np.int64)[:, None] * n_items

        def ranking(quality: float) -> np.ndarray:
            score = quality * grades / _MAX_GRADE + (1.0 - quality) * noise
            # Stable descending order; ties (only with quality 0 or 1) broken by item index.
            return np.argsort(-score, axis=1, kind="stable")[:, :depth] + offsets

        population = UserPopulation.sample(
            n_users,
            activity_sigma=activity_sigma,
            propensity_sigma=propensity_sigma,
            rng=rng_for(seed, "population"),
        )
        grades = grades.astype(np.int8)
        grades.flags.writeable = False
        return cls(
            grades,
            ranking(production_quality),
            ranking(candidate_quality),
            population,
            click_model,
            production_quality,
            candidate_quality,
            candidate_error_rate,
            rate,
            seed,
        )

    @property
    def n_queries(self) -> int:
        """Contexts in the catalogue."""
        return self.grades.shape[0]

    @property
    def n_items(self) -> int:
        """Items per context."""
        return self.grades.shape[1]

    @property
    def depth(self) -> int:
        """Items on a shown list."""
        return self.production.shape[1]

    def grade_of(self, items: np.ndarray) -> np.ndarray:
        """True grades of global item ids (any shape)."""
        return self.grades.reshape(-1)[items]

    def true_ctr(self, ranker: str, *, n_requests: int = 100_000) -> float:
        """Share of requests with at least one click when ``ranker`` serves every request.

        The ground truth a test should find (the candidate is better when its value is higher),
        by Monte Carlo over ``n_requests`` requests of this world with their own seeded stream.
        """
        lists = {"production": self.production, "candidate": self.candidate}[ranker]
        requests = self.requests(n_requests)
        clicks = self.population.simulate(
            self.click_model,
            requests.user,
            self.grade_of(lists[requests.query]),
            rng=rng_for(self.seed, "truth"),  # common random numbers: equal lists, equal truth
        )
        return float(clicks.any(axis=1).mean())

    def requests(self, n_requests: int) -> Requests:
        """The ``n_requests`` requests of a run of that length (the same for every strategy).

        Drawn in one vectorised pass per call, so runs of different lengths get different
        streams: ``requests(1000)`` is not the start of ``requests(5000)``. To compare budgets on
        the same users, draw the longest once and slice it.
        """
        n_requests = check_int("n_requests", n_requests, minimum=1, maximum=_MAX_REQUESTS)
        arrivals = rng_for(self.seed, "requests")
        users = self.population.draw_users(n_requests, rng=arrivals)
        queries = arrivals.integers(0, self.n_queries, size=n_requests)
        timestamp = np.cumsum(arrivals.exponential(1.0 / self.rate, size=n_requests))
        return Requests(np.arange(n_requests, dtype=np.int64), users, queries, timestamp)

    # -- the loop -------------------------------------------------------------------------------

    def outcomes(self, strategy: Any, n_requests: int) -> Look:
        """Every request of a non-adaptive strategy served at once, as one :class:`Look`.

        What :meth:`run` feeds the strategy look by look; ``look.take(rows)`` gives any slice,
        e.g. the share of one worker.
        """
        if getattr(strategy, "adaptive", False):
            msg = f"{strategy.name} routes by what it has learnt; run it with World.run"
            raise InvalidArgument(msg)
        requests = self.requests(n_requests)
        arms = np.asarray(strategy.route(strategy.start(), requests.keys, requests.user), np.int8)
        name = getattr(strategy, "name", type(strategy).__name__)
        look, _ = self._serve(
            requests,
            arms,
            getattr(strategy, "method", None),
            frozenset(getattr(strategy, "needs", ())),
            rng_for(self.seed, "clicks", name),
            keep=False,
        )
        return look

    def run(
        self,
        strategy: Any,
        n_requests: int,
        *,
        look_every: int | None = None,
        keep_exposures: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> SimulationResult:
        """Send ``n_requests`` requests through ``strategy``; see the module docstring.

        Parameters
        ----------
        strategy
            A rollout strategy (:mod:`strategies`): ``start()``, ``route(state, keys, users)``,
            ``update(state, look)``, ``decision``, ``pvalue``, ``verdict(state)``, ``needs``;
            ``adaptive = True`` when routing depends on the state (canary's ramp), which makes
            the engine route and serve look by look instead of all at once.
        n_requests
            Requests to simulate.
        look_every
            Requests per look (the strategy updates and decides once per look); ``None`` means
            ``max(1, n_requests // 500)``. With 1 the decision is read after every request.
        keep_exposures
            Build the exposure frame (one row per shown position); off for speed studies.
        progress
            Called as ``progress(done, total)`` after each look.
        """
        requests = self.requests(n_requests)
        if look_every is None:
            look_every = max(1, n_requests // 500)
        look_every = check_int("look_every", look_every, minimum=1)
        needs = frozenset(getattr(strategy, "needs", ()))
        method = getattr(strategy, "method", None)
        name = getattr(strategy, "name", type(strategy).__name__)
        clicks_rng = rng_for(self.seed, "clicks", name)
        keys = requests.keys
        state = strategy.start()
        path_n, path_decision, path_pvalue = [], [], []
        frames: list[dict[str, np.ndarray]] = []
        whole = None
        if not getattr(strategy, "adaptive", False):
            # Routing does not depend on what was learnt: serve every request in one vectorised
            # pass (one batch interleaving per context), then let the strategy read it look by look.
            arms = np.asarray(strategy.route(state, keys, requests.user), dtype=np.int8)
            whole, exposure = self._serve(requests, arms, method, needs, clicks_rng, keep_exposures)
            if keep_exposures:
                frames.append(exposure)
        for start in range(0, n_requests, look_every):
            rows = slice(start, min(n_requests, start + look_every))
            if whole is not None:
                look = whole.take(rows)
            else:
                chunk = requests.take(rows)
                arms = np.asarray(strategy.route(state, keys[rows], chunk.user), dtype=np.int8)
                look, exposure = self._serve(chunk, arms, method, needs, clicks_rng, keep_exposures)
                if keep_exposures:
                    frames.append(exposure)
            state = strategy.update(state, look)
            path_n.append(rows.stop)
            path_decision.append(str(strategy.decision(state)))
            path_pvalue.append(float(strategy.pvalue(state)))
            if progress is not None:
                progress(rows.stop, n_requests)
        path = pl.DataFrame(
            {"n_requests": path_n, "decision": path_decision, "pvalue": path_pvalue},
            schema={"n_requests": pl.Int64, "decision": pl.String, "pvalue": pl.Float64},
        )
        exposures = _exposure_frame(frames) if keep_exposures else None
        return SimulationResult(strategy, state, strategy.verdict(state), path, exposures)

    def _serve(
        self,
        chunk: Requests,
        arms: np.ndarray,
        method: Any,
        needs: frozenset,
        rng: np.random.Generator,
        keep: bool = True,
    ) -> tuple[Look, dict[str, np.ndarray]]:
        n, depth = len(chunk), self.depth
        if arms.shape != (n,):
            msg = f"the strategy routed {arms.shape} arms for {n} requests; route one per request"
            raise InvalidArgument(msg)
        production = self.production[chunk.query]
        candidate = self.candidate[chunk.query]
        # The candidate may fail; production's list is the fallback the user sees.
        error = np.isin(arms, (ARM_CANDIDATE, ARM_SHADOW)) & (
            rng.random(n) < self.candidate_error_rate
        )
        serves_candidate = (arms == ARM_CANDIDATE) & ~error
        shown = np.where(serves_candidate[:, None], candidate, production)
        teams = np.empty((n, depth), dtype=np.int8)
        teams[...] = serves_candidate[:, None]
        interleaved = np.flatnonzero(arms == ARM_INTERLEAVED)
        batches = []
        if interleaved.size:
            if method is None:
                msg = "the strategy routed requests to interleaving but has no `method`"
                raise InvalidArgument(msg)
            # One batch per context: sort the interleaved requests by context once.
            order = interleaved[np.argsort(chunk.query[interleaved], kind="stable")]
            contexts, starts = np.unique(chunk.query[order], return_index=True)
            for query, rows in zip(contexts.tolist(), np.split(order, starts[1:]), strict=True):
                batch = method.interleave_batch(
                    [self.production[query].tolist(), self.candidate[query].tolist()],
                    len(rows),
                    rng=rng,
                )
                ids = np.asarray(batch.item_ids, dtype=np.int64)
                width = batch.items.shape[1]
                if width > depth:
                    msg = (
                        f"the interleaver shows {width} items but the world's lists hold "
                        f"{depth}; configure it with length <= {depth}"
                    )
                    raise InvalidArgument(msg)
                shown[rows] = -1  # a shorter merged list leaves the rest of the row empty
                teams[rows] = -1
                shown[rows, :width] = np.where(batch.items >= 0, ids[batch.items], -1)
                teams[rows, :width] = batch.teams
                batches.append((rows, batch))
        grades = np.where(shown >= 0, self.grade_of(np.maximum(shown, 0)), 0)
        clicks = self.population.simulate(self.click_model, chunk.user, grades, rng=rng)
        clicks &= shown >= 0
        preference = np.zeros(n)
        first_team = np.full(n, -1, dtype=np.int8)
        for rows, batch in batches:
            credit = method.credit_batch(batch, clicks[rows, : batch.items.shape[1]])
            preference[rows] = credit.preferences[:, 1, 0]
            first_team[rows] = batch.teams[:, 0]
        counterfactual = np.zeros(n, dtype=np.int64)
        if "counterfactual" in needs:
            shadowed = np.flatnonzero(arms == ARM_SHADOW)
            if shadowed.size:
                counterfactual[shadowed] = self.population.simulate(
                    self.click_model,
                    chunk.user[shadowed],
                    self.grade_of(candidate[shadowed]),
                    rng=rng,
                ).sum(axis=1)
        look = Look(
            chunk,
            arms,
            clicks.sum(axis=1),
            error,
            preference,
            first_team,
            production,
            candidate,
            counterfactual,
        )
        if not keep:
            return look, {}
        shown_arm = np.where(
            serves_candidate, ARM_CANDIDATE, np.where(arms == ARM_INTERLEAVED, 2, 0)
        )
        exposure = {
            "impression_id": np.repeat(chunk.request_id, depth),
            "timestamp": np.repeat(chunk.timestamp, depth),
            "user_id": np.repeat(chunk.user, depth),
            "query_id": np.repeat(chunk.query, depth),
            "policy": np.repeat(shown_arm.astype(np.int8), depth),
            "position": np.tile(np.arange(depth, dtype=np.int16), n),
            "item_id": shown.reshape(-1),
            "team": teams.reshape(-1),
            "relevance": grades.reshape(-1).astype(np.int8),
            "click": clicks.reshape(-1),
        }
        return look, exposure


def _exposure_frame(parts: list[dict[str, np.ndarray]]) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=EXPOSURE_SCHEMA)
    columns = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    arm_codes = columns.pop("policy")
    frame = pl.DataFrame(columns).with_columns(
        pl.Series("policy", np.asarray(ARM_NAMES[:3])[arm_codes], dtype=pl.String)
    )
    frame = frame.filter(pl.col("item_id") >= 0)
    return frame.select([pl.col(name).cast(dtype) for name, dtype in EXPOSURE_SCHEMA.items()])
