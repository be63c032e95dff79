"""The Interleaving record: validation on the way in from logs, relabelling, text, numpy input."""

from __future__ import annotations

import enum
import json

import numpy as np
import pytest

from interleave import DataWarning, Interleaver, Interleaving, InvalidArgument, TeamDraft
from interleave.ranking import CREDITED_BY_RANKS, SCHEMA_VERSION, validate_rankings


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
        (lambda d: d.update(teams=[0, 1, 2, 0]), r"`record\['teams'\]\[2\]` must be in \[-1, 2\)"),
        (lambda d: d.update(items=[1, 1, 2, 3]), "duplicate id 1 at positions 0 and 1"),
        (lambda d: d.update(items=[1, "2", 3, 4]), "mixes int and str ids"),
        (
            lambda d: d.update(ranks=[[0, 1, 2, 9], [0, 1, 2, 3]]),
            r"`record\['ranks'\]\[0\]\[3\]` must be in \[-1, 4\), got 9",
        ),
        (
            lambda d: d.update(ranks=[[0, 0, 1, -1], [0, 1, 2, 3]]),
            r"`ranks\[0\]` must hold distinct ranks",
        ),
        (lambda d: d.update(ranks=[[0, 1, 2], [0, 1, 2, 3]]), "one entry per shown item"),
        (lambda d: d.update(ranking_lengths=[4]), "for each of >= 2 rankers"),
        (lambda d: d.update(params=[1, 2]), "must be a mapping"),
        # issue 13: tampered records that used to be accepted or to raise raw errors
        (lambda d: d.update(teams=[None, 0, 1, 0]), r"`record\['teams'\]\[0\]` must be an int"),
        (lambda d: d.update(teams=["a", 0, 1, 0]), r"`record\['teams'\]\[0\]` must be an int"),
        (lambda d: d.update(teams=[float("inf"), 0, 1, 0]), "must be an int, got inf"),
        (lambda d: d.update(teams=[float("nan"), 0, 1, 0]), "must be an int, got nan"),
        (lambda d: d.update(teams=[True, 0, 1, 0]), "must be an int, got True"),
        (lambda d: d.update(teams=[0.7, 1, 0, 1]), "must be an int, got 0.7"),
        (lambda d: d.update(ranks=5), r"`record\['ranks'\]` must be a list, got 5"),
        (lambda d: d.update(items=None), r"`record\['items'\]` must be a list, got None"),
        (lambda d: d.update(items="3124"), r"`record\['items'\]` must be a list, got '3124'"),
        (
            lambda d: d.update(items=[1, 2, None, 3]),
            r"`record\['items'\]\[2\]` must be an int or str",
        ),
        (
            lambda d: d.update(items=[1.0, 2, 3, 4]),
            r"`record\['items'\]\[0\]` must be an int or str",
        ),
        (lambda d: d.update(items=[10**5000, 2, 3, 4]), "outside the 64-bit range"),
        (
            lambda d: d.update(ranking_lengths=[0, 4]),
            r"`record\['ranking_lengths'\]\[0\]` must be in \[1, 18446744073709551616\), got 0",
        ),
        (lambda d: d.update(ranking_lengths=[4.0, 4]), "must be an int, got 4.0"),
        (lambda d: d.update(seed="x"), r"`record\['seed'\]` must be an int or None, got 'x'"),
        (lambda d: d.update(seed=1.5), r"`record\['seed'\]` must be an int or None"),
        (lambda d: d.update(key=1.5), r"`record\['key'\]` must be a str or int request key"),
        (lambda d: d.update(key=[]), r"`record\['key'\]` must be a str or int request key"),
        (lambda d: d.update(key=[1, [2]]), r"`record\['key'\]\[1\]` must be a str or int"),
        (lambda d: d.update(key={"a": 1}), r"`record\['key'\]` must be a str or int request key"),
        (lambda d: d.update(method=None), r"`record\['method'\]` must be a method name"),
        (lambda d: d.update(params={"length": float("nan")}), "must be a JSON scalar"),
        (lambda d: d.update(params={"length": [4]}), "must be a JSON scalar"),
        (lambda d: d.update(params={1: 4}), "keys must be str"),
        (lambda d: d.update(params={"length": 2**64}), "64-bit int"),
        (lambda d: d.update(schema_version=3), "schema_version'\\]` is 3; this interleave reads"),
        (lambda d: d.update(schema_version="2"), "schema_version'\\]` is '2'"),
        (lambda d: d.update(schema_version=0), "schema versions 1 to 2"),
    ],
)
def test_hand_edited_records_are_rejected_with_the_field_named(edit, message):
    payload = record().to_dict()
    edit(payload)
    with pytest.raises(InvalidArgument, match=message):
        Interleaving.from_dict(payload)


def test_issue_13_tampered_record_is_refused():
    # Was accepted: items became characters, teams truncated, the key a list, the seed a str.
    tampered = {
        **record().to_dict(),
        "teams": [0.7, 1, 0, 1],
        "items": "3124",
        "key": [1],
        "seed": "x",
    }
    with pytest.raises(InvalidArgument, match=r"`record\['items'\]` must be a list"):
        Interleaving.from_dict(tampered)


