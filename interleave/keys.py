"""Deterministic randomness: every random choice derives from (experiment seed, request key).

The same request gets the same list in any process, in any order, on any number of threads,
because the randomness is a pure function of a stable digest (BLAKE2b) of a canonical encoding
of ``(seed, key)``; Python's ``hash()`` is salted per process and is never used (mpkato's
``dump_rankings`` keyed by ``hash()``, which changes between runs). The full digest is kept, as
lkpy's ``random.py`` does, so distinct keys do not collide in practice.

Three consumers, three tools:

- the per-request hot path (microseconds): :func:`key_digest` (its bits are coins) and
  :func:`digest_uniforms`, pure ``hashlib``, no numpy Generator (building one costs ~10 us);
- simulation: :func:`rng_for` gives a numpy ``Generator`` per (seed, key), and :func:`as_generator`
  is the one place a user's ``rng`` argument (SPEC 7) becomes a Generator;
- user assignment by hash: :func:`md5_bucket` (Eppo's convention) and :func:`md5_order` (the
  seed document's canary ranking), MD5 because that is what the field and the seed use.

Changing :data:`ENCODING_VERSION` or the encoding changes every assignment ever made: don't.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from typing import Any

import numpy as np

from interleave.errors import InvalidArgument

__all__ = [
    "ENCODING_VERSION",
    "as_generator",
    "digest_uniforms",
    "key_digest",
    "md5_bucket",
    "md5_order",
    "rng_for",
]

ENCODING_VERSION = b"interleave/v1"
_UNIT = 2.0**-53  # 53 random bits per double, the most a float64 mantissa holds uniformly
_EIGHT_U64 = struct.Struct("<8Q")


def _encode_part(part: Any) -> bytes:
    # Type tag + length prefix: "1" (str) and 1 (int) and b"1" (bytes) never collide, nor do
    # ("ab", "c") and ("a", "bc").
    if type(part) is str:
        raw = part.encode("utf-8")
        return b"s" + len(raw).to_bytes(4, "little") + raw
    if isinstance(part, str):
        raw = part.encode("utf-8")
        tag = b"s"
    elif isinstance(part, bool):
        msg = (
            f"a key part must be str, int or bytes, got the bool {part!r}; pass it as a str or int"
        )
        raise InvalidArgument(msg)
    elif isinstance(part, (int, np.integer)):
        raw = str(int(part)).encode("ascii")
        tag = b"i"
    elif isinstance(part, (bytes, bytearray)):
        raw = bytes(part)
        tag = b"b"
    else:
        msg = (
            f"a key part must be str, int or bytes, got {part!r} of type {type(part).__name__}; "
            "convert it to a string that identifies the request"
        )
        raise InvalidArgument(msg)
    return tag + len(raw).to_bytes(4, "little") + raw


def key_digest(seed: int | None, *key: Any) -> bytes:
    """The 32-byte BLAKE2b digest of the canonical encoding of ``(seed, *key)``.

    Parameters
    ----------
    seed
        The experiment seed (a salt): different experiments give independent randomness to the
        same request. ``None`` is encoded distinctly from every integer.
    *key
        The request key, one or more parts, each str, int or bytes.

    Examples
    --------
    >>> key_digest(7, "request-42").hex()[:16]
    '5a642cca41aaf5a3'
    """
    if seed is None:
        head = b"n"
    elif type(seed) is int:
        head = _encode_seed(seed)
    elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        msg = f"`seed` must be an int or None, got {seed!r} of type {type(seed).__name__}"
        raise InvalidArgument(msg)
    else:
        head = _encode_seed(int(seed))
    if len(key) == 1:  # the per-request hot path: one key part
        return hashlib.blake2b(
            ENCODING_VERSION + head + _encode_part(key[0]), digest_size=32
        ).digest()
    return hashlib.blake2b(
        b"".join((ENCODING_VERSION, head, *map(_encode_part, key))), digest_size=32
    ).digest()


@functools.lru_cache(maxsize=256)
def _encode_seed(seed: int) -> bytes:
    # An experiment has one seed and serves millions of requests: encode it once.
    return _encode_part(seed)


def digest_uniforms(digest: bytes, n: int) -> list[float]:
    """``n`` independent uniforms in [0, 1) from a digest, by BLAKE2b in counter mode.

    Each 64-byte block (``blake2b(digest, counter)``) yields 8 doubles of 53 bits each.
    """
    out: list[float] = []
    counter = 0
    while len(out) < n:
        block = hashlib.blake2b(counter.to_bytes(8, "little"), key=digest[:32]).digest()
        out.extend((word >> 11) * _UNIT for word in _EIGHT_U64.unpack(block))
        counter += 1
    del out[n:]
    return out


def rng_for(seed: int | None, *key: Any) -> np.random.Generator:
    """A numpy ``Generator`` that depends only on ``(seed, *key)``.

    Use it to give each user, query or experiment its own stream in simulation: the stream of a
    user does not change when other users are added or the work is split across processes.

    Examples
    --------
    >>> float(rng_for(1, "user_3").random()) == float(rng_for(1, "user_3").random())
    True
    """
    entropy = int.from_bytes(key_digest(seed, *key), "little")
    return np.random.default_rng(np.random.SeedSequence(entropy))


def as_generator(rng: Any, *, name: str = "rng") -> np.random.Generator:
    """Turn an ``rng`` argument into a ``Generator`` once (scientific-python SPEC 7).

    ``None`` draws fresh entropy from the OS (never a fixed default seed); an int or
    ``SeedSequence`` seeds a new PCG64 generator; a ``Generator`` is used as it is (and advanced).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            msg = f"`{name}` as an integer seed must be >= 0, got {rng!r}"
            raise InvalidArgument(msg)
        return np.random.default_rng(int(rng))
    msg = (
        f"`{name}` must be None, a non-negative int, a numpy SeedSequence or a numpy Generator, "
        f"got {rng!r} of type {type(rng).__name__}; legacy RandomState is not accepted, "
        "use numpy.random.default_rng(seed)"
    )
    raise InvalidArgument(msg)


def md5_bucket(subject: str, *, salt: str | None = None, n_buckets: int = 10_000) -> int:
    """Stateless hash bucket in ``range(n_buckets)``, Eppo's convention.

    ``int(md5(f"{salt}-{subject}").hexdigest()[:8], 16) % n_buckets`` (just ``subject`` when
    ``salt`` is None); the same subject always lands in the same bucket, in any process or language.

    Examples
    --------
    >>> md5_bucket("input", salt="test"), md5_bucket("alice")
    (5619, 3170)
    """
    text = subject if salt is None else f"{salt}-{subject}"
    return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:8], 16) % n_buckets


def md5_order(subjects: list[str]) -> list[str]:
    """Subjects sorted by ``md5(subject).hexdigest()``: the seed document's canary ranking.

    Its canary takes the first ``max(1, int(len(users) * fraction))`` users of this order.
    """
    return sorted(subjects, key=lambda s: hashlib.md5(s.encode("utf-8")).hexdigest())
