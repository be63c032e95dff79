"""Deterministic randomness: every random choice derives from (experiment seed, request key).

The same request gets the same list in any process, in any order, on any number of threads,
because the randomness is a pure function of a stable digest (BLAKE2b) of a canonical encoding
of ``(seed, key)``; Python's ``hash()`` is salted per process and is never used (mpkato's
``dump_rankings`` keyed by ``hash()``, which changes between runs). The full digest is kept, as
lkpy's ``random.py`` does, so distinct keys do not collide in practice.

Three consumers, three tools:

- the per-request hot path (microseconds): :func:`key_digest` (its bits are coins) and
  :func:`digest_uniforms`, BLAKE2b by ``hashlib`` (for a plain str or int key, by the same
  BLAKE2b compiled in ``interleave._speedups`` where it was built: the same bytes), no numpy
  Generator (building one costs ~10 us);
- simulation: :func:`rng_for` gives a numpy ``Generator`` per (seed, key), and :func:`as_generator`
  is the one place a user's ``rng`` argument (SPEC 7) becomes a Generator;
- user assignment by hash: :func:`md5_bucket` (Eppo's convention) and :func:`md5_order` (the
  seed document's canary ranking), MD5 because that is what the field and the seed use.

Changing :data:`ENCODING_VERSION` or the encoding changes every assignment ever made: don't.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import struct
from collections.abc import Iterable
from typing import Any

import numpy as np

from interleave._checks import check_int, short_repr
from interleave.errors import InvalidArgument

__all__ = [
    "ENCODING_VERSION",
    "MAX_BUCKETS",
    "MAX_DRAWS",
    "MAX_INT_DIGITS",
    "as_generator",
    "check_request_key",
    "check_seed",
    "digest_uniforms",
    "key_digest",
    "md5_bucket",
    "md5_order",
    "rng_for",
]

ENCODING_VERSION = b"interleave/v1"

# BLAKE2b and the plain-key encoding compiled (interleave/_speedups.c, byte-for-byte the same
# digests, tested), where a C compiler built it at install time: each returns None for any key
# it leaves to the reference below, which also names every error.
_compiled_key_digest = _compiled_key_uniforms = None
with contextlib.suppress(ImportError):
    from interleave._speedups import plain_key_digest as _compiled_key_digest
    from interleave._speedups import plain_key_uniforms as _compiled_key_uniforms
_UNIT = 2.0**-53  # 53 random bits per double, the most a float64 mantissa holds uniformly
_EIGHT_U64 = struct.Struct("<8Q")


#: Int key parts and seeds may have at most this many decimal digits: Python's default int-to-str
#: limit. The digest does not depend on ``sys.set_int_max_str_digits`` (see :func:`_int_text`).
MAX_INT_DIGITS = 4300
_INT_BOUND = 10**MAX_INT_DIGITS
# Ints up to this many bits (603 digits) convert with str() under any limit Python accepts (>= 640).
_PLAIN_STR_BITS = 2000
_CHUNK = 10**18
_PLAIN_INT = 2**64


def _int_text(value: int, name: str = "`key`") -> bytes:
    """Decimal digits of ``value``, independent of the process's int-to-str digit limit."""
    if value.bit_length() <= _PLAIN_STR_BITS:
        return str(value).encode("ascii")
    if not -_INT_BOUND < value < _INT_BOUND:
        msg = (
            f"{name} may have at most {MAX_INT_DIGITS} decimal digits as an int, got one of "
            f"about {int(value.bit_length() * 0.30103) + 1} digits; pass an id that long as a "
            "str or bytes"
        )
        raise InvalidArgument(msg)
    # str() would refuse past sys.get_int_max_str_digits(); 18 digits at a time never does.
    magnitude = abs(value)
    chunks = []
    while magnitude:
        magnitude, low = divmod(magnitude, _CHUNK)
        chunks.append(low)
    head = ("-" if value < 0 else "") + str(chunks[-1])
    return (head + "".join(f"{c:018d}" for c in reversed(chunks[:-1]))).encode("ascii")


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (e.g. '\ud800' from JSON or a file name): 'surrogatepass' gives it
        # the 3 bytes of its code point. Valid text encodes as before, and no valid text has
        # those bytes, so the encoding stays one-to-one.
        return text.encode("utf-8", "surrogatepass")


