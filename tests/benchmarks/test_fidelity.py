"""The fidelity suite: the LETOR parser, truth and E_bin on hand-made inputs, a smoke run."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import fidelity
from interleave.errors import InvalidArgument

LINES = [
    "2 qid:7 1:0.5 3:1 #docid = GX1 inc = 1 prob = 0.1",
    "0 qid:7 2:0.25",
    "",
    "1 qid:9 1:0.75 2:0.75 3:0.75",
    "0 qid:7 1:0.5 3:1",  # query 7 again, not contiguous: joins its query
]


# -- parser -------------------------------------------------------------------------------------


def test_parser_groups_lines_by_query_in_first_seen_order():
    queries = fidelity.parse_letor(LINES, n_features=3, name="hand")
    assert queries.qids == ("7", "9")
    assert queries.grades[0].tolist() == [2, 0, 0]
    assert queries.grades[1].tolist() == [1]
    # Unlisted features are 0 (SVMlight's sparse form); the comment is ignored.
    assert queries.features[0].tolist() == [[0.5, 0.0, 1.0], [0.0, 0.25, 0.0], [0.5, 0.0, 1.0]]
    assert queries.n_documents == 4
    assert queries.source == "hand"


def test_rankings_sort_by_feature_and_break_ties_by_document_order():
    queries = fidelity.parse_letor(LINES, n_features=3)
    # Query 7, feature 1 = (0.5, 0, 0.5): documents 0 and 2 tie, so file order decides.
    # Feature 2 = (0, 0.25, 0): document 1 first, then 0 and 2 in file order.
    assert queries.rankings((1, 2))[0] == [[0, 2, 1], [1, 0, 2]]
    assert queries.rankings((3,))[1] == [[0]]


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("x qid:1 1:0.5", ["line 1", "'x'", "ints"]),
        ("1 1:0.5 2:0.5", ["line 1", "qid"]),
        ("1 qid: 1:0.5", ["line 1", "qid"]),
        ("1 qid:3 4:0.5", ["line 1", "'4:0.5'", "1..3"]),
        ("1 qid:3 0:0.5", ["line 1", "'0:0.5'"]),
        ("1 qid:3 2:abc", ["line 1", "'2:abc'"]),
        ("1 qid:3 2:nan", ["line 1", "finite"]),
        ("1 qid:3 2", ["line 1", "'2'"]),
    ],
)
def test_parser_names_the_malformed_line(line, names):
    with pytest.raises(InvalidArgument) as error:
        fidelity.parse_letor([line], n_features=3, name="f.txt")
    for name in ["f.txt", *names]:
        assert name in str(error.value)


def test_concat_refuses_a_query_in_two_parts():
    part = fidelity.parse_letor(LINES, n_features=3)
    with pytest.raises(InvalidArgument, match="repeat a query id"):
        fidelity.Queries.concat([part, part])


def test_reads_mq2008_with_the_counts_of_its_source_notes(shared_data):
    folder = shared_data / "letor4_mq2008_partial"
    if not folder.is_dir():
        pytest.skip(f"LETOR MQ2008 not found at {folder}")
    train = fidelity.read_letor([folder / name for name in fidelity.TRAIN_FILES])
    test = fidelity.read_letor([folder / name for name in fidelity.TEST_FILES])
    # SOURCE.md integrity table: S1 157 queries / 2,933 rows, S4 157 / 2,707, S5 156 / 2,874;
    # labels over the three 6,775 / 1,205 / 534; every row 46 features.
    assert (len(train), train.n_documents) == (314, 2933 + 2707)
    assert (len(test), test.n_documents) == (156, 2874)
    labels = np.concatenate(train.grades + test.grades)
    assert np.bincount(labels).tolist() == [6775, 1205, 534]
    assert {f.shape[1] for f in train.features + test.features} == {46}
    docs = [len(g) for g in test.grades]
    # SOURCE.md gives S5's median as 15: 156 queries, the middle two are 14 and 15.
    assert (min(docs), float(np.median(docs)), max(docs)) == (6, 14.5, 119)
    assert train.qids[0] == "10002"
    assert test.qids[-1] == "19997"


# -- truth, estimate and error ------------------------------------------------------------------

unit = st.floats(0.0, 1.0, allow_nan=False)


@given(st.lists(unit, min_size=2, max_size=6))
def test_truth_is_antisymmetric_around_one_half(ndcgs):
    p = fidelity.truth_matrix(ndcgs)
    np.testing.assert_allclose(p + p.T, 1.0)
    np.testing.assert_allclose(np.diag(p), 0.5)
    assert ((p >= 0) & (p <= 1)).all()


def test_truth_on_mq2008_test_queries_is_antisymmetric(shared_data):
    if not (shared_data / "letor4_mq2008_partial").is_dir():
        pytest.skip("LETOR MQ2008 not found")
    _, test, data = fidelity.load_data(seed=0)
    assert data.startswith("LETOR 4.0 MQ2008")
    ndcgs = fidelity.mean_ndcg(test)
    assert ((ndcgs > 0) & (ndcgs < 1)).all()
    p = fidelity.truth_matrix(ndcgs)
    np.testing.assert_allclose(p + p.T, 1.0)
    assert (np.sign(p - 0.5) == -np.sign(p.T - 0.5)).all()


def test_mean_ndcg_on_a_hand_made_query():
    # Grades (2, 0, 1); feature 1 orders the documents 0, 2, 1 (ideal), feature 2 orders 1, 2, 0.
    queries = fidelity.parse_letor(
        ["2 qid:1 1:0.9 2:0.1", "0 qid:1 1:0.1 2:0.9", "1 qid:1 1:0.5 2:0.5"], n_features=2
    )
    ideal = 3 + 1 / np.log2(3)
    worst = 1 / np.log2(3) + 3 / 2
    np.testing.assert_allclose(fidelity.mean_ndcg(queries, (1, 2)), [1.0, worst / ideal])


def test_expected_clicks_on_a_hand_made_query():
    from interleave.clicks import CascadeModel

    # Grades (2, 0, 1); feature 1 shows them in the order 2, 1, 0.
    queries = fidelity.parse_letor(
        ["2 qid:1 1:0.9", "0 qid:1 1:0.1", "1 qid:1 1:0.5"], n_features=1
    )
    perfect = CascadeModel.preset("perfect", grades=3)  # P(click) 0, .5, 1; never stops
    assert fidelity.expected_clicks(queries, perfect, (1,)).tolist() == [1.5]
    # Navigational (P(click) .05/.5/.95, P(stop after a click) .2/.5/.9), by hand: .95, then
    # examined with 1 - .95 * .9 = .145: .145 * .5, then .145 * (1 - .5 * .5) = .10875: * .05.
    navigational = CascadeModel.preset("navigational", grades=3)
    expected = 0.95 + 0.145 * 0.5 + 0.10875 * 0.05
    assert fidelity.expected_clicks(queries, navigational, (1,))[0] == pytest.approx(expected)


def test_binary_error_counts_disagreeing_pairs():
    truth = fidelity.truth_matrix([0.4, 0.3, 0.2])  # 0 > 1 > 2
    estimate = truth.copy()
    estimate[1, 2], estimate[2, 1] = 0.45, 0.55  # one of three pairs flipped: 2 ordered pairs of 6
    assert float(fidelity.binary_error(estimate, truth)) == pytest.approx(1 / 3)
    estimate[1, 2] = estimate[2, 1] = 0.5  # undecided: an error, or half of one
    assert float(fidelity.binary_error(estimate, truth)) == pytest.approx(1 / 3)
    assert float(fidelity.binary_error(estimate, truth, undecided=0.5)) == pytest.approx(1 / 6)


# NDCG values on a 1/1000 grid: distinct values then differ by more than float rounding of P.
distinct_ndcgs = st.lists(st.integers(0, 1000), min_size=5, max_size=5, unique=True).map(
    lambda values: [v / 1000 for v in values]
)


@given(distinct_ndcgs, distinct_ndcgs)
def test_binary_error_is_the_share_of_discordant_pairs(first, second):
    # Without ties, E_bin of one NDCG vector's preferences against another's is the share of
    # pairs the two order differently (the normalised Kendall distance), whichever is the truth.
    a, b = fidelity.truth_matrix(first), fidelity.truth_matrix(second)
    discordant = sum(
        (first[i] - first[j]) * (second[i] - second[j]) < 0 for i, j in combinations(range(5), 2)
    )
    assert float(fidelity.binary_error(a, b)) == pytest.approx(discordant / 10)
    assert float(fidelity.binary_error(b, a)) == pytest.approx(discordant / 10)
    assert float(fidelity.binary_error(a, a)) == 0.0


def test_binary_error_on_a_tied_truth():
    truth = fidelity.truth_matrix([0.3, 0.3])
    assert float(fidelity.binary_error(np.full((2, 2), 0.5), truth)) == 0.0  # both undecided
    assert float(fidelity.binary_error(fidelity.truth_matrix([0.4, 0.3]), truth)) == 1.0


def test_wrong_pairs_names_the_pairs_wrong_in_half_the_repetitions():
    truth = fidelity.truth_matrix([0.4, 0.3, 0.2])  # 0 > 1 > 2: every pair's outcome should be > 0
    # (models, repetitions, pairs (0,1), (0,2), (1,2), checkpoints): 1 model, 2 reps, 2 checkpoints.
    sums = np.zeros((1, 2, 3, 2))
    sums[0, 0, :, 0] = [1.0, 1.0, -1.0]  # repetition 0: pair (1,2) wrong at the first checkpoint
    sums[0, 1, :, 0] = [1.0, -2.0, 1.0]  # repetition 1: pair (0,2) wrong
    sums[0, 1, :, 1] = [0.0, 3.0, 0.0]  # ... and right once the second checkpoint adds to it
    named = fidelity.wrong_pairs(sums, np.ones((2, 3, 2)), truth, (7, 8, 9))
    assert named == [[["7-9 (50%)", "8-9 (50%)"], ["8-9 (50%)"]]]


def test_estimate_from_pair_sums():
    # Pairs of 3 rankers: (0,1), (0,2), (1,2). Outcomes summed per pair, with counts.
    sums = np.array([3.0, -1.0, 0.0])
    counts = np.array([5, 4, 0])
    p = fidelity.estimate_matrix(sums, counts)
    assert p[0, 1] == pytest.approx(0.8)  # (4 wins + 0 ties... ) 0.5 + 0.5 * 3 / 5
    assert p[2, 0] == pytest.approx(1 - 0.375)
    assert p[1, 2] == p[2, 1] == 0.5  # no data
    with pytest.raises(InvalidArgument, match="4 pairs"):
        fidelity.estimate_matrix(np.zeros(4), np.ones(4))


@given(
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=10, max_size=10),
    st.lists(st.integers(0, 60), min_size=10, max_size=10),
)
def test_estimate_sign_is_the_sign_of_the_summed_outcomes(sums, counts):
    sums = np.array(sums)
    counts = np.array(counts)
    sums[counts == 0] = 0.0  # no impressions, no outcomes
    # A mean outcome below float resolution beside 0.5 (|sum / n| < ~1e-16) rounds P^ to 0.5:
    # undecided, as it should be for sums that are 0 up to rounding.
    sums[np.abs(sums) < 1e-9] = 0.0
    p = fidelity.estimate_matrix(sums, counts)
    np.testing.assert_allclose(p + p.T, 1.0)
    for k, (i, j) in enumerate(combinations(range(5), 2)):
        assert np.sign(p[i, j] - 0.5) == np.sign(sums[k])


# -- simulation ---------------------------------------------------------------------------------


def _tiny_plan(n_reps=2, checkpoints=(10, 20, 50)):
    rng = np.random.default_rng(5)
    train = fidelity.synthetic_queries(30, rng, prefix="t")
    return fidelity.make_plan(train, n_reps, checkpoints, seed=1)


def test_pairwise_methods_rotate_over_the_pairs_and_multileavers_show_all():
    plan = _tiny_plan()
    specs = {s.label: s for s in fidelity.methods()}
    sums, counts = fidelity.simulate(specs["TeamDraft (common prefix)"], plan)
    assert sums.shape == (len(fidelity.CLICK_MODELS), 2, 10, 3)
    # 10, 20, 50 impressions rotating over 10 pairs: 1, then 1 more, then 3 more per pair.
    assert (counts == np.array([1, 1, 3])).all()
    sums, counts = fidelity.simulate(specs["TeamDraft multileave"], plan)
    assert (counts == np.array([10, 10, 30])).all()
    # An outcome lies in [-1, 1]: a sum is at most the impressions it sums.
    assert (np.abs(sums) <= counts[None]).all()


def test_simulation_is_a_function_of_the_seed():
    plan = _tiny_plan()
    spec = fidelity.methods()[0]
    first, _ = fidelity.simulate(spec, plan)
    again, _ = fidelity.simulate(spec, plan)
    np.testing.assert_array_equal(first, again)


def test_synthetic_fallback_when_the_data_is_absent(monkeypatch, tmp_path):
    monkeypatch.setattr(fidelity, "LETOR", tmp_path / "absent")
    train, test, data = fidelity.load_data(seed=4)
    assert data.startswith("synthetic")
    assert str(tmp_path / "absent") in data
    assert (len(train), len(test)) == (314, 156)
    # Feature 40 carries the grade most strongly, feature 4 least (SYNTHETIC_SIGNAL).
    ndcgs = fidelity.mean_ndcg(test)
    assert ndcgs.argmax() == fidelity.RANKER_FEATURES.index(40)
    assert ndcgs.argmin() == fidelity.RANKER_FEATURES.index(4)


@pytest.fixture(scope="module")
def smoke_result():  # a few seconds; every test reading it is marked slow
    labels = ("TeamDraft (common prefix)", "TeamDraft multileave")
    return fidelity.run(
        quick=True,
        seed=0,
        n_repetitions=4,
        checkpoints=(10, 100, 500),
        method_labels=labels,
        workers=1,
    )  # with the Team-Draft rows on the alternative feature ids too


@pytest.mark.slow
def test_smoke_rows_and_figure(smoke_result):
    rows, figures = smoke_result
    assert set(figures) == {"fidelity.png"}
    headline = [r for r in rows if r["case"].startswith("E_bin: ")]
    assert len(headline) == 2 * len(fidelity.CLICK_MODELS)
    assert {r["impressions"] for r in headline} == {500}
    assert all(0.0 <= r["e_bin"] <= 1.0 and r["repetitions"] == 4 for r in headline)
    assert all(r["wrong_in_half_the_repetitions"] for r in headline)
    published = {(r["method"], r["click_model"]): r.get("published_e_bin") for r in headline}
    assert published[("TeamDraft (common prefix)", "perfect")] == 0.134
    assert published[("TeamDraft multileave", "informational")] == 0.177
    assert published[("TeamDraft multileave", "random")] is None
    truth = [r for r in rows if r["case"].startswith("truth: NDCG")]
    assert len(truth) == len(fidelity.RANKER_FEATURES)
    floor = next(r for r in rows if r["case"] == "truth: E_bin of the training-query NDCG")
    assert 0.0 <= floor["e_bin"] <= 1.0
    alternative = [r for r in rows if r["case"].startswith("features 5,10,25,40,41: E_bin: ")]
    assert len(alternative) == 2 * len(fidelity.CLICK_MODELS)
    # The published figures stand beside both readings of Lerot's feature numbers.
    alt_published = {(r["method"], r["click_model"]): r.get("published_e_bin") for r in alternative}
    assert alt_published[("TeamDraft multileave", "perfect")] == 0.050
    assert all(
        isinstance(value, float | int | str | bool) for row in rows for value in row.values()
    )


@pytest.mark.slow
def test_perfect_clicks_order_most_pairs_after_500_impressions(smoke_result):
    # Seeded. Over seeds (800 repetitions of this run, seed 11, resampled in groups of 4 a million
    # times): P(mean of 4 perfect-click E_bin >= 0.35) = 1.3e-3 (per-repetition mean 0.20, 99th
    # percentile 0.4) and P(random-click mean <= perfect-click mean) = 8e-5 (random: mean 0.54),
    # so a false failure about 1 in 700. Random clicks carry no information about the rankers.
    by_case = {r["case"]: r for r in smoke_result[0]}
    perfect = by_case["E_bin: TeamDraft (common prefix), perfect"]["e_bin"]
    random = by_case["E_bin: TeamDraft (common prefix), random"]["e_bin"]
    assert perfect < 0.35
    assert random > perfect


@pytest.mark.slow
def test_without_the_data_every_row_says_synthetic(monkeypatch, tmp_path):
    monkeypatch.setattr(fidelity, "LETOR", tmp_path / "absent")
    rows, _ = fidelity.run(
        quick=True,
        seed=2,
        n_repetitions=2,
        checkpoints=(10, 50),
        method_labels=("TeamDraft (common prefix)",),
        alternative_features=False,
        workers=1,
    )
    assert rows
    assert all(row["data"].startswith("synthetic LETOR-like") for row in rows)


@pytest.mark.slow
def test_two_worker_processes_give_the_same_rows_as_one():
    # Every draw comes from (seed, method, ranker set), never from process state.
    kwargs = {
        "quick": True,
        "seed": 1,
        "n_repetitions": 2,
        "checkpoints": (10, 50),
        "method_labels": ("TeamDraft (original)", "PairwisePreference multileave"),
        "alternative_features": False,
    }
    one, _ = fidelity.run(**kwargs, workers=1)
    two, _ = fidelity.run(**kwargs, workers=2)
    assert one == two
