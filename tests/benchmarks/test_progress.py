"""The suites' progress bar: a few lines in a log, an in-place bar on a terminal, stderr only."""

from __future__ import annotations

import io

from benchmarks._progress import Progress, progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_per_tenth_not_per_item():
    out = io.StringIO()
    assert sum(progress(range(1000), "study", stream=out)) == sum(range(1000))
    lines = out.getvalue().splitlines()
    assert len(lines) == 10  # tenths 1..9, then the final line
    assert lines[0].startswith("study [##")
    assert "100/1000" in lines[0]
    assert "1000/1000" in lines[-1]
    assert "left" not in lines[-1]


def test_a_terminal_redraws_in_place():
    out = _Terminal()
    with Progress("fit", 3, stream=out) as bar:
        bar.advance()
        bar.advance(2)
    text = out.getvalue()
    assert text.startswith("\rfit [")  # the first advance draws; the second is throttled
    assert "\rfit [########################] 3/3" in text
    assert text.count("\n") == 1


def test_unknown_total_counts_without_a_bar():
    out = io.StringIO()
    list(progress(iter("abc"), "stream", stream=out))
    assert out.getvalue().startswith("stream 3 done")
