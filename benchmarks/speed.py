"""Speed of every interleaver, click model and sequential update, beside the incumbents, one run.

Four parts, each timed in this process (PyClick in worker processes) on the same inputs for both
sides, so a ratio never divides by a number measured elsewhere (issue 12, "Honesty"):

- **call vs mpkato**: ``interleave`` and ``credit`` of every method at n = 10, 100 and 1000 (two
  rankings of n items sharing half, the second shuffled; the multileaver: five rankings of n drawn
  from 3n; clicks on 3 positions), and mpkato/interleaving's counterpart on the same rankings and
  click positions. Both sides go through their public call after the same warm-up: ours
  ``method.interleave(rankings, key=..., seed=...)`` with a fresh request key per call
  (validation, keyed randomness, the full record), mpkato's ``interleave()`` on an object bound to
  the rankings beforehand, drawing from numpy's global state; credit is ours
  ``method.credit(record, clicks)`` and mpkato's ``Method.evaluate(shown, clicks)`` (scores and
  who beat whom: what our ``Credit`` holds), each on a list its own side showed.
  ``ours``/``incumbent`` are medians of CPU time per call (``speed_interleave.side_by_side``:
  samples of ours and mpkato's taken in alternation; CPU time, so waiting for a core on the
  shared machine is not counted). ``*_p99`` is the 99th percentile of the wall time of single
  calls (alternated too), where 1000 calls (200 with ``--quick``) are cheap: it does count the
  waiting, so on a loaded machine a scheduler slice (~4 ms) shows up in it; read it beside the
  load row. A call over half a second is timed once. ``ratio`` = ours / mpkato: at or below 1
  meets the target of issue 7.
- **batch**: impressions per second of ``interleave_batch`` and of ``credit_batch`` (n = 10,
  random clicks on 20% of the shown positions), CPU time, median of 3 calls (1 with ``--quick``),
  and how many times a loop of the per-call path that is. No incumbent has a batch path.
- **click model vs PyClick**: fit and evaluation of SDBN, DCM (closed form), PBM, UBM (EM(3)) and
  DBN (EM(1): PyClick's takes about 2 minutes per iteration on the whole sample) on the Yandex
  WSCD 2012 sample, ours and PyClick's from ``../shared/anchors``, through
  ``benchmarks.clickmodels``' own measurements (``ours_run``: medians of whole fits, and the cost
  per EM iteration as the slope between EM(1) and EM(51) fits; ``pyclick_run``: one fit, and
  PyClick's ``LogLikelihood`` + ``Perplexity`` passes), in wall time; PyClick's fits run two at a
  time in worker processes after ours.
- **sequential update**: one ``state.update(...)`` of every sequential test, a state's restart
  through JSON, and a new group-sequential look (``benchmarks.stats_speed``'s measurements:
  medians of wall time). Neither incumbent has sequential tests.

Where ``../shared/anchors`` (or the data) is absent the rows say so and carry no ratio. The plot
``speed.png`` shows ours / mpkato per call against n. The last row records the load and whether
the optional compiled merge (``interleave._speedups``) was present. Run:
``python -m benchmarks speed`` (``--quick`` for a smoke run, about a minute).
"""

from __future__ import annotations

import importlib.util
import itertools
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks import stats_speed
from benchmarks._anchors import load_mpkato, load_pyclick
from benchmarks._progress import Progress, progress
from benchmarks.clicks_speed import SAMPLE
from benchmarks.speed_interleave import clicks_for, five_rankings, rankings, side_by_side
from interleave import (
    Balanced,
    DebiasedBalanced,
    InterleaveError,
    Interleaver,
    Optimized,
    PairwisePreference,
    Probabilistic,
    TeamDraft,
)

__all__ = ["PARTS", "SIZES", "TARGET", "Subject", "case_name", "run", "subjects"]

