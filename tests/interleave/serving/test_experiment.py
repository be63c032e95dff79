"""The live experiment: serve, collect clicks, credit once, resume after a restart."""

from __future__ import annotations

import json
import threading

import pytest

from interleave import Balanced, InvalidArgument, Probabilistic, TeamDraft
from interleave.serving import Experiment, MemoryStore, NDJSONStore, SQLiteStore
from interleave.stats import SequentialState

LISTS = [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]


def make(store=None, **kwargs):
    kwargs.setdefault("method", TeamDraft(length=5))
    return Experiment("exp", seed=11, store=store, attribution_window=60.0, **kwargs)


def candidate_positions(served):
    return [p for p, team in enumerate(served.interleaving.teams) if team == 1]


def test_same_request_key_gives_the_same_impression_and_is_not_counted_twice():
    exp = make()
    first = exp.serve("r1", LISTS, user="u", at=0.0)
    again = exp.serve("r1", LISTS, user="u", at=1.0)
    assert again.repeated
    assert not first.repeated
    assert again.impression_id == first.impression_id
    assert again.items == first.items
    assert exp.result(at=1.0).n_impressions == 1
    other = make().serve("r1", LISTS, user="u", at=0.0)  # another process, same seed and key
    assert other.items == first.items
    assert other.impression_id == first.impression_id


def test_tuple_request_keys_are_accepted():
    served = make().serve(("user-9", 42), LISTS, user="user-9", at=0.0)
    assert len(served.items) == 5


def test_clicks_accumulate_and_the_impression_is_credited_once_when_the_window_closes():
    exp = make()
    served = exp.serve("r1", LISTS, user="u", at=0.0)
    positions = candidate_positions(served)
    assert exp.record_click(served.impression_id, positions[0], at=10.0)
    assert exp.record_click(served.impression_id, positions[0], at=11.0).reason == "duplicate"
    assert exp.result(at=59.0).n_credited == 0
    result = exp.result(at=60.0)
    assert (result.n_credited, result.n_open, result.n_clicks) == (1, 0, 1)
    assert float(result.win_loss.n_wins) == 1.0
    # a click after the window is rejected, and crediting did not happen twice
    receipt = exp.record_click(served.impression_id, positions[0], at=61.0)
    assert not receipt
    assert receipt.reason == "closed_impression"
    assert float(exp.result(at=100.0).win_loss.n) == 1.0


def test_bad_clicks_are_rejected_and_counted_by_reason():
    exp = make()
    served = exp.serve("r1", LISTS, user="u", at=0.0)
    assert exp.record_click("nope", 0, at=1.0).reason == "unknown_impression"
    assert exp.record_click(served.impression_id, 5, at=1.0).reason == "bad_position"
    assert exp.record_click(served.impression_id, -1, at=1.0).reason == "bad_position"
    assert exp.record_click(served.impression_id, "0", at=1.0).reason == "bad_position"
    assert exp.record_click(None, 0, at=1.0).reason == "unknown_impression"
    rejected = exp.result(at=1.0).rejected_clicks
    assert rejected == {"unknown_impression": 2, "closed_impression": 0, "bad_position": 3}


def test_a_correction_replaces_the_clicks_never_adds():
    exp = make()
    served = exp.serve("r1", LISTS, user="u", at=0.0)
    legacy = [p for p, team in enumerate(served.interleaving.teams) if team == 0]
    exp.record_click(served.impression_id, candidate_positions(served)[0], at=1.0)
    exp.correct_clicks(served.impression_id, [legacy[0]], at=2.0)
    exp.close(served.impression_id, at=3.0)
    result = exp.result(at=3.0)
    assert (float(result.win_loss.n_wins), float(result.win_loss.n_losses)) == (0.0, 1.0)
    assert result.n_clicks == 1
    with pytest.raises(InvalidArgument, match="impression_id"):
        exp.correct_clicks(served.impression_id, [0], at=4.0)


def test_end_of_session_credits_every_open_impression_of_that_user():
    exp = make()
    for i in range(3):
        exp.serve(f"a{i}", LISTS, user="alice", at=float(i))
    exp.serve("b0", LISTS, user="bob", at=0.0)
    assert exp.end_session("alice", at=5.0) == 3
    result = exp.result(at=5.0)
    assert (result.n_credited, result.n_open) == (3, 1)
    assert set(result.per_user) == {"alice"}


