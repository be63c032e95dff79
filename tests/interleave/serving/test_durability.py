"""An acknowledged event survives SIGKILL: a writer process is killed mid-stream and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from interleave import TeamDraft
from interleave.serving import Experiment

WRITER = textwrap.dedent(
    """
    import sys
    from interleave import TeamDraft
    from interleave.serving import Experiment

    exp = Experiment("exp", seed=3, store=sys.argv[1], method=TeamDraft(length=4),
                     attribution_window=1e9)
    i = 0
    while True:
        served = exp.serve(f"r{i}", [[1, 2, 3, 4], [4, 3, 2, 1]], user=f"u{i % 9}", at=float(i))
        exp.record_click(served.impression_id, i % 4, at=i + 0.5)
        print(served.impression_id, flush=True)  # acknowledged: both calls have returned
        i += 1
    """
)


@pytest.mark.parametrize("name", ["events.db", "events.ndjson"])
def test_every_acknowledged_event_survives_sigkill(tmp_path, name):
    path = tmp_path / name
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    acknowledged = []
    try:
        for line in writer.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) == 300:
                break
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        writer.stdout.close()
    assert len(acknowledged) == 300, "the writer died before 300 acknowledgements"
    # Restart: the stored configuration reopens; a torn last NDJSON line would only be warned.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Experiment(
            "exp", seed=3, store=path, method=TeamDraft(length=4), attribution_window=1e9
        ) as exp:
            events = list(exp.store.read("exp"))
            result = exp.result(at=1e5)
    stored = {e["impression"] for e in events if e["kind"] == "impression"}
    clicked = {e["impression"] for e in events if e["kind"] == "click"}
    assert set(acknowledged) <= stored
    assert set(acknowledged) <= clicked
    assert result.n_impressions >= 300
