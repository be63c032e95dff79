"""Hostile input to every public entry point of interleave.clicks (issues 7 and 13).

The rule (tests/fuzzing.py): only the library's own errors escape, nothing hangs, nothing allocates
without a bound it checks first, and nothing wrong is accepted. The first part replays each
finding of the fuzzing run as a named case; the second part lets hypothesis search around them
(readers on random bytes and on mutated logs, every model's simulate, click_probabilities, fit
and evaluate, and UserPopulation), with probabilities checked to stay in [0, 1].
"""

from __future__ import annotations

import gzip
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    LogFormatError,
    RankCTR,
    UserPopulation,
    limits,
    read_pyclick_sessions,
    read_yandex_relpred,
    validate_sessions,
)
from interleave.errors import InvalidArgument
from tests.fuzzing import call_bounded

# A hostile call either answers or names the problem within these bounds.
SECONDS = 10.0
EXTRA_BYTES = 1 << 30


def bounded(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    return call_bounded(fn, *args, max_seconds=SECONDS, max_extra_bytes=EXTRA_BYTES, **kwargs)


def refused(fn: Any, *args: Any, match: str, **kwargs: Any) -> InvalidArgument:
    """The call raises our own error and its message matches ``match`` (names the argument)."""
    status, error = bounded(fn, *args, **kwargs)
    assert status == "error", f"accepted: {error!r}"
    assert isinstance(error, InvalidArgument)
    assert re.search(match, str(error)), str(error)
    return error


LOG = pl.DataFrame(
    {
        "query": ["a", "b", "a"],
        "items": [[1, 2, 3], [4, 5, 6], [3, 2, 1]],
        "clicks": [[True, False, False], [False, False, True], [False, True, False]],
        "relevance": [[0, 1, 2], [2, 1, 0], [1, 1, 0]],
    }
)
NAVIGATIONAL = CascadeModel.preset("navigational", grades=3)


@pytest.fixture(scope="module")
def by_document() -> SDBN:
    return SDBN().fit(LOG)


# -- readers: the findings ---------------------------------------------------------------------


def write_bytes(folder: Path, data: bytes, name: str = "log") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


READERS = [read_pyclick_sessions, read_yandex_relpred]
GOOD = {
    read_pyclick_sessions: b"q\t1,2,3 : 2;\nq\t1,2,3 :;\n",
    read_yandex_relpred: b"1\t0\tQ\t7\t0\t1\t2\t3\n1\t4\tC\t2\n",
}


@pytest.mark.parametrize("reader", READERS)
def test_invalid_utf8_names_file_and_line(reader: Any, tmp_path: Path) -> None:
    path = write_bytes(tmp_path, GOOD[reader] + b"\xff\xfe" + GOOD[reader])
    error = refused(reader, path, match=rf"{re.escape(str(path))}, line 3: expected UTF-8 text")
    assert isinstance(error, LogFormatError)
    assert error.line_number == 3


@pytest.mark.parametrize("reader", READERS)
def test_a_truncated_gzip_file_is_named_not_eof(reader: Any, tmp_path: Path) -> None:
    whole = gzip.compress(GOOD[reader] * 200)
    path = write_bytes(tmp_path, whole[: len(whole) // 2], "log.gz")
    refused(
        reader,
        path,
        match=rf"{re.escape(str(path))}, line \d+: expected a complete, uncorrupted gzip",
    )


@pytest.mark.parametrize("reader", READERS)
def test_a_corrupt_gzip_body_is_named(reader: Any, tmp_path: Path) -> None:
    whole = bytearray(gzip.compress(GOOD[reader] * 50))
    whole[12:20] = b"\x00" * 8
    refused(reader, write_bytes(tmp_path, bytes(whole)), match=r"expected a complete, uncorrupted")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("q\t1,9223372036854775808,3 : 1;", "9223372036854775808"),  # 2^63: beyond Int64
        ("q\t1,2,3 : 18446744073709551616;", "18446744073709551616"),  # a clicked id too
        ("q\t1_000,2 : 2;", "1_000"),  # int("1_000") == 1000 in Python
        ("q\t\u0661\u0662,2 : 2;", "\u0661\u0662"),  # Arabic-Indic digits: int() reads 12
        ("q\t+5,2 : 2;", "+5"),
        ("q\t-5,2 : 2;", "-5"),
        ("q\t1\u00a0,2 : 2;", "1\u00a0"),  # a no-break space is not ASCII whitespace
    ],
)
def test_pyclick_ids_follow_the_strict_ascii_digit_grammar(
    tmp_path: Path, text: str, found: str
) -> None:
    path = write_bytes(tmp_path, ("q\t5,6 : 6;\n" + text).encode())
    error = refused(
        read_pyclick_sessions,
        path,
        match=r"line 2: expected integer document ids separated by ',' \(non-negative integers "
        r"written in ASCII digits, at most 9223372036854775807",
    )
    assert repr(found)[1:-1] in str(error)  # the message shows the session with !r


@pytest.mark.parametrize(
    "line",
    [
        "9223372036854775808\t0\tQ\t7\t0\t1\t2",  # session id 2^63
        "1\t0\tQ\t7\t1_000\t1\t2",
        "1\t0\tQ\t7\t0\t1\t\u0663",
        "1\t+0\tQ\t7\t0\t1\t2",
    ],
)
def test_relpred_numbers_follow_the_strict_ascii_digit_grammar(tmp_path: Path, line: str) -> None:
    path = write_bytes(tmp_path, f"1\t0\tQ\t7\t0\t1\t2\n{line}\n".encode())
    refused(read_yandex_relpred, path, match=r"line 2: expected integer fields in 'SessionID")


def test_a_valid_id_at_the_int64_bound_is_read(tmp_path: Path) -> None:
    top = 2**63 - 1
    path = write_bytes(tmp_path, f"q\t{top},007 : {top} ;".encode())
    assert read_pyclick_sessions(path).rows() == [("q", [top, 7], [True, False])]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("path", [None, 3, b"/tmp", ["log"], "with\x00nul", ""])
def test_a_path_that_is_not_a_file_name_is_refused_naming_path(reader: Any, path: Any) -> None:
    refused(reader, path, match=r"`path`")


@pytest.mark.parametrize("reader", READERS)
def test_an_unreadable_file_is_refused_naming_path(
    reader: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_bytes(tmp_path, GOOD[reader])

    def denied(self: Path, *args: Any, **kwargs: Any) -> Any:
        # What open() raises for a mode-000 file (tests may run as root, who can read it).
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    refused(reader, path, match=r"`path` .* cannot be read: .*Permission denied")


@pytest.mark.parametrize("reader", READERS)
def test_an_empty_file_gives_an_empty_frame_of_the_schema(reader: Any, tmp_path: Path) -> None:
    status, frame = bounded(reader, write_bytes(tmp_path, b""))
    assert status == "ok"
    assert frame.height == 0
    assert frame.schema["items"] == pl.List(pl.Int64)


@pytest.mark.parametrize("reader", READERS)
def test_pieces_cut_inside_a_record_read_the_same(
    reader: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A piece far smaller than a line or session makes every record span several reads.
    text = GOOD[reader] * 40 + b"\n\n" + GOOD[reader] * 3
    path = write_bytes(tmp_path, gzip.compress(text), "log.gz")
    whole = reader(path)
    monkeypatch.setattr("interleave.clicks.readers.CHUNK_BYTES", 7)
    assert reader(path).equals(whole)
    bad = write_bytes(tmp_path, text + b"\n\xff", "bad")
    line = text.count(b"\n") + 2
    refused(reader, bad, match=rf"line {line}: expected UTF-8")


# -- readers: hypothesis ---------------------------------------------------------------------

# Pieces a log is made of, so random logs are often nearly right and reach deep into the parse.
ATOMS = [
    "q", "7", "0", "1", "12", "9223372036854775807", "9223372036854775808", "1_0", "+1", "-1",
    "\u0661", " ", "\t", ",", ":", ";", "\n", "\r\n", "Q", "C", "", "\u00a0", "\x00", "\u00e9",
]  # fmt: skip


def relpred_lines() -> st.SearchStrategy[str]:
    query = st.tuples(
        st.sampled_from(["1", "2", "3"]),
        st.sampled_from(["0", "5"]),
        st.sampled_from(["7", "8"]),
        st.sampled_from(["0", "1"]),
        st.lists(st.sampled_from(["10", "11", "12"]), min_size=1, max_size=4),
    ).map(lambda t: "\t".join([t[0], t[1], "Q", t[2], t[3], *t[4]]))
    click = st.tuples(st.sampled_from(["1", "2", "3"]), st.sampled_from(["10", "11", "12", "9"]))
    return st.one_of(query, click.map(lambda t: f"{t[0]}\t9\tC\t{t[1]}"))


@settings(max_examples=150)
@given(data=st.binary(max_size=400), gz=st.booleans(), reader=st.sampled_from(READERS))
def test_readers_on_random_bytes_only_raise_our_errors(data: bytes, gz: bool, reader: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_bytes(Path(tmp), gzip.compress(data) if gz else data)
        status, frame = bounded(reader, path)
    if status == "ok":
        assert frame.schema["items"] == pl.List(pl.Int64)
        assert frame["items"].list.len().equals(frame["clicks"].list.len())


@settings(max_examples=150)
@given(
    atoms=st.lists(st.sampled_from(ATOMS), max_size=60),
    reader=st.sampled_from(READERS),
    chunk=st.sampled_from([3, 17, 1 << 22]),
)
def test_readers_on_mutated_logs_only_raise_our_errors(
    atoms: list[str], reader: Any, chunk: int
) -> None:
    text = "".join(atoms)
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr("interleave.clicks.readers.CHUNK_BYTES", chunk)
        path = write_bytes(Path(tmp), text.encode())
        status, frame = bounded(reader, path)
    if status == "ok":
        assert frame["items"].list.len().equals(frame["clicks"].list.len())


@settings(max_examples=150)
@given(
    atoms=st.lists(st.sampled_from([*ATOMS, "\udcff"]), max_size=60),
    reader=st.sampled_from(READERS),
    chunk=st.sampled_from([1, 3, 17]),
)
def test_readers_answer_the_same_whatever_the_piece_size(
    atoms: list[str], reader: Any, chunk: int
) -> None:
    # "\udcff" becomes the invalid byte 0xff: a UTF-8 error somewhere in the log.
    data = "".join(atoms).encode("utf-8", errors="surrogateescape")
    answers = []
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        path = write_bytes(Path(tmp), data)
        for size in (chunk, 1 << 22):
            patch.setattr("interleave.clicks.readers.CHUNK_BYTES", size)
            answers.append(bounded(reader, path))
    (small_status, small), (whole_status, whole) = answers
    assert small_status == whole_status
    if whole_status == "ok":
        assert small.equals(whole)
    else:
        assert str(small) == str(whole)  # the first error in file order, named the same way


def reference_pyclick(text: str) -> list[tuple[str, list[int], list[bool]]]:
    """A per-session parse of well-formed PyClick logs, written independently of the reader."""
    rows = []
    for piece in re.split(r"[;\n]", text):
        session = piece.strip()
        if session:
            query, rest = session.split("\t", 1)
            shown, clicked = rest.split(":", 1)
            docs = [int(d) for d in shown.split(",")]
            hits = {int(c) for c in clicked.split(",") if c.strip()}
            rows.append((query.strip(), docs, [d in hits for d in docs]))
    return rows


@settings(max_examples=100)
@given(
    sessions=st.lists(
        st.tuples(
            st.sampled_from(["q1", "98435_1", "x y"]),
            st.lists(
                st.integers(0, 2**63 - 1) | st.sampled_from([1, 2, 3]), min_size=1, max_size=5
            ),
            st.lists(st.sampled_from([1, 2, 3, 99]), max_size=4),
            st.sampled_from(["; ", ";\n", ";", "\n", ";\r\n"]),
        ),
        max_size=12,
    ),
    chunk=st.sampled_from([5, 64, 1 << 22]),
)
def test_pyclick_reader_agrees_with_a_per_session_parse(sessions: list, chunk: int) -> None:
    text = "".join(
        f"{q}\t{','.join(map(str, docs))} :{' , '.join(map(str, clicks))}{sep}"
        for q, docs, clicks, sep in sessions
    )
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr("interleave.clicks.readers.CHUNK_BYTES", chunk)
        frame = read_pyclick_sessions(write_bytes(Path(tmp), text.encode()))
    assert frame.rows() == reference_pyclick(text)


def reference_relpred(lines: list[str]) -> list[tuple] | str:
    """PyClick's rule line by line: a click marks the first rank of its URL on the session's
    latest page; returns the rows, or "orphan" for a click before its session's first page."""
    rows: list[list] = []
    latest: dict[str, int] = {}
    for line in lines:
        fields = line.split("\t")
        if fields[2] == "Q":
            latest[fields[0]] = len(rows)
            urls = [int(u) for u in fields[5:]]
            rows.append([int(fields[0]), int(fields[1]), fields[3], int(fields[4]), urls])
            rows[-1].append([False] * len(urls))
        else:
            if fields[0] not in latest:
                return "orphan"
            row = rows[latest[fields[0]]]
            if int(fields[3]) in row[4]:
                row[5][row[4].index(int(fields[3]))] = True
    return [tuple(r) for r in rows]


@settings(max_examples=100)
@given(lines=st.lists(relpred_lines(), max_size=15), chunk=st.sampled_from([9, 50, 1 << 22]))
def test_relpred_reader_agrees_with_a_line_by_line_parse(lines: list[str], chunk: int) -> None:
    expected = reference_relpred(lines)
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr("interleave.clicks.readers.CHUNK_BYTES", chunk)
        path = write_bytes(Path(tmp), "".join(f"{line}\n" for line in lines).encode())
        status, frame = bounded(read_yandex_relpred, path)
    if expected == "orphan":
        assert status == "error"
        assert "a query line of session" in str(frame)
    else:
        assert status == "ok", frame
        assert frame.rows() == expected


# -- click models: the findings ----------------------------------------------------------------


def test_uint64_items_beyond_int64_are_unseen_pairs(by_document: SDBN) -> None:
    items = np.array([2**64 - 1, 2, 3], dtype=np.uint64)
    status, p = bounded(by_document.click_probabilities, query="a", items=items, n_impressions=1)
    assert status == "ok"
    known = by_document.click_probabilities(query="a", items=[999, 2, 3], n_impressions=1)
    np.testing.assert_array_equal(p, known)  # 2^64 - 1 and 999 are both unseen: the prior


def test_a_model_fitted_on_uint64_ids_beyond_int64_predicts_them() -> None:
    top = 2**64 - 1
    log = LOG.with_columns(
        pl.Series("items", [[top, 2, 3], [4, 5, 6], [3, 2, top]], dtype=pl.List(pl.UInt64))
    )
    model = SDBN().fit(log)
    status, p = bounded(model.click_probabilities, query="a", items=[top, 2, 3], n_impressions=1)
    assert status == "ok"
    unseen = model.click_probabilities(query="a", items=[7, 2, 3], n_impressions=1)
    assert p[0, 0] != unseen[0, 0]  # the id was found in the table, not taken as unseen


def test_categorical_queries_are_read_as_their_strings(by_document: SDBN) -> None:
    items = [[1, 2, 3], [1, 2, 3]]
    as_str = by_document.click_probabilities(query=["a", "b"], items=items)
    categorical = pl.Series(["a", "b"], dtype=pl.Categorical)
    np.testing.assert_array_equal(
        by_document.click_probabilities(query=categorical, items=items), as_str
    )


@pytest.mark.parametrize(
    ("query", "match"),
    [
        (np.array([1, 2]), r"`query` must be a str or an array of 2 str .*int64"),
        ([None, "a"], r"`query` must be a str or an array of 2 str"),
        (["a", 5], r"`query` must be a str or an array of 2 str"),
        (np.array([["a", "b"]]), r"`query` .*shape \(1, 2\)"),
        (["a", "b", "c"], r"`query` must be a str or an array of 2 str .*shape \(3,\)"),
        (pl.Series(["a", None]), r"`query` .*1 null"),
        (3, r"`query` must be a str"),
    ],
)
def test_queries_must_be_str_one_per_impression(by_document: SDBN, query: Any, match: str) -> None:
    refused(by_document.click_probabilities, query=query, items=[[1, 2, 3], [1, 2, 3]], match=match)


@pytest.mark.parametrize(
    ("items", "match"),
    [
        ([2**70, 1, 2], r"`items` must hold ids of one type"),
        ([1, "x", None], r"`items` must hold ids of one type"),
        ([[1, 2, 3], [1, 2]], r"`items` must be an array of int or str ids"),
    ],
)
def test_items_that_no_id_type_holds_are_refused(by_document: SDBN, items: Any, match: str) -> None:
    refused(by_document.simulate, query="a", items=items, n_impressions=2, rng=1, match=match)


@pytest.mark.parametrize(
    ("propensity", "match"),
    [
        ("abc", r"`propensity` must be a real number or one real number per impression"),
        ([[1.0], [2.0, 3.0]], r"`propensity` must be a real number or one"),
        ([1.0, 2.0, 3.0], r"`propensity` must have one multiplier per impression, shape \(2,\)"),
        (-1.0, r"`propensity` must be finite and >= 0"),
        (np.inf, r"`propensity` must be finite and >= 0"),
    ],
)
def test_propensity_is_named_when_wrong(propensity: Any, match: str) -> None:
    for entry in (NAVIGATIONAL.simulate, NAVIGATIONAL.click_probabilities):
        refused(entry, [0, 1, 2], n_impressions=2, propensity=propensity, match=match)


@pytest.mark.parametrize(
    ("relevance", "match"),
    [
        ([[0, 1], [1]], r"`relevance` must be an integer array of relevance grades, got \[\[0"),
        (["a", "b"], r"`relevance` must be an integer array .*dtype <U1"),
        ([2**70, 1], r"`relevance` must be an integer array .*dtype object"),
        (np.array([2**64 - 1, 0], dtype=np.uint64), r"grade 18446744073709551615, outside"),
        ([[[0]]], r"`relevance` must have shape \(n_impressions, k\) or \(k,\)"),
    ],
)
def test_relevance_is_named_when_wrong(relevance: Any, match: str) -> None:
    kwargs = {"n_impressions": 1} if np.ndim(np.asarray(relevance, dtype=object)) == 1 else {}
    refused(NAVIGATIONAL.click_probabilities, relevance, match=match, **kwargs)


@pytest.mark.parametrize("grade", [10**12, 2**63 - 1])
def test_fitting_by_relevance_bounds_the_grade_before_allocating(grade: int) -> None:
    log = LOG.with_columns(pl.Series("relevance", [[0, 1, grade], [2, 1, 0], [1, 1, 0]]))
    refused(
        PBM(by="relevance").fit,
        log,
        match=rf"has grade {grade}, above the bound of 65536 grades .*limits.MAX_GRADES",
    )


def test_a_uint64_grade_of_2_to_64_minus_1_is_not_called_negative() -> None:
    top = 2**64 - 1
    log = LOG.with_columns(
        pl.Series("relevance", [[0, 1, top], [2, 1, 0], [1, 1, 0]], dtype=pl.List(pl.UInt64))
    )
    error = refused(CascadeModel().fit, log, match=rf"grade {top}, above the bound")
    assert "negative" not in str(error)
    refused(NAVIGATIONAL.evaluate, log, match=rf"grade {top}, outside this model's table")


def test_the_grade_bound_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_GRADES", 2)
    refused(PBM(by="relevance").fit, LOG, match=r"grade 2, above the bound of 2 grades")
    monkeypatch.setattr(limits, "MAX_GRADES", 3)
    assert PBM(by="relevance").fit(LOG).grades.height == 3


@pytest.mark.parametrize("n", [10**9, 10**12, 2**62])
def test_huge_impression_counts_fail_fast_with_the_bound(n: int) -> None:
    for entry in (NAVIGATIONAL.simulate, NAVIGATIONAL.click_probabilities):
        refused(
            entry,
            [0, 1, 2],
            n_impressions=n,
            match=rf"`n_impressions` = {n} with 3 results each makes {3 * n} result cells, above "
            rf"the bound of {limits.MAX_CELLS}",
        )


def test_the_cell_bound_is_exact_and_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CELLS", 12)
    assert NAVIGATIONAL.simulate([0, 1, 2], n_impressions=4, rng=1).shape == (4, 3)  # 12 cells
    refused(NAVIGATIONAL.simulate, [0, 1, 2], n_impressions=5, rng=1, match=r"15 result cells")
    users = UserPopulation.sample(3, rng=1)
    assert users.draw_users(12, rng=1).shape == (12,)
    refused(users.draw_users, 13, rng=1, match=r"`n_requests` must be <= 12")


def test_huge_population_sizes_fail_fast_with_the_bound() -> None:
    refused(UserPopulation.sample, 10**12, rng=1, match=r"`n_users` must be <= 100000000")
    users = UserPopulation.sample(10, rng=1)
    refused(users.draw_users, 10**12, rng=1, match=rf"`n_requests` must be <= {limits.MAX_CELLS}")
    refused(PBM.inverse_rank, 10**12, match=rf"`n_ranks` must be <= {limits.MAX_CELLS}")


@pytest.mark.parametrize(
    "model_class", [PBM, UBM, DBN, CascadeModel, lambda **kw: SDBN(estimator="em", **kw)]
)
def test_em_iterations_are_bounded(model_class: Any) -> None:
    refused(model_class, n_iterations=10**12, match=r"`n_iterations` must be <= 100000")


def test_a_huge_propensity_sigma_is_refused_not_overflowed() -> None:
    refused(
        UserPopulation.sample,
        10,
        propensity_sigma=1e200,
        rng=1,
        match=r"`propensity_sigma` must be in \[0, 10\], got 1e\+200",
    )
    status, users = bounded(UserPopulation.sample, 10, propensity_sigma=10.0, rng=1)
    assert status == "ok"
    assert np.all(np.isfinite(users.propensity))
    assert np.all(users.propensity >= 0)


def test_population_simulate_blames_the_argument_the_user_passed(by_document: SDBN) -> None:
    users = UserPopulation.sample(10, rng=1)
    error = refused(
        users.simulate,
        NAVIGATIONAL,
        np.array([0, 1, 2]),
        np.zeros((2, 3), dtype=int),
        rng=1,
        match=r"`relevance` has 2 lists but `users` has 3 entries",
    )
    assert "propensity" not in str(error)
    error = refused(
        users.simulate,
        by_document,
        np.array([0, 1, 2]),
        query="a",
        items=pl.Series([[1, 2, 3], [1, 2, 3]]),
        rng=1,
        match=r"`items` has 2 lists but `users` has 3 entries",
    )
    assert "n_impressions" not in str(error)
    refused(users.simulate, NAVIGATIONAL, [[0]], [0, 1], rng=1, match=r"`users` must be a 1-D")
    refused(users.simulate, NAVIGATIONAL, [0, 1], [[0, 1], [1]], rng=1, match=r"`relevance`")


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: PBM(by=np.array([1, 2])), r"`by` must be one of .*of type ndarray"),
        (lambda: SDBN(estimator=["em"]), r"`estimator` must be one of"),
        (lambda: CascadeModel.preset("random", grades=np.array([2, 3])), r"`grades` must be an"),
        (lambda: CascadeModel.preset(["random"]), r"`name` must be one of"),
        (lambda: CascadeModel([0.1], [0.1], stop=np.array(["every_rank"])), r"`stop` must be"),
    ],
)
def test_configuration_of_the_wrong_type_is_named(build: Any, match: str) -> None:
    refused(build, match=match)


# -- click models: hypothesis ------------------------------------------------------------------

GRADE_MODELS: list[ClickModel] = [
    NAVIGATIONAL,
    CascadeModel.preset("informational", grades=3, stop="every_rank"),
    PBM.from_grades([1.0, 0.5, 0.3], [0.1, 0.5, 0.9]),
    DBN.from_grades([0.2, 0.5, 0.9], [0.1, 0.3, 0.7], 0.9),
    DCM.from_grades([0.2, 0.5, 0.9], [0.9, 0.8, 0.7]),
    UBM.from_grades(np.full((3, 3), 0.5), [0.1, 0.5, 0.9]),
    DocumentCTR.from_grades([0.1, 0.2, 0.3]),
    GlobalCTR(0.3),
    RankCTR([0.3, 0.2, 0.1]),
]

hostile_scalars = st.one_of(
    st.none(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.booleans(),
)
hostile_arrays = st.one_of(
    hostile_scalars,
    st.lists(st.integers(-3, 5), min_size=0, max_size=4),
    st.lists(st.lists(st.integers(-(2**65), 5), max_size=4), max_size=3),
    st.lists(hostile_scalars, max_size=4),
    st.integers(0, 4).map(lambda k: np.arange(k, dtype=np.uint64)),
)


@settings(max_examples=200)
@given(
    model=st.sampled_from(GRADE_MODELS),
    relevance=hostile_arrays,
    n_impressions=st.one_of(st.none(), st.integers(-5, 10), st.sampled_from([10**9, 2**63])),
    propensity=st.one_of(st.none(), hostile_arrays),
    seed=st.integers(0, 2**32),
)
def test_grade_models_on_hostile_lists(
    model: ClickModel, relevance: Any, n_impressions: Any, propensity: Any, seed: int
) -> None:
    kwargs = {"n_impressions": n_impressions, "propensity": propensity}
    status, p = bounded(model.click_probabilities, relevance, **kwargs)
    if status == "ok":
        assert p.dtype == np.float64
        assert np.all((p >= 0.0) & (p <= 1.0))
    simulated, clicks = bounded(model.simulate, relevance, rng=seed, **kwargs)
    assert simulated == status  # the same inputs are refused or accepted by both
    if simulated == "ok":
        assert clicks.dtype == bool
        assert clicks.shape == p.shape


@settings(max_examples=100)
@given(
    query=st.one_of(
        st.text(max_size=3), st.lists(st.one_of(st.text(max_size=2), st.integers()), max_size=3)
    ),
    items=hostile_arrays,
    n_impressions=st.one_of(st.none(), st.integers(0, 3)),
)
def test_document_models_on_hostile_queries_and_items(
    by_document: SDBN, query: Any, items: Any, n_impressions: Any
) -> None:
    status, p = bounded(
        by_document.click_probabilities, query=query, items=items, n_impressions=n_impressions
    )
    if status == "ok":
        assert np.all((p >= 0.0) & (p <= 1.0))


@st.composite
def session_logs(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    scale = draw(st.sampled_from([1, 1, 2**40]))  # 2^40: grades far beyond limits.MAX_GRADES
    return pl.DataFrame(
        {
            "query": rng.choice(["a", "b"], size=n).tolist(),
            "items": rng.integers(0, 6, size=(n, k)).tolist(),
            "clicks": (rng.random((n, k)) < 0.4).tolist(),
            "relevance": (rng.integers(0, 3, size=(n, k)) * scale).tolist(),
        }
    )


FITTABLE = [
    lambda: SDBN(),
    lambda: SDBN(estimator="em", n_iterations=3),
    lambda: DCM(),
    lambda: PBM(n_iterations=3),
    lambda: UBM(n_iterations=3),
    lambda: DBN(n_iterations=3),
    lambda: DocumentCTR(),
    lambda: RankCTR(),
    lambda: GlobalCTR(),
    lambda: PBM(by="relevance", n_iterations=3),
    lambda: DBN(by="relevance", n_iterations=3),
    lambda: CascadeModel(n_iterations=3),
]


@settings(max_examples=120)
@given(log=session_logs(), make=st.sampled_from(FITTABLE), test=session_logs())
def test_fit_and_evaluate_only_raise_our_errors(log: pl.DataFrame, make: Any, test: Any) -> None:
    status, model = bounded(make().fit, log)
    if status != "ok":
        return
    status, evaluation = bounded(model.evaluate, test)
    if status == "ok":
        assert not np.isnan(evaluation.log_likelihood)
        assert evaluation.log_likelihood <= 0.0
        assert all(p >= 1.0 for p in evaluation.perplexity_by_rank)
    k = validate_sessions(log)
    if model.by == "relevance":
        status, p = bounded(model.click_probabilities, np.zeros(k, dtype=int), n_impressions=2)
    elif model.by == "document":
        status, p = bounded(model.click_probabilities, query="a", items=[0] * k, n_impressions=2)
    else:
        status, p = bounded(model.click_probabilities, np.zeros((2, k), dtype=int))
    if status == "ok":
        assert np.all((p >= 0.0) & (p <= 1.0))


@settings(max_examples=100)
@given(
    n_users=st.one_of(st.integers(-2, 50), st.sampled_from([10**9, 10**12]), hostile_scalars),
    activity_sigma=st.one_of(st.floats(-1, 1e300), hostile_scalars),
    propensity_sigma=st.one_of(st.floats(-1, 1e300), hostile_scalars),
    users=hostile_arrays,
    seed=st.integers(0, 2**32),
)
def test_user_population_only_raises_our_errors(
    n_users: Any, activity_sigma: Any, propensity_sigma: Any, users: Any, seed: int
) -> None:
    status, population = bounded(
        UserPopulation.sample,
        n_users,
        activity_sigma=activity_sigma,
        propensity_sigma=propensity_sigma,
        rng=seed,
    )
    if status != "ok":
        return
    assert np.isclose(population.activity.sum(), 1.0)
    assert np.all(np.isfinite(population.propensity) & (population.propensity >= 0))
    status, drawn = bounded(population.draw_users, 20, rng=seed)
    assert status == "ok"
    assert drawn.min() >= 0
    assert drawn.max() < population.n_users
    status, clicks = bounded(population.simulate, NAVIGATIONAL, users, [2, 0, 1], rng=seed)
    if status == "ok":
        assert clicks.shape == (len(users), 3)


CONSTRUCTORS = [
    lambda a, b, c: CascadeModel(a, b, stop=c),
    lambda a, b, c: CascadeModel.preset(c, grades=a),
    lambda a, b, c: PBM.from_grades(a, b),
    lambda a, b, c: PBM.inverse_rank(a),
    lambda a, b, c: UBM.from_grades(a, b),
    lambda a, b, c: DBN.from_grades(a, b, c),
    lambda a, b, c: SDBN.from_grades(a, b, c),
    lambda a, b, c: DCM.from_grades(a, b),
    lambda a, b, c: DocumentCTR.from_grades(a),
    lambda a, b, c: RankCTR(a),
    lambda a, b, c: GlobalCTR(a),
    lambda a, b, c: PBM(by=c, n_iterations=a),
    lambda a, b, c: SDBN(by="document", estimator=c, n_iterations=a),
]


@settings(max_examples=300)
@given(
    build=st.sampled_from(CONSTRUCTORS),
    a=hostile_arrays,
    b=hostile_arrays,
    c=st.one_of(hostile_scalars, st.sampled_from(["random", "every_rank", "em", "relevance"])),
)
def test_constructors_only_raise_our_errors(build: Any, a: Any, b: Any, c: Any) -> None:
    status, model = bounded(build, a, b, c)
    if status == "ok" and model.is_fitted and model.by == "relevance":
        # A model built from parameters answers for grade 0 with probabilities in [0, 1].
        k = len(model.examination) if isinstance(model, PBM | UBM) else 2
        status, p = bounded(model.click_probabilities, np.zeros(k, dtype=int), n_impressions=1)
        if status == "ok":
            assert np.all((p >= 0.0) & (p <= 1.0))


# Columns a session frame may arrive with: right, wrong dtype, nulls, nesting, ragged.
COLUMNS = {
    "query": [
        pl.Series(["a", "b"]),
        pl.Series([1, 2]),
        pl.Series(["a", None]),
        pl.Series(["a", "b"], dtype=pl.Categorical),
    ],
    "items": [
        pl.Series([[1, 2], [3, 4]]),
        pl.Series([[1, 2], [3]]),
        pl.Series([[2**64 - 1, 2], [3, 4]], dtype=pl.List(pl.UInt64)),
        pl.Series([["x", "y"], ["z", "w"]]),
        pl.Series([[1.5, 2.0], [3.0, 4.0]]),
        pl.Series([[1, None], [3, 4]]),
        pl.Series([[[1], [2]], [[3], [4]]]),
        pl.Series([None, [3, 4]], dtype=pl.List(pl.Int64)),
        pl.Series([1, 2]),
    ],
    "clicks": [
        pl.Series([[True, False], [False, True]]),
        pl.Series([[1, 0], [0, 1]]),
        pl.Series([[True], [False, True]]),
        pl.Series([[True, None], [False, True]]),
        pl.Series([[], []], dtype=pl.List(pl.Boolean)),
        pl.Series([True, False]),
    ],
    "relevance": [
        pl.Series([[0, 1], [2, 0]]),
        pl.Series([[-1, 1], [2, 0]]),
        pl.Series([[0, 2**64 - 1], [2, 0]], dtype=pl.List(pl.UInt64)),
        pl.Series([[0, 10**12], [2, 0]]),
        pl.Series([[0.5, 1.0], [2.0, 0.0]]),
        pl.Series([[0, 1], [2]]),
    ],
}


@st.composite
def hostile_frames(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(hostile_arrays)  # not a frame at all
    columns = {}
    for name, options in COLUMNS.items():
        if draw(st.integers(0, 5)) > 0:  # sometimes missing
            columns[name] = draw(st.sampled_from(options)).alias(name)
    frame = pl.DataFrame(columns)
    return frame.head(draw(st.sampled_from([0, 1, 2])))


@settings(max_examples=300)
@given(frame=hostile_frames(), make=st.sampled_from(FITTABLE))
def test_hostile_session_frames_only_raise_our_errors(frame: Any, make: Any) -> None:
    bounded(validate_sessions, frame)
    status, model = bounded(make().fit, frame)
    if status == "ok":
        status, evaluation = bounded(model.evaluate, frame)
        if status == "ok":
            assert evaluation.log_likelihood <= 0.0
    for fitted in (NAVIGATIONAL, SDBN().fit(LOG), GlobalCTR(0.5)):
        bounded(fitted.evaluate, frame)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"activity": "abc"}, r"`activity` must be a 1-D array of numbers"),
        ({"activity": [[0.5, 0.5]]}, r"`activity` must be a 1-D array of 1 to"),
        ({"activity": [0.7, 0.7]}, r"`activity` must sum to 1"),
        ({"activity": [1.5, -0.5]}, r"`activity` must be finite and >= 0 .*-0.5"),
        ({"propensity": [1.0]}, r"`propensity` must have one entry per user like `activity`"),
        ({"propensity": [1.0, np.nan]}, r"`propensity` must be finite and >= 0"),
        ({"propensity_sigma": "wide"}, r"`propensity_sigma` must be a real number"),
        ({"activity_sigma": -1.0}, r"`activity_sigma` must be in \[0, inf\]"),
    ],
)
def test_a_population_built_by_hand_is_checked(fields: dict, match: str) -> None:
    good = {
        "activity": [0.5, 0.5],
        "propensity": [1.0, 0.5],
        "activity_sigma": 0.0,
        "propensity_sigma": 0.0,
    }
    refused(UserPopulation, **{**good, **fields}, match=match)
    mine = np.array([0.25, 0.75])
    population = UserPopulation(**{**good, "activity": mine})
    assert not population.activity.flags.writeable
    assert mine.flags.writeable  # the caller's array is copied, not frozen


@pytest.mark.parametrize("require", [5, "query", ("clicks",), ("query", None), [["items"]]])
def test_validate_sessions_names_a_bad_require(require: Any) -> None:
    refused(validate_sessions, LOG, require=require, match=r"`require` must be a tuple of column")
    assert validate_sessions(LOG, require=["relevance"]) == 3
