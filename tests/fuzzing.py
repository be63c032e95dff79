"""The fuzz rule: only the library's own errors escape, in bounded time and memory.

``call_bounded(fn, *args, **kwargs)`` runs one call of a public entry point on hostile input and
fails the test when the call

- raises anything that is not an :class:`interleave.errors.InterleaveError` (a raw TypeError,
  IndexError, ZeroDivisionError, MemoryError, polars or numpy error escaping is a finding);
- runs longer than ``max_seconds`` (a hang: SIGALRM interrupts it, main thread only);
- allocates more than ``max_extra_bytes`` beyond what the process holds when it starts (the address
  space limit turns an unbounded allocation into a MemoryError, which is then a finding).

It returns ``("ok", value)`` or ``("error", exception)`` so a case can also check that a wrong
answer is not accepted (for example that an error names the argument).
"""

from __future__ import annotations

import contextlib
import resource
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from interleave.errors import InterleaveError

__all__ = ["bounded", "call_bounded"]


class _Hang(BaseException):
    """Raised by the alarm inside a call that ran past its time bound (BaseException: no
    library ``except Exception`` may swallow it)."""


def _current_vm_bytes() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    return pages * resource.getpagesize()


@contextlib.contextmanager
def bounded(max_seconds: float = 5.0, max_extra_bytes: int = 2 << 30) -> Iterator[None]:
    """Run the body under a wall-clock alarm and an address-space limit (restored afterwards)."""
    in_main = threading.current_thread() is threading.main_thread()
    old_limit = resource.getrlimit(resource.RLIMIT_AS)
    soft = _current_vm_bytes() + max_extra_bytes
    if old_limit[1] != resource.RLIM_INFINITY:
        soft = min(soft, old_limit[1])
    resource.setrlimit(resource.RLIMIT_AS, (soft, old_limit[1]))

    def _alarm(signum: int, frame: Any) -> None:
        raise _Hang

    old_handler = signal.signal(signal.SIGALRM, _alarm) if in_main else None
    if in_main:
        signal.setitimer(signal.ITIMER_REAL, max_seconds)
    try:
        yield
    except _Hang:
        pytest.fail(f"call did not return within {max_seconds} s (a hang)")
    finally:
        if in_main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
        resource.setrlimit(resource.RLIMIT_AS, old_limit)


def call_bounded(
    fn: Callable[..., Any],
    *args: Any,
    max_seconds: float = 5.0,
    max_extra_bytes: int = 2 << 30,
    **kwargs: Any,
) -> tuple[str, Any]:
    """Call ``fn(*args, **kwargs)``; fail the test unless it returns or raises our own error."""
    try:
        with bounded(max_seconds, max_extra_bytes):
            value = fn(*args, **kwargs)
    except InterleaveError as error:
        return "error", error
    except MemoryError:
        pytest.fail(
            f"{getattr(fn, '__qualname__', fn)} allocated past {max_extra_bytes / 2**30:.1f} GiB "
            "without checking a bound first"
        )
    except Exception as error:  # the point: any other error is a finding
        pytest.fail(
            f"{getattr(fn, '__qualname__', fn)} let a raw {type(error).__name__} escape: {error}"
        )
    return "ok", value
