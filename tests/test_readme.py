"""The README's examples run as written (the README must stay true)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_an_example_for_each_kind_of_user():
    assert len(BLOCKS) == 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, capsys):
    exec(compile(BLOCKS[index], f"README.md example {index + 1}", "exec"), {})
    assert capsys.readouterr().out.strip()


def test_readme_opens_with_the_two_commands_ci_runs():
    commands = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.S).group(1)
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "pip install . && interleave demo" in commands
    assert "pip install '.[test]' && pytest" in commands
    assert "pip install '.[test]' && pytest" in ci
