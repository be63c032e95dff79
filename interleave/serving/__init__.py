"""Interleaving inside a live recommender API: an experiment, durable event stores, a service.

- :class:`Experiment`: ``serve`` (merge the lists for one request), ``record_click`` (clicks as
  they come), ``result()`` (the running sequential decision); thread-safe, resumable.
- :mod:`~interleave.serving.stores`: SQLite (WAL, the default) and NDJSON event stores.
- ``interleave serve`` (extra ``api``): the same as an HTTP sidecar with a live dashboard.
"""

from interleave.serving.experiment import ClickReceipt, Experiment, ExperimentResult, Served
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
    "SQLiteStore",
    "Served",
    "open_store",
]
