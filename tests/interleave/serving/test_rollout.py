"""Any strategy behind the live experiment: routing, crediting, verdict, restart, threads."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave import InvalidArgument, TeamDraft
from interleave.logs import evaluate
from interleave.serving import (
    Experiment,
    MemoryStore,
    RolloutExperiment,
    SQLiteStore,
    exposures_frame,
)
from interleave.serving.rollout import ARM_LABELS, SHADOW_NOTE, rollout_log
from interleave.simulate import Look, Requests, World
from strategies import AB, CONTINUE, UNHEALTHY, Canary, Interleaved, Shadow
from tests.fuzzing import call_bounded

WINDOW = 5.0  # seconds of attribution in the simulated streams (requests arrive ~10 per second)


def ab():
    return AB(seed=2, candidate_share=0.5, min_users=5)


def canary():
    # A wide click margin lets the ramp promote within a few hundred requests of this world, so
    # the routing changes with the state (the adaptive case) inside a short stream.
    return Canary(seed=5, click_margin=0.8, min_stage_requests=20)


def shadow():
    return Shadow(seed=1)


def interleaved():
    return Interleaved(seed=4, method=TeamDraft(length=10))


STRATEGIES = {"ab": ab, "canary": canary, "shadow": shadow, "interleaved": interleaved}


@dataclasses.dataclass
class Stream:
    """A World's requests as a live service sees them: key, user, time, both rankers' lists."""

    world: World
    n: int

    def __post_init__(self):
        self.requests = self.world.requests(self.n)

    def request(self, i):
        query = int(self.requests.query[i])
        rankings = {
            "production": self.world.production[query].tolist(),
            "candidate": self.world.candidate[query].tolist(),
        }
        return f"req_{i}", int(self.requests.user[i]), float(self.requests.timestamp[i]), rankings

    def clicks(self, i, user, items):
        """The World's click model on the shown list; its own seed per request (any split)."""
        grades = self.world.grade_of(np.asarray(items, dtype=np.int64))[None, :]
        rng = np.random.default_rng([self.world.seed, i])
        shown = self.world.population.simulate(
            self.world.click_model, np.array([user]), grades, rng=rng
        )
        return np.flatnonzero(shown[0]).tolist()


def stream(n=300, n_users=60, seed=5):
    return Stream(World.build(n_users=n_users, seed=seed), n)


def make(strategy, store=None, **kwargs):
    kwargs.setdefault("attribution_window", WINDOW)
    return RolloutExperiment(
        strategy, experiment_id="rollout", store=store, clock=lambda: 0.0, **kwargs
    )


def drive(exp, data, rows, served=None):
    """Serve ``rows`` of the stream, click as the click model says a second later."""
    served = [] if served is None else served
    for i in rows:
        key, user, at, rankings = data.request(i)
        shown = exp.serve(key, rankings, user=user, at=at)
        positions = data.clicks(i, user, shown.items)
        for position in positions:
            assert exp.record_click(shown.impression_id, position, at=at + 1.0)
        served.append((i, key, user, shown, positions))
    return served


def verdict_dicts_match(got, want):
    """Equal verdict dicts; floats to 1e-9 (per-user sums may add in another order)."""
    assert got.keys() == want.keys()
    for name in got:
        a, b = got[name], want[name]
        if isinstance(a, dict):
            verdict_dicts_match(a, b)
        elif isinstance(a, float) and isinstance(b, float):
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12), name
        elif isinstance(a, (list, tuple)):
            assert len(a) == len(b), name
            for x, y in zip(a, b, strict=True):
                verdict_dicts_match({name: x}, {name: y})
        else:
            assert a == b, name


