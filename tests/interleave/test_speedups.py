"""The compiled ``interleave._speedups`` equals the pure-Python reference in ``interleave._fused``.

Same results (the same objects as items, the same tuples), the same ``None`` for every input the
reference leaves to the general path, no reference leaked or lost, no memory kept. Skips where
the extension was not built (installed without a C compiler); in CI (``CI=true``), which has
gcc, a missing extension is a failure instead, so a broken build cannot hide behind the skip.
"""

from __future__ import annotations

import contextlib
import enum
import gc
import hashlib
import itertools
import os
import sys
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import interleave._fused as fused
import interleave._slots as slots_module
import interleave.credit as credit_module
import interleave.methods.base as base_module
import interleave.ranking as ranking_module
import interleave.stats._core as core_module
import interleave.stats.sufficient as sufficient_module
from interleave import keys
from interleave._fused import _python_balanced_two, _python_team_draft_two
from interleave._slots import python_new_slotted
from interleave.credit import Credit
from interleave.ranking import Interleaving
from interleave.stats import MixtureSPRT, TwoProportions, WinLoss
from tests.fuzzing import call_bounded

try:
    from interleave import _speedups
except ImportError as error:
    if os.environ.get("CI") == "true" and not os.environ.get("INTERLEAVE_NO_EXTENSION"):
        msg = "CI has a C compiler, so `pip install .` must build interleave._speedups"
        raise ImportError(msg) from error
    pytest.skip(
        "interleave._speedups was not built (no C compiler at install time, or "
        "INTERLEAVE_NO_EXTENSION=1): the pure-Python reference runs instead",
        allow_module_level=True,
    )

c_team_draft_two = _speedups.team_draft_two
c_balanced_two = _speedups.balanced_two

# Ids whose hashes collide: -1 and -2 both hash to -2; x and x + (2**61 - 1) hash alike.
COLLIDING_INTS = [-1, -2, 5, 5 + (2**61 - 1), 5 + 2 * (2**61 - 1), 5 + 7 * (2**61 - 1)]
EDGE_INTS = [-(2**63), 2**63 - 1, 2**63, 2**64 - 1, 0, 256, 257]

int_ids = st.one_of(
    st.integers(-3, 40),
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from(COLLIDING_INTS + EDGE_INTS),
)
# Every str width (1-, 2- and 4-byte code points), and lone surrogates, which str also allows.
str_ids = st.one_of(
    st.text(max_size=3),
    st.text(st.characters(codec="utf-8"), max_size=2),
    st.sampled_from(["\ud800", "\udfff", "é", "\U0001f600", ""]),
)


@st.composite
def ranking_pairs(draw: st.DrawFn) -> tuple[list, list]:
    """Two rankings of one kind: overlapping, sharing a prefix, disjoint, equal or reversed."""
    pool = draw(st.lists(draw(st.sampled_from([int_ids, str_ids])), min_size=2, unique=True))
    shape = draw(st.sampled_from(["overlap", "prefix", "disjoint", "same", "reversed"]))
    if shape == "disjoint":
        cut = draw(st.integers(1, len(pool) - 1))
        a = draw(st.permutations(pool[:cut]))
        b = draw(st.permutations(pool[cut:]))
    else:
        a = draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
        b = draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
        if shape == "prefix":
            k = draw(st.integers(0, len(a)))
            b = a[:k] + [x for x in b if x not in a[:k]] or a[:1]
        elif shape == "same":
            b = list(a)
        elif shape == "reversed":
            b = a[::-1]
    # Equal ids as distinct objects, so equality by value (not identity) is what is tested.
    if draw(st.booleans()):
        b = [type(x)(str(x)) if type(x) is int else "".join(x) for x in b]
    return list(a), list(b)


lengths = st.one_of(st.integers(-2, 70), st.sampled_from([10**30, -(10**30), 2**63]))
coins = st.one_of(
    st.integers(0, 2**256 - 1),
    st.integers(-(2**300), 2**300),
    st.sampled_from([0, 2**256 - 1, -1, int("01" * 128, 2), int("10" * 128, 2)]),
)


def same_result(got: tuple | None, expected: tuple | None) -> None:
    assert got == expected
    if expected is not None:
        # The items are the callers' own objects, as the reference's are.
        assert all(x is y for x, y in zip(got[0], expected[0], strict=True))
        assert all(type(t) is tuple for t in got)


