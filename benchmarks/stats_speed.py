"""Speed of interleave.stats: one update <= 5 us, a stream of 1,000,000 observations <= 0.5 s.

A live experiment calls ``state.update(...)`` once per batch of outcomes; a simulation study calls
``test.evaluate(...)`` on whole streams. Stream timings include building the running totals from
raw outcomes (``WinLoss.from_outcomes`` / ``TwoProportions.from_observations``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks._harness import median_seconds
from interleave.stats import (
    SPRT,
    BetaBinomialMixture,
    MixtureSPRT,
    SequentialSRM,
    TwoMeans,
    TwoProportions,
    WinLoss,
)

UPDATE_TARGET_US = 5.0
STREAM_TARGET_S = 0.5
STREAM_LENGTH = 1_000_000


def _update_rows(min_time: float) -> list[dict[str, Any]]:
    cases = [
        ("SPRT.update(wins=1)", SPRT().start(), {"wins": 1}),
        ("MixtureSPRT.update(wins=1) [WinLoss]", MixtureSPRT().start(), {"wins": 1}),
        (
            "MixtureSPRT.update(successes_b=1, trials_b=1) [TwoProportions]",
            MixtureSPRT().start(TwoProportions(10, 100, 12, 100)),
            {"successes_b": 1, "trials_b": 1},
        ),
        (
            "MixtureSPRT.update(n_b=1, sum_b=x, sum_squares_b=x*x) [TwoMeans]",
            MixtureSPRT().start(TwoMeans(10, 10.0, 20.0, 10, 11.0, 22.0)),
            {"n_b": 1, "sum_b": 1.5, "sum_squares_b": 2.25},
        ),
        ("BetaBinomialMixture.update(wins=1)", BetaBinomialMixture().start(), {"wins": 1}),
        ("SequentialSRM.update(counts=(1, 0))", SequentialSRM().start(), {"counts": (1, 0)}),
    ]
    rows = []
    for name, state, increments in cases:
        seconds = median_seconds(
            lambda state=state, increments=increments: state.update(**increments), min_time=min_time
        )
        us = seconds * 1e6
        rows.append(
            {
                "case": name,
                "microseconds": us,
                "target": f"<= {UPDATE_TARGET_US:g} us",
                "meets": us <= UPDATE_TARGET_US,
            }
        )
    return rows


def _stream_rows(min_time: float) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    outcomes = rng.choice(
        np.array([-1, 0, 1], dtype=np.int8), size=STREAM_LENGTH, p=[0.4, 0.2, 0.4]
    )
    arm = rng.integers(0, 2, size=STREAM_LENGTH)
    success = rng.random(STREAM_LENGTH) < 0.1
    cases = [
        ("SPRT.evaluate(1e6 outcomes)", lambda: SPRT().evaluate(outcomes)),
        ("MixtureSPRT.evaluate(1e6 outcomes)", lambda: MixtureSPRT().evaluate(outcomes)),
        (
            "BetaBinomialMixture.evaluate(1e6 outcomes)",
            lambda: BetaBinomialMixture().evaluate(outcomes),
        ),
        (
            "MixtureSPRT.evaluate(1e6 A/B users) [TwoProportions]",
            lambda: MixtureSPRT().evaluate(TwoProportions.from_observations(arm, success)),
        ),
        (
            "MixtureSPRT.evaluate(2,000 x 500 outcomes)",
            lambda: MixtureSPRT().evaluate(WinLoss.from_outcomes(outcomes.reshape(2000, 500))),
        ),
    ]
    rows = []
    for name, call in cases:
        seconds = median_seconds(call, min_time=min_time, repeat=5)
        rows.append(
            {
                "case": name,
                "seconds": seconds,
                "target": f"<= {STREAM_TARGET_S:g} s",
                "meets": seconds <= STREAM_TARGET_S,
            }
        )
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    """One row per case: median time and whether it meets its target."""
    min_time = 0.05 if quick else 0.5
    return _update_rows(min_time) + _stream_rows(min_time)
