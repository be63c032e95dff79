"""Small argument checkers shared by every module.

Each raises :class:`InvalidArgument` with a message that names the argument, shows the value and
says what would be accepted.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from interleave.errors import InvalidArgument


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int, or raise naming ``name`` (bools are not ints here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"`{name}` must be an integer, got {short_repr(value)} of type {type(value).__name__}"
        raise InvalidArgument(msg)
    value = int(value)
    if minimum is not None and value < minimum:
        msg = f"`{name}` must be >= {minimum}, got {short_repr(value)}"
        raise InvalidArgument(msg)
    if maximum is not None and value > maximum:
        msg = f"`{name}` must be <= {maximum}, got {short_repr(value)}"
        raise InvalidArgument(msg)
    return value


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float inside the given bounds, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = (
            f"`{name}` must be a real number, got {short_repr(value)} of type "
            f"{type(value).__name__}"
        )
        raise InvalidArgument(msg)
    try:
        value = float(value)
    except OverflowError:  # an int past the float range (e.g. 10**400)
        msg = f"`{name}` must be finite, got {short_repr(value)}, beyond the float range"
        raise InvalidArgument(msg) from None
    if not math.isfinite(value):
        msg = f"`{name}` must be finite, got {short_repr(value)}"
        raise InvalidArgument(msg)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        msg = f"`{name}` must be in {left}{lo}, {hi}{right}, got {short_repr(value)}"
        raise InvalidArgument(msg)
    return value


def check_probability(name: str, value: Any) -> float:
    """A probability in [0, 1]."""
    return check_real(name, value, low=0.0, high=1.0)


def check_alpha(name: str, value: Any) -> float:
    """A significance level (or error rate) strictly inside (0, 1)."""
    return check_real(name, value, low=0.0, high=1.0, low_open=True, high_open=True)


def check_one_of(name: str, value: Any, options: Iterable[Any]) -> Any:
    """``value`` must be one of ``options``; the message lists them.

    Returns the matching option itself. Only a value of an option's type matches, so a numpy
    array or a look-alike object is refused instead of compared elementwise.
    """
    options = tuple(options)
    for option in options:
        if isinstance(value, type(option)) and value == option:
            return option
    shown = "{" + ", ".join(repr(o) for o in options) + "}"
    msg = f"`{name}` must be one of {shown}, got {short_repr(value)}"
    raise InvalidArgument(msg)


def short_repr(value: Any, limit: int = 120) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about hostile input.

    Never raises: a value whose repr fails (an int past Python's int-to-str digit limit, a broken
    ``__repr__``) is described by its type instead.
    """
    try:
        text = repr(value)
    except Exception:  # the message must not fail while reporting another failure
        if isinstance(value, int):
            return f"<int of {value.bit_length()} bits>"
        return f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 4] + " ..."
