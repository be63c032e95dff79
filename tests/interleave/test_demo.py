"""The main job: ``interleave demo``, the seed scenario through all four strategies."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from interleave.cli import main
from interleave.demo import METHODS, run_demo, seed_toy
from interleave.metrics import dcg, ndcg

# The seed document's working example (/work/shared/seed), verbatim apart from formatting: the
# reference the toy must reproduce. It uses the global generator on purpose (that is what the
# seed does); the test restores the global state afterwards.
SEED_CODE = """
import random
import hashlib
random.seed(42)
def legacy_model(request):
    return {'model': 'legacy', 'score': random.random() * 0.35}
def candidate_model(request):
    return {'model': 'candidate', 'score': random.random() * 0.55}
def make_requests(n=200):
    users = [f'user_{i}' for i in range(40)]
    return [{'id': f'req_{i}', 'user': random.choice(users)} for i in range(n)]
# A/B Route Logic
def ab_route(request):
    return candidate_model if random.random() < 0.10 else legacy_model
# Canary User Assignment
def get_canary_users(all_users, fraction):
    n = max(1, int(len(all_users) * fraction))
    ranked = sorted(all_users, key=lambda u: hashlib.md5(u.encode()).hexdigest())
    return set(ranked[:n])
"""


def run_the_seed_code():
    saved = random.getstate()
    try:
        namespace: dict = {}
        exec(compile(SEED_CODE, "seed document", "exec"), namespace)
        requests = namespace["make_requests"](200)
        served = [{**request, **namespace["ab_route"](request)(request)} for request in requests]
        users = [f"user_{i}" for i in range(40)]
        canary = {
            str(f): sorted(namespace["get_canary_users"](users, f))
            for f in (0.05, 0.1, 0.2, 0.25, 0.5)
        }
    finally:
        random.setstate(saved)
    return {"requests": served, "canary_users": canary}


def test_seed_toy_json_is_exactly_what_the_seed_code_computes(capsys):
    expected = run_the_seed_code()
    assert main(["demo", "--seed-toy", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == expected
    assert list(printed) == ["requests", "canary_users"]
    assert [list(r) for r in printed["requests"][:1]] == [["id", "user", "model", "score"]]
    assert len(printed["requests"]) == 200
    assert list(printed["canary_users"]) == ["0.05", "0.1", "0.2", "0.25", "0.5"]


def test_seed_toy_leaves_the_global_generator_alone():
    random.seed(5)
    before = random.random()
    random.seed(5)
    seed_toy()
    assert random.random() == before


def test_seed_toy_canary_is_monotone_like_the_seed_says():
    canary = seed_toy()["canary_users"]
    sets = [set(canary[f]) for f in ("0.05", "0.1", "0.2", "0.25", "0.5")]
    assert all(a <= b for a, b in itertools.pairwise(sets))
    assert [len(s) for s in sets] == [2, 4, 8, 10, 20]  # max(1, int(40 * f))


@pytest.fixture(scope="module")
def default_demo():
    return run_demo()


def test_default_demo_runs_the_seed_scenario_through_all_four(default_demo):
    assert default_demo.n_requests == 200
    assert default_demo.world.population.n_users == 40
    assert default_demo.world.production_quality == 0.35
    assert default_demo.world.candidate_quality == pytest.approx(0.55)
    assert default_demo.world.seed == 42
    assert [v.strategy for v in default_demo.verdicts] == ["A/B", "canary", "shadow", "interleaved"]
    # The same simulated requests reach every strategy.
    assert {v.n_requests for v in default_demo.verdicts} == {200}


def test_every_printed_number_is_recomputed_from_the_state(default_demo):
    for result in default_demo.results:
        assert result.strategy.verdict(result.state) == result.verdict
    table = default_demo.table()
    for v in default_demo.verdicts:
        row = next(line for line in table.splitlines() if line.startswith(v.strategy))
        assert v.interval_text() in row
        assert f"{v.pvalue:.3g}" in row
        assert v.decision in row
        assert str(v.n_clicks) in row


def test_the_clicks_in_the_table_are_the_clicks_in_the_exposure_log(default_demo):
    for result in default_demo.results:
        assert result.verdict.n_clicks == result.exposures["click"].sum()


def test_the_truth_favours_the_candidate(default_demo):
    production, candidate = default_demo.truth
    assert candidate > production


def test_cli_prints_the_table_and_names_the_deciding_tests(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for name in ("A/B", "canary", "shadow", "interleaved"):
        assert f"\n{name}" in out
    assert "mixture SPRT" in out
    assert "decided at" in out


def test_the_readme_shows_the_table_the_first_command_prints(capsys):
    # The README's first command is `interleave demo`; the table it shows must be what it prints.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = re.search(r"```text\n(strategy .*?)```", readme, flags=re.S).group(1).splitlines()
    assert main(["demo"]) == 0
    printed = capsys.readouterr().out.splitlines()
    start = printed.index(shown[0])
    assert printed[start : start + len(shown)] == shown


def test_cli_json_holds_every_verdict(capsys):
    assert main(["demo", "--json", "--method", "balanced", "--requests", "300"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["scenario"]["requests"] == 300
    assert payload["scenario"]["method"].startswith("Balanced(")
    assert [s["verdict"]["strategy"] for s in payload["strategies"]] == [
        "A/B",
        "canary",
        "shadow",
        "interleaved",
    ]
    assert all(len(s["path"]["n_requests"]) == 300 for s in payload["strategies"])


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_runs_in_the_demo(method):
    result = run_demo(method=method, requests=120, users=20)
    assert result.verdict("interleaved").n_requests == 120


def test_several_seeds_show_the_spread_of_the_speedup():
    result = run_demo(requests=3_000, users=300, seeds=2)
    assert [seed for seed, _, _ in result.spread] == [42, 43]
    first = result.spread[0]
    assert first[1] == result.verdict("A/B").requests_to_decide
    assert first[2] == result.verdict("interleaved").requests_to_decide
    payload = result.to_dict()["spread"]
    assert [p["seed"] for p in payload] == [42, 43]
    assert "over 2 seeds" in str(result)


def test_long_runs_show_progress_on_stderr(capsys):
    from interleave.demo import _progress_bar

    show = _progress_bar()
    show("A/B", 50, 100)
    show("A/B", 100, 100)
    err = capsys.readouterr().err
    assert "[###############...............] 50/100" in err
    assert err.endswith("100/100\n")


def test_demo_is_reproducible_and_depends_on_the_seed():
    first, again = run_demo(seed=3).to_dict(), run_demo(seed=3).to_dict()
    assert first == again
    assert run_demo(seed=4).to_dict() != first


def test_cli_reports_bad_arguments_without_a_traceback(capsys):
    assert main(["demo", "--requests", "0"]) == 2
    assert "`requests` must be >= 1, got 0" in capsys.readouterr().err
    assert main(["demo", "--effect", "0.9"]) == 2
    assert "`effect` must be in" in capsys.readouterr().err


def test_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "paths.png"
    assert main(["demo", "--plot", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_console_script_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "interleave.cli", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.startswith("interleave ")


def test_ndcg_uses_exponential_gain_and_log_discount():
    # (2^2-1)/log2(3) + (2^1-1)/log2(4) over the ideal 3/log2(2) + 1/log2(3), by hand.
    assert ndcg(["a", "b", "c"], {"a": 0, "b": 2, "c": 1}, k=3) == pytest.approx(0.6590018)
    assert ndcg(["a"], {"a": 0}) == 0.0
    assert dcg([2, 1], k=1) == pytest.approx(3.0)


def test_embedded_sample_is_still_the_documented_file():
    # datasets/README.md: sha256 of `python datasets/sample/generate.py`'s output.
    from interleave.sample import sample_path

    digest = hashlib.sha256(sample_path().read_bytes()).hexdigest()
    assert digest == "a211964a3d2987cfa1e23729d35cdb38ec58d7d647e18d4c436e230421198ae1"