@settings(max_examples=600, deadline=None)
@given(ranking_pairs(), lengths, st.booleans(), coins)
def test_team_draft_two_equals_the_reference(pair, length, common_prefix, coin_bits):
    a, b = pair
    same_result(
        c_team_draft_two(a, b, length, common_prefix, coin_bits),
        _python_team_draft_two(a, b, length, common_prefix, coin_bits),
    )


@settings(max_examples=600, deadline=None)
@given(ranking_pairs(), lengths, st.booleans())
def test_balanced_two_equals_the_reference(pair, length, a_first):
    a, b = pair
    same_result(c_balanced_two(a, b, length, a_first), _python_balanced_two(a, b, length, a_first))


PAIRS = [
    ([1, 2, 3, 4], [3, 1, 5, 6]),
    (["a", "b", "c"], ["a", "b", "d", "e", "f"]),
    ([1, 2, 3], [4, 5, 6, 7, 8]),
    (COLLIDING_INTS, COLLIDING_INTS[::-1]),
    ([2**63, 2**64 - 1, -(2**63)], [2**64 - 1, 7]),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_every_coin_pattern_and_length_matches(a, b):
    # Exhaustive: all 2**8 coin sequences over the first 8 rounds, every length up to past both.
    for length, common_prefix, coin_bits in itertools.product(
        range(len(a) + len(b) + 2), (False, True), range(2**8)
    ):
        same_result(
            c_team_draft_two(a, b, length, common_prefix, coin_bits),
            _python_team_draft_two(a, b, length, common_prefix, coin_bits),
        )
    for length, a_first in itertools.product(range(len(a) + len(b) + 2), (0, 1)):
        expected = _python_balanced_two(a, b, length, a_first)
        same_result(c_balanced_two(a, b, length, a_first), expected)


def test_long_rankings_read_coins_past_the_first_64_bits():
    rng = np.random.default_rng(7)
    for n in (70, 200, 1000):
        a = [int(x) for x in rng.permutation(2 * n)[:n]]
        b = [int(x) for x in rng.permutation(2 * n)[:n]]
        bits = int(rng.integers(0, 2**62)) | (int(rng.integers(0, 2**62)) << 100)
        for coin_bits in (bits, -bits, 2**300 - 1):
            same_result(
                c_team_draft_two(a, b, 2 * n, False, coin_bits),
                _python_team_draft_two(a, b, 2 * n, False, coin_bits),
            )
        same_result(c_balanced_two(a, b, 2 * n, 1), _python_balanced_two(a, b, 2 * n, 1))


@pytest.mark.parametrize("overlap", [0.0, 0.5, 1.0])
def test_large_rankings_answer_in_bounded_time_and_memory(overlap):
    # 10**5 ids each (the fuzz suite's disjoint-rankings case): linear work, memory of the input's
    # order. The general path's caller only sends lists this long when the coins run out, but the
    # function itself must stay bounded on anything.
    n = 10**5
    a = list(range(n))
    b = [x + int(n * (1 - overlap)) for x in reversed(a)]
    _, merged = call_bounded(
        c_team_draft_two, a, b, 2 * n, True, 2**256 - 1, max_seconds=5, max_extra_bytes=1 << 28
    )
    assert merged == _python_team_draft_two(a, b, 2 * n, True, 2**256 - 1)
    _, merged = call_bounded(
        c_balanced_two, a, b, 10**40, 0, max_seconds=5, max_extra_bytes=1 << 28
    )
    assert merged == _python_balanced_two(a, b, 10**40, 0)


def test_threads_calling_at_once_get_their_own_answers():
    # No state is shared between calls: eight threads on different inputs get the single-threaded
    # answers.
    pairs = [
        ([f"{t}-{i}" for i in range(30)], [f"{t}-{i}" for i in range(15, 45)]) for t in range(8)
    ]
    expected = [
        _python_team_draft_two(a, b, 60, True, 2**200 + t) for t, (a, b) in enumerate(pairs)
    ]

    def work(t: int) -> bool:
        a, b = pairs[t]
        return all(c_team_draft_two(a, b, 60, True, 2**200 + t) == expected[t] for _ in range(3000))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(8)))


class Colour(enum.IntEnum):
    RED = 1
    GREEN = 2


class Name(str):
    pass


class Items(list):
    pass


