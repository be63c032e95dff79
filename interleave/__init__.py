"""interleave: does the candidate ranker beat production? Interleaving, A/B, canary and shadow
tests on one simulated user, with sequential statistics that survive peeking."""

from interleave.errors import DataWarning, InterleaveError, InvalidArgument
from interleave.ranking import Interleaving

__all__ = [
    "DataWarning",
    "InterleaveError",
    "Interleaving",
    "InvalidArgument",
]

__version__ = "0.1.0"
