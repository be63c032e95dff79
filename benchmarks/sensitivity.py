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

The 95% power half (``power ...`` rows, ``sensitivity_power.png``) asks, on the same worlds, how
many requests each strategy's fixed-horizon test needs for 95% power at two-sided alpha 0.05, in
three steps per world and strategy:

1. **pilot**: one request stream of the world (its own seed: same catalogue, rankers and users,
   fresh requests and clicks). Interleaving: the candidate's win rate among decisive impressions
   and the share of tied ones (no click, or a tied credit). A/B (50/50 by request) and canary (a
   fixed stage: 5% or 50% of users by canary's MD5 buckets, the rest on production): at a request
   count ``n``, the per-user CTR difference, each arm's per-user variance and its users, averaged
   over the disjoint blocks of ``n`` requests in the pilot (at most 32), because all three change
   with ``n`` as heavy users give way to light ones. A canary pilot is 4 streams of half the
   length, each with its own canary users: one draw of 5% of the users is too few to estimate
   the difference a random draw shows (and a single draw that happens to favour the candidate
   would plan too few requests);
2. **formula**: interleaving, ``interleave.stats.sample_size_sign_test`` (exact binomial, ties in
   the count), which counts requests; A/B and canary, the smallest ``n`` at which the users the
   world delivers reach ``interleave.stats.sample_size_two_means`` (users per arm for the
   difference at the pooled per-user variance), found by bisection on the pilot. A count not
   reached within the pilot is censored (the ratio is then a lower bound) and the row carries
   ``power_two_means`` at the pilot's length;
3. **verification**: ``replicates`` experiments of exactly that many requests on fresh streams of
   the same world (new routing seeds: a canary replicate draws its own canary users), each read
   once by the strategy's fixed-horizon test on per-user CTRs (Welch, as ``AB.fixed_tests``) or,
   for interleaving, by the exact sign test on wins and losses (the strategy's own unit; the
   per-user paired t-test of its verdict is reported beside it). The empirical power, a success
   being a significant result in the candidate's favour, comes with its binomial standard error.

Every count is in requests (one request = one impression = one shown list); users are named where
they appear (``planned_users_per_arm``).
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
import scipy.stats

from benchmarks._progress import Progress
from interleave.errors import InterleaveError
from interleave.keys import key_digest
from interleave.simulate import Look, World
from interleave.stats import (
    paired_test,
    power_two_means,
    sample_size_sign_test,
    sample_size_two_means,
    sign_test,
    welch_test,
)
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
# The power half (see the module docstring).
ALPHA = 0.05
POWER = 0.95
CANARY_STAGES = (0.05, 0.50)  # canary's first stage, and its last before full rollout
POWER_STRATEGIES = ("interleaving", "A/B", *(f"canary {f:.0%}" for f in CANARY_STAGES))
# Pilot stream length in requests (full, quick): the longest count the search can find.
PILOT = {"interleaving": (100_000, 20_000), "per-user": (1_000_000, 100_000)}
REPLICATES = (100, 20)  # verification experiments per world and strategy (full, quick)
MAX_BLOCKS = 32  # pilot blocks averaged at a request count
CANARY_PILOT_STREAMS = 4  # canary pilots: streams of half the pilot length, own canary users
SMALLEST_N = 100  # requests: the search starts here
STREAM_CHUNK = 400_000  # requests per World.outcomes call when replicates share a stream
# Published sensitivity at fixed power (REFERENCES §3): Bing needs 10^5-10^6 queries interleaved
# against 10^7-10^8 in A/B for 80% power (Schuth, Hofmann & Radlinski SIGIR 2015).
PUBLISHED_FIXED_POWER = (
    ("Schuth et al. 2015 (Bing, 80% power)", "~100x (10^5-10^6 vs 10^7-10^8)"),
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


# -- the 95% power half ---------------------------------------------------------------------------


def fresh_stream(world: World, *tag: Any) -> World:
    """The same world (catalogue, rankers, users) with its own requests and clicks for ``tag``.

    ``World`` draws requests and clicks from ``rng_for(world.seed, ...)`` only, so another seed
    on the built world is another stream of the same world.
    """
    seed = int.from_bytes(key_digest(world.seed, "sensitivity-power", *tag)[:7], "little")
    return dataclasses.replace(world, seed=seed)


def power_strategy(name: str, seed: int) -> Any:
    """The strategy whose routing a power experiment uses (canary fixed at one stage)."""
    if name == "interleaving":
        return Interleaved(seed=seed)
    if name == "A/B":
        return AB(seed=seed, candidate_share=0.5)
    fraction = float(name.removeprefix("canary ").removesuffix("%")) / 100
    # A fixed stage routes by the MD5 buckets alone, so the engine may serve it in one pass.
    return dataclasses.replace(Canary(seed=seed, stages=(fraction, 1.0)), adaptive=False)


def _user_ctrs(look: Look, rows: slice, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-user clicked share of requests in production (arm 0) and the candidate (arm 1)."""
    users = look.requests.user[rows]
    flat = look.arm[rows].astype(np.int64) * n_users + users
    requests = np.bincount(flat, minlength=2 * n_users).reshape(2, n_users)
    clicked = np.bincount(flat, weights=look.n_clicks[rows] > 0, minlength=2 * n_users)
    clicked = clicked.reshape(2, n_users)
    return tuple(
        clicked[arm][requests[arm] > 0] / requests[arm][requests[arm] > 0] for arm in (0, 1)
    )


def _welch(a: np.ndarray, b: np.ndarray) -> Any:
    """Welch's test of per-user CTRs, as ``AB.fixed_tests`` reads them."""
    return welch_test(
        len(a), float(a.sum()), float((a * a).sum()), len(b), float(b.sum()), float((b * b).sum())
    )


@dataclasses.dataclass(frozen=True)
class PerUserPilot:
    """A per-user comparison at ``n`` requests, averaged over the pilot's blocks of ``n``."""

    n: int
    blocks: int
    difference: float
    variance_a: float
    variance_b: float
    users_a: float
    users_b: float

    @property
    def standard_deviation(self) -> float:
        """The one sd whose two-sample standard error equals Welch's at these users."""
        se2 = self.variance_a / self.users_a + self.variance_b / self.users_b
        return math.sqrt(se2 / (1 / self.users_a + 1 / self.users_b))

    def planned_users(self) -> int | None:
        """``sample_size_two_means``' users per arm (production) for 95% power, if plannable."""
        if not (self.difference > 0 and self.users_a >= 2 and self.standard_deviation > 0):
            return None
        try:
            size = sample_size_two_means(
                self.difference,
                self.standard_deviation,
                alpha=ALPHA,
                power=POWER,
                ratio=self.users_b / self.users_a,
            )
        except InterleaveError:  # an effect too small for any sample
            return None
        return size.n_a

    def reached(self) -> bool:
        """Whether the users at ``n`` requests reach the planned users per arm."""
        planned = self.planned_users()
        return planned is not None and self.users_a >= planned

    def planned_power(self) -> float:
        """``power_two_means`` at these users (the power the pilot predicts at ``n``)."""
        if not (self.users_a >= 2 and self.standard_deviation > 0):
            return math.nan
        return power_two_means(
            self.difference,
            self.standard_deviation,
            max(2, math.floor(self.users_a)),
            alpha=ALPHA,
            ratio=self.users_b / self.users_a,
        )


def per_user_pilot(looks: list[Look], n: int, n_users: int) -> PerUserPilot:
    """The per-user comparison at ``n`` requests over the pilot's disjoint blocks of ``n``.

    Blocks are taken from the pilot streams in turn (at most ``MAX_BLOCKS``), so a canary pilot
    averages over several draws of its canary users.
    """
    per_stream = min(len(look) for look in looks) // n
    blocks = [(look, k) for k in range(max(1, per_stream)) for look in looks][:MAX_BLOCKS]
    parts = []
    for look, k in blocks:
        a, b = _user_ctrs(look, slice(k * n, (k + 1) * n), n_users)
        if min(len(a), len(b)) < 2:
            parts.append((0.0, 0.0, 0.0, len(a), len(b)))
            continue
        parts.append((b.mean() - a.mean(), a.var(ddof=1), b.var(ddof=1), len(a), len(b)))
    mean = np.asarray(parts, dtype=float).mean(axis=0)
    return PerUserPilot(n, len(blocks), *map(float, mean))


def requests_for_power(looks: list[Look], n_users: int) -> tuple[PerUserPilot, bool]:
    """The smallest request count the pilot says reaches 95% power (or the pilot's length).

    A geometric grid finds the first count that reaches it; bisection narrows it to 1%.
    """
    longest = min(len(look) for look in looks)
    grid = np.unique(np.geomspace(SMALLEST_N, longest, 24).astype(int))
    low = None
    for n in grid.tolist():
        pilot = per_user_pilot(looks, n, n_users)
        if pilot.reached():
            break
        low = n
    else:
        return pilot, False
    high = pilot
    while low is not None and high.n - low > max(1, high.n // 100):
        middle = per_user_pilot(looks, (low + high.n) // 2, n_users)
        if middle.reached():
            high = middle
        else:
            low = middle.n
    return high, True


def replicate_looks(world: World, name: str, n: int, replicates: int) -> Any:
    """``replicates`` independent experiments of ``n`` requests on fresh streams of ``world``.

    Requests are independent and routing is per request for A/B and interleaving, so disjoint
    blocks of one stream are independent experiments; a canary replicate needs a stream of its
    own, since its canary users are drawn once per experiment.
    """
    per_call = 1 if name.startswith("canary") else max(1, STREAM_CHUNK // n)
    done = call = 0
    while done < replicates:
        blocks = min(per_call, replicates - done)
        look = fresh_stream(world, "verify", name, n, call).outcomes(
            power_strategy(name, seed=1000 + call), blocks * n
        )
        for k in range(blocks):
            yield look.take(slice(k * n, (k + 1) * n))
        done += blocks
        call += 1


def _interleaving_reads(look: Look) -> tuple[bool, bool]:
    """Whether the sign test and the per-user paired test find the candidate better."""
    wins, losses = int((look.preference > 0).sum()), int((look.preference < 0).sum())
    sign = wins + losses > 0 and wins > losses and sign_test(wins, losses).pvalue <= ALPHA
    inverse = np.unique(look.requests.user, return_inverse=True)[1]
    per_user = np.bincount(inverse, weights=look.preference) / np.bincount(inverse)
    try:
        paired = paired_test(per_user)
    except InterleaveError:  # fewer than two users, or every preference equal
        return bool(sign), False
    return bool(sign), bool(paired.mean > 0 and paired.pvalue <= ALPHA)


def _per_user_read(look: Look, n_users: int) -> bool:
    a, b = _user_ctrs(look, slice(0, len(look)), n_users)
    try:
        result = _welch(a, b)
    except InterleaveError:  # fewer than two users in an arm, or no variance
        return False
    return bool(result.difference > 0 and result.pvalue <= ALPHA)


def power_one_world(task: tuple[str, int, int, bool, int | None, int | None]) -> dict[str, Any]:
    """Pilot, formula and verification of every strategy on one world (one effect, one seed)."""
    effect, seed, n_users, quick, max_requests, replicates = task
    replicates = replicates or REPLICATES[1 if quick else 0]
    world = World.build(
        n_users=n_users,
        production_quality=PRODUCTION_QUALITY,
        candidate_quality=EFFECTS[effect],
        seed=seed,
    )
    out: dict[str, Any] = {"effect": effect, "seed": seed}
    for name in POWER_STRATEGIES:
        kind = "interleaving" if name == "interleaving" else "per-user"
        cap = min(PILOT[kind][1 if quick else 0], max_requests or math.inf)
        row: dict[str, Any] = {"pilot_requests": cap, "replicates": replicates}
        if name.startswith("canary"):
            # One canary pilot draws one set of canary users: average over several, each
            # stream half as long (the longest count it can find).
            cap = row["pilot_requests"] = cap // 2
            looks = [
                fresh_stream(world, "pilot", name, k).outcomes(
                    power_strategy(name, seed=CANARY_PILOT_STREAMS * seed + k), cap
                )
                for k in range(CANARY_PILOT_STREAMS)
            ]
        else:
            looks = [
                fresh_stream(world, "pilot", name).outcomes(power_strategy(name, seed=seed), cap)
            ]
        row["pilot_streams"] = len(looks)
        look = looks[0]
        if name == "interleaving":
            wins, losses = int((look.preference > 0).sum()), int((look.preference < 0).sum())
            tie_rate = 1 - (wins + losses) / len(look)
            win_rate = wins / max(1, wins + losses)
            row.update(pilot_win_rate=win_rate, pilot_tie_rate=tie_rate)
            n = None
            if win_rate > 0.5 and wins + losses > 0:
                size = sample_size_sign_test(
                    win_rate, tie_rate=tie_rate, alpha=ALPHA, power=POWER, method="exact"
                )
                n = size.n_comparisons
            reached = n is not None and n <= cap
        else:
            pilot, reached = requests_for_power(looks, n_users)
            n = pilot.n
            row.update(
                pilot_difference=pilot.difference,
                pilot_sd=pilot.standard_deviation,
                pilot_blocks=pilot.blocks,
                users_per_arm=(pilot.users_a, pilot.users_b),
                planned_users_per_arm=pilot.planned_users(),
                planned_power=pilot.planned_power(),
            )
        row["requests"] = int(n) if reached else None
        if reached:
            hits = per_user_hits = 0
            users_seen = []
            for replicate in replicate_looks(world, name, int(n), replicates):
                users_seen.append(len(np.unique(replicate.requests.user)))
                if name == "interleaving":
                    sign, paired = _interleaving_reads(replicate)
                    hits += sign
                    per_user_hits += paired
                else:
                    hits += _per_user_read(replicate, n_users)
            row.update(power_hits=hits, users_seen=float(np.mean(users_seen)))
            if name == "interleaving":
                row["per_user_power_hits"] = per_user_hits
        out[name] = row
    return out


def _binomial(hits: int, trials: int) -> tuple[float, float]:
    """The share of hits and its binomial standard error."""
    power = hits / trials
    return power, math.sqrt(power * (1 - power) / trials)


def _lower_bound(hits: int, trials: int) -> float:
    """One-sided 95% Clopper-Pearson lower bound on the power (its SE is 0 at 100%)."""
    return float(scipy.stats.beta.ppf(0.05, hits, trials - hits + 1)) if hits else 0.0


def power_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows per (effect, strategy), the ratio to interleaving, and one row per world."""
    rows: list[dict[str, Any]] = []
    for effect in EFFECTS:
        mine = [r for r in results if r["effect"] == effect]
        for name in POWER_STRATEGIES:
            outcomes = [r[name] for r in mine]
            found = [o for o in outcomes if o["requests"] is not None]
            row: dict[str, Any] = {
                "case": f"power {effect} effect: {name}",
                "unit": "requests",
                "worlds": len(mine),
                "reached": len(found),
                "pilot_requests": max(o["pilot_requests"] for o in outcomes),
                "pilot_streams": max(o["pilot_streams"] for o in outcomes),
            }
            if found:
                row.update(
                    {
                        f"requests_{k}": v
                        for k, v in _summary([o["requests"] for o in found]).items()
                    }
                )
                trials = sum(o["replicates"] for o in found)
                power, se = _binomial(sum(o["power_hits"] for o in found), trials)
                hits = sum(o["power_hits"] for o in found)
                row.update(
                    verified_power=power,
                    verified_power_se=se,
                    verified_power_lower_95=_lower_bound(hits, trials),
                    replicates=trials,
                )
                row["users_seen_median"] = float(np.median([o["users_seen"] for o in found]))
                if name == "interleaving":
                    hits = sum(o["per_user_power_hits"] for o in found)
                    row["per_user_paired_power"] = _binomial(hits, trials)[0]
                else:
                    planned = [o["planned_users_per_arm"] for o in found]
                    row["planned_users_per_arm_median"] = float(np.median(planned))
            missing = [o for o in outcomes if o["requests"] is None]
            if missing and name != "interleaving":
                at_cap = [o["planned_power"] for o in missing]
                row["planned_power_at_pilot_end_max"] = float(np.nanmax(at_cap))
                row["note"] = (
                    f"{len(missing)} world(s) short of {POWER:.0%} power within the pilot "
                    f"(planned power there <= {np.nanmax(at_cap):.2f})"
                )
            rows.append(row)
        for versus in POWER_STRATEGIES[1:]:
            # A count not reached within its pilot counts at the pilot's length: a lower bound.
            ratios = [
                (r[versus]["requests"] or r[versus]["pilot_requests"])
                / r["interleaving"]["requests"]
                for r in mine
                if r["interleaving"]["requests"]
            ]
            censored = sum(r[versus]["requests"] is None for r in mine)
            if not ratios:
                continue
            row = {
                "case": f"power {effect} effect: ratio {versus} : interleaving",
                "unit": "requests / requests",
                "worlds": len(ratios),
                "censored": int(censored),
                **{f"ratio_{k}": v for k, v in _summary(ratios).items()},
            }
            if censored:
                row["note"] = f"{censored} {versus} count(s) beyond the pilot: ratio >= shown"
            rows.append(row)
    for source, figure in PUBLISHED_FIXED_POWER:
        rows.append({"case": f"published: {source}", "published_ratio": figure})
    for r in results:
        world: dict[str, Any] = {"case": f"power world {r['effect']} seed {r['seed']}"}
        for name in POWER_STRATEGIES:
            o = r[name]
            world[f"{name}_requests"] = o["requests"] if o["requests"] is not None else -1
            if o["requests"] is not None:
                world[f"{name}_verified_power"] = o["power_hits"] / o["replicates"]
        world["interleaving_win_rate"] = r["interleaving"]["pilot_win_rate"]
        world["interleaving_tie_rate"] = r["interleaving"]["pilot_tie_rate"]
        world["A/B_pilot_difference"] = r["A/B"]["pilot_difference"]
        rows.append(world)
    return rows


def _power_figure(results: list[dict[str, Any]]) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global registry, no GUI backend

    fig = Figure(figsize=(16, 5))
    counts, verified, ratio = fig.subplots(1, 3)
    effects = list(EFFECTS)
    width = len(POWER_STRATEGIES) + 1
    for e, effect in enumerate(effects):
        mine = [r for r in results if r["effect"] == effect]
        for s, name in enumerate(POWER_STRATEGIES):
            x = e * width + s
            jitter = [np.random.default_rng(r["seed"]).uniform(-0.15, 0.15) for r in mine]
            ys = [r[name]["requests"] or r[name]["pilot_requests"] for r in mine]
            fill = [f"C{s}" if r[name]["requests"] else "none" for r in mine]
            counts.scatter(
                [x + j for j in jitter],
                ys,
                c=fill,
                edgecolors=f"C{s}",
                label=name if e == 0 else None,
            )
            found = [r[name] for r in mine if r[name]["requests"]]
            if found:
                power = [o["power_hits"] / o["replicates"] for o in found]
                se = [_binomial(o["power_hits"], o["replicates"])[1] for o in found]
                verified.errorbar(
                    [x + j for j, r in zip(jitter, mine, strict=True) if r[name]["requests"]],
                    power,
                    yerr=[2 * v for v in se],
                    fmt="o",
                    color=f"C{s}",
                    label=name if e == 0 else None,
                )
    ticks = [e * width + s for e in range(len(effects)) for s in range(len(POWER_STRATEGIES))]
    labels = [f"{name}\n{effect}" for effect in effects for name in POWER_STRATEGIES]
    for ax in (counts, verified):
        ax.set_xticks(ticks, labels, fontsize=7, rotation=45, ha="right")
    counts.set_yscale("log")
    counts.set_ylabel(f"requests for {POWER:.0%} power (hollow: beyond the pilot)")
    counts.set_title("planned from a pilot, per world")
    counts.legend(fontsize=8)
    verified.axhline(POWER, color="k", ls="--", label=f"planned {POWER:.0%}")
    verified.set_ylim(top=1.02)
    verified.set_ylabel("power at that count, on fresh streams (2-SE bars)")
    verified.set_title("verification by simulation")
    verified.legend(fontsize=8)
    for e, effect in enumerate(effects):
        mine = [r for r in results if r["effect"] == effect and r["interleaving"]["requests"]]
        ys = [
            (r["A/B"]["requests"] or r["A/B"]["pilot_requests"]) / r["interleaving"]["requests"]
            for r in mine
        ]
        fill = ["C1" if r["A/B"]["requests"] else "none" for r in mine]
        ratio.scatter([e] * len(ys), ys, c=fill, edgecolors="C1")
    ratio.axhspan(10, 500, color="grey", alpha=0.15, label="industry 10x-500x")
    ratio.axhline(60, color="C3", ls="--", label="Bi et al. 2022: 60x")
    ratio.axhline(100, color="C2", ls=":", label="Schuth et al. 2015 (Bing): ~100x")
    ratio.set_yscale("log")
    ratio.set_xticks(range(len(effects)), [f"{e} effect" for e in effects])
    ratio.set_xlim(-0.5, len(effects) - 0.5)
    ratio.set_ylabel("A/B requests / interleaving requests (hollow: >=)")
    ratio.set_title(f"sensitivity ratio at {POWER:.0%} power")
    ratio.legend(fontsize=8)
    fig.tight_layout()
    return fig


def run(
    quick: bool,
    seed: int = 0,
    *,
    n_seeds: int | None = None,
    n_users: int = 5_000,
    max_requests: int | None = None,
    replicates: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of both halves (sequential decision, 95% power), published rows; and the plots.

    ``n_seeds`` overrides the worlds per effect (3 quick, 10 full), ``n_users`` the population,
    ``max_requests`` caps every strategy's budget and pilot, ``replicates`` the verification
    experiments per world and strategy (20 quick, 100 full); the overrides are for smoke tests.
    """
    n_seeds = n_seeds or (3 if quick else 10)
    worlds = [(effect, seed + i) for effect in EFFECTS for i in range(n_seeds)]
    results, power_results = [], []
    # Both halves share the pool; the power tasks are the longer, so they go first.
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = {
            pool.submit(
                power_one_world, (effect, s, n_users, quick, max_requests, replicates)
            ): power_results
            for effect, s in worlds
        }
        futures.update(
            {
                pool.submit(one_seed, (effect, s, n_users, quick, max_requests)): results
                for effect, s in worlds
            }
        )
        with Progress("sensitivity: worlds x halves", len(futures)) as bar:
            for future in as_completed(futures):
                futures[future].append(future.result())
                bar.advance()
    order = {world: i for i, world in enumerate(worlds)}
    results.sort(key=lambda r: order[r["effect"], r["seed"]])
    power_results.sort(key=lambda r: order[r["effect"], r["seed"]])
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
    rows.extend(power_rows(power_results))
    figures = {
        "sensitivity.png": _figure(results),
        "sensitivity_power.png": _power_figure(power_results),
    }
    return rows, figures
