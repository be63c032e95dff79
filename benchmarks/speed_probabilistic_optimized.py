"""Probabilistic and Optimized interleaving speed, side by side with mpkato/interleaving.

Median per call, in one process on the same inputs: two rankings of n items sharing half of
them (the second shuffled), clicks on 3 positions. Ours runs the live-API path (a fresh request
key per call, validation, the full record); mpkato binds the rankings to the method object and
draws from numpy's global state. ``ratio`` is ours / mpkato (below 1: ours is faster). mpkato is
loaded from ``../shared/anchors`` (``benchmarks/_anchors.py``); where it is absent the comparison
is skipped and the rows say why. Also: cold LP solves, the batch path, the flow program's share of
the paper's sensitivity, and the time of ``import interleave`` beside ``import numpy,
scipy.stats`` (fresh interpreters).
Run: ``python -m benchmarks speed_probabilistic_optimized``.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

from benchmarks._anchors import load_mpkato
from benchmarks._harness import median_seconds
from interleave.methods import optimized
from interleave.methods.optimized import Optimized, TooManyCandidates
from interleave.methods.optimized_lp import list_sensitivity
from interleave.methods.probabilistic import Probabilistic


def rankings(n: int, seed: int = 0) -> list[list[int]]:
    """Two rankings of n items sharing half of them, the second in a shuffled order."""
    rng = np.random.default_rng(seed)
    a = list(range(n))
    b = [int(x) for x in rng.permutation(np.arange(n // 2, n + n // 2))]
    return [a, b]


def clicks_for(n: int) -> list[int]:
    return [1, n // 3, (2 * n) // 3]


def run(quick: bool = False) -> list[dict]:
    min_time = 0.05 if quick else 0.5
    mpkato, why = load_mpkato()
    rows: list[dict] = []
    rows += _probabilistic_rows(mpkato, why, min_time)
    rows += _optimized_rows(mpkato, why, min_time, quick)
    rows += _batch_rows(quick)
    rows.append(_sensitivity_ratio(20 if quick else 60))
    rows += _import_rows(3 if quick else 9)
    return rows


# -- side by side ---------------------------------------------------------------------------------


def _pair_row(case: str, n: int, ours: float, theirs: float | None, note: str = "") -> dict:
    row: dict[str, Any] = {"case": case, "n": n, "ours_us": ours * 1e6}
    if theirs is None:
        row["mpkato_us"] = "-"
        row["ratio"] = "-"
    else:
        row["mpkato_us"] = theirs * 1e6
        row["ratio"] = ours / theirs
    row["note"] = note
    return row


def _probabilistic_rows(mpkato: Any, why: str, min_time: float) -> list[dict]:
    rows = []
    for n in (10, 100, 1000):
        pair = rankings(n)
        method = Probabilistic()
        keys = iter(range(10**9))
        ours = median_seconds(
            lambda m=method, p=pair, k=keys: m.interleave(p, key=f"request-{next(k)}", seed=7),
            min_time=min_time,
        )
        theirs, note = None, why
        if mpkato is not None:
            incumbent = mpkato.Probabilistic(pair, max_length=n)
            theirs = median_seconds(incumbent.interleave, min_time=min_time)
            note = ""
        rows.append(_pair_row("Probabilistic.interleave", n, ours, theirs, note))

        il = method.interleave(pair, key="request-42", seed=7)
        clicks = clicks_for(n)
        ours = median_seconds(lambda m=method, i=il, c=clicks: m.credit(i, c), min_time=min_time)
        theirs, note = None, why
        if mpkato is not None and n <= 10:
            shown = mpkato.Probabilistic(pair, max_length=n).interleave()
            theirs = median_seconds(
                lambda s=shown, c=clicks: mpkato.Probabilistic.compute_scores(s, c),
                min_time=min_time,
                repeat=3,
            )
            note = "mpkato enumerates all 2^n assignments of the shown list"
        elif mpkato is not None:
            note = f"mpkato not timed: it enumerates 2^{n} assignments (Hofmann et al.'s method)"
        rows.append(_pair_row("Probabilistic.credit", n, ours, theirs, note))
    return rows


def _optimized_rows(mpkato: Any, why: str, min_time: float, quick: bool) -> list[dict]:
    rows = []
    pair = rankings(10)
    method = Optimized()
    solution = method.solve(pair)  # solved once: the per-request path samples a cached solution
    keys = iter(range(10**9))
    ours = median_seconds(
        lambda k=keys: method.interleave(pair, key=f"request-{next(k)}", seed=7),
        min_time=min_time,
    )
    draw = np.random.default_rng(0).random(solution.n_uniforms).tolist()
    sample_only = median_seconds(lambda: solution.sample(draw), min_time=min_time)
    theirs, note = None, why
    if mpkato is not None:
        # mpkato solves its LP over `sample_num` sampled lists in the constructor.
        incumbent = mpkato.Optimized(pair, sample_num=100)
        theirs = median_seconds(incumbent.interleave, min_time=min_time)
        note = (
            f"ours: full request (validation, key digest, record); the draw from the solved "
            f"distribution alone takes {sample_only * 1e6:.2f} us"
        )
    rows.append(_pair_row("Optimized.interleave (solved)", 10, ours, theirs, note))

    il = method.interleave(pair, key="request-42", seed=7)
    ours = median_seconds(lambda: method.credit(il, clicks_for(10)), min_time=min_time)
    theirs, note = None, why
    if mpkato is not None:
        shown = mpkato.Optimized(pair, sample_num=100).interleave()
        theirs = median_seconds(
            lambda: mpkato.Optimized.compute_scores(shown, clicks_for(10)), min_time=min_time
        )
        note = ""
    rows.append(_pair_row("Optimized.credit", 10, ours, theirs, note))

    for n in (10, 100):
        pair = rankings(n)

        def cold(p=pair):
            optimized._cached_solution.cache_clear()
            return method.solve(p)

        ours = median_seconds(cold, min_time=min_time, repeat=3 if quick else 7)
        theirs, note = None, why
        if mpkato is not None:
            start = time.perf_counter()
            try:
                mpkato.Optimized(pair, sample_num=100)
                theirs = time.perf_counter() - start
                note = "mpkato: LP over 100 sampled lists (not all candidates)"
            except Exception as error:  # the incumbent's failure is the measurement
                note = f"mpkato fails: {type(error).__name__}: {str(error)[:60]}"
        solution = method.solve(pair)
        note += f"; ours: {solution.formulation} program, {solution.n_candidates:.3g} candidates"
        rows.append(_pair_row("Optimized LP solve (cold)", n, ours, theirs, note))

    # A refusal costs the counting pass up to the bound, never the graph (issue 13).
    for n in (3000, 100_000):
        pair = [list(range(n)), list(range(n, 2 * n))]
        optimized._cached_solution.cache_clear()
        start = time.perf_counter()
        with contextlib.suppress(TooManyCandidates):
            Optimized().solve(pair)
        rows.append(
            _pair_row(
                "Optimized refusal (TooManyCandidates)", n, time.perf_counter() - start, None, ""
            )
        )
    return rows


def _batch_rows(quick: bool) -> list[dict]:
    n_impressions = 20_000 if quick else 100_000
    rows = []
    for method in (Probabilistic(length=10), Optimized(length=10)):
        pair = rankings(10)
        clicks_rng = np.random.default_rng(1)
        start = time.perf_counter()
        batch = method.interleave_batch(pair, n_impressions, rng=0)
        clicks = (clicks_rng.random(batch.shape) < 0.2) & batch.shown
        method.credit_batch(batch, clicks)
        rows.append(
            {
                "case": f"{type(method).__name__} batch interleave+credit",
                "n": 10,
                "impressions_per_s": n_impressions / (time.perf_counter() - start),
            }
        )
    return rows


def _sensitivity_ratio(n_pairs: int) -> dict:
    """Paper's sensitivity reached by the flow program relative to the lists optimum (n=8)."""
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(n_pairs):
        pool = rng.permutation(12)
        a = pool[:8].tolist()
        b = rng.permutation(np.concatenate([pool[:4], pool[8:12]])).tolist()
        values = []
        for formulation in ("lists", "flow"):
            dist = Optimized(formulation=formulation).solve([a, b]).lists()
            signs = np.array(
                [[np.sign(_rank(x, b) - _rank(x, a)) for x in items] for items in dist]
            )
            values.append(float(list_sensitivity(signs) @ np.array(list(dist.values()))))
        ratios.append(values[1] / values[0])
    return {
        "case": f"Optimized flow / lists sensitivity (paper's objective), {n_pairs} pairs",
        "n": 8,
        "ratio_mean": float(np.mean(ratios)),
        "ratio_min": float(np.min(ratios)),
    }


def _rank(item, ranking) -> int:
    return ranking.index(item) + 1 if item in ranking else 9


def _import_seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def _import_rows(repeat: int) -> list[dict]:
    rows = []
    for statement in ("import interleave", "import numpy, scipy.stats"):
        seconds = statistics.median(_import_seconds(statement) for _ in range(repeat))
        rows.append({"case": f"`{statement}` (fresh interpreter, median)", "seconds": seconds})
    return rows
