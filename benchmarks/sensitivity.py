"""Sensitivity: requests A/B, canary and interleaving need to reach a correct sequential decision.

Every strategy runs on the same simulated users: ``interleave.simulate.World.build`` with
``n_users`` users of heavy-tailed activity (log-normal, sigma 1.5) and click propensity, 50
queries of 30 items, a navigational cascade that may stop after any rank, production ranker
quality 0.35 and a candidate of quality 0.55 ("large" effect, the world's default) or 0.40
("small"). The candidate is truly better in both (its true CTR is printed), so the correct
decision is to ship it. Each strategy uses its default sequential test (a mixture SPRT at alpha
0.05): A/B analyses per-user CTRs, split 50/50 by request (its default share is 10%); canary
ramps 5/20/50/100% of users with a guardrail; interleaving is Team-Draft on 10 positions. A run
serves the strategy's whole budget of requests once and reads ``verdict.requests_to_decide``
(a run still undecided at its budget is censored: the ratio is then a lower bound). One run, not
a run repeated with a growing horizon: ``World.requests(n)`` draws the queries after the users,
so a longer run is a different experiment, and retrying would take the earliest of several
experiments. Looks are every ``LOOK_EVERY`` requests (10 for interleaving, 100 for A/B and
canary), the resolution of a decision time.

The ratio A/B : interleaving (requests to a correct decision, per seed) is printed with its
spread over seeds beside published figures (REFERENCES §3), which count users or queries at
fixed power in production, not requests to a sequential decision on a simulated world: compare
orders of magnitude, not digits.
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from interleave.simulate import World
from strategies import AB, SHIP_CANDIDATE, Canary, Interleaved

EFFECTS = {"large": 0.55, "small": 0.40}
PRODUCTION_QUALITY = 0.35
STRATEGIES = ("interleaving", "A/B", "canary")
# Requests a run may take before it counts as undecided (full, quick).
BUDGET = {
    "interleaving": (200_000, 50_000),
    "A/B": (1_600_000, 400_000),
    "canary": (1_600_000, 400_000),
}
LOOK_EVERY = {"interleaving": 10, "A/B": 100, "canary": 100}
# Published sensitivity of interleaving over A/B (REFERENCES §3).
PUBLISHED = (
    ("Chapelle et al. 2012 (Yahoo!/Bing search)", "145x"),
    ("Bi et al. 2022 (Amazon, debiased balanced)", "60x"),
    ("Netflix", "> 100x fewer users"),
    ("Airbnb (competitive pairs)", "50x"),
    ("industry reports overall", "10x - 500x"),
)


def _strategy(name: str, seed: int) -> Any:
    if name == "interleaving":
        return Interleaved(seed=seed)
    if name == "A/B":
        return AB(seed=seed, candidate_share=0.5)  # the default 10% canary-like share halves power
    return Canary(seed=seed)


def requests_to_decide(world: World, name: str, seed: int, budget: int) -> tuple[int | None, str]:
    """Requests the strategy needs to decide (``None`` if undecided within ``budget``)."""
    result = world.run(
        _strategy(name, seed), budget, look_every=LOOK_EVERY[name], keep_exposures=False
    )
    verdict = result.verdict
    decided = verdict.requests_to_decide
    return (None if decided is None else int(decided)), str(verdict.decision)


def one_seed(task: tuple[str, int, int, bool, int | None]) -> dict[str, Any]:
    """One world (one seed, one effect): every strategy's decision and requests."""
    effect, seed, n_users, quick, max_requests = task
    world = World.build(
        n_users=n_users,
        production_quality=PRODUCTION_QUALITY,
        candidate_quality=EFFECTS[effect],
        seed=seed,
    )
    out: dict[str, Any] = {
        "effect": effect,
        "seed": seed,
        "ctr_production": float(world.true_ctr("production")),
        "ctr_candidate": float(world.true_ctr("candidate")),
    }
    for name in STRATEGIES:
        budget = min(BUDGET[name][1 if quick else 0], max_requests or math.inf)
        n, decision = requests_to_decide(world, name, seed, budget)
        out[name] = {"requests": n, "decision": decision, "budget": budget}
    return out


def _correct(outcome: dict[str, Any]) -> bool:
    """Whether a strategy's run reached the correct decision (the candidate is truly better)."""
    return outcome["requests"] is not None and outcome["decision"] == SHIP_CANDIDATE


