"""What every interleaving method shares: configuration in the constructor, data in the calls.

``method.interleave(rankings, key=..., seed=...)`` merges the rankings into one shown list (an
:class:`~interleave.ranking.Interleaving`); ``method.credit(interleaving, clicks)`` turns the
clicks on it into a :class:`~interleave.credit.Credit`. The batch pair ``interleave_batch`` /
``credit_batch`` does the same for many impressions with numpy arrays: ``interleave_batch`` for
many impressions of the same rankings (simulation), ``credit_batch`` also for an
:class:`~interleave.batch.InterleavingBatch` of logged records that each had their own rankings.

A method whose ``resolve_length`` is :meth:`Interleaver.bounded_length` (TeamDraft, Balanced)
works in proportion to the items the rankings hold, never to ``length`` alone: ``length=10**18``
fills at most ``sum(len(r) for r in rankings)`` positions and draws for no more.

Randomness
----------
Each call's randomness comes from exactly one of:

- ``key`` (and ``seed``): a pure function of BLAKE2b(seed, key), the same in every process and
  thread, and no numpy Generator is built (that alone would cost ~10 us);
- ``rng``: a numpy Generator (simulation). A method draws a fixed number of ``rng.random()``
  values per call that depends only on the list length and the number of rankers, so
  ``interleave_batch(..., n, rng=g)`` equals ``n`` successive ``interleave(..., rng=g)`` calls
  on a generator in the same state;
- neither: fresh OS entropy (never a fixed default seed).

Methods hold no mutable state, so one instance can serve every thread of a live API.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from itertools import repeat
from typing import Any, ClassVar

import numpy as np

from interleave._checks import check_int, short_repr
from interleave.batch import InterleavingBatch
from interleave.credit import Credit, CreditBatch
from interleave.errors import InvalidArgument
from interleave.keys import as_generator, check_request_key, digest_uniforms, key_digest
from interleave.ranking import ABSENT, Interleaving, validate_rankings

__all__ = ["Interleaver", "Randomness"]


class Randomness:
    """The random draws of one call: from a key digest, or from a numpy Generator."""

    __slots__ = ("_bits", "_digest", "_rng")

    def __init__(
        self,
        digest: bytes | None,
        rng: np.random.Generator | None,
        bits: int | None = None,
    ) -> None:
        self._digest = digest
        self._rng = rng
        self._bits = bits

    @classmethod
    def from_coin_bits(cls, bits: int) -> Randomness:
        """Fixed coins (bit ``i`` is coin ``i``): lets a batch path replay a coin sequence."""
        return cls(None, None, bits)

    @classmethod
    def resolve(cls, key: Any, seed: Any, rng: Any) -> Randomness:
        """One source from the ``key``/``seed``/``rng`` arguments of ``interleave``.

        ``key`` is the request key: a str, an int or a tuple of them such as
        ``(user_id, request_id)`` (see :func:`interleave.keys.check_request_key`). A ``seed``
        without a ``key`` is refused: it would give every request the same list. ``rng`` (a
        Generator, for simulation) excludes both; none of the three draws fresh OS entropy.
        """
        if rng is not None:
            if key is not None or seed is not None:
                msg = (
                    f"pass either `key`/`seed` (deterministic per request) or `rng` (simulation), "
                    f"not both; got key={key!r}, seed={seed!r} and an rng"
                )
                raise InvalidArgument(msg)
            return cls(None, as_generator(rng))
        if key is None:
            if seed is None:
                return cls(os.urandom(32), None)
            # A seed alone is one fixed coin sequence: every request would get the same list.
            msg = (
                f"`seed`={short_repr(seed)} was given without `key`, so every request would get "
                "the same list; pass the request key too, e.g. interleave(rankings, "
                "key=request_id, seed=seed) or key=(user_id, request_id), or pass rng= for "
                "simulation"
            )
            raise InvalidArgument(msg)
        kind = type(key)
        if kind is not str and kind is not int:
            check_request_key(key)
        return cls(key_digest(seed, key), None)

    def coin_bits(self, n: int) -> int:
        """``n`` fair coins packed in an int: coin ``i`` is ``(bits >> i) & 1``.

        From a Generator, coin ``i`` is ``rng.random(n)[i] < 0.5``; from a key, the digest's
        256 bits, extended in counter mode past 256 coins.
        """
        if self._rng is not None:
            coins = self._rng.random(n) < 0.5
            return int.from_bytes(np.packbits(coins, bitorder="little").tobytes(), "little")
        if self._bits is not None:
            return self._bits & ((1 << n) - 1)
        bits = int.from_bytes(self._digest, "little")
        if n > 256:
            extra = digest_uniforms(self._digest, n - 256)
            # Packed in one pass: summing shifted ints was quadratic (2 s for 10^5 coins).
            packed = np.packbits(np.array(extra) < 0.5, bitorder="little").tobytes()
            bits |= int.from_bytes(packed, "little") << 256
        return bits & ((1 << n) - 1)

    def uniforms(self, n: int) -> list[float]:
        """``n`` uniforms in [0, 1) (from a Generator: ``rng.random(n)``)."""
        if self._rng is not None:
            return self._rng.random(n).tolist()
        if self._digest is None:
            msg = "fixed coin bits hold no uniforms; this method draws uniforms"
            raise InvalidArgument(msg)
        return digest_uniforms(self._digest, n)


_compiled_click_positions = None
with contextlib.suppress(ImportError):
    from interleave._speedups import plain_click_positions as _compiled_click_positions


def click_positions(clicks: Any, n_shown: int) -> tuple[int, ...]:
    """Validate clicks given as positions (ints) or as a bool mask; return sorted positions."""
    if _compiled_click_positions is not None:  # the common case in C; None: not that case
        positions = _compiled_click_positions(clicks, n_shown)
        if positions is not None:
            return positions
    if type(clicks) is list or type(clicks) is tuple:
        # Hot path of a live API: a short list of int positions.
        kinds = set(map(type, clicks))
        if not kinds or kinds == {int}:
            positions = sorted(clicks)
            if not positions or (
                positions[0] >= 0
                and positions[-1] < n_shown
                and len(set(positions)) == len(positions)
            ):
                return tuple(positions)
    if isinstance(clicks, np.ndarray):
        if clicks.ndim != 1:
            msg = f"`clicks` must be one-dimensional, got an array of shape {clicks.shape}"
            raise InvalidArgument(msg)
        if clicks.dtype == bool:
            if clicks.shape[0] != n_shown:
                msg = (
                    f"`clicks` as a bool mask must have one entry per shown item ({n_shown}), "
                    f"got {clicks.shape[0]}"
                )
                raise InvalidArgument(msg)
            return tuple(np.flatnonzero(clicks).tolist())
        clicks = clicks.tolist()
    elif isinstance(clicks, (str, bytes)) or not isinstance(clicks, (Sequence, set, frozenset)):
        msg = f"`clicks` must be a list of clicked positions (0-based), got {short_repr(clicks)}"
        raise InvalidArgument(msg)
    elif type(clicks) is not list and type(clicks) is not tuple:
        # A lazy sequence (a range, say) is sized before it is built: a mask has one entry per
        # shown item and distinct positions are at most as many.
        try:
            size = len(clicks)
        except OverflowError:  # more than sys.maxsize entries
            size = None
        if size is None or size > n_shown:
            msg = (
                f"`clicks` holds {'more than 2**63' if size is None else size} entries, more "
                f"than the {n_shown} shown items; give each clicked position once"
            )
            raise InvalidArgument(msg)
    clicks = list(clicks)
    if clicks and all(isinstance(c, (bool, np.bool_)) for c in clicks):
        if len(clicks) != n_shown:
            msg = (
                f"`clicks` as a bool mask must have one entry per shown item ({n_shown}), "
                f"got {len(clicks)}"
            )
            raise InvalidArgument(msg)
        return tuple(i for i, c in enumerate(clicks) if c)
    for c in clicks:
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)):
            msg = (
                f"`clicks` must hold int positions, got {short_repr(c)} of type "
                f"{type(c).__name__} in {short_repr(clicks)}"
            )
            raise InvalidArgument(msg)
        if not 0 <= c < n_shown:
            msg = (
                f"`clicks` holds the position {short_repr(c)}, outside the {n_shown} shown items "
                f"(valid: 0..{n_shown - 1})"
            )
            raise InvalidArgument(msg)
    positions = sorted(int(c) for c in clicks)
    if len(set(positions)) != len(positions):
        msg = f"`clicks` repeats a position: {short_repr(clicks)}; give each clicked position once"
        raise InvalidArgument(msg)
    return tuple(positions)


class Interleaver(ABC):
    """Base of the interleaving methods.

    Parameters
    ----------
    length
        Number of items to show. ``None`` means the length of the longest input ranking
        (mpkato uses the longest too; Lerot the shortest; some papers the sum). The shown list
        is shorter when the rankings together hold fewer distinct items.
    """

    #: Method name stored in every :class:`Interleaving` it makes.
    name: ClassVar[str]
    #: Largest number of rankings the method compares (``None``: any number >= 2).
    max_rankers: ClassVar[int | None] = 2
    #: What ``credit_batch`` reads from a batch; a batch built from columns without one of them
    #: is refused naming it. The default is every field; methods that read less say so.
    credit_reads: ClassVar[tuple[str, ...]] = ("teams", "ranks", "ranking_lengths")
    #: Largest ``n_impressions * length`` that ``interleave_batch`` builds in one call, checked
    #: before allocating (about 15 bytes per cell at the peak: 5 * 10**7 cells is ~750 MB).
    #: Split bigger simulations into chunks, or raise it on a subclass or an instance.
    max_batch_cells: int = 5 * 10**7

    def __init__(self, length: int | None = None) -> None:
        self.length = None if length is None else check_int("length", length, minimum=1)

    # -- configuration ---------------------------------------------------------------------------

    def params(self) -> tuple[tuple[str, Any], ...]:
        """The configuration that decides credit, as sorted ``(name, value)`` pairs (JSON-able)."""
        return (("length", self.length),)

    def __setattr__(self, name: str, value: Any) -> None:
        # Any attribute set may change the configuration: drop the memo of params().
        object.__setattr__(self, name, value)
        self.__dict__.pop("_params_memo", None)

    def _params(self) -> tuple[tuple[str, Any], ...]:
        """:meth:`params`, memoised until an attribute is set (the per-request paths read it)."""
        memo = self.__dict__.get("_params_memo")
        if memo is None:
            memo = self.__dict__["_params_memo"] = self.params()
        return memo

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self.params())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.params() == self.params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.params()))

    def resolve_length(self, lists: Sequence[Sequence]) -> int:
        """The number of positions to fill for these rankings."""
        return self.length if self.length is not None else max(map(len, lists))

    def bounded_length(self, lists: Sequence[Sequence]) -> int:
        """:meth:`resolve_length`, but never more than the rankings hold together.

        Positions past the union of the rankings can never be filled; bounding by the sum of
        their lengths (a cheap bound on the union) keeps ``length=10**18`` from costing anything.
        Methods whose work and draws follow this bound return it from ``resolve_length``.
        """
        if self.length is None:
            return max(map(len, lists))
        total = sum(map(len, lists))
        return self.length if self.length < total else total

    # -- per request -----------------------------------------------------------------------------

    def interleave(
        self,
        rankings: Sequence[Sequence],
        *,
        key: str | int | None = None,
        seed: int | None = None,
        rng: Any = None,
    ) -> Interleaving:
        """Merge ``rankings`` (best first) into one list to show.

        Parameters
        ----------
        rankings
            Two (or, for multileaving methods, more) rankings of int or str item ids.
        key, seed
            Request key and experiment seed: the output is a pure function of them.
        rng
            A numpy Generator (or seed) for simulation, instead of ``key``/``seed``.
        """
        lists, positions = validate_rankings(rankings, max_rankers=self.max_rankers)
        draws = Randomness.resolve(key, seed, rng)
        items, teams = self._merge(lists, positions, self.resolve_length(lists), draws)
        # The per-request hot path: positional fields, ranks by C-level maps (map stops at the
        # end of `items`, so an endless repeat of ABSENT serves every row).
        if len(positions) == 2:
            first, second = positions
            ranks = (
                tuple(map(first.get, items, repeat(ABSENT))),
                tuple(map(second.get, items, repeat(ABSENT))),
            )
        else:
            ranks = tuple(tuple(map(p.get, items, repeat(ABSENT))) for p in positions)
        return Interleaving(
            self.name,
            tuple(items),
            tuple(teams),
            ranks,
            tuple(map(len, lists)),
            self._params(),
            key,
            seed,
        )

    def _plain_pair(
        self, rankings: Any, key: Any, seed: Any, rng: Any
    ) -> tuple[list, list, int] | None:
        """``(a, b, length)`` when a request may take a fused two-list path, else ``None``.

        That is two plain lists with a str or int key, an int (or no) seed and no ``rng``; the
        fused function still declines ids it does not handle (see :mod:`interleave._fused`).
        """
        if (
            rng is None
            and (type(key) is str or type(key) is int)
            and (type(seed) is int or seed is None)
            and (type(rankings) is list or type(rankings) is tuple)
            and len(rankings) == 2
        ):
            a, b = rankings
            if type(a) is list and type(b) is list:
                na, nb = len(a), len(b)
                length = self.length
                length = (na if na > nb else nb) if length is None else min(length, na + nb)
                return a, b, length
        return None

    def _fused_record(
        self, merged: tuple[tuple, tuple, tuple, tuple], a: list, b: list, key: Any, seed: Any
    ) -> Interleaving:
        """The record of a fused path's ``(items, teams, ranks_a, ranks_b)``."""
        items, teams, ranks_a, ranks_b = merged
        return Interleaving._from_checked_parts(
            self.name, items, teams, (ranks_a, ranks_b), (len(a), len(b)), self._params(), key, seed
        )

    @abstractmethod
    def _merge(
        self,
        lists: list[list],
        positions: list[dict],
        length: int,
        draws: Randomness,
    ) -> tuple[list, list[int]]:
        """The shown items and their teams; must draw a fixed number of values from ``draws``."""

    def credit(self, interleaving: Interleaving, clicks: Any) -> Credit:
        """Credit the rankers for ``clicks`` on ``interleaving``.

        Parameters
        ----------
        interleaving
            A record made by this method (with the same configuration).
        clicks
            Clicked positions in ``interleaving.items`` (0-based, each at most once), or a bool
            mask with one entry per shown item.
        """
        self._check_record(interleaving)
        positions = click_positions(clicks, len(interleaving.items))
        try:
            return self._credit(interleaving, positions)
        except (IndexError, KeyError, TypeError):
            # A hand-built record (e.g. teams=(7, 0)): name what is inconsistent.
            interleaving.check()
            raise

    @abstractmethod
    def _credit(self, interleaving: Interleaving, clicks: tuple[int, ...]) -> Credit:
        """Credit for validated, sorted click positions."""

    def _check_record(self, interleaving: Any) -> None:
        if not isinstance(interleaving, Interleaving):
            msg = (
                f"`interleaving` must be an Interleaving (see Interleaving.from_dict for logged "
                f"records), got {type(interleaving).__name__}"
            )
            raise InvalidArgument(msg)
        if interleaving.method != self.name:
            msg = (
                f"`interleaving` was made by {interleaving.method!r} but is credited by "
                f"{self.name!r}; credit it with the method that made it"
            )
            raise InvalidArgument(msg)
        if interleaving.params != self.params():
            msg = (
                f"`interleaving` was made with {dict(interleaving.params)} but this {self.name} "
                f"is configured with {dict(self.params())}; credit it with the same configuration"
            )
            raise InvalidArgument(msg)
        if self.max_rankers is not None and interleaving.n_rankers > self.max_rankers:
            msg = (
                f"`interleaving` compares {interleaving.n_rankers} rankers; {self.name} "
                f"compares {self.max_rankers}"
            )
            raise InvalidArgument(msg)

    # -- batch -----------------------------------------------------------------------------------

    def interleave_batch(
        self,
        rankings: Sequence[Sequence],
        n_impressions: int,
        *,
        rng: Any = None,
    ) -> InterleavingBatch:
        """Interleave the same rankings ``n_impressions`` times (for simulation).

        Gives the same lists as ``n_impressions`` successive ``interleave(rankings, rng=rng)``
        calls on a generator in the same state. Methods with a vectorised path override this
        loop.
        """
        lists, _ = validate_rankings(rankings, max_rankers=self.max_rankers)
        length = self.resolve_length(lists)
        n_impressions = self._check_n_impressions(n_impressions, length)
        generator = as_generator(rng)
        records = [self.interleave(rankings, rng=generator) for _ in range(n_impressions)]
        return InterleavingBatch.from_shared_rankings(
            self.name, self.params(), lists, records, length
        )

    def _check_n_impressions(self, n_impressions: Any, length: int) -> int:
        """``n_impressions`` as an int, checked against ``max_batch_cells`` before allocating."""
        n = check_int("n_impressions", n_impressions, minimum=0)
        if n * length > self.max_batch_cells:
            msg = (
                f"`n_impressions` = {n} of {length} positions is {n * length} cells, over "
                f"max_batch_cells = {self.max_batch_cells}; interleave at most "
                f"{self.max_batch_cells // max(length, 1)} impressions per call (split the "
                "simulation into chunks) or raise `max_batch_cells`"
            )
            raise InvalidArgument(msg)
        return n

    def credit_batch(self, batch: InterleavingBatch, clicks: Any) -> CreditBatch:
        """Credit many impressions: ``clicks`` is a bool array (n_impressions, length).

        ``batch`` comes from :meth:`interleave_batch` (shared rankings) or from
        :meth:`InterleavingBatch.from_records` / :meth:`~InterleavingBatch.from_columns` (a log,
        each impression with its own rankings); either way row ``i`` of the result equals
        ``credit(batch[i], clicks[i])``. Methods with a vectorised path override this loop.
        """
        clicks = self._check_batch(batch, clicks)
        credits = [
            self._credit(batch[i], tuple(np.flatnonzero(clicks[i]).tolist()))
            for i in range(len(batch))
        ]
        k = batch.n_rankers
        scores = np.array([c.scores for c in credits], dtype=float).reshape(len(batch), k)
        preferences = np.array([c.preferences for c in credits], dtype=float).reshape(
            len(batch), k, k
        )
        return CreditBatch(self.name, scores, preferences)

    def _check_batch(self, batch: Any, clicks: Any) -> np.ndarray:
        if not isinstance(batch, InterleavingBatch):
            msg = (
                "`batch` must be an InterleavingBatch (from interleave_batch, "
                f"InterleavingBatch.from_records or from_columns), got {type(batch).__name__}"
            )
            raise InvalidArgument(msg)
        if batch.method != self.name or batch.params != self.params():
            msg = (
                f"`batch` was made by {batch.method!r} with {dict(batch.params)}, not by this "
                f"{self.name} with {dict(self.params())}"
            )
            raise InvalidArgument(msg)
        missing = [name for name in self.credit_reads if getattr(batch, name) is None]
        if missing:
            msg = (
                f"{self.name} credit reads {' and '.join(missing)}, which this batch lacks; pass "
                f"{', '.join(f'{name}=...' for name in missing)} to InterleavingBatch.from_columns"
            )
            raise InvalidArgument(msg)
        if self.max_rankers is not None and batch.n_rankers > self.max_rankers:
            msg = (
                f"`batch` compares {batch.n_rankers} rankers; {self.name} compares "
                f"{self.max_rankers}"
            )
            raise InvalidArgument(msg)
        try:
            clicks = np.asarray(clicks)
        except (TypeError, ValueError) as error:
            msg = f"`clicks` must be a bool array of shape {batch.shape}: {error}"
            raise InvalidArgument(msg) from None
        if clicks.dtype != bool or clicks.shape != batch.shape:
            msg = (
                f"`clicks` must be a bool array of shape {batch.shape} (impressions x "
                f"positions), got dtype {clicks.dtype} and shape {clicks.shape}"
            )
            raise InvalidArgument(msg)
        if np.any(clicks & ~batch.shown):
            row = int(np.argwhere(clicks & ~batch.shown)[0, 0])
            msg = (
                f"`clicks` has a click on a position that shows no item (impression {row} shows "
                f"{int(batch.n_shown[row])}; the list was shorter)"
            )
            raise InvalidArgument(msg)
        return clicks
