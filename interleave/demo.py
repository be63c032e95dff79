"""The main job: the seed scenario through A/B, canary, shadow and interleaving, side by side.

The seed document simulates 200 requests from 40 users, a production model scoring up to 0.35
and a candidate scoring up to 0.55, seed 42, and routes them with A/B (10% to the candidate) and
canary (MD5 user buckets). ``interleave demo`` builds that world with something real to rank
(:class:`~interleave.simulate.World`: the two caps become the weight each ranker gives true
relevance), sends the same simulated users through the four strategies of :mod:`strategies`, and
prints one table: requests and users exposed to the candidate, clicks, the estimated effect with
its interval, the p-value, the decision, which test made it, and after how many requests.

``interleave demo --seed-toy --json`` prints the seed's own toy exactly as its code runs it
(:func:`seed_toy`).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import random
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

import interleave.methods as methods_package
from interleave._checks import check_int, check_one_of, check_real
from interleave.clicks.cascade import PRESETS
from interleave.errors import InterleaveError, InvalidArgument
from interleave.methods import Interleaver
from interleave.simulate import SimulationResult, World
from interleave.stats import MixtureSPRT
from strategies.ab import AB
from strategies.canary import Canary, canary_users
from strategies.interleaved import Interleaved
from strategies.protocol import Verdict
from strategies.shadow import Shadow

__all__ = [
    "CLICK_MODELS",
    "METHODS",
    "SEED_TOY_FRACTIONS",
    "DemoResult",
    "configure",
    "method_named",
    "run",
    "run_demo",
    "seed_toy",
]

#: Interleaving methods by name: every interleaver :mod:`interleave.methods` exports.
METHODS: dict[str, type[Interleaver]] = {
    cls.name: cls
    for cls in (getattr(methods_package, n) for n in methods_package.__all__)
    if isinstance(cls, type) and issubclass(cls, Interleaver) and cls is not Interleaver
}
CLICK_MODELS = tuple(PRESETS)
SEED_TOY_FRACTIONS = (0.05, 0.1, 0.2, 0.25, 0.5)
_PROGRESS_FROM = 20_000  # requests; the 200-request default runs in well under two seconds


def method_named(name: str, length: int) -> Interleaver:
    """The interleaver ``name`` showing ``length`` items (optimized: with its relaxation)."""
    check_one_of("method", name, sorted(METHODS))
    cls = METHODS[name]
    if "relax" in inspect.signature(cls).parameters:
        return cls(length=length, relax=True)
    return cls(length=length)


# ------------------------------------------------------------------------------- seed parity


def seed_toy(n_requests: int = 200, seed: int = 42) -> dict[str, Any]:
    """The seed document's toy, run as its code runs it.

    ``random.seed(42)``; ``make_requests(200)`` (40 users ``user_0..user_39``, each request's user
    by ``random.choice``); then, request by request, ``ab_route(request)(request)``: one draw
    routes 10% to the candidate, one draw scores (``random() * 0.35`` legacy, ``* 0.55``
    candidate). A private ``random.Random`` replays the global generator's stream exactly,
    without touching global state. Canary users are ``get_canary_users`` (first
    ``max(1, int(40 * fraction))`` users by MD5 hex digest) for each fraction.

    Examples
    --------
    >>> toy = seed_toy()
    >>> toy["requests"][0]["id"], len(toy["requests"]), toy["canary_users"]["0.05"]
    ('req_0', 200, ['user_36', 'user_7'])
    """
    n_requests = check_int("n_requests", n_requests, minimum=0)
    stream = random.Random(seed)
    users = [f"user_{i}" for i in range(40)]
    requests = [{"id": f"req_{i}", "user": stream.choice(users)} for i in range(n_requests)]
    served = []
    for request in requests:
        to_candidate = stream.random() < 0.10
        model, cap = ("candidate", 0.55) if to_candidate else ("legacy", 0.35)
        served.append({**request, "model": model, "score": stream.random() * cap})
    return {
        "requests": served,
        "canary_users": {
            str(fraction): sorted(canary_users(users, fraction)) for fraction in SEED_TOY_FRACTIONS
        },
    }


# ----------------------------------------------------------------------------------- the demo


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """Four strategies on one simulated world.

    Attributes
    ----------
    world
        The world they ran on (catalogue, rankers, users, click model).
    n_requests
        Requests each strategy saw (the same requests, the same users).
    click_model, method
        The cascade preset's name and the interleaver (as its repr).
    results
        One :class:`~interleave.simulate.SimulationResult` per strategy, in table order; each
        holds the final state, and ``result.strategy.verdict(result.state)`` recomputes its row.
    truth
        Share of requests with a click under each ranker alone (Monte Carlo, the ground truth).
    spread
        With several seeds: per seed, requests A/B and interleaving needed to decide (``None``
        when one did not), else empty.
    """

    world: World
    n_requests: int
    click_model: str
    method: str
    results: tuple[SimulationResult, ...]
    truth: tuple[float, float]
    spread: tuple[tuple[int, int | None, int | None], ...] = ()

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """The verdicts, in table order."""
        return tuple(r.verdict for r in self.results)

    def verdict(self, strategy: str) -> Verdict:
        """The verdict of the strategy named ``strategy``."""
        for v in self.verdicts:
            if v.strategy == strategy:
                return v
        msg = f"`strategy` must be one of {[v.strategy for v in self.verdicts]}, got {strategy!r}"
        raise InvalidArgument(msg)

    def speedup(self) -> float | None:
        """A/B's requests to decide over interleaving's (``None`` unless both decided)."""
        ab, interleaved = self.verdict("A/B"), self.verdict("interleaved")
        if ab.requests_to_decide is None or interleaved.requests_to_decide is None:
            return None
        return ab.requests_to_decide / interleaved.requests_to_decide

    def spread_ratios(self) -> list[float]:
        """Per seed where both decided: A/B's requests over interleaving's."""
        return [ab / il for _, ab, il in self.spread if ab is not None and il is not None]

    def table(self) -> str:
        """The side-by-side table every number of which comes from the verdicts."""
        head = (
            f"{'strategy':<12} {'cand. req':>9} {'cand. users':>11} {'clicks':>7}  "
            f"{'effect [95% interval]':<26} {'p':>8}  {'decision':<20} {'decided at':>10}"
        )
        lines = [head, "-" * len(head)]
        for v in self.verdicts:
            at = "-" if v.requests_to_decide is None else str(v.requests_to_decide)
            lines.append(
                f"{v.strategy:<12} {v.n_candidate_requests:>9} {v.n_candidate_users:>11} "
                f"{v.n_clicks:>7}  {v.interval_text():<26} {v.pvalue:>8.3g}  "
                f"{v.decision:<20} {at:>10}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        w = self.world
        lines = [
            f"interleave demo: the seed scenario, {self.n_requests} requests from "
            f"{w.population.n_users} users (seed {w.seed})",
            f"  production ranks with quality {w.production_quality:g}, the candidate with "
            f"{w.candidate_quality:g}",
            f"  clicks: cascade {self.click_model!r} (3 grades, the user may stop after any rank); "
            f"interleaving: {self.method}",
            f"  truth: a request gets a click {self.truth[0]:.1%} of the time under production, "
            f"{self.truth[1]:.1%} under the candidate",
            "",
            self.table(),
            "",
            "  effect and deciding test (always-valid intervals; 'decided at' = requests seen):",
        ]
        for v in self.verdicts:
            lines.append(f"  {v.strategy:<12} {v.effect}; {v.decided_by}")
        speedup = self.speedup()
        ab, interleaved = self.verdict("A/B"), self.verdict("interleaved")
        if speedup is not None:
            lines.append(
                f"  interleaving decided after {interleaved.requests_to_decide} requests, A/B "
                f"after {ab.requests_to_decide}: {speedup:.1f} times fewer"
            )
        elif interleaved.requests_to_decide is not None:
            lines.append(
                f"  interleaving decided after {interleaved.requests_to_decide} requests; A/B "
                f"had not decided after {ab.n_requests} (try --requests 100000 --users 3000)"
            )
        ratios = self.spread_ratios()
        if self.spread:
            lines.append(
                f"  over {len(self.spread)} seeds, both decided in {len(ratios)}: A/B needed "
                + (
                    f"{np.median(ratios):.1f} times more requests (median; range "
                    f"{min(ratios):.1f}-{max(ratios):.1f})"
                    if ratios
                    else "- (no seed where both decided)"
                )
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: scenario, truth, each verdict and decision path, the spread."""
        w = self.world
        return {
            "scenario": {
                "requests": self.n_requests,
                "users": w.population.n_users,
                "production_quality": w.production_quality,
                "candidate_quality": w.candidate_quality,
                "click_model": self.click_model,
                "method": self.method,
                "seed": w.seed,
            },
            "truth": {"production_ctr": self.truth[0], "candidate_ctr": self.truth[1]},
            "strategies": [r.to_dict() for r in self.results],
            "speedup": self.speedup(),
            "spread": [
                {"seed": s, "ab_requests": ab, "interleaved_requests": il}
                for s, ab, il in self.spread
            ],
        }