# Inputs the reference leaves to the general path (which converts or names them): (a, b).
DECLINED = {
    "bools": ([True, False], [1, 2]),
    "a bool among ints": ([1, True], [1, 2]),
    "floats": ([1.0, 2.0], [1.0, 3.0]),
    "numpy ints": ([np.int64(1), np.int64(2)], [1, 2]),
    "a numpy int in b": ([1, 2], [np.int64(1), 3]),
    "IntEnum": ([Colour.RED, Colour.GREEN], [1, 2]),
    "str subclass": ([Name("x"), "y"], ["x", "y"]),
    "2**64": ([2**64, 1], [1, 2]),
    "below -2**63": ([-(2**63) - 1], [1]),
    "a huge int": ([10**5000], [1]),
    "duplicate in a": ([1, 2, 1], [3]),
    "duplicate in b": (["x", "y"], ["z", "z"]),
    "duplicate 2**64-1": ([2**64 - 1, 2**64 - 1], [1]),
    "duplicate colliding hash": ([5, 5 + (2**61 - 1), 5], [1]),
    "mixed types": ([1, "2"], [1]),
    "int a, str b": ([1, 2], ["1", "2"]),
    "str a, int b": (["1", "2"], [1, 2]),
    "tuples": ((1, 2), (2, 3)),
    "tuple b": ([1, 2], (2, 3)),
    "list subclass": (Items([1, 2]), [2, 3]),
    "empty a": ([], [1, 2]),
    "empty b": (["x"], []),
    "None ids": ([None], [None]),
    "bytes ids": ([b"x"], [b"y"]),
    "an array": (np.array([1, 2]), [1, 2]),
}


@pytest.mark.parametrize(("a", "b"), DECLINED.values(), ids=DECLINED.keys())
def test_declines_exactly_what_the_reference_declines(a, b):
    for x, y in ((a, b), (b, a)):
        for length, flag, coin_bits in itertools.product((0, 2, 5), (False, True), (0, 5)):
            expected = _python_team_draft_two(x, y, length, flag, coin_bits)
            same_result(c_team_draft_two(x, y, length, flag, coin_bits), expected)
            expected = _python_balanced_two(x, y, length, flag)
            same_result(c_balanced_two(x, y, length, flag), expected)
    assert c_team_draft_two(a, b, 3, True, 1) is None
    assert c_balanced_two(a, b, 3, True) is None


def test_the_reference_range_of_ints_is_the_compiled_range():
    # The ids the record accepts run from -2**63 to 2**64 - 1 (ranking.ID_MIN, ID_MAX).
    for a in ([2**63], [2**64 - 1], [-(2**63)], [2**63 - 1]):
        assert c_team_draft_two(a, [1], 2, True, 0) == _python_team_draft_two(a, [1], 2, True, 0)
        assert c_team_draft_two(a, [1], 2, True, 0) is not None
    for a in ([2**64], [-(2**63) - 1]):
        assert c_team_draft_two(a, [1], 2, True, 0) is None


def test_scalars_are_read_as_the_reference_reads_them():
    a, b = [1, 2, 3], [3, 4]
    # Anything with __index__ is a length or coins, as for range() and >>; truthiness decides flags.
    for length, flag, coin_bits in [(np.int64(3), np.bool_(True), np.int64(5)), (True, [], 1)]:
        same_result(
            c_team_draft_two(a, b, length, flag, coin_bits),
            _python_team_draft_two(a, b, length, flag, coin_bits),
        )
        same_result(c_balanced_two(a, b, length, flag), _python_balanced_two(a, b, length, flag))
    # A float length is a TypeError in both (range() refuses it), as is a float coin.
    for call in (
        lambda f: f(a, b, 2.0, True, 1),
        lambda f: f(a, b, 2, True, 1.0),
    ):
        with pytest.raises(TypeError):
            call(_python_team_draft_two)
        with pytest.raises(TypeError):
            call(c_team_draft_two)
    with pytest.raises(TypeError):
        c_balanced_two(a, b, 2.0, True)
    with pytest.raises(TypeError, match="exactly 4"):
        c_balanced_two(a, b, 2)
    with pytest.raises(TypeError):
        c_team_draft_two(a, b, 2, True, coins=1)


def test_the_compiled_functions_are_the_ones_in_use():
    assert fused.team_draft_two is c_team_draft_two
    assert fused.balanced_two is c_balanced_two


