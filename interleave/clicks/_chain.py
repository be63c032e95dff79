"""The cascade family as one Markov chain: cascade, DBN, SDBN and DCM share this engine.

A user examines rank 1. At an examined rank r she clicks with probability ``a_r``
(attractiveness); then she examines rank r+1 with probability ``cont_click_r`` if she clicked and
``cont_skip_r`` if she did not; an unexamined rank is never clicked and ends the walk.

=================================  =========================  ====================
model                              ``cont_click``             ``cont_skip``
=================================  =========================  ====================
cascade, ``stop="after_click"``    ``1 - p_stop(grade)``      1
cascade, ``stop="every_rank"``     ``1 - p_stop(grade)``      ``1 - p_stop(grade)``
DBN (Chapelle & Zhang 2009)        ``gamma (1 - s_d)``        ``gamma``
SDBN                               ``1 - s_d``                1
DCM (Guo et al. 2009)              ``lambda_r``               1
=================================  =========================  ====================

Everything here is vectorised over sessions (rows) and loops only over the k ranks. Arguments
are arrays broadcastable to (n, k).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Rows simulated per chunk: keeps temporaries in cache and peak memory flat for 10^6+ rows.
CHUNK = 1 << 15


def _full(x: np.ndarray | float, shape: tuple[int, int]) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=np.float64), shape)


def probabilities(
    attr: np.ndarray, cont_click: np.ndarray | float, cont_skip: np.ndarray | float
) -> np.ndarray:
    """Unconditional ``P(C_r = 1)``: examination probability times attractiveness."""
    n, k = attr.shape
    cc, cs = _full(cont_click, (n, k)), _full(cont_skip, (n, k))
    out = np.empty((n, k))
    exam = np.ones(n)
    for r in range(k):
        a = attr[:, r]
        out[:, r] = exam * a
        exam = exam * (a * cc[:, r] + (1.0 - a) * cs[:, r])
    return out


def conditional(
    attr: np.ndarray,
    cont_click: np.ndarray | float,
    cont_skip: np.ndarray | float,
    clicks: np.ndarray,
) -> np.ndarray:
    """``P(C_r = c_r | C_<r = c_<r)`` for the observed clicks (the log-likelihood terms)."""
    n, k = attr.shape
    cc, cs = _full(cont_click, (n, k)), _full(cont_skip, (n, k))
    out = np.empty((n, k))
    exam = np.ones(n)  # P(E_r = 1 | C_<r)
    for r in range(k):
        a = attr[:, r]
        p_click = exam * a
        clicked = clicks[:, r]
        out[:, r] = np.where(clicked, p_click, 1.0 - p_click)
        # No click at r: Bayes on "not examined, or examined and not attracted".
        p_skip = 1.0 - p_click
        skipped = np.divide(exam * (1.0 - a), p_skip, out=np.zeros(n), where=p_skip > 0)
        exam = np.where(clicked, cc[:, r], skipped * cs[:, r])
    return out


def sample(
    thresholds: Callable[[slice], tuple[np.ndarray, np.ndarray, np.ndarray]],
    shape: tuple[int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw clicks with one uniform per (row, rank).

    ``thresholds(rows)`` returns, for those rows, ``(t_click, t_go_click, t_go_skip)`` with
    ``t_click = a``, ``t_go_click = a * cont_click`` and ``t_go_skip = 1 - (1 - a)(1 - cont_skip)``.
    A uniform ``u`` below ``a`` is a click; the click subinterval ``[0, a)`` continues below
    ``a * cont_click`` and the no-click subinterval ``[a, 1)`` continues below ``t_go_skip``,
    so click and continuation have the right joint law from a single draw. The form
    ``1 - (1 - a)(1 - c)`` is exactly 1 when ``c = 1``: a user who never stops never stops.
    """
    n, k = shape
    out = np.empty((n, k), dtype=bool)
    for start in range(0, n, CHUNK):
        rows = slice(start, min(n, start + CHUNK))
        t_click, t_go_click, t_go_skip = thresholds(rows)
        u = rng.random((rows.stop - rows.start, k))
        clicked = u < t_click
        goes_on = np.where(clicked, u < t_go_click, u < t_go_skip)
        block = out[rows]
        block[...] = clicked
        # Rank r is examined iff the user went on at every rank above it.
        block[:, 1:] &= np.logical_and.accumulate(goes_on[:, :-1], axis=1)
    return out


def simulate(
    attr: np.ndarray,
    cont_click: np.ndarray | float,
    cont_skip: np.ndarray | float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Clicks drawn from the chain with per-cell parameters (see :func:`sample`)."""
    shape = attr.shape
    cc, cs = _full(cont_click, shape), _full(cont_skip, shape)

    def thresholds(rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = attr[rows]
        return a, a * cc[rows], 1.0 - (1.0 - a) * (1.0 - cs[rows])

    return sample(thresholds, shape, rng)


@dataclass(frozen=True)
class Posterior:
    """What EM needs about the hidden examinations of each session, given all its clicks.

    ``exam[:, r] = P(E_r = 1 | C)``; ``tail[:, r] = P(C_r.. = 0 | E_r = 1)`` (``tail[:, k] = 1``);
    ``last`` = 0-based rank of the last click (-1 if none).
    """

    exam: np.ndarray
    tail: np.ndarray
    last: np.ndarray


def posterior(
    attr: np.ndarray,
    cont_click: np.ndarray | float,
    cont_skip: np.ndarray | float,
    clicks: np.ndarray,
) -> Posterior:
    """Exact posterior of examination given the clicks (a forward-backward pass).

    Every rank up to the last click was examined. Below it the user examined a run of ranks
    without clicking and then stopped; ``tail`` is the probability of seeing no click from rank r
    on given that r is examined, and the posterior of going on from rank r is
    ``cont tail[r+1] / ((1 - cont) + cont tail[r+1])``.
    """
    n, k = attr.shape
    cc, cs = _full(cont_click, (n, k)), _full(cont_skip, (n, k))
    tail = np.ones((n, k + 1))
    for r in range(k - 1, -1, -1):
        tail[:, r] = (1.0 - attr[:, r]) * ((1.0 - cs[:, r]) + cs[:, r] * tail[:, r + 1])
    last = np.where(clicks.any(axis=1), k - 1 - np.argmax(clicks[:, ::-1], axis=1), -1)
    exam = np.empty((n, k))
    exam[:, 0] = 1.0
    for r in range(1, k):
        go = np.where(last == r - 1, cc[:, r - 1], cs[:, r - 1])
        den = (1.0 - go) + go * tail[:, r]
        step = np.divide(go * tail[:, r], den, out=np.zeros(n), where=den > 0)
        exam[:, r] = np.where(r <= last, 1.0, exam[:, r - 1] * step)
    return Posterior(exam, tail, last)
