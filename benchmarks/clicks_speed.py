"""Click models: simulation and fitting speed, peak memory, and fit quality against PyClick.

Cascade simulation of 1,000,000 impressions of 10 results (median of repeated calls), and every
model fitted on the 35,064 training sessions of the Yandex WSCD 2012 sample and evaluated on its
21,413 test sessions (one core). PyClick's times and figures are REFERENCES §2 (PyClick @98e7e46,
CPython 3.11, one core). Targets from issue 3: PBM and UBM EM(50) <= 1 s, DBN EM(50) <= 10 s,
peak memory <= 500 MB, cascade simulation of 10^6 x 10 <= 1 s. Peak memory is tracemalloc's peak
of Python and numpy allocations during the case; the last row is the process peak RSS (ru_maxrss,
which also counts polars' native buffers). Run: ``python -m benchmarks clicks_speed``.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._harness import median_seconds
from interleave.clicks import (
    DBN,
    DCM,
    PBM,
    SDBN,
    UBM,
    CascadeModel,
    ClickModel,
    DocumentCTR,
    GlobalCTR,
    RankCTR,
    UserPopulation,
    read_pyclick_sessions,
)

SHARED = Path(
    os.environ.get(
        "INTERLEAVE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
SAMPLE = SHARED / "yandex_wscd2012_relpred_pyclick_sample"

# name -> (PyClick train seconds, test log-likelihood, test perplexity), REFERENCES §2.
PYCLICK = {
    "SDBN (closed form)": (1.9, -0.3713, 1.4359),
    "DCM (closed form)": (1.1, -0.3776, 1.4416),
    "PBM EM(50)": (110.6, -0.3525, 1.4337),
    "UBM EM(50)": (170.3, -0.3240, 1.4342),
    "DBN EM(1)": (117.0, -0.3506, 1.4528),  # "112-122 s" in SOURCE.md: midpoint
    "DBN EM(10)": (1019.0, -0.3581, 1.4397),
}
# name -> target seconds (issue 3)
TARGETS = {"PBM EM(50)": 1.0, "UBM EM(50)": 1.0, "DBN EM(50)": 10.0}


def _peak_mb(fn: Any) -> tuple[Any, float]:
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak / 2**20


def _simulation_rows(quick: bool) -> list[dict]:
    rows = []
    n = 200_000 if quick else 1_000_000
    rng = np.random.default_rng(0)
    relevance = rng.integers(0, 3, size=(n, 10))
    model = CascadeModel.preset("navigational", grades=3)
    population = UserPopulation.sample(10_000, rng=1)
    users = population.draw_users(n, rng=2)
    cases = [
        ("cascade simulate, navigational 3 grades", lambda: model.simulate(relevance, rng=rng)),
        (
            "cascade simulate, every_rank stop",
            lambda: CascadeModel.preset("navigational", grades=3, stop="every_rank").simulate(
                relevance, rng=rng
            ),
        ),
        (
            "cascade simulate, 10,000-user population",
            lambda: population.simulate(model, users, relevance, rng=rng),
        ),
        (
            "PBM simulate, 1/k and 0.225y+0.1",
            lambda: PBM.inverse_rank(10).simulate(relevance, rng=rng),
        ),
    ]
    for case, fn in cases:
        seconds = median_seconds(fn, min_time=0.5 if quick else 3.0, repeat=3 if quick else 7)
        _, peak = _peak_mb(fn)
        row = {"case": f"{case}, {n:,} x 10", "seconds": seconds, "peak_mb": peak}
        if case.startswith("cascade simulate, navigational"):
            row["target"] = "<= 1 s for 10^6 x 10"
            row["meets"] = seconds * 1_000_000 / n <= 1.0
        rows.append(row)
    return rows


def _fit_rows(quick: bool) -> list[dict]:
    if not SAMPLE.is_dir():
        return [{"case": f"fits skipped: {SAMPLE} not found (set INTERLEAVE_SHARED_DATA)"}]
    start = time.perf_counter()
    train = read_pyclick_sessions(SAMPLE / "trainSample.gz")
    test = read_pyclick_sessions(SAMPLE / "testSample.gz")
    rows = [
        {
            "case": "read trainSample + testSample (56,477 sessions)",
            "seconds": time.perf_counter() - start,
        }
    ]
    models: list[tuple[str, ClickModel]] = [
        ("GlobalCTR", GlobalCTR()),
        ("RankCTR", RankCTR()),
        ("DocumentCTR", DocumentCTR()),
        ("SDBN (closed form)", SDBN()),
        ("DCM (closed form)", DCM()),
        ("SDBN EM(50)", SDBN(estimator="em")),
        ("DCM EM(50)", DCM(estimator="em")),
        ("PBM EM(50)", PBM(n_iterations=50)),
        ("UBM EM(50)", UBM(n_iterations=50)),
        ("DBN EM(1)", DBN(n_iterations=1)),
        ("DBN EM(10)", DBN(n_iterations=10)),
        ("DBN EM(50)", DBN(n_iterations=50)),
    ]
    for name, model in models:
        # Fits take well under a second: the median of several whole fits (encoding included).
        seconds = median_seconds(
            lambda m=model: m.fit(train), min_time=0.2 if quick else 2.0, repeat=3 if quick else 5
        )
        fitted, peak = _peak_mb(lambda m=model: m.fit(train))
        evaluation = fitted.evaluate(test)
        row: dict[str, Any] = {
            "case": f"fit {name} on 35,064 sessions",
            "seconds": seconds,
            "peak_mb": peak,
            "test_ll": round(evaluation.log_likelihood, 5),
            "test_perplexity": round(evaluation.perplexity, 5),
        }
        if name in PYCLICK:
            py_seconds, py_ll, py_ppl = PYCLICK[name]
            row.update(
                pyclick_seconds=py_seconds,
                speedup=round(py_seconds / seconds),
                pyclick_ll=py_ll,
                pyclick_perplexity=py_ppl,
                ll_minus_pyclick=round(evaluation.log_likelihood - py_ll, 5),
                perplexity_minus_pyclick=round(evaluation.perplexity - py_ppl, 5),
            )
        if name in TARGETS:
            row["target"] = f"<= {TARGETS[name]:g} s, <= 500 MB"
            row["meets"] = seconds <= TARGETS[name] and peak <= 500
        rows.append(row)
    return rows


def run(quick: bool = False) -> list[dict]:
    rows = _simulation_rows(quick) + _fit_rows(quick)
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 2**20 if sys.platform == "darwin" else 2**10
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    rows.append(
        {
            "case": "process peak RSS over all cases above",
            "peak_mb": peak_rss,
            "target": "<= 500 MB",
            "meets": peak_rss <= 500,
        }
    )
    return rows
