"""Speed of interleave.stats: one update <= 5 us, a stream of 1,000,000 observations <= 0.5 s.

A live experiment calls ``state.update(...)`` once per batch of outcomes; a simulation study calls
``test.evaluate(...)`` on whole streams. Stream timings include building the running totals from
raw outcomes (``WinLoss.from_outcomes`` / ``TwoProportions.from_observations``).

The group-sequential test is timed apart: a look there is an interim analysis, not a per-event
update, and each new look costs one numerical-integration step (targets: a new look on a live
state <= 50 ms; ``evaluate`` of 50 looks <= 5 s, which took 108 s before the recursion was shared
across levels and resumed per schedule). Its caches are cleared before every timed cold call.
A service restart is timed too: ``to_dict`` -> JSON -> ``from_dict``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np

from benchmarks._harness import median_seconds
from interleave.stats import (
    SPRT,
    BetaBinomialMixture,
    GroupSequential,
    MixtureSPRT,
    SequentialSRM,
    SequentialState,
    TwoMeans,
    TwoProportions,
    WinLoss,
)
from interleave.stats.group_sequential import clear_caches

UPDATE_TARGET_US = 5.0
STREAM_TARGET_S = 0.5
STREAM_LENGTH = 1_000_000
NEW_LOOK_TARGET_MS = 50.0
GROUP_SEQUENTIAL_TARGET_S = 5.0
RESTORE_TARGET_US = 100.0


def update_rows(min_time: float) -> list[dict[str, Any]]:
    """One row per sequential test: the median time of one ``state.update(...)``."""
    cases = [
        ("SPRT.update(wins=1)", SPRT().start(), {"wins": 1}),
        ("MixtureSPRT.update(wins=1) [WinLoss]", MixtureSPRT().start(), {"wins": 1}),
        (
            "MixtureSPRT.update(wins=0.25, losses=0.5, ties=0.25) [fractional credit]",
            MixtureSPRT().start(),
            {"wins": 0.25, "losses": 0.5, "ties": 0.25},
        ),
        (
            "MixtureSPRT.johari(tau=0.1).update(wins=1)",
            MixtureSPRT.johari(0.1).start(),
            {"wins": 1},
        ),
        (
            "MixtureSPRT.johari(tau=0.1).update(n_b=1, ...) [TwoMeans]",
            MixtureSPRT.johari(0.1).start(TwoMeans(10, 10.0, 20.0, 10, 11.0, 22.0)),
            {"n_b": 1, "sum_b": 1.5, "sum_squares_b": 2.25},
        ),
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


def new_look_row(min_time: float) -> dict[str, Any]:
    """The time of one new look on a live group-sequential state that has taken 10 looks."""
    # A live state with 10 looks taken; each timed update adds a look at a fraction never seen
    # before, so it costs one step of the recursion resumed from the cached schedule.
    design = GroupSequential(max_n=10**9)
    live = design.start()
    for _ in range(10):
        live = live.update(wins=1000, losses=900)
    fresh = itertools.count(1)
    seconds = median_seconds(
        lambda: live.update(wins=next(fresh), losses=0), min_time=min_time, repeat=5
    )
    return {
        "case": "GroupSequential: a new look on a live state with 10 looks",
        "milliseconds": seconds * 1e3,
        "target": f"<= {NEW_LOOK_TARGET_MS:g} ms",
        "meets": seconds * 1e3 <= NEW_LOOK_TARGET_MS,
    }


def _group_sequential_rows(min_time: float, quick: bool) -> list[dict[str, Any]]:
    rows = [new_look_row(min_time)]
    rng = np.random.default_rng(1)
    planned = WinLoss.from_outcomes(rng.choice([-1, 1], size=(2000, 400)))
    at_looks = WinLoss(
        n_wins=planned.n_wins[:, 99::100],
        n_losses=planned.n_losses[:, 99::100],
        n_ties=planned.n_ties[:, 99::100],
    )
    cases = [
        ("GroupSequential(max_n=1000).evaluate(np.ones(50)), cold", 1000, np.ones(50)),
        (
            "GroupSequential(max_n=400).evaluate(2,000 experiments x 4 looks), cold",
            400,
            at_looks,
        ),
    ]
    if not quick:
        cases.append(
            ("GroupSequential(max_n=1000).evaluate(np.ones(100)), cold", 1000, np.ones(100))
        )
    for name, max_n, stream in cases:

        def cold(max_n: int = max_n, stream: Any = stream) -> Any:
            clear_caches()
            return GroupSequential(max_n=max_n).evaluate(stream)

        seconds = median_seconds(cold, min_time=min_time, repeat=3)
        rows.append(
            {
                "case": name,
                "seconds": seconds,
                "target": f"<= {GROUP_SEQUENTIAL_TARGET_S:g} s",
                "meets": seconds <= GROUP_SEQUENTIAL_TARGET_S,
            }
        )
    return rows


def restore_rows(min_time: float) -> list[dict[str, Any]]:
    """A running state through ``to_dict`` -> JSON -> ``from_dict`` (a service restart)."""
    state = MixtureSPRT().start().update(wins=70, losses=30)
    seconds = median_seconds(
        lambda: SequentialState.from_dict(json.loads(json.dumps(state.to_dict()))),
        min_time=min_time,
    )
    return [
        {
            "case": "MixtureSPRT state: to_dict -> JSON -> from_dict (a restart)",
            "microseconds": seconds * 1e6,
            "target": f"<= {RESTORE_TARGET_US:g} us",
            "meets": seconds * 1e6 <= RESTORE_TARGET_US,
        }
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """One row per case: median time and whether it meets its target."""
    min_time = 0.05 if quick else 0.5
    return (
        update_rows(min_time)
        + restore_rows(min_time)
        + _stream_rows(min_time)
        + _group_sequential_rows(min_time, quick)
    )