def _encode_part(part: Any, *, in_tuple: bool = False, name: str = "`key`") -> bytes:
    # Type tag + length prefix: "1" (str) and 1 (int) and b"1" (bytes) never collide, nor do
    # ("ab", "c") and ("a", "bc"); a tuple is its own tag + part count, so ("a",) != "a".
    kind = type(part)
    if kind is str:
        raw = _utf8(part)
        return b"s" + len(raw).to_bytes(4, "little") + raw
    if kind is int:
        raw = _int_text(part, name)
        return b"i" + len(raw).to_bytes(4, "little") + raw
    if isinstance(part, str):
        raw = _utf8(part)
        tag = b"s"
    elif isinstance(part, (bool, np.bool_)):
        msg = (
            f"a key part must be str, int or bytes, got the bool {part!r}; pass it as a str or int"
        )
        raise InvalidArgument(msg)
    elif isinstance(part, (int, np.integer)):  # numpy ints, IntEnum: their integer value
        raw = _int_text(int(part), name)
        tag = b"i"
    elif isinstance(part, (bytes, bytearray)):
        raw = bytes(part)
        tag = b"b"
    elif kind is tuple and not in_tuple:
        if not part:
            msg = "a tuple key must hold at least one part, got (); pass e.g. (user_id, request_id)"
            raise InvalidArgument(msg)
        encoded = b"".join(_encode_part(p, in_tuple=True) for p in part)
        return b"t" + len(part).to_bytes(4, "little") + encoded
    else:
        where = " inside a tuple key (tuples do not nest)" if in_tuple else ""
        msg = (
            "a key part must be str, int, bytes or a tuple of those, got "
            f"{short_repr(part)} of type {type(part).__name__}{where}; convert it to a string "
            "that identifies the request"
        )
        raise InvalidArgument(msg)
    return tag + len(raw).to_bytes(4, "little") + raw


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """An experiment seed as a record stores it: None or an int of at most MAX_INT_DIGITS digits.

    numpy ints become plain ints; bools, floats and strs are refused by name.
    """
    if seed is None:
        return None
    if type(seed) is int and -_PLAIN_INT < seed < _PLAIN_INT:
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        return _bounded_int(name, int(seed))
    msg = f"`{name}` must be an int or None, got {short_repr(seed)} of type {type(seed).__name__}"
    raise InvalidArgument(msg)


def key_digest(seed: int | None, *key: Any) -> bytes:
    """The 32-byte BLAKE2b digest of the canonical encoding of ``(seed, *key)``.

    Parameters
    ----------
    seed
        The experiment seed (a salt): different experiments give independent randomness to the
        same request. ``None`` is encoded distinctly from every integer.
    *key
        The request key, one or more parts, each str, int, bytes or a (non-nested) tuple of
        those, such as ``(user_id, request_id)``. A tuple is encoded as one part of its own:
        ``key_digest(s, ("u", "r"))`` differs from ``key_digest(s, "u", "r")`` and from
        ``key_digest(s, "u")``. Ints (numpy ints and IntEnums by value) may have up to
        :data:`MAX_INT_DIGITS` digits; strings are UTF-8, a lone surrogate by its code point.

    Examples
    --------
    >>> key_digest(7, "request-42").hex()[:16]
    '5a642cca41aaf5a3'
    >>> key_digest(7, ("user-1", "request-42")).hex()[:16]
    '93e5f0d5c0a47668'
    """
    if seed is None:
        head = b"n"
    elif type(seed) is int:
        head = _encode_seed(seed)
    elif isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        msg = f"`seed` must be an int or None, got {short_repr(seed)} of type {type(seed).__name__}"
        raise InvalidArgument(msg)
    else:
        head = _encode_seed(int(seed))
    if len(key) == 1:  # the per-request hot path: one key part
        if _compiled_key_digest is not None:
            digest = _compiled_key_digest(ENCODING_VERSION + head, key[0])
            if digest is not None:
                return digest
        return hashlib.blake2b(
            ENCODING_VERSION + head + _encode_part(key[0]), digest_size=32
        ).digest()
    return hashlib.blake2b(
        b"".join((ENCODING_VERSION, head, *map(_encode_part, key))), digest_size=32
    ).digest()


@functools.lru_cache(maxsize=256)
def _encode_seed(seed: int) -> bytes:
    # An experiment has one seed and serves millions of requests: encode it once.
    return _encode_part(seed, name="`seed`")


