"""The ``interleave`` command. Thin: it parses arguments and prints; the work lives in the library.

Each subcommand lives beside the layer it drives, in a module that defines
``configure(parser)`` (its options) and ``run(args) -> int`` (its exit code):

- ``interleave demo``: the main job (:mod:`interleave.demo`);
- ``interleave evaluate``: two rankers judged on click logs (:mod:`interleave.logs.command`);
- ``interleave serve``: the sidecar service (:mod:`interleave.serving.command`).

Modules are imported only when their subcommand (or ``--help``) needs them, so ``interleave demo``
never pays for the service's imports, and a missing optional extra fails only its own command.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from interleave import __version__
from interleave.errors import InterleaveError

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

# name -> (module, one-line help). A module that cannot be imported (a layer not built yet, or an
# optional extra missing) leaves its subcommand out of the parser, saying why in `--help`.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "interleave.demo",
        "the seed scenario: A/B, canary, shadow and interleaving on the same simulated users",
    ),
    "evaluate": (
        "interleave.logs.command",
        "which of two rankers wins on click logs (interleaving, production or A/B logs)",
    ),
    "serve": (
        "interleave.serving.command",
        "run the sidecar service: interleave, record clicks, live results and dashboard",
    ),
}


def _load(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        # Only a missing layer or extra is tolerated; a broken import inside our own code is not.
        if error.name is not None and (
            module_name == error.name or module_name.startswith(error.name + ".")
        ):
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``interleave`` command."""
    parser = argparse.ArgumentParser(
        prog="interleave",
        description="Does the candidate ranker beat production? Interleaving, A/B, canary and "
        "shadow tests with statistics that survive peeking.",
    )
    parser.add_argument("--version", action="version", version=f"interleave {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = _load(module_name)
        if module is None:
            continue
        sub = commands.add_parser(name, help=help_text, description=help_text)
        module.configure(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``interleave`` console script: exit 0 on success, 2 on bad input."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except InterleaveError as error:
        print(f"interleave: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # A command-line tool interrupted by Ctrl-C exits 128 + SIGINT with one line, no traceback.
        print("interleave: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