SIZES = (10, 100, 1000)
PARTS = ("call", "batch", "clicks", "sequential")
TARGET = "ratio <= 1 (at or ahead of the incumbent, issue 7)"
#: The experiment seed of every keyed call (any fixed value: each call has its own key).
EXPERIMENT_SEED = 7
#: mpkato's two-ranker Probabilistic credit enumerates all 2^n team assignments of the shown list
#: (Hofmann et al. 2011's exact method): ~20 ms at n = 10 (timed in every run), 2^100 at 100.
MPKATO_PROBABILISTIC_CREDIT_MAX_N = 12
#: mpkato's Optimized crashes at n = 100 (TypeError in its LP post-processing; each run shows it
#: again) and at n = 1000 its constructor did not finish within 300 s when tried (2026-12-02,
#: this machine, load ~7), so it is not run above n = 100.
MPKATO_OPTIMIZED_MAX_N = 100
#: A call slower than this (CPU seconds) is timed once, its warm-up call being the measurement.
ONE_CALL_ABOVE = 0.5
#: The list sample mpkato's Optimized solves its LP over (its constructor requires one).
MPKATO_OPTIMIZED_SAMPLE = 100


@dataclass(frozen=True)
class Subject:
    """One interleaver configuration timed per call, and its mpkato counterpart.

    ``make(n)`` builds ours for lists of n items; ``incumbent`` is mpkato's class name (``None``:
    mpkato has none, ``note`` says why); ``prepare(method, rankings)`` runs before any timing (the
    solved Optimized solves its distribution there, as mpkato's constructor does); ``cold`` solves
    Optimized's distribution afresh on every call (new item ids each call, so no cache answers);
    ``bound`` times ``method.for_rankings(lists).interleave(key=...)``, the rankings bound once
    as mpkato's constructor binds them.
    """

    label: str
    make: Callable[[int], Interleaver]
    incumbent: str | None
    note: str = ""
    rankers: int = 2
    cold: bool = False
    prepare: Callable[[Interleaver, list[list[int]]], Any] | None = None
    bound: bool = False

    @property
    def calls(self) -> tuple[str, ...]:
        """The per-call paths timed: credit does not depend on how the list was solved."""
        return ("interleave",) if self.cold or self.bound else ("interleave", "credit")


def subjects() -> list[Subject]:
    """Every interleaver configuration of the per-call part, in table order."""
    return [
        Subject(
            "TeamDraft (common prefix)",
            lambda n: TeamDraft(length=n, common_prefix=True),
            "TeamDraft",
            "mpkato has no common-prefix rule: its original Team-Draft is timed",
        ),
        Subject(
            "TeamDraft (original)",
            lambda n: TeamDraft(length=n, common_prefix=False),
            "TeamDraft",
        ),
        Subject(
            "TeamDraft multileave, 5 rankers",
            lambda n: TeamDraft(length=n),
            "TeamDraft",
            rankers=5,
        ),
        Subject("Balanced", lambda n: Balanced(length=n), "Balanced"),
        Subject(
            "DebiasedBalanced",
            lambda n: DebiasedBalanced(length=n),
            None,
            "no incumbent has this method (Bi et al. 2022 published no code); its merge is "
            "Balanced's",
        ),
        Subject("Probabilistic", lambda n: Probabilistic(length=n), "Probabilistic"),
        Subject(
            "Optimized (solved)",
            lambda n: Optimized(length=n),
            "Optimized",
            f"distribution solved before timing; mpkato samples from its LP over "
            f"{MPKATO_OPTIMIZED_SAMPLE} lists solved in its constructor",
            prepare=lambda method, lists: method.solve(lists),
        ),
        Subject(
            "Optimized (bound pair)",
            lambda n: Optimized(length=n),
            "Optimized",
            "ours: method.for_rankings(lists) once, then pair.interleave(key=...) per request (a "
            "popular query's two lists); mpkato's object binds its lists in its constructor",
            bound=True,
        ),
        Subject(
            "Optimized (cold)",
            lambda n: Optimized(length=n),
            "Optimized",
            f"a new ranking pair per call: ours solves its program and draws; mpkato builds its "
            f"object (samples {MPKATO_OPTIMIZED_SAMPLE} lists, solves the LP) and draws",
            cold=True,
        ),
        Subject(
            "PairwisePreference",
            lambda n: PairwisePreference(length=n, pairs="skip_above"),
            "PairwisePreference",
            "ours with pairs='skip_above', mpkato's credit rule",
        ),
    ]


