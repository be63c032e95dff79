"""The serving path's reused JSON encoders write what ``JSONEncoder.encode`` writes, errors too.

Events and impression ids are encoded by one C encoder made once (no per-call set-up, no cycle
bookkeeping); a stored body or an impression id must not change by a byte because of that.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave import InvalidArgument
from interleave.serving import Experiment, MemoryStore
from interleave.serving.experiment import _KEY_ENCODER, _encode_key, _impression_id
from interleave.serving.stores import _EVENT_ENCODER, _encode, _encode_event, _one_shot, _row

# What JSON and the encoders' error paths can meet: every scalar (NaN and inf too), any text (lone
# surrogates too), keys of every kind JSON accepts, tuples, nesting.
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_keys = st.text(max_size=6) | st.integers() | st.floats() | st.booleans() | st.none()
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(_keys, inner, max_size=4)
    ),
    max_leaves=24,
)


def _outcome(encode, value):
    try:
        return "text", encode(value)
    except (TypeError, ValueError) as error:
        return type(error).__name__, str(error)


@given(_values)
def test_the_reused_encoders_write_the_same_text_and_raise_the_same_errors(value):
    assert _outcome(_encode_event, value) == _outcome(_EVENT_ENCODER.encode, value)
    assert _outcome(_encode_key, value) == _outcome(_KEY_ENCODER.encode, value)


@pytest.mark.parametrize(
    "options",
    [{}, {"sort_keys": True}, {"ensure_ascii": False}, {"separators": (",", ":")}, {"indent": 2}],
)
def test_one_shot_follows_the_encoders_options(options):
    encoder = json.JSONEncoder(**options)
    value = {"b": [1, 2.5, "é"], "a": {"x": None, "y": True}}
    assert _one_shot(encoder)(value) == encoder.encode(value)


def test_a_cycle_is_still_refused_naming_it():
    event: dict = {"kind": "impression", "experiment": "e"}
    event["record"] = [event]
    refused = r"'impression' is not JSON-serialisable: Circular reference"
    with pytest.raises(InvalidArgument, match=refused):
        _encode(event)


@pytest.mark.parametrize("value", [math.nan, math.inf, object()])
def test_a_value_json_cannot_hold_is_refused_naming_the_event(value):
    with pytest.raises(InvalidArgument, match="'click' is not JSON-serialisable"):
        _row({"kind": "click", "experiment": "e", "at": value})


def test_a_lone_surrogate_in_an_event_is_refused_at_append():
    with pytest.raises(InvalidArgument, match="not valid Unicode"):
        _row({"kind": "click", "experiment": "e", "note": "\ud800"})
    assert _row({"kind": "click", "experiment": "é", "note": "ü"})[2] == (
        '{"kind":"click","experiment":"é","note":"ü"}'
    )


# Provenance: hashlib.blake2b(b'["exp","r1"]', digest_size=12).hexdigest() and the same of
# b'["exp",["u",7]]'; _impression_id gave both at 4535bb2, before the encoder was reused.
def test_impression_ids_are_unchanged():
    assert _impression_id("exp", "r1") == "877965df5b8c8b6c35a7c50c"
    assert _impression_id("exp", ["u", 7]) == "9cbfa2d959e46609f749a873"


@pytest.mark.parametrize("at", [math.nan, math.inf, "1.0", True])
def test_a_bad_time_is_still_refused_naming_at(at):
    experiment = Experiment("exp", seed=1, store=MemoryStore())
    with pytest.raises(InvalidArgument, match="`at`"):
        experiment.serve("r1", [[1, 2], [2, 1]], user="u", at=at)


def test_times_that_are_not_plain_floats_are_still_accepted_as_floats():
    np = pytest.importorskip("numpy")
    experiment = Experiment("exp", seed=1, store=MemoryStore())
    for i, at in enumerate([np.float64(1.5), 2, np.int64(3)]):
        served = experiment.serve(f"r{i}", [[1, 2], [2, 1]], user="u", at=at)
        event = next(e for e in experiment.store.read() if e["impression"] == served.impression_id)
        assert type(event["at"]) is float
        assert event["at"] == float(at)
