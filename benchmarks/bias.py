"""Bias of every interleaving method: the exact analytic example, then random clicks.

Part 1 (``exact: ...`` rows) is REFERENCES §3's example, computed exactly: rankings [A, B, C] and
[B, C, A], position-based clicks (position ``p`` examined with probability theta_p, item ``d``
clicked when examined with probability zeta_d, independently), theta = (1, .9, .8),
zeta = (A .1, B 0, C 1). The first ranker's true expected clicks are .9 against .98 for the
second: it is worse by 0.08, yet Team-Draft prefers it by +0.0570 (Oosterhuis' thesis,
recomputed). Each method's expected outcome is the sum over its shown lists (their exact
probabilities) and over all 2^3 click patterns of P(list) P(clicks | list) credit(list, clicks).
The exact list distributions come from each method's public description of its randomness:

- coin-driven (TeamDraft, Balanced, DebiasedBalanced): a request's coins are the low bits of
  ``interleave.keys.key_digest(seed, key)``, so keys are searched until every coin sequence has
  been seen; each sequence has probability 2^-m;
- Probabilistic: ``list_probability``; Optimized: its solved distribution (``solve``);
  PairwisePreference: the product of 1 / pool size (``pool_sizes``) over positions.

The same enumeration with theta = 1 and every zeta equal gives the exact random-click bias
(``exact random: ...`` rows). Part 2 (``random clicks: ...`` rows) simulates random clicks (each
position clicked with probability 0.3, whatever it shows, so neither ranker is better) through the
batch paths and reports each method's mean outcome with its standard error after 10^3..10^6
impressions, on the same pair and on a 10-item pair with partial overlap; the plot shows the
running mean and its 2-SE band.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks._progress import Progress
from interleave import (
    Balanced,
    DebiasedBalanced,
    Interleaver,
    Optimized,
    PairwisePreference,
    Probabilistic,
    TeamDraft,
)
from interleave.keys import key_digest
from interleave.methods.pairwise_preference import pool_sizes

RANKINGS = (("A", "B", "C"), ("B", "C", "A"))
THETA = (1.0, 0.9, 0.8)
ZETA = {"A": 0.1, "B": 0.0, "C": 1.0}
# REFERENCES §3 (Oosterhuis' thesis, recomputed): Team-Draft's expected outcome on this example.
PUBLISHED_TEAM_DRAFT = 0.0570
RANDOM_CLICK_PROBABILITY = 0.3
# A longer pair: 10 items each, 5 shared at different ranks (a typical partial overlap).
LONG_RANKINGS = (
    tuple(range(10)),
    (3, 10, 1, 11, 0, 12, 4, 13, 2, 14),
)
_KEY_SEED = 2024  # experiment seed of the key search (any seed gives the same distribution)


def methods() -> dict[str, Interleaver]:
    """Every two-ranker method and variant compared, by its row label."""
    return {
        "TeamDraft (common prefix)": TeamDraft(),
        "TeamDraft (original)": TeamDraft(common_prefix=False),
        "Balanced (joachims cut-off)": Balanced(),
        "Balanced (lerot cut-off)": Balanced(cutoff="lerot"),
        "DebiasedBalanced": DebiasedBalanced(),
        "Probabilistic (tau=3)": Probabilistic(),
        "Optimized (inverse credit)": Optimized(),
        "PairwisePreference": PairwisePreference(),
    }


# -- exact list distributions -----------------------------------------------------------------


def _coin_count(method: Interleaver, rankings: Sequence[Sequence]) -> int:
    """Coins one request draws (documented per method): one for Balanced, m for Team-Draft."""
    if isinstance(method, TeamDraft):
        return method.resolve_length([list(r) for r in rankings])
    return 1


def _coin_distribution(
    method: Interleaver, rankings: Sequence[Sequence]
) -> list[tuple[float, Any]]:
    """(probability, record) per coin sequence, found by searching request keys."""
    m = _coin_count(method, rankings)
    mask = (1 << m) - 1
    records: dict[int, Any] = {}
    key = 0
    while len(records) < 1 << m:
        code = int.from_bytes(key_digest(_KEY_SEED, key), "little") & mask
        if code not in records:
            records[code] = method.interleave(rankings, key=key, seed=_KEY_SEED)
        key += 1
    return [(1.0 / (1 << m), record) for record in records.values()]


def _sampled_lists(method: Interleaver, rankings: Sequence[Sequence], rng: int) -> dict:
    """One record per distinct shown list, from 2,000 seeded draws (3 items: at most 6 lists)."""
    generator = np.random.default_rng(rng)
    records = (method.interleave(rankings, rng=generator) for _ in range(2000))
    return {record.items: record for record in records}


def _pairwise_probability(rankings: Sequence[Sequence], items: Sequence) -> float:
    top = [min(list(r).index(x) if x in r else math.inf for r in rankings) for x in items]
    return math.prod(1.0 / size for size in pool_sizes(top))


def list_distribution(method: Interleaver, rankings: Sequence[Sequence]) -> list[tuple[float, Any]]:
    """The exact distribution of ``method``'s shown lists: (probability, record) pairs."""
    if isinstance(method, TeamDraft | Balanced | DebiasedBalanced):
        distribution = _coin_distribution(method, rankings)
    else:
        records = _sampled_lists(method, rankings, rng=7)
        if isinstance(method, Probabilistic):
            probability: Callable = lambda items: method.list_probability(rankings, items)  # noqa: E731
        elif isinstance(method, Optimized):
            sampler = method.solve(rankings).sampler
            table = dict(zip(map(tuple, sampler.items), sampler.probabilities, strict=True))
            probability = lambda items: table.get(tuple(items), 0.0)  # noqa: E731
        else:
            probability = lambda items: _pairwise_probability(rankings, items)  # noqa: E731
        distribution = [(probability(items), record) for items, record in records.items()]
    total = math.fsum(p for p, _ in distribution)
    if abs(total - 1.0) > 1e-9:  # a list with positive probability was never sampled
        msg = f"{method!r}: the lists found carry probability {total}, not 1"
        raise RuntimeError(msg)
    return distribution