# -- routing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_routing_matches_the_strategy_and_is_the_same_in_another_process(name):
    data = stream(n=200)
    exp = make(STRATEGIES[name]())
    strategy = exp.strategy
    for i in range(data.n):
        key, user, at, rankings = data.request(i)
        expected = int(strategy.route(exp.state, [key], [user])[0])
        shown = exp.serve(key, rankings, user=user, at=at)
        assert shown.arm == ARM_LABELS[expected]
        if shown.arm in ("production", "shadow"):
            assert shown.items == tuple(rankings["production"])
        elif shown.arm == "candidate":
            assert shown.items == tuple(rankings["candidate"])
        else:
            assert shown.interleaving is not None
            assert shown.items == shown.interleaving.items
        again = exp.serve(key, rankings, user=user, at=at)
        assert again.repeated
        assert (again.impression_id, again.arm, again.items) == (
            shown.impression_id,
            shown.arm,
            shown.items,
        )
        if i % 3 == 0:
            exp.close(shown.impression_id, at=at)
    if not getattr(strategy, "adaptive", False):
        # Routing is a pure function of (seed, key, user): a second process serves the same.
        first = drive(make(STRATEGIES[name]()), data, range(50))
        second = drive(make(STRATEGIES[name]()), data, reversed(range(50)))
        by_key = {key: shown for _, key, _, shown, _ in second}
        for _, key, _, shown, _ in first:
            assert (by_key[key].arm, by_key[key].items) == (shown.arm, shown.items)
    assert exp.result(at=1e9).n_impressions == data.n


@given(
    key=st.one_of(st.text(max_size=20), st.integers(min_value=-(2**63), max_value=2**63)),
    user=st.one_of(st.text(min_size=1, max_size=10), st.integers(0, 10**6)),
)
def test_any_key_routes_the_same_in_two_fresh_experiments(key, user):
    lists = {"production": [1, 2, 3, 4], "candidate": [4, 3, 9, 1]}
    for strategy in (AB(seed=9), Canary(seed=9), interleaved()):
        one = make(strategy).serve(key, lists, user=user, at=0.0)
        two = make(strategy).serve(key, lists, user=user, at=0.0)
        assert (one.impression_id, one.arm, one.items) == (two.impression_id, two.arm, two.items)
        assert one.arm == ARM_LABELS[int(strategy.route(strategy.start(), [key], [user])[0])]


# -- the verdict ----------------------------------------------------------------------------------


def expected_looks(strategy, data, served, look_every):
    """The looks a strategy reads when the impressions are credited in ``served`` order."""
    users: dict = {}
    rows = []
    for index, (i, _, user, shown, positions) in enumerate(served):
        preference, first_team = 0.0, -1
        if shown.interleaving is not None:
            credit = strategy.method.credit(shown.interleaving, sorted(positions))
            preference = float(credit.preferences[1][0])
            first_team = shown.interleaving.teams[0]
        rankings = data.request(i)[3]
        rows.append(
            {
                "index": index,
                "user": users.setdefault(user, len(users)),
                "arm": ARM_LABELS.index(shown.arm),
                "n_clicks": len(positions),
                "preference": preference,
                "first_team": first_team,
                "production": rankings["production"],
                "candidate": rankings["candidate"],
            }
        )
    looks = []
    for start in range(0, len(rows) - len(rows) % look_every, look_every):
        chunk = {
            name: np.array([row[name] for row in rows[start : start + look_every]])
            for name in rows[0]
        }
        n = look_every
        looks.append(
            Look(
                Requests(chunk["index"], chunk["user"], np.full(n, -1), np.zeros(n)),
                chunk["arm"].astype(np.int8),
                chunk["n_clicks"],
                np.zeros(n, dtype=bool),
                chunk["preference"],
                chunk["first_team"].astype(np.int8),
                chunk["production"],
                chunk["candidate"],
                np.where(chunk["arm"] == 3, chunk["n_clicks"], 0),  # a live shadow request: a tie
            )
        )
    return looks


@pytest.mark.parametrize("look_every", [1, 7])
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_the_verdict_is_the_strategys_on_the_same_outcomes_fed_directly(name, look_every):
    data = stream(n=300)
    exp = make(STRATEGIES[name](), look_every=look_every)
    served = []
    for i in range(data.n):
        drive(exp, data, [i], served)
        at = data.request(i)[2] + 1.0  # right after its clicks: credited in serving order
        exp.close(served[-1][3].impression_id, at=at)
    strategy = exp.strategy
    state = strategy.start()
    looks = expected_looks(strategy, data, served, look_every)
    for look in looks:
        state = strategy.update(state, look)
    result = exp.result()
    assert result.n_looks == len(looks)
    assert result.n_pending == data.n % look_every
    # Shadow's divergence means are float sums over distinct list pairs, added in the order of
    # the item codes: equal to 1e-9; everything else is equal exactly.
    verdict_dicts_match(result.verdict.to_dict(), strategy.verdict(state).to_dict())
    assert strategy.statistics(result.state) == strategy.statistics(state)
    assert result.verdict.to_dict() == strategy.verdict(result.state).to_dict()  # recomputable
    assert sum(result.served.values()) == data.n


