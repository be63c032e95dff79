"""The size bounds of the click models, checked before anything is allocated.

A click model's work is sized by its arguments (``n_impressions`` lists to simulate, grades up to
the largest one seen when fitting by relevance, EM iterations, users in a population). A typo
such as ``n_impressions=10**12`` must fail at once with the numbers, not after minutes or with a
raw ``MemoryError``. Each bound is a module attribute read at call time, so a caller who really
needs more can raise it, e.g. ``interleave.clicks.limits.MAX_CELLS = 1 << 31``.

Examples
--------
>>> import numpy as np
>>> from interleave.clicks import CascadeModel
>>> from interleave.errors import InvalidArgument
>>> model = CascadeModel.preset("navigational", grades=3)
>>> try:
...     model.simulate(np.array([2, 0, 1]), n_impressions=10**12, rng=1)
... except InvalidArgument as error:
...     print(str(error)[:71])
`n_impressions` = 1000000000000 with 3 results each makes 3000000000000
"""

from __future__ import annotations

__all__ = [
    "MAX_CELLS",
    "MAX_GRADES",
    "MAX_ITERATIONS",
    "MAX_PROPENSITY_SIGMA",
    "MAX_USERS",
]

#: Result cells (impressions x ranks) one ``simulate``/``click_probabilities`` call may produce,
#: and requests one ``UserPopulation.draw_users`` call may draw: 2^28 is 256 MiB of clicks or
#: 2 GiB of float64 probabilities. Simulate more in batches.
MAX_CELLS = 1 << 28

#: Relevance grades a model fitted ``by="relevance"`` may have (grades 0 .. MAX_GRADES - 1): its
#: parameter tables have one row per grade up to the largest, so a grade of 10^12 would ask for
#: terabytes. Real scales have a handful of grades; map others onto 0..n-1 first.
MAX_GRADES = 1 << 16

#: EM iterations of a fit (PyClick's default is 50; convergence takes well under 1,000).
MAX_ITERATIONS = 100_000

#: Users in one ``UserPopulation`` (two float64 arrays of this length, 1.6 GB at the bound).
MAX_USERS = 100_000_000

#: Largest ``propensity_sigma`` of a ``UserPopulation``: the multiplier is
#: ``exp(s Z - s**2 / 2)``, which at s = 10 is below 1e-10 for 99.6% of users and for larger s
#: underflows to 0 (or overflows in ``s**2``), so the population would not click at all.
MAX_PROPENSITY_SIGMA = 10.0
