"""Hostile configuration and input: only the library's errors escape, in bounded time and memory."""

from __future__ import annotations

import math

import numpy as np
import pytest

from interleave.demo import run_demo
from interleave.simulate import World
from strategies.ab import AB
from strategies.canary import Canary
from strategies.interleaved import Interleaved
from strategies.protocol import routing_uniforms
from strategies.shadow import Shadow, ShadowRunner
from tests.fuzzing import call_bounded

HOSTILE = [None, "3", -1, 1.5, math.nan, math.inf, True, [], {}, object(), 10**30, -(10**30)]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize(
    "field",
    [
        "n_users",
        "n_queries",
        "n_items",
        "depth",
        "production_quality",
        "candidate_error_rate",
        "rate",
        "seed",
        "click_model",
        "activity_sigma",
    ],
)
def test_world_build_refuses_hostile_fields(field, value):
    status, result = call_bounded(World.build, **{field: value}, max_seconds=10)
    if status == "error":
        assert field in str(result) or "`" in str(result)


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize("field", ["requests", "users", "effect", "seed", "seeds", "method"])
def test_run_demo_refuses_hostile_arguments(field, value):
    call_bounded(run_demo, **{field: value}, max_seconds=20)


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (AB, "candidate_share"),
        (AB, "seed"),
        (AB, "min_users"),
        (Canary, "stages"),
        (Canary, "click_margin"),
        (Canary, "min_stage_requests"),
        (Shadow, "max_error_rate"),
        (Interleaved, "method"),
    ],
)
def test_strategies_refuse_hostile_configuration(factory, field, value):
    call_bounded(factory, **{field: value})


@pytest.mark.parametrize("key", [None, 1.5, b"bytes", ("a", 1), True, object()], ids=repr)
def test_routing_refuses_keys_that_are_not_str_or_int(key):
    status, result = call_bounded(routing_uniforms, 1, "ab", [key])
    assert status == "error"
    assert "request key must be a str or an int" in str(result)


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize("field", ["timeout", "max_workers", "max_pending"])
def test_shadow_runner_refuses_hostile_configuration(field, value):
    status, result = call_bounded(ShadowRunner, list, list, **{field: value})
    if status == "ok":
        result.close()


def test_a_route_for_many_requests_is_bounded():
    ab = AB(seed=1)
    keys = range(200_000)
    status, arms = call_bounded(
        ab.route, ab.start(), keys, np.zeros(200_000, dtype=int), max_seconds=20
    )
    assert status == "ok"
    assert arms.shape == (200_000,)
