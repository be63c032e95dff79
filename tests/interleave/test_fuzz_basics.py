"""Fuzz the shared basics: request keys, MD5 assignment, the Interleaving record, credit sums.

The rule (tests/fuzzing.py): only the library's own errors escape, nothing hangs, nothing
allocates without a bound it checks first, and nothing wrong is accepted: whenever a hostile call
returns, the value is checked to be sound (a record that validates and round-trips through JSON,
counts that add up). The issue-13 findings of this area are pinned as named cases at the end.
"""

from __future__ import annotations

import enum
import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave import (
    Credit,
    CreditBatch,
    DataWarning,
    GroupPreference,
    Interleaving,
    TeamDraft,
    per_group_preference,
    tally,
)
from interleave._checks import check_int, check_one_of, check_real, short_repr
from interleave.keys import (
    as_generator,
    check_request_key,
    digest_uniforms,
    key_digest,
    md5_bucket,
    md5_order,
    rng_for,
)
from interleave.methods.base import click_positions
from interleave.ranking import CREDITED_BY_RANKS, validate_rankings
from interleave.stats import WinLoss
from tests.fuzzing import call_bounded

METHOD = TeamDraft(length=4)
RANKINGS = [[1, 2, 3, 4], [3, 5, 1, 6]]
RECORD = json.loads(json.dumps(METHOD.interleave(RANKINGS, key="request-42", seed=7).to_dict()))
FIELDS = tuple(RECORD)

# --- hostile values -------------------------------------------------------------------------------

# Text with lone surrogates (hypothesis' default text leaves them out).
TEXT = st.text(st.characters(categories=["Cs", "Lu", "Ll", "Nd", "Zs"]), max_size=6)


def _ten_to(exponent: int) -> int:
    return 10 ** abs(exponent) if exponent > 0 else -(10 ** abs(exponent))


# Past Python's int-to-str limit (4300 digits) an int cannot even be repr()'d: built by a map so
# that hypothesis can print the strategy.
HUGE_INTS = st.one_of(
    st.sampled_from([2**63, 2**64, 2**64 - 1, -(2**63) - 1, 2**1000]),
    st.sampled_from([5000, -5000, 4299]).map(_ten_to),
)
NUMPY_SCALARS = st.sampled_from(
    [np.int64(3), np.uint64(2**64 - 1), np.int8(-1), np.float64(1.0), np.bool_(True), np.str_("a")]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.integers(),
    HUGE_INTS,
    st.floats(),
    TEXT,
    st.binary(max_size=4),
    NUMPY_SCALARS,
    st.sampled_from([np.array([1, 2]), np.array(["a"]), np.array([[1]]), np.array([])]),
)


def _containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(TEXT, inner, max_size=3),
    )


HOSTILE = st.recursive(SCALARS, _containers, max_leaves=10)


def _sound_record(il: Interleaving) -> None:
    """What an accepted record must be: valid, JSON-able and equal to its own round trip."""
    assert isinstance(il, Interleaving)
    il.check()
    k = il.n_rankers
    assert all(type(t) is int and -1 <= t < k for t in il.teams)
    assert len({type(x) for x in il.items}) <= 1
    assert all(type(x) in (int, str) for x in il.items)
    assert il.seed is None or type(il.seed) is int
    assert il.key is None or type(il.key) in (str, int, tuple)
    text = json.dumps(il.to_dict())
    assert Interleaving.from_dict(json.loads(text)) == il
    assert str(il)


# --- the record -----------------------------------------------------------------------------------


@given(field=st.sampled_from(FIELDS), value=HOSTILE)
def test_from_dict_survives_a_tampered_field(field, value):
    status, result = call_bounded(Interleaving.from_dict, {**RECORD, field: value})
    if status == "ok":
        _sound_record(result)


@given(
    field=st.sampled_from(["items", "teams", "ranking_lengths"]),
    index=st.integers(0, 3),
    value=SCALARS,
)
def test_from_dict_survives_a_tampered_entry(field, index, value):
    payload = json.loads(json.dumps(RECORD))
    row = payload[field]
    row[index % len(row)] = value
    status, result = call_bounded(Interleaving.from_dict, payload)
    if status == "ok":
        _sound_record(result)


