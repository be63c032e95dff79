"""Click models on the Yandex WSCD 2012 sample: log-likelihood and perplexity beside PyClick's.

Every click model of ``interleave.clicks`` that can be fitted from a click log without relevance
grades (GlobalCTR, RankCTR, DocumentCTR, SDBN, DCM, PBM, UBM, DBN) is fitted on ``trainSample``
and evaluated on ``testSample`` (the split of PyClick's own example), and its PyClick counterpart
(GCTR, RCTR, DCTR, SDBN, DCM, PBM, UBM, DBN, from ``../shared/anchors``) is fitted on the same
sessions with the same number of EM iterations and evaluated with PyClick's own
``LogLikelihood`` and ``Perplexity``. PyClick's cascade model CM has no counterpart here (our
``CascadeModel`` is keyed by relevance grade and the sample has none) and is shown alone; CCM is
left out (no counterpart, about 3 minutes per EM iteration).

Definitions (PyClick's ``Evaluation.py``): the log-likelihood at rank r is the mean over sessions
of ``log P(C_r = c_r | C_<r)`` (natural log) and the overall log-likelihood their mean over the 10
ranks (the same number as PyClick's per-session mean of means, every session showing 10
results); the perplexity at rank r is ``2 ** -(mean over sessions of log2 P(C_r = c_r))`` with
unconditional click probabilities and the overall perplexity their mean. Our per-rank
log-likelihood is computed here from the fitted models' public parameters (the library reports
only the overall figure); the rows check that its mean equals ``model.evaluate(...)``.

Times: our fit is the median of repeated whole fits from the polars frame (encoding included),
our evaluation the median of ``model.evaluate(test)``; PyClick's fit is one ``model.train`` on
its own session objects (built beforehand, not timed), its evaluation one ``LogLikelihood`` plus
one ``Perplexity`` pass. PyClick runs in worker processes (two at a time on this 2-core machine)
after our timings. Per EM iteration: PyClick's fit divided by its iterations; ours the slope
between our fits of 1 and of max(n, 51) iterations (``s_per_iteration``), since our fit also has
a fixed cost (encoding the log, collapsing repeated sessions, evaluating the training sessions:
``fixed_s``) that would otherwise be charged to the iterations. Run:
``python -m benchmarks clickmodels`` (``--quick``: 5,000 training and 3,000 test sessions drawn
with the seed, 5 EM iterations).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from benchmarks._anchors import load_pyclick
from benchmarks._harness import median_seconds
from benchmarks._progress import Progress
from benchmarks.clicks_speed import SAMPLE
from interleave.clicks import (
    DBN,
    DCM,
    PBM,
    SDBN,
    UBM,
    ClickModel,
    DocumentCTR,
    GlobalCTR,
    RankCTR,
    read_pyclick_sessions,
)

K = 10  # results per session in the sample
UNSEEN = 0.5  # result parameters of a (query, item) pair never seen in training (PyClick's rule)
# |ours - PyClick| below which two figures count as the same computation (float64 sums over
# 10^4-10^5 sessions in different orders differ by ~1e-15; any modelling difference is >= 1e-6).
SAME = 1e-9
# Full run: PyClick's default 50 EM iterations, but DBN at 1 (PyClick's DBN takes ~2 minutes per
# iteration on the full sample: REFERENCES §2 and anchors/SOURCE.md).
FULL = {"n_train": None, "n_test": None, "n_iterations": 50, "dbn_iterations": 1}
QUICK = {"n_train": 5000, "n_test": 3000, "n_iterations": 5, "dbn_iterations": 1}

# Why a pair does not agree, where it does not (the rows show whether it does). DBN: PyClick's EM
# (pyclick/click_models/DBN.py) is another estimator. A session without clicks counts as
# examined to the bottom with every result unattractive and may never stop (its last-click rank
# is 10), which pushes gamma towards 1; a skip below the last click uses the session's prior
# examination probability, not its posterior given the clicks. Ours is EM over the exact
# posterior (interleave/clicks/dbn.py). The evaluation formulas of the two are the same.
DIFFERENCES = {
    "DBN": "another EM: PyClick's no-click sessions never stop, its skips use prior examination",
}
# PyClick's CM gives every rank below the first click the conditional probability 1e-6
# (CM.PROB_MIN), clicked or not: its log-likelihood is dominated by log(1e-6) = -13.8.
CM_NOTE = "PyClick only (our cascade is keyed by grade); P(C_r | C_<r) = 1e-6 below the 1st click"


@dataclass(frozen=True)
class Pair:
    """One model: ours (the unfitted model for an EM iteration count) and PyClick's (class name)."""

    label: str
    ours: Callable[[int], ClickModel] | None
    pyclick: str | None  # class name in pyclick.click_models (CTR ones in .CTR)
    iterations: int  # EM iterations; 0 for a closed-form (counting) estimate
    family: str  # the key of DIFFERENCES and the plot colour


