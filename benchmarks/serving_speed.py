"""Serving speed: in-process `Experiment.serve` overhead, 8-thread consistency, sidecar rate.

Three parts, each a row per case:

1. in process: p50/p99 of ``serve`` (interleave + record + durable append) and of
   ``record_click``, per store (memory, SQLite WAL committing per call or batched every 10 ms,
   NDJSON), TeamDraft n = 10; the interleave call
   alone beside them, so the store's share is visible (targets: serve p50 <= 20 us, p99 <= 100 us);
2. 8 threads x N serves and clicks on one SQLite experiment: events in the store against the
   totals in ``result()`` (must be equal: no lost or duplicated event);
3. the sidecar (uvicorn, one worker) on 127.0.0.1 under a bounded closed-loop load from this
   process (asyncio, keep-alive connections): requests per second and p50/p99 latency of
   ``POST /interleave`` (targets: >= 1,500 req/s, p99 <= 10 ms), each answered after its events
   are committed to SQLite, with the requests per commit of the service's group commit. The load
   generator shares the two cores with the server, so the rate is a lower bound of what a
   separate client would see.

Run: ``python -m benchmarks serving_speed [--quick]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from interleave import TeamDraft
from interleave.serving import Experiment, SQLiteStore

LISTS = [list(range(10)), list(range(5, 15))]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.array(samples) * 1e6
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def _in_process(n: int, folder: Path) -> list[dict]:
    rows = []
    method = TeamDraft(length=10)
    samples = []
    for i in range(n):
        start = time.perf_counter()
        method.interleave(LISTS, key=f"k{i}", seed=1)
        samples.append(time.perf_counter() - start)
    p50, p99 = _percentiles(samples)
    rows.append({"case": "interleave alone", "p50_us": p50, "p99_us": p99})
    stores = {
        "memory": lambda: None,
        "sqlite": lambda: folder / "e.db",
        "sqlite batched 10 ms": lambda: SQLiteStore(folder / "b.db", batch_interval=0.01),
        "ndjson": lambda: folder / "e.ndjson",
    }
    for store, make_store in stores.items():
        # Built per case (a store built for every case left idle batch writers waking 100 times
        # a second beside the later cases), after the previous case's file writes reached the
        # disk, so that no case times another's write-back.
        if hasattr(os, "sync"):
            os.sync()
        where = make_store()
        with Experiment("bench", method, seed=1, store=where, attribution_window=1e9) as exp:
            serve, click = [], []
            for i in range(n):
                start = time.perf_counter()
                served = exp.serve(f"r{i}", LISTS, user=f"u{i % 100}", at=float(i))
                middle = time.perf_counter()
                exp.record_click(served.impression_id, i % 10, at=i + 0.5)
                end = time.perf_counter()
                serve.append(middle - start)
                click.append(end - middle)
        for call, samples in (("serve", serve), ("record_click", click)):
            p50, p99 = _percentiles(samples)
            target = "p50 <= 20, p99 <= 100" if call == "serve" else ""
            meets = (p50 <= 20 and p99 <= 100) if call == "serve" else ""
            rows.append(
                {
                    "case": f"{call} ({store} store)",
                    "p50_us": p50,
                    "p99_us": p99,
                    "target": target,
                    "meets": meets,
                }
            )
    return rows


def _threads(per_thread: int, folder: Path) -> dict:
    with Experiment(
        "threads", TeamDraft(length=10), seed=1, store=folder / "t.db", attribution_window=1e9
    ) as exp:

        def work(t: int) -> None:
            for i in range(per_thread):
                served = exp.serve(f"t{t}-{i}", LISTS, user=f"u{i % 50}", at=float(i))
                exp.record_click(served.impression_id, i % 10, at=i + 0.5)

        start = time.perf_counter()
        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        result = exp.result(at=1e10)
        kinds = [e["kind"] for e in exp.store.read("threads")]
    total = 8 * per_thread
    consistent = (
        result.n_impressions == kinds.count("impression") == total
        and result.n_clicks == kinds.count("click") == total
        and kinds.count("close") == total
        and abs(float(result.win_loss.n) - total) < 1e-6
    )
    return {
        "case": f"8 threads x {per_thread:,} serves + clicks (SQLite)",
        "events_per_s": 2 * total / elapsed,
        "impressions_stored": kinds.count("impression"),
        "clicks_stored": kinds.count("click"),
        "credited_in_result": result.n_credited,
        "meets": consistent,
        "target": "store totals == result totals",
    }


async def _load(port: int, n_requests: int, concurrency: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(n_requests))

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                body = json.dumps({"request_key": f"r{i}", "user": f"u{i % 97}", "rankings": LISTS})
                request = (
                    f"POST /interleave HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                    f"application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
                ).encode()
                start = time.perf_counter()
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies


def _service(n_requests: int, folder: Path) -> dict:
    import uvicorn

    from interleave.serving.app import ServiceConfig, create_app, listening_socket

    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = create_app(ServiceConfig(db=folder / "service.db", length=10))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    while not server.started:
        time.sleep(0.01)
    group = app.state.group_commit  # the SQLite store's group commit
    try:
        asyncio.run(_load(port, 200, 4, 5.0))  # warm up
        commits_before = group.n_commits
        start = time.perf_counter()
        latencies = asyncio.run(_load(port, n_requests, 8, 60.0))
        elapsed = time.perf_counter() - start
        n_commits = group.n_commits - commits_before
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
    p50, p99 = _percentiles(latencies)
    rate = len(latencies) / elapsed
    return {
        "case": f"POST /interleave, uvicorn, 8 connections, {len(latencies):,} requests",
        "req_per_s": rate,
        "p50_us": p50,
        "p99_us": p99,
        "requests_per_commit": len(latencies) / max(n_commits, 1),
        "target": ">= 1500 req/s, p99 <= 10 ms",
        "meets": rate >= 1500 and p99 <= 10_000,
    }


def run(quick: bool = False) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = _in_process(5_000 if quick else 50_000, folder)
        rows.append(_threads(2_000 if quick else 100_000, folder))
        rows.append(_service(2_000 if quick else 20_000, folder))
    print(f"(median of medians: {statistics.median(r.get('p50_us', 0) for r in rows):.1f} us)")
    return rows