def case_name(label: str, call: str) -> str:
    """The ``case`` of a per-call or batch row: ``"<subject label>.<call>"``."""
    return f"{label}.{call}"


# -- timing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """How long each measurement runs (see the module docstring)."""

    min_time: float  # CPU seconds per side behind each median
    repeat: int  # samples behind each median
    tail_calls: int  # single calls behind each p99
    tail_budget: float  # a p99 is taken where tail_calls calls take at most this (s)
    one_call_above: float  # a call slower than this (s) is timed once
    batch_repeat: int


def _timing(
    quick: bool, min_time: float | None, repeat: int | None, tail_calls: int | None
) -> Timing:
    return Timing(
        min_time=min_time if min_time is not None else (0.05 if quick else 0.5),
        repeat=repeat if repeat is not None else (3 if quick else 7),
        tail_calls=tail_calls if tail_calls is not None else (200 if quick else 1000),
        tail_budget=0.2 if quick else 0.5,
        one_call_above=ONE_CALL_ABOVE,
        batch_repeat=1 if quick else 3,
    )


@dataclass
class Side:
    """One side of a comparison: its call, then what was measured, or why nothing was."""

    call: Callable[[], Any] | None
    why_not: str = ""  # printed in the row's note when nothing was measured
    output: Any = None
    median: float | None = None
    p99: float | None = None
    timed_once: bool = False


def _probe(side: Side, catch: tuple[type[BaseException], ...], failing: str) -> float | None:
    """Call once (the warm-up), keeping the output; a failure in ``catch`` is the measurement."""
    if side.call is None:
        return None
    start = time.process_time()
    try:
        side.output = side.call()
    except catch as error:
        side.why_not = f"{failing}: {type(error).__name__}: {str(error)[:90]}"
        side.call = None
        return None
    return time.process_time() - start


def _tail(sides: list[Side], timing: Timing) -> None:
    """p99 of single-call wall times, both sides alternating, where the calls are cheap."""
    cheap = [
        s
        for s in sides
        if s.call is not None
        and s.median is not None
        and s.median * timing.tail_calls <= timing.tail_budget
    ]
    samples: list[list[int]] = [[] for _ in cheap]
    clock = time.perf_counter_ns
    for _ in range(timing.tail_calls):
        for side, sample in zip(cheap, samples, strict=True):
            start = clock()
            side.call()
            sample.append(clock() - start)
    for side, sample in zip(cheap, samples, strict=True):
        side.p99 = float(np.percentile(sample, 99)) / 1e9


def _measure(ours: Side, theirs: Side, timing: Timing) -> None:
    """Median (and p99) of both sides; slow calls once; failures recorded, never raised."""
    ours_once = _probe(ours, (InterleaveError,), "ours refuses")
    theirs_once = _probe(theirs, (Exception,), "mpkato fails")
    for side, once in ((ours, ours_once), (theirs, theirs_once)):
        if side.call is not None and once is not None and once > timing.one_call_above:
            side.median, side.timed_once = once, True
    alternated = [s for s in (ours, theirs) if s.call is not None and not s.timed_once]
    if alternated:
        medians = side_by_side(
            alternated[0].call,
            alternated[1].call if len(alternated) > 1 else None,
            min_time=timing.min_time,
            repeat=timing.repeat,
        )
        for side, median in zip(alternated, medians, strict=False):
            side.median = median
    _tail([ours, theirs], timing)