def pairs(n_iterations: int, dbn_iterations: int) -> list[Pair]:
    """The models compared, in table order."""
    n, d = n_iterations, dbn_iterations
    return [
        Pair("GlobalCTR / GCTR", lambda _: GlobalCTR(), "GCTR", 0, "GCTR"),
        Pair("RankCTR / RCTR", lambda _: RankCTR(), "RCTR", 0, "RCTR"),
        Pair("DocumentCTR / DCTR", lambda _: DocumentCTR(), "DCTR", 0, "DCTR"),
        Pair("SDBN (closed form)", lambda _: SDBN(), "SDBN", 0, "SDBN"),
        Pair("DCM (closed form)", lambda _: DCM(), "DCM", 0, "DCM"),
        Pair(f"PBM EM({n})", lambda i: PBM(n_iterations=i), "PBM", n, "PBM"),
        Pair(f"UBM EM({n})", lambda i: UBM(n_iterations=i), "UBM", n, "UBM"),
        Pair(f"DBN EM({d})", lambda i: DBN(n_iterations=i), "DBN", d, "DBN"),
        # Ours only: the maximum-likelihood fits PyClick does not have.
        Pair(f"SDBN EM({n})", lambda i: SDBN(estimator="em", n_iterations=i), None, n, "SDBN-EM"),
        Pair(f"DCM EM({n})", lambda i: DCM(estimator="em", n_iterations=i), None, n, "DCM-EM"),
        Pair(f"DBN EM({n})", lambda i: DBN(n_iterations=i), None, n, "DBN-EM"),
        # PyClick only: the cascade model keyed by document.
        Pair("CM (PyClick only)", None, "CM", 0, "CM"),
    ]


# -- data -------------------------------------------------------------------------------------