def _strategies(seed: int, n_requests: int, n_users: int, method: Interleaver) -> tuple[Any, ...]:
    # Tune each always-valid test where its evidence is expected to be (the Eppo convention):
    # A/B and canary count users (at most all of them), interleaving and shadow count
    # comparisons (a quarter of the requests, at most the 1,000 the strategies default to).
    per_user = MixtureSPRT(alpha=0.05, n_opt=max(10, min(n_users, n_requests)))
    per_request = MixtureSPRT(alpha=0.05, n_opt=max(10, min(n_requests // 4, 1000)))
    return (
        AB(seed=seed, test=per_user),
        Canary(seed=seed, test=per_user),
        Shadow(seed=seed, test=per_request),
        Interleaved(seed=seed, method=method, test=per_request),
    )


def run_demo(
    *,
    requests: int = 200,
    users: int = 40,
    effect: float = 0.20,
    production_quality: float = 0.35,
    click_model: str = "navigational",
    method: str = "team_draft",
    seed: int = 42,
    seeds: int = 1,
    look_every: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoResult:
    """Run the four strategies on one world; see the module docstring.

    Parameters
    ----------
    requests, users
        The scenario's size (the seed's 200 and 40 by default).
    effect
        How much more weight the candidate gives true relevance than production (0 is an A/A
        test: identical rankers).
    production_quality
        Production's weight on true relevance (the seed's 0.35 cap).
    click_model
        A cascade preset.
    method
        The interleaving method (:data:`METHODS`).
    seed
        Experiment seed: the world, the requests, the routing and the clicks derive from it.
    seeds
        With more than one, also run A/B and interleaving on seeds ``seed + 1, ...`` to show
        the spread of how many times fewer requests interleaving needs.
    look_every
        Requests per look; ``None``: every request up to 1,000 requests, else 500 looks.
    progress
        Called as ``progress(strategy, done, total)``.
    """
    requests = check_int("requests", requests, minimum=1, maximum=10**7)
    users = check_int("users", users, minimum=1, maximum=10**7)
    production_quality = check_real("production_quality", production_quality, low=0.0, high=1.0)
    effect = check_real("effect", effect, low=-production_quality, high=1.0 - production_quality)
    click_model = check_one_of("click_model", click_model, CLICK_MODELS)
    seeds = check_int("seeds", seeds, minimum=1, maximum=100)
    seed = check_int("seed", seed, minimum=0)
    interleaver = method_named(method, 10)
    if look_every is None:
        look_every = 1 if requests <= 1000 else requests // 500

    def one(seed: int, only: tuple[str, ...] | None) -> tuple[World, list[SimulationResult]]:
        world = World.build(
            n_users=users,
            production_quality=production_quality,
            candidate_quality=production_quality + effect,
            click_model=click_model,
            seed=seed,
        )
        results = []
        for strategy in _strategies(seed, requests, users, interleaver):
            if only is not None and strategy.name not in only:
                continue
            report = None
            if progress is not None:

                def report(done: int, total: int, name: str = strategy.name) -> None:
                    progress(name, done, total)

            results.append(
                world.run(
                    strategy,
                    requests,
                    look_every=look_every,
                    keep_exposures=requests <= _PROGRESS_FROM,
                    progress=report,
                )
            )
        return world, results

    world, results = one(seed, None)
    spread = []
    if seeds > 1:
        for offset in range(seeds):
            s = seed + offset
            if offset == 0:
                pair = {r.verdict.strategy: r.verdict for r in results}
            else:
                pair = {r.verdict.strategy: r.verdict for r in one(s, ("A/B", "interleaved"))[1]}
            spread.append(
                (s, pair["A/B"].requests_to_decide, pair["interleaved"].requests_to_decide)
            )
    truth = (world.true_ctr("production"), world.true_ctr("candidate"))
    return DemoResult(
        world, requests, click_model, repr(interleaver), tuple(results), truth, tuple(spread)
    )


# --------------------------------------------------------------------------------- plotting


def plot_paths(result: DemoResult, path: str) -> None:
    """Save the strategies' always-valid p-values over requests as a PNG (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        msg = "--plot needs matplotlib: pip install 'interleave[plot]'"
        raise InterleaveError(msg) from None
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for r in result.results:
        n = r.path["n_requests"].to_numpy()
        p = np.maximum(r.path["pvalue"].to_numpy(), 1e-300)
        (line,) = axes.step(n, p, where="post", label=r.verdict.strategy)
        if r.verdict.requests_to_decide is not None:
            stop = min(np.searchsorted(n, r.verdict.requests_to_decide), len(n) - 1)
            axes.plot(n[stop], p[stop], "o", color=line.get_color())
    axes.axhline(0.05, color="grey", linestyle="--", linewidth=1, label="alpha 0.05")
    axes.set_yscale("log")
    axes.set_xlabel("requests")
    axes.set_ylabel("always-valid p-value")
    axes.set_title("Decision paths (dot: the decision)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


# -------------------------------------------------------------------------------- command


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``interleave demo``."""
    parser.add_argument("--requests", type=int, default=200, help="requests (default 200)")
    parser.add_argument("--users", type=int, default=40, help="users (default 40)")
    parser.add_argument(
        "--effect",
        type=float,
        default=0.20,
        help="candidate's extra weight on true relevance over production's 0.35 (default 0.20; "
        "0 = A/A)",
    )
    parser.add_argument("--click-model", choices=CLICK_MODELS, default="navigational")
    parser.add_argument("--method", choices=sorted(METHODS), default="team_draft")
    parser.add_argument("--seed", type=int, default=42, help="experiment seed (default 42)")
    parser.add_argument(
        "--seeds", type=int, default=1, help="also rerun A/B and interleaving on this many seeds"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--plot", metavar="FILE.png", help="save the decision paths (matplotlib)")
    parser.add_argument(
        "--seed-toy",
        action="store_true",
        help="print the seed document's own toy (its requests and canary users) as its code runs",
    )


def _progress_bar() -> Callable[[str, int, int], None]:
    def show(name: str, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total)
        end = "\n" if done >= total else ""
        print(
            f"\r  {name:<12} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    return show


def run(args: argparse.Namespace) -> int:
    """Run ``interleave demo`` with parsed arguments; print the result."""
    if args.seed_toy:
        toy = seed_toy()
        if args.json:
            print(json.dumps(toy))
        else:
            to_candidate = sum(r["model"] == "candidate" for r in toy["requests"])
            print(
                f"seed toy: {len(toy['requests'])} requests, {to_candidate} routed to the "
                "candidate by ab_route"
            )
            for fraction, users in toy["canary_users"].items():
                print(f"  canary {fraction:>4}: {', '.join(users)}")
        return 0
    progress = _progress_bar() if args.requests >= _PROGRESS_FROM else None
    try:
        result = run_demo(
            requests=args.requests,
            users=args.users,
            effect=args.effect,
            click_model=args.click_model,
            method=args.method,
            seed=args.seed,
            seeds=args.seeds,
            progress=progress,
        )
    except KeyboardInterrupt:
        if progress is not None:
            print(file=sys.stderr)  # end the progress bar's line before the command's message
        raise
    if args.plot:
        plot_paths(result, args.plot)
    print(json.dumps(result.to_dict(), default=_json_default) if args.json else result)
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    msg = f"cannot write {type(value).__name__} as JSON"
    raise TypeError(msg)