@pytest.mark.parametrize("name", ["ab", "canary"])
def test_live_serving_reproduces_world_run_on_the_same_clicks(name):
    # World.run routes every request with the state of its look (look_every=1: after every
    # request), shows the list and draws the clicks; the live experiment, given the same requests
    # and those clicks, must route the same way and reach the same verdict.
    n, n_users = (900, 300) if name == "canary" else (600, 60)
    world = World.build(n_users=n_users, seed=5)
    strategy = STRATEGIES[name]()
    run = world.run(strategy, n, look_every=1)
    impressions = run.impressions().sort("impression_id").to_dicts()
    data = Stream(world, n)
    exp = make(strategy)
    for i, row in enumerate(impressions):
        key, user, at, rankings = data.request(i)
        shown = exp.serve(key, rankings, user=user, at=at)
        assert shown.shown == row["policy"], i
        for position in row["clicks"]:
            exp.record_click(shown.impression_id, position, at=at)
        exp.close(shown.impression_id, at=at)
    result = exp.result()
    if name == "canary":
        assert len(run.state.history) >= 2  # the ramp moved: routing did depend on the state
    # User indices differ (first appearance here, population index there): float sums may add
    # in another order, so floats agree to 1e-9.
    verdict_dicts_match(result.verdict.to_dict(), run.verdict.to_dict())


# -- attribution ----------------------------------------------------------------------------------


def test_late_clicks_are_rejected_and_the_impression_credited_once():
    exp = make(interleaved(), attribution_window=60.0)
    lists = {"production": list(range(10)), "candidate": list(range(9, -1, -1))}
    shown = exp.serve("r1", lists, user="u", at=0.0)
    candidate_position = shown.interleaving.teams.index(1)
    assert exp.record_click(shown.impression_id, candidate_position, at=10.0)
    assert exp.record_click(shown.impression_id, candidate_position, at=11.0).reason == "duplicate"
    early = exp.result(at=59.0)
    assert (early.n_credited, early.n_open, early.verdict.n_requests) == (0, 1, 0)
    late = exp.result(at=60.0)
    assert (late.n_credited, late.n_open, late.n_clicks) == (1, 0, 1)
    assert dict(late.verdict.evidence)["wins"] == 1
    receipt = exp.record_click(shown.impression_id, candidate_position, at=61.0)
    assert receipt.reason == "closed_impression"
    final = exp.result(at=1000.0)
    assert (final.verdict.n_requests, final.n_looks, final.n_clicks) == (1, 1, 1)
    closes = [e for e in exp.store.read("rollout") if e["kind"] == "close"]
    assert len(closes) == 1
    assert closes[0]["reason"] == "window"


def test_clicks_on_unknown_or_closed_impressions_or_bad_positions_are_rejected_and_counted():
    exp = make(ab())
    lists = (["a", "b", "c"], ["c", "b", "a"])
    shown = exp.serve("r1", lists, user="u", at=0.0)
    assert exp.record_click("nope", 0, at=1.0).reason == "unknown_impression"
    assert exp.record_click(None, 0, at=1.0).reason == "unknown_impression"
    assert exp.record_click(shown.impression_id, 3, at=1.0).reason == "bad_position"
    assert exp.record_click(shown.impression_id, True, at=1.0).reason == "bad_position"
    assert exp.end_session("u", at=2.0) == 1
    assert exp.record_click(shown.impression_id, 0, at=2.5).reason == "closed_impression"
    result = exp.result(at=3.0)
    assert result.rejected_clicks == {
        "unknown_impression": 2,
        "closed_impression": 1,
        "bad_position": 2,
    }
    assert (result.n_clicks, result.n_credited, result.verdict.n_clicks) == (0, 1, 0)


