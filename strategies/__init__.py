"""The four rollout strategies (A/B, canary, shadow, interleaved), built on ``interleave``.

Each follows one protocol (:mod:`strategies.protocol`): routing is a pure function of (experiment
seed, request key, user); what it learns accumulates in statistics that merge exactly across
workers; ``verdict(state)`` names the decision, the test that made it and the evidence. Run them
on a simulated world with :meth:`interleave.simulate.World.run`, or side by side with
``interleave demo``.

Examples
--------
>>> from interleave.simulate import World
>>> from strategies import Interleaved
>>> result = World.build(n_users=40, seed=42).run(Interleaved(seed=42), 200, look_every=1)
>>> result.verdict.strategy, result.verdict.n_requests
('interleaved', 200)
"""

from strategies.ab import AB, SAMPLE_RATIO_MISMATCH
from strategies.canary import ROLL_BACK, Canary, canary_users
from strategies.interleaved import Interleaved
from strategies.protocol import (
    CONTINUE,
    KEEP_PRODUCTION,
    SHIP_CANDIDATE,
    Strategy,
    UserClicks,
    Verdict,
    routing_uniforms,
)
from strategies.shadow import UNHEALTHY, Shadow, ShadowReport, ShadowRunner

__all__ = [
    "AB",
    "CONTINUE",
    "KEEP_PRODUCTION",
    "ROLL_BACK",
    "SAMPLE_RATIO_MISMATCH",
    "SHIP_CANDIDATE",
    "UNHEALTHY",
    "Canary",
    "Interleaved",
    "Shadow",
    "ShadowReport",
    "ShadowRunner",
    "Strategy",
    "UserClicks",
    "Verdict",
    "canary_users",
    "routing_uniforms",
]
