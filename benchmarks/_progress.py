"""One progress bar for every suite: ``for x in progress(items, "fidelity: queries"): ...``.

On a terminal the bar redraws in place on stderr (at most ten times a second); into a file or a
CI log it writes a line at each tenth of the work, so a log shows progress without flooding. It
writes only to stderr: stdout keeps the results tables.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

_WIDTH = 24
_REDRAW_SECONDS = 0.1


class Progress:
    """Counts finished units of ``total`` and shows the count, the elapsed time and an estimate.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress("demo", 4, stream=out) as bar:
    ...     for _ in range(4):
    ...         bar.advance()
    >>> out.getvalue().splitlines()[-1].startswith("demo [########################] 4/4")
    True
    """

    def __init__(self, label: str, total: int | None, *, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total if total is None or total >= 0 else 0
        self.done = 0
        self._stream = sys.stderr if stream is None else stream
        self._live = bool(getattr(self._stream, "isatty", lambda: False)())
        self._start = time.perf_counter()
        self._last_draw = -1.0
        self._last_tenth = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def advance(self, n: int = 1) -> None:
        """Mark ``n`` more units done."""
        self.done += n
        now = time.perf_counter()
        if self._live:
            if now - self._last_draw >= _REDRAW_SECONDS:
                self._last_draw = now
                self._stream.write("\r" + self.line())
                self._stream.flush()
        elif self.total:
            tenth = 10 * self.done // self.total
            if tenth > self._last_tenth and tenth < 10:
                self._last_tenth = tenth
                self._stream.write(self.line() + "\n")
                self._stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._stream.write(("\r" if self._live else "") + self.line() + "\n")
        self._stream.flush()

    def line(self) -> str:
        """The bar as text: label, bar, count, elapsed time, time left when it can be estimated."""
        elapsed = time.perf_counter() - self._start
        if not self.total:
            return f"{self.label} {self.done} done {elapsed:.1f} s"
        share = min(1.0, self.done / self.total)
        filled = round(share * _WIDTH)
        text = f"{self.label} [{'#' * filled}{'.' * (_WIDTH - filled)}] {self.done}/{self.total}"
        text += f" {elapsed:.1f} s"
        if 0 < self.done < self.total:
            text += f", ~{elapsed * (self.total - self.done) / self.done:.0f} s left"
        return text


def progress(
    items: Iterable[T], label: str, *, total: int | None = None, stream: TextIO | None = None
) -> Iterator[T]:
    """Yield ``items`` while a :class:`Progress` bar counts them (``total`` from ``len`` if any).

    Examples
    --------
    >>> import io
    >>> list(progress([1, 2, 3], "x", stream=io.StringIO()))
    [1, 2, 3]
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(label, total, stream=stream) as bar:
        for item in items:
            yield item
            bar.advance()
