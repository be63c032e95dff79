"""Make datasets/logs/interleaving_log.parquet: the embedded interleaving log (seeded, synthetic).

Run from the repository root: ``python datasets/logs/generate.py``. The requests, their two
rankers and the true relevance grades come from the embedded sample (``datasets/sample``); this
script decides who sees what and when, interleaves with team-draft and draws clicks from the shared
cascade user. Every random draw derives from SEED, so the output is the same on every run.

User activity is uneven (weights 1 / rank^0.5), as in real traffic: some users see many more
impressions than others, which is why the evaluation's default unit is the user.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl

from interleave import TeamDraft
from interleave.clicks import CascadeModel
from interleave.keys import rng_for
from interleave.sample import sample_requests

SEED = 2026
N_IMPRESSIONS = 20_000
LENGTH = 10
START = 1_764_547_200  # 2025-12-01 00:00:00 UTC, in seconds
WEEK = 7 * 24 * 3600
OUT = Path(__file__).resolve().parent / "interleaving_log.parquet"


def main() -> int:
    """Write the log; exit code 0."""
    requests = sample_requests(depth=LENGTH)
    by_user: dict[str, list] = {}
    for request in requests:
        by_user.setdefault(request.user_id, []).append(request)
    users = sorted(by_user, key=lambda u: int(u.split("_")[1]))
    rng = rng_for(SEED, "log")
    weights = 1.0 / np.arange(1, len(users) + 1) ** 0.5
    who = rng.choice(len(users), size=N_IMPRESSIONS, p=weights / weights.sum())
    when = np.sort(rng.uniform(START, START + WEEK, size=N_IMPRESSIONS))
    method = TeamDraft(length=LENGTH)
    user_model = CascadeModel.preset("informational", grades=3)
    rows = []
    for i in range(N_IMPRESSIONS):
        user = users[who[i]]
        request = by_user[user][int(rng.integers(len(by_user[user])))]
        impression_id = f"imp_{i:05d}"
        shown = method.interleave([request.legacy, request.candidate], key=impression_id, seed=SEED)
        grades = np.array([[request.relevance[item] for item in shown.items]])
        clicks = user_model.simulate(grades, rng=rng_for(SEED, "clicks", impression_id))[0]
        rows.append(
            {
                "impression_id": impression_id,
                "user_id": user,
                "query_id": request.request_id,
                "timestamp": float(round(when[i], 3)),
                "method": method.name,
                "items": list(shown.items),
                "teams": list(shown.teams),
                "clicks": np.flatnonzero(clicks).tolist(),
            }
        )
    frame = pl.DataFrame(
        rows,
        schema={
            "impression_id": pl.String,
            "user_id": pl.String,
            "query_id": pl.String,
            "timestamp": pl.Float64,
            "method": pl.String,
            "items": pl.List(pl.Int32),
            "teams": pl.List(pl.Int8),
            "clicks": pl.List(pl.Int8),
        },
    ).with_columns(
        pl.from_epoch(
            (pl.col("timestamp") * 1e6).cast(pl.Int64), time_unit="us"
        ).dt.replace_time_zone("UTC")
    )
    frame.write_parquet(OUT, compression="zstd", compression_level=19, statistics=False)
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {frame.height:,} impressions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