@given(row=st.integers(0, 1), index=st.integers(0, 3), value=SCALARS)
def test_from_dict_survives_a_tampered_rank(row, index, value):
    payload = json.loads(json.dumps(RECORD))
    payload["ranks"][row][index] = value
    status, result = call_bounded(Interleaving.from_dict, payload)
    if status == "ok":
        _sound_record(result)


@given(payload=HOSTILE)
def test_from_dict_survives_anything(payload):
    status, result = call_bounded(Interleaving.from_dict, payload)
    if status == "ok":
        _sound_record(result)


@given(
    items=HOSTILE,
    teams=HOSTILE,
    ranks=HOSTILE,
    lengths=HOSTILE,
    key=HOSTILE,
    seed=HOSTILE,
)
def test_building_a_record_by_hand_never_lets_a_raw_error_out(
    items, teams, ranks, lengths, key, seed
):
    status, il = call_bounded(
        Interleaving, "team_draft", items, teams, ranks, lengths, METHOD.params(), key, seed
    )
    if status == "ok":
        # Construction checks what credit indexes; check() names anything else, credit and
        # printing either work or name the problem.
        call_bounded(il.check)
        call_bounded(str, il)
        call_bounded(METHOD.credit, il, [0] if len(il.items) else [])


@given(order=HOSTILE)
def test_relabel_survives_any_order(order):
    il = Interleaving.from_dict(RECORD)
    status, result = call_bounded(il.relabel, order)
    if status == "ok":
        _sound_record(result)
        assert sorted(result.ranks) == sorted(il.ranks)


@given(
    method=st.one_of(st.sampled_from(["team_draft", "balanced", "probabilistic"]), HOSTILE),
    items=HOSTILE,
    rankings=st.one_of(HOSTILE, st.lists(st.lists(SCALARS, max_size=4), max_size=3)),
    teams=st.one_of(st.none(), HOSTILE),
)
def test_from_rankings_survives_hostile_input(method, items, rankings, teams):
    with warnings.catch_warnings():
        # A shown item in no ranking is usable data: DataWarning, which pytest would raise.
        warnings.simplefilter("ignore", DataWarning)
        status, result = call_bounded(
            Interleaving.from_rankings, method, items, rankings, teams=teams
        )
    if status == "ok":
        _sound_record(result)
        if teams is None:
            assert result.method in CREDITED_BY_RANKS


@given(rankings=st.one_of(HOSTILE, st.lists(st.lists(SCALARS, max_size=5), max_size=4)))
def test_validate_rankings_survives_hostile_ids(rankings):
    status, result = call_bounded(validate_rankings, rankings)
    if status == "ok":
        lists, positions = result
        for ranking, position in zip(lists, positions, strict=True):
            assert all(type(x) is int for x in ranking) or all(type(x) is str for x in ranking)
            assert all(-(2**63) <= x < 2**64 for x in ranking if type(x) is int)
            assert position == {x: r for r, x in enumerate(ranking)}


@given(value=HOSTILE, low=st.one_of(st.none(), st.floats(-10, 10)), minimum=st.integers(-5, 5))
def test_argument_checks_name_any_value(value, low, minimum):
    status, number = call_bounded(check_real, "x", value, low=low)
    if status == "ok":
        assert math.isfinite(number)
        assert low is None or number >= low
    else:
        assert str(number).startswith("`x` must be")
    status, number = call_bounded(check_int, "n", value, minimum=minimum)
    if status == "ok":
        assert type(number) is int
        assert number >= minimum
    else:
        assert str(number).startswith("`n` must be")
    status, chosen = call_bounded(check_one_of, "mode", value, ("a", "b"))
    assert status == "error" or chosen in ("a", "b")


@given(value=HOSTILE)
def test_short_repr_never_fails_and_stays_short(value):
    status, text = call_bounded(short_repr, value)
    assert status == "ok"
    assert len(text) <= 120