def load_sample(
    n_train: int | None, n_test: int | None, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The train and test sessions, each a seeded sample without replacement when ``n_`` is set.

    A sample keeps every query in proportion (the files are grouped by query, so a head would not).
    """
    train = read_pyclick_sessions(SAMPLE / "trainSample.gz")
    test = read_pyclick_sessions(SAMPLE / "testSample.gz")
    if n_train is not None and n_train < train.height:
        train = train.sample(n_train, seed=seed)
    if n_test is not None and n_test < test.height:
        test = test.sample(n_test, seed=seed + 1)
    return train, test


def _matrix(sessions: pl.DataFrame, column: str, dtype: Any) -> np.ndarray:
    return sessions[column].explode().to_numpy().reshape(sessions.height, K).astype(dtype)


# -- our per-rank log-likelihood, from the public parameters ----------------------------------


def _document_values(model: ClickModel, sessions: pl.DataFrame, names: list[str]) -> dict:
    """Each result parameter in ``names`` for every shown (query, item), shape (n, k)."""
    table = model.documents.select("query", "item", *names)
    shown = (
        sessions.select("query", "items")
        .explode("items")
        .rename({"items": "item"})
        .with_columns(pl.int_range(pl.len()).alias("cell"))
    )
    joined = shown.join(table, on=["query", "item"], how="left").sort("cell")
    return {
        name: joined[name].fill_null(UNSEEN).to_numpy().reshape(sessions.height, K)
        for name in names
    }


def _chain(attr: np.ndarray, cont_click: Any, cont_skip: Any, clicks: np.ndarray) -> np.ndarray:
    """``P(C_r = c_r | C_<r)`` of a cascade-family model (examine, click with ``attr``, go on
    with ``cont_click`` after a click and ``cont_skip`` after a skip), forward over the ranks."""
    n = attr.shape[0]
    cc = np.broadcast_to(cont_click, attr.shape)
    cs = np.broadcast_to(cont_skip, attr.shape)
    out = np.empty(attr.shape)
    examined = np.ones(n)  # P(E_r = 1 | C_<r)
    for r in range(K):
        p_click = examined * attr[:, r]
        out[:, r] = np.where(clicks[:, r], p_click, 1.0 - p_click)
        # After a skip: P(E_r = 1 | no click) = E (1 - a) / (1 - E a), then go on with cs.
        after_skip = examined * (1.0 - attr[:, r]) / (1.0 - p_click) * cs[:, r]
        examined = np.where(clicks[:, r], cc[:, r], after_skip)
    return out


def conditional_probabilities(model: ClickModel, sessions: pl.DataFrame) -> np.ndarray:
    """``P(C_r = c_r | C_<r = c_<r)`` of each observed click or skip, shape (n, k).

    Built from the fitted model's public parameters (``documents``, ``examination``,
    ``continuation``, ``click_probabilities``): the library exposes only the mean of its log.
    """
    clicks = _matrix(sessions, "clicks", bool)
    if isinstance(model, GlobalCTR | RankCTR | DocumentCTR | PBM):
        # Clicks independent across ranks: conditional = unconditional.
        if isinstance(model, GlobalCTR | RankCTR):
            p = model.click_probabilities(items=_matrix(sessions, "items", np.int64))
        else:
            p = model.click_probabilities(query=sessions["query"], items=sessions["items"])
        return np.where(clicks, p, 1.0 - p)
    if isinstance(model, UBM):
        a = _document_values(model, sessions, ["attractiveness"])["attractiveness"]
        marks = np.where(clicks, np.arange(1, K + 1), 0)
        previous = np.zeros_like(marks)  # 0: no click above; 1 + rank of the last click above
        previous[:, 1:] = np.maximum.accumulate(marks, axis=1)[:, :-1]
        p = model.examination[np.arange(K), previous] * a
        return np.where(clicks, p, 1.0 - p)
    if isinstance(model, DCM):
        a = _document_values(model, sessions, ["attractiveness"])["attractiveness"]
        return _chain(a, model.continuation[None, :], 1.0, clicks)
    if isinstance(model, DBN):  # SDBN is a DBN with continuation 1
        v = _document_values(model, sessions, ["attractiveness", "satisfaction"])
        gamma = model.continuation
        return _chain(v["attractiveness"], gamma * (1.0 - v["satisfaction"]), gamma, clicks)
    msg = f"no per-rank log-likelihood for {type(model).__name__}"
    raise TypeError(msg)


# -- PyClick ----------------------------------------------------------------------------------


def _pyclick_modules() -> tuple[Any, str]:
    """PyClick's click models, session classes and evaluations, or None and the reason."""
    package, reason = load_pyclick()
    if package is None:
        return None, reason
    with warnings.catch_warnings():
        # PyClick's sources warn when compiled (`is 0`: SyntaxWarning; "\\mathbf" in a
        # docstring: DeprecationWarning); its folder is read-only, so that is at every import.
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        # By module path: pyclick.click_models re-exports classes named like its modules (CTR).
        module = {
            name: importlib.import_module(f"pyclick.{path}")
            for name, path in (
                ("models", "click_models"),
                ("ctr", "click_models.CTR"),
                ("evaluation", "click_models.Evaluation"),
                ("inference", "click_models.Inference"),
                ("session", "search_session.SearchSession"),
                ("result", "search_session.SearchResult"),
            )
        }
    module["session"] = module["session"].SearchSession
    module["result"] = module["result"].SearchResult
    return module, ""


def _pyclick_sessions(modules: dict, sessions: pl.DataFrame) -> list:
    session_class, result_class = modules["session"], modules["result"]
    out = []
    for query, items, clicks in zip(
        sessions["query"].to_list(),
        sessions["items"].to_list(),
        sessions["clicks"].to_list(),
        strict=True,
    ):
        session = session_class(query)
        session.web_results = [
            result_class(item, int(click)) for item, click in zip(items, clicks, strict=True)
        ]
        out.append(session)
    return out


def _pyclick_model(modules: dict, name: str, iterations: int) -> Any:
    if name in ("GCTR", "RCTR", "DCTR"):
        return getattr(modules["ctr"], name)()
    model = getattr(modules["models"], name)()
    if iterations:
        # Every EM model takes its iterations from its inference object; a fresh one per model
        # (UBM's and DBN's constructor default is one instance shared by every model).
        model._inference = modules["inference"].EMInference(iterations)
    return model