def _bounded_int(name: str, value: int) -> int:
    if not -_INT_BOUND < value < _INT_BOUND:
        msg = (
            f"`{name}` may have at most {MAX_INT_DIGITS} decimal digits, got "
            f"{short_repr(value)}; pass an id that long as a str"
        )
        raise InvalidArgument(msg)
    return value


def check_request_key(key: Any, name: str = "key") -> str | int | tuple:
    """A request key as a record stores it: str, int, or a non-empty tuple of str and int.

    numpy ints and IntEnums become plain ints (so the record is JSON-able); bools, floats,
    bytes, lists and nested tuples are refused by name, and so are ints of more than
    :data:`MAX_INT_DIGITS` digits. Used on the per-request path and by
    :meth:`interleave.ranking.Interleaving.from_dict`.
    """
    if type(key) is str:
        return key
    if type(key) is int:
        return key if -_PLAIN_INT < key < _PLAIN_INT else _bounded_int(name, key)
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return _bounded_int(name, int(key))
    if type(key) is tuple and key:
        parts = []
        for index, part in enumerate(key):
            if type(part) is str:
                parts.append(part)
            elif isinstance(part, str):
                parts.append(str.__str__(part))
            elif isinstance(part, (int, np.integer)) and not isinstance(part, (bool, np.bool_)):
                parts.append(_bounded_int(f"{name}[{index}]", int(part)))
            else:
                msg = (
                    f"`{name}[{index}]` must be a str or int, got {short_repr(part)} of type "
                    f"{type(part).__name__}; a tuple key holds ids such as (user_id, request_id)"
                )
                raise InvalidArgument(msg)
        return tuple(parts)
    msg = (
        f"`{name}` must be a str or int request key, got {short_repr(key)} of type "
        f"{type(key).__name__}; a non-empty tuple of them such as (user_id, request_id) works too"
    )
    raise InvalidArgument(msg)


def digest_uniforms(digest: bytes, n: int) -> list[float]:
    """``n`` independent uniforms in [0, 1) from a digest, by BLAKE2b in counter mode.

    Each 64-byte block (``blake2b(digest, counter)``) yields 8 doubles of 53 bits each. At most
    :data:`MAX_DRAWS` per call: a bound checked before any work.
    """
    if type(digest) is not bytes or type(n) is not int or not 0 <= n <= MAX_DRAWS:
        _check_uniform_request(digest, n)
    if 0 < n <= 8:  # the per-request case (Optimized and Probabilistic draw a few): one block
        block = hashlib.blake2b(_FIRST_COUNTER, key=digest[:32]).digest()
        return [(word >> 11) * _UNIT for word in _EIGHT_U64.unpack(block)[:n]]
    out: list[float] = []
    counter = 0
    while len(out) < n:
        block = hashlib.blake2b(counter.to_bytes(8, "little"), key=digest[:32]).digest()
        out.extend((word >> 11) * _UNIT for word in _EIGHT_U64.unpack(block))
        counter += 1
    del out[n:]
    return out


@functools.lru_cache(maxsize=256)
def _key_head(seed: int | None) -> bytes:
    """What every key digest of ``seed`` starts with: the encoding version and the seed."""
    return ENCODING_VERSION + (b"n" if seed is None else _encode_seed(seed))


_FIRST_COUNTER = (0).to_bytes(8, "little")
_FIRST_U64 = struct.Struct("<Q")


def plain_key_uniforms(seed: int | None, key: str | int, n: int) -> list[float]:
    """``digest_uniforms(key_digest(seed, key), n)`` in one call, for ``1 <= n <= 8``.

    The per-request draw of Optimized, for a plain str or int ``key`` and an int or ``None``
    seed. Callers check the types (exact ``str``/``int`` key, exact ``int`` or ``None`` seed); the
    value checks (an int key's digit bound) are :func:`key_digest`'s own.
    """
    if _compiled_key_uniforms is not None:
        out = _compiled_key_uniforms(_key_head(seed), key, n)
        if out is not None:
            return out
    head = b"n" if seed is None else _encode_seed(seed)
    if type(key) is str:
        raw = _utf8(key)
        tag = b"s"
    else:
        raw = _int_text(key)
        tag = b"i"
    digest = hashlib.blake2b(
        b"".join((ENCODING_VERSION, head, tag, len(raw).to_bytes(4, "little"), raw)),
        digest_size=32,
    ).digest()
    block = hashlib.blake2b(_FIRST_COUNTER, key=digest).digest()
    if n == 1:
        return [(_FIRST_U64.unpack_from(block)[0] >> 11) * _UNIT]
    return [(word >> 11) * _UNIT for word in _EIGHT_U64.unpack(block)[:n]]