def test_a_correction_replaces_the_clicks_the_strategy_reads():
    exp = make(ab())
    shown = exp.serve("r1", (["a", "b", "c"], ["c", "b", "a"]), user="u", at=0.0)
    exp.record_click(shown.impression_id, 0, at=1.0)
    exp.record_click(shown.impression_id, 1, at=1.0)
    exp.correct_clicks(shown.impression_id, [2], at=2.0)
    exp.close(shown.impression_id, at=3.0)
    assert exp.result().verdict.n_clicks == 1


def test_shadow_never_shows_the_candidate_and_says_its_clicks_cannot_decide():
    data = stream(n=400)
    exp = make(shadow())
    served = drive(exp, data, range(data.n))
    assert all(s.arm == "shadow" and s.shown == "production" for _, _, _, s, _ in served)
    assert all(s.items == tuple(data.request(i)[3]["production"]) for i, _, _, s, _ in served)
    events = [e for e in exp.store.read("rollout") if e["kind"] == "impression"]
    assert all(e["candidate"] == data.request(k)[3]["candidate"] for k, e in enumerate(events))
    result = exp.result(at=1e9)
    evidence = dict(result.verdict.evidence)
    assert result.n_clicks > 50
    assert (evidence["wins"], evidence["losses"]) == (0, 0)
    assert result.decision == CONTINUE
    assert result.notes == (SHADOW_NOTE,)
    assert 0.0 < evidence["mean_rbo"] < 1.0  # the divergence is measured on the real lists
    assert SHADOW_NOTE in str(result)


def test_a_failing_candidate_shows_production_and_counts_as_an_error():
    exp = make(shadow())
    production, candidate = [1, 2, 3], [3, 2, 1]
    for i in range(120):
        failed = i % 5 == 0  # 20% failures, over shadow's 5% limit after 100 requests
        shown = exp.serve(i, (production, None if failed else candidate), user=i % 7, at=float(i))
        assert shown.items == (1, 2, 3)
        assert shown.candidate_failed == failed
        exp.close(shown.impression_id, at=float(i))
    result = exp.result()
    assert result.n_candidate_failures == 24
    assert result.decision == UNHEALTHY
    # On the candidate arm production's list is shown instead.
    exp = make(AB(seed=1, candidate_share=0.99))
    shown = exp.serve("r", (production, None), user="u", at=0.0)
    assert (shown.arm, shown.shown, shown.items) == ("candidate", "production", (1, 2, 3))


def test_canary_reads_candidate_failures_on_its_arm_only():
    exp = make(Canary(seed=3, stages=(0.5, 1.0)))
    arms = []
    for i in range(40):
        shown = exp.serve(i, ([1, 2, 3], None), user=f"user-{i}", at=float(i))
        exp.close(shown.impression_id, at=float(i))
        arms.append(shown.arm)
    # Every candidate request fails: the guardrail rolls back, and the stage's error counts stop
    # at the look that decided (everyone is served production after it).
    assert exp.state.outcome == "roll back"
    decided = exp.state.decided_at
    errors = exp.state.stage_errors
    assert (errors.n_successes_a, errors.n_trials_a) == (0, arms[:decided].count("production"))
    assert errors.n_successes_b == errors.n_trials_b == arms[:decided].count("candidate") > 0
    assert arms[decided:] == ["production"] * (40 - decided)
    assert exp.result().n_candidate_failures == 40


def test_a_repeat_after_crediting_is_not_a_second_impression():
    exp = make(interleaved())
    lists = ([1, 2, 3], [3, 2, 1])
    first = exp.serve("r1", lists, user="u", at=0.0)
    exp.close(first.impression_id, at=1.0)
    again = exp.serve("r1", lists, user="u", at=2.0)
    assert again.repeated
    assert (again.impression_id, again.items) == (first.impression_id, first.items)
    result = exp.result(at=3.0)
    assert (result.n_impressions, result.n_credited, result.verdict.n_requests) == (1, 1, 1)


operations = st.lists(
    st.tuples(
        st.sampled_from(["serve", "serve", "click", "close", "end_session", "wait"]),
        st.integers(0, 11),  # request key / impression (by serving order) / user
        st.integers(0, 4),  # click position (the shown lists hold 4 items)
    ),
    max_size=60,
)