def test_to_dict_carries_the_schema_version():
    assert record().to_dict()["schema_version"] == SCHEMA_VERSION == 2


def test_an_unversioned_record_reads_as_version_1():
    old = record().to_dict()
    del old["schema_version"]
    assert Interleaving.from_dict(old) == record()
    # Version 1 had no tuple keys: a list there is a tampered key, not a tuple.
    with pytest.raises(InvalidArgument, match=r"`record\['key'\]` must be a str or int"):
        Interleaving.from_dict({**old, "key": ["u", 1]})


def test_from_dict_ignores_a_logs_own_columns():
    assert Interleaving.from_dict({**record().to_dict(), "impression_id": 9}) == record()


def test_a_numpy_seed_and_tuple_key_make_a_json_record_that_round_trips():
    il = TeamDraft(length=4).interleave(
        [[1, 2, 3, 4], [3, 5, 1, 6]], key=("user-7", np.int64(42)), seed=np.int64(3)
    )
    assert type(il.seed) is int
    assert il.key == ("user-7", 42)
    assert type(il.key[1]) is int
    text = json.dumps(il.to_dict())
    assert json.loads(text)["key"] == ["user-7", 42]
    assert Interleaving.from_dict(json.loads(text)) == il
    # The same request as a plain tuple of ints and strs gets the same list.
    plain = TeamDraft(length=4).interleave([[1, 2, 3, 4], [3, 5, 1, 6]], key=("user-7", 42), seed=3)
    assert plain == il


def test_numpy_ints_in_a_record_become_ints():
    payload = record().to_dict()
    payload["teams"] = np.array(payload["teams"])
    payload["ranking_lengths"] = [np.int64(4), np.uint8(4)]
    assert Interleaving.from_dict(payload) == record()


def test_a_record_with_out_of_range_teams_fails_at_construction():
    # Was an IndexError in credit.
    with pytest.raises(
        InvalidArgument, match=r"`teams` must be ranker indices \(ints\) in \[-1, 2\)"
    ):
        Interleaving("team_draft", (1, 2), (7, 0), ((0, 1), (1, 0)), (2, 2))
    with pytest.raises(InvalidArgument, match="`teams` must be ranker indices"):
        Interleaving("team_draft", (1, 2), (-2, 0), ((0, 1), (1, 0)), (2, 2))
    with pytest.raises(InvalidArgument, match="`teams` must be ranker indices"):
        Interleaving("team_draft", (1, 2), (0.5, 0), ((0, 1), (1, 0)), (2, 2))
    with pytest.raises(InvalidArgument, match="one entry per shown item"):
        Interleaving("team_draft", (1, 2), (0,), ((0, 1), (1, 0)), (2, 2))
    with pytest.raises(InvalidArgument, match=">= 2 rankers"):
        Interleaving("team_draft", (1, 2), (0, 0), ((0, 1),), (2,))


def test_a_hand_built_record_names_containers_that_are_not_lists():
    # Found by the fuzz suite: these were raw TypeErrors.
    with pytest.raises(InvalidArgument, match="`ranking_lengths` must be a list, got None"):
        Interleaving("team_draft", (), (), (), None)
    with pytest.raises(InvalidArgument, match=r"`ranks\[1\]` must be a list, got None"):
        Interleaving("team_draft", (1,), (0,), ((0,), None), (1, 1))
    il = Interleaving("team_draft", (1,), (0,), ((0,), [0]), (1, 1))
    assert il.ranks == ((0,), (0,))


def test_lists_given_by_hand_become_tuples():
    il = Interleaving("team_draft", [1, 2], [0, 1], [[0, -1], [-1, 0]], [1, 1])
    assert il.items == (1, 2)
    assert il.ranks == ((0, -1), (-1, 0))
    with pytest.raises(InvalidArgument, match="`items` must be a list"):
        Interleaving("team_draft", "12", [0, 1], [[0, -1], [-1, 0]], [1, 1])


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


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (["a", "b"], r"`order\[0\]` must be an int, got 'a'"),
        ([0, 2], r"`order\[1\]` must be in \[0, 2\), got 2"),
        ([1, -1], r"`order\[1\]` must be in \[0, 2\), got -1"),
        ([True, False], r"`order\[0\]` must be an int, got True"),
        ("10", "`order` must be a permutation of range"),
        (None, "`order` must be a permutation of range"),
    ],
)
def test_relabel_names_a_bad_order(order, message):
    with pytest.raises(InvalidArgument, match=message):
        record().relabel(order)


def test_relabel_accepts_numpy_orders():
    assert record().relabel(np.array([1, 0])) == record().relabel([1, 0])


def test_from_rankings_computes_ranks_for_a_list_shown_elsewhere():
    il = Interleaving.from_rankings("balanced", ["b", "x", "a"], [["a", "b"], ["b", "x"]])
    assert il.ranks == ((1, -1, 0), (0, 1, -1))
    assert il.teams == (-1, -1, -1)


