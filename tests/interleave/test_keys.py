"""Deterministic randomness: digests are stable, buckets follow Eppo, generators follow SPEC 7."""

from __future__ import annotations

import enum
import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from interleave import Balanced, InvalidArgument, Optimized, Probabilistic, TeamDraft
from interleave.keys import (
    as_generator,
    digest_uniforms,
    key_digest,
    md5_bucket,
    md5_order,
    plain_key_uniforms,
    rng_for,
)

SEED_DIR = Path(__file__).resolve().parents[3] / "shared" / "seed"


def test_digest_of_a_request_is_pinned_forever():
    # Changing this value changes every assignment ever made; the value is the one this encoding
    # (interleave/v1) gave when it was introduced (`python -c "from interleave.keys import
    # key_digest; print(key_digest(7, 'request-42').hex())"`).
    assert (
        key_digest(7, "request-42").hex()
        == "5a642cca41aaf5a3602c6c0601f06dc7ec9bd0b3a96cb65b00190ed216ef76fa"
    )


def test_str_int_and_bytes_key_parts_never_collide():
    assert len({key_digest(0, "1"), key_digest(0, 1), key_digest(0, b"1")}) == 3
    assert key_digest(0, "ab", "c") != key_digest(0, "a", "bc")
    assert key_digest(None, "a") != key_digest(0, "a")


def test_digest_uses_a_seed_and_key_only():
    assert key_digest(3, "user", 9) == key_digest(3, "user", np.int64(9))


@pytest.mark.parametrize("bad", [1.5, None, True, np.bool_(True), [1], (("a",),), ("a", 1.5)])
def test_bad_key_parts_are_named(bad):
    with pytest.raises(InvalidArgument, match="a key part must be str, int"):
        key_digest(0, "ok", bad)


def test_a_tuple_key_has_a_pinned_digest_of_its_own():
    # A tuple is one part with its own tag (b"t" + part count + the parts), added to the v1
    # encoding without changing any earlier digest (`python -c "from interleave.keys import
    # key_digest; print(key_digest(7, ('user-1', 'request-42')).hex())"`).
    assert (
        key_digest(7, ("user-1", "request-42")).hex()
        == "93e5f0d5c0a47668cca5a00edbe887f8707f047e5447bcfaabdbf67d8fa67996"
    )
    assert key_digest(7, ("user-1", "request-42")) != key_digest(7, "user-1", "request-42")
    assert key_digest(7, ("a",)) != key_digest(7, "a")
    assert key_digest(7, ("ab", "c")) != key_digest(7, ("a", "bc"))
    assert key_digest(7, (1, "1")) != key_digest(7, ("1", 1))


def test_an_empty_tuple_key_is_refused():
    with pytest.raises(InvalidArgument, match="at least one part"):
        key_digest(0, ())


def test_int_key_parts_keep_their_decimal_encoding_at_any_size():
    # The bytes hashed for an int are its decimal digits, as str() gives them, whatever
    # sys.set_int_max_str_digits says; past MAX_INT_DIGITS digits the key is refused by name.
    big = 7**5000  # 4226 digits: within Python's default limit, far past the plain-str() path
    assert (
        key_digest(1, big)
        == hashlib.blake2b(
            b"interleave/v1" + _encoded_int(1) + _encoded_int(big), digest_size=32
        ).digest()
    )
    with pytest.raises(InvalidArgument, match=r"at most 4300 decimal digits.*as a str"):
        key_digest(1, 10**5000)
    with pytest.raises(InvalidArgument, match="at most 4300 decimal digits"):
        key_digest(-(10**5000), "k")
    assert key_digest(10**4299, "k") != key_digest(10**4299 + 1, "k")


def test_digests_do_not_depend_on_the_int_to_str_limit():
    big = -(3**3000)
    before = key_digest(5, big)
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert key_digest(5, big) == before
    finally:
        sys.set_int_max_str_digits(old)


def _encoded_int(value):
    digits = str(value).encode()
    return b"i" + len(digits).to_bytes(4, "little") + digits


def test_a_lone_surrogate_key_is_hashed_by_its_code_point():
    assert key_digest(0, "\ud800") != key_digest(0, "\ud801")
    assert key_digest(0, "\ud800") != key_digest(0, "\ufffd")
    # The bytes hashed are the code point's three UTF-8-style bytes, ED A0 80.
    assert (
        key_digest(None, "a\ud800")
        == hashlib.blake2b(
            b"interleave/v1" + b"n" + b"s" + (4).to_bytes(4, "little") + b"a\xed\xa0\x80",
            digest_size=32,
        ).digest()
    )


