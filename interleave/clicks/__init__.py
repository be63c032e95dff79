"""The one shared simulated user: click models, standard presets, fitting from real click logs.

Every strategy, simulation and benchmark draws its clicks from here.

- Simulate from relevance grades: :class:`CascadeModel` (``CascadeModel.preset("navigational",
  grades=3)``), :class:`PBM` (``PBM.inverse_rank()``), or any model's ``from_grades``.
- Fit from logs (a polars frame of sessions, see :mod:`interleave.clicks.sessions`):
  :class:`SDBN`, :class:`DCM`, the CTR baselines in closed form; :class:`PBM`, :class:`UBM`,
  :class:`DBN` by EM. ``model.fit(sessions)`` returns a new fitted model; evaluate it with
  ``model.evaluate(test_sessions)`` (log-likelihood and perplexity as PyClick defines them).
- Add realistic between-user variance with :class:`UserPopulation`.

Every model has ``click_probabilities(...)`` (unconditional, per rank) and ``simulate(...,
rng=...)`` (a bool array ``(n_impressions, k)``), vectorised over impressions. Sizes that would
allocate without limit (impressions, grades, EM iterations, users) are checked first against the
documented, adjustable bounds of :mod:`interleave.clicks.limits`.
"""

from interleave.clicks._base import ClickModel, Evaluation, FitResult, NotFittedError
from interleave.clicks.cascade import CascadeModel
from interleave.clicks.ctr import DocumentCTR, GlobalCTR, RankCTR
from interleave.clicks.dbn import DBN, SDBN
from interleave.clicks.dcm import DCM
from interleave.clicks.population import UserPopulation
from interleave.clicks.position_based import PBM
from interleave.clicks.readers import LogFormatError, read_pyclick_sessions, read_yandex_relpred
from interleave.clicks.sessions import validate_sessions
from interleave.clicks.ubm import UBM

__all__ = [
    "DBN",
    "DCM",
    "PBM",
    "SDBN",
    "UBM",
    "CascadeModel",
    "ClickModel",
    "DocumentCTR",
    "Evaluation",
    "FitResult",
    "GlobalCTR",
    "LogFormatError",
    "NotFittedError",
    "RankCTR",
    "UserPopulation",
    "read_pyclick_sessions",
    "read_yandex_relpred",
    "validate_sessions",
]
