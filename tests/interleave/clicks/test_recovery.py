"""Recovery: fit each model on 100,000 sessions simulated from known parameters and get them back.

The set-up is the same for every model: one query, 20 documents, and each session shows 10 of
them in random order (random placement separates position effects from document effects).

Tolerances come from a seed study (seeds 1000-1009, same set-up, scratch script of 2026-11-26):
each is about twice the largest absolute error seen over those 10 seeds for that group of
parameters, and stated next to the check. The test itself uses seed 1000 and is never retried.
"""

from __future__ import annotations

import numpy as np
import pytest

from interleave.clicks import DBN, DCM, PBM, SDBN, UBM, DocumentCTR, GlobalCTR, RankCTR

from ._helpers import random_lists, sessions_frame

N_SESSIONS = 100_000
N_DOCUMENTS = 20
K = 10


@pytest.fixture(scope="module")
def setup() -> dict:
    rng = np.random.default_rng(1000)
    return {
        "rng": rng,
        "attractiveness": rng.permutation(np.linspace(0.05, 0.85, N_DOCUMENTS)),
        "satisfaction": rng.permutation(np.linspace(0.1, 0.9, N_DOCUMENTS)),
        "items": random_lists(N_SESSIONS, N_DOCUMENTS, K, rng),
    }


def fit_on_simulated(truth, estimator, setup: dict):
    # Item ids double as grades: the true model is keyed by "grade" = document id.
    items = setup["items"]
    clicks = truth.simulate(items, rng=setup["rng"])
    fitted = estimator.fit(sessions_frame(clicks, items=items))
    documents = fitted.documents.sort("item")
    assert documents["item"].to_list() == list(range(N_DOCUMENTS))
    assert documents["n_shown"].sum() == N_SESSIONS * K
    return fitted, documents


def test_pbm_recovers_examination_and_attractiveness_up_to_the_common_scale(setup: dict) -> None:
    # PBM's likelihood depends only on examination * attractiveness, so (c e, a / c) fit equally
    # well: compare after fixing the top examination to its true value (1). Seed study maxima:
    # attractiveness 0.0135, examination 0.0106.
    examination = np.array([1.0, 0.62, 0.46, 0.38, 0.32, 0.28, 0.25, 0.23, 0.21, 0.2])
    truth = PBM.from_grades(examination, setup["attractiveness"])
    fitted, documents = fit_on_simulated(truth, PBM(n_iterations=50), setup)
    scale = fitted.examination[0]
    np.testing.assert_allclose(fitted.examination / scale, examination, atol=0.025)
    np.testing.assert_allclose(
        documents["attractiveness"].to_numpy() * scale, setup["attractiveness"], atol=0.03
    )


def test_ubm_recovers_examination_by_previous_click_and_attractiveness(setup: dict) -> None:
    # Same scale freedom as PBM; fixed at examination[0, 0]. Seed study maxima: attractiveness
    # 0.0101, examination 0.0293 (the largest errors are in cells seen in a few thousand
    # sessions, e.g. rank 10 with no click above).
    r = np.arange(K)[:, None]
    j = np.arange(K)[None, :]
    distance = np.where(j == 0, r + 1, r - (j - 1))
    examination = np.where(j <= r, 0.98 * 0.93**r * 0.9 ** (distance - 1), np.nan)
    truth = UBM.from_grades(examination, setup["attractiveness"])
    fitted, documents = fit_on_simulated(truth, UBM(n_iterations=50), setup)
    scale = fitted.examination[0, 0] / examination[0, 0]
    np.testing.assert_allclose(fitted.examination / scale, examination, atol=0.06)
    np.testing.assert_allclose(
        documents["attractiveness"].to_numpy() * scale, setup["attractiveness"], atol=0.02
    )
    assert np.isnan(fitted.examination[np.triu_indices(K, 1)]).all()


def test_dbn_recovers_attractiveness_satisfaction_and_continuation(setup: dict) -> None:
    # Seed study maxima: attractiveness 0.0112, satisfaction 0.0331 (estimated from last clicks
    # only), continuation 0.0025.
    truth = DBN.from_grades(setup["attractiveness"], setup["satisfaction"], continuation=0.85)
    fitted, documents = fit_on_simulated(truth, DBN(n_iterations=50), setup)
    assert fitted.continuation == pytest.approx(0.85, abs=0.005)
    np.testing.assert_allclose(
        documents["attractiveness"].to_numpy(), setup["attractiveness"], atol=0.025
    )
    np.testing.assert_allclose(
        documents["satisfaction"].to_numpy(), setup["satisfaction"], atol=0.065
    )


