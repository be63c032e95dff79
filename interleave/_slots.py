"""Frozen slotted dataclasses built without ``__init__``, for the hot paths.

A method's record and credit, a sequential state and the sufficient statistics are rebuilt on
every request or update from parts that were just made and checked; ``__init__`` would check them
again and set each field through ``object.__setattr__`` by name. :func:`new_slotted` sets the
slots through their own descriptors instead (what that ``object.__setattr__`` ends in): in one
compiled call where ``interleave._speedups`` was built, else by the pure-Python loop below.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from typing import Any

__all__ = ["new_from_slots", "new_slotted", "python_new_slotted", "slots_of"]


def slots_of(cls: type, names: Iterable[str] | None = None) -> tuple[Any, ...]:
    """The slot descriptors of ``cls`` for ``names`` (default: ``cls.__slots__``), in order."""
    return tuple(cls.__dict__[name] for name in (cls.__slots__ if names is None else names))


def python_new_slotted(cls: type, setters: tuple[Any, ...], *values: Any) -> Any:
    """``object.__new__(cls)`` with ``setters[i].__set__(obj, values[i])``: the reference."""
    if len(setters) != len(values):
        msg = (
            "new_slotted(cls, setters, *values): a type, a tuple of slot descriptors and one "
            "value per descriptor"
        )
        raise TypeError(msg)
    obj = object.__new__(cls)
    for setter, value in zip(setters, values, strict=True):
        try:
            set_slot = setter.__set__
        except AttributeError:
            msg = f"new_slotted: {setter!r} is not a data descriptor"
            raise TypeError(msg) from None
        set_slot(obj, value)
    return obj


new_slotted = python_new_slotted
with contextlib.suppress(ImportError):
    from interleave._speedups import new_slotted


@functools.cache
def _own_slots(cls: type) -> tuple[Any, ...]:
    return slots_of(cls)


def new_from_slots(cls: type, *values: Any) -> Any:
    """:func:`new_slotted` with ``cls``'s own slots, in ``cls.__slots__`` order."""
    return new_slotted(cls, _own_slots(cls), *values)