def test_numpy_uint64_and_intenum_parts_hash_as_their_value():
    class Shard(enum.IntEnum):
        EU = 3

    assert key_digest(0, np.uint64(2**64 - 1)) == key_digest(0, 2**64 - 1)
    assert key_digest(0, Shard.EU) == key_digest(0, 3)
    assert key_digest(np.uint64(2**63), "k") == key_digest(2**63, "k")


def test_bad_seed_is_named():
    with pytest.raises(InvalidArgument, match=r"`seed` must be an int or None, got '7'"):
        key_digest("7", "k")


@given(st.binary(min_size=32, max_size=32), st.integers(0, 40))
def test_uniforms_lie_in_the_unit_interval_and_extend_consistently(digest, n):
    u = digest_uniforms(digest, n)
    assert len(u) == n
    assert all(0.0 <= x < 1.0 for x in u)
    assert digest_uniforms(digest, n + 9)[:n] == u


def test_uniforms_from_keys_are_uniform():
    # 20,000 keys, first uniform each: Kolmogorov-Smirnov against U(0, 1). The KS statistic
    # exceeds 1.95 / sqrt(n) with probability 0.001 under uniformity (false-failure rate 1e-3).
    values = np.array([digest_uniforms(key_digest(1, i), 1)[0] for i in range(20_000)])
    grid = np.sort(values)
    ks = np.max(np.abs(grid - np.arange(1, grid.size + 1) / grid.size))
    assert ks < 1.95 / np.sqrt(grid.size)


def test_rng_for_gives_independent_reproducible_streams():
    assert rng_for(1, "user_3").random(5).tolist() == rng_for(1, "user_3").random(5).tolist()
    assert rng_for(1, "user_3").random() != rng_for(1, "user_4").random()
    assert rng_for(1, "user_3").random() != rng_for(2, "user_3").random()


def test_md5_bucket_follows_eppo_reference_values():
    # REFERENCES §5: Eppo's convention int(md5(f"{salt}-{subject}").hexdigest()[:8], 16) % 10000;
    # "test-input" -> 5619, "alice" -> 3170.
    assert md5_bucket("input", salt="test") == 5619
    assert md5_bucket("alice") == 3170


USERS = [f"user_{i}" for i in range(40)]
FRACTIONS = (0.05, 0.1, 0.2, 0.25, 0.5)


def _seed_get_canary_users():
    """The seed document's own ``get_canary_users``, run from its text (skip when absent)."""
    if not SEED_DIR.is_dir():
        pytest.skip(f"the seed document is not at {SEED_DIR}; the pinned canary test still runs")
    for path in sorted(SEED_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        start = text.find("def get_canary_users")
        if start >= 0:
            line = text[start:].splitlines()[0]
            source = line.replace("\\n", "\n")  # the document stores its code with literal \n
            namespace = {"hashlib": hashlib}
            exec(compile(source, str(path), "exec"), namespace)
            return namespace["get_canary_users"]
    pytest.skip(f"no get_canary_users in {SEED_DIR}/*.txt")  # pragma: no cover
    return None  # pragma: no cover


@pytest.mark.parametrize("fraction", FRACTIONS)
def test_md5_order_gives_the_seed_documents_canary_users(fraction):
    get_canary_users = _seed_get_canary_users()
    n = max(1, int(len(USERS) * fraction))
    assert set(md5_order(USERS)[:n]) == get_canary_users(USERS, fraction)
    assert len(get_canary_users(USERS, fraction)) == n


def test_md5_order_pins_the_seed_canaries():
    # The seed document's get_canary_users(users, f) for users user_0..user_39: 5 % -> 2 users,
    # 10 % -> 4, 20 % -> 8 (computed by running its code, /work/shared/seed/000_*.txt).
    order = md5_order(USERS)
    assert order[:2] == ["user_7", "user_36"]
    assert set(order[:4]) == {"user_7", "user_36", "user_24", "user_10"}
    assert set(order[:8]) == {
        "user_7", "user_36", "user_24", "user_10", "user_2", "user_20", "user_6", "user_26"
    }  # fmt: skip
    assert sorted(order) == sorted(USERS)


def test_md5_order_takes_any_iterable_of_str_and_refuses_the_rest():
    assert md5_order(iter(["b", "a"])) == md5_order(["a", "b"])
    with pytest.raises(InvalidArgument, match=r"`subjects\[1\]` must be a str"):
        md5_order(["a", 1])
    with pytest.raises(InvalidArgument, match="`subjects` must be a list of str ids"):
        md5_order("user_1")
    with pytest.raises(InvalidArgument, match=r"`subjects\[0\]` is not valid Unicode"):
        md5_order(["\ud800"])


@pytest.mark.parametrize("n_buckets", [0, -3, 2**32 + 1, 1.5, True, None])
def test_md5_bucket_needs_a_bucket_count_it_can_fill(n_buckets):
    with pytest.raises(InvalidArgument, match="`n_buckets`"):
        md5_bucket("alice", n_buckets=n_buckets)


def test_md5_bucket_names_bad_subjects_and_salts():
    assert md5_bucket("alice", n_buckets=1) == 0
    assert md5_bucket("alice", n_buckets=np.int64(2**32)) == int(
        hashlib.md5(b"alice").hexdigest()[:8], 16
    )
    with pytest.raises(InvalidArgument, match="`subject` must be a str"):
        md5_bucket(17)
    with pytest.raises(InvalidArgument, match="`salt` must be a str"):
        md5_bucket("alice", salt=3)
    with pytest.raises(InvalidArgument, match="`subject` is not valid Unicode"):
        md5_bucket("\udfff")


def test_as_generator_accepts_none_ints_seedsequences_and_generators():
    gen = np.random.default_rng(0)
    assert as_generator(gen) is gen
    assert as_generator(5).random() == np.random.default_rng(5).random()
    assert as_generator(np.random.SeedSequence(5)).random() == np.random.default_rng(5).random()
    assert isinstance(as_generator(None), np.random.Generator)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True, np.random.RandomState(0)])
