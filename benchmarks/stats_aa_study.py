"""A/A and power study of interleave.stats: false positives under peeking, stopping times.

2,000 seeded interleaving experiments of 2,000 comparisons each (no ties), checked after every
comparison, for each test; group-sequential designs look 4 times (every 500 comparisons).
``fpr`` is the share of A/A experiments (win rate 0.5) that ever rejected; ``power`` and
``mean_n_stopped`` are measured at win rates 0.55 and 0.6 (mean over experiments that stopped;
``stopped`` is the share that stopped within 2,000 comparisons). The repeated fixed-horizon
z-test is the naive dashboard that the sequential tests replace.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr

from interleave.stats import (
    SPRT,
    BetaBinomialMixture,
    GroupSequential,
    MixtureSPRT,
    StreamResult,
    WinLoss,
)

N_EXPERIMENTS = 2000
N_STEPS = 2000
ALPHA = 0.05
LOOKS = np.array([499, 999, 1499, 1999])


class _RepeatedZ:
    """The naive dashboard: a two-sided z-test of the win rate after every comparison."""

    def evaluate(self, stream: WinLoss) -> StreamResult:
        n = stream.n_wins + stream.n_losses
        z = (stream.n_wins - stream.n_losses) / np.sqrt(np.maximum(n, 1))
        pvalue = 2 * ndtr(-np.abs(z))
        crossed = pvalue <= ALPHA
        stop = np.where(crossed.any(axis=1), np.argmax(crossed, axis=1), -1)
        decision = np.zeros(z.shape, dtype=np.int8)
        return StreamResult(n=n, statistic=z, pvalue=pvalue, decision=decision, stop_index=stop)


def _tests() -> list[tuple[str, Any, bool]]:
    return [
        ("repeated fixed-horizon z-test (every comparison)", _RepeatedZ(), False),
        ("SPRT p0=0.5, p1=0.55, beta=0.2", SPRT(alpha=ALPHA), False),
        ("MixtureSPRT n_opt=1000", MixtureSPRT(alpha=ALPHA, n_opt=1000), False),
        ("MixtureSPRT.growthbook (n_opt=5000)", MixtureSPRT.growthbook(alpha=ALPHA), False),
        ("BetaBinomialMixture Beta(1, 1)", BetaBinomialMixture(alpha=ALPHA), False),
        ("GroupSequential O'Brien-Fleming, 4 looks", GroupSequential(max_n=N_STEPS), True),
        (
            "GroupSequential Pocock, 4 looks",
            GroupSequential(max_n=N_STEPS, spending="pocock"),
            True,
        ),
    ]


def _stream(win_rate: float, seed: int, n_experiments: int) -> WinLoss:
    rng = np.random.default_rng(seed)
    outcomes = np.where(rng.random((n_experiments, N_STEPS)) < win_rate, 1, -1).astype(np.int8)
    return WinLoss.from_outcomes(outcomes)


def _at_looks(stream: WinLoss) -> WinLoss:
    return WinLoss(
        n_wins=stream.n_wins[:, LOOKS],
        n_losses=stream.n_losses[:, LOOKS],
        n_ties=stream.n_ties[:, LOOKS],
    )


def _stopped_rejected(
    test: Any, stream: WinLoss, looks: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    result = test.evaluate(_at_looks(stream) if looks else stream)
    if isinstance(test, _RepeatedZ):
        stopped = result.stop_index >= 0
        n = np.where(
            stopped,
            np.take_along_axis(result.n, np.maximum(result.stop_index, 0)[:, None], 1)[:, 0],
            -1,
        )
        return stopped, stopped, n
    return result.stopped, result.rejected, result.n_stopped


def run(quick: bool) -> list[dict[str, Any]]:
    """One row per test: A/A false-positive rate, power and mean stopping n at two effects."""
    n_experiments = 200 if quick else N_EXPERIMENTS
    seeds = ((0.5, 20240601), (0.55, 7), (0.6, 31))
    streams = {rate: _stream(rate, seed, n_experiments) for rate, seed in seeds}
    se = float(np.sqrt(ALPHA * (1 - ALPHA) / n_experiments))
    rows = []
    for name, test, looks in _tests():
        _, rejected, _ = _stopped_rejected(test, streams[0.5], looks)
        row: dict[str, Any] = {"case": name, "fpr": float(rejected.mean())}
        for rate in (0.55, 0.6):
            stopped, rejected, n_stopped = _stopped_rejected(test, streams[rate], looks)
            row[f"power@{rate}"] = float(rejected.mean())
            row[f"stopped@{rate}"] = float(stopped.mean())
            row[f"mean_n_stopped@{rate}"] = (
                float(n_stopped[stopped].mean()) if stopped.any() else -1.0
            )
        if isinstance(test, _RepeatedZ):
            row["target"] = f"shows the inflation: fpr > 2 alpha = {2 * ALPHA:g}"
            row["meets"] = bool(row["fpr"] > 2 * ALPHA)
        else:
            bound = ALPHA / 0.8 if isinstance(test, SPRT) else ALPHA  # Wald: alpha / (1 - beta)
            row["target"] = f"fpr <= {bound:g} + 3 SE = {bound + 3 * se:.4f}"
            row["meets"] = bool(row["fpr"] <= bound + 3 * se)
        rows.append(row)
    return rows