def test_sdbn_em_recovers_attractiveness_and_satisfaction(setup: dict) -> None:
    # Seed study maxima (20 iterations): attractiveness 0.0083, satisfaction 0.0209.
    truth = SDBN.from_grades(setup["attractiveness"], setup["satisfaction"])
    _, documents = fit_on_simulated(truth, SDBN(estimator="em", n_iterations=20), setup)
    np.testing.assert_allclose(
        documents["attractiveness"].to_numpy(), setup["attractiveness"], atol=0.02
    )
    np.testing.assert_allclose(
        documents["satisfaction"].to_numpy(), setup["satisfaction"], atol=0.045
    )


def test_dcm_em_recovers_attractiveness_and_continuation(setup: dict) -> None:
    # Seed study maxima (20 iterations): attractiveness 0.0098, continuation 0.0149. The last
    # rank's continuation is never observed and stays at its prior 1/2.
    continuation = np.linspace(0.7, 0.3, K)
    truth = DCM.from_grades(setup["attractiveness"], continuation)
    fitted, documents = fit_on_simulated(truth, DCM(estimator="em", n_iterations=20), setup)
    np.testing.assert_allclose(
        documents["attractiveness"].to_numpy(), setup["attractiveness"], atol=0.02
    )
    np.testing.assert_allclose(fitted.continuation[:-1], continuation[:-1], atol=0.03)
    assert fitted.continuation[-1] == 0.5


def test_closed_forms_recover_single_click_cascades_exactly_as_they_assume(setup: dict) -> None:
    # The counting estimates assume the last click ends the session. When it does (satisfaction
    # 1, continuation after a click 0), they are consistent: attractiveness within 0.02 (the EM
    # seed-study bound), satisfaction near 1, continuation near 0 (a rank's smoothed estimate is
    # 1/(clicks+2) or (clicks+1)/(clicks+2), clicks per rank >= ~2,000 here).
    cascade = SDBN.from_grades(setup["attractiveness"], np.ones(N_DOCUMENTS))
    _, documents = fit_on_simulated(cascade, SDBN(), setup)
    np.testing.assert_allclose(
        documents["attractiveness"].to_numpy(), setup["attractiveness"], atol=0.02
    )
    assert documents["satisfaction"].min() > 0.99
    fitted, documents = fit_on_simulated(
        DCM.from_grades(setup["attractiveness"], np.zeros(K)), DCM(), setup
    )
    np.testing.assert_allclose(
        documents["attractiveness"].to_numpy(), setup["attractiveness"], atol=0.02
    )
    assert fitted.continuation.max() < 0.01


def test_closed_form_dcm_underestimates_continuation_near_the_bottom(setup: dict) -> None:
    # Documented bias (dcm.py): counting treats the last click as final. A user who goes on from
    # rank r but clicks nothing below looks as if she stopped, which happens more often the fewer
    # results are left: lambda = 0.6 comes back ~0.6 at the top and far lower near the bottom
    # (0.27 at rank 9 with this seed); EM on the same kind of log gets it back (test above).
    continuation = np.full(K, 0.6)
    truth = DCM.from_grades(setup["attractiveness"], continuation)
    closed, _ = fit_on_simulated(truth, DCM(), setup)
    assert closed.continuation[0] == pytest.approx(0.6, abs=0.02)
    assert closed.continuation[K - 2] < 0.6 - 0.2
    assert np.all(np.diff(closed.continuation[: K - 1]) < 0.01)


def test_ctr_baselines_recover_their_rates(setup: dict) -> None:
    # Closed forms: standard errors are sqrt(p(1-p)/n) with n = 10^6 (global), 10^5 (per rank),
    # ~5 * 10^4 (per document); the tolerances are 5 of them.
    items = setup["items"]
    rng = setup["rng"]
    rates = np.linspace(0.5, 0.05, K)
    fitted = RankCTR().fit(sessions_frame(RankCTR(rates).simulate(items, rng=rng), items=items))
    np.testing.assert_allclose(fitted.ctr, rates, atol=5 * np.sqrt(0.25 / N_SESSIONS))
    fitted = GlobalCTR().fit(sessions_frame(GlobalCTR(0.3).simulate(items, rng=rng), items=items))
    assert fitted.ctr == pytest.approx(0.3, abs=5 * np.sqrt(0.21 / (N_SESSIONS * K)))
    truth = DocumentCTR.from_grades(setup["attractiveness"])
    _, documents = fit_on_simulated(truth, DocumentCTR(), setup)
    np.testing.assert_allclose(
        documents["ctr"].to_numpy(), setup["attractiveness"], atol=5 * np.sqrt(0.25 / 50_000)
    )
