"""The embedded logs ``interleave evaluate`` reads when given no file (``--sample NAME``).

- ``interleaving`` (the default): 20,000 team-draft impressions of the embedded sample's two
  rankers (``datasets/sample``) shown to its 40 users over a week, with cascade-model clicks;
  made by the committed, seeded script ``datasets/logs/generate.py``;
- ``open-bandit``: the small Open Bandit Dataset's "all" campaign (Saito et al. 2021, ZOZO, Inc.,
  Apache-2.0), 10,000 shown items of each of two policies, as one A/B log with propensities.

Both ship inside the wheel, so a newcomer can try the command before they have data of their own.
"""

from __future__ import annotations

from pathlib import Path

from interleave._checks import check_one_of

__all__ = ["SAMPLES", "sample_log_path"]

#: The embedded logs by name.
SAMPLES = {"interleaving": "interleaving_log.parquet", "open-bandit": "open_bandit_ab.parquet"}


def sample_log_path(name: str = "interleaving") -> Path:
    """Where an embedded log is: inside the installed wheel, else in the source tree.

    Examples
    --------
    >>> sample_log_path().name
    'interleaving_log.parquet'
    """
    file = SAMPLES[check_one_of("name", name, SAMPLES)]
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_sample" / file, here.parent / "datasets" / "logs" / file):
        if candidate.is_file():
            return candidate
    msg = (
        f"the embedded log {file} is missing from {here / '_sample'} and "
        f"{here.parent / 'datasets' / 'logs'}; reinstall the package (pip install .)"
    )
    raise FileNotFoundError(msg)