def _call_row(subject: Subject, call: str, n: int, ours: Side, theirs: Side) -> dict[str, Any]:
    def us(value: float | None) -> float | str:
        return "-" if value is None else value * 1e6

    row: dict[str, Any] = {
        "part": "call vs mpkato",
        "case": case_name(subject.label, call),
        "n": n,
        "unit": "us/call",
        "ours": us(ours.median),
        "ours_p99": us(ours.p99),
        "incumbent": us(theirs.median),
        "incumbent_p99": us(theirs.p99),
    }
    notes = [side.why_not for side in (ours, theirs) if side.median is None and side.why_not]
    if ours.median is not None and theirs.median is not None:
        row["ratio"] = ours.median / theirs.median
        row["target"] = TARGET
        row["meets"] = bool(row["ratio"] <= 1.0)
    else:
        row["ratio"], row["target"], row["meets"] = "-", "-", "-"
    for side, who in ((ours, "ours"), (theirs, "mpkato")):
        if side.timed_once:
            notes.append(f"{who} timed on one call (over {ONE_CALL_ABOVE:g} s)")
    if subject.note and call == "interleave":
        notes.append(subject.note)
    row["note"] = "; ".join(notes)
    return row


# -- per call ---------------------------------------------------------------------------------


def _fresh_pairs(lists: list[list[int]]) -> Callable[[], list[list[int]]]:
    """Each call, the same rankings with new item ids (shifted), so no cached solution answers."""
    offsets = itertools.count(10**7, 10**7)

    def fresh() -> list[list[int]]:
        offset = next(offsets)  # one per call: items shared by the rankings stay shared
        return [[x + offset for x in r] for r in lists]

    return fresh


def _incumbent_interleave(
    mpkato: Any, subject: Subject, lists: list[list[int]], n: int
) -> tuple[Callable[[], Any] | None, str]:
    """mpkato's interleave call for these rankings, or None and why it is not run."""
    name = subject.incumbent
    if name is None:
        return None, "mpkato has no counterpart"
    if name == "Optimized" and n > MPKATO_OPTIMIZED_MAX_N:
        return None, (
            f"mpkato not run above n = {MPKATO_OPTIMIZED_MAX_N}: it fails at n = 100 and at "
            "n = 1000 its constructor did not finish within 300 s when tried"
        )
    cls = getattr(mpkato, name)
    options = {"sample_num": MPKATO_OPTIMIZED_SAMPLE} if name == "Optimized" else {}
    if subject.cold:
        fresh = _fresh_pairs(lists)
        return (lambda: cls(fresh(), max_length=n, **options).interleave()), ""
    try:
        bound = cls(lists, max_length=n, **options)
    except Exception as error:  # the incumbent's failure is the measurement
        return None, f"mpkato fails: {type(error).__name__}: {str(error)[:90]}"
    return bound.interleave, ""


def _incumbent_credit(
    mpkato: Any, subject: Subject, shown: Any, clicks: list[int], n: int
) -> tuple[Callable[[], Any] | None, str]:
    name = subject.incumbent
    if name is None:
        return None, "mpkato has no counterpart"
    if shown is None:
        return None, "mpkato has no shown list to credit (its interleave did not run)"
    if name == "Probabilistic" and n > MPKATO_PROBABILISTIC_CREDIT_MAX_N:
        return None, f"mpkato not timed: its credit enumerates all 2^{n} team assignments"
    cls = getattr(mpkato, name)
    return (lambda: cls.evaluate(shown, clicks)), ""


