"""The command itself: `python -m interleave`, the subcommands, errors and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from interleave.cli import main


def test_python_dash_m_interleave_runs_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "interleave", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    for name in ("demo", "evaluate", "serve"):
        assert name in done.stdout


def test_bad_input_exits_2_with_one_line_naming_the_argument(capsys):
    assert main(["demo", "--requests", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("interleave: error:")
    assert "requests" in err[0]


def test_ctrl_c_exits_130_with_one_line_and_no_traceback():
    # A long demo, interrupted as a user would with Ctrl-C.
    process = subprocess.Popen(
        [sys.executable, "-m", "interleave", "demo", "--requests", "5000000", "--users", "50000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Wait for the progress bar: the command is past its imports and inside its work.
    first = os.read(process.stderr.fileno(), 64)
    assert first, "the demo printed no progress before exiting"
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    err = err.decode()
    assert process.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "interleave: interrupted"
