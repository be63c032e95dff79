"""Click models: simulation and fitting speed, peak memory, and fit quality against PyClick.

Cascade simulation of 1,000,000 impressions of 10 results (median of repeated calls), and every
model fitted on the 35,064 training sessions of the Yandex WSCD 2012 sample and evaluated on its
21,413 test sessions (one core). PyClick's fit quality (test log-likelihood and perplexity,
deterministic) is REFERENCES §2 (PyClick @98e7e46); its speed is never a copied figure here:
``python -m benchmarks clickmodels`` times PyClick from ``../shared/anchors`` in the same run.
Targets from issue 3: PBM and UBM EM(50) <= 1 s, DBN EM(50) <= 10 s, peak memory <= 500 MB,
cascade simulation of 10^6 x 10 <= 1 s. Peak memory is tracemalloc's peak
of Python and numpy allocations during the case; the last row is the process peak RSS (ru_maxrss,
which also counts polars' native buffers).

The readers are measured on synthetic logs written by this module (171 MB each in a full run, the
size of the log in issue 13; 17 MB with ``--quick``), each read in a fresh subprocess so that its
peak RSS (``ru_maxrss``) is the reader's own: target peak RSS <= 3x the file size. Run:
``python -m benchmarks clicks_speed``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._anchors import SHARED_DATA
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

SAMPLE = SHARED_DATA / "yandex_wscd2012_relpred_pyclick_sample"

# name -> (PyClick test log-likelihood, test perplexity), REFERENCES §2 (fit quality only: a
# timing copied from notes is no measurement; the clickmodels suite times PyClick itself).
PYCLICK = {
    "SDBN (closed form)": (-0.3713, 1.4359),
    "DCM (closed form)": (-0.3776, 1.4416),
    "PBM EM(50)": (-0.3525, 1.4337),
    "UBM EM(50)": (-0.3240, 1.4342),
    "DBN EM(1)": (-0.3506, 1.4528),
    "DBN EM(10)": (-0.3581, 1.4397),
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
            py_ll, py_ppl = PYCLICK[name]
            row.update(
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


# -- readers on large synthetic logs ------------------------------------------------------------

_SESSIONS_PER_BLOCK = 20_000


def _write_pyclick_log(path: Path, target_bytes: int, seed: int = 0) -> None:
    """PyClick's sample format: ``<query>_<region>\t<doc>,... : <click> , ...`` joined by ``;``,
    about 1,800 sessions per line as in ``trainSample.gz``."""
    rng = np.random.default_rng(seed)
    written = 0
    with path.open("w", encoding="ascii", newline="") as out:
        while written < target_bytes:
            n = _SESSIONS_PER_BLOCK
            queries = rng.integers(0, 200_000, n)
            regions = rng.integers(0, 4, n)
            docs = rng.integers(1, 10**8, (n, 10))
            n_clicks = rng.integers(0, 4, n)
            sessions = []
            for i in range(n):
                shown = docs[i].tolist()
                clicked = " , ".join(map(str, shown[: n_clicks[i]]))
                tail = f" {clicked}" if clicked else ""
                sessions.append(f"{queries[i]}_{regions[i]}\t{','.join(map(str, shown))} :{tail}")
            lines = ["; ".join(sessions[i : i + 1800]) + ";\n" for i in range(0, n, 1800)]
            text = "".join(lines)
            out.write(text)
            written += len(text)


def _write_relpred_log(path: Path, target_bytes: int, seed: int = 0) -> None:
    """The raw challenge format: a ``Q`` line per result page, a ``C`` line per click."""
    rng = np.random.default_rng(seed)
    written = 0
    session = 0
    with path.open("w", encoding="ascii", newline="") as out:
        while written < target_bytes:
            n = _SESSIONS_PER_BLOCK
            queries = rng.integers(0, 200_000, n)
            regions = rng.integers(0, 4, n)
            docs = rng.integers(1, 10**8, (n, 10))
            n_clicks = rng.integers(0, 4, n)
            lines = []
            for i in range(n):
                shown = docs[i].tolist()
                lines.append(
                    f"{session}\t0\tQ\t{queries[i]}\t{regions[i]}\t{chr(9).join(map(str, shown))}\n"
                )
                lines.extend(
                    f"{session}\t{10 * (c + 1)}\tC\t{shown[2 * c]}\n" for c in range(n_clicks[i])
                )
                session += 1
            text = "".join(lines)
            out.write(text)
            written += len(text)


_MEASURE = """
import json, resource, sys, time
from interleave.clicks import {reader} as read

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

before = rss()
start = time.perf_counter()
frame = read(sys.argv[1])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": seconds, "before": before, "peak": peak,
                  "frame": frame.estimated_size(), "sessions": frame.height}}))
"""


def _measure_reader(reader: str, path: Path) -> dict[str, Any]:
    """Read ``path`` with ``reader`` in a fresh interpreter; its own time and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE.format(reader=reader), str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def _reader_rows(quick: bool) -> list[dict]:
    target = 17_000_000 if quick else 171_000_000
    rows = []
    with tempfile.TemporaryDirectory(prefix="interleave-clicks-speed-") as tmp:
        for reader, write in (
            ("read_pyclick_sessions", _write_pyclick_log),
            ("read_yandex_relpred", _write_relpred_log),
        ):
            path = Path(tmp) / reader
            write(path, target)
            size = path.stat().st_size
            m = _measure_reader(reader, path)
            peak_over_file = m["peak"] / size
            rows.append(
                {
                    "case": f"{reader}, synthetic {size / 1e6:.0f} MB log, {m['sessions']:,} "
                    "sessions",
                    "seconds": m["seconds"],
                    "peak_mb": m["peak"] / 2**20,
                    "rss_before_read_mb": m["before"] / 2**20,
                    "frame_mb": m["frame"] / 2**20,
                    "peak_rss_over_file": round(peak_over_file, 2),
                    "target": "peak RSS <= 3x file",
                    "meets": peak_over_file <= 3.0,
                }
            )
            path.unlink()
    return rows


def run(quick: bool = False) -> list[dict]:
    # Other work on the machine slows every row: the load is recorded beside the timings.
    load_before = os.getloadavg()[0]
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
    rows += _reader_rows(quick)
    rows.append(
        {
            "case": f"machine load average (1 min) at start {load_before:.1f}, at end "
            f"{os.getloadavg()[0]:.1f}, on {os.cpu_count()} CPUs"
        }
    )
    return rows
