"""The embedded interleaving log that ``interleave evaluate`` reads when given no file.

20,000 team-draft impressions of the embedded sample's two rankers (``datasets/sample``) shown to
its 40 users over a week, with cascade-model clicks; made by the committed, seeded script
``datasets/logs/generate.py``. It ships inside the wheel, so a newcomer can try the command before
they have data of their own.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["sample_log_path"]

_FILE = "interleaving_log.parquet"


def sample_log_path() -> Path:
    """Where the embedded interleaving log is: inside the installed wheel, else in the source tree.

    Examples
    --------
    >>> sample_log_path().name
    'interleaving_log.parquet'
    """
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_sample" / _FILE, here.parent / "datasets" / "logs" / _FILE):
        if candidate.is_file():
            return candidate
    msg = (
        f"the embedded log {_FILE} is missing from {here / '_sample'} and "
        f"{here.parent / 'datasets' / 'logs'}; reinstall the package (pip install .)"
    )
    raise FileNotFoundError(msg)