def expected_credit(
    method: Interleaver,
    rankings: Sequence[Sequence],
    click_probability: Callable[[int, Any], float],
) -> tuple[float, float]:
    """Exact E[outcome] and E[score difference] for the first ranker, independent clicks.

    Both matter: Optimized and PairwisePreference are built so the expected *score difference*
    is 0 under random clicks, which does not make the expected win/loss *outcome* 0.
    """
    outcome = difference = 0.0
    for p_list, record in list_distribution(method, rankings):
        q = [click_probability(pos, item) for pos, item in enumerate(record.items)]
        for mask in itertools.product((False, True), repeat=len(q)):
            p_clicks = math.prod(qi if c else 1.0 - qi for qi, c in zip(q, mask, strict=True))
            if p_clicks > 0.0:
                credit = method.credit(record, list(mask))
                outcome += p_list * p_clicks * credit.outcome
                difference += p_list * p_clicks * (credit.scores[0] - credit.scores[1])
    return outcome, difference


def true_click_difference(rankings: Sequence[Sequence]) -> float:
    """Expected clicks of the first ranking minus the second, shown alone (the ground truth)."""
    a, b = (sum(THETA[p] * ZETA[d] for p, d in enumerate(r)) for r in rankings)
    return a - b


# -- random clicks, simulated -------------------------------------------------------------------


def random_click_run(
    method: Interleaver,
    rankings: Sequence[Sequence],
    n_impressions: int,
    checkpoints: Sequence[int],
    rng: np.random.Generator,
    chunk: int = 100_000,
) -> tuple[np.ndarray, list[tuple[int, float, float, float]]]:
    """Outcomes under random clicks; per checkpoint (n, mean, SE, mean score difference)."""
    outcomes = np.empty(n_impressions)
    differences = np.empty(n_impressions)
    done = 0
    while done < n_impressions:
        n = min(chunk, n_impressions - done)
        batch = method.interleave_batch(rankings, n, rng=rng)
        clicks = rng.random(batch.shape) < RANDOM_CLICK_PROBABILITY
        credit = method.credit_batch(batch, clicks)
        outcomes[done : done + n] = credit.outcome
        differences[done : done + n] = credit.scores[:, 0] - credit.scores[:, 1]
        done += n
    at = []
    for n in checkpoints:
        head = outcomes[:n]
        se = float(head.std(ddof=1) / math.sqrt(n))
        at.append((n, float(head.mean()), se, float(differences[:n].mean())))
    return outcomes, at