def test_from_rankings_needs_teams_for_a_team_credited_method():
    # Was: every click credited 0, silently.
    with pytest.raises(InvalidArgument, match="`teams` is required for 'team_draft'"):
        Interleaving.from_rankings("team_draft", [1, 3], [[1, 2], [3, 4]])
    il = Interleaving.from_rankings(
        "team_draft", [1, 3], [[1, 2], [3, 4]], teams=[0, 1], params=TeamDraft(length=2).params()
    )
    assert TeamDraft(length=2).credit(il, [1]).scores == (0.0, 1.0)


def test_every_method_that_credits_without_teams_may_skip_them():
    # The methods declare what their credit reads; ranking.py cannot import them, so its list
    # is checked against theirs here.
    for cls in Interleaver.__subclasses__():
        if "teams" not in cls.credit_reads:
            assert cls.name in CREDITED_BY_RANKS, cls.name
    assert TeamDraft.name not in CREDITED_BY_RANKS


def test_from_rankings_checks_teams_and_items():
    with pytest.raises(InvalidArgument, match=r"`teams\[1\]` must be in \[-1, 2\)"):
        Interleaving.from_rankings("team_draft", [1, 3], [[1, 2], [3, 4]], teams=[0, 2])
    with pytest.raises(InvalidArgument, match="`items` has str ids but the rankings have int"):
        Interleaving.from_rankings("balanced", ["1"], [[1, 2], [3, 4]])
    with pytest.raises(InvalidArgument, match="duplicate id"):
        Interleaving.from_rankings("balanced", [1, 1], [[1, 2], [3, 4]])


def test_a_shown_item_in_no_ranking_warns_that_its_clicks_credit_nobody():
    with pytest.warns(DataWarning, match=r"`items` at positions \[1\] \(e.g. 9\) are in none"):
        il = Interleaving.from_rankings("balanced", [1, 9, 3], [[1, 2], [3, 4]])
    assert il.ranks == ((0, -1, -1), (-1, -1, 0))


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


def test_a_numpy_int_beside_a_python_int_is_one_int_ranking():
    # Was: "mixes int and str ids".
    lists, positions = validate_rankings([[1, np.int64(2), np.uint64(3)], [2, 1]])
    assert lists[0] == [1, 2, 3]
    assert all(type(x) is int for x in lists[0])
    assert positions[0] == {1: 0, 2: 1, 3: 2}


def test_intenum_and_str_subclass_ids_become_their_values():
    class Item(enum.IntEnum):
        A = 1
        B = 2

    class Tag(str, enum.Enum):  # noqa: UP042 (str() of this is "Tag.X"; the id is "x")
        X = "x"

    lists, _ = validate_rankings([[Item.A, Item.B], [2, 1]])
    assert lists == [[1, 2], [2, 1]]
    assert all(type(x) is int for x in lists[0])
    lists, _ = validate_rankings([[Tag.X, "y"], ["y"]])
    assert lists[0] == ["x", "y"]
    assert type(lists[0][0]) is str


def test_uint64_ids_beyond_int64_are_ints_and_larger_ones_are_named():
    top = np.uint64(2**64 - 1)
    lists, _ = validate_rankings([np.array([top, 5], dtype=np.uint64), [5]])
    assert lists[0] == [2**64 - 1, 5]
    with pytest.raises(InvalidArgument, match=r"`rankings\[0\]\[1\]` is the int id .* 64-bit"):
        validate_rankings([[1, 2**64], [1]])
    with pytest.raises(InvalidArgument, match=r"<int of 16610 bits>, outside the 64-bit range"):
        validate_rankings([[10**5000], [1]])


def test_a_true_mixture_names_an_int_and_a_str():
    with pytest.raises(
        InvalidArgument, match=r"mixes int and str ids \(1 at position 0, 'a' at 1\)"
    ):
        validate_rankings([[1, "a"], [1]])


def test_bools_are_not_ids():
    with pytest.raises(InvalidArgument, match=r"bools are not ids"):
        validate_rankings([[True, False], [1]])
    with pytest.raises(InvalidArgument, match=r"bools are not ids"):
        validate_rankings([[np.bool_(True)], [1]])


def test_a_huge_lazy_ranking_is_refused_before_it_is_built():
    with pytest.raises(InvalidArgument, match="more than MAX_RANKING_LENGTH"):
        validate_rankings([range(10**12), [1]])
    with pytest.raises(InvalidArgument, match="more than 2\\*\\*63 items"):
        validate_rankings([range(10**30), [1]])


def test_tuples_and_ranges_are_rankings_too():
    lists, _ = validate_rankings(((1, 2), range(3, 5)))
    assert lists == [[1, 2], [3, 4]]


def test_a_two_dimensional_ranking_is_rejected():
    with pytest.raises(InvalidArgument, match="must be one-dimensional"):
        validate_rankings([np.array([[1, 2]]), [1]])


def test_multileave_limit_is_named():
    with pytest.raises(InvalidArgument, match="compares exactly 2; use TeamDraft or Probabilistic"):
        validate_rankings([[1], [2], [3]], max_rankers=2)
