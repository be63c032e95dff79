"""The embedded sample: 200 recommendation requests from 40 users, two rankers' scores per item.

Synthetic and written by the interleave developers (``datasets/sample/generate.py``), so it ships
inside the package: users without the repository can run ``interleave demo``. Each request has 30
candidate items with a true relevance grade (0, 1, 2) and the scores of a legacy ranker (up to
0.35, heavy noise on the true affinity) and of a candidate ranker (up to 0.55, lighter noise), the
two models of the seed document's simulation given something real to rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from interleave.errors import InvalidArgument

__all__ = ["SAMPLE_SCHEMA", "SampleRequest", "load_sample", "sample_path", "sample_requests"]

SAMPLE_SCHEMA = {
    "request_id": pl.String,
    "user_id": pl.String,
    "item_id": pl.Int64,
    "relevance": pl.Int64,
    "legacy_score": pl.Float64,
    "candidate_score": pl.Float64,
}

_FILE = "requests.csv.gz"


def sample_path() -> Path:
    """Where the sample file is: inside the installed wheel, else in the source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_sample" / _FILE, here.parent / "datasets" / "sample" / _FILE):
        if candidate.is_file():
            return candidate
    msg = (
        f"the embedded sample {_FILE} is missing from {here / '_sample'} and "
        f"{here.parent / 'datasets' / 'sample'}; reinstall the package (pip install .)"
    )
    raise FileNotFoundError(msg)


def load_sample() -> pl.DataFrame:
    """The sample as a polars frame with :data:`SAMPLE_SCHEMA` (one row per request x item)."""
    return pl.read_csv(sample_path(), schema=SAMPLE_SCHEMA)


@dataclass(frozen=True)
class SampleRequest:
    """One request of the sample: who asked, both rankers' rankings, the items' relevance."""

    request_id: str
    user_id: str
    legacy: tuple[int, ...]
    candidate: tuple[int, ...]
    relevance: dict[int, int]


def sample_requests(depth: int = 10) -> list[SampleRequest]:
    """Every request with each ranker's top-``depth`` items (ties broken by item id)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        msg = f"`depth` must be a positive int, got {depth!r}"
        raise InvalidArgument(msg)
    frame = load_sample()
    requests = []
    for (request_id, user_id), group in frame.group_by(
        ["request_id", "user_id"], maintain_order=True
    ):
        legacy = group.sort(["legacy_score", "item_id"], descending=[True, False])["item_id"]
        candidate = group.sort(["candidate_score", "item_id"], descending=[True, False])["item_id"]
        requests.append(
            SampleRequest(
                request_id=request_id,
                user_id=user_id,
                legacy=tuple(legacy.head(depth).to_list()),
                candidate=tuple(candidate.head(depth).to_list()),
                relevance=dict(
                    zip(group["item_id"].to_list(), group["relevance"].to_list(), strict=True)
                ),
            )
        )
    return requests