@given(ops=operations, name=st.sampled_from(sorted(STRATEGIES)), look_every=st.integers(1, 4))
def test_counts_add_up_and_a_replay_gives_the_same_result_after_any_calls(ops, name, look_every):
    store = MemoryStore()
    exp = make(STRATEGIES[name](), store=store, look_every=look_every)
    served, now = [], 0.0
    for op, number, position in ops:
        now += 1.0
        if op == "serve":
            lists = ([1, 2, 3, 4], [4, 3, 2, 1] if number % 5 else None)  # some candidates fail
            served.append(exp.serve(f"r{number}", lists, user=number % 3, at=now).impression_id)
        elif op == "click" and served:
            exp.record_click(served[number % len(served)], position, at=now)
        elif op == "close" and served:
            # An impression credited already is refused (InvalidArgument), never credited twice.
            with contextlib.suppress(InvalidArgument):
                exp.close(served[number % len(served)], at=now)
        elif op == "end_session":
            exp.end_session(number % 3, at=now)
        elif op == "wait":
            now += WINDOW / 2  # windows close as time passes
    result = exp.result(at=now)
    assert result.n_impressions == result.n_open + result.n_credited == len(set(served))
    assert result.n_credited == result.n_looks * look_every + result.n_pending
    assert result.verdict.n_requests == result.n_looks * look_every
    assert sum(result.served.values()) == result.n_impressions
    replayed = make(STRATEGIES[name](), store=store, look_every=look_every).result(at=now)
    want, got = result.to_dict(), replayed.to_dict()
    del want["rejected_clicks"], got["rejected_clicks"]  # counted, not stored
    assert got == want


# -- the log ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ab", "canary", "shadow"])
def test_the_store_reads_back_as_an_ab_log_with_the_clicks_the_strategy_counted(tmp_path, name):
    data = stream(n=900 if name == "canary" else 200, n_users=300 if name == "canary" else 60)
    path = tmp_path / "events.db"
    with make(STRATEGIES[name](), store=path) as exp:
        served = drive(exp, data, range(data.n))
        last_at = float(data.requests.timestamp[-1])
        exp.correct_clicks(served[-1][3].impression_id, [0], at=last_at + 2.0)  # replaces
        result = exp.result(at=last_at + 2.0)
    log = rollout_log(path, "rollout")
    assert log.height == sum(len(shown.items) for _, _, _, shown, _ in served)
    assert int(log["click"].sum()) == result.n_clicks
    per_impression = log.group_by("impression_id").agg(
        pl.col("arm").first(), pl.col("policy").first(), pl.col("credited").first()
    )
    assert per_impression["arm"].value_counts().sort("arm").rows() == sorted(
        (arm, n) for arm, n in result.served.items() if n
    )
    assert int(per_impression["credited"].sum()) == result.n_credited
    if name == "shadow":
        assert set(log["policy"]) == {"production"}
        return
    counted = result.strategy.statistics(result.state)  # per-user counts of both arms
    credited = log.filter(pl.col("credited"))
    clicks = dict(credited.group_by("policy").agg(pl.col("click").sum()).rows())
    assert (clicks["production"], clicks["candidate"]) == counted.n_clicks
    evaluation = evaluate(credited, kind="ab", candidate="candidate", baseline="production")
    assert evaluation.kind == "ab"
    ctr = {row[0]: row[1] for row in evaluation.summary.rows()}
    shown = dict(credited.group_by("policy").len().rows())
    assert ctr["CTR of candidate"] == pytest.approx(clicks["candidate"] / shown["candidate"])


def test_an_interleaved_rollout_reads_back_as_an_interleaving_log_with_the_same_outcomes():
    data = stream(n=200)
    store = MemoryStore()
    exp = make(interleaved(), store=store)
    drive(exp, data, range(data.n))
    result = exp.result(at=1e9)
    frame = exposures_frame(store, "rollout")
    assert frame.height == data.n
    assert int(frame["clicks"].list.len().sum()) == result.n_clicks
    offline = evaluate(frame.drop("credited"))
    sums = offline.result.statistics.by_user_period.select("n_wins", "n_losses").sum().row(0)
    evidence = dict(result.verdict.evidence)
    assert (float(sums[0]), float(sums[1])) == (evidence["wins"], evidence["losses"])