def test_no_reference_is_leaked_or_lost_and_no_memory_kept():
    # Ids that are neither cached small ints nor interned strings, so their counts are ours alone.
    a = [10**12 + i for i in range(12)] + [2**63 + 1]
    b = [10**12 + i for i in range(6, 20)] + [2**63 + 1]
    sa, sb = [f"id-{x}" for x in a], [f"id-{x}" for x in b]
    big = list(range(10**6, 10**6 + 300))
    big_reversed, big_duplicate = big[::-1], [*big[:40], big[0]]
    coin_bits, negative_coins, length = 2**255 + 12345, -(2**200), 10**6 + 600
    calls = [
        lambda: c_team_draft_two(a, b, 20, True, coin_bits),
        lambda: c_balanced_two(sa, sb, 25, False),
        # Heap buffers, coins shifted along, a length that is not a small int.
        lambda: c_team_draft_two(big, big_reversed, length, False, negative_coins),
        lambda: c_balanced_two(big, big_duplicate, length, True),  # None after a heap index
        lambda: c_team_draft_two(a, [1, 1.0], 5, True, 1),  # None
        lambda: c_team_draft_two(a, b, 2.5, True, 1),  # TypeError
    ]
    watched = [a, b, sa, sb, big, big_reversed, big_duplicate, coin_bits, negative_coins, length]
    watched += [*a, *b, *sa, *sb, *big[:50]]

    def run(times: int) -> None:
        for _ in range(times):
            for call in calls:
                with contextlib.suppress(TypeError):
                    call()

    run(10)
    gc.collect()
    before = [sys.getrefcount(x) for x in watched]
    tracemalloc.start()
    try:
        run(2_000)  # warm the allocator's free lists under tracing
        gc.collect()
        start, _ = tracemalloc.get_traced_memory()
        run(15_000)  # 90,000 calls with the ones below
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    for _ in range(10_000 // 2):
        c_team_draft_two(a, b, 20, True, 7)
        c_balanced_two(sa, sb, 25, True)
    gc.collect()
    assert [sys.getrefcount(x) for x in watched] == before
    # A leak of even one small object per call would hold over 1 MB here.
    assert end - start < 64 * 1024


# -- plain_pair_key: the cache key of Optimized's repeated rankings ---------------------------

odd_ids = st.sampled_from([1.0, True, np.int64(3), "x", 2, enum.IntEnum("E", "A").A, b"b", None])


@given(
    st.one_of(ranking_pairs(), st.tuples(st.lists(odd_ids), st.lists(odd_ids))),
    st.booleans(),
)
def test_plain_pair_key_equals_the_reference(pair, as_tuple):
    a, b = pair
    if as_tuple:
        a = tuple(a)
    expected = fused._python_plain_pair_key(a, b)
    got = _speedups.plain_pair_key(a, b)
    assert got == expected
    if expected is not None:  # the same types too: 1 == 1.0 would hide a wrong key
        assert [list(map(type, t)) for t in got] == [list(map(type, t)) for t in expected]


def test_plain_pair_key_refuses_ids_equal_to_plain_ones():
    for a, b in [([1.0, 2], [2, 1]), ([True], [1]), ([np.int64(1)], [1]), ([1], ["1"]), ([], [1])]:
        assert _speedups.plain_pair_key(a, b) is None
        assert fused._python_plain_pair_key(a, b) is None
    assert _speedups.plain_pair_key(["a", "b"], ["b"]) == (("a", "b"), ("b",))


# -- keyed draws: BLAKE2b (RFC 7693) and the plain-key encoding of interleave.keys --------------


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=700),  # 0 to 5 blocks, so block boundaries and the empty message
    st.binary(max_size=64),
    st.integers(1, 64),
)
def test_blake2b_equals_hashlib(data, key, digest_size):
    expected = hashlib.blake2b(data, key=key, digest_size=digest_size).digest()
    assert _speedups.blake2b(data, key, digest_size) == expected


@pytest.mark.parametrize("size", [0, 1, 127, 128, 129, 255, 256, 257, 1000])
def test_blake2b_at_block_boundaries(size):
    data = bytes(range(256)) * 4
    for key in (b"", b"k", bytes(64)):
        expected = hashlib.blake2b(data[:size], key=key, digest_size=64).digest()
        assert _speedups.blake2b(data[:size], key, 64) == expected


def test_blake2b_refuses_what_hashlib_refuses():
    with pytest.raises(ValueError, match="digest_size"):
        _speedups.blake2b(b"", b"", 65)
    with pytest.raises(ValueError, match="key"):
        _speedups.blake2b(b"", bytes(65), 32)
    with pytest.raises(TypeError):
        _speedups.blake2b("text", b"", 32)


def python_key_digest(seed, key):
    """keys.key_digest by its pure-Python reference (the compiled path switched off)."""
    saved = keys._compiled_key_digest
    keys._compiled_key_digest = None
    try:
        return keys.key_digest(seed, key)
    finally:
        keys._compiled_key_digest = saved


