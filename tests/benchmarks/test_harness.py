"""The benchmark runner never replaces committed results unless told to with --save."""

from __future__ import annotations

import sys
import types

import pytest

from benchmarks import __main__ as runner
from benchmarks import _harness


@pytest.fixture
def fake_benchmark(monkeypatch, tmp_path):
    """A benchmark module named 'fake' and a results folder that must stay untouched."""
    module = types.ModuleType("benchmarks.fake")
    module.__doc__ = "A fake benchmark."
    seen = {}

    def run(quick, seed=None):
        seen.update(quick=quick, seed=seed)
        return [{"case": "x", "seconds": 1.5}]

    module.run = run
    monkeypatch.setitem(sys.modules, "benchmarks.fake", module)
    monkeypatch.setattr(runner, "_names", lambda: ["fake"])
    results = tmp_path / "committed"
    monkeypatch.setattr(runner, "RESULTS", results)
    monkeypatch.setattr(_harness, "RESULTS", results)
    return results, seen


def test_quick_run_writes_to_a_temporary_folder(fake_benchmark, capsys):
    results, seen = fake_benchmark
    assert runner.main(["fake", "--quick", "--seed", "3"]) == 0
    assert seen == {"quick": True, "seed": 3}
    assert not results.exists()
    assert "results written to" in capsys.readouterr().out


def test_out_folder(fake_benchmark, tmp_path):
    results, _ = fake_benchmark
    assert runner.main(["fake", "--quick", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "fake.json").is_file()
    assert (tmp_path / "o" / "fake.md").read_text().count("| x | 1.5 |") == 1
    assert not results.exists()


def test_only_save_replaces_results(fake_benchmark):
    results, _ = fake_benchmark
    assert runner.main(["fake", "--save"]) == 0
    assert (results / "fake.json").is_file()


@pytest.mark.parametrize("flags", [["--save", "--quick"], ["--save", "--out", "x"], ["nope"]])
def test_refused_combinations(fake_benchmark, flags):
    args = flags if flags == ["nope"] else ["fake", *flags]
    with pytest.raises(SystemExit):
        runner.main(args)
    assert not fake_benchmark[0].exists()


def test_all_runs_the_suites_and_reports_each_ones_time(fake_benchmark, monkeypatch, capsys):
    _, seen = fake_benchmark
    monkeypatch.setattr(runner, "SUITES", ("fake",))
    assert runner.main(["all", "--quick"]) == 0
    assert seen["quick"] is True
    monkeypatch.setattr(runner, "SUITES", ("fake", "fake2"))
    monkeypatch.setattr(runner, "_names", lambda: ["fake", "fake2"])
    monkeypatch.setitem(sys.modules, "benchmarks.fake2", sys.modules["benchmarks.fake"])
    capsys.readouterr()
    assert runner.main(["all", "--quick"]) == 0
    assert "total" in capsys.readouterr().out


def test_the_suites_exist():
    assert set(runner.SUITES) <= set(runner._names())