@given(
    clicks=st.one_of(
        HOSTILE,
        st.lists(st.one_of(st.integers(-2, 6), SCALARS), max_size=6),
        st.lists(st.booleans(), max_size=6).map(np.array),
        st.sampled_from([range(10**12), range(10**30), range(4), {0, 2}, frozenset({9})]),
    )
)
def test_clicks_survive_hostile_input(clicks):
    status, positions = call_bounded(click_positions, clicks, 4)
    if status == "ok":
        assert list(positions) == sorted(set(positions))
        assert all(type(p) is int and 0 <= p < 4 for p in positions)
    record = Interleaving.from_dict(RECORD)
    status, credit = call_bounded(METHOD.credit, record, clicks)
    if status == "ok":
        assert sum(credit.scores) <= len(record.items)


# --- keys -----------------------------------------------------------------------------------------


@given(seed=HOSTILE, key=HOSTILE)
def test_key_digest_survives_hostile_parts(seed, key):
    status, digest = call_bounded(key_digest, seed, key)
    if status == "ok":
        assert len(digest) == 32
        assert digest == key_digest(seed, key)


@given(seed=HOSTILE, key=HOSTILE)
def test_the_per_request_path_survives_hostile_keys_and_seeds(seed, key):
    status, il = call_bounded(METHOD.interleave, RANKINGS, key=key, seed=seed)
    if status == "ok":
        _sound_record(il)
        assert key is not None or seed is None  # a seed alone is refused
        if key is not None:  # without a key the list comes from fresh OS entropy
            assert il == METHOD.interleave(RANKINGS, key=key, seed=seed)


@given(key=HOSTILE)
def test_check_request_key_returns_a_json_key_or_names_it(key):
    status, checked = call_bounded(check_request_key, key)
    if status == "ok":
        assert type(checked) in (str, int, tuple)
        assert json.loads(json.dumps(checked)) == (
            list(checked) if type(checked) is tuple else checked
        )


@given(seed=HOSTILE, key=HOSTILE)
def test_rng_for_survives_hostile_input(seed, key):
    status, rng = call_bounded(rng_for, seed, key)
    if status == "ok":
        assert 0.0 <= rng.random() < 1.0


@given(digest=st.one_of(st.binary(max_size=70), HOSTILE), n=st.one_of(st.integers(-2, 50), HOSTILE))
def test_digest_uniforms_survive_hostile_input(digest, n):
    status, uniforms = call_bounded(digest_uniforms, digest, n)
    if status == "ok":
        assert len(uniforms) == n
        assert all(0.0 <= u < 1.0 for u in uniforms)


@given(rng=HOSTILE)
def test_as_generator_survives_hostile_input(rng):
    status, generator = call_bounded(as_generator, rng)
    if status == "ok":
        assert 0.0 <= generator.random() < 1.0


@given(subject=HOSTILE, salt=st.one_of(st.none(), HOSTILE), n_buckets=HOSTILE)
def test_md5_bucket_survives_hostile_input(subject, salt, n_buckets):
    status, bucket = call_bounded(md5_bucket, subject, salt=salt, n_buckets=n_buckets)
    if status == "ok":
        assert type(bucket) is int
        assert 0 <= bucket < n_buckets


@given(subjects=st.one_of(HOSTILE, st.lists(TEXT, max_size=8)))
def test_md5_order_survives_hostile_input(subjects):
    status, order = call_bounded(md5_order, subjects)
    if status == "ok":
        assert sorted(order) == sorted(subjects)


# --- credit aggregation ---------------------------------------------------------------------------

PREFERENCE = st.one_of(st.floats(-1, 1), st.floats(), st.sampled_from([-1.0, 0.0, 1.0]))


@st.composite
def credits(draw):
    k = draw(st.integers(2, 4))
    prefs = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1, k):
            e = draw(PREFERENCE)
            prefs[i][j], prefs[j][i] = e, -e
    return Credit("x", (0.0,) * k, tuple(tuple(row) for row in prefs))