plain_keys = st.one_of(
    st.text(),
    st.sampled_from(["", "request-42", "é", "\U0001f600" * 40, "x" * 200]),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -1, 9, 10, -10, 2**63 - 1, -(2**63)]),
)
seeds = st.one_of(st.none(), st.integers(-(2**70), 2**70))


@settings(max_examples=500, deadline=None)
@given(seeds, plain_keys, st.integers(1, 8))
def test_plain_key_draws_equal_the_reference(seed, key, n):
    head = keys.ENCODING_VERSION + (b"n" if seed is None else keys._encode_seed(seed))
    reference = python_key_digest(seed, key)
    assert _speedups.plain_key_digest(head, key) == reference
    assert _speedups.plain_key_uniforms(head, key, n) == keys.digest_uniforms(reference, n)
    # And what keys hands out, compiled or not.
    assert keys.key_digest(seed, key) == reference
    assert keys.plain_key_uniforms(seed, key, n) == keys.digest_uniforms(reference, n)


@pytest.mark.parametrize(
    "key", [2**63, -(2**63) - 1, 10**30, "\ud800", "a\udfffb", True, 1.0, b"x", ("a",), None]
)
def test_plain_key_draws_leave_other_keys_to_the_reference(key):
    head = keys.ENCODING_VERSION + b"n"
    assert _speedups.plain_key_digest(head, key) is None
    assert _speedups.plain_key_uniforms(head, key, 1) is None


@pytest.mark.parametrize("key", [2**63, -(2**63) - 1, 10**30, "\ud800", "a\udfffb"])
def test_keys_still_draw_for_keys_the_compiled_path_declines(key):
    # The reference answers them (a lone surrogate by its code point, big ints by their digits).
    digest = keys.key_digest(7, key)
    assert digest == python_key_digest(7, key)
    assert keys.plain_key_uniforms(7, key, 3) == keys.digest_uniforms(digest, 3)


def test_plain_key_uniforms_declines_counts_outside_one_to_eight():
    head = keys.ENCODING_VERSION + b"n"
    assert _speedups.plain_key_uniforms(head, "k", 0) is None
    assert _speedups.plain_key_uniforms(head, "k", 9) is None


def test_keys_use_the_compiled_draws():
    assert keys._compiled_key_digest is _speedups.plain_key_digest
    assert keys._compiled_key_uniforms is _speedups.plain_key_uniforms


# -- new_slotted: records filled in one call ------------------------------------------------


def test_new_slotted_records_equal_the_ones_built_field_by_field():
    fields = ("optimized", (1, 2), (0, 1), ((0, -1), (-1, 0)), (2, 2), (("length", 2),), "k", 7)
    compiled = Interleaving._from_checked_parts(*fields)
    assert compiled == Interleaving(*fields)
    assert type(compiled) is Interleaving
    assert Interleaving.from_dict(compiled.to_dict()) == compiled
    credit = Credit._from_checked_parts("team_draft", (1.0, 0.0), ((0.0, 1.0), (-1.0, 0.0)), (0,))
    assert credit == Credit("team_draft", (1.0, 0.0), ((0.0, 1.0), (-1.0, 0.0)), (0,))


@pytest.mark.parametrize("build", [_speedups.new_slotted, python_new_slotted])
def test_new_slotted_refuses_mismatched_arguments_by_name(build):
    setters = ranking_module._RECORD_SLOTS
    with pytest.raises(TypeError, match="one value per descriptor"):
        build(Interleaving, setters, "only one")
    with pytest.raises(TypeError):  # not a data descriptor
        build(Interleaving, (len,), 1)
    with pytest.raises(TypeError):  # a slot of another class
        build(Interleaving, (credit_module._CREDIT_SLOTS[0],), "x")


def test_compiled_new_slotted_names_what_is_wrong():
    with pytest.raises(TypeError, match="one value per descriptor"):
        _speedups.new_slotted("not a type", ())
    with pytest.raises(TypeError, match="not a data descriptor"):
        _speedups.new_slotted(Interleaving, (len,), 1)