def test_result_numbers_are_recomputable_and_json_ready():
    exp = make()
    for i in range(40):
        served = exp.serve(f"r{i}", LISTS, user=f"u{i % 7}", at=float(i))
        exp.record_click(served.impression_id, candidate_positions(served)[0], at=i + 0.5)
    result = exp.result(at=1000.0)
    record = json.loads(json.dumps(result.to_dict()))
    assert record["wins"] == 40.0
    assert record["decided_by"] == "MixtureSPRT"
    state = SequentialState.from_dict(record["state"])
    assert state.pvalue == pytest.approx(record["pvalue"])
    assert record["win_rate"] == 1.0
    assert record["n_users"] == 7
    assert "40 impressions" in str(result)


def test_probabilistic_credit_is_fractional_and_sums_to_one_per_impression():
    exp = make(method=Probabilistic(length=5))
    for i in range(10):
        served = exp.serve(f"r{i}", LISTS, user="u", at=0.0)
        exp.record_click(served.impression_id, 0, at=1.0)
    wl = exp.result(at=100.0).win_loss
    assert float(wl.n) == pytest.approx(10.0)


@pytest.mark.parametrize("kind", ["sqlite", "ndjson"])
def test_restart_resumes_the_state_and_the_open_impressions(tmp_path, kind):
    path = tmp_path / ("events.db" if kind == "sqlite" else "events.ndjson")

    def script(exp, steps):
        for i in steps:
            served = exp.serve(f"r{i}", LISTS, user=f"u{i % 5}", at=float(i))
            if i % 3:
                exp.record_click(served.impression_id, i % 5, at=i + 0.5)

    uninterrupted = make(MemoryStore())
    script(uninterrupted, range(120))
    first = make(path)
    script(first, range(80))
    first.close_store()  # the process ends; impressions 21..79 are still open at t = 80
    resumed = make(path)
    assert resumed.result(at=79.5).n_open == first.result(at=79.5).n_open
    script(resumed, range(80, 120))
    a, b = uninterrupted.result(at=500.0), resumed.result(at=500.0)
    resumed.close_store()
    assert a.state.to_dict() == b.state.to_dict()
    assert (a.n_impressions, a.n_clicks, a.per_user) == (b.n_impressions, b.n_clicks, b.per_user)


def test_restart_with_another_configuration_is_refused(tmp_path):
    path = tmp_path / "events.db"
    make(path).close_store()
    with pytest.raises(InvalidArgument, match="method"):
        make(path, method=Balanced(length=5))
    make(path).close_store()  # the stored configuration still opens


def test_experiments_share_a_store_without_mixing(tmp_path):
    store = SQLiteStore(tmp_path / "events.db")
    a = Experiment("a", seed=1, store=store, method=TeamDraft(length=5))
    b = Experiment("b", seed=1, store=store, method=TeamDraft(length=5))
    a.serve("r", LISTS, user="u", at=0.0)
    assert b.result(at=0.0).n_impressions == 0
    assert store.experiments() == ["a", "b"]
    store.close()


def test_many_threads_lose_and_duplicate_nothing():
    # A window longer than the run: with explicit times, one thread's late `at` would otherwise
    # close another thread's impressions before its click arrives (a correct rejection).
    exp = Experiment("exp", seed=11, method=TeamDraft(length=5), attribution_window=1e6)
    n_threads, per_thread = 8, 400

    def work(t):
        for i in range(per_thread):
            served = exp.serve(f"t{t}-{i}", LISTS, user=f"u{i % 13}", at=float(i))
            exp.record_click(served.impression_id, i % 5, at=i + 0.1)
            exp.record_click(served.impression_id, i % 5, at=i + 0.2)  # duplicate

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = exp.result(at=1e7)
    total = n_threads * per_thread
    events = list(exp.store.read("exp"))
    kinds = [e["kind"] for e in events]
    assert result.n_impressions == result.n_credited == kinds.count("impression") == total
    assert result.n_clicks == kinds.count("click") == total
    assert kinds.count("close") == total
    assert float(result.win_loss.n) == pytest.approx(total)