def _subject_rows(
    subject: Subject,
    n: int,
    mpkato: Any,
    why_absent: str,
    timing: Timing,
    seed: int,
    slow: dict[tuple, tuple[float, Any]],
) -> list[dict[str, Any]]:
    """Rows of one subject at one n; ``slow`` remembers mpkato calls timed once (shared inputs)."""
    lists = five_rankings(seed, n) if subject.rankers == 5 else rankings(n, seed)
    clicks = clicks_for(n)
    method = subject.make(n)
    keys = itertools.count()
    fresh = _fresh_pairs(lists)
    if subject.cold:
        ours = Side(lambda: method.interleave(fresh(), key=next(keys), seed=EXPERIMENT_SEED))
    elif subject.bound:
        try:
            pair = method.for_rankings(lists)  # type: ignore[attr-defined]
            ours = Side(lambda: pair.interleave(key=next(keys), seed=EXPERIMENT_SEED))
        except InterleaveError as error:
            ours = Side(None, f"ours refuses: {type(error).__name__}: {str(error)[:90]}")
    else:
        ours = Side(lambda: method.interleave(lists, key=next(keys), seed=EXPERIMENT_SEED))
    if subject.prepare is not None:
        try:
            subject.prepare(method, lists)
        except InterleaveError as error:
            ours.call = None
            ours.why_not = f"ours refuses: {type(error).__name__}: {str(error)[:90]}"
    theirs = Side(None, f"mpkato absent: {why_absent}")
    if mpkato is not None:
        theirs.call, theirs.why_not = _incumbent_interleave(mpkato, subject, lists, n)
    # Team-Draft's two prefix rules face the same mpkato call: one that is slow is timed once.
    memo = (subject.incumbent, subject.rankers, n, subject.cold)
    if memo in slow and theirs.call is not None:
        theirs.median, theirs.output = slow[memo]
        theirs.timed_once, theirs.call = True, None
        _measure(ours, Side(None), timing)
    else:
        _measure(ours, theirs, timing)
        if theirs.timed_once:
            slow[memo] = (theirs.median, theirs.output)
    rows = [_call_row(subject, "interleave", n, ours, theirs)]
    if "credit" not in subject.calls:
        return rows

    record, shown = ours.output, theirs.output
    our_credit = Side(
        (lambda: method.credit(record, clicks)) if record is not None else None,
        "ours: no record to credit (its interleave refused)",
    )
    their_credit = Side(None, f"mpkato absent: {why_absent}")
    if mpkato is not None:
        their_credit.call, their_credit.why_not = _incumbent_credit(
            mpkato, subject, shown, clicks, n
        )
    _measure(our_credit, their_credit, timing)
    rows.append(_call_row(subject, "credit", n, our_credit, their_credit))
    return rows


def _call_rows(sizes: tuple[int, ...], timing: Timing, seed: int) -> list[dict[str, Any]]:
    mpkato, why_absent = load_mpkato()
    if mpkato is not None:
        np.random.seed(seed)  # noqa: NPY002 (mpkato draws from numpy's global state)
    slow: dict[tuple, tuple[float, Any]] = {}
    rows: list[dict[str, Any]] = []
    work = [(s, n) for n in sizes for s in subjects()]
    for subject, n in progress(work, "speed: per call, ours and mpkato"):
        rows += _subject_rows(subject, n, mpkato, why_absent, timing, seed, slow)
    return rows


# -- batch ------------------------------------------------------------------------------------

#: Largest batch built (impressions x positions), about 75 MB at its peak.
BATCH_MAX_CELLS = 5 * 10**6
BATCH_LENGTH = 10


