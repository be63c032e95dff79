"""``interleave evaluate``: a readable table, JSON, a plot, clear errors, no half-written files."""

from __future__ import annotations

import io
import json

import pytest

from interleave.cli import main
from interleave.errors import InvalidArgument
from interleave.logs import command, evaluate


def test_with_no_path_it_evaluates_the_embedded_sample(capsys):
    assert main(["evaluate"]) == 0
    out = capsys.readouterr().out
    assert "20,000 impressions, 40 users, 200 queries; method team_draft" in out
    assert "mean preference per user (paired t)" in out
    assert "verdict: the candidate is preferred" in out


def test_every_printed_number_comes_from_the_result_object(capsys):
    main(["evaluate"])
    out = capsys.readouterr().out
    summary = evaluate().summary
    for row in summary.iter_rows(named=True):
        line = next(line for line in out.splitlines() if line.startswith(row["quantity"]))
        assert f"{row['estimate']:.4g}" in line
        assert f"{row['pvalue']:.3g}" in line


def test_json_is_machine_readable(capsys):
    assert main(["evaluate", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "interleaving"
    assert data["n_impressions"] == 20_000
    assert {row["quantity"] for row in data["summary"]} >= {"mean preference per user (paired t)"}


def test_json_and_plot_files_are_written_whole(tmp_path, capsys):
    out, png = tmp_path / "result.json", tmp_path / "curve.png"
    assert main(["evaluate", "--json", str(out), "--plot", str(png)]) == 0
    assert json.loads(out.read_text())["unit"] == "user"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png", "result.json"]


def test_a_failed_write_leaves_no_file_behind(tmp_path):
    target = tmp_path / "out.json"

    def explode(temporary):
        temporary.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        command.write_atomically(target, explode)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_survives_a_failed_write(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("previous")
    with pytest.raises(RuntimeError):
        command.write_atomically(target, lambda temporary: (_ for _ in ()).throw(RuntimeError()))
    assert target.read_text() == "previous"


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("interleave: error: ")
    assert "no such file" in err
    assert main(["evaluate", "--plot", str(tmp_path / "curve.svg")]) == 2
    assert "must name a .png file" in capsys.readouterr().err
    assert main(["evaluate", "--every", "fortnight"]) == 2
    assert "`every` must be a polars duration" in capsys.readouterr().err


def test_plot_into_a_missing_folder_is_a_named_error(tmp_path):
    with pytest.raises(InvalidArgument, match="does not exist"):
        command.plot(evaluate(), tmp_path / "no" / "such" / "curve.png")


def test_an_ab_log_by_policy_names(capsys, shared_data):
    folder = shared_data / "open_bandit_dataset_small"
    paths = [str(folder / p / "men" / "men.csv.gz") for p in ("random", "bts")]
    assert main(["evaluate", *paths, "--baseline", "random", "--candidate", "bts"]) == 0
    out = capsys.readouterr().out
    assert "baseline 'random' against candidate 'bts'" in out
    # open_bandit_dataset_small/SOURCE.md: random/men CTR 0.00460, bts/men 0.00690.
    assert "CTR of random" in out
    assert "0.0046" in out
    assert "0.0069" in out


def test_progress_is_shown_only_for_slow_files(monkeypatch):
    stream = io.StringIO()
    show = command._progress_printer(stream)
    show(10, 100)
    assert stream.getvalue() == ""  # quick: nothing
    monkeypatch.setattr(command, "_PROGRESS_AFTER", 0.0)
    show = command._progress_printer(stream)
    show(50, 100)
    show(100, 100)
    assert "50/100 impressions" in stream.getvalue()
    assert stream.getvalue().endswith("s\n")


def test_the_embedded_open_bandit_sample_is_an_ab_log(capsys):
    assert main(["evaluate", "--sample", "open-bandit", "--baseline", "random"]) == 0
    out = capsys.readouterr().out
    # open_bandit_dataset_small/SOURCE.md: random/all CTR 0.00380, bts/all 0.00420.
    assert "baseline 'random' against candidate 'bts'" in out
    assert "CTR of random" in out
    assert "0.0042" in out