def pyclick_run(job: tuple[str, int, pl.DataFrame, pl.DataFrame]) -> dict[str, Any]:
    """Fit PyClick's ``name`` on the train sessions, evaluate it on the test sessions.

    Runs in a worker process: returns plain numbers (times, overall and per-rank figures).
    """
    name, iterations, train, test = job
    modules, reason = _pyclick_modules()
    if modules is None:
        return {"error": reason}
    train_sessions = _pyclick_sessions(modules, train)
    test_sessions = _pyclick_sessions(modules, test)
    model = _pyclick_model(modules, name, iterations)
    start = time.perf_counter()
    model.train(train_sessions)
    fit_seconds = time.perf_counter() - start
    evaluation = modules["evaluation"]
    start = time.perf_counter()
    log_likelihood = evaluation.LogLikelihood().evaluate(model, test_sessions)
    perplexity, perplexity_by_rank = evaluation.Perplexity().evaluate(model, test_sessions)
    evaluate_seconds = time.perf_counter() - start
    # The per-rank log-likelihood from PyClick's own conditional probabilities (not timed).
    log_conditional = np.log(
        np.array([model.get_conditional_click_probs(s) for s in test_sessions], dtype=np.float64)
    )
    return {
        "fit_seconds": fit_seconds,
        "evaluate_seconds": evaluate_seconds,
        "log_likelihood": float(log_likelihood),
        "perplexity": float(perplexity),
        "perplexity_by_rank": [float(x) for x in perplexity_by_rank],
        "log_likelihood_by_rank": log_conditional.mean(axis=0).tolist(),
    }


def _pyclick_cost(name: str, iterations: int) -> float:
    """Rough relative cost of a PyClick fit: one DBN EM iteration is ~50 of PBM's (measured)."""
    return max(iterations, 1) * (50.0 if name == "DBN" else 1.0)


def _run_pyclick(
    jobs: dict[str, tuple[str, int, pl.DataFrame, pl.DataFrame]], workers: int
) -> dict[str, dict[str, Any]]:
    """Every job, slowest first, in ``workers`` processes (in this process when 1)."""
    order = sorted(jobs, key=lambda label: -_pyclick_cost(*jobs[label][:2]))
    results: dict[str, dict[str, Any]] = {}
    with Progress("clickmodels: PyClick fits", len(order)) as bar:
        if workers <= 1:
            for label in order:
                results[label] = pyclick_run(jobs[label])
                bar.advance()
        else:
            # spawn, not fork: polars' thread pool does not survive a fork safely.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                futures = {label: pool.submit(pyclick_run, jobs[label]) for label in order}
                for label in order:
                    results[label] = futures[label].result()
                    bar.advance()
    return results


# -- ours -------------------------------------------------------------------------------------


# An EM fit's cost per iteration is the slope between fits of 1 and of this many iterations (or
# of the pair's own count when larger): a fit also encodes the log, collapses repeated sessions
# and evaluates the training sessions, a fixed cost that dominates a single iteration. 51: with
# 11, PBM's and UBM's slopes (0.2-1.2 ms an iteration against a 0.12-0.17 s fixed cost) came out
# negative in a saved run, lost in the noise of single fits; 50 iterations stand well above it.
SLOPE_ITERATIONS = 51


def ours_run(pair: Pair, train: pl.DataFrame, test: pl.DataFrame, repeat: int) -> dict[str, Any]:
    """Fit and evaluate one of our models: times (medians of ``repeat``), overall and per-rank
    figures."""
    timing = {"min_time": 0.0, "repeat": repeat}  # a whole fit lasts well over a timer tick

    def fit_time(iterations: int) -> float:
        model = pair.ours(iterations)
        return median_seconds(lambda: model.fit(train), **timing)

    fit_seconds = fit_time(pair.iterations)
    per_iteration = {}
    if pair.iterations:
        many = max(pair.iterations, SLOPE_ITERATIONS)
        t_one = fit_seconds if pair.iterations == 1 else fit_time(1)
        t_many = fit_seconds if pair.iterations == many else fit_time(many)
        slope = (t_many - t_one) / (many - 1)
        per_iteration = {"iteration_seconds": slope, "fixed_seconds": t_one - slope}
    fitted = pair.ours(pair.iterations).fit(train)
    evaluate_seconds = median_seconds(lambda: fitted.evaluate(test), **timing)
    evaluation = fitted.evaluate(test)
    by_rank = np.log(conditional_probabilities(fitted, test)).mean(axis=0)
    return {
        "fit_seconds": fit_seconds,
        **per_iteration,
        "evaluate_seconds": evaluate_seconds,
        "log_likelihood": evaluation.log_likelihood,
        "perplexity": evaluation.perplexity,
        "perplexity_by_rank": list(evaluation.perplexity_by_rank),
        "log_likelihood_by_rank": by_rank.tolist(),
        # The per-rank figures computed here against the library's own overall figure.
        "rank_mean_minus_evaluate": float(by_rank.mean() - evaluation.log_likelihood),
    }


