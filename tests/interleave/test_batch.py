"""InterleavingBatch: shared-rankings batches, logs packed from records or columns, their checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interleave import Balanced, InterleavingBatch, InvalidArgument, Probabilistic, TeamDraft


def logged_records(method, n=40, seed=0):
    """Records of ``method`` where every impression had its own rankings (as in a real log)."""
    gen = np.random.default_rng(seed)
    records = []
    for i in range(n):
        size = int(gen.integers(1, 9))
        a = [int(x) for x in gen.permutation(20)[:size]]
        b = [int(x) for x in gen.permutation(20)[: int(gen.integers(1, 9))]]
        records.append(method.interleave([a, b], key=f"request-{i}", seed=3))
    return records


def columns_of(records):
    """The log columns of ``records``: teams (n, L), ranks (k, n, L), ranking_lengths (n, k)."""
    n, k = len(records), records[0].n_rankers
    length = max(len(r.items) for r in records)
    teams = np.full((n, length), -1)
    ranks = np.full((k, n, length), -1)
    for i, record in enumerate(records):
        m = len(record.items)
        teams[i, :m] = record.teams
        ranks[:, i, :m] = record.ranks
    lengths = np.array([r.ranking_lengths for r in records])
    return teams, ranks, lengths


def random_clicks(batch, seed=1):
    return (np.random.default_rng(seed).random(batch.shape) < 0.4) & batch.shown


# --- from_records ---------------------------------------------------------------------------------


def test_from_records_keeps_each_impressions_own_ranks_and_lengths():
    method = TeamDraft(length=4)
    records = [
        method.interleave([[1, 2, 3], [3, 4, 5]], key="a", seed=1),
        method.interleave([[7, 8], [9]], key="b", seed=1),
    ]
    batch = InterleavingBatch.from_records(records)
    assert batch.shape == (2, 4)
    assert batch.n_rankers == 2
    assert batch.n_shown.tolist() == [4, 3]
    assert batch.ranking_lengths.tolist() == [[3, 3], [2, 1]]
    assert batch.shown.tolist() == [[True] * 4, [True, True, True, False]]
    assert batch.rank_table is None
    assert [batch[i] for i in range(2)] == records  # keys and seeds too
    assert batch.ranks[:, 1, 3].tolist() == [-1, -1]  # padding


@pytest.mark.parametrize("method", [TeamDraft(length=6), Balanced(), Balanced(cutoff="lerot")])
def test_credit_of_a_log_equals_per_record_credit(method):
    records = logged_records(method)
    batch = InterleavingBatch.from_records(records)
    clicks = random_clicks(batch)
    credits = method.credit_batch(batch, clicks)
    for i, record in enumerate(records):
        single = method.credit(record, clicks[i, : len(record.items)])
        assert tuple(credits.scores[i]) == single.scores
        assert credits.preferences[i].tolist() == [list(row) for row in single.preferences]


@settings(max_examples=40)
@given(data=st.data(), n=st.integers(1, 12), cutoff=st.sampled_from(["joachims", "lerot"]))
def test_log_credit_equals_per_record_credit_for_any_log(data, n, cutoff):
    ids = st.lists(st.integers(0, 12), min_size=1, max_size=8, unique=True)
    method = data.draw(
        st.sampled_from([TeamDraft(), TeamDraft(common_prefix=False), Balanced(cutoff=cutoff)])
    )
    records = [method.interleave([data.draw(ids), data.draw(ids)], key=i, seed=0) for i in range(n)]
    batch = InterleavingBatch.from_records(records)
    clicks = np.zeros(batch.shape, dtype=bool)
    for i, record in enumerate(records):
        for p in data.draw(st.sets(st.integers(0, len(record.items) - 1))):
            clicks[i, p] = True
    credits = method.credit_batch(batch, clicks)
    from_columns = method.credit_batch(
        InterleavingBatch.from_columns(method, *columns_of(records)), clicks
    )
    for i, record in enumerate(records):
        single = method.credit(record, clicks[i, : len(record.items)])
        assert tuple(credits.scores[i]) == single.scores
        assert credits.outcome[i] == single.outcome
        assert tuple(from_columns.scores[i]) == single.scores


def test_from_records_refuses_mixed_methods_and_configurations():
    a = TeamDraft(length=3).interleave([[1, 2], [3]], key="a", seed=0)
    b = TeamDraft(length=4).interleave([[1, 2], [3]], key="a", seed=0)
    c = Balanced(length=3).interleave([[1, 2], [3]], key="a", seed=0)
    with pytest.raises(InvalidArgument, match=r"`records\[1\]` was made by 'team_draft' with"):
        InterleavingBatch.from_records([a, b])
    with pytest.raises(InvalidArgument, match=r"`records\[1\]` was made by 'balanced'"):
        InterleavingBatch.from_records([a, c])


def test_from_records_refuses_a_different_number_of_rankers():
    method = TeamDraft()
    two = method.interleave([[1, 2], [3]], key="a", seed=0)
    three = method.interleave([[1, 2], [3], [4]], key="a", seed=0)
    with pytest.raises(InvalidArgument, match=r"`records\[1\]` is inconsistent"):
        InterleavingBatch.from_records([two, three])


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([], "`records` is empty"),
        ("abc", "`records` must be a list of Interleaving records"),
        ([{"items": [1]}], r"`records\[0\]` must be an Interleaving, got dict"),
        (None, "`records` must be a list of Interleaving records, got NoneType"),
    ],
)
def test_from_records_bad_input(records, message):
    with pytest.raises(InvalidArgument, match=message):
        InterleavingBatch.from_records(records)


# --- from_columns ---------------------------------------------------------------------------------


def test_teams_alone_are_enough_for_team_draft():
    batch = InterleavingBatch.from_columns(
        "team_draft",
        [[0, 1, -1], [1, 0, 1]],
        params={
            "common_prefix": True,
            "length": 3,
        },
    )
    assert batch.ranks is None
    assert batch.ranking_lengths is None
    clicks = np.array([[True, True, True], [False, True, True]])
    assert TeamDraft(length=3).credit_batch(batch, clicks).scores.tolist() == [
        [1.0, 1.0],
        [1.0, 1.0],
    ]


def test_a_method_that_reads_ranks_names_them_when_missing():
    batch = InterleavingBatch.from_columns(Balanced(), [[0, 1], [1, 0]])
    with pytest.raises(
        InvalidArgument, match=r"balanced credit reads ranks, which this batch lacks"
    ):
        Balanced().credit_batch(batch, np.zeros((2, 2), dtype=bool))
    with pytest.raises(InvalidArgument, match="built without ranks and ranking_lengths"):
        batch[0]


def test_probabilistic_names_the_missing_ranking_lengths():
    method = Probabilistic()
    batch = InterleavingBatch.from_columns(method, [[0, 1]], ranks=[[[0, 1]], [[1, 0]]])
    with pytest.raises(InvalidArgument, match=r"reads ranking_lengths, which this batch lacks"):
        method.credit_batch(batch, np.zeros((1, 2), dtype=bool))


def test_padding_is_inferred_from_ranks_and_clicks_on_it_are_refused():
    method = Balanced()
    records = logged_records(method, n=10)
    batch = InterleavingBatch.from_columns(method, *columns_of(records))
    assert batch.n_shown.tolist() == [len(r.items) for r in records]
    short = int(np.argmin(batch.n_shown))
    clicks = np.zeros(batch.shape, dtype=bool)
    clicks[short, -1] = True
    with pytest.raises(InvalidArgument, match=rf"impression {short} shows"):
        method.credit_batch(batch, clicks)


def test_n_shown_counts_items_no_ranker_ranked():
    # A list shown by someone else may hold an item neither ranker ranked: n_shown says it is shown.
    method = Balanced()
    teams = [[-1, -1]]
    ranks = [[[0, -1]], [[0, -1]]]
    inferred = InterleavingBatch.from_columns(method, teams, ranks)
    assert inferred.n_shown.tolist() == [1]
    explicit = InterleavingBatch.from_columns(method, teams, ranks, n_shown=[2])
    clicks = np.array([[True, True]])
    assert method.credit_batch(explicit, clicks).scores.tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"teams": [[0.5, 1]]},
            r"`teams` must be an int array \(n_impressions, length\), got dtype float64",
        ),
        ({"teams": [[True, False]]}, "got dtype bool"),
        ({"teams": [0, 1]}, r"got shape \(2,\)"),
        ({"teams": [[0, 1], [1]]}, "numpy cannot read"),
        (
            {"teams": [[0, 7]], "n_rankers": 2},
            r"`teams` must be ranker indices in \[-1, 2\), got 7 at impression 0",
        ),
        ({"teams": [[0, -2]]}, r"got -2 at impression 0, position 1"),
        ({"teams": [[0, 1]], "ranks": [[[0, 1]]]}, r"at least 2 rankers, got 1"),
        ({"teams": [[0, 1]], "ranks": [[[0, 1, 2]], [[1, 0, 2]]]}, r"`ranks` must have shape"),
        (
            {"teams": [[0, 1]], "ranks": [[[0, 1]], [[1, 0]]], "ranking_lengths": [[2, 1]]},
            r"`ranks\[1\]` holds rank 1 at impression 0, position 0, but that ranking has 1",
        ),
        ({"teams": [[0, 1]], "ranks": [[[0, 0]], [[1, 0]]]}, r"`ranks\[0\]` repeats a rank"),
        (
            {"teams": [[0, 1]], "ranks": [[[0, -3]], [[1, 0]]]},
            r"0-based ranks or -1 \(absent\), got -3",
        ),
        ({"teams": [[0, 1]], "ranking_lengths": [[2, 0]]}, r"must be >= 1 .* got 0"),
        ({"teams": [[0, 1]], "ranking_lengths": [[2, 2], [2, 2]]}, "one row per impression"),
        (
            {"teams": [[0, 1]], "ranks": [[[0, 1]], [[1, 0]]], "ranking_lengths": [[2, 2, 2]]},
            "the number of rankers disagrees",
        ),
        ({"teams": [[0, 1]], "n_shown": [3]}, r"`n_shown` must be in \[0, 2\]"),
        ({"teams": [[0, 1]], "n_shown": [1]}, "padding position has a team"),
        ({"teams": [[0, 1]], "n_rankers": 2.0}, "`n_rankers` must be an int"),
        ({"teams": [[0, 1]], "params": 5}, "`params` must be a mapping"),
        (
            {"teams": [[0, 1]], "keys": ["a", "b"]},
            r"`keys` must hold one entry per impression \(1\)",
        ),
        ({"teams": [[0, 1]], "seeds": 3}, r"`seeds` must hold one entry per impression"),
    ],
)
def test_from_columns_bad_input_names_the_argument(kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        InterleavingBatch.from_columns("balanced", **kwargs)


def test_from_columns_refuses_an_unknown_method_object():
    with pytest.raises(InvalidArgument, match="`method` must be a method name"):
        InterleavingBatch.from_columns(3, [[0, 1]])


def test_params_given_as_a_mapping_match_the_methods_configuration():
    method = TeamDraft(length=2)
    batch = InterleavingBatch.from_columns("team_draft", [[0, 1]], params=dict(method.params()))
    assert batch.params == method.params()
    method.credit_batch(batch, np.array([[True, False]]))
    with pytest.raises(InvalidArgument, match="not by this team_draft"):
        TeamDraft(length=3).credit_batch(batch, np.array([[True, False]]))


# --- shared rankings, indexing, immutability ------------------------------------------------------


def test_shared_batch_has_one_ranking_length_row_per_impression():
    batch = TeamDraft(length=3).interleave_batch([[1, 2, 3, 4], [5, 6]], 4, rng=0)
    assert batch.ranking_lengths.tolist() == [[4, 2]] * 4
    assert batch.rank_table is not None


@pytest.mark.parametrize("index", [3, -1, 10**30, 1.0, "0", True])
def test_an_index_outside_the_batch_is_a_named_error(index):
    batch = TeamDraft(length=3).interleave_batch([[1, 2, 3], [4, 5, 6]], 3, rng=0)
    with pytest.raises(InvalidArgument, match="`index`"):
        batch[index]


def test_iterating_gives_every_record():
    method = TeamDraft(length=3)
    batch = method.interleave_batch([[1, 2, 3], [4, 5, 6]], 5, rng=0)
    assert list(batch) == [batch[i] for i in range(5)]


def test_a_batch_is_immutable():
    batch = TeamDraft(length=3).interleave_batch([[1, 2, 3], [4, 5, 6]], 2, rng=0)
    with pytest.raises(AttributeError, match="immutable"):
        batch.teams = None
    assert "2 impressions x 3 positions" in repr(batch)


def test_keys_and_seeds_from_columns_reach_the_records():
    batch = InterleavingBatch.from_columns(
        "balanced",
        [[0, 1]],
        ranks=[[[0, 1]], [[1, 0]]],
        ranking_lengths=[[2, 2]],
        keys=["request-1"],
        seeds=[np.int64(7)],
    )
    assert batch[0].key == "request-1"
    assert type(batch[0].seed) is int


def test_items_from_columns_give_the_logged_records_back():
    method = Balanced()
    records = logged_records(method, n=8)
    teams, ranks, lengths = columns_of(records)
    batch = InterleavingBatch.from_columns(
        method,
        teams,
        ranks,
        lengths,
        items=[np.array(r.items) for r in records],
        keys=[r.key for r in records],
        seeds=[r.seed for r in records],
    )
    assert list(batch) == records


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([[1, 2]], r"one row of shown ids per impression \(2\)"),
        ([[1, 2], "ab"], r"`items\[1\]` must be a list of at most 2 shown ids"),
        ([[1, 2], [3, 4, 5]], r"`items\[1\]` must be a list of at most 2"),
        ([[1, 2], [3, "4"]], r"`items\[1\]` must hold int or str ids of one type"),
        ([[1, 2], [3, 3]], r"`items\[1\]` repeats an id"),
        ([[1, 2], [[3], 4]], r"`items\[1\]` must hold int or str ids"),
    ],
)
def test_bad_items_are_named(items, message):
    with pytest.raises(InvalidArgument, match=message):
        InterleavingBatch.from_columns("team_draft", [[0, 1], [1, 0]], items=items)


def test_items_and_n_shown_must_agree():
    with pytest.raises(InvalidArgument, match="`n_shown` disagrees with the number of `items`"):
        InterleavingBatch.from_columns("team_draft", [[0, 1]], items=[[1, 2]], n_shown=[1])
