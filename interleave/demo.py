"""The demo: is the embedded sample's candidate ranker better than its legacy one.

Every request of :mod:`interleave.sample` is interleaved (keyed by its request id, so the run is
reproducible anywhere), the shared click model clicks on the shown list, the clicks are credited,
and the statistics answer: a sign test on the wins, and an always-valid mixture SPRT that says at
which comparison a team watching a dashboard could have stopped. The candidate is truly better
(see the sample's README), which the offline NDCG on the true grades confirms.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from interleave._checks import check_int, check_one_of
from interleave.clicks import CascadeModel
from interleave.credit import tally
from interleave.keys import rng_for
from interleave.methods.balanced import Balanced
from interleave.methods.base import Interleaver
from interleave.methods.optimized import Optimized
from interleave.methods.probabilistic import Probabilistic
from interleave.methods.team_draft import TeamDraft
from interleave.metrics import ndcg
from interleave.sample import sample_requests
from interleave.stats import MixtureSPRT, sign_test

__all__ = ["METHODS", "DemoResult", "configure", "run", "run_demo"]

METHODS = {
    "team_draft": TeamDraft,
    "balanced": Balanced,
    "probabilistic": Probabilistic,
    "optimized": lambda length: Optimized(length=length, relax=True),
}
CLICK_MODELS = ("perfect", "navigational", "informational", "almost_random", "random")


@dataclass(frozen=True)
class DemoResult:
    """What the demo found, from the candidate's side (a win = the candidate preferred)."""

    method: str
    click_model: str
    seed: int
    n_requests: int
    n_users: int
    wins: float
    losses: float
    ties: float
    win_rate: float
    win_rate_low: float
    win_rate_high: float
    pvalue: float
    sequential_decision: str
    sequential_stop: int | None
    sequential_pvalue: float
    ndcg_legacy: float
    ndcg_candidate: float

    @property
    def verdict(self) -> str:
        """The decision the sequential test supports."""
        if self.sequential_decision != "reject":
            return "keep collecting: no significant difference yet"
        return "ship the candidate" if self.win_rate > 0.5 else "keep the legacy ranker"

    def __str__(self) -> str:
        stop = (
            f"stops at comparison {self.sequential_stop} of {self.n_requests}"
            if self.sequential_stop is not None
            else f"has not stopped after {self.n_requests} comparisons"
        )
        return "\n".join(
            [
                f"interleave demo: {self.n_requests} requests from {self.n_users} users "
                "(embedded sample), legacy vs candidate ranker",
                f"  method        {self.method}; clicks: cascade {self.click_model!r} "
                f"(3 grades, stop after click); seed {self.seed}",
                f"  outcomes      candidate wins {self.wins:g}, legacy wins {self.losses:g}, "
                f"ties {self.ties:g}",
                f"  sign test     candidate win rate {self.win_rate:.3f} (95% CI "
                f"{self.win_rate_low:.3f}-{self.win_rate_high:.3f}), p = {self.pvalue:.3g} "
                "(two-sided, ties dropped)",
                f"  always valid  mixture SPRT (alpha 0.05) {stop}; "
                f"p = {self.sequential_pvalue:.3g}",
                f"  truth         NDCG@10 on the true grades: candidate {self.ndcg_candidate:.3f}, "
                f"legacy {self.ndcg_legacy:.3f}",
                f"  verdict       {self.verdict}",
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["verdict"] = self.verdict
        return out


def run_demo(
    method: str = "team_draft",
    *,
    click_model: str = "navigational",
    seed: int = 7,
    length: int = 10,
) -> DemoResult:
    """Interleave every request of the embedded sample and test the candidate.

    Parameters
    ----------
    method
        One of :data:`METHODS`.
    click_model
        A cascade preset for 3-grade relevance (REFERENCES §2).
    seed
        Experiment seed: the interleavings and the simulated clicks derive from it and the
        request ids only.
    length
        Items shown per request.
    """
    check_one_of("method", method, METHODS)
    check_one_of("click_model", click_model, CLICK_MODELS)
    seed = check_int("seed", seed, minimum=0)
    length = check_int("length", length, minimum=1)
    interleaver: Interleaver = METHODS[method](length=length)
    user_model = CascadeModel.preset(click_model, grades=3)
    requests = sample_requests(depth=length)

    credits = []
    for request in requests:
        il = interleaver.interleave(
            [request.legacy, request.candidate], key=request.request_id, seed=seed
        )
        grades = np.array([[request.relevance[item] for item in il.items]])
        clicks = user_model.simulate(grades, rng=rng_for(seed, "clicks", request.request_id))
        credits.append(interleaver.credit(il, clicks[0]))

    # Outcomes from the candidate's side: ranker 1 (candidate) against ranker 0 (legacy).
    outcomes = np.array([c.preferences[1][0] for c in credits])
    counts = tally(credits, i=1, j=0)
    decisive = np.sign(outcomes).astype(int)
    fixed = sign_test(
        int((decisive > 0).sum()), int((decisive < 0).sum()), int((decisive == 0).sum())
    )
    interval = fixed.confidence_interval()
    stream = MixtureSPRT(alpha=0.05, n_opt=len(requests)).evaluate(decisive)
    stop = int(stream.stop_index)
    final_code = int(stream.final_decision)
    return DemoResult(
        method=repr(interleaver),
        click_model=click_model,
        seed=seed,
        n_requests=len(requests),
        n_users=len({r.user_id for r in requests}),
        wins=counts.wins,
        losses=counts.losses,
        ties=counts.ties,
        win_rate=fixed.statistic,
        win_rate_low=interval.low,
        win_rate_high=interval.high,
        pvalue=fixed.pvalue,
        sequential_decision="reject" if final_code == 1 else "continue",
        sequential_stop=stop + 1 if stop >= 0 else None,
        sequential_pvalue=float(stream.pvalue[-1]),
        ndcg_legacy=float(np.mean([ndcg(r.legacy, r.relevance) for r in requests])),
        ndcg_candidate=float(np.mean([ndcg(r.candidate, r.relevance) for r in requests])),
    )


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``interleave demo``."""
    parser.add_argument("--method", choices=sorted(METHODS), default="team_draft")
    parser.add_argument("--click-model", choices=CLICK_MODELS, default="navigational")
    parser.add_argument("--seed", type=int, default=7, help="experiment seed (default 7)")
    parser.add_argument("--length", type=int, default=10, help="items shown per request")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``interleave demo`` with parsed arguments; print the result."""
    result = run_demo(args.method, click_model=args.click_model, seed=args.seed, length=args.length)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result)
    return 0
