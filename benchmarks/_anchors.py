"""The incumbents from ``../shared/anchors``, loaded for side-by-side timing only, and where
the shared datasets (``../shared/data``) are.

Never imported by the library. Each loader returns the incumbent's module, or ``None`` with the
reason (printed by the benchmark, which then leaves the ratio column out) when the folder, or a
dependency the incumbent needs (mpkato: pulp for Optimized), is absent.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["ANCHORS", "SHARED_DATA", "load_mpkato", "load_pyclick"]

ANCHORS = Path(
    os.environ.get("INTERLEAVE_ANCHORS", Path(__file__).resolve().parents[2] / "shared" / "anchors")
)

#: The real datasets (LETOR, the Yandex click sample, ...); suites skip or fall back without them.
SHARED_DATA = Path(
    os.environ.get(
        "INTERLEAVE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


def _load(folder: str, module: str) -> tuple[ModuleType | None, str]:
    root = ANCHORS / folder
    if not root.is_dir():
        return None, f"incumbent not found at {root}; set INTERLEAVE_ANCHORS to the anchors folder"
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        return importlib.import_module(module), ""
    except ImportError as error:
        return None, f"incumbent {module} at {root} could not be imported: {error}"


def load_mpkato() -> tuple[ModuleType | None, str]:
    """mpkato/interleaving (import name ``interleaving``) and why not, if it cannot load."""
    return _load("mpkato-interleaving", "interleaving")


def load_pyclick() -> tuple[ModuleType | None, str]:
    """PyClick (import name ``pyclick``) and why not, if it cannot load."""
    return _load("pyclick", "pyclick")
