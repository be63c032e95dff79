"""Smoke test of ``benchmarks/serving_speed.py``: every part runs and reports what it claims."""

from __future__ import annotations

import threading

import pytest

from benchmarks import serving_speed

STORES = ("memory", "sqlite", "sqlite batched 10 ms", "ndjson")


def _writers() -> int:
    return sum(t.name == "interleave-sqlite-writer" for t in threading.enumerate())


@pytest.mark.slow
def test_in_process_rows_per_store_and_no_writer_left_behind(tmp_path):
    before = _writers()
    rows = serving_speed._in_process(300, tmp_path)
    # Each case builds and closes only its own store: no batch writer outlives the run (a store
    # built for every case once left three idle writers beside the later cases' timings).
    assert _writers() == before
    assert [row["case"] for row in rows] == ["interleave alone"] + [
        f"{call} ({store} store)" for store in STORES for call in ("serve", "record_click")
    ]
    for row in rows:
        assert 0 < row["p50_us"] <= row["p99_us"], row
    for row in rows[1::2]:  # the serve rows carry the target and whether it was met
        assert row["target"] == "p50 <= 20, p99 <= 100"
        assert row["meets"] is (row["p50_us"] <= 20 and row["p99_us"] <= 100)


@pytest.mark.slow
def test_threads_store_totals_equal_the_result(tmp_path):
    row = serving_speed._threads(200, tmp_path)
    assert row["meets"] is True
    assert row["impressions_stored"] == row["clicks_stored"] == row["credited_in_result"] == 1600


@pytest.mark.slow
def test_sidecar_rate_and_latency_are_measured(tmp_path):
    pytest.importorskip("uvicorn", reason="the sidecar needs the `api` extra (uvicorn)")
    row = serving_speed._service(200, tmp_path)
    assert row["req_per_s"] > 0
    assert 0 < row["p50_us"] <= row["p99_us"]
    assert row["requests_per_commit"] >= 1
    assert row["meets"] is (row["req_per_s"] >= 1500 and row["p99_us"] <= 10_000)