# -- rows -------------------------------------------------------------------------------------


def _summary_row(
    pair: Pair, ours: dict | None, theirs: dict | None, reason: str, sizes: str
) -> dict[str, Any]:
    row: dict[str, Any] = {"case": pair.label, "sessions": sizes}
    row["em_iterations"] = pair.iterations or "closed form"
    if ours is not None:
        row.update(
            ll=round(ours["log_likelihood"], 6),
            perplexity=round(ours["perplexity"], 6),
            fit_s=ours["fit_seconds"],
            evaluate_s=ours["evaluate_seconds"],
        )
        if pair.iterations:
            row["s_per_iteration"] = ours["iteration_seconds"]
            row["fixed_s"] = ours["fixed_seconds"]
    if theirs is not None:
        row.update(
            pyclick_ll=round(theirs["log_likelihood"], 6),
            pyclick_perplexity=round(theirs["perplexity"], 6),
            pyclick_fit_s=theirs["fit_seconds"],
            pyclick_evaluate_s=theirs["evaluate_seconds"],
        )
    if ours is not None and theirs is not None:
        ll_diff = ours["log_likelihood"] - theirs["log_likelihood"]
        ppl_diff = ours["perplexity"] - theirs["perplexity"]
        rank_ll = np.subtract(ours["log_likelihood_by_rank"], theirs["log_likelihood_by_rank"])
        rank_ppl = np.subtract(ours["perplexity_by_rank"], theirs["perplexity_by_rank"])
        worst = float(max(np.abs(rank_ll).max(), np.abs(rank_ppl).max()))
        row.update(
            ll_minus_pyclick=float(f"{ll_diff:.3g}"),
            perplexity_minus_pyclick=float(f"{ppl_diff:.3g}"),
            max_rank_abs_diff=float(f"{worst:.3g}"),
            same_as_pyclick=bool(max(abs(ll_diff), abs(ppl_diff), worst) <= SAME),
            fit_speedup=round(theirs["fit_seconds"] / ours["fit_seconds"], 1),
            evaluate_speedup=round(theirs["evaluate_seconds"] / ours["evaluate_seconds"], 1),
        )
        if pair.iterations:
            # PyClick's fixed cost is small (a copy of the model per iteration is in the slope).
            row["pyclick_s_per_iteration"] = theirs["fit_seconds"] / pair.iterations
            if ours["iteration_seconds"] > 0:  # a slope lost in timing noise gives no ratio
                row["iteration_speedup"] = round(
                    row["pyclick_s_per_iteration"] / ours["iteration_seconds"]
                )
        if not row["same_as_pyclick"]:
            row["why"] = DIFFERENCES.get(pair.family, "unexplained: investigate")
    elif pair.pyclick is None:
        row["pyclick"] = "no PyClick counterpart"
    elif pair.ours is None:
        row["pyclick"] = CM_NOTE
    else:
        row["pyclick"] = reason
    if ours is not None:
        row["ranks_mean_minus_ll"] = float(f"{ours['rank_mean_minus_evaluate']:.3g}")
    return row


def _rank_rows(label: str, side: str, result: dict) -> list[dict[str, Any]]:
    rows = []
    for metric, key in (("ll", "log_likelihood_by_rank"), ("perplexity", "perplexity_by_rank")):
        row: dict[str, Any] = {"case": f"by rank: {label}, {metric}, {side}"}
        row.update({f"r{r + 1}": round(v, 5) for r, v in enumerate(result[key])})
        rows.append(row)
    return rows


