"""The interleaving methods: one module per method, each its merge and its credit.

The public names are importable from :mod:`interleave` too; this package keeps the methods (and
the parts only they use) out of the root, which holds the shared basics and the layers.
"""

from interleave.methods.balanced import Balanced
from interleave.methods.base import Interleaver
from interleave.methods.debiased_balanced import DebiasedBalanced
from interleave.methods.optimized import Optimized, OptimizedInfeasible, TooManyCandidates
from interleave.methods.pairwise_preference import PairwisePreference
from interleave.methods.probabilistic import Probabilistic
from interleave.methods.team_draft import TeamDraft

__all__ = [
    "Balanced",
    "DebiasedBalanced",
    "Interleaver",
    "Optimized",
    "OptimizedInfeasible",
    "PairwisePreference",
    "Probabilistic",
    "TeamDraft",
    "TooManyCandidates",
]
