"""The exceptions and warnings of interleave.

One root, :class:`InterleaveError`; bad arguments raise :class:`InvalidArgument`, which is also a
``ValueError`` so that callers catching the builtin keep working (hypothesis ``errors.py`` does
the same). Suspicious but usable data warns with :class:`DataWarning`.
"""

from __future__ import annotations

__all__ = ["DataWarning", "InterleaveError", "InvalidArgument"]


class InterleaveError(Exception):
    """Root of every exception raised on purpose by interleave."""


class InvalidArgument(InterleaveError, ValueError):
    """An argument has a value the function cannot work with.

    The message names the argument, shows the value with ``!r`` and says how to fix it.
    """


class DataWarning(UserWarning):
    """Data that can be used but probably is not what the caller meant.

    Raised by :meth:`interleave.ranking.Interleaving.from_rankings` when a shown item is in none
    of the rankings (clicks on it credit nobody: the log and the rankings probably disagree).
    """
