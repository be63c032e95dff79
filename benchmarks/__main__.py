"""``python -m benchmarks <name> [--quick]``: run one benchmark module and write its results."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from benchmarks._harness import write_results


def _names() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("name", nargs="?", help="benchmark module to run")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, for a smoke run")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        print("\n".join(_names()))
        return 0
    if args.name not in _names():
        parser.error(f"unknown benchmark {args.name!r}; choose one of {_names()}")
    module = importlib.import_module(f"benchmarks.{args.name}")
    rows = module.run(quick=args.quick)
    path = write_results(args.name, rows, note=(module.__doc__ or "").strip().splitlines()[0])
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
