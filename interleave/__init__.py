"""Does the candidate ranker beat production? interleave answers, fast and correctly.

Interleaving (team-draft, balanced, probabilistic, optimized) beside A/B, canary and shadow
tests, one shared simulated user, and sequential statistics that stay valid while you peek.

Examples
--------
>>> from interleave import TeamDraft
>>> method = TeamDraft(length=4)
>>> il = method.interleave([[1, 2, 3, 4], [3, 5, 1, 6]], key="request-42", seed=7)
>>> method.credit(il, clicks=[0]).scores
(0.0, 1.0)
"""

from interleave.batch import InterleavingBatch
from interleave.credit import Credit, CreditBatch, GroupPreference, per_group_preference, tally
from interleave.errors import DataWarning, InterleaveError, InvalidArgument
from interleave.methods import (
    Balanced,
    DebiasedBalanced,
    Interleaver,
    Optimized,
    OptimizedInfeasible,
    PairwisePreference,
    Probabilistic,
    TeamDraft,
    TooManyCandidates,
)
from interleave.ranking import Interleaving

__all__ = [
    "Balanced",
    "Credit",
    "CreditBatch",
    "DataWarning",
    "DebiasedBalanced",
    "GroupPreference",
    "InterleaveError",
    "Interleaver",
    "Interleaving",
    "InterleavingBatch",
    "InvalidArgument",
    "Optimized",
    "OptimizedInfeasible",
    "PairwisePreference",
    "Probabilistic",
    "TeamDraft",
    "TooManyCandidates",
    "per_group_preference",
    "tally",
]

__version__ = "0.1.0"