def _summary(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    return {
        "median": float(np.median(array)),
        "geometric_mean": float(np.exp(np.log(array).mean())),
        "min": float(array.min()),
        "max": float(array.max()),
    }


def _figure(results: list[dict[str, Any]]) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global registry, no GUI backend

    fig = Figure(figsize=(12, 5))
    left, right = fig.subplots(1, 2)
    effects = list(EFFECTS)
    for e, effect in enumerate(effects):
        for s, name in enumerate(STRATEGIES):
            xs, ys, censored = [], [], []
            for r in results:
                if r["effect"] != effect:
                    continue
                n = r[name]["requests"]
                ok = n is not None and r[name]["decision"] == SHIP_CANDIDATE
                xs.append(e * 4 + s + np.random.default_rng(r["seed"]).uniform(-0.15, 0.15))
                ys.append(n if ok else r[name]["budget"])
                censored.append(not ok)
            colors = [f"C{s}" if not c else "none" for c in censored]
            left.scatter(xs, ys, c=colors, edgecolors=f"C{s}", label=name if e == 0 else None)
    left.set_yscale("log")
    left.set_xticks(
        [e * 4 + s for e in range(len(effects)) for s in range(len(STRATEGIES))],
        [f"{name}\n{effect}" for effect in effects for name in STRATEGIES],
        fontsize=8,
    )
    left.set_ylabel("requests to a correct decision (hollow: undecided at budget)")
    left.legend()
    left.set_title("per seed, same simulated users")
    for e, effect in enumerate(effects):
        ratios = [
            r["A/B"]["requests"] / r["interleaving"]["requests"]
            for r in results
            if r["effect"] == effect and _correct(r["A/B"]) and _correct(r["interleaving"])
        ]
        right.scatter([e] * len(ratios), ratios, color="C1")
    right.axhspan(10, 500, color="grey", alpha=0.15, label="industry 10x-500x")
    right.axhline(60, color="C3", ls="--", label="Bi et al. 2022: 60x")
    right.axhline(145, color="C2", ls=":", label="Chapelle et al. 2012: 145x")
    right.set_yscale("log")
    right.set_xticks(range(len(effects)), [f"{e} effect" for e in effects])
    right.set_xlim(-0.5, len(effects) - 0.5)
    right.set_ylabel("A/B requests / interleaving requests")
    right.set_title("sensitivity ratio (decided by both)")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def run(
    quick: bool,
    seed: int = 0,
    *,
    n_seeds: int | None = None,
    n_users: int = 5_000,
    max_requests: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows per (effect, strategy), ratio rows, published rows; and the plot.

    ``n_seeds`` overrides the worlds per effect (3 quick, 10 full), ``n_users`` the population
    and ``max_requests`` caps every strategy's budget (for smoke tests).
    """
    n_seeds = n_seeds or (3 if quick else 10)
    tasks = [
        (effect, seed + i, n_users, quick, max_requests)
        for effect in EFFECTS
        for i in range(n_seeds)
    ]
    results = []
    with ProcessPoolExecutor(max_workers=2) as pool:
        for done, result in enumerate(pool.map(one_seed, tasks), start=1):
            results.append(result)
            print(f"\rsensitivity: {done}/{len(tasks)} worlds", end="", file=sys.stderr)
    print(file=sys.stderr)
    rows: list[dict[str, Any]] = []
    for effect in EFFECTS:
        mine = [r for r in results if r["effect"] == effect]
        lift = np.mean([r["ctr_candidate"] - r["ctr_production"] for r in mine])
        for name in STRATEGIES:
            correct = [
                r[name]["requests"]
                for r in mine
                if r[name]["requests"] is not None and r[name]["decision"] == SHIP_CANDIDATE
            ]
            wrong = sum(
                r[name]["requests"] is not None and r[name]["decision"] != SHIP_CANDIDATE
                for r in mine
            )
            row: dict[str, Any] = {
                "case": f"{effect} effect: {name}",
                "true_ctr_lift": float(lift),
                "worlds": len(mine),
                "correct": len(correct),
                "wrong": int(wrong),
                "undecided": len(mine) - len(correct) - int(wrong),
                "budget": max(r[name]["budget"] for r in mine),
            }
            if correct:
                row.update({f"requests_{k}": v for k, v in _summary(correct).items()})
            rows.append(row)
        for versus in ("A/B", "canary"):
            # A run that never reached the correct decision (undecided, or wrong) counts at its
            # budget: the ratio is then a lower bound.
            pairs = [
                (
                    r[versus]["requests"] if _correct(r[versus]) else r[versus]["budget"],
                    r["interleaving"]["requests"],
                )
                for r in mine
                if _correct(r["interleaving"])
            ]
            censored = sum(not _correct(r[versus]) for r in mine)
            if not pairs:
                continue
            ratios = [a / b for a, b in pairs]
            row = {
                "case": f"{effect} effect: ratio {versus} : interleaving",
                "worlds": len(pairs),
                "censored": int(censored),
                **{f"ratio_{k}": v for k, v in _summary(ratios).items()},
            }
            if censored:
                row["note"] = f"{censored} {versus} run(s) undecided or wrong: ratio >= shown"
            rows.append(row)
    for source, figure in PUBLISHED:
        rows.append({"case": f"published: {source}", "published_ratio": figure})
    for r in results:
        rows.append(
            {
                "case": f"world {r['effect']} seed {r['seed']}",
                **{f"{name}_requests": r[name]["requests"] or -1 for name in STRATEGIES},
                **{f"{name}_decision": r[name]["decision"] for name in STRATEGIES},
            }
        )
    return rows, {"sensitivity.png": _figure(results)}
