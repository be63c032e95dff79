"""Probabilistic and Optimized interleaving speed: per-request calls, credit, LP solves, batch.

Median per call, two rankings of n items with 50% overlap (shuffled), keyed randomness (the
live-API path), clicks on 3 positions. "LP solve" is a cold solve (cache cleared before every
call); interleave calls after the first reuse the cached solution. Targets from issue 2;
incumbent figures (mpkato/interleaving) from REFERENCES §1.
Run: ``python -m benchmarks speed_probabilistic_optimized``.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from benchmarks._harness import median_seconds
from interleave import optimized
from interleave.methods.optimized import Optimized, TooManyCandidates, _list_sensitivity
from interleave.methods.probabilistic import Probabilistic

# (case, n) -> (target in microseconds or None, incumbent text)
TARGETS = {
    ("Probabilistic.interleave", 10): (None, "90"),
    ("Probabilistic.interleave", 100): (None, "897"),
    ("Probabilistic.credit", 10): (200.0, "26,882"),
    ("Probabilistic.credit", 100): (2000.0, "infeasible (2^n)"),
    ("Optimized LP solve", 10): (None, "29,000"),
    ("Optimized LP solve", 100): (1_000_000.0, "crash (TypeError)"),
}


def rankings(n: int, seed: int = 0) -> list[list[int]]:
    """Two rankings of n items sharing half of them, the second in a shuffled order."""
    rng = np.random.default_rng(seed)
    a = list(range(n))
    b = [int(x) for x in rng.permutation(np.arange(n // 2, n + n // 2))]
    return [a, b]


def clicks_for(n: int) -> list[int]:
    return [1, n // 3, (2 * n) // 3]


def run(quick: bool = False) -> list[dict]:
    rows = []
    min_time = 0.05 if quick else 0.5

    for n in (10, 100):
        pair = rankings(n)
        method = Probabilistic()
        counter = iter(range(10**9))
        seconds = median_seconds(
            lambda m=method, p=pair, c=counter: m.interleave(p, key=f"request-{next(c)}", seed=7),
            min_time=min_time,
        )
        rows.append(_row("Probabilistic.interleave", n, seconds))
        il = method.interleave(pair, key="request-42", seed=7)
        clicks = clicks_for(n)
        seconds = median_seconds(lambda m=method, i=il, c=clicks: m.credit(i, c), min_time=min_time)
        rows.append(_row("Probabilistic.credit", n, seconds))

    four = [list(range(10)), list(range(5, 15)), list(range(10))[::-1], list(range(3, 13))]
    method = Probabilistic()
    il = method.interleave(four, key="request-42", seed=7)
    seconds = median_seconds(lambda: method.credit(il, clicks_for(10)), min_time=min_time)
    rows.append(_row("Probabilistic.credit, 4 rankers", 10, seconds))
    sampled = Probabilistic(credit_samples=1000)
    il = sampled.interleave(four, key="request-42", seed=7)
    seconds = median_seconds(lambda: sampled.credit(il, clicks_for(10)), min_time=min_time)
    rows.append(_row("Probabilistic.credit, 4 rankers, 1000 samples", 10, seconds))

    n_impressions = 20_000 if quick else 100_000
    method = Probabilistic(length=10)
    pair = rankings(10)
    clicks = np.random.default_rng(1).random((n_impressions, 10)) < 0.2
    start = time.perf_counter()
    batch = method.interleave_batch(pair, n_impressions, rng=0)
    method.credit_batch(batch, clicks)
    rows.append(
        {
            "case": "Probabilistic batch interleave+credit, n=10",
            "impressions_per_s": n_impressions / (time.perf_counter() - start),
        }
    )

    for n in (10, 100):
        pair = rankings(n)
        method = Optimized()

        def cold(m=method, p=pair):
            optimized._cached_solution.cache_clear()
            return m.solve(p)

        seconds = median_seconds(cold, min_time=min_time, repeat=3 if quick else 7)
        solution = method.solve(pair)
        row = _row("Optimized LP solve", n, seconds)
        row["formulation"] = solution.formulation
        row["candidate_lists"] = f"{solution.n_candidates:.3g}"
        row["max_abs_bias"] = max(abs(b) for b in solution.bias)
        rows.append(row)
        counter = iter(range(10**9))
        seconds = median_seconds(
            lambda m=method, p=pair, c=counter: m.interleave(p, key=f"request-{next(c)}", seed=7),
            min_time=min_time,
        )
        rows.append(_row("Optimized.interleave (cached LP)", n, seconds))
        il = method.interleave(pair, key="request-42", seed=7)
        clicks = clicks_for(n)
        seconds = median_seconds(lambda m=method, i=il, c=clicks: m.credit(i, c), min_time=min_time)
        rows.append(_row("Optimized.credit", n, seconds))

    # The paper's program at its largest default size (disjoint rankings of 14: 16,384 lists).
    pair = [list(range(14)), list(range(14, 28))]
    method = Optimized(formulation="lists")

    def cold_lists():
        optimized._cached_solution.cache_clear()
        return method.solve(pair)

    row = _row("Optimized LP solve, lists, disjoint", 14, median_seconds(cold_lists, repeat=3))
    row["formulation"] = "lists"
    row["candidate_lists"] = f"{method.solve(pair).n_candidates:.3g}"
    rows.append(row)

    # The paper's program refused at n=100: how long the clear failure takes.
    pair = rankings(100)
    method = Optimized(formulation="lists")
    start = time.perf_counter()
    optimized._cached_solution.cache_clear()
    with contextlib.suppress(TooManyCandidates):
        method.solve(pair)
    row = _row("Optimized LP solve, lists (refused: TooManyCandidates)", 100, 0.0)
    row["median_us"] = (time.perf_counter() - start) * 1e6
    rows.append(row)

    rows.append(_sensitivity_ratio(20 if quick else 60))
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
            values.append(float(_list_sensitivity(signs) @ np.array(list(dist.values()))))
        ratios.append(values[1] / values[0])
    return {
        "case": f"Optimized flow / lists sensitivity (paper's objective), n=8, {n_pairs} pairs",
        "ratio_mean": float(np.mean(ratios)),
        "ratio_min": float(np.min(ratios)),
    }


def _rank(item, ranking) -> int:
    return ranking.index(item) + 1 if item in ranking else 9


def _row(case: str, n: int, seconds: float) -> dict:
    target, incumbent = TARGETS.get((case, n), (None, None))
    micro = seconds * 1e6
    row = {"case": f"{case}, n={n}", "median_us": micro}
    row["target"] = "-" if target is None else f"<= {target:,.0f} us"
    row["incumbent_us"] = incumbent or "-"
    row["meets"] = "-" if target is None else micro <= target
    return row