@given(
    items=st.one_of(st.lists(st.one_of(credits(), HOSTILE), max_size=6), HOSTILE),
    candidate=st.one_of(st.integers(-3, 5), HOSTILE),
    baseline=st.one_of(st.integers(-3, 5), HOSTILE),
)
def test_tally_survives_hostile_input(items, candidate, baseline):
    status, counts = call_bounded(tally, items, candidate=candidate, baseline=baseline)
    if status == "ok":
        assert isinstance(counts, WinLoss)
        assert counts.n == pytest.approx(len(items))
        assert min(counts.n_wins, counts.n_losses, counts.n_ties) >= 0
        outcomes = [c.preferences[candidate][baseline] for c in items]
        assert counts.n_wins - counts.n_losses == pytest.approx(sum(outcomes), abs=1e-9)


@given(
    preferences=st.lists(PREFERENCE, min_size=0, max_size=8),
    candidate=st.one_of(st.integers(-3, 3), HOSTILE),
    baseline=st.one_of(st.integers(-3, 3), HOSTILE),
)
def test_batch_win_loss_survives_hostile_input(preferences, candidate, baseline):
    outcomes = np.array(preferences, dtype=float)
    prefs = np.zeros((len(outcomes), 2, 2))
    prefs[:, 1, 0], prefs[:, 0, 1] = outcomes, -outcomes
    batch = CreditBatch("x", np.zeros((len(outcomes), 2)), prefs)
    status, counts = call_bounded(batch.win_loss, candidate, baseline)
    if status == "ok":
        assert counts.n == pytest.approx(len(outcomes))
        assert np.all(np.abs(outcomes) <= 1)


@given(
    groups=st.one_of(HOSTILE, st.lists(st.one_of(st.integers(-3, 3), TEXT, SCALARS), max_size=8)),
    outcomes=st.one_of(HOSTILE, st.lists(PREFERENCE, max_size=8)),
)
def test_per_group_preference_survives_hostile_input(groups, outcomes):
    status, pref = call_bounded(per_group_preference, groups, outcomes)
    if status == "ok":
        assert isinstance(pref, GroupPreference)
        assert int(pref.n_impressions.sum()) == len(outcomes)
        assert np.all(np.abs(pref.mean_outcome) <= 1)
        json.dumps(pref.to_dict())
        assert str(pref)


# --- the issue-13 findings of this area, one case each -------------------------------------------


class Shard(enum.IntEnum):
    EU = 1
    US = 2


def _tampered(**fields):
    return {**RECORD, **fields}