def test_a_rollout_that_showed_single_lists_is_not_read_as_an_interleaving_log():
    store = MemoryStore()
    make(ab(), store=store).serve("r", ([1, 2], [2, 1]), user="u", at=0.0)
    with pytest.raises(InvalidArgument, match="rollout_log"):
        exposures_frame(store, "rollout")


def test_an_interleaving_experiment_is_not_read_as_a_rollout_log():
    store = MemoryStore()
    Experiment("plain", seed=1, store=store).serve("r", [[1, 2], [2, 1]], user="u", at=0.0)
    with pytest.raises(InvalidArgument, match="exposures_frame"):
        rollout_log(store, "plain")
    assert rollout_log(store, "absent").height == 0


# -- restart --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suffix", "look_every"),
    [
        ("ab", "db", 1),
        ("ab", "db", 4),
        ("canary", "db", 1),
        ("canary", "ndjson", 1),
        ("shadow", "db", 1),
        ("interleaved", "db", 3),
    ],
)
def test_a_restart_resumes_to_the_state_of_the_uninterrupted_run(
    tmp_path, name, suffix, look_every
):
    n = 900 if name == "canary" else 301
    data = stream(n=n, n_users=300 if name == "canary" else 60)
    end = float(data.requests.timestamp[-1]) + 2 * WINDOW
    whole = make(STRATEGIES[name](), look_every=look_every)
    drive(whole, data, range(n))
    want = whole.result(at=end)

    path = tmp_path / f"events.{suffix}"
    first = make(STRATEGIES[name](), store=path, look_every=look_every)
    drive(first, data, range(n // 2))
    before = first.result(at=float(data.requests.timestamp[n // 2 - 1]) + 1.0)
    first.close_store()
    second = make(STRATEGIES[name](), store=path, look_every=look_every)
    resumed = second.result(at=float(data.requests.timestamp[n // 2 - 1]) + 1.0)
    assert before.n_open > 0  # open impressions survive the restart, with their clicks
    assert resumed.to_dict() == before.to_dict()
    drive(second, data, range(n // 2, n))
    got = second.result(at=end)
    assert got.to_dict() == want.to_dict()
    assert second.strategy.statistics(got.state) == whole.strategy.statistics(want.state)
    if name == "canary":
        assert len(got.state.history) >= 2
    second.close_store()


def test_a_restart_with_another_strategy_configuration_is_refused(tmp_path):
    path = tmp_path / "events.db"
    make(ab(), store=path).close_store()
    with pytest.raises(InvalidArgument, match="strategy_config"):
        make(AB(seed=2, candidate_share=0.3, min_users=5), store=path)
    with pytest.raises(InvalidArgument, match="look_every"):
        make(ab(), store=path, look_every=3)


def test_an_interleaving_experiment_in_the_same_store_and_id_is_refused(tmp_path):
    path = tmp_path / "events.db"
    with Experiment("rollout", seed=1, store=path) as exp:
        exp.serve("r1", [[1, 2], [2, 1]], user="u", at=0.0)
    with pytest.raises(InvalidArgument, match="another kind of experiment"):
        make(ab(), store=path)


# -- threads --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["interleaved", "canary"])
def test_eight_threads_lose_no_event(tmp_path, name):
    store = SQLiteStore(tmp_path / "events.db")
    exp = make(STRATEGIES[name](), store=store)
    per_thread = 150
    accepted = [0] * 8
    failures = []

    def work(t):
        try:
            for i in range(per_thread):
                at = float(i)
                shown = exp.serve(
                    f"t{t}-{i}", ([1, 2, 3, 4], [4, 3, 2, 1]), user=f"u{i % 40}", at=at
                )
                if i % 2 == 0 and exp.record_click(shown.impression_id, i % 4, at=at).accepted:
                    accepted[t] += 1
                if i % 3 == 0:
                    exp.end_session(f"u{i % 40}", at=at)
        except Exception as error:  # reported below: a thread's exception must fail the test
            failures.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    result = exp.result(at=1e9)
    events = list(store.read("rollout"))
    kinds = [e["kind"] for e in events]
    assert result.n_impressions == kinds.count("impression") == 8 * per_thread
    assert result.n_credited == kinds.count("close") == 8 * per_thread
    assert result.n_clicks == kinds.count("click") == sum(accepted)
    assert result.n_looks == result.verdict.n_requests == 8 * per_thread
    assert result.verdict.n_clicks == sum(accepted)
    assert len({e["impression"] for e in events if e["kind"] == "impression"}) == 8 * per_thread
    assert result.rejected_clicks["closed_impression"] == 8 * per_thread // 2 - sum(accepted)
    resumed = make(STRATEGIES[name](), store=store).result(at=1e9).to_dict()
    # Rejected clicks are counted, not stored (they are no event): a restart counts anew.
    assert resumed.pop("rejected_clicks") == dict.fromkeys(result.rejected_clicks, 0)
    want = result.to_dict()
    del want["rejected_clicks"]
    assert resumed == want
    store.close()


# -- bad input ------------------------------------------------------------------------------------


LISTS = {"production": [1, 2, 3], "candidate": [3, 2, 1]}


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"strategy": object()}, "`strategy`"),
        ({"strategy": TeamDraft(length=3)}, "`strategy`"),
        ({"experiment_id": ""}, "`experiment_id`"),
        ({"look_every": 0}, "`look_every`"),
        ({"attribution_window": -1.0}, "`attribution_window`"),
        ({"store": 3.5}, "`store`"),
    ],
)
def test_bad_configuration_names_the_argument(kwargs, named):
    arguments = {"strategy": ab(), "experiment_id": "rollout", **kwargs}
    strategy = arguments.pop("strategy")
    with pytest.raises(InvalidArgument, match=named):
        RolloutExperiment(strategy, **arguments)


@pytest.mark.parametrize(
    ("args", "kwargs", "named"),
    [
        ((1.5, LISTS), {}, "`request_key`"),
        ((("a", 1), LISTS), {}, "`request_key`"),
        ((True, LISTS), {}, "`request_key`"),
        (("r", {"production": [1, 2]}), {}, "`rankings`"),
        (("r", {"production": [1], "candidate": [2], "other": [3]}), {}, "`rankings`"),
        (("r", [[1, 2]]), {}, "`rankings`"),
        (("r", "ab"), {}, "`rankings`"),
        (("r", (None, [1, 2])), {}, "`rankings`"),
        (("r", ([1, 1], [1, 2])), {}, r"`rankings\[0\]`"),
        (("r", ([1, 2], [])), {}, r"`rankings\[1\]`"),
        (("r", ([1, 2], ["a", "b"])), {}, r"`rankings\[1\]`"),
        (("r", LISTS), {"user": 1.5}, "`user`"),
        (("r", LISTS), {"user": [1]}, "`user`"),
        (("r", LISTS), {"at": math.nan}, "`at`"),
        (("r", LISTS), {"at": "now"}, "`at`"),
    ],
)
def test_bad_serve_input_names_the_argument(args, kwargs, named):
    exp = make(ab())
    with pytest.raises(InvalidArgument, match=named):
        exp.serve(*args, **kwargs)
    assert exp.result(at=0.0).n_impressions == 0


def test_a_strategy_that_routes_badly_is_named():
    @dataclasses.dataclass(frozen=True)
    class TwoArms(AB):
        def route(self, state, keys, users):
            return np.array([0, 1], dtype=np.int8)

    with pytest.raises(InvalidArgument, match="`strategy`"):
        make(TwoArms(seed=1)).serve("r", LISTS, user="u", at=0.0)


ids = st.one_of(st.integers(-3, 3), st.text(max_size=2), st.none(), st.floats(), st.booleans())
junk = st.recursive(
    ids,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(key=junk, rankings=junk, user=junk, at=junk)
def test_hostile_serve_input_raises_only_the_librarys_errors(key, rankings, user, at):
    exp = make(interleaved(), store=MemoryStore())
    call_bounded(
        exp.serve, key, rankings, user=user, at=at, max_seconds=5.0, max_extra_bytes=1 << 30
    )
    call_bounded(exp.record_click, key, user, at=at, max_seconds=5.0, max_extra_bytes=1 << 30)
