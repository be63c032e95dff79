"""Make datasets/logs/open_bandit_ab.parquet: the Open Bandit Dataset ("all" campaign), one A/B log.

Run from the repository root with the shared data beside the clone:
``python datasets/logs/make_open_bandit.py [SHARED_DATA]``. It reads the two 10,000-row CSVs of the
small Open Bandit Dataset (uniform random and Bernoulli Thompson sampling policies), keeps the
columns of the ``ab`` layout (policy, timestamp, item_id, 0-based position, click, propensity) and
drops the user features and affinities. No value is changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from interleave.logs import read_open_bandit

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "open_bandit_ab.parquet"


def main() -> int:
    """Write the file; exit code 0."""
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    folder = shared / "open_bandit_dataset_small"
    frames = [
        read_open_bandit(folder / policy / "all" / "all.csv.gz").collect()
        for policy in ("random", "bts")
    ]
    log = pl.concat(frames).with_columns(
        pl.col("position").cast(pl.Int8), pl.col("click").cast(pl.Int8)
    )
    log.write_parquet(OUT, compression="zstd", compression_level=19, statistics=False)
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {log.height:,} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