def test_as_generator_rejects_other_things(bad):
    with pytest.raises(InvalidArgument, match="`rng`"):
        as_generator(bad)


# --- the per-request path: key and seed of Interleaver.interleave --------------------------------

METHODS = [TeamDraft(length=4), Balanced(length=4), Probabilistic(length=4), Optimized(length=4)]
RANKINGS = [[1, 2, 3, 4], [4, 5, 1, 6]]


@pytest.mark.parametrize("method", METHODS, ids=repr)
def test_a_seed_without_a_key_is_refused(method):
    # Was: the same list on every call (50 of 50 identical), one coin for every request.
    with pytest.raises(InvalidArgument, match=r"`seed`=7 was given without `key`.*pass rng="):
        method.interleave(RANKINGS, seed=7)
    with pytest.raises(InvalidArgument, match=r"`seed`=np.int64\(0\) was given without `key`"):
        method.interleave(RANKINGS, seed=np.int64(0))


@pytest.mark.parametrize("method", METHODS, ids=repr)
def test_a_tuple_key_is_a_request_key(method):
    il = method.interleave(RANKINGS, key=("user-3", 17), seed=5)
    assert il.key == ("user-3", 17)
    assert method.interleave(RANKINGS, key=("user-3", 17), seed=5) == il
    assert method.interleave(RANKINGS, key=("user-3", np.int64(17)), seed=5) == il


def test_tuple_keys_spread_requests_over_the_lists():
    method = TeamDraft(length=4)
    lists = {method.interleave(RANKINGS, key=("user-1", r), seed=0).items for r in range(64)}
    assert len(lists) > 1


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (1.5, "`key` must be a str or int request key"),
        (True, "`key` must be a str or int request key"),
        (b"raw", "`key` must be a str or int request key"),
        (["u", 1], "`key` must be a str or int request key"),
        ((), "`key` must be a str or int request key"),
        (("u", None), r"`key\[1\]` must be a str or int"),
        (("u", ("nested",)), r"`key\[1\]` must be a str or int"),
        pytest.param(10**5000, "at most 4300 decimal digits", id="5001-digit int"),
    ],
)
def test_bad_request_keys_are_named(key, message):
    with pytest.raises(InvalidArgument, match=message):
        TeamDraft(length=4).interleave(RANKINGS, key=key, seed=1)


def test_key_without_seed_and_neither_stay_allowed():
    method = TeamDraft(length=4)
    assert method.interleave(RANKINGS, key="r") == method.interleave(RANKINGS, key="r")
    assert len(method.interleave(RANKINGS).items) == 4  # fresh OS entropy


def test_a_lone_surrogate_request_key_is_served():
    il = TeamDraft(length=4).interleave(RANKINGS, key="\ud800", seed=1)
    assert il == TeamDraft(length=4).interleave(RANKINGS, key="\ud800", seed=1)


@given(
    st.one_of(st.none(), st.integers(-(2**70), 2**70)),
    st.one_of(st.text(max_size=20), st.integers(-(10**30), 10**30), st.just("\ud800")),
    st.integers(1, 8),
)
def test_plain_key_uniforms_equal_the_two_step_draw(seed, key, n):
    # Optimized's per-request draw in one call must be exactly digest_uniforms(key_digest(...)).
    assert plain_key_uniforms(seed, key, n) == digest_uniforms(key_digest(seed, key), n)
