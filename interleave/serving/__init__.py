"""Interleaving inside a live recommender API: an experiment, durable event stores, a service.

- :class:`Experiment`: ``serve`` (merge the lists for one request), ``record_click`` (clicks as
  they come), ``result()`` (the running sequential decision); thread-safe, resumable.
- :mod:`~interleave.serving.stores`: SQLite (WAL, the default) and NDJSON event stores;
  :func:`exposures_frame` reads one back as a log for ``interleave evaluate``.
- ``interleave serve`` (extra ``api``): the same as an HTTP sidecar with a live dashboard.
"""

from interleave.serving.experiment import ClickReceipt, Experiment, ExperimentResult, Served
from interleave.serving.export import exposures_frame
from interleave.serving.rollout import (
    RolloutExperiment,
    RolloutResult,
    RolloutServed,
    rollout_log,
)
from interleave.serving.stores import (
    EventStore,
    MemoryStore,
    NDJSONStore,
    SQLiteStore,
    open_store,
)

__all__ = [
    "ClickReceipt",
    "EventStore",
    "Experiment",
    "ExperimentResult",
    "MemoryStore",
    "NDJSONStore",
    "RolloutExperiment",
    "RolloutResult",
    "RolloutServed",
    "SQLiteStore",
    "Served",
    "exposures_frame",
    "open_store",
    "rollout_log",
]
