"""Hatch build hook: compile the optional C speedups (``interleave/_speedups.c``) into the wheel.

The extension is an optional fast path: ``interleave._fused`` falls back to its pure-Python
reference when ``interleave._speedups`` cannot be imported. So a build never fails because of it:
if compiling fails for any reason (no C compiler, no Python headers, no setuptools), the hook
prints one warning and the wheel stays pure Python.

- A regular wheel gets the compiled module (built in a temporary folder) and a platform tag.
- Every build also leaves a copy in place, next to the source (the file is in ``.gitignore``):
  an editable install (``pip install -e .``) only points at the source tree, and pytest run from
  a checkout imports the checkout's ``interleave``, not the installed one, so without that copy
  the tests (and CI, which runs ``pip install '.[test]' && pytest``) would never exercise it.
- ``INTERLEAVE_NO_EXTENSION=1`` in the environment at build time skips the compilation.

The compiler is the system's, driven by setuptools' ``build_ext`` (``CC``/``CFLAGS`` apply), which
is why setuptools is in ``build-system.requires``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MODULE = "interleave._speedups"
SOURCE = "interleave/_speedups.c"


def compile_extension(root: Path, out_dir: Path) -> Path:
    """Compile ``SOURCE`` under ``root`` into ``out_dir``; the built file's path."""
    # Imported here: only this hook needs setuptools, and its absence must not fail the build.
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    extension = Extension(MODULE, sources=[str(root / SOURCE)])
    command = build_ext(Distribution({"name": "interleave", "ext_modules": [extension]}))
    command.build_lib = str(out_dir / "lib")
    command.build_temp = str(out_dir / "temp")
    command.ensure_finalized()
    command.run()
    return Path(command.get_ext_fullpath(MODULE))


class SpeedupsBuildHook(BuildHookInterface):
    """Add the compiled ``interleave._speedups`` to wheels when it compiles."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile the extension; add it to ``build_data`` (and the source tree) if that works."""
        if self.target_name != "wheel":
            return
        if os.environ.get("INTERLEAVE_NO_EXTENSION", "") not in ("", "0"):
            self.app.display_info("interleave: INTERLEAVE_NO_EXTENSION is set; pure-Python build")
            return
        root = Path(self.root)
        self._temp = tempfile.mkdtemp(prefix="interleave-build-")
        try:
            built = compile_extension(root, Path(self._temp))
        except (Exception, SystemExit) as error:  # any failure means: build pure Python
            self.app.display_warning(
                "interleave: the optional C speedups did not compile "
                f"({type(error).__name__}: {error}); installing the pure-Python version, "
                "which gives the same results, a little slower"
            )
            return
        try:
            shutil.copy2(built, root / "interleave" / built.name)
        except OSError as error:  # a read-only source tree: only an editable install needs it
            if version == "editable":
                self.app.display_warning(
                    f"interleave: could not place the compiled speedups in the source tree "
                    f"({error}); the editable install runs the pure-Python version"
                )
                return
        if version != "editable":
            build_data["force_include"][str(built)] = f"interleave/{built.name}"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the temporary build folder once the wheel holds the module."""
        temp = getattr(self, "_temp", None)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