def _cpu_seconds(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def _batch_seconds(
    method: Interleaver, lists: list[list[int]], n_impressions: int, seed: int, repeat: int
) -> dict[str, float]:
    """Median CPU seconds of ``interleave_batch`` and of ``credit_batch`` on its output."""
    batch = method.interleave_batch(lists, n_impressions, rng=seed)
    clicks = (np.random.default_rng(seed).random(batch.shape) < 0.2) & batch.shown
    return {
        "interleave_batch": _cpu_seconds(
            lambda: method.interleave_batch(lists, n_impressions, rng=seed), repeat
        ),
        "credit_batch": _cpu_seconds(lambda: method.credit_batch(batch, clicks), repeat),
    }


def _batch_rows(timing: Timing, seed: int, per_call: dict[str, float]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    batchable = [s for s in subjects() if not s.cold and not s.bound]
    for subject in progress(batchable, "speed: batch throughput"):
        method = subject.make(BATCH_LENGTH)
        if subject.rankers == 5:
            lists = five_rankings(seed, BATCH_LENGTH)
        else:
            lists = rankings(BATCH_LENGTH, seed)
        # Grow the batch until interleaving and crediting it last a good share of min_time.
        n_impressions = 1000
        while True:
            seconds = _batch_seconds(method, lists, n_impressions, seed, repeat=1)
            if (
                sum(seconds.values()) >= timing.min_time / 2
                or 4 * n_impressions * BATCH_LENGTH > BATCH_MAX_CELLS
            ):
                break
            n_impressions *= 4
        if timing.batch_repeat > 1:
            seconds = _batch_seconds(method, lists, n_impressions, seed, timing.batch_repeat)
        for call, elapsed in seconds.items():
            per_second = n_impressions / elapsed
            single = per_call.get(case_name(subject.label, call.removesuffix("_batch")))
            note = f"{n_impressions:,} impressions per call"
            if single is not None:
                note += f"; {per_second * single:.1f}x a loop of the per-call path (n = 10)"
            rows.append(
                {
                    "part": "batch",
                    "case": case_name(subject.label, call),
                    "n": BATCH_LENGTH,
                    "unit": "impressions/s",
                    "ours": per_second,
                    "ratio": "-",
                    "target": "-",
                    "meets": "-",
                    "note": note,
                }
            )
    return rows


# -- click models -----------------------------------------------------------------------------

#: Models compared (``benchmarks.clickmodels.pairs`` families) and the EM iterations of each run.
CLICK_FAMILIES = ("SDBN", "DCM", "PBM", "UBM", "DBN")
CLICKS_FULL = {"n_train": None, "n_test": None, "n_iterations": 3, "dbn_iterations": 1}
CLICKS_QUICK = {"n_train": 1000, "n_test": 1000, "n_iterations": 2, "dbn_iterations": 1}


def _pyclick_in_workers(jobs: dict[str, tuple], workers: int) -> dict[str, dict[str, Any]]:
    """``clickmodels.pyclick_run`` for each job, slowest (DBN) first, in ``workers`` processes."""
    from benchmarks import clickmodels

    order = sorted(jobs, key=lambda label: jobs[label][0] != "DBN")
    results: dict[str, dict[str, Any]] = {}
    with Progress("speed: PyClick fits", len(order)) as bar:
        if workers <= 1:
            for label in order:
                results[label] = clickmodels.pyclick_run(jobs[label])
                bar.advance()
            return results
        # spawn, not fork: polars' thread pool does not survive a fork safely.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {label: pool.submit(clickmodels.pyclick_run, jobs[label]) for label in order}
            for label in order:
                results[label] = futures[label].result()
                bar.advance()
    return results


def _click_rows(
    seed: int, sizes: dict[str, Any], repeat: int, workers: int
) -> list[dict[str, Any]]:
    from benchmarks import clickmodels  # its own suite; imported when this part runs

    if not SAMPLE.is_dir():
        return [
            {
                "part": "click model vs PyClick",
                "case": f"skipped: the Yandex sample is not at {SAMPLE} (set "
                "INTERLEAVE_SHARED_DATA)",
            }
        ]
    train, test = clickmodels.load_sample(sizes["n_train"], sizes["n_test"], seed)
    models = [
        p
        for p in clickmodels.pairs(sizes["n_iterations"], sizes["dbn_iterations"])
        if p.family in CLICK_FAMILIES and p.ours is not None and p.pyclick is not None
    ]
    ours = {
        p.label: clickmodels.ours_run(p, train, test, repeat)
        for p in progress(models, "speed: our click-model fits")
    }
    pyclick, why_absent = load_pyclick()
    theirs: dict[str, dict[str, Any]] = {}
    if pyclick is not None:
        jobs = {p.label: (p.pyclick, p.iterations, train, test) for p in models}
        theirs = _pyclick_in_workers(jobs, workers)
    on = f"{train.height:,} training, {test.height:,} test sessions"
    rows = []
    for p in models:
        mine, other = ours[p.label], theirs.get(p.label)
        reason = why_absent
        if other is not None and "error" in other:
            other, reason = None, other["error"]
        rows += [
            _click_row(p.label, what, unit, train.height, ours_s, theirs_s, f"{on}; {how}", reason)
            for what, unit, ours_s, theirs_s, how in _click_measurements(p, mine, other)
        ]
    return rows


def _click_measurements(pair: Any, ours: dict, theirs: dict | None) -> list[tuple]:
    """(what, unit, ours s, PyClick s or None, how) of one model: whole fit, EM step, evaluate."""
    from benchmarks.clickmodels import SLOPE_ITERATIONS  # imported with its part, as above

    def pick(key: str, per: int = 1) -> float | None:
        return None if theirs is None else theirs[key] / per

    out = [
        (
            "fit",
            "s/fit",
            ours["fit_seconds"],
            pick("fit_seconds"),
            "ours: median of whole fits from the frame (encoding included); PyClick: one fit of "
            "its own session objects (built untimed) in a worker process",
        )
    ]
    if pair.iterations:
        out.append(
            (
                "per EM iteration",
                "s/iteration",
                ours["iteration_seconds"],
                pick("fit_seconds", pair.iterations),
                f"ours: slope between EM(1) and EM({max(pair.iterations, SLOPE_ITERATIONS)}) "
                f"fits (a fit's "
                f"fixed {ours['fixed_seconds']:.3g} s of encoding apart); PyClick: its fit / "
                f"{pair.iterations} (it copies the model every iteration: little fixed cost)",
            )
        )
    out.append(
        (
            "evaluate (log-likelihood + perplexity)",
            "s/evaluation",
            ours["evaluate_seconds"],
            pick("evaluate_seconds"),
            "ours: one evaluate(); PyClick: its LogLikelihood and Perplexity passes",
        )
    )
    return out


def _click_row(
    label: str,
    what: str,
    unit: str,
    n_train: int,
    ours: float,
    theirs: float | None,
    note: str,
    why_absent: str,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "part": "click model vs PyClick",
        "case": f"{label} {what}",
        "n": n_train,
        "unit": unit,
        "ours": ours,
        "incumbent": "-" if theirs is None else theirs,
        "ratio": "-",
        "target": "-",
        "meets": "-",
        "note": note,
    }
    if theirs is None:
        row["note"] += f"; PyClick absent: {why_absent}"
    elif ours <= 0:  # a slope between two noisy medians can vanish
        row["note"] += "; no ratio: our slope is lost in timing noise"
    else:
        ratio = ours / theirs
        row.update(ratio=ratio, target=TARGET, meets=bool(ratio <= 1.0))
    return row


# -- sequential update ------------------------------------------------------------------------


def _sequential_rows(timing: Timing) -> list[dict[str, Any]]:
    min_time = timing.min_time / 2
    measurements = [
        (lambda: stats_speed.update_rows(min_time), "us/update"),
        (lambda: stats_speed.restore_rows(min_time), "us/restart"),
        (lambda: [stats_speed.new_look_row(min_time)], "ms/look"),
    ]
    rows = []
    for measure, unit in progress(measurements, "speed: sequential update"):
        for source in measure():
            rows.append(
                {
                    "part": "sequential update",
                    "case": source["case"],
                    "n": "-",
                    "unit": unit,
                    "ours": source["microseconds" if unit.startswith("us") else "milliseconds"],
                    "ratio": "-",
                    "target": source["target"],
                    "meets": source["meets"],
                    "note": "no incumbent: neither anchor has sequential tests",
                }
            )
    return rows


# -- the plot ---------------------------------------------------------------------------------


def _figure(rows: list[dict[str, Any]]) -> Any:
    from matplotlib import colormaps
    from matplotlib.figure import Figure  # no pyplot: no global registry, no GUI backend

    fig = Figure(figsize=(12, 5))
    axes = dict(zip(("interleave", "credit"), fig.subplots(1, 2, sharey=True), strict=True))
    palette = colormaps["tab10"].colors
    # One colour and marker per method, the same in both panels whichever points exist.
    for index, subject in enumerate(subjects()):
        style = {"color": palette[index % 10], "marker": "osD^v<>ph"[index % 9]}
        for call, axis in axes.items():
            points = [
                (row["n"], row["ratio"])
                for row in rows
                if row.get("part") == "call vs mpkato"
                and row["case"] == case_name(subject.label, call)
                and isinstance(row["ratio"], float)
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                axis.plot(xs, ys, lw=1.2, ms=5, label=subject.label, **style)
    for call, axis in axes.items():
        axis.axhline(1.0, color="black", lw=1.5, ls="--")
        axis.text(1000, 1.1, "1.0: as fast as mpkato", fontsize=8, ha="right", va="bottom")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks([10, 100, 1000], ["10", "100", "1000"])
        axis.set_xlabel("n (items per ranking)")
        axis.set_title(f"{call}: ours / mpkato, median CPU time per call")
        axis.grid(alpha=0.3, which="both")
    axes["interleave"].set_ylabel("ratio ours / mpkato (below 1: ours faster)")
    missing: dict[str, list[str]] = {}
    for row in rows:
        if row.get("part") == "call vs mpkato" and row["ratio"] == "-":
            missing.setdefault(row["case"], []).append(str(row["n"]))
    if missing:
        listed = "; ".join(f"{case} at n = {', '.join(ns)}" for case, ns in missing.items())
        fig.text(0.01, 0.005, f"No ratio (the table says why): {listed}", fontsize=6, wrap=True)
    fig.legend(
        *axes["interleave"].get_legend_handles_labels(),
        loc="lower center",
        bbox_to_anchor=(0.5, 0.05),
        ncol=5,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig


# -- the suite --------------------------------------------------------------------------------


def run(
    quick: bool,
    seed: int = 0,
    *,
    sizes: tuple[int, ...] = SIZES,
    parts: tuple[str, ...] = PARTS,
    min_time: float | None = None,
    repeat: int | None = None,
    tail_calls: int | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    click_workers: int = 2,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of every part in ``parts`` and ``speed.png``.

    The keyword arguments shrink the run for smoke tests: ``sizes`` (n of the per-call part),
    ``min_time``/``repeat``/``tail_calls`` (the timing), ``n_train``/``n_test`` (sessions of the
    click-model part, drawn with ``seed``); ``click_workers`` processes run PyClick's fits.
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        msg = f"`parts` must be drawn from {PARTS}, got {sorted(unknown)}"
        raise ValueError(msg)
    load_start = os.getloadavg()[0]
    timing = _timing(quick, min_time, repeat, tail_calls)
    rows: list[dict[str, Any]] = []
    if "call" in parts:
        rows += _call_rows(tuple(sizes), timing, seed)
    if "batch" in parts:
        per_call = {
            row["case"]: row["ours"] / 1e6
            for row in rows
            if row["n"] == BATCH_LENGTH and isinstance(row["ours"], float)
        }
        rows += _batch_rows(timing, seed, per_call)
    if "clicks" in parts:
        click_sizes = dict(CLICKS_QUICK if quick else CLICKS_FULL)
        click_sizes.update(
            {k: v for k, v in (("n_train", n_train), ("n_test", n_test)) if v is not None}
        )
        rows += _click_rows(seed, click_sizes, repeat or (3 if quick else 5), click_workers)
    if "sequential" in parts:
        rows += _sequential_rows(timing)
    # The optional compiled merge (interleave/_speedups.c) changes the per-call numbers: say which.
    compiled = importlib.util.find_spec("interleave._speedups") is not None
    rows.append(
        {
            "part": "machine",
            "case": f"load average (1 min) at start {load_start:.1f}, at end "
            f"{os.getloadavg()[0]:.1f}, on {os.cpu_count()} CPUs; seed {seed}; compiled fast "
            f"path interleave._speedups {'present' if compiled else 'absent (pure Python)'}",
        }
    )
    return rows, {"speed.png": _figure(rows)}
