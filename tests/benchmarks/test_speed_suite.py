"""Smoke tests of the ``speed`` suite: tiny timings, the structure of its rows, never a time.

Timings are not asserted (STYLE: no timing asserts in tests); what is checked is that every
method, size and call has its row, that every ratio is a positive ours / incumbent with the
target beside it, and that without the anchors no ratio is made up and each row says why.
"""

from __future__ import annotations

import json

import pytest

from benchmarks import _harness, speed
from benchmarks._anchors import load_mpkato, load_pyclick
from benchmarks.clicks_speed import SAMPLE

# The smallest timings that still run every path: a median of 2-3 samples of a few calls.
TINY = {"min_time": 0.002, "repeat": 1, "tail_calls": 20}
ABSENT = "anchors removed by this test"


def _expected_cases(sizes):
    return {
        (speed.case_name(s.label, call), n)
        for n in sizes
        for s in speed.subjects()
        for call in s.calls
    }


def _part(rows, part):
    return [row for row in rows if row.get("part") == part]


@pytest.mark.slow
def test_every_method_size_and_call_is_timed_beside_mpkato(tmp_path):
    if load_mpkato()[0] is None:
        pytest.skip(f"mpkato/interleaving is not available: {load_mpkato()[1]}")
    # n = 1000 adds seconds of mpkato's Team-Draft: the absent-anchors test covers it.
    sizes = (10, 100)
    rows, figures = speed.run(quick=True, sizes=sizes, parts=("call", "batch"), **TINY)
    calls = _part(rows, "call vs mpkato")
    assert {(row["case"], row["n"]) for row in calls} == _expected_cases(sizes)
    assert len(calls) == len(_expected_cases(sizes))  # one row each
    for row in calls:
        if row["ratio"] == "-":
            assert row["meets"] == "-", row
            assert row["note"], row  # no ratio without saying why
            continue
        assert row["ratio"] > 0
        assert row["ratio"] == pytest.approx(row["ours"] / row["incumbent"])
        assert row["target"] == speed.TARGET
        assert row["meets"] is (row["ratio"] <= 1.0)
    by_case = {(row["case"], row["n"]): row for row in calls}
    # mpkato has every method but Debiased Balanced; at n = 10 each comparison is made.
    for subject in speed.subjects():
        for call in subject.calls:
            row = by_case[(speed.case_name(subject.label, call), 10)]
            assert (row["ratio"] == "-") is (subject.incumbent is None), row
    assert "mpkato has no counterpart" in by_case[("DebiasedBalanced.interleave", 100)]["note"]
    # Its exact two-ranker credit enumerates 2^n assignments: beyond n = 12 it is not run.
    assert "2^100" in by_case[("Probabilistic.credit", 100)]["note"]

    batch = _part(rows, "batch")
    batchable = [s for s in speed.subjects() if not s.cold and not s.bound]
    assert {row["case"] for row in batch} == {
        speed.case_name(s.label, call)
        for s in batchable
        for call in ("interleave_batch", "credit_batch")
    }
    assert all(row["ours"] > 0 and row["unit"] == "impressions/s" for row in batch)
    assert all("x a loop of the per-call path" in row["note"] for row in batch)

    assert set(figures) == {"speed.png"}
    path = _harness.write_results("speed", rows, out=tmp_path, figures=figures)
    assert (tmp_path / "speed.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "speed.json").read_text())["rows"][0]["part"] == "call vs mpkato"
    assert path.read_text().count("\n| ") == len(rows) + 1  # the header and one line per row


@pytest.mark.slow
def test_without_the_anchors_no_ratio_is_made_and_each_row_says_why(monkeypatch):
    monkeypatch.setattr(speed, "load_mpkato", lambda: (None, ABSENT))
    monkeypatch.setattr(speed, "load_pyclick", lambda: (None, ABSENT))
    sizes = (10, 1000)  # n = 100 is covered above (its Optimized solve takes a second)
    rows, _ = speed.run(
        quick=True,
        sizes=sizes,
        parts=("call", "clicks", "sequential"),
        n_train=300,
        n_test=200,
        **TINY,
    )
    calls = _part(rows, "call vs mpkato")
    assert {(row["case"], row["n"]) for row in calls} == _expected_cases(sizes)
    for row in calls:
        assert (row["incumbent"], row["ratio"], row["meets"], row["target"]) == ("-",) * 4, row
        assert f"mpkato absent: {ABSENT}" in row["note"], row
        # Ours is measured wherever ours answers: only Optimized refuses (n = 1000).
        assert isinstance(row["ours"], float) or "ours" in row["note"], row

    clicks = _part(rows, "click model vs PyClick")
    if SAMPLE.is_dir():
        assert {row["case"].split(" ")[0] for row in clicks} == set(speed.CLICK_FAMILIES)
        for row in clicks:
            assert (row["ratio"], row["incumbent"]) == ("-", "-"), row
            assert f"PyClick absent: {ABSENT}" in row["note"]
    else:
        assert len(clicks) == 1
        assert clicks[0]["case"].startswith("skipped: the Yandex sample")

    sequential = _part(rows, "sequential update")
    assert len(sequential) >= 5
    assert all(row["ours"] > 0 for row in sequential)


@pytest.mark.slow
def test_click_models_are_timed_per_iteration_beside_pyclick():
    if not SAMPLE.is_dir():
        pytest.skip(f"the Yandex sample is not at {SAMPLE}")
    if load_pyclick()[0] is None:
        pytest.skip(f"PyClick is not available: {load_pyclick()[1]}")
    rows, _ = speed.run(
        quick=True, parts=("clicks",), n_train=200, n_test=100, repeat=2, click_workers=1
    )
    clicks = _part(rows, "click model vs PyClick")
    units = {row["case"]: row["unit"] for row in clicks}
    # A whole fit and an evaluation of each model; EM models also per iteration.
    em = {"PBM EM(2)", "UBM EM(2)", "DBN EM(1)"}
    assert len(clicks) == 2 * len(speed.CLICK_FAMILIES) + len(em)
    assert {units[f"{label} per EM iteration"] for label in em} == {"s/iteration"}
    assert units["SDBN (closed form) fit"] == "s/fit"
    for row in clicks:
        assert row["incumbent"] > 0
        if row["ratio"] == "-":  # only an EM slope lost in timing noise has none
            assert row["unit"] == "s/iteration"
            assert "lost in timing noise" in row["note"]
            continue
        assert row["ours"] > 0
        assert row["ratio"] == pytest.approx(row["ours"] / row["incumbent"])
        assert row["target"] == speed.TARGET


def test_a_row_has_a_ratio_only_where_both_sides_were_measured():
    subject = speed.subjects()[0]
    both = speed._call_row(
        subject, "credit", 10, speed.Side(None, median=2e-6), speed.Side(None, median=4e-6)
    )
    assert both["ratio"] == pytest.approx(0.5)
    assert both["meets"] is True
    assert (both["ours"], both["incumbent"]) == (pytest.approx(2.0), pytest.approx(4.0))  # us
    slower = speed._call_row(
        subject, "credit", 10, speed.Side(None, median=5e-6), speed.Side(None, median=4e-6)
    )
    assert slower["meets"] is False
    absent = speed._call_row(
        subject,
        "credit",
        10,
        speed.Side(None, median=2e-6),
        speed.Side(None, "mpkato absent: no folder"),
    )
    assert (absent["incumbent"], absent["ratio"], absent["meets"]) == ("-", "-", "-")
    assert absent["note"] == "mpkato absent: no folder"
    refused = speed._call_row(
        subject,
        "credit",
        1000,
        speed.Side(None, "ours refuses: TooManyCandidates: ..."),
        speed.Side(None, median=4e-6),
    )
    assert (refused["ours"], refused["ratio"]) == ("-", "-")
    assert refused["note"].startswith("ours refuses")


def test_cold_calls_get_new_item_ids_in_the_same_ranking_structure():
    lists = [[1, 2, 3], [3, 1, 4]]
    fresh = speed._fresh_pairs(lists)
    first, second = fresh(), fresh()
    assert set(first[0]).isdisjoint(second[0])  # no cached solution can answer the second
    for pair in (first, second):
        offset = pair[0][0] - 1
        assert [[x - offset for x in r] for r in pair] == lists