#: Most uniforms one digest hands out in a call (a list of 10**7 floats holds about 320 MB).
MAX_DRAWS = 10_000_000


def _check_uniform_request(digest: Any, n: Any) -> None:
    if not isinstance(digest, (bytes, bytearray)) or not 1 <= len(digest) <= 64:
        msg = (
            f"`digest` must be 1 to 64 bytes (a key_digest), got {short_repr(digest)} of type "
            f"{type(digest).__name__}"
        )
        raise InvalidArgument(msg)
    check_int("n", n, minimum=0, maximum=MAX_DRAWS)


def rng_for(seed: int | None, *key: Any) -> np.random.Generator:
    """A numpy ``Generator`` that depends only on ``(seed, *key)``.

    Use it to give each user, query or experiment its own stream in simulation: the stream of a
    user does not change when other users are added or the work is split across processes.
    ``rng_for(seed)`` with no key is allowed here (one stream per experiment); the per-request
    path of the interleavers refuses a seed without a request key.

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
            msg = f"`{name}` as an integer seed must be >= 0, got {short_repr(rng)}"
            raise InvalidArgument(msg)
        return np.random.default_rng(int(rng))
    msg = (
        f"`{name}` must be None, a non-negative int, a numpy SeedSequence or a numpy Generator, "
        f"got {short_repr(rng)} of type {type(rng).__name__}; legacy RandomState is not accepted, "
        "use numpy.random.default_rng(seed)"
    )
    raise InvalidArgument(msg)


def _md5_text(name: str, value: Any) -> bytes:
    if not isinstance(value, str):
        msg = (
            f"`{name}` must be a str (the subject's id as text), got {short_repr(value)} of type "
            f"{type(value).__name__}; convert it with str() first"
        )
        raise InvalidArgument(msg)
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as error:
        # Other languages' MD5 assignment (Eppo's SDKs) cannot agree on a lone surrogate's bytes.
        msg = (
            f"`{name}` is not valid Unicode: {error.reason} at index {error.start} of "
            f"{short_repr(value)}; decode the id with errors='replace' or fix its source"
        )
        raise InvalidArgument(msg) from None


#: The most buckets :func:`md5_bucket` can fill: it reads 32 bits of the digest.
MAX_BUCKETS = 2**32


def md5_bucket(subject: str, *, salt: str | None = None, n_buckets: int = 10_000) -> int:
    """Stateless hash bucket in ``range(n_buckets)``, Eppo's convention.

    ``int(md5(f"{salt}-{subject}").hexdigest()[:8], 16) % n_buckets`` (just ``subject`` when
    ``salt`` is None); the same subject always lands in the same bucket, in any process or language.
    ``n_buckets`` is in ``[1, MAX_BUCKETS]``: past 2**32 buckets the top ones could never be hit.

    Examples
    --------
    >>> md5_bucket("input", salt="test"), md5_bucket("alice")
    (5619, 3170)
    """
    n_buckets = check_int("n_buckets", n_buckets, minimum=1, maximum=MAX_BUCKETS)
    raw = _md5_text("subject", subject)
    if salt is not None:
        raw = _md5_text("salt", salt) + b"-" + raw
    return int(hashlib.md5(raw).hexdigest()[:8], 16) % n_buckets


def md5_order(subjects: Any) -> list[str]:
    """Subjects sorted by ``md5(subject).hexdigest()``: the seed document's canary ranking.

    Its canary takes the first ``max(1, int(len(users) * fraction))`` users of this order.

    Examples
    --------
    >>> md5_order(["user_0", "user_1", "user_2"])
    ['user_2', 'user_1', 'user_0']
    """
    if isinstance(subjects, (str, bytes)) or not isinstance(subjects, Iterable):
        msg = (
            f"`subjects` must be a list of str ids, got {short_repr(subjects)} of type "
            f"{type(subjects).__name__}"
        )
        raise InvalidArgument(msg)
    subjects = list(subjects)
    digests = [
        hashlib.md5(_md5_text(f"subjects[{index}]", subject)).hexdigest()
        for index, subject in enumerate(subjects)
    ]
    order = sorted(range(len(subjects)), key=digests.__getitem__)  # stable, as the seed's sort
    return [subjects[index] for index in order]
