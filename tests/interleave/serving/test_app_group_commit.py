"""Group commit in the sidecar: many requests share a commit, none is answered before it.

A real uvicorn server on 127.0.0.1 and real HTTP clients (httpx); the killed-server test runs the
service in a subprocess and SIGKILLs it right after responses arrived. Timings are never asserted:
a stalled commit is made deterministic by holding the store's commit on an event.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from interleave.errors import InvalidArgument
from interleave.serving import SQLiteStore
from interleave.serving.app import ServiceConfig, create_app
from tests.interleave.serving.conftest import LiveServer

LISTS = [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]


def stored(db) -> list[dict]:
    """Every committed event, read through a connection of its own (what a restart would see)."""
    with SQLiteStore(db) as store:
        return list(store.read())


def committed_impressions(db) -> set[str]:
    """Committed impression ids, read without the store (no flush of anything queued)."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT body FROM events WHERE kind = 'impression'").fetchall()
    connection.close()
    return {json.loads(body)["impression"] for (body,) in rows}


class HeldCommits:
    """Wraps a store's commit: a commit can be held until released, or made to fail.

    ``fail``: every commit fails while it is true; ``failures``: that many next commits fail.
    """

    def __init__(self, store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.store = store
        self.real = store._commit
        self.hold = False
        self.fail = False
        self.failures = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        monkeypatch.setattr(store, "_commit", self._commit)

    def _commit(self, rows):
        if not rows:
            return self.real(rows)
        if self.hold:
            self.entered.set()
            assert self.release.wait(30), "the test never released the held commit"
        if self.fail or self.failures > 0:
            self.failures -= 1
            msg = "disk I/O error (simulated)"
            raise sqlite3.OperationalError(msg)
        return self.real(rows)


@pytest.fixture
def service(tmp_path):
    """A live service on a fresh SQLite store; yields (url, db path, app).

    The experiment "default" exists already: creating one reads the store, which commits what is
    queued on the event loop (and would block there on a held commit).
    """
    db = tmp_path / "events.db"
    app = create_app(ServiceConfig(db=db, length=5, seed=4))
    with LiveServer(app) as server:
        created = httpx.post(server.url + "/experiments", json={"id": "default"}, timeout=30)
        assert created.status_code == 201
        yield server.url, db, app


# The service store ------------------------------------------------------------------------------


def test_a_queued_store_commits_only_on_flush_and_counts_positions(tmp_path):
    path = tmp_path / "events.db"
    with SQLiteStore(path, batch_interval=math.inf) as store:
        event = {"kind": "click", "experiment": "e", "impression": "i", "at": 0.0}
        store.append([event, event])
        assert (store.appended, store.committed) == (2, 0)
        assert stored(path) == []  # no timer, no writer thread: nothing committed yet
        store.flush()
        assert (store.appended, store.committed) == (2, 2)
        store.append([event])
    assert len(stored(path)) == 3  # close committed the queued event


def test_a_failed_commit_keeps_its_events_queued_in_order(tmp_path, monkeypatch):
    path = tmp_path / "events.db"
    with SQLiteStore(path, batch_interval=math.inf) as store:
        commits = HeldCommits(store, monkeypatch)
        store.append([{"kind": "click", "experiment": "e", "impression": "a", "at": 0.0}])
        commits.fail = True
        with pytest.raises(sqlite3.OperationalError, match="simulated"):
            store.flush()
        assert (store.appended, store.committed) == (1, 0)
        store.append([{"kind": "click", "experiment": "e", "impression": "b", "at": 1.0}])
        commits.fail = False
        store.flush()
        assert (store.appended, store.committed) == (2, 2)
    assert [e["impression"] for e in stored(path)] == ["a", "b"]


@pytest.mark.parametrize("batch_interval", [None, math.inf])
def test_text_sqlite_cannot_hold_is_refused_at_append_not_at_commit(tmp_path, batch_interval):
    # json.loads turns "\ud800" into a lone surrogate; queued, it would fail every later commit.
    with SQLiteStore(tmp_path / "events.db", batch_interval=batch_interval) as store:
        bad = {"kind": "click", "experiment": "e", "impression": "\ud800", "at": 0.0}
        with pytest.raises(InvalidArgument, match="not valid Unicode"):
            store.append([bad])
        assert store.appended == 0


# The service ------------------------------------------------------------------------------------


def test_every_acknowledged_impression_and_click_is_stored_after_the_server_stops(tmp_path):
    db = tmp_path / "events.db"
    app = create_app(ServiceConfig(db=db, length=5, seed=4))

    def user_session(url: str, t: int) -> list[tuple[str, int]]:
        acknowledged = []
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(25):
                shown = client.post(
                    "/interleave",
                    json={"request_key": f"t{t}-{i}", "user": f"u{t}", "rankings": LISTS},
                )
                assert shown.status_code == 200, shown.text
                impression = shown.json()["impression_id"]
                acknowledged.append((impression, -1))
                click = client.post(
                    "/clicks", json={"impression_id": impression, "position": i % 5}
                )
                assert click.status_code == 200, click.text
                assert click.json() == {"accepted": True, "duplicate": False}
                acknowledged.append((impression, i % 5))
        return acknowledged

    with LiveServer(app) as server, ThreadPoolExecutor(16) as pool:
        sessions = list(pool.map(lambda t: user_session(server.url, t), range(16)))
        n_commits = app.state.group_commit.n_commits
    events = stored(db)
    impressions = {e["impression"] for e in events if e["kind"] == "impression"}
    clicks = {(e["impression"], e["position"]) for e in events if e["kind"] == "click"}
    acknowledged = [pair for session in sessions for pair in session]
    assert len(acknowledged) == 16 * 25 * 2
    assert {i for i, p in acknowledged if p < 0} <= impressions
    assert {(i, p) for i, p in acknowledged if p >= 0} <= clicks
    assert len(impressions) == len(clicks) == 16 * 25  # nothing twice, nothing extra
    # Shared commits are likely here but not guaranteed (timing): bounded, never asserted shared.
    assert 1 <= n_commits <= 16 * 25 * 2


def test_requests_that_arrive_during_a_commit_share_the_next_one(service, monkeypatch):
    url, db, app = service
    group = app.state.group_commit
    commits = HeldCommits(group.store, monkeypatch)
    commits.hold = True
    before = group.n_commits
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(
            httpx.post, url + "/interleave", json={"request_key": "lead", "rankings": LISTS}
        )
        assert commits.entered.wait(30), "the first request never started a commit"
        held = group.store.appended
        followers = [
            pool.submit(
                httpx.post,
                url + "/interleave",
                json={"request_key": f"f{i}", "rankings": LISTS},
                timeout=30,
            )
            for i in range(7)
        ]
        deadline = time.monotonic() + 30
        while group.store.appended < held + 7 and time.monotonic() < deadline:
            time.sleep(0.01)  # every follower has appended and waits behind the held commit
        assert group.store.appended == held + 7
        assert not any(f.done() for f in [first, *followers])  # nobody answered before a commit
        commits.hold = False
        commits.release.set()
        responses = [first.result(), *(f.result() for f in followers)]
    assert [r.status_code for r in responses] == [200] * 8
    assert group.n_commits - before == 2  # the held commit, then one for all seven followers
    assert {r.json()["impression_id"] for r in responses} <= committed_impressions(db)


def test_a_lone_request_is_answered_after_one_commit_with_no_timer(service):
    url, db, app = service
    group = app.state.group_commit
    before = group.n_commits
    start = time.perf_counter()
    shown = httpx.post(url + "/interleave", json={"request_key": "alone", "rankings": LISTS})
    elapsed = time.perf_counter() - start
    assert shown.status_code == 200
    assert group.n_commits - before == 1
    assert shown.json()["impression_id"] in committed_impressions(db)  # durable when answered
    print(f"lone request answered in {elapsed * 1e3:.2f} ms")  # reported, not asserted


def test_a_failed_commit_answers_503_and_acknowledges_nothing(service, monkeypatch):
    url, db, app = service
    commits = HeldCommits(app.state.group_commit.store, monkeypatch)
    with httpx.Client(base_url=url, timeout=30) as client:
        first = client.post("/interleave", json={"request_key": "ok", "rankings": LISTS}).json()
        commits.fail = True
        shown = client.post("/interleave", json={"request_key": "lost", "rankings": LISTS})
        assert shown.status_code == 503
        assert shown.json()["field"] == "store"
        assert "simulated" in shown.json()["error"]
        assert "impression_id" not in shown.json()
        click = client.post(
            "/clicks", json={"impression_id": first["impression_id"], "position": 0}
        )
        assert click.status_code == 503
        assert "accepted" not in click.json()
        assert committed_impressions(db) == {first["impression_id"]}
        # A new experiment reads the store, committing the queue first: that fails too.
        other = {"experiment": "other", "request_key": "k", "rankings": LISTS}
        created = client.post("/interleave", json=other)
        assert created.status_code == 503
        assert created.json()["field"] == "store"
        assert "simulated" in created.json()["error"]
        # The store recovers: the repeated request is answered once its queued events commit.
        commits.fail = False
        again = client.post("/interleave", json={"request_key": "lost", "rankings": LISTS})
        assert again.status_code == 200
        assert again.json()["impression_id"] in committed_impressions(db)
        clicked = client.post(
            "/clicks", json={"impression_id": first["impression_id"], "position": 0}
        )
        assert clicked.json()["accepted"]
    clicks = [e for e in stored(db) if e["kind"] == "click"]
    assert [(e["impression"], e["position"]) for e in clicks] == [(first["impression_id"], 0)]


def test_a_failed_commit_fails_only_the_requests_whose_events_it_held(service, monkeypatch):
    url, db, app = service
    commits = HeldCommits(app.state.group_commit.store, monkeypatch)
    commits.hold, commits.failures = True, 1
    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(
            httpx.post, url + "/interleave", json={"request_key": "held", "rankings": LISTS}
        )
        assert commits.entered.wait(30)
        later = pool.submit(
            httpx.post,
            url + "/interleave",
            json={"request_key": "later", "rankings": LISTS},
            timeout=30,
        )
        store = app.state.group_commit.store
        queued = store.appended
        deadline = time.monotonic() + 30
        while store.appended == queued and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.appended == queued + 1  # `later` is queued behind the held commit
        commits.hold = False
        commits.release.set()  # the held commit fails; the next one (retrying it) succeeds
        held_response, later_response = held.result(), later.result()
    assert held_response.status_code == 503
    # `later` was queued after the failed commit took the queue: it waits for the next commit.
    assert later_response.status_code == 200
    assert later_response.json()["impression_id"] in committed_impressions(db)


def test_shutdown_commits_what_is_queued(tmp_path):
    db = tmp_path / "events.db"
    app = create_app(ServiceConfig(db=db, length=5, seed=4))
    with LiveServer(app) as server:
        assert httpx.post(server.url + "/experiments", json={"id": "x"}).status_code == 201
        # Appended without a request waiting on it: only the shutdown commits it.
        experiment = app.state.registry.get("x", create=False)
        served = experiment.serve("queued", LISTS)
        assert served.impression_id not in committed_impressions(db)
    assert served.impression_id in {e["impression"] for e in stored(db)}


@pytest.mark.parametrize("name", ["events.ndjson", None])
def test_ndjson_and_memory_stores_still_serve(tmp_path, name):
    db = None if name is None else tmp_path / name
    app = create_app(ServiceConfig(db=db, length=5, seed=4))
    assert app.state.group_commit is None  # they write per request, as their append returns
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        shown = client.post("/interleave", json={"request_key": "r", "rankings": LISTS}).json()
        click = client.post(
            "/clicks", json={"impression_id": shown["impression_id"], "position": 1}
        )
        assert click.json()["accepted"]
        result = client.get("/experiments/default").json()
        assert (result["n_impressions"], result["n_clicks"]) == (1, 1)
    if db is not None:
        kinds = [json.loads(line)["kind"] for line in db.read_text().splitlines()]
        assert kinds == ["config", "impression", "click"]


def test_a_request_sqlite_cannot_store_gets_422_and_the_queue_still_commits(service):
    url, db, _ = service
    with httpx.Client(base_url=url, timeout=30) as client:
        # Written by hand: a JSON escape of a lone surrogate, which no UTF-8 encoder produces.
        body = b'{"request_key": "k", "user": "\\ud800", "rankings": [[1, 2], [2, 1]]}'
        bad = client.post("/interleave", content=body)
        assert bad.status_code == 422
        assert "not valid Unicode" in bad.json()["error"]
        good = client.post("/interleave", json={"request_key": "fine", "rankings": LISTS})
        assert good.status_code == 200
    assert good.json()["impression_id"] in committed_impressions(db)


# A killed server --------------------------------------------------------------------------------

SERVER = textwrap.dedent(
    """
    import sys
    import uvicorn
    from interleave.serving.app import ServiceConfig, create_app, listening_socket

    sock = listening_socket("127.0.0.1", 0)
    app = create_app(ServiceConfig(db=sys.argv[1], length=4, seed=3))
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on")).run(sockets=[sock])
    """
)


def test_a_killed_server_loses_no_acknowledged_event(tmp_path):
    db = tmp_path / "events.db"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    acknowledged: list[tuple[str, int]] = []
    lock = threading.Lock()
    enough = threading.Event()

    def user_session(url: str, t: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(10_000):
                try:
                    shown = client.post(
                        "/interleave",
                        json={"request_key": f"t{t}-{i}", "user": f"u{t}", "rankings": LISTS},
                    )
                    if shown.status_code != 200:
                        return
                    impression = shown.json()["impression_id"]
                    with lock:
                        acknowledged.append((impression, -1))
                    click = client.post(
                        "/clicks", json={"impression_id": impression, "position": i % 4}
                    )
                    if click.status_code != 200:
                        return
                    with lock:
                        acknowledged.append((impression, i % 4))
                        if len(acknowledged) >= 400:
                            enough.set()
                except httpx.HTTPError:  # the server was killed mid-request: not acknowledged
                    return

    try:
        url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/experiments", timeout=5)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the service did not start within 30 s"
                time.sleep(0.05)
        with ThreadPoolExecutor(8) as pool:
            sessions = [pool.submit(user_session, url, t) for t in range(8)]
            assert enough.wait(60), "fewer than 400 acknowledgements in 60 s"
            server.send_signal(signal.SIGKILL)  # requests are in flight
            for session in sessions:
                session.result()
    finally:
        server.kill()
        server.wait(timeout=30)
        server.stdout.close()
    with lock:
        acknowledged = list(acknowledged)
    events = stored(db)
    impressions = {e["impression"] for e in events if e["kind"] == "impression"}
    clicks = {(e["impression"], e["position"]) for e in events if e["kind"] == "click"}
    assert {i for i, p in acknowledged if p < 0} <= impressions
    assert {(i, p) for i, p in acknowledged if p >= 0} <= clicks


def test_a_request_key_with_a_lone_surrogate_gets_422_naming_it(service):
    url, _, _ = service
    with httpx.Client(base_url=url, timeout=30) as client:
        body = b'{"request_key": "\\ud800", "rankings": [[1, 2], [2, 1]]}'
        bad = client.post("/interleave", content=body)
        assert bad.status_code == 422
        assert bad.json()["field"] == "request_key"
        assert client.post("/interleave", json={"request_key": "ok", "rankings": LISTS}).is_success
