"""The README's examples run as written and print what the README says they print.

A ```python block followed directly by a ```text block must print exactly that text (numbers
included: they are the README's claims); a block without one must print something. Each block
runs in a fresh temporary folder, so examples that write files (an event store) leave none here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT = README.read_text()
BLOCKS = re.findall(r"```python\n(.*?)```(?:\n+```text\n(.*?)```)?", TEXT, flags=re.S)


def test_readme_has_an_example_for_each_kind_of_user():
    assert len(BLOCKS) >= 3
    assert sum(1 for _, shown in BLOCKS if shown) >= 1  # at least one pinned output


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs_and_prints_what_it_shows(index, capsys, monkeypatch, tmp_path):
    code, shown = BLOCKS[index]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md example {index + 1}", "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    if shown:
        assert printed.strip() == shown.strip()
    else:
        assert printed.strip()


def test_readme_opens_with_the_two_commands_ci_runs():
    commands = re.search(r"```bash\n(.*?)```", TEXT, flags=re.S).group(1)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install . && interleave demo" in commands
    assert "pip install '.[test]' && pytest" in commands
    assert "pip install '.[test]' && pytest" in ci
