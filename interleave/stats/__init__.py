"""Fixed-horizon and sequential tests shared by every strategy.

Is the difference real yet, and may we stop?

The inputs are sufficient statistics, never interleavers or strategies:

- interleaving: :class:`WinLoss` (wins, losses, ties of the candidate);
- A/B: :class:`TwoProportions` (per-arm successes and trials) and :class:`TwoMeans` (per-arm
  count, sum, sum of squares); anything else: :class:`CenteredSum`; assignment: :class:`ArmCounts`.

Sequential tests, safe under continuous peeking, share one protocol::

    state = test.start()                      # or test.start(TwoProportions())
    state = state.update(wins=3, losses=1)    # one look; returns a new immutable state
    state.decision, state.pvalue, state.n, state.confidence_interval()
    test.evaluate(stream)                     # every look of (many) streams at once, vectorised

- :class:`SPRT`: Wald's test of win rate ``p0`` against ``p1`` (accepts or rejects);
- :class:`MixtureSPRT`: the normal-mixture core: always-valid p-value and confidence sequence
  (``.growthbook()``, ``.eppo(n_planned)``, ``.johari(tau)`` presets);
- :class:`BetaBinomialMixture`: always valid for a win rate, with no alternative to choose;
- :class:`GroupSequential`: Lan-DeMets spending (O'Brien-Fleming, Pocock, power family);
- :class:`SequentialSRM`: Lindon & Malek's sample-ratio test.

Fixed-horizon tests (look once): :func:`sign_test`, :func:`paired_test`,
:func:`two_proportions_test`, :func:`welch_test`, :func:`bootstrap_test`, :func:`srm_test`;
planning: :func:`sample_size_sign_test`, :func:`sample_size_two_proportions`,
:func:`sample_size_two_means` and the ``power_*`` functions; multiplicity:
:func:`adjust_pvalues`, :func:`pairwise_sign_tests`.

Shared words: ``statistic``, ``pvalue``, ``alternative`` ('two-sided' | 'greater' | 'less',
'greater' meaning the candidate is better), ``confidence_level``, ``n_resamples``, ``rng``,
``n_`` for counts, ``tie_policy`` ('drop' | 'split'), ``a`` = production and ``b`` = candidate.
"""

from interleave.stats._core import ConfidenceInterval, Decision, SequentialState, StreamResult
from interleave.stats.beta_binomial import BetaBinomialMixture
from interleave.stats.fixed import (
    bootstrap_test,
    paired_test,
    sign_test,
    two_proportions_test,
    welch_test,
)
from interleave.stats.group_sequential import GroupSequential, GroupSequentialState
from interleave.stats.mixture import MixtureSPRT
from interleave.stats.multiple import adjust_pvalues, pairwise_sign_tests
from interleave.stats.power import (
    power_sign_test,
    power_two_means,
    power_two_proportions,
    sample_size_sign_test,
    sample_size_two_means,
    sample_size_two_proportions,
)
from interleave.stats.sprt import SPRT
from interleave.stats.srm import SRM_THRESHOLD, SequentialSRM, srm_test
from interleave.stats.sufficient import ArmCounts, CenteredSum, TwoMeans, TwoProportions, WinLoss

__all__ = [
    "SPRT",
    "SRM_THRESHOLD",
    "ArmCounts",
    "BetaBinomialMixture",
    "CenteredSum",
    "ConfidenceInterval",
    "Decision",
    "GroupSequential",
    "GroupSequentialState",
    "MixtureSPRT",
    "SequentialSRM",
    "SequentialState",
    "StreamResult",
    "TwoMeans",
    "TwoProportions",
    "WinLoss",
    "adjust_pvalues",
    "bootstrap_test",
    "paired_test",
    "pairwise_sign_tests",
    "power_sign_test",
    "power_two_means",
    "power_two_proportions",
    "sample_size_sign_test",
    "sample_size_two_means",
    "sample_size_two_proportions",
    "sign_test",
    "srm_test",
    "two_proportions_test",
    "welch_test",
]
