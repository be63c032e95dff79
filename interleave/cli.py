"""The ``interleave`` command. Thin: it parses arguments and prints; the work lives in the library.

``interleave demo`` runs the main job on the embedded sample (see :mod:`interleave.demo`).
"""

from __future__ import annotations

import argparse
import json
import sys

from interleave import __version__
from interleave.errors import InvalidArgument

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from interleave.demo import run_demo

    result = run_demo(args.method, click_model=args.click_model, seed=args.seed, length=args.length)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``interleave`` command."""
    from interleave.demo import CLICK_MODELS, METHODS

    parser = argparse.ArgumentParser(
        prog="interleave",
        description="Does the candidate ranker beat production? Interleaving, A/B, canary and "
        "shadow tests with statistics that survive peeking.",
    )
    parser.add_argument("--version", action="version", version=f"interleave {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="interleave the embedded sample's two rankers, simulate clicks, test the difference",
    )
    demo.add_argument("--method", choices=sorted(METHODS), default="team_draft")
    demo.add_argument("--click-model", choices=CLICK_MODELS, default="navigational")
    demo.add_argument("--seed", type=int, default=7, help="experiment seed (default 7)")
    demo.add_argument("--length", type=int, default=10, help="items shown per request")
    demo.add_argument("--json", action="store_true", help="print the result as JSON")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``interleave`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except InvalidArgument as error:
        print(f"interleave: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
