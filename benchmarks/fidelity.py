"""Fidelity: E_bin of every interleaving method against NDCG truth on LETOR MQ2008 (Schuth 2014).

The protocol of Schuth et al., CIKM 2014 (REFERENCES §3), on the LETOR 4.0 MQ2008 subsets in
``../shared/data/letor4_mq2008_partial`` (S1+S4 training, S5 test; see its SOURCE.md):

- **Rankers** are single LETOR features, ids 4, 9, 24, 39 and 40 (Lerot's configs; the ``k:`` keys
  of the file, 1-based). A ranker orders all of a query's documents by its feature, highest first,
  ties broken by the documents' order in the file; every method shows ``k = 10`` of them.
- **Ground truth** on the test queries: ``P_ij = 0.5 (NDCG@10(R_i) - NDCG@10(R_j)) + 0.5`` with the
  NDCG@10 of :func:`interleave.metrics.ndcg` averaged over the test queries (a query without a
  relevant document has NDCG 0 for every ranker, LETOR's convention).
- **Users**: queries drawn uniformly with replacement from the training queries; clicks from the
  3-grade cascade presets of :class:`interleave.clicks.CascadeModel` (REFERENCES §2, stop only
  after a click, the rule of the published tables): perfect, navigational, informational, random.
- **Impressions**: two-ranker methods rotate over the 10 pairs (impression ``t`` compares pair
  ``t mod 10``: 500 impressions give each pair 50); multileaving methods show all 5 rankers every
  impression. All methods see the same sequence of queries in a repetition.
- **Estimate** after ``n`` impressions: ``P^_ij = (wins_ij + ties_ij / 2) / n_ij`` over the
  impressions that compared ``i`` and ``j`` (probabilistic credit adds its expected outcome, see
  :mod:`interleave.credit`), so ``sign(P^_ij - 0.5)`` is the sign of the summed outcomes.
- **Error**: ``E_bin`` = share of ordered pairs ``i != j`` with
  ``sign(P^_ij - 0.5) != sign(P_ij - 0.5)``, the paper's formula taken literally: a pair with no
  impressions yet, or with as many wins as losses, has sign 0 and counts as an error (unless the
  truth is an exact tie too). ``e_bin_coin`` counts such undecided pairs as 1/2 instead (the
  expected error of a coin flip); the two agree once every pair is decided.

Two ranker sets: the feature ids as given (LETOR ids 4, 9, 24, 39, 40), and the same numbers read
as 0-based column indices, LETOR ids 5, 10, 25, 40, 41 (Lerot's reader stores LETOR id ``k`` in
column ``k - 1``; which reading its configs mean is not settled here, so both are shown). Rows of
the second set start ``features 5,10,25,40,41:``. The row ``truth: E_bin of the training-query
NDCG`` scores the NDCG preferences of the *training* queries against the test truth: the error a
flawless estimate of what the simulated users see would still make.

Rows: per method and click model, ``E_bin`` after 500 impressions (mean and standard error over
the repetitions, 25 in the full run) beside the published MQ2008 figures (Team-Draft .134 / .198 /
.307, Team-Draft multileave .050 / .082 / .177 after 500; Oosterhuis & de Rijke 2017: Team-Draft
multileave .15 / .17 / .18 after 10,000), then the curve ``E_bin`` against impressions (10 to
10,000), drawn in ``fidelity.png``. Without the data a synthetic LETOR-like set is used and every
row says so in ``data``.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._anchors import SHARED_DATA
from benchmarks._progress import Progress
from interleave import (
    Balanced,
    DebiasedBalanced,
    Interleaver,
    Optimized,
    PairwisePreference,
    Probabilistic,
    TeamDraft,
)
from interleave.clicks import CascadeModel
from interleave.errors import InvalidArgument
from interleave.keys import rng_for
from interleave.metrics import ndcg

LETOR = SHARED_DATA / "letor4_mq2008_partial"
TRAIN_FILES = ("S1.txt.gz", "S4.txt.gz")
TEST_FILES = ("S5.txt.gz",)
N_FEATURES = 46  # LETOR 4.0: 46 dense features per line (SOURCE.md)
RANKER_FEATURES = (4, 9, 24, 39, 40)  # Lerot's configs for MQ2007/MQ2008 (REFERENCES §3)
LENGTH = 10
GRADES = 3  # MQ2008 labels 0, 1, 2
CLICK_MODELS = ("perfect", "navigational", "informational", "random")
HEADLINE_IMPRESSIONS = 500
CHECKPOINTS = (10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000)
QUICK_CHECKPOINTS = (10, 20, 50, 100, 200, 500)

# Published MQ2008 E_bin, REFERENCES §3: Schuth et al. CIKM 2014 (500 queries, 25 repetitions;
# two-ranker methods rotate over the 10 pairs) and Oosterhuis & de Rijke CIKM 2017 (10,000
# impressions, |R| = 5). method family -> impressions -> click model -> E_bin.
PUBLISHED: dict[str, dict[int, dict[str, float]]] = {
    "team_draft": {500: {"perfect": 0.134, "navigational": 0.198, "informational": 0.307}},
    "team_draft_multileave": {
        500: {"perfect": 0.050, "navigational": 0.082, "informational": 0.177},
        10_000: {"perfect": 0.15, "navigational": 0.17, "informational": 0.18},
    },
}
PUBLISHED_SOURCE = {
    500: "Schuth et al. CIKM 2014 (REFERENCES §3)",
    10_000: "Oosterhuis & de Rijke CIKM 2017 (REFERENCES §3)",
}


# -- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queries:
    """Documents grouped by query: relevance grades and feature values, in file order.

    Attributes
    ----------
    qids
        Query ids, in first-seen order.
    grades
        Per query, int array (n_docs,) of relevance labels.
    features
        Per query, float array (n_docs, n_features); feature id ``f`` is column ``f - 1``.
    source
        Where the documents came from (file names, or the synthetic generator and its seed).
    """

    qids: tuple[str, ...]
    grades: tuple[np.ndarray, ...]
    features: tuple[np.ndarray, ...]
    source: str

    def __len__(self) -> int:
        return len(self.qids)

    @property
    def n_documents(self) -> int:
        """Documents over all queries."""
        return sum(len(g) for g in self.grades)

    def rankings(self, feature_ids: Sequence[int] = RANKER_FEATURES) -> list[list[list[int]]]:
        """Per query, one ranking per feature: document indices by value, highest first.

        Ties keep the documents' order in the file (a stable sort), so rankings are
        deterministic.
        """
        out = []
        for values in self.features:
            out.append([np.argsort(-values[:, f - 1], kind="stable").tolist() for f in feature_ids])
        return out

    @classmethod
    def concat(cls, parts: Sequence[Queries]) -> Queries:
        """The queries of every part, in order (query ids must not repeat across parts)."""
        qids = tuple(q for p in parts for q in p.qids)
        if len(set(qids)) != len(qids):
            msg = "`parts` repeat a query id; each query must come from one file"
            raise InvalidArgument(msg)
        return cls(
            qids,
            tuple(g for p in parts for g in p.grades),
            tuple(f for p in parts for f in p.features),
            " + ".join(p.source for p in parts),
        )


def parse_letor(lines: Iterable[str], *, n_features: int = N_FEATURES, name: str = "") -> Queries:
    """Parse LETOR / SVMlight-rank lines ``grade qid:Q 1:v 2:v ... #comment``.

    Features not listed on a line are 0 (SVMlight's sparse convention); the comment is ignored.
    Lines of a query need not be contiguous; queries keep their first-seen order. A malformed
    line raises :class:`~interleave.errors.InvalidArgument` naming the line.

    Examples
    --------
    >>> q = parse_letor(["2 qid:7 1:0.5 3:1 #docid = a", "0 qid:7 2:0.25"], n_features=3)
    >>> q.qids, q.grades[0].tolist(), q.features[0].tolist()
    (('7',), [2, 0], [[0.5, 0.0, 1.0], [0.0, 0.25, 0.0]])
    """
    where = f"{name}: " if name else ""
    grades: dict[str, list[int]] = {}
    rows: dict[str, list[np.ndarray]] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].split()
        if not text:
            continue
        if len(text) < 2 or not text[1].startswith("qid:") or len(text[1]) == 4:
            msg = f"{where}line {number} must start `<grade> qid:<id>`, got {raw.strip()[:80]!r}"
            raise InvalidArgument(msg)
        try:
            grade = int(text[0])
        except ValueError:
            msg = f"{where}line {number} has the grade {text[0]!r}; grades are ints (0, 1, 2)"
            raise InvalidArgument(msg) from None
        values = np.zeros(n_features)
        for token in text[2:]:
            key, sep, value = token.partition(":")
            try:
                feature = int(key)
                number_value = float(value)
            except ValueError:
                feature, number_value = 0, math.nan
            if not sep or not 1 <= feature <= n_features or not math.isfinite(number_value):
                msg = (
                    f"{where}line {number} has the feature {token!r}; features are "
                    f"`<id>:<value>` with ids 1..{n_features} and finite values"
                )
                raise InvalidArgument(msg)
            values[feature - 1] = number_value
        qid = text[1][4:]
        grades.setdefault(qid, []).append(grade)
        rows.setdefault(qid, []).append(values)
    return Queries(
        tuple(grades),
        tuple(np.array(g, dtype=np.int64) for g in grades.values()),
        tuple(np.vstack(r) for r in rows.values()),
        name or "lines",
    )


def read_letor(paths: Sequence[Path]) -> Queries:
    """Parse LETOR files (plain or ``.gz``), one after the other."""
    parts = []
    for path in paths:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rt") as handle:
            parts.append(parse_letor(handle, name=Path(path).name))
    return Queries.concat(parts)


# Signal of each ranker feature in the synthetic set (value = signal * grade + unit noise):
# distinct strengths so the five rankers differ in quality, as on MQ2008.
SYNTHETIC_SIGNAL = {4: 0.2, 9: 0.5, 24: 0.9, 39: 1.4, 40: 2.0}
SYNTHETIC_GRADE_SHARES = (0.79, 0.14, 0.07)  # MQ2008's label shares (SOURCE.md: 6,775/1,205/534)


def synthetic_queries(n_queries: int, rng: np.random.Generator, *, prefix: str) -> Queries:
    """A LETOR-like set: graded documents whose features are the grade plus noise.

    6..39 documents per query, grades 0/1/2 with MQ2008's shares, 46 features scaled to [0, 1]
    per query (LETOR's query-level normalisation); the ranker features carry the grade with the
    strengths of :data:`SYNTHETIC_SIGNAL`, the others with random strengths in [0, 1).
    """
    signal = rng.random(N_FEATURES)
    for feature, strength in SYNTHETIC_SIGNAL.items():
        signal[feature - 1] = strength
    grades, features = [], []
    for _ in range(n_queries):
        n_docs = int(rng.integers(6, 40))
        grade = rng.choice(GRADES, size=n_docs, p=SYNTHETIC_GRADE_SHARES)
        raw = grade[:, None] * signal[None, :] + rng.standard_normal((n_docs, N_FEATURES))
        low, high = raw.min(axis=0), raw.max(axis=0)
        features.append((raw - low) / np.where(high > low, high - low, 1.0))
        grades.append(grade.astype(np.int64))
    qids = tuple(f"{prefix}{i}" for i in range(n_queries))
    return Queries(qids, tuple(grades), tuple(features), f"synthetic ({prefix})")


def load_data(seed: int) -> tuple[Queries, Queries, str]:
    """Training and test queries, and which data they are: MQ2008, or the synthetic fallback."""
    paths = [LETOR / name for name in TRAIN_FILES + TEST_FILES]
    if all(path.is_file() for path in paths):
        train = read_letor([LETOR / name for name in TRAIN_FILES])
        test = read_letor([LETOR / name for name in TEST_FILES])
        return train, test, "LETOR 4.0 MQ2008 S1+S4 train / S5 test"
    rng = rng_for(seed, "fidelity", "synthetic data")
    # MQ2008 here: 314 training and 156 test queries.
    train = synthetic_queries(314, rng, prefix="train-")
    test = synthetic_queries(156, rng, prefix="test-")
    return train, test, f"synthetic LETOR-like (no {LETOR}; seed {seed})"


# -- truth and error ----------------------------------------------------------------------------


def mean_ndcg(queries: Queries, feature_ids: Sequence[int] = RANKER_FEATURES) -> np.ndarray:
    """Per ranker, NDCG@10 averaged over the queries."""
    totals = np.zeros(len(feature_ids))
    for grades, rankings in zip(queries.grades, queries.rankings(feature_ids), strict=True):
        relevance = dict(enumerate(grades.tolist()))
        totals += [ndcg(ranking, relevance, k=LENGTH) for ranking in rankings]
    return totals / max(len(queries), 1)


def expected_clicks(
    queries: Queries, model: CascadeModel, feature_ids: Sequence[int] = RANKER_FEATURES
) -> np.ndarray:
    """Per ranker, the clicks ``model``'s user makes on its top 10 alone, averaged over queries.

    What the click-based methods measure, beside what NDCG measures: on a pair that nearly ties
    in NDCG the two can order the rankers differently.
    """
    totals = np.zeros(len(feature_ids))
    for grades, rankings in zip(queries.grades, queries.rankings(feature_ids), strict=True):
        shown = np.array([ranking[:LENGTH] for ranking in rankings])
        totals += model.click_probabilities(grades[shown]).sum(axis=1)
    return totals / max(len(queries), 1)


def truth_matrix(ndcgs: Sequence[float]) -> np.ndarray:
    """``P_ij = 0.5 (NDCG_i - NDCG_j) + 0.5`` (REFERENCES §3)."""
    values = np.asarray(ndcgs, dtype=float)
    return 0.5 * (values[:, None] - values[None, :]) + 0.5


def estimate_matrix(outcome_sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``P^`` from per-pair sums of outcomes and impression counts, pairs in ``combinations`` order.

    ``P^_ij = (wins + ties / 2) / n = 0.5 + 0.5 * sum(outcomes) / n`` for ``i < j``, 0.5 where
    ``n = 0``, ``P^_ji = 1 - P^_ij``. Leading axes of the inputs (repetitions, checkpoints) are
    kept: shape (..., n_pairs) in, (..., R, R) out.
    """
    sums = np.asarray(outcome_sums, dtype=float)
    n_pairs = sums.shape[-1]
    n_rankers = round((1 + math.sqrt(1 + 8 * n_pairs)) / 2)
    if n_rankers * (n_rankers - 1) // 2 != n_pairs:
        msg = f"`outcome_sums` has {n_pairs} pairs in its last axis, not R (R - 1) / 2 for any R"
        raise InvalidArgument(msg)
    n = np.asarray(counts, dtype=float)
    upper = 0.5 + 0.5 * sums / np.where(n > 0, n, 1.0)
    out = np.full((*sums.shape[:-1], n_rankers, n_rankers), 0.5)
    for p, (i, j) in enumerate(combinations(range(n_rankers), 2)):
        out[..., i, j] = upper[..., p]
        out[..., j, i] = 1.0 - upper[..., p]
    return out


def binary_error(estimate: np.ndarray, truth: np.ndarray, *, undecided: float = 1.0) -> np.ndarray:
    """E_bin: share of ordered pairs ``i != j`` whose signs of ``P - 0.5`` disagree.

    ``undecided`` is what an estimate of exactly 0.5 (no data, or a tie) costs against a truth
    that is not a tie: 1 (the formula taken literally, the default) or 0.5 (a coin flip).
    Leading axes of ``estimate`` are kept.

    Examples
    --------
    >>> truth = truth_matrix([0.3, 0.2, 0.1])
    >>> float(binary_error(truth, truth))
    0.0
    >>> float(binary_error(truth.T, truth))
    1.0
    >>> half = np.full((3, 3), 0.5)
    >>> float(binary_error(half, truth)), float(binary_error(half, truth, undecided=0.5))
    (1.0, 0.5)
    """
    estimate = np.asarray(estimate, dtype=float)
    truth = np.asarray(truth, dtype=float)
    r = truth.shape[-1]
    est_sign = np.sign(estimate - 0.5)
    true_sign = np.sign(truth - 0.5)
    cost = np.where(est_sign != true_sign, 1.0, 0.0)
    cost = np.where((est_sign == 0) & (true_sign != 0), undecided, cost)
    off_diagonal = ~np.eye(r, dtype=bool)
    return cost[..., off_diagonal].sum(axis=-1) / (r * (r - 1))


# -- methods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodSpec:
    """A method compared: its row label, the interleaver, and whether it multileaves."""

    label: str
    method: Interleaver
    multileave: bool
    family: str = ""  # key into PUBLISHED, "" when nothing was published for it


def methods() -> list[MethodSpec]:
    """Every method and variant compared, in row order."""
    return [
        MethodSpec("TeamDraft (common prefix)", TeamDraft(LENGTH), False, "team_draft"),
        MethodSpec(
            "TeamDraft (original)", TeamDraft(LENGTH, common_prefix=False), False, "team_draft"
        ),
        MethodSpec("Balanced (joachims cut-off)", Balanced(LENGTH), False),
        MethodSpec("Balanced (lerot cut-off)", Balanced(LENGTH, cutoff="lerot"), False),
        MethodSpec("DebiasedBalanced", DebiasedBalanced(LENGTH), False),
        MethodSpec("Probabilistic (tau=3)", Probabilistic(LENGTH), False),
        MethodSpec("Optimized (inverse credit)", Optimized(LENGTH), False),
        MethodSpec("PairwisePreference multileave", PairwisePreference(LENGTH), True),
        MethodSpec("TeamDraft multileave", TeamDraft(LENGTH), True, "team_draft_multileave"),
        MethodSpec("Probabilistic multileave (tau=3)", Probabilistic(LENGTH), True),
    ]


# The slowest first, so two workers finish together (seconds for the full run, one core, here).
COST_ORDER = (
    "Probabilistic multileave (tau=3)",  # ~270 s
    "PairwisePreference multileave",  # ~90 s
    "Optimized (inverse credit)",  # ~70 s: one linear program per query and pair
    "Probabilistic (tau=3)",  # ~35 s
)


# -- simulation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What every method sees: the training rankings and grades, and each repetition's queries.

    ``queries[r, t]`` is the training query of impression ``t`` in repetition ``r``; two-ranker
    methods compare pair ``t mod n_pairs`` there. ``checkpoints`` are the impression counts at
    which the estimate is read.
    """

    rankings: tuple[tuple[tuple[int, ...], ...], ...]
    grades: tuple[np.ndarray, ...]
    queries: np.ndarray
    checkpoints: tuple[int, ...]
    seed: int
    features: tuple[int, ...] = RANKER_FEATURES

    @property
    def n_rankers(self) -> int:
        return len(self.rankings[0])

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return list(combinations(range(self.n_rankers), 2))


def make_plan(
    train: Queries,
    n_repetitions: int,
    checkpoints: Sequence[int],
    seed: int,
    features: Sequence[int] = RANKER_FEATURES,
) -> Plan:
    """Draw each repetition's queries uniformly with replacement (its own seeded stream).

    The queries depend only on the seed and the repetition, so every method and every ranker
    set sees the same sequence.
    """
    horizon = checkpoints[-1]
    queries = np.stack(
        [
            rng_for(seed, "fidelity", "queries", r).integers(0, len(train), horizon)
            for r in range(n_repetitions)
        ]
    )
    rankings = tuple(tuple(tuple(r) for r in per_query) for per_query in train.rankings(features))
    return Plan(rankings, train.grades, queries, tuple(checkpoints), seed, tuple(features))


def simulate(spec: MethodSpec, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Summed outcomes and counts per pair between checkpoints, for every click model.

    Impressions that share a query (and, for two-ranker methods, a pair) are interleaved in one
    ``interleave_batch`` call over all repetitions, then each click model clicks on the same
    shown lists and ``credit_batch`` credits them.

    Returns
    -------
    sums
        float (n_click_models, n_repetitions, n_pairs, n_checkpoints): outcomes of ranker ``i``
        over ranker ``j`` (pairs ``i < j`` in ``combinations`` order) summed over the
        impressions between the previous checkpoint and this one.
    counts
        int (n_repetitions, n_pairs, n_checkpoints): those impressions that compared the pair.
    """
    n_reps, horizon = plan.queries.shape
    pairs = plan.pairs
    n_pairs = len(pairs)
    bins = np.searchsorted(plan.checkpoints, np.arange(horizon), side="right")
    models = [CascadeModel.preset(name, grades=GRADES) for name in CLICK_MODELS]
    sums = np.zeros((len(models), n_reps, n_pairs, len(plan.checkpoints)))
    counts = np.zeros((n_reps, n_pairs, len(plan.checkpoints)), dtype=np.int64)
    rng = rng_for(plan.seed, "fidelity", "clicks", spec.label, *plan.features)
    rep_of, time_of = np.indices(plan.queries.shape)
    query = plan.queries.ravel()
    # A group shares its rankings: the query, and for two-ranker methods the pair too.
    group = query if spec.multileave else query * n_pairs + time_of.ravel() % n_pairs
    order = np.argsort(group, kind="stable")
    keys, starts = np.unique(group[order], return_index=True)
    ends = np.append(starts[1:], len(order))
    reps_flat, bins_flat = rep_of.ravel(), bins[time_of.ravel()]
    every_pair = np.arange(n_pairs)
    first = np.array([i for i, _ in pairs])
    second = np.array([j for _, j in pairs])
    for key, start, end in zip(keys.tolist(), starts.tolist(), ends.tolist(), strict=True):
        slots = order[start:end]
        q = key if spec.multileave else key // n_pairs
        if spec.multileave:
            rankings: Sequence[Sequence[int]] = plan.rankings[q]
        else:
            i, j = pairs[key % n_pairs]
            rankings = (plan.rankings[q][i], plan.rankings[q][j])
        batch = spec.method.interleave_batch(rankings, len(slots), rng=rng)
        docs = np.asarray(batch.item_ids)[np.maximum(batch.items, 0)]
        relevance = np.where(batch.items >= 0, plan.grades[q][docs], 0)
        r_idx, b_idx = reps_flat[slots], bins_flat[slots]
        if spec.multileave:
            index = (r_idx[:, None], every_pair[None, :], b_idx[:, None])
        else:
            index = (r_idx, np.full(len(slots), key % n_pairs), b_idx)
        np.add.at(counts, index, 1)
        for c, model in enumerate(models):
            clicks = model.simulate(relevance, rng=rng) & batch.shown
            preferences = spec.method.credit_batch(batch, clicks).preferences
            outcomes = preferences[:, first, second] if spec.multileave else preferences[:, 0, 1]
            np.add.at(sums[c], index, outcomes)
    return sums, counts


def _simulate_task(args: tuple[MethodSpec, Plan]) -> tuple[np.ndarray, np.ndarray]:
    return simulate(*args)


def error_curves(
    sums: np.ndarray, counts: np.ndarray, truth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """E_bin (strict, coin) per click model, repetition and checkpoint from :func:`simulate`."""
    cumulative = np.cumsum(sums, axis=-1)
    n = np.cumsum(counts, axis=-1)
    # (models, reps, pairs, checkpoints) -> (models, reps, checkpoints, pairs)
    estimate = estimate_matrix(np.moveaxis(cumulative, 2, 3), np.moveaxis(n, 1, 2)[None])
    return binary_error(estimate, truth), binary_error(estimate, truth, undecided=0.5)


def wrong_pairs(
    sums: np.ndarray, counts: np.ndarray, truth: np.ndarray, features: Sequence[int]
) -> list[list[str]]:
    """Per click model and checkpoint, the pairs wrong in at least half of the repetitions.

    Each as ``"i-j (share%)"`` with the rankers' feature ids: which pairs make up the error.
    """
    cumulative = np.cumsum(sums, axis=-1)  # (models, reps, pairs, checkpoints)
    n_rankers = truth.shape[0]
    pairs = list(combinations(range(n_rankers), 2))
    true_sign = np.array([np.sign(truth[i, j] - 0.5) for i, j in pairs])
    wrong = np.sign(cumulative) != true_sign[None, None, :, None]
    share = wrong.mean(axis=1)  # (models, pairs, checkpoints)
    out = []
    for c in range(share.shape[0]):
        per_checkpoint = []
        for k in range(share.shape[2]):
            often = [
                f"{features[i]}-{features[j]} ({share[c, p, k]:.0%})"
                for p, (i, j) in enumerate(pairs)
                if share[c, p, k] >= 0.5
            ]
            per_checkpoint.append(often)
        out.append(per_checkpoint)
    return out


# -- the suite ----------------------------------------------------------------------------------


def _figure(panels: dict[str, dict[str, np.ndarray]], checkpoints: Sequence[int], data: str) -> Any:
    """One row of panels (one per click model) per ranker set: E_bin against impressions."""
    from matplotlib.figure import Figure  # no pyplot: no global registry, no GUI backend

    fig = Figure(figsize=(17, 1.0 + 4.2 * len(panels)))
    grid = fig.subplots(len(panels), len(CLICK_MODELS), sharey=True, squeeze=False)
    labels = [spec.label for spec in methods()]
    styles = {spec.label: ("--" if spec.multileave else "-") for spec in methods()}
    for axes, (title, curves) in zip(grid, panels.items(), strict=True):
        for c, (ax, model) in enumerate(zip(axes, CLICK_MODELS, strict=True)):
            for label, errors in curves.items():
                k = labels.index(label)
                mean = errors[c].mean(axis=0)
                n_reps = errors.shape[1]
                se = errors[c].std(axis=0, ddof=1) / math.sqrt(n_reps) if n_reps > 1 else 0.0
                ax.plot(checkpoints, mean, styles[label], color=f"C{k}", label=label)
                ax.fill_between(checkpoints, mean - se, mean + se, color=f"C{k}", alpha=0.12)
            for family, marker in (("team_draft", "o"), ("team_draft_multileave", "s")):
                for n, values in PUBLISHED[family].items():
                    if model in values and n <= checkpoints[-1]:
                        ax.plot([n], [values[model]], marker, color="k", mfc="none", ms=7)
            ax.set_xscale("log")
            ax.set_title(f"{title}: {model} clicks", fontsize=9)
            ax.grid(alpha=0.3, which="both")
        axes[0].set_ylabel("E_bin (mean over repetitions, ±1 SE)")
        axes[0].set_ylim(0, 1)
    for ax in grid[-1]:
        ax.set_xlabel("impressions")
    grid[0][-1].plot([], [], "o", color="k", mfc="none", label="published Team-Draft")
    grid[0][-1].plot([], [], "s", color="k", mfc="none", label="published TD multileave")
    grid[0][-1].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"Fidelity (Schuth et al. 2014 protocol): {data}", fontsize=10)
    fig.tight_layout()
    return fig


def _rows_for(
    spec: MethodSpec,
    strict: np.ndarray,
    coin: np.ndarray,
    often_wrong: list[list[list[str]]],
    points: Sequence[int],
    headline: int,
    prefix: str,
    base: dict[str, Any],
) -> list[dict[str, Any]]:
    n_reps = strict.shape[1]
    rows = []
    for c, model in enumerate(CLICK_MODELS):
        for k, n in enumerate(points):
            values = strict[c, :, k]
            row: dict[str, Any] = {
                "case": f"{prefix}{'E_bin' if n == headline else 'curve'}: {spec.label}, {model}",
                "method": spec.label,
                "click_model": model,
                "impressions": n,
                "e_bin": float(values.mean()),
                "e_bin_se": float(values.std(ddof=1) / math.sqrt(n_reps)) if n_reps > 1 else 0.0,
                "e_bin_coin": float(coin[c, :, k].mean()),
                "wrong_in_half_the_repetitions": ", ".join(often_wrong[c][k]) or "none",
            }
            published = PUBLISHED.get(spec.family, {}).get(n, {}).get(model)
            if published is not None:
                row["published_e_bin"] = published
                row["published_source"] = PUBLISHED_SOURCE[n]
            rows.append({**row, **base})
    return rows


# A second reading of Lerot's feature numbers: as 0-based column indices (Lerot's reader stores
# LETOR id k in column k - 1), i.e. LETOR ids 5, 10, 25, 40, 41. It shows how much the published
# comparison depends on which five rankers are compared.
ALTERNATIVE_FEATURES = tuple(f + 1 for f in RANKER_FEATURES)
QUICK_ALTERNATIVE = ("TeamDraft (common prefix)", "TeamDraft (original)", "TeamDraft multileave")


def run(
    quick: bool,
    seed: int = 0,
    *,
    n_repetitions: int | None = None,
    checkpoints: Sequence[int] | None = None,
    method_labels: Sequence[str] | None = None,
    alternative_features: bool = True,
    workers: int = 2,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """E_bin of every method under every click model: headline rows, curve rows and a plot.

    Full: 25 repetitions of 10,000 impressions, every method on both ranker sets (the features
    as given, and :data:`ALTERNATIVE_FEATURES`). Quick: 5 repetitions of 500, the second ranker
    set for the Team-Draft family only. ``n_repetitions``, ``checkpoints`` and ``method_labels``
    shrink it further (smoke tests); ``alternative_features=False`` drops the second set;
    ``workers`` processes share the work (1 runs in this process).
    """
    n_reps = n_repetitions or (5 if quick else 25)
    points = tuple(checkpoints or (QUICK_CHECKPOINTS if quick else CHECKPOINTS))
    specs = [s for s in methods() if method_labels is None or s.label in method_labels]
    train, test, data = load_data(seed)
    feature_sets = [RANKER_FEATURES] + ([ALTERNATIVE_FEATURES] if alternative_features else [])
    tasks = []
    for features in feature_sets:
        plan = make_plan(train, n_reps, points, seed, features)
        for spec in specs:
            if features == RANKER_FEATURES or not quick or spec.label in QUICK_ALTERNATIVE:
                tasks.append((spec, plan))
    rank = {label: i for i, label in enumerate(COST_ORDER)}
    tasks.sort(key=lambda task: rank.get(task[0].label, len(rank)))

    results: dict[tuple[str, tuple[int, ...]], tuple[np.ndarray, np.ndarray]] = {}
    with Progress("fidelity: method runs", len(tasks)) as bar:
        if workers > 1 and len(tasks) > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_simulate_task, task): task for task in tasks}
                for future in as_completed(futures):
                    spec, plan = futures[future]
                    results[spec.label, plan.features] = future.result()
                    bar.advance()
        else:
            for spec, plan in tasks:
                results[spec.label, plan.features] = simulate(spec, plan)
                bar.advance()

    rows: list[dict[str, Any]] = []
    curve_rows: list[dict[str, Any]] = []
    panels: dict[str, dict[str, np.ndarray]] = {}
    headline = HEADLINE_IMPRESSIONS if HEADLINE_IMPRESSIONS in points else points[-1]
    for features in feature_sets:
        ids = ",".join(map(str, features))
        prefix = "" if features == RANKER_FEATURES else f"features {ids}: "
        base = {
            "features": ids,
            "data": data,
            "train_queries": len(train),
            "test_queries": len(test),
            "repetitions": n_reps,
        }
        test_ndcg = mean_ndcg(test, features)
        train_ndcg = mean_ndcg(train, features)
        truth = truth_matrix(test_ndcg)
        clicks = {
            name: expected_clicks(train, CascadeModel.preset(name, grades=GRADES), features)
            for name in CLICK_MODELS
            if name != "random"  # 0.5 a position for every ranker
        }
        for k, (f, value, on_train) in enumerate(zip(features, test_ndcg, train_ndcg, strict=True)):
            row = {
                "case": f"{prefix}truth: NDCG@10 of feature {f}",
                "ndcg_at_10": float(value),
                "ndcg_at_10_train": float(on_train),
            }
            for name, per_ranker in clicks.items():
                row[f"clicks_{name}_train"] = float(per_ranker[k])
            rows.append({**row, **base})
        # What a flawless estimate of the *training* queries' preferences scores against the
        # test truth: the floor of E_bin where the two query sets order a pair differently.
        floor = float(binary_error(truth_matrix(train_ndcg), truth))
        rows.append(
            {"case": f"{prefix}truth: E_bin of the training-query NDCG", "e_bin": floor, **base}
        )
        for spec in specs:
            if (spec.label, features) not in results:
                continue
            strict, coin = error_curves(*results[spec.label, features], truth)
            often_wrong = wrong_pairs(*results[spec.label, features], truth, features)
            panels.setdefault(f"features {ids}", {})[spec.label] = strict
            rows_of_method = _rows_for(
                spec, strict, coin, often_wrong, points, headline, prefix, base
            )
            for row in rows_of_method:
                (rows if row["impressions"] == headline else curve_rows).append(row)
    return rows + curve_rows, {"fidelity.png": _figure(panels, points, data)}
