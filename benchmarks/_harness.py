"""Timing and reporting shared by every benchmark module.

A benchmark module ``benchmarks/<name>.py`` defines ``run(quick: bool) -> list[dict]``: one row
per measurement, with at least ``"case"`` and the measured numbers, plus an optional ``"target"``
text and ``"meets"`` bool. :func:`write_results` stores them as JSON and a Markdown table. A
module may also return ``(rows, figures)``, ``figures`` mapping a file name such as ``"x.png"`` to
a ``matplotlib.figure.Figure`` (built without pyplot, matplotlib imported lazily): they are saved
beside the tables.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def median_seconds(fn: Callable[[], Any], *, min_time: float = 0.2, repeat: int = 7) -> float:
    """Median wall time of one call of ``fn`` (batched so a sample lasts >= min_time/repeat)."""
    fn()  # warm up caches and lazy imports
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time / repeat or number >= 1 << 20:
            break
        number *= 2
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    return str(value)


def write_results(
    name: str,
    rows: list[dict[str, Any]],
    *,
    note: str = "",
    out: Path | None = None,
    figures: dict[str, Any] | None = None,
) -> Path:
    """Write ``<out>/<name>.json``, ``<out>/<name>.md`` and each figure; returns the Markdown path.

    ``out`` defaults to the committed ``benchmarks/results/``, which only ``--save`` may pass.
    Files are written to a temporary name and renamed, so a crash leaves nothing half-written.
    """
    out = RESULTS if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "machine": machine(), "note": note, "rows": rows}
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    lines = (
        [f"# {name}", "", note, "", f"Machine: {payload['machine']}", ""]
        if note
        else [f"# {name}", "", f"Machine: {payload['machine']}", ""]
    )
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    lines.extend("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in rows)
    for suffix, text in (
        (".json", json.dumps(payload, indent=2, default=str)),
        (".md", "\n".join(lines) + "\n"),
    ):
        target = out / f"{name}{suffix}"
        tmp = target.with_suffix(suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(target)
    for filename, figure in (figures or {}).items():
        target = out / filename
        tmp = target.with_name(f"{target.stem}.tmp{target.suffix}")  # savefig reads the suffix
        figure.savefig(tmp, dpi=110)
        tmp.replace(target)
    return out / f"{name}.md"
