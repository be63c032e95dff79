"""A population of simulated users: heavy-tailed activity and per-user click propensity.

Identical simulated users make every test look too easy for A/B on per-user metrics: real users
differ in how often they search and in how readily they click, and that between-user variance
is the reason interleaving (a within-user comparison) needs far fewer users than A/B (Chapelle
et al. TOIS 2012). A :class:`UserPopulation` adds both kinds of variation to any click model:

- **activity**: user u makes a share ``activity[u]`` of the requests, with weights drawn
  log-normal, ``exp(activity_sigma * Z)``, normalised. The default ``activity_sigma = 1.5``
  gives a heavy tail: the 1% most active users make about 20% of the requests and the median
  user makes about a third of the mean user's requests (for a log-normal, the share of the top
  fraction q is ``1 - Phi(Phi^-1(1 - q) - sigma)``). A log-normal rather than a Zipf law keeps
  every moment finite, so per-user averages stay well behaved at any population size.
- **propensity**: a multiplier ``propensity[u] = exp(s Z - s**2 / 2)`` with
  ``s = propensity_sigma`` (mean 1) of the model's click-given-examination probability
  (attractiveness, or ``p_click`` for the cascade), clipped to [0, 1]. The default
  ``propensity_sigma = 0.5`` makes the middle two-thirds of users click between about 0.5x and
  1.4x as readily as the average user.

Same ``rng`` seed, same population; draws of users and clicks take their own ``rng``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from interleave._checks import check_int, check_real
from interleave.clicks import limits
from interleave.clicks._base import ClickModel, as_array
from interleave.errors import InvalidArgument
from interleave.keys import as_generator

__all__ = ["UserPopulation"]


@dataclass(frozen=True, eq=False)
class UserPopulation:
    """Simulated users with heavy-tailed activity and per-user click propensity.

    Attributes
    ----------
    activity
        Share of the requests made by each user, shape (n_users,), sums to 1.
    propensity
        Multiplier of each user's click probability given examination, shape (n_users,).
    activity_sigma, propensity_sigma
        The log-normal spreads the population was drawn with.

    Examples
    --------
    >>> import numpy as np
    >>> from interleave.clicks import CascadeModel
    >>> users = UserPopulation.sample(1_000, rng=1)
    >>> who = users.draw_users(5, rng=2)
    >>> relevance = np.array([2, 0, 1, 0, 0])
    >>> navigational = CascadeModel.preset("navigational", grades=3)
    >>> clicks = users.simulate(navigational, who, relevance, rng=3)
    >>> clicks.shape
    (5, 5)
    """

    activity: np.ndarray
    propensity: np.ndarray
    activity_sigma: float
    propensity_sigma: float

    def __post_init__(self) -> None:
        # Built by hand as well as by `sample`: every field is checked once, arrays frozen.
        activity = _user_array("activity", self.activity)
        propensity = _user_array("propensity", self.propensity)
        if propensity.shape != activity.shape:
            msg = (
                f"`propensity` must have one entry per user like `activity` "
                f"({activity.shape[0]}), got {propensity.shape[0]}"
            )
            raise InvalidArgument(msg)
        if not np.isclose(activity.sum(), 1.0):
            msg = f"`activity` must sum to 1 (a share per user), got sum {activity.sum()!r}"
            raise InvalidArgument(msg)
        object.__setattr__(self, "activity", activity)
        object.__setattr__(self, "propensity", propensity)
        for name in ("activity_sigma", "propensity_sigma"):
            object.__setattr__(self, name, check_real(name, getattr(self, name), low=0.0))

    @classmethod
    def sample(
        cls,
        n_users: int,
        *,
        activity_sigma: float = 1.5,
        propensity_sigma: float = 0.5,
        rng: Any = None,
    ) -> UserPopulation:
        """Draw a population of ``n_users`` users (see the module docstring for the laws).

        Parameters
        ----------
        n_users
            Number of users, 1 .. ``limits.MAX_USERS`` (10^8).
        activity_sigma
            Log-normal spread of activity; 0 makes every user equally active.
        propensity_sigma
            Log-normal spread of click propensity, 0 .. ``limits.MAX_PROPENSITY_SIGMA`` (10); 0
            makes every user click alike.
        rng
            Seed or Generator; the same seed gives the same population.
        """
        n_users = check_int("n_users", n_users, minimum=1, maximum=limits.MAX_USERS)
        a_sigma = check_real("activity_sigma", activity_sigma, low=0.0)
        p_sigma = check_real(
            "propensity_sigma", propensity_sigma, low=0.0, high=limits.MAX_PROPENSITY_SIGMA
        )
        generator = as_generator(rng)
        z = generator.standard_normal((2, n_users))
        weights = np.exp(a_sigma * (z[0] - z[0].max()))  # shifted: no overflow for large sigma
        activity = weights / weights.sum()
        propensity = np.exp(p_sigma * z[1] - p_sigma**2 / 2.0)
        activity.flags.writeable = False
        propensity.flags.writeable = False
        return cls(activity, propensity, a_sigma, p_sigma)

    @property
    def n_users(self) -> int:
        """Number of users."""
        return len(self.activity)

    def draw_users(self, n_requests: int, *, rng: Any = None) -> np.ndarray:
        """Which user makes each of ``n_requests`` requests (int64 ids in ``range(n_users)``).

        Users are drawn independently with probability ``activity``; ``n_requests`` is at most
        ``limits.MAX_CELLS``.
        """
        n_requests = check_int("n_requests", n_requests, minimum=0, maximum=limits.MAX_CELLS)
        generator = as_generator(rng)
        cumulative = np.cumsum(self.activity)
        users = np.searchsorted(
            cumulative, generator.random(n_requests) * cumulative[-1], side="right"
        )
        return np.minimum(users, self.n_users - 1).astype(np.int64)

    def simulate(
        self,
        model: ClickModel,
        users: Any,
        relevance: Any = None,
        *,
        query: Any = None,
        items: Any = None,
        rng: Any = None,
    ) -> np.ndarray:
        """Clicks of the given users on their result lists, each user's propensity applied.

        Parameters
        ----------
        model
            Any click model; its click-given-examination probability is multiplied by the
            user's propensity and clipped to [0, 1].
        users
            User id of each impression, shape (n_impressions,).
        relevance, query, items
            The lists shown, as for ``model.simulate``; a single list (k,) is shown to every
            impression.
        rng
            Seed or Generator for the clicks.

        Returns
        -------
        numpy.ndarray
            Bool, shape (n_impressions, k).
        """
        if not isinstance(model, ClickModel):
            msg = (
                "`model` must be a click model (e.g. CascadeModel.preset(...)), "
                f"got {type(model).__name__}"
            )
            raise InvalidArgument(msg)
        ids = as_array("users", users, "a 1-D integer array of user ids")
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            msg = (
                "`users` must be a 1-D integer array of user ids, "
                f"got dtype {ids.dtype} and shape {ids.shape}"
            )
            raise InvalidArgument(msg)
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_users):
            low, high = int(ids.min()), int(ids.max())
            msg = f"`users` ids must be in range({self.n_users}), got {low}..{high}"
            raise InvalidArgument(msg)
        n = ids.shape[0]
        single = self._single_list(relevance, items, n)
        return model.simulate(
            relevance,
            query=query,
            items=items,
            n_impressions=n if single else None,
            propensity=self.propensity[ids],
            rng=rng,
        )

    @staticmethod
    def _single_list(relevance: Any, items: Any, n: int) -> bool:
        """Whether one list is shown to every user; else the lists must be one per user."""
        name = "relevance" if relevance is not None else "items"
        lists = relevance if relevance is not None else items
        if lists is None:
            return False  # the model names what is missing
        if isinstance(lists, pl.Series):
            rows = len(lists)
        else:
            shape = as_array(name, lists, "an array of shape (n_impressions, k) or (k,)").shape
            if len(shape) != 2:
                return len(shape) == 1
            rows = shape[0]
        if rows != n:
            msg = (
                f"`{name}` has {rows} lists but `users` has {n} entries; pass one list per user "
                "entry, or a single list (k,) shown to all"
            )
            raise InvalidArgument(msg)
        return False


def _user_array(name: str, value: Any) -> np.ndarray:
    """A read-only 1-D float array of finite, non-negative numbers, one per user."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        msg = f"`{name}` must be a 1-D array of numbers, one per user, got {value!r:.80}"
        raise InvalidArgument(msg) from None
    if arr.ndim != 1 or arr.size == 0 or arr.size > limits.MAX_USERS:
        msg = (
            f"`{name}` must be a 1-D array of 1 to {limits.MAX_USERS} numbers (one per user), "
            f"got shape {arr.shape}"
        )
        raise InvalidArgument(msg)
    bad = ~(np.isfinite(arr) & (arr >= 0.0))
    if bad.any():
        msg = f"`{name}` must be finite and >= 0 for every user, got {float(arr[bad][0])!r}"
        raise InvalidArgument(msg)
    if arr is value and arr.flags.writeable:
        arr = arr.copy()  # freeze our own copy, not the caller's array
    arr.flags.writeable = False
    return arr
