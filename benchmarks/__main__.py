"""``python -m benchmarks [NAME ...] [--quick] [--seed N] [--out DIR] [--save]``.

Runs benchmark modules and writes each one's results (JSON and a Markdown table); ``all`` runs
the six suites of the study (fidelity, sensitivity, bias, sequential, speed, clickmodels), the
other modules time one part each. Where results go:

- ``--save``: into ``benchmarks/results/``, replacing the committed results (the only way to);
- ``--out DIR``: into ``DIR``;
- neither: into a fresh temporary folder, whose path is printed.

``--save`` with ``--quick`` is refused: a smoke run must never replace measured results.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import RESULTS, write_results

#: The suites a researcher runs (``python -m benchmarks all``), in the order they are reported.
SUITES = ("fidelity", "sensitivity", "bias", "sequential", "speed", "clickmodels")


def _names() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def _run_module(module, *, quick: bool, seed: int | None):
    """Call ``module.run``, passing ``seed`` only to modules that take one."""
    if seed is not None and "seed" in inspect.signature(module.run).parameters:
        return module.run(quick=quick, seed=seed)
    return module.run(quick=quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmark modules to run")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, for a smoke run")
    parser.add_argument("--seed", type=int, default=None, help="seed for studies that take one")
    parser.add_argument("--out", type=Path, default=None, help="folder to write results into")
    parser.add_argument(
        "--save", action="store_true", help="write into benchmarks/results/ (replaces results)"
    )
    args = parser.parse_args(argv)
    if args.list or not args.names:
        print("\n".join(_names()))
        return 0
    if "all" in args.names:
        args.names = [n for n in args.names if n != "all"] + [
            n for n in SUITES if n not in args.names
        ]
    unknown = [name for name in args.names if name not in _names()]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {_names()}")
    if args.save and args.quick:
        parser.error("--save with --quick would replace measured results with a smoke run")
    if args.save and args.out is not None:
        parser.error("--save writes into benchmarks/results/; give either --save or --out")
    if args.save:
        out = RESULTS
    elif args.out is not None:
        out = args.out
    else:
        out = Path(tempfile.mkdtemp(prefix="interleave-benchmarks-"))
    timings = []
    for name in args.names:
        module = importlib.import_module(f"benchmarks.{name}")
        start = time.perf_counter()
        result = _run_module(module, quick=args.quick, seed=args.seed)
        timings.append((name, time.perf_counter() - start))
        rows, figures = result if isinstance(result, tuple) else (result, {})
        note = (module.__doc__ or "").strip().splitlines()[0]
        path = write_results(name, rows, note=note, out=out, figures=figures)
        print(path.read_text())
    if len(timings) > 1:
        print(", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings), end="")
        print(f"; total {sum(seconds for _, seconds in timings):.0f} s")
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