def test_partial_trailing_ndjson_record_is_skipped_with_a_warning(tmp_path):
    path = tmp_path / "events.ndjson"
    exp = make(path)
    exp.serve("r1", LISTS, user="u", at=0.0)
    exp.close_store()
    with open(path, "ab") as f:
        f.write(b'{"v":1,"kind":"impression","experiment":"exp","impr')  # killed mid-write
    with pytest.warns(Warning, match="partial or corrupt"):
        resumed = make(path)
    assert resumed.result(at=1.0).n_impressions == 1
    resumed.serve("r2", LISTS, user="u", at=2.0)  # appends start on a fresh line
    resumed.close_store()
    store = NDJSONStore(path)
    with pytest.warns(Warning, match="partial or corrupt"):
        assert len(list(store.read("exp"))) == 3  # config + 2 impressions
    store.close()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"seed": "x"}, "seed"),
        ({"seed": 1, "attribution_window": 0}, "attribution_window"),
        ({"seed": 1, "method": "team_draft"}, "method"),
        ({"seed": 1, "candidate": 0}, "candidate"),
        ({"seed": 1, "store": 3}, "store"),
    ],
)
def test_bad_configuration_names_the_argument(kwargs, name):
    with pytest.raises(InvalidArgument, match=name):
        Experiment("exp", **kwargs)


@pytest.mark.parametrize(("key", "user"), [(None, "u"), (1.5, "u"), (("a", 1.5), "u"), ("r", [1])])
def test_bad_requests_name_the_argument(key, user):
    with pytest.raises(InvalidArgument, match=r"request_key|user"):
        make().serve(key, LISTS, user=user, at=0.0)


def test_the_store_reads_back_as_a_log_that_evaluate_agrees_with(tmp_path):
    from interleave.logs import evaluate
    from interleave.serving import exposures_frame

    path = tmp_path / "events.db"
    with make(path) as exp:
        for i in range(200):
            served = exp.serve(f"r{i}", LISTS, user=f"u{i % 20}", at=float(i))
            if i % 4:
                exp.record_click(served.impression_id, candidate_positions(served)[0], at=i + 1.0)
            if i % 9 == 0:
                exp.record_click(served.impression_id, 4 - (i % 5), at=i + 2.0)
        live = exp.result(at=1e6)
    frame = exposures_frame(path, "exp")
    assert frame.height == 200
    assert frame["credited"].all()
    offline = evaluate(frame.drop("credited"))
    stats = offline.result.statistics
    assert stats.n_impressions == live.n_credited
    wl = live.win_loss
    sums = stats.by_user_period.select("n_wins", "n_losses").sum().row(0)
    assert (float(sums[0]), float(sums[1])) == (float(wl.n_wins), float(wl.n_losses))


def test_batched_sqlite_store_acknowledges_on_flush_and_close(tmp_path):
    path = tmp_path / "events.db"
    store = SQLiteStore(path, batch_interval=30.0)  # the writer thread would wait 30 s
    with Experiment("exp", seed=1, store=store, method=TeamDraft(length=5)) as exp:
        for i in range(50):
            exp.serve(f"r{i}", LISTS, user="u", at=float(i))
        exp.flush()
        with SQLiteStore(path) as other:
            assert sum(e["kind"] == "impression" for e in other.read("exp")) == 50
        exp.serve("last", LISTS, user="u", at=99.0)
    with SQLiteStore(path) as reopened:  # close() committed the queued event
        assert sum(e["kind"] == "impression" for e in reopened.read("exp")) == 51
    with pytest.raises(InvalidArgument, match="batch_interval"):
        SQLiteStore(path, batch_interval=0)


@pytest.mark.parametrize("key", ["\ud800", ("user", "\udfff")])
def test_a_request_key_no_store_can_keep_is_refused_naming_it_and_nothing_is_written(key):
    # A lone surrogate (json.loads makes one from "\\ud800") has no UTF-8 form.
    store = MemoryStore()
    experiment = make(store)
    with pytest.raises(InvalidArgument, match="request_key"):
        experiment.serve(key, [[1, 2], [2, 1]], user="u")
    assert list(store.read()) == [e for e in store.read() if e["kind"] == "config"]
    assert experiment.result().n_impressions == 0
