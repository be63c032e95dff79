"""The user population: seeded, heavy-tailed activity, and real between-user variance in clicks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from interleave.clicks import PBM, CascadeModel, DocumentCTR, UserPopulation
from interleave.errors import InvalidArgument

from ._helpers import sessions_frame

NAVIGATIONAL = CascadeModel.preset("navigational", grades=3)


def dispersion(
    users: np.ndarray, clicked: np.ndarray, n_users: int, minimum: int = 20
) -> tuple[float, int]:
    """Pearson dispersion of per-user click-through rates against identical users.

    For users with >= ``minimum`` impressions, sum over users of (CTR_u - p)^2 / (p(1-p)/n_u),
    divided by the number of users: the binomial variance you'd get if every user clicked with
    the pooled rate p is 1 on this scale. Returns (statistic, number of users).
    """
    n = np.bincount(users, minlength=n_users)
    hits = np.bincount(users, weights=clicked, minlength=n_users)
    keep = n >= minimum
    p = hits[keep].sum() / n[keep].sum()
    ctr = hits[keep] / n[keep]
    chi2 = np.sum((ctr - p) ** 2 / (p * (1 - p) / n[keep]))
    return chi2 / keep.sum(), int(keep.sum())


def test_the_same_seed_gives_the_same_population() -> None:
    first = UserPopulation.sample(500, rng=9)
    second = UserPopulation.sample(500, rng=9)
    assert np.array_equal(first.activity, second.activity)
    assert np.array_equal(first.propensity, second.propensity)
    assert not np.array_equal(first.activity, UserPopulation.sample(500, rng=10).activity)
    assert np.array_equal(first.draw_users(100, rng=1), second.draw_users(100, rng=1))


def test_activity_is_a_heavy_tailed_distribution_over_users() -> None:
    # Log-normal weights with sigma 1.5: the top 1% of users make 1 - Phi(Phi^-1(0.99) - 1.5)
    # = 20.4% of requests in expectation. With 100,000 users the realised share is within 2
    # percentage points of that (its sampling sd is ~0.5 points: a 4 sigma band).
    population = UserPopulation.sample(100_000, rng=4)
    assert population.activity.sum() == pytest.approx(1.0)
    top = np.sort(population.activity)[::-1][:1000].sum()
    expected = 1 - stats.norm.cdf(stats.norm.ppf(0.99) - 1.5)
    assert top == pytest.approx(expected, abs=0.02)


def test_users_are_drawn_in_proportion_to_their_activity() -> None:
    population = UserPopulation.sample(5, activity_sigma=1.0, rng=2)
    users = population.draw_users(500_000, rng=3)
    assert users.dtype == np.int64
    # 5 sigma band per user on a multinomial share (false-failure rate < 3e-6 overall).
    share = np.bincount(users, minlength=5) / users.size
    band = 5 * np.sqrt(population.activity * (1 - population.activity) / users.size)
    assert np.all(np.abs(share - population.activity) <= band)


def test_propensity_has_mean_one_and_the_requested_spread() -> None:
    population = UserPopulation.sample(200_000, propensity_sigma=0.5, rng=5)
    # mean of a log-normal with E = 1 and sigma 0.5: sd of the sample mean is
    # sqrt(exp(0.25) - 1) / sqrt(2e5) = 0.0011; 5 sigma band.
    assert population.propensity.mean() == pytest.approx(1.0, abs=0.0057)
    assert np.log(population.propensity).std() == pytest.approx(0.5, abs=0.005)


def test_per_user_ctr_varies_far_more_than_with_identical_users() -> None:
    # 2,000 users, 300,000 requests on random 3-grade lists, navigational cascade. A request
    # "clicks" if it has any click. With identical users the dispersion statistic averages 1
    # (chi-square / degrees of freedom); the default population is required to exceed 3.
    rng = np.random.default_rng(12)
    population = UserPopulation.sample(2000, rng=rng)
    users = population.draw_users(300_000, rng=rng)
    relevance = rng.integers(0, 3, size=(users.size, 10))
    clicked = population.simulate(NAVIGATIONAL, users, relevance, rng=rng).any(axis=1)
    statistic, n_kept = dispersion(users, clicked, population.n_users)
    assert n_kept > 500
    assert statistic > 3.0


def test_identical_users_show_only_binomial_variance() -> None:
    # Control for the test above: propensity_sigma = 0 makes users identical, and the dispersion
    # statistic is chi-square(m - 1) / m; a p = 1e-6 two-sided band around 1.
    rng = np.random.default_rng(13)
    population = UserPopulation.sample(2000, propensity_sigma=0.0, rng=rng)
    users = population.draw_users(300_000, rng=rng)
    relevance = rng.integers(0, 3, size=(users.size, 10))
    clicked = population.simulate(NAVIGATIONAL, users, relevance, rng=rng).any(axis=1)
    statistic, m = dispersion(users, clicked, population.n_users)
    low, high = stats.chi2.ppf([5e-7, 1 - 5e-7], m - 1) / m
    assert low < statistic < high


def test_population_clicks_follow_each_users_propensity() -> None:
    population = UserPopulation(
        activity=np.array([0.5, 0.5]),
        propensity=np.array([0.0, 2.0]),
        activity_sigma=0.0,
        propensity_sigma=1.0,
    )
    model = PBM.from_grades([1.0, 0.5], [0.2, 0.6])
    n = 20_000
    clicks = population.simulate(model, np.repeat([0, 1], n), np.array([0, 1]), rng=1)
    assert not clicks[:n].any()
    # Propensity 2: rank 1 clicks with 1.0 * 0.4; rank 2's attractiveness 1.2 is clipped to 1,
    # so it clicks with 0.5 * 1. 5 sigma binomial bands (false-failure rate < 6e-7 each).
    for rank, p in ((0, 0.4), (1, 0.5)):
        assert abs(clicks[n:, rank].mean() - p) <= 5 * np.sqrt(p * (1 - p) / n)


def test_population_works_with_models_fitted_per_document() -> None:
    clicks = np.zeros((10, 2), dtype=bool)
    clicks[:5, 0] = True
    model = DocumentCTR().fit(sessions_frame(clicks, items=np.array([[1, 2]] * 10)))
    population = UserPopulation.sample(3, rng=0)
    out = population.simulate(model, np.array([0, 1, 2]), query="q", items=np.array([1, 2]), rng=0)
    assert out.shape == (3, 2)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: UserPopulation.sample(0), r"`n_users` must be >= 1, got 0"),
        (
            lambda: UserPopulation.sample(5, activity_sigma=-1),
            r"`activity_sigma` must be in \[0, inf\], got -1.0",
        ),
        (
            lambda: UserPopulation.sample(5, propensity_sigma=np.inf),
            r"`propensity_sigma` must be finite",
        ),
        (
            lambda: UserPopulation.sample(5, rng=0).draw_users(-1),
            r"`n_requests` must be >= 0, got -1",
        ),
        (
            lambda: UserPopulation.sample(5, rng=0).simulate(
                NAVIGATIONAL, np.array([5]), np.array([0, 1])
            ),
            r"`users` ids must be in range\(5\), got 5..5",
        ),
        (
            lambda: UserPopulation.sample(5, rng=0).simulate(
                NAVIGATIONAL, np.array([0.5]), np.array([0, 1])
            ),
            r"`users` must be a 1-D integer array",
        ),
        (
            lambda: UserPopulation.sample(5, rng=0).simulate(
                "navigational", np.array([0]), np.array([0, 1])
            ),
            r"`model` must be a click model",
        ),
    ],
)
def test_bad_population_arguments_are_rejected(call, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        call()
