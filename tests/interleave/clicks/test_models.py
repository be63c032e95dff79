"""Every click model: conditional and unconditional probabilities agree exactly, simulation matches
them, the shared interface behaves the same way, and bad input is refused."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from scipy import stats

from interleave.clicks import (
    DBN,
    DCM,
    PBM,
    SDBN,
    UBM,
    CascadeModel,
    ClickModel,
    DocumentCTR,
    GlobalCTR,
    NotFittedError,
    RankCTR,
)
from interleave.errors import InvalidArgument

from ._helpers import sessions_frame

RELEVANCE = np.array([2, 0, 1, 2])
K = len(RELEVANCE)
UBM_EXAM = [
    [0.95, np.nan, np.nan, np.nan],
    [0.60, 0.90, np.nan, np.nan],
    [0.45, 0.70, 0.85, np.nan],
    [0.30, 0.50, 0.65, 0.80],
]

MODELS = {
    "cascade_after_click": CascadeModel.preset("navigational", grades=3),
    "cascade_every_rank": CascadeModel.preset("informational", grades=3, stop="every_rank"),
    "pbm": PBM.from_grades([1.0, 0.7, 0.5, 0.3], [0.1, 0.5, 0.9]),
    "ubm": UBM.from_grades(UBM_EXAM, [0.1, 0.5, 0.9]),
    "dbn": DBN.from_grades([0.1, 0.5, 0.9], [0.2, 0.5, 0.8], continuation=0.8),
    "sdbn": SDBN.from_grades([0.1, 0.5, 0.9], [0.2, 0.5, 0.8]),
    "dcm": DCM.from_grades([0.1, 0.5, 0.9], [0.7, 0.6, 0.5, 0.4]),
    "global_ctr": GlobalCTR(0.3),
    "rank_ctr": RankCTR([0.4, 0.3, 0.2, 0.1]),
    "document_ctr": DocumentCTR.from_grades([0.1, 0.5, 0.9]),
}
PATTERNS = np.array(list(itertools.product([False, True], repeat=K)))


def pattern_probabilities(model: ClickModel) -> np.ndarray:
    """P(click pattern) for all 2^K patterns on RELEVANCE, from the model's log-likelihood.

    A one-session log has log-likelihood (1/K) sum_r log P(C_r | C_<r), so the probability of
    the whole pattern is exp(K * log-likelihood).
    """
    out = []
    for pattern in PATTERNS:
        log = sessions_frame(pattern[None, :], relevance=RELEVANCE[None, :])
        with np.errstate(divide="ignore"):
            out.append(np.exp(K * model.log_likelihood(log)))
    return np.array(out)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_pattern_probabilities_sum_to_one(name: str) -> None:
    assert pattern_probabilities(MODELS[name]).sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_conditional_probabilities_imply_the_unconditional_ones(name: str) -> None:
    # sum over patterns of P(pattern) * C_r must equal click_probabilities()[r]: the chain rule
    # used by the log-likelihood and the marginal used by perplexity are the same model.
    model = MODELS[name]
    marginal = pattern_probabilities(model) @ PATTERNS
    np.testing.assert_allclose(
        marginal, model.click_probabilities(RELEVANCE, n_impressions=1)[0], atol=1e-12
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_simulated_click_patterns_follow_the_model(name: str) -> None:
    # Chi-square goodness of fit of the 16 click patterns over 200,000 impressions; patterns
    # expected fewer than 20 times are pooled. Reject at p < 1e-6: false-failure rate 1e-6 per
    # model. The test sees the joint law, not just the per-rank marginals.
    model = MODELS[name]
    n = 200_000
    clicks = model.simulate(RELEVANCE, n_impressions=n, rng=np.random.default_rng(31))
    codes = clicks @ (1 << np.arange(K)[::-1])
    observed = np.bincount(codes, minlength=2**K).astype(float)
    expected = pattern_probabilities(model) * n
    impossible = expected == 0
    assert observed[impossible].sum() == 0
    big = expected >= 20
    obs = np.append(observed[big], observed[~big & ~impossible].sum())
    exp = np.append(expected[big], expected[~big & ~impossible].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    assert stats.chisquare(obs, exp).pvalue > 1e-6


@pytest.mark.parametrize("name", sorted(MODELS))
def test_simulated_click_frequencies_match_click_probabilities(name: str) -> None:
    # Per rank, 5 sigma band of a binomial proportion (false-failure rate < 6e-7 per rank).
    model = MODELS[name]
    n = 200_000
    clicks = model.simulate(RELEVANCE, n_impressions=n, rng=np.random.default_rng(7))
    p = model.click_probabilities(RELEVANCE, n_impressions=1)[0]
    band = 5.0 * np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(clicks.mean(axis=0) - p) <= band + 1e-12)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_same_seed_gives_the_same_clicks(name: str) -> None:
    model = MODELS[name]
    first = model.simulate(RELEVANCE, n_impressions=1000, rng=5)
    assert np.array_equal(first, model.simulate(RELEVANCE, n_impressions=1000, rng=5))
    assert first.dtype == bool
    assert first.shape == (1000, K)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_zero_propensity_users_never_click(name: str) -> None:
    clicks = MODELS[name].simulate(RELEVANCE, n_impressions=500, propensity=np.zeros(500), rng=1)
    assert not clicks.any()


def test_propensity_scales_the_click_probability_given_examination_and_clips_it() -> None:
    model = PBM.from_grades([1.0, 0.5], [0.2, 0.7])
    probabilities = model.click_probabilities(np.array([[0, 1], [0, 1]]), propensity=[2.0, 0.5])
    np.testing.assert_allclose(probabilities, [[0.4, 0.5 * 1.0], [0.1, 0.5 * 0.35]])


def test_evaluation_reports_perplexity_by_rank_and_its_mean() -> None:
    model = MODELS["dbn"]
    clicks = model.simulate(RELEVANCE, n_impressions=2000, rng=3)
    evaluation = model.evaluate(sessions_frame(clicks, relevance=np.tile(RELEVANCE, (2000, 1))))
    assert evaluation.n_sessions == 2000
    assert len(evaluation.perplexity_by_rank) == K
    assert evaluation.perplexity == pytest.approx(np.mean(evaluation.perplexity_by_rank))
    assert 1.0 <= evaluation.perplexity <= 2.0
    assert set(evaluation.to_dict()) == {
        "log_likelihood",
        "perplexity",
        "perplexity_by_rank",
        "n_sessions",
    }
    assert "log-likelihood" in str(evaluation)


def test_an_impossible_click_has_log_likelihood_minus_infinity() -> None:
    # The perfect user never clicks a grade-0 result: observing it is impossible, and says so.
    model = CascadeModel.preset("perfect", grades=2)
    evaluation = model.evaluate(
        sessions_frame(np.array([[True, False]]), relevance=np.array([[0, 1]]))
    )
    assert evaluation.log_likelihood == -np.inf
    assert evaluation.perplexity == np.inf


# -- fitted models keyed by (query, item) ----------------------------------------------------


def small_log() -> pl.DataFrame:
    items = np.array([[1, 2, 3]] * 6 + [[3, 2, 1]] * 2)
    clicks = np.zeros((8, 3), dtype=bool)
    clicks[:3, 0] = True
    return sessions_frame(clicks, items=items, query="q")


def test_fit_returns_a_new_model_and_leaves_the_estimator_unchanged() -> None:
    estimator = DocumentCTR()
    fitted = estimator.fit(small_log())
    assert fitted is not estimator
    assert not estimator.is_fitted
    assert fitted.is_fitted
    assert "unfitted" in repr(estimator)
    assert "fitted on 8 sessions" in repr(fitted)
    with pytest.raises(NotFittedError, match=r"call `.fit\(sessions\)`"):
        estimator.simulate(query="q", items=np.array([[1, 2, 3]]), rng=0)


def test_document_parameters_are_a_frame_with_counts_and_pyclick_smoothing() -> None:
    documents = DocumentCTR().fit(small_log()).documents.sort("item")
    assert documents.columns == ["query", "item", "ctr", "n_shown"]
    # item 1: 3 clicks in 8 impressions -> (3 + 1) / (8 + 2).
    assert documents.row(0) == ("q", 1, pytest.approx(0.4), 8)
    with pytest.raises(InvalidArgument, match=r"keyed by 'document', not by relevance"):
        DocumentCTR().fit(small_log()).grades  # noqa: B018


def test_fitted_parameters_are_read_only() -> None:
    model = PBM(n_iterations=3).fit(small_log())
    with pytest.raises(ValueError, match="read-only"):
        model.examination[0] = 1.0


def test_unseen_query_item_pairs_get_one_half() -> None:
    model = DocumentCTR().fit(small_log())
    probabilities = model.click_probabilities(
        query=["q", "other"], items=np.array([[1, 99, 2], [1, 2, 3]])
    )
    np.testing.assert_allclose(probabilities, [[0.4, 0.5, 0.1], [0.5, 0.5, 0.5]])


def test_fitted_models_simulate_from_query_and_items() -> None:
    model = DBN(n_iterations=5).fit(small_log())
    clicks = model.simulate(query="q", items=np.array([1, 2, 3]), n_impressions=100, rng=2)
    assert clicks.shape == (100, 3)
    assert clicks.dtype == bool
    with pytest.raises(InvalidArgument, match=r"keyed by \(query, item\): pass `query`"):
        model.simulate(np.array([[0, 1, 2]]), rng=0)
    with pytest.raises(InvalidArgument, match=r"`query` must be a str or an array of 2 str"):
        model.simulate(query=["q"], items=np.array([[1, 2, 3], [1, 2, 3]]), rng=0)


def test_fitting_by_relevance_keys_parameters_by_grade() -> None:
    relevance = np.array([[2, 0, 1]] * 50)
    clicks = np.zeros((50, 3), dtype=bool)
    clicks[:, 0] = True
    model = DocumentCTR(by="relevance").fit(sessions_frame(clicks, relevance=relevance))
    assert model.grades["ctr"].to_list() == pytest.approx([1 / 52, 1 / 52, 51 / 52])
    assert model.fit_result.estimator == "closed_form"


def test_fit_result_records_how_the_model_was_fitted() -> None:
    result = UBM(n_iterations=4).fit(small_log()).fit_result
    assert (result.model, result.estimator, result.n_sessions, result.n_iterations) == (
        "UBM",
        "em",
        8,
        4,
    )
    assert result.train.n_sessions == 8
    assert result.to_dict()["train_n_sessions"] == 8
    assert "UBM fitted by em, 4 iterations on 8 sessions" in str(result)


def test_rank_parameters_must_match_the_list_length() -> None:
    with pytest.raises(
        InvalidArgument, match=r"examination for 4 ranks but the lists show 3 results"
    ):
        MODELS["pbm"].simulate(np.array([[0, 1, 2]]), rng=0)
    with pytest.raises(
        InvalidArgument, match=r"continuation for 4 ranks but the lists show 2 results"
    ):
        MODELS["dcm"].click_probabilities(np.array([[0, 1]]))
    with pytest.raises(InvalidArgument, match=r"rates for 4 ranks but the lists show 5 results"):
        MODELS["rank_ctr"].simulate(np.zeros((1, 5), dtype=int), rng=0)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (
            lambda: PBM.from_grades([1.0, 1.5], [0.5]),
            r"`examination` must hold probabilities in \[0, 1\], got 1.5",
        ),
        (
            lambda: PBM.from_grades([1.0], [np.nan]),
            r"`attractiveness` must hold probabilities in \[0, 1\], got nan",
        ),
        (lambda: UBM.from_grades([[0.5, 0.5]], [0.5]), r"`examination` must be square"),
        (
            lambda: UBM.from_grades([[np.nan, 0.5], [0.5, 0.5]], [0.5]),
            r"`examination`\[0, 0\] is NaN but the cell is used",
        ),
        (
            lambda: DBN.from_grades([0.5], [0.5], continuation=1.2),
            r"`continuation` must be in \[0, 1\], got 1.2",
        ),
        (
            lambda: SDBN.from_grades([0.5], [0.5], continuation=0.9),
            r"SDBN fixes `continuation` at 1",
        ),
        (lambda: DCM.from_grades([0.5], [[0.5]]), r"`continuation` must be 1-dimensional"),
        (lambda: GlobalCTR(-0.1), r"`ctr` must be in \[0, 1\], got -0.1"),
        (lambda: DBN.from_grades([0.5, 0.5], [0.5], continuation=0.9), r"one entry per grade each"),
        (lambda: PBM(by="query"), r"`by` must be one of \{'document', 'relevance'\}, got 'query'"),
        (lambda: PBM(n_iterations=0), r"`n_iterations` must be >= 1, got 0"),
        (
            lambda: SDBN(estimator="mle"),
            r"`estimator` must be one of \{'closed_form', 'em'\}, got 'mle'",
        ),
    ],
)
def test_bad_parameters_are_rejected_with_the_argument_named(build, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        build()


def test_negative_propensity_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match=r"`propensity` must be finite and >= 0, got -1.0"):
        MODELS["pbm"].simulate(RELEVANCE, n_impressions=2, propensity=[1.0, -1.0], rng=0)
