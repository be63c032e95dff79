"""Regenerate ``requests.csv.gz``, the embedded sample the demo runs on.

Synthetic, written by the interleave developers (no third-party data, so it ships with the
package). Run from the repository root: ``python datasets/sample/generate.py``; the output is
byte-identical on every run (seeded numpy, gzip without a timestamp).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

SEED = 42
N_USERS = 40  # as in the seed document's simulation
N_REQUESTS = 200  # as in the seed document's simulation
N_ITEMS = 300
N_CANDIDATES = 30
N_FACTORS = 8
LEGACY_NOISE = 1.6  # the legacy ranker sees the true affinity through heavy noise ...
CANDIDATE_NOISE = 0.7  # ... the candidate through lighter noise: it is truly better
LEGACY_CAP, CANDIDATE_CAP = 0.35, 0.55  # score ranges of the seed document's two models


def logistic(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def main() -> None:
    """Write requests.csv.gz next to this script."""
    rng = np.random.default_rng(SEED)
    users = rng.standard_normal((N_USERS, N_FACTORS))
    items = rng.standard_normal((N_ITEMS, N_FACTORS))
    request_users = rng.integers(0, N_USERS, N_REQUESTS)
    out = io.StringIO()
    out.write("request_id,user_id,item_id,relevance,legacy_score,candidate_score\n")
    for r, u in enumerate(request_users):
        candidates = rng.choice(N_ITEMS, N_CANDIDATES, replace=False)
        affinity = items[candidates] @ users[u] / np.sqrt(N_FACTORS)
        relevance = np.digitize(affinity, [0.5, 1.3])  # grades 0, 1, 2
        legacy = LEGACY_CAP / (
            1 + np.exp(-(affinity + LEGACY_NOISE * rng.standard_normal(N_CANDIDATES)))
        )
        candidate = CANDIDATE_CAP / (
            1 + np.exp(-(affinity + CANDIDATE_NOISE * rng.standard_normal(N_CANDIDATES)))
        )
        for item, grade, a, b in zip(candidates, relevance, legacy, candidate, strict=True):
            out.write(f"req_{r},user_{u},{item},{grade},{a:.6f},{b:.6f}\n")
    target = Path(__file__).resolve().parent / "requests.csv.gz"
    with (
        open(target, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz,
    ):
        gz.write(out.getvalue().encode())


if __name__ == "__main__":
    main()