ONE_CREDIT = Credit("team_draft", (1.0, 0.0), ((0.0, 1.0), (-1.0, 0.0)))
ISSUE_13_NAMED_ERRORS = [
    # from_dict on tampered records
    ("teams None", Interleaving.from_dict, (_tampered(teams=[None, 0, 1, 0]),), {}),
    ("teams str", Interleaving.from_dict, (_tampered(teams=["a", 0, 1, 0]),), {}),
    ("teams inf", Interleaving.from_dict, (_tampered(teams=[math.inf, 0, 1, 0]),), {}),
    ("teams nan", Interleaving.from_dict, (_tampered(teams=[math.nan, 0, 1, 0]),), {}),
    ("ranks=5", Interleaving.from_dict, (_tampered(ranks=5),), {}),
    ("items=None", Interleaving.from_dict, (_tampered(items=None),), {}),
    (
        "items as text, fractional teams, list key, str seed",
        Interleaving.from_dict,
        (_tampered(teams=[0.7, 1, 0, 1], items="3124", key=[1], seed="x"),),
        {},
    ),
    ("a newer schema", Interleaving.from_dict, (_tampered(schema_version=99),), {}),
    # records built by hand, and relabel
    (
        "teams=(7, 0)",
        Interleaving,
        ("team_draft", (1, 2), (7, 0), ((0, 1), (1, 0)), (2, 2)),
        {},
    ),
    ("relabel(['a', 'b'])", Interleaving.from_dict(RECORD).relabel, (["a", "b"],), {}),
    # from_rankings of a team-credited method without teams (silently credited 0)
    ("team_draft without teams", Interleaving.from_rankings, ("team_draft", [1], RANKINGS), {}),
    # keys, seeds and ids past Python's int-to-str limit
    ("5,000-digit key", key_digest, (1, 10**5000), {}),
    ("5,000-digit seed", key_digest, (10**5000, "k"), {}),
    ("5,000-digit key, per request", METHOD.interleave, (RANKINGS,), {"key": 10**5000, "seed": 1}),
    ("5,000-digit id", validate_rankings, ([[10**5000, 1], [1]],), {}),
    ("seed without key", METHOD.interleave, (RANKINGS,), {"seed": 7}),
    ("md5_bucket(n_buckets=0)", md5_bucket, ("alice",), {"n_buckets": 0}),
    ("10**12 uniforms from one digest", digest_uniforms, (b"x" * 32, 10**12), {}),
    ("md5_bucket of a lone surrogate", md5_bucket, ("\ud800",), {}),
    # the argument checks every module shares
    ("check_real(10**400)", check_real, ("x", 10**400), {}),
    ("check_one_of on an array", check_one_of, ("mode", np.array(["a"]), ("a", "b")), {}),
    # clicks
    ("clicks as a huge range", click_positions, (range(10**12), 4), {}),
    ("a 5,000-digit click", click_positions, ([_ten_to(5000)], 4), {}),
    # tally and per_group_preference
    ("tally(None)", tally, (None,), {}),
    ("tally([c], i=5)", tally, ([ONE_CREDIT],), {"i": 5}),
    ("tally([c], candidate=5)", tally, ([ONE_CREDIT],), {"candidate": 5}),
    ("tally([c], candidate=-1)", tally, ([ONE_CREDIT],), {"candidate": -1, "baseline": 0}),
    ("per_group_preference None group", per_group_preference, ([1, None], [1.0, 0.0]), {}),
    ("per_group_preference NaN", per_group_preference, ([1, 2], [math.nan, 0.0]), {}),
    ("per_group_preference +7", per_group_preference, ([1, 2], [7.0, 0.0]), {}),
    ("per_group_preference -7", per_group_preference, ([1, 2], [0.0, -7.0]), {}),
]


@pytest.mark.parametrize(
    ("fn", "args", "kwargs"),
    [case[1:] for case in ISSUE_13_NAMED_ERRORS],
    ids=[case[0] for case in ISSUE_13_NAMED_ERRORS],
)
def test_issue_13_case_gets_a_named_error(fn, args, kwargs):
    status, error = call_bounded(fn, *args, **kwargs)
    assert status == "error", f"accepted: {error!r}"
    assert "`" in str(error) or "tally()" in str(error)  # the argument is named


ISSUE_13_NOW_ACCEPTED = [
    ("lone surrogate key", lambda: key_digest(0, "\ud800")),
    ("lone surrogate key, per request", lambda: METHOD.interleave(RANKINGS, key="\ud800", seed=1)),
    ("numpy int beside a python int", lambda: validate_rankings([[1, np.int64(2)], [2, 3]])),
    ("IntEnum ids", lambda: validate_rankings([[Shard.EU, Shard.US], [2, 3]])),
    ("uint64 beyond int64", lambda: validate_rankings([[np.uint64(2**64 - 1), 1], [1]])),
    ("tuple key", lambda: METHOD.interleave(RANKINGS, key=("user-1", 42), seed=1)),
]


@pytest.mark.parametrize(
    "call", [case[1] for case in ISSUE_13_NOW_ACCEPTED], ids=[c[0] for c in ISSUE_13_NOW_ACCEPTED]
)
def test_issue_13_case_is_served(call):
    status, value = call_bounded(call)
    assert status == "ok", value


def test_issue_13_numpy_seed_record_is_json():
    status, il = call_bounded(METHOD.interleave, RANKINGS, key="r", seed=np.int64(3))
    assert status == "ok"
    _sound_record(il)
    assert json.loads(json.dumps(il.to_dict()))["seed"] == 3
