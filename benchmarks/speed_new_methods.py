"""Speed of PairwisePreference and DebiasedBalanced, side by side with mpkato where it has them.

CPU time per call (median of samples taken in alternation with the incumbent), same rankings and
clicks: two rankings of n items sharing half (as in ``speed_interleave``) plus, for the
multileaver, the first one reversed. mpkato has PairwisePreference (credit with its skip-above
rule, so ours runs with ``pairs="skip_above"``); nobody has DebiasedBalanced, so it is shown
beside our Balanced (the same merge).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks._anchors import load_mpkato
from benchmarks.speed_interleave import clicks_for, rankings, side_by_side
from interleave import Balanced, DebiasedBalanced, PairwisePreference

__all__ = ["run"]


def _row(case: str, n: int, ours: float, theirs: float | None, note: str) -> dict[str, Any]:
    return {
        "case": case,
        "n": n,
        "ours_us": ours * 1e6,
        "reference_us": "-" if theirs is None else theirs * 1e6,
        "ratio": "-" if theirs is None else ours / theirs,
        "note": note,
    }


def run(quick: bool = False) -> list[dict]:
    min_time = 0.1 if quick else 1.0
    mpkato, why = load_mpkato()
    if mpkato is not None:
        np.random.seed(0)  # noqa: NPY002 (mpkato draws from numpy's global state)
    rows: list[dict] = []
    for n in (10, 100, 1000):
        a, b = rankings(n)
        lists = [a, b, a[::-1]]
        clicks = clicks_for(n)
        ours = PairwisePreference(length=n, pairs="skip_above")
        keys = iter(range(10**9))
        shown = ours.interleave(lists, key="shown", seed=7)
        incumbent = mpkato.PairwisePreference(lists, max_length=n) if mpkato else None
        their_list = (
            mpkato.ranking.PairwisePreferenceRanking(lists, contents=list(shown.items))
            if mpkato
            else None
        )
        for call, our_fn, their_fn in (
            (
                "interleave",
                lambda o=ours, p=lists, k=keys: o.interleave(p, key=f"request-{next(k)}", seed=7),
                incumbent.interleave if incumbent else None,
            ),
            (
                "credit",
                lambda o=ours, s=shown, c=clicks: o.credit(s, c),
                (lambda t=their_list, c=clicks: mpkato.PairwisePreference.compute_scores(t, c))
                if mpkato
                else None,
            ),
        ):
            note = why if their_fn is None else "vs mpkato, 3 rankings"
            ours_time, their_time = side_by_side(our_fn, their_fn, min_time=min_time)
            rows.append(_row(f"PairwisePreference.{call}", n, ours_time, their_time, note))

        debiased, balanced = DebiasedBalanced(length=n), Balanced(length=n)
        pair = [a, b]
        record = debiased.interleave(pair, key="shown", seed=7)
        balanced_record = balanced.interleave(pair, key="shown", seed=7)
        for call, our_fn, reference in (
            (
                "interleave",
                lambda m=debiased, p=pair, k=keys: m.interleave(p, key=f"r-{next(k)}", seed=7),
                lambda m=balanced, p=pair, k=keys: m.interleave(p, key=f"r-{next(k)}", seed=7),
            ),
            (
                "credit",
                lambda m=debiased, r=record, c=clicks: m.credit(r, c),
                lambda m=balanced, r=balanced_record, c=clicks: m.credit(r, c),
            ),
        ):
            ours_time, reference_time = side_by_side(our_fn, reference, min_time=min_time)
            rows.append(
                _row(
                    f"DebiasedBalanced.{call}",
                    n,
                    ours_time,
                    reference_time,
                    "vs our Balanced (no incumbent has this method)",
                )
            )
    return rows
