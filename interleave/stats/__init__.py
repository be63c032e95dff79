"""Fixed-horizon and sequential tests shared by every strategy.

Is the difference real yet, and may we stop?

The inputs are sufficient statistics, never interleavers or strategies:

- interleaving: :class:`WinLoss` (wins, losses, ties of the candidate);
- A/B: :class:`TwoProportions` (per-arm successes and trials) and :class:`TwoMeans` (per-arm
  count, sum, sum of squares); anything else: :class:`CenteredSum`; assignment: :class:`ArmCounts`.

Every sufficient statistic merges exactly (``a.merge(b)`` or ``a + b``), so workers, partitions
and restarts combine without re-reading raw events. ``WinLoss`` counts may be fractional
(probabilistic credit); only the exact sign tests (:func:`sign_test`,
:func:`pairwise_sign_tests`) need whole counts, and their errors say where fractions go.

Sequential tests, safe under continuous peeking, share one typed protocol,
:class:`SequentialTest` (``start``, ``look``, ``interval``, ``evaluate``), and one immutable state,
:class:`SequentialState`::

    state = test.start()                      # or test.start(TwoProportions())
    state = state.update(wins=3, losses=1)    # one look; returns a new immutable state
    state.decision, state.pvalue, state.n, state.confidence_interval()
    record = state.to_dict()                  # JSON-ready, with schema_version and the test
    state = SequentialState.from_dict(record) # the same state (and decision) after a restart
    test.evaluate(stream)                     # every look of (many) streams at once, vectorised

- :class:`SPRT`: Wald's test of win rate ``p0`` against ``p1`` (accepts or rejects);
- :class:`MixtureSPRT`: the normal-mixture core: always-valid p-value and confidence sequence
  (``.growthbook()``, ``.eppo(n_planned)``, ``.johari(tau)`` presets);
- :class:`BetaBinomialMixture`: always valid for a win rate, with no alternative to choose;
- :class:`GroupSequential`: Lan-DeMets spending (O'Brien-Fleming, Pocock, power family); its
  state is the same :class:`SequentialState` (``GroupSequentialState`` is a deprecated alias);
- :class:`SequentialSRM`: Lindon & Malek's sample-ratio test.

Fixed-horizon tests (look once): :func:`sign_test`, :func:`paired_test`,
:func:`two_proportions_test`, :func:`welch_test`, :func:`bootstrap_test`, :func:`srm_test`;
planning: :func:`sample_size_sign_test`, :func:`sample_size_two_proportions`,
:func:`sample_size_two_means`, :func:`sample_size_paired` (per-user differences) and the
``power_*`` functions; multiplicity:
:func:`adjust_pvalues`, :func:`pairwise_sign_tests`.

Documented bounds (inputs beyond them raise :class:`~interleave.errors.InvalidArgument` at once,
with the numbers): counts and running totals <= :data:`MAX_COUNT` (2**53); levels ``alpha`` and
``1 - confidence_level`` >= :data:`MIN_ALPHA` (1e-12); Johari's ``tau`` in :data:`TAU_RANGE`;
prior pseudo-counts <= :data:`MAX_PRIOR`; at most :data:`MAX_RESAMPLES` bootstrap resamples and
:data:`MAX_BOOTSTRAP_DRAWS` user draws; at most :data:`MAX_LOOKS` group-sequential looks; exact
sample sizes up to :data:`MAX_EXACT_N` comparisons, any plan up to :data:`MAX_SAMPLE_SIZE`.

Shared words: ``statistic``, ``pvalue``, ``alternative`` ('two-sided' | 'greater' | 'less',
'greater' meaning the candidate is better), ``confidence_level``, ``n_resamples``, ``rng``,
``n_`` for counts, ``tie_policy`` ('drop' | 'split'), ``a`` = production and ``b`` = candidate.
"""

from typing import Any

from interleave.stats._core import (
    MAX_COUNT,
    MAX_PRIOR,
    MIN_ALPHA,
    STATE_SCHEMA_VERSION,
    ConfidenceInterval,
    Decision,
    Look,
    SequentialState,
    SequentialTest,
    StreamResult,
)
from interleave.stats.beta_binomial import BetaBinomialMixture
from interleave.stats.fixed import (
    MAX_BOOTSTRAP_DRAWS,
    MAX_RESAMPLES,
    bootstrap_test,
    paired_test,
    sign_test,
    two_proportions_test,
    welch_test,
)
from interleave.stats.group_sequential import MAX_LOOKS, GroupSequential
from interleave.stats.mixture import TAU_RANGE, MixtureSPRT
from interleave.stats.multiple import adjust_pvalues, pairwise_sign_tests
from interleave.stats.power import (
    MAX_EXACT_N,
    MAX_SAMPLE_SIZE,
    power_paired,
    power_sign_test,
    power_two_means,
    power_two_proportions,
    sample_size_paired,
    sample_size_sign_test,
    sample_size_two_means,
    sample_size_two_proportions,
)
from interleave.stats.sprt import SPRT
from interleave.stats.srm import SRM_THRESHOLD, SequentialSRM, srm_test
from interleave.stats.sufficient import ArmCounts, CenteredSum, TwoMeans, TwoProportions, WinLoss

__all__ = [
    "MAX_BOOTSTRAP_DRAWS",
    "MAX_COUNT",
    "MAX_EXACT_N",
    "MAX_LOOKS",
    "MAX_PRIOR",
    "MAX_RESAMPLES",
    "MAX_SAMPLE_SIZE",
    "MIN_ALPHA",
    "SPRT",
    "SRM_THRESHOLD",
    "STATE_SCHEMA_VERSION",
    "TAU_RANGE",
    "ArmCounts",
    "BetaBinomialMixture",
    "CenteredSum",
    "ConfidenceInterval",
    "Decision",
    "GroupSequential",
    "Look",
    "MixtureSPRT",
    "SequentialSRM",
    "SequentialState",
    "SequentialTest",
    "StreamResult",
    "TwoMeans",
    "TwoProportions",
    "WinLoss",
    "adjust_pvalues",
    "bootstrap_test",
    "paired_test",
    "pairwise_sign_tests",
    "power_paired",
    "power_sign_test",
    "power_two_means",
    "power_two_proportions",
    "sample_size_paired",
    "sample_size_sign_test",
    "sample_size_two_means",
    "sample_size_two_proportions",
    "sign_test",
    "srm_test",
    "two_proportions_test",
    "welch_test",
]


def __getattr__(name: str) -> Any:
    # GroupSequentialState merged into SequentialState; the old name warns for one release.
    if name == "GroupSequentialState":
        from interleave.stats import group_sequential

        return group_sequential.GroupSequentialState
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
