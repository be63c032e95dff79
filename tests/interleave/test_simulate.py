"""The simulated world: reproducible, one exposure/click schema, A/A when the rankers are equal."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from interleave.clicks import PBM
from interleave.errors import InvalidArgument
from interleave.simulate import ARM_CANDIDATE, ARM_PRODUCTION, EXPOSURE_SCHEMA, World


class Fixed:
    """A minimal strategy: route every request to one arm, count clicks."""

    name = "fixed"
    needs = frozenset()

    def __init__(self, arm):
        self.arm = arm

    def start(self):
        return 0

    def route(self, state, keys, users):
        return np.full(len(keys), self.arm, dtype=np.int8)

    def update(self, state, look):
        return state + int(look.n_clicks.sum())

    def decision(self, state):
        return "keep collecting"

    def pvalue(self, state):
        return 1.0

    def verdict(self, state):
        return state


def test_the_world_is_a_function_of_its_seed():
    a, b, c = World.build(seed=3), World.build(seed=3), World.build(seed=4)
    assert np.array_equal(a.grades, b.grades)
    assert np.array_equal(a.production, b.production)
    assert np.array_equal(a.population.activity, b.population.activity)
    assert not np.array_equal(a.grades, c.grades)
    first, again = a.requests(500), b.requests(500)
    assert np.array_equal(first.user, again.user)
    assert np.array_equal(first.query, again.query)
    assert np.all(np.diff(first.timestamp) > 0)  # arrivals in time order


def test_equal_quality_means_identical_rankers():
    world = World.build(seed=5, production_quality=0.4, candidate_quality=0.4)
    assert np.array_equal(world.production, world.candidate)
    assert world.true_ctr("production") == world.true_ctr("candidate")


def test_a_higher_quality_ranker_puts_more_relevant_items_first():
    world = World.build(seed=5, production_quality=0.1, candidate_quality=0.9)
    discount = 1.0 / np.log2(np.arange(2, world.depth + 2))
    gain = (2.0 ** world.grade_of(world.candidate) - 1) @ discount
    base = (2.0 ** world.grade_of(world.production) - 1) @ discount
    assert gain.mean() > base.mean()
    assert world.true_ctr("candidate") > world.true_ctr("production")


def test_exposures_follow_the_schema_and_hold_every_click():
    world = World.build(n_users=30, seed=6)
    result = world.run(Fixed(ARM_CANDIDATE), 250, look_every=25)
    exposures = result.exposures
    assert dict(exposures.schema) == EXPOSURE_SCHEMA
    assert exposures.height == 250 * world.depth
    assert exposures["click"].sum() == result.verdict
    assert set(exposures["policy"].unique()) == {"candidate"}
    shown = exposures.filter(pl.col("impression_id") == 0).sort("position")["item_id"].to_list()
    query = int(exposures.filter(pl.col("impression_id") == 0)["query_id"][0])
    assert shown == world.candidate[query].tolist()
    relevance = exposures["relevance"].to_numpy()
    assert np.array_equal(relevance, world.grade_of(exposures["item_id"].to_numpy()))


def test_impressions_regroup_the_exposures_one_row_per_request():
    world = World.build(n_users=30, seed=6)
    result = world.run(Fixed(ARM_PRODUCTION), 100, look_every=10)
    impressions = result.impressions()
    assert impressions.height == 100
    assert impressions["items"].list.len().to_list() == [world.depth] * 100
    assert impressions["clicks"].list.len().sum() == result.verdict


def test_the_logs_layer_reads_both_frames():
    schema = pytest.importorskip("interleave.logs.schema")
    from strategies import AB, Interleaved

    world = World.build(n_users=30, seed=6)
    interleaved = world.run(Interleaved(seed=6), 60)
    schema.check_columns(interleaved.impressions().schema, "exposures")
    assert interleaved.impressions()["method"].unique().to_list() == ["team_draft"]
    schema.check_columns(world.run(AB(seed=6), 60).exposures.schema, "ab")


def test_the_same_run_twice_gives_the_same_frames():
    world = World.build(n_users=30, seed=7)
    first = world.run(Fixed(ARM_PRODUCTION), 300)
    again = world.run(Fixed(ARM_PRODUCTION), 300)
    assert first.exposures.equals(again.exposures)
    assert first.path.equals(again.path)


def test_the_path_has_one_row_per_look():
    world = World.build(n_users=30, seed=7)
    result = world.run(Fixed(ARM_PRODUCTION), 95, look_every=10)
    assert result.path["n_requests"].to_list() == [*range(10, 91, 10), 95]
    assert world.run(Fixed(ARM_PRODUCTION), 7, look_every=1).path.height == 7


def test_any_click_model_keyed_by_relevance_runs():
    model = PBM.from_grades(
        attractiveness=[0.1, 0.5, 0.9], examination=[1.0 / (r + 1) for r in range(10)]
    )
    world = World.build(n_users=30, seed=8, click_model=model)
    assert world.run(Fixed(ARM_PRODUCTION), 100).verdict > 0


class ShortInterleaving(Fixed):
    """Interleave with a method that shows fewer items than the world's lists."""

    def __init__(self, method):
        super().__init__(2)
        self.method = method


def test_a_shorter_interleaved_list_shows_only_its_items():
    from interleave.methods import TeamDraft

    world = World.build(n_users=30, seed=10)
    result = world.run(ShortInterleaving(TeamDraft(length=4)), 50)
    exposures = result.exposures
    assert exposures.height == 50 * 4
    assert set(exposures["policy"].unique()) == {"interleaved"}
    assert exposures["position"].max() == 3
    assert exposures["click"].sum() == result.verdict


def test_an_interleaver_longer_than_the_lists_is_refused():
    from interleave.methods import TeamDraft

    world = World.build(n_users=30, seed=10, depth=5, n_items=30)
    with pytest.raises(InvalidArgument, match="configure it with length <= 5"):
        world.run(ShortInterleaving(TeamDraft(length=8)), 10)


def test_candidate_failures_fall_back_to_production():
    world = World.build(n_users=30, seed=9, candidate_error_rate=1.0)
    result = world.run(Fixed(ARM_CANDIDATE), 100)
    assert set(result.exposures["policy"].unique()) == {"production"}


def test_bad_worlds_are_refused_naming_the_argument():
    with pytest.raises(InvalidArgument, match="`candidate_quality` must be in"):
        World.build(candidate_quality=1.5)
    with pytest.raises(InvalidArgument, match="`n_items` must be >= 10"):
        World.build(n_items=5)
    with pytest.raises(InvalidArgument, match="`click_model` must be one of"):
        World.build(click_model="clumsy")
    with pytest.raises(InvalidArgument, match="`n_requests` must be >= 1"):
        World.build().requests(0)