def test_new_slotted_and_key_draws_keep_no_reference_or_memory():
    items = tuple(f"item-{i}" for i in range(10))
    key = "request-" + "x" * 20
    fields = ("optimized", items, (0,) * 10, (tuple(range(10)),) * 2, (10, 10), (), key, 7)
    head = keys.ENCODING_VERSION + keys._encode_seed(7)
    watched = [items, key, head, *items]

    def run(times: int) -> None:
        for _ in range(times):
            Interleaving._from_checked_parts(*fields)
            _speedups.plain_key_uniforms(head, key, 8)
            _speedups.plain_key_digest(head, 123456789)
            with contextlib.suppress(TypeError):
                _speedups.new_slotted(Interleaving, (len,), key)

    run(10)
    gc.collect()
    before = [sys.getrefcount(x) for x in watched]
    tracemalloc.start()
    try:
        run(2_000)
        gc.collect()
        start, _ = tracemalloc.get_traced_memory()
        run(20_000)
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [sys.getrefcount(x) for x in watched] == before
    assert end - start < 64 * 1024


def test_records_and_states_without_the_compiled_path_are_the_same(monkeypatch):
    fields = ("balanced", ("a", "b"), (1, 0), ((-1, 0), (0, -1)), (1, 1), (), 5, None)
    credit_parts = ("balanced", (0.0, 1.0), ((0.0, -1.0), (1.0, 0.0)), (1,))
    test = MixtureSPRT()

    def build_all():
        state = test.start().update(wins=3, losses=1).update(wins=0.5, losses=0.25, ties=0.25)
        return (
            Interleaving._from_checked_parts(*fields),
            Credit._from_checked_parts(*credit_parts),
            state,
            state.data,
            WinLoss(1, 2, 3).update(wins=1),
            TwoProportions(1, 2, 1, 3).update(successes_a=1, trials_a=2, trials_b=1),
        )

    compiled = build_all()
    assert slots_module.new_slotted is _speedups.new_slotted
    for module in (ranking_module, credit_module, core_module, sufficient_module, slots_module):
        monkeypatch.setattr(module, "new_slotted", python_new_slotted)
    reference = build_all()
    assert reference == compiled
    assert [type(x) for x in reference] == [type(x) for x in compiled]
    from_outcomes = WinLoss.from_outcomes([1, -1, 0.5])  # arrays, through new_from_slots
    assert [x.tolist() for x in (from_outcomes.n_wins, from_outcomes.n_ties)] == [
        [1.0, 1.0, 1.5],
        [0.0, 0.0, 0.5],
    ]


# -- plain_click_positions: the common case of click_positions ------------------------------

click_values = st.one_of(
    st.integers(-3, 70),
    st.sampled_from([True, False, 2**63, -(2**63) - 1, 1.0, np.int64(2), "1", None]),
)


def outcome(call):
    try:
        return ("ok", call())
    except Exception as error:  # the reference's own errors, compared by type and message
        return (type(error).__name__, str(error))


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(st.lists(click_values, max_size=70), st.lists(st.integers(0, 70), max_size=12)),
    st.booleans(),
    st.integers(0, 72),
)
def test_click_positions_equal_the_reference(clicks, as_tuple, n_shown):
    clicks = tuple(clicks) if as_tuple else clicks
    compiled = outcome(lambda: base_module.click_positions(clicks, n_shown))
    saved = base_module._compiled_click_positions
    base_module._compiled_click_positions = None
    try:
        reference = outcome(lambda: base_module.click_positions(clicks, n_shown))
    finally:
        base_module._compiled_click_positions = saved
    assert compiled == reference
    direct = _speedups.plain_click_positions(clicks, n_shown)
    if direct is not None:  # only ever the reference's own answer, with the caller's int objects
        assert ("ok", direct) == reference
        assert all(any(p is c for c in clicks) for p in direct)


@pytest.mark.parametrize(
    ("clicks", "n_shown"),
    [
        ([1, 1], 5),  # repeated
        ([5], 5),  # past the list
        ([-1], 5),
        ([True], 5),  # a bool is a mask entry, not a position
        ([0, 2**63], 5),
        (list(range(65)), 100),  # more than the stack holds: the reference sorts it
        (range(3), 5),
        ([1], 5.0),
    ],
)
def test_plain_click_positions_leaves_the_rest_to_the_reference(clicks, n_shown):
    assert _speedups.plain_click_positions(clicks, n_shown) is None


def test_plain_click_positions_keeps_no_reference():
    clicks = [10**12 + i for i in (5, 1, 3)]
    n_shown = 10**13
    before = [sys.getrefcount(x) for x in clicks]
    for _ in range(10_000):
        _speedups.plain_click_positions(clicks, n_shown)
        _speedups.plain_click_positions([*clicks, clicks[0]], n_shown)
    gc.collect()
    assert [sys.getrefcount(x) for x in clicks] == before
