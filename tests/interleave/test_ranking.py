"""The Interleaving record: validation on the way in from logs, relabelling, text, numpy input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interleave import Interleaving, InvalidArgument, TeamDraft
from interleave.ranking import validate_rankings


def record():
    return TeamDraft(length=4).interleave([[1, 2, 3, 4], [3, 5, 1, 6]], key="request-42", seed=7)


def test_record_is_frozen_and_not_unpackable():
    il = record()
    with pytest.raises(AttributeError):
        il.items = ()
    with pytest.raises(TypeError):
        _a, _b = il


def test_record_renders_as_one_line_of_text():
    text = str(record())
    assert "\n" not in text
    assert text.startswith("team_draft key='request-42' seed=7: [")


def test_record_dict_is_json_with_the_configuration():
    payload = json.loads(json.dumps(record().to_dict()))
    assert payload["method"] == "team_draft"
    assert payload["params"] == {"common_prefix": True, "length": 4}
    assert payload["key"] == "request-42"
    assert payload["seed"] == 7


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("items"), r"lacks the field\(s\) \['items'\]"),
        (lambda d: d.update(teams=[0, 1]), "one entry per shown item"),
        (lambda d: d.update(teams=[0, 1, 2, 0]), r"`teams` must be ranker indices in \[-1, 2\)"),
        (lambda d: d.update(items=[1, 1, 2, 3]), "duplicate id"),
        (lambda d: d.update(items=[1, "2", 3, 4]), "ids of one type"),
        (
            lambda d: d.update(ranks=[[0, 1, 2, 9], [0, 1, 2, 3]]),
            r"`ranks\[0\]` must hold distinct ranks",
        ),
        (lambda d: d.update(ranking_lengths=[4]), "ranks and ranking_lengths"),
        (lambda d: d.update(params=[1, 2]), "must be a mapping"),
    ],
)
def test_hand_edited_records_are_rejected_with_the_field_named(edit, message):
    payload = record().to_dict()
    edit(payload)
    with pytest.raises(InvalidArgument, match=message):
        Interleaving.from_dict(payload)


def test_from_dict_needs_a_mapping():
    with pytest.raises(InvalidArgument, match=r"must be a mapping made by Interleaving\.to_dict"):
        Interleaving.from_dict([1, 2])


def test_relabel_swaps_teams_ranks_and_lengths():
    il = TeamDraft(length=3).interleave([[1, 2, 3], [4, 5]], key="k", seed=0)
    swapped = il.relabel([1, 0])
    assert swapped.teams == tuple(1 - t for t in il.teams)
    assert swapped.ranks == il.ranks[::-1]
    assert swapped.ranking_lengths == (2, 3)
    assert swapped.relabel([1, 0]) == il


def test_relabel_needs_a_permutation():
    with pytest.raises(
        InvalidArgument, match=r"`order` must be a permutation of range\(2\), got \[0, 0\]"
    ):
        record().relabel([0, 0])


def test_from_rankings_computes_ranks_for_a_list_shown_elsewhere():
    il = Interleaving.from_rankings("balanced", ["b", "x", "a"], [["a", "b"], ["b", "x"]])
    assert il.ranks == ((1, -1, 0), (0, 1, -1))
    assert il.teams == (-1, -1, -1)


def test_numpy_rankings_are_accepted_as_python_ids():
    lists, positions = validate_rankings(np.array([[3, 1, 2], [2, 3, 4]]))
    assert lists == [[3, 1, 2], [2, 3, 4]]
    assert all(type(x) is int for x in lists[0])
    assert positions[1] == {2: 0, 3: 1, 4: 2}


def test_lists_of_numpy_scalars_become_python_ids():
    lists, _ = validate_rankings([[np.int64(1), np.int32(2)], [3]])
    assert lists == [[1, 2], [3]]
    assert type(lists[0][0]) is int
    lists, _ = validate_rankings([[np.str_("a")], ["b"]])
    assert type(lists[0][0]) is str


def test_other_id_types_are_rejected_with_a_hint():
    with pytest.raises(InvalidArgument, match=r"convert ids with int\(\) or str\(\) first"):
        validate_rankings([[1.5], [2]])


def test_tuples_and_ranges_are_rankings_too():
    lists, _ = validate_rankings(((1, 2), range(3, 5)))
    assert lists == [[1, 2], [3, 4]]


def test_a_two_dimensional_ranking_is_rejected():
    with pytest.raises(InvalidArgument, match="must be one-dimensional"):
        validate_rankings([np.array([[1, 2]]), [1]])


def test_multileave_limit_is_named():
    with pytest.raises(InvalidArgument, match="compares exactly 2; use TeamDraft or Probabilistic"):
        validate_rankings([[1], [2], [3]], max_rankers=2)
