"""Sequential savings: the share of the fixed-horizon sample each sequential test needs, and A/A.

Built on ``stats_aa_study``'s approach: seeded streams of decisive interleaving comparisons (each
a win for the candidate with probability ``win_rate``, else a loss), every test evaluated on the
whole stream at once (``test.evaluate``), the fixed-horizon design as the yardstick.

For each true win rate 0.52, 0.55 and 0.60, ``n_fixed`` is the fixed-horizon sign test's sample
size for 80% power at two-sided alpha 0.05 (``interleave.stats.sample_size_sign_test``, normal
approximation) at that win rate, or (the "designed for" rows) at a smaller one, as when the
horizon is planned for the smallest effect worth detecting. Each sequential test is checked
after every comparison (group-sequential designs: 4 equal looks up to ``n_fixed``) for at most
``3 n_fixed`` comparisons; a run that never stops uses them all. ``mean_share`` is the mean
number of comparisons used (to any stop: SPRT may also stop by accepting "no effect") over
``n_fixed``, so 0.37 is "63% shorter", Kharitonov et al. SIGIR 2015's average for interleaving
experiments; ``median_share`` the median; ``power`` the share of runs that rejected within the
``3 n_fixed`` budget (within ``n_fixed`` for the group-sequential designs and the fixed test).
The A/A rows (win rate 0.5, 10,000 comparisons, checked after every one; designs as for win
rate 0.55, so the group-sequential looks end at its ``n_fixed``) give each test's
false-positive rate under continuous monitoring, beside the repeated fixed-horizon z-test that
the sequential tests replace; its standard error is sqrt(alpha (1 - alpha) / runs).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr

from benchmarks._progress import Progress
from interleave.stats import (
    SPRT,
    BetaBinomialMixture,
    GroupSequential,
    MixtureSPRT,
    StreamResult,
    WinLoss,
    sample_size_sign_test,
)

ALPHA = 0.05
POWER = 0.8
# (design win rate, true win rate): the fixed horizon is planned for the smallest effect worth
# detecting; real effects are often larger, which is where sequential tests save the most.
SCENARIOS = ((0.52, 0.52), (0.55, 0.55), (0.60, 0.60), (0.55, 0.60), (0.52, 0.55), (0.52, 0.60))
BUDGET_FACTOR = 3
AA_STEPS = 10_000
CHUNK = 200  # experiments evaluated together: bounds the (chunk x steps) int64 arrays
# Kharitonov et al. SIGIR 2015: sequential tests shorten interleaving experiments by 63% on average.
PUBLISHED_SHARE = 1 - 0.63


class RepeatedZ:
    """The naive dashboard: a two-sided z-test of the win rate after every comparison."""

    def evaluate(self, stream: WinLoss) -> StreamResult:
        """Stop at the first look whose fixed-horizon p-value is below alpha."""
        n = stream.n_wins + stream.n_losses
        z = (stream.n_wins - stream.n_losses) / np.sqrt(np.maximum(n, 1))
        pvalue = 2 * ndtr(-np.abs(z))
        crossed = pvalue <= ALPHA
        stop = np.where(crossed.any(axis=-1), np.argmax(crossed, axis=-1), -1)
        decision = np.zeros(z.shape, dtype=np.int8)  # unused: a stop here is read as a rejection
        return StreamResult(n=n, statistic=z, pvalue=pvalue, decision=decision, stop_index=stop)


def sequential_tests(n_fixed: int) -> list[tuple[str, Any, bool]]:
    """(label, test, looks only at the 4 group-sequential looks) for a design of ``n_fixed``."""
    return [
        ("SPRT p0=0.5, p1=0.55, beta=0.2", SPRT(alpha=ALPHA), False),
        ("MixtureSPRT n_opt=1000", MixtureSPRT(alpha=ALPHA, n_opt=1000), False),
        ("MixtureSPRT n_opt=n_fixed", MixtureSPRT(alpha=ALPHA, n_opt=n_fixed), False),
        ("MixtureSPRT.growthbook (n_opt=5000)", MixtureSPRT.growthbook(alpha=ALPHA), False),
        ("BetaBinomialMixture Beta(1, 1)", BetaBinomialMixture(alpha=ALPHA), False),
        ("GroupSequential O'Brien-Fleming, 4 looks", GroupSequential(max_n=n_fixed), True),
        (
            "GroupSequential Pocock, 4 looks",
            GroupSequential(max_n=n_fixed, spending="pocock"),
            True,
        ),
    ]


def _streams(win_rate: float, n_steps: int, n_experiments: int, seed: int):
    """Cumulative win/loss streams, ``CHUNK`` experiments at a time (same draws for every test)."""
    rng = np.random.default_rng([seed, round(win_rate * 1000), n_steps])
    for start in range(0, n_experiments, CHUNK):
        rows = min(CHUNK, n_experiments - start)
        outcomes = np.where(rng.random((rows, n_steps)) < win_rate, 1, -1).astype(np.int8)
        yield WinLoss.from_outcomes(outcomes)


def _looks(stream: WinLoss, looks: np.ndarray) -> WinLoss:
    return WinLoss(
        n_wins=stream.n_wins[:, looks],
        n_losses=stream.n_losses[:, looks],
        n_ties=stream.n_ties[:, looks],
    )


def _used_and_rejected(test: Any, stream: WinLoss, looks: np.ndarray | None, budget: int):
    """Comparisons each run used (the budget if it never stopped) and whether it rejected."""
    result = test.evaluate(stream if looks is None else _looks(stream, looks))
    stopped = result.stop_index >= 0
    at_stop = np.take_along_axis(result.n, np.maximum(result.stop_index, 0)[:, None], 1)[:, 0]
    used = np.where(stopped, at_stop, budget)
    return used, result.rejected if not isinstance(test, RepeatedZ) else stopped


def effect_rows(
    design: float, win_rate: float, n_experiments: int, seed: int, *, bar: Progress | None = None
) -> tuple[list[dict], dict]:
    """Rows for one scenario (fixed horizon planned for ``design``), and the per-test shares.

    ``bar`` advances once per chunk of ``CHUNK`` experiments.
    """
    n_fixed = sample_size_sign_test(design, alpha=ALPHA, power=POWER).n_comparisons
    budget = BUDGET_FACTOR * n_fixed
    group_looks = np.array([round(n_fixed * k / 4) - 1 for k in (1, 2, 3, 4)])
    tests = sequential_tests(n_fixed)
    used: dict[str, list[np.ndarray]] = {label: [] for label, _, _ in tests}
    rejected: dict[str, list[np.ndarray]] = {label: [] for label, _, _ in tests}
    fixed_rejected = []
    for stream in _streams(win_rate, budget, n_experiments, seed):
        z = (stream.n_wins[:, n_fixed - 1] - stream.n_losses[:, n_fixed - 1]) / math.sqrt(n_fixed)
        fixed_rejected.append(2 * ndtr(-np.abs(z)) <= ALPHA)
        for label, test, grouped in tests:
            u, r = _used_and_rejected(
                test, stream, group_looks if grouped else None, n_fixed if grouped else budget
            )
            used[label].append(u)
            rejected[label].append(r)
        if bar is not None:
            bar.advance()
    fixed_power = float(np.concatenate(fixed_rejected).mean())
    name = f"win rate {win_rate}" + ("" if design == win_rate else f" (designed for {design})")
    rows = [
        {
            "case": f"{name}: fixed-horizon sign test at n_fixed",
            "n_fixed": n_fixed,
            "power": fixed_power,
            "mean_share": 1.0,
            "median_share": 1.0,
        }
    ]
    shares = {}
    for label, _, _ in tests:
        share = np.concatenate(used[label]) / n_fixed
        shares[label] = share
        rows.append(
            {
                "case": f"{name}: {label}",
                "n_fixed": n_fixed,
                "power": float(np.concatenate(rejected[label]).mean()),
                "mean_share": float(share.mean()),
                "median_share": float(np.median(share)),
                "share_se": float(share.std(ddof=1) / math.sqrt(len(share))),
                "published_share": PUBLISHED_SHARE,
            }
        )
    return rows, shares


def aa_rows(n_experiments: int, seed: int, *, bar: Progress | None = None) -> list[dict]:
    """False-positive rate of every test under A/A with a look after every comparison."""
    # Designed as for win rate 0.55 (the group-sequential looks end at its n_fixed); every other
    # test keeps looking for AA_STEPS comparisons.
    n_fixed = sample_size_sign_test(0.55, alpha=ALPHA, power=POWER).n_comparisons
    tests = [("repeated fixed-horizon z-test", RepeatedZ(), False)]
    tests += sequential_tests(n_fixed)
    looks = np.array([round(n_fixed * k / 4) - 1 for k in (1, 2, 3, 4)])
    rejected: dict[str, list[np.ndarray]] = {label: [] for label, _, _ in tests}
    for stream in _streams(0.5, AA_STEPS, n_experiments, seed):
        for label, test, grouped in tests:
            _, r = _used_and_rejected(test, stream, looks if grouped else None, AA_STEPS)
            rejected[label].append(r)
        if bar is not None:
            bar.advance()
    se = math.sqrt(ALPHA * (1 - ALPHA) / n_experiments)
    rows = []
    for label, test, _ in tests:
        fpr = float(np.concatenate(rejected[label]).mean())
        bound = ALPHA / (1 - 0.2) if isinstance(test, SPRT) else ALPHA  # Wald: alpha / (1 - beta)
        row = {"case": f"A/A: {label}", "fpr": fpr, "fpr_se": se}
        if isinstance(test, RepeatedZ):
            row["target"] = f"shows the inflation: fpr > 2 alpha = {2 * ALPHA:g}"
            row["meets"] = bool(fpr > 2 * ALPHA)
        else:
            row["target"] = f"fpr <= {bound:.4g} + 3 SE = {bound + 3 * se:.4f}"
            row["meets"] = bool(fpr <= bound + 3 * se)
        rows.append(row)
    return rows


def _figure(shares: dict[float, dict[str, np.ndarray]], aa: list[dict]) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global registry, no GUI backend

    fig = Figure(figsize=(13, 5))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    labels = list(next(iter(shares.values())))
    width = 0.8 / len(shares)
    for i, (win_rate, per_test) in enumerate(shares.items()):
        means = [per_test[label].mean() for label in labels]
        left.barh(
            np.arange(len(labels)) + i * width, means, height=width, label=f"win rate {win_rate}"
        )  # a scenario's key names the design when it differs from the truth
    left.axvline(1.0, color="k", lw=0.8, label="fixed horizon (80% power)")
    left.axvline(PUBLISHED_SHARE, color="C3", ls="--", label="Kharitonov et al. 2015: 63% shorter")
    left.set_yticks(np.arange(len(labels)) + 0.4 - width / 2, labels, fontsize=8)
    left.set_xlabel("mean comparisons used / fixed-horizon sample")
    left.legend(fontsize=8)
    left.set_title("sequential savings when there is an effect")
    names = [row["case"].removeprefix("A/A: ") for row in aa]
    right.barh(names, [row["fpr"] for row in aa], xerr=[2 * row["fpr_se"] for row in aa])
    right.axvline(ALPHA, color="C3", ls="--", label=f"alpha = {ALPHA}")
    right.tick_params(axis="y", labelsize=7)
    right.set_xlabel("A/A false-positive rate (2-SE bars)")
    right.set_title("A/A, a look after every comparison")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def run(
    quick: bool, seed: int = 0, *, n_experiments: int | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Savings rows per win rate, A/A rows, and the plot (``n_experiments``: 300 quick, 2,000)."""
    n_experiments = n_experiments or (300 if quick else 2000)
    rows: list[dict[str, Any]] = []
    shares = {}
    chunks = math.ceil(n_experiments / CHUNK)
    with Progress("sequential: chunks of experiments", chunks * (len(SCENARIOS) + 1)) as bar:
        for design, win_rate in SCENARIOS:
            effect, per_test = effect_rows(design, win_rate, n_experiments, seed, bar=bar)
            shares[win_rate if design == win_rate else f"{win_rate} (design {design})"] = per_test
            rows.extend(effect)
        aa = aa_rows(n_experiments, seed, bar=bar)
    rows.extend(aa)
    return rows, {"sequential.png": _figure(shares, aa)}