def _figure(exact_rows: list[dict], curves: dict[str, dict[str, np.ndarray]]) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global figure registry, no GUI backend

    fig = Figure(figsize=(6 + 6 * len(curves), 5))
    axes = fig.subplots(1, 1 + len(curves))
    labels = [r["case"].removeprefix("exact: ") for r in exact_rows]
    values = [r["expected_outcome"] for r in exact_rows]
    axes[0].barh(labels, values, color=["C3" if v > 0 else "C0" for v in values])
    axes[0].axvline(exact_rows[0]["true_difference"], color="k", ls="--", label="true difference")
    axes[0].axvline(0, color="grey", lw=0.5)
    axes[0].set_xlabel("expected outcome for ranker [A,B,C] (exact)")
    axes[0].set_title("REFERENCES §3 example: theta=(1,.9,.8), zeta=(.1,0,1)")
    axes[0].legend(loc="lower right")
    for ax, (pair, per_method) in zip(axes[1:], curves.items(), strict=True):
        for i, (label, outcomes) in enumerate(per_method.items()):
            n = np.arange(1, len(outcomes) + 1)
            mean = np.cumsum(outcomes) / n
            step = np.unique(np.geomspace(100, len(outcomes), 200).astype(int)) - 1
            se = np.sqrt(np.maximum(np.cumsum(outcomes**2)[step] / n[step] - mean[step] ** 2, 0))
            se /= np.sqrt(n[step])
            ax.plot(n[step], mean[step], color=f"C{i}", label=label)
            ax.fill_between(
                n[step], mean[step] - 2 * se, mean[step] + 2 * se, color=f"C{i}", alpha=0.15
            )
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("impressions")
        ax.set_ylabel("mean outcome (2-SE band)")
        ax.set_title(f"random clicks (p={RANDOM_CLICK_PROBABILITY}) on {pair}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def run(
    quick: bool, seed: int = 0, *, n_impressions: int | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Exact expected outcomes on the §3 example, then random-click runs; rows and a plot.

    ``n_impressions`` overrides the random-click run length (10^5 quick, 10^6 full).
    """
    rows: list[dict[str, Any]] = []
    truth = true_click_difference(RANKINGS)
    for label, method in methods().items():
        value, difference = expected_credit(method, RANKINGS, lambda p, d: THETA[p] * ZETA[d])
        row: dict[str, Any] = {
            "case": f"exact: {label}",
            "expected_outcome": value,
            "expected_score_difference": difference,
            "true_difference": truth,
            "sign_agrees": bool(np.sign(value) == np.sign(truth)),
        }
        if label == "TeamDraft (original)":
            # No common prefix here, so both prefix rules must reproduce the published value.
            row["published"] = PUBLISHED_TEAM_DRAFT
            row["target"] = f"= {PUBLISHED_TEAM_DRAFT} (REFERENCES §3) to 4 decimals"
            row["meets"] = bool(round(value, 4) == PUBLISHED_TEAM_DRAFT)
        rows.append(row)
    exact_rows = list(rows)
    for label, method in methods().items():
        value, difference = expected_credit(method, RANKINGS, lambda p, d: RANDOM_CLICK_PROBABILITY)
        rows.append(
            {
                "case": f"exact random: {label}",
                "expected_outcome": value,
                "expected_score_difference": difference,
            }
        )

    total = n_impressions or (100_000 if quick else 1_000_000)
    checkpoints = [n for n in (1_000, 10_000, 100_000, 1_000_000) if n < total] + [total]
    curves: dict[str, dict[str, np.ndarray]] = {}
    rng = np.random.default_rng(seed)
    pairs = (("[A,B,C] vs [B,C,A]", RANKINGS), ("10-item pair", LONG_RANKINGS))
    bar = Progress("bias: random-click runs", len(pairs) * len(methods()))
    for pair_name, pair in pairs:
        curves[pair_name] = {}
        for label, method in methods().items():
            outcomes, at = random_click_run(method, pair, total, checkpoints, rng)
            curves[pair_name][label] = outcomes
            bar.advance()
            for n, mean, se, difference in at:
                rows.append(
                    {
                        "case": f"random clicks: {label} on {pair_name}",
                        "impressions": n,
                        "mean_outcome": mean,
                        "standard_error": se,
                        "z": mean / se if se > 0 else 0.0,
                        "mean_score_difference": difference,
                    }
                )
    bar.close()
    return rows, {"bias.png": _figure(exact_rows, curves)}
