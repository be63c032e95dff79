"""Interleaving speed: per-request Team-Draft and Balanced, and the Team-Draft batch path.

Median per call, two rankings of n items with 50% overlap, keyed randomness (the live-API path).
Targets from issue 2; incumbent figures (mpkato/interleaving on this kind of machine) from
REFERENCES §1. Run: ``python -m benchmarks speed_interleave``.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._harness import median_seconds
from interleave import Balanced, TeamDraft

# (method, operation, n) -> (target in microseconds, incumbent in microseconds or None)
TARGETS = {
    ("TeamDraft", "interleave", 10): (10.0, 132.0),
    ("TeamDraft", "interleave", 100): (60.0, 8935.0),
    ("Balanced", "interleave", 10): (10.0, 6.9),
    ("Balanced", "interleave", 100): (60.0, 77.0),
    ("TeamDraft", "credit", 10): (5.0, None),
    ("Balanced", "credit", 10): (5.0, None),
}


def rankings(n: int, seed: int = 0) -> list[list[int]]:
    """Two rankings of n items sharing half of them, in a shuffled order."""
    rng = np.random.default_rng(seed)
    a = list(range(n))
    b = [int(x) for x in rng.permutation(np.arange(n // 2, n + n // 2))]
    return [a, b]


def run(quick: bool = False) -> list[dict]:
    rows = []
    min_time = 0.05 if quick else 0.5
    for method in (TeamDraft(), Balanced()):
        name = type(method).__name__
        for n in (10, 100):
            pair = rankings(n)
            keys = iter(range(10**9))  # a fresh request key per call, as in a live API
            seconds = median_seconds(
                lambda m=method, p=pair, k=keys: m.interleave(p, key=f"request-{next(k)}", seed=7),
                min_time=min_time,
            )
            rows.append(_row(name, "interleave", n, seconds))
            il = method.interleave(pair, key="request-42", seed=7)
            seconds = median_seconds(
                lambda m=method, i=il: m.credit(i, [0, 3, 5]), min_time=min_time
            )
            rows.append(_row(name, "credit", n, seconds))

    # Batch: interleave + credit of 1,000,000 impressions (one core; numpy is single-threaded here).
    n_impressions = 200_000 if quick else 1_000_000
    method = TeamDraft(length=10)
    pair = rankings(10)
    clicks = np.random.default_rng(1).random((n_impressions, 10)) < 0.2
    times = []
    for repeat in range(1 if quick else 5):
        start = time.perf_counter()
        batch = method.interleave_batch(pair, n_impressions, rng=repeat)
        method.credit_batch(batch, clicks)
        times.append(time.perf_counter() - start)
    per_second = n_impressions / float(np.median(times))
    rows.append(
        {
            "case": "TeamDraft batch interleave+credit, n=10",
            "impressions_per_s": per_second,
            "target": ">= 1,000,000 /s",
            "meets": per_second >= 1_000_000,
        }
    )
    return rows


def _row(name: str, operation: str, n: int, seconds: float) -> dict:
    target, incumbent = TARGETS.get((name, operation, n), (None, None))
    micro = seconds * 1e6
    row = {"case": f"{name}.{operation}, n={n}", "median_us": micro}
    row["target"] = f"<= {target:g} us" if target is not None else "-"
    row["incumbent_us"] = incumbent if incumbent is not None else "-"
    row["meets"] = micro <= target if target is not None else "-"
    return row