def _figure(results: dict[str, dict[str, dict]], families: dict[str, str]) -> Any:
    from matplotlib import colormaps
    from matplotlib.figure import Figure  # no pyplot: no global registry, no GUI backend

    fig = Figure(figsize=(15, 6.5))
    perplexity, likelihood, gap = fig.subplots(1, 3)
    ranks = np.arange(1, K + 1)
    palette = colormaps["tab20"].colors
    # The dark tab20 colours first, then the light ones: 20 distinct, the same every run.
    order = dict.fromkeys(families.values())
    colours = {f: palette[(2 * i) % 20 + (2 * i) // 20] for i, f in enumerate(order)}
    for label, sides in results.items():
        colour = colours[families[label]]
        for side, style, marker in (("ours", "-", "o"), ("pyclick", "--", "x")):
            if side not in sides:
                continue
            result = sides[side]
            name = f"{label} ({'ours' if side == 'ours' else 'PyClick'})"
            line = {"ls": style, "marker": marker, "ms": 4, "lw": 1.2, "color": colour}
            perplexity.plot(ranks, result["perplexity_by_rank"], label=name, **line)
            if families[label] != "CM":  # off the scale: PyClick's 1e-6 below the first click
                likelihood.plot(ranks, result["log_likelihood_by_rank"], **line)
        if len(sides) == 2:
            diff = np.abs(
                np.subtract(
                    sides["ours"]["perplexity_by_rank"], sides["pyclick"]["perplexity_by_rank"]
                )
            )
            gap.plot(ranks, np.maximum(diff, 1e-17), color=colour, marker="o", ms=4, lw=1.2)
    perplexity.set_title("perplexity per rank: ours solid, PyClick dashed")
    perplexity.set_ylabel("perplexity at rank (lower is better)")
    likelihood.set_title("log-likelihood per rank (PyClick's CM off scale, left out)")
    likelihood.set_ylabel("mean log P(C_r = c_r | C_<r) (higher is better)")
    gap.set_title("|ours - PyClick| of the perplexity at rank")
    gap.set_yscale("log")
    gap.set_ylabel("absolute difference (1e-17 where exactly equal)")
    for axis in (perplexity, likelihood, gap):
        axis.set_xlabel("rank")
        axis.set_xticks(ranks)
        axis.grid(alpha=0.3)
    fig.legend(loc="lower center", ncol=6, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig


def run(
    quick: bool,
    seed: int = 0,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    n_iterations: int | None = None,
    dbn_iterations: int | None = None,
    workers: int = 2,
    repeat: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Summary rows per model, per-rank rows, and ``clickmodels.png``.

    The keyword arguments shrink the run for smoke tests (sessions drawn with ``seed``);
    ``workers`` runs PyClick's fits in that many processes (1: in this one), ``repeat`` is the
    number of timed calls behind each of our medians.
    """
    size = dict(QUICK if quick else FULL)
    overrides = {
        "n_train": n_train,
        "n_test": n_test,
        "n_iterations": n_iterations,
        "dbn_iterations": dbn_iterations,
    }
    size.update({key: value for key, value in overrides.items() if value is not None})
    if not SAMPLE.is_dir():
        reason = f"skipped: the Yandex sample is not at {SAMPLE} (set INTERLEAVE_SHARED_DATA)"
        return [{"case": reason}], {}
    load_start = os.getloadavg()[0]
    train, test = load_sample(size["n_train"], size["n_test"], seed)
    sizes = f"{train.height:,} train / {test.height:,} test"
    models = pairs(size["n_iterations"], size["dbn_iterations"])
    ours: dict[str, dict] = {}
    with Progress("clickmodels: our fits", sum(p.ours is not None for p in models)) as bar:
        for pair in models:
            if pair.ours is not None:
                ours[pair.label] = ours_run(pair, train, test, repeat or (3 if quick else 7))
                bar.advance()
    modules, reason = _pyclick_modules()
    theirs: dict[str, dict] = {}
    if modules is not None:
        jobs = {
            p.label: (p.pyclick, p.iterations, train, test) for p in models if p.pyclick is not None
        }
        theirs = {k: v for k, v in _run_pyclick(jobs, workers).items() if "error" not in v}
    rows = [_summary_row(p, ours.get(p.label), theirs.get(p.label), reason, sizes) for p in models]
    results: dict[str, dict[str, dict]] = {}
    for p in models:
        sides = {"ours": ours.get(p.label), "pyclick": theirs.get(p.label)}
        results[p.label] = {side: r for side, r in sides.items() if r is not None}
        for side, result in results[p.label].items():
            rows.extend(_rank_rows(p.label, "ours" if side == "ours" else "PyClick", result))
    rows.append(
        {
            "case": f"machine load average (1 min) at start {load_start:.1f}, at end "
            f"{os.getloadavg()[0]:.1f}, on {os.cpu_count()} CPUs; PyClick in {workers} "
            f"process(es); seed {seed}"
        }
    )
    families = {p.label: p.family for p in models}
    return rows, {"clickmodels.png": _figure(results, families)}
