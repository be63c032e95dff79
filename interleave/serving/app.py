"""The sidecar service: interleaving over HTTP for recommenders in any language (extra ``api``).

Endpoints (JSON in, JSON out; the OpenAPI schema at ``GET /openapi.json``):

- ``POST /interleave``: ``{"experiment", "request_key", "user", "rankings": [[...], [...]]}``
  -> ``{"impression_id", "items", "teams", "repeated"}``;
- ``POST /clicks``: ``{"experiment", "impression_id", "position"}`` -> ``{"accepted": true}``; a
  click on an unknown (404) or closed (409) impression, or at a position outside the shown list
  (422), is rejected, counted in the experiment's result, and answered with the reason;
- ``POST /sessions/end``: ``{"experiment", "user"}``: the user's session ended, so credit their
  open impressions now instead of when the attribution window closes;
- ``POST /experiments``: create an experiment with its own configuration (method, length, seed,
  attribution window); ``POST /interleave`` on an unknown id creates one with the service's
  defaults;
- ``GET /experiments`` (ids) and ``GET /experiments/{id}`` (the live result, as
  :meth:`~interleave.serving.ExperimentResult.to_dict`);
- ``GET /``: the dashboard: each experiment's decision, counts, and its win rate with the
  confidence sequence over time, refreshing every two seconds.

Bad requests get a 4xx answer ``{"error": ..., "field": ...}`` naming the field. Bodies are capped
at ``max_body_bytes`` and each ranking at ``max_items`` items.

Acknowledgement: a ``POST`` is answered only once every event appended so far, its own included,
is durable (it survives SIGKILL of the service). With a SQLite store the requests share commits
(group commit, :class:`_GroupCommit`): the store queues on append, one commit at a time runs in a
worker thread and takes everything queued, and the requests that arrived while it ran wait for
the next one. No timer: a lone request waits for one commit. A commit that fails answers the
requests whose events it held with 503 ``{"field": "store"}``, never 200; their events stay queued
and are retried by the next commit, so repeating such a request is safe (the same request key
returns the same impression, a repeated click counts once). NDJSON and memory stores write per
request on the event loop, as their ``append`` returns (an NDJSON line reaches the OS, no fsync).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import os
import socket
import sqlite3
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from interleave.errors import InterleaveError, InvalidArgument
from interleave.methods import Balanced, Probabilistic, TeamDraft
from interleave.serving.experiment import Experiment
from interleave.serving.stores import EventStore, SQLiteStore, open_store

__all__ = ["ServiceConfig", "create_app", "listening_socket"]


def listening_socket(host: str = "127.0.0.1", port: int = 8000) -> socket.socket:
    """A bound TCP socket with TCP_NODELAY, to hand to uvicorn (``server.run(sockets=[sock])``).

    Without TCP_NODELAY every response waits ~40 ms: the server writes headers and body
    separately, Nagle holds the second write until the client's delayed ACK (measured: 44 ms ->
    1 ms per request on loopback). Linux copies the option to every accepted connection.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        msg = f"cannot listen on `host` {host!r} `port` {port}: {error}"
        raise InvalidArgument(msg) from None
    return sock


METHODS = {"team_draft": TeamDraft, "balanced": Balanced, "probabilistic": Probabilistic}


@dataclass(frozen=True)
class ServiceConfig:
    """How the service runs: its store, the defaults of new experiments, and its limits."""

    db: str | Path | None = None
    method: str = "team_draft"
    length: int = 10
    seed: int = 0
    attribution_window: float = 1800.0
    max_body_bytes: int = 1 << 20
    max_items: int = 1000
    max_rankers: int = 8


class _BadRequest(Exception):
    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def _require(body: dict[str, Any], name: str, kinds: tuple[type, ...], what: str) -> Any:
    if name not in body:
        raise _BadRequest(422, name, f"`{name}` is required: {what}")
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise _BadRequest(422, name, f"`{name}` must be {what}, got {json.dumps(value)[:80]}")
    return value


class _StoreFailed(Exception):
    """A commit holding the request's events failed: the request must not be acknowledged."""


class _GroupCommit:
    """Acknowledge a request once its events are committed, many requests to one commit.

    The store queues on append (inside ``serve``/``record_click``, on the event loop). A request
    then awaits :meth:`durable` with the store's ``appended`` count it saw: one commit at a time
    runs in a worker thread (leader/follower) and commits everything queued when it starts;
    requests that arrive meanwhile wait for the next commit, which takes all of them. A store that
    commits per append (``committed == appended``) never waits.
    """

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.n_commits = 0
        # One thread: commits never overlap, and none competes with the loop's default executor.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="interleave-commit")
        self._running: asyncio.Future[None] | None = None
        self._running_covers = 0  # the running commit takes at least the first this many events

    async def durable(self, through: int) -> None:
        """Return once the first ``through`` events are committed; raise if a commit failed them.

        Raises
        ------
        _StoreFailed
            The commit that held some of those events failed (they stay queued for the next).
        """
        store = self.store
        while store.committed < through:
            if self._running is None or self._running.done():
                # The leader: every event appended so far is queued, so this commit takes them.
                self._running_covers = store.appended
                self._running = asyncio.get_running_loop().run_in_executor(
                    self._executor, store.flush
                )
                self.n_commits += 1
            commit, covers = self._running, self._running_covers
            try:
                # shield: a client that hangs up cancels its wait, never the shared commit.
                await asyncio.shield(commit)
            except Exception as error:
                if through <= covers:
                    msg = (
                        "not acknowledged: the commit holding this request's events failed "
                        f"({type(error).__name__}: {error}); they stay queued for the next "
                        "commit, and repeating the request is safe"
                    )
                    raise _StoreFailed(msg) from error
                # Ours may have been queued after it took the queue: wait for the next commit.

    def close(self) -> None:
        """Wait for a running commit; the store's ``close`` commits what is still queued."""
        self._executor.shutdown(wait=True)


def _open_service_store(db: Any) -> EventStore:
    """The service's store: a SQLite path opens queued (the service commits in groups)."""
    if isinstance(db, (str, os.PathLike)) and Path(db).suffix.lower() not in {".ndjson", ".jsonl"}:
        return SQLiteStore(db, batch_interval=math.inf)
    return open_store(db)


class _Registry:
    """The experiments of one service, created on first use, all in one store."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.store: EventStore = _open_service_store(config.db)
        self._experiments: dict[str, Experiment] = {}
        self._lock = threading.Lock()  # the dict only, held for a lookup or an insert
        # One creation at a time (it reads the store and may write the config event), held
        # across it, so that lookups of the running experiments never wait for a store read.
        self._create_lock = threading.Lock()
        # Resume every experiment the store holds, with its stored configuration.
        configs = {}
        for event in self.store.read():
            if event.get("kind") == "config":
                configs[event["experiment"]] = event
        for experiment_id, event in configs.items():
            params = dict(event.get("params") or {})
            self._experiments[experiment_id] = self._make(
                experiment_id,
                method=event["method"],
                length=params.get("length", config.length),
                seed=event["seed"],
                attribution_window=event["attribution_window"],
            )

    def _make(
        self, experiment_id: str, *, method: str, length: Any, seed: int, attribution_window: float
    ) -> Experiment:
        if method not in METHODS:
            msg = f"`method` must be one of {sorted(METHODS)}, got {method!r}"
            raise InvalidArgument(msg)
        return Experiment(
            experiment_id,
            METHODS[method](length=length),
            seed=seed,
            store=self.store,
            attribution_window=attribution_window,
        )

    def get(self, experiment_id: str, *, create: bool) -> Experiment | None:
        with self._lock:
            experiment = self._experiments.get(experiment_id)
        if experiment is not None or not create:
            return experiment
        with self._create_lock:
            with self._lock:  # another request may have created it while this one waited
                experiment = self._experiments.get(experiment_id)
            if experiment is None:
                c = self.config
                experiment = self._make(
                    experiment_id,
                    method=c.method,
                    length=c.length,
                    seed=c.seed,
                    attribution_window=c.attribution_window,
                )
                with self._lock:
                    self._experiments[experiment_id] = experiment
            return experiment

    def create(self, experiment_id: str, **settings: Any) -> Experiment:
        with self._create_lock:
            with self._lock:
                if experiment_id in self._experiments:
                    raise _BadRequest(409, "id", f"experiment {experiment_id!r} exists already")
            experiment = self._make(experiment_id, **settings)
            with self._lock:
                self._experiments[experiment_id] = experiment
            return experiment

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._experiments)


def _openapi() -> dict[str, Any]:
    ranking = {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}
    key = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    error = {
        "description": "bad request: the field and what is wrong",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    ok = {"200": {"description": "OK", "content": {"application/json": {"schema": {}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "interleave sidecar", "version": "1"},
        "paths": {
            "/interleave": {
                "post": {
                    "summary": "Merge two or more ranked lists for one request",
                    "requestBody": body(
                        {
                            "type": "object",
                            "required": ["request_key", "rankings"],
                            "properties": {
                                "experiment": {"type": "string", "default": "default"},
                                "request_key": key,
                                "user": key,
                                "rankings": {"type": "array", "items": ranking, "minItems": 2},
                            },
                        }
                    ),
                    "responses": {**ok, "413": error, "422": error},
                }
            },
            "/clicks": {
                "post": {
                    "summary": "Record a click on a served impression",
                    "requestBody": body(
                        {
                            "type": "object",
                            "required": ["impression_id", "position"],
                            "properties": {
                                "experiment": {"type": "string", "default": "default"},
                                "impression_id": {"type": "string"},
                                "position": {"type": "integer", "minimum": 0},
                            },
                        }
                    ),
                    "responses": {**ok, "404": error, "409": error, "422": error},
                }
            },
            "/sessions/end": {
                "post": {
                    "summary": "Credit a user's open impressions now (the session ended)",
                    "requestBody": body(
                        {
                            "type": "object",
                            "required": ["user"],
                            "properties": {
                                "experiment": {"type": "string", "default": "default"},
                                "user": key,
                            },
                        }
                    ),
                    "responses": {**ok, "404": error, "422": error},
                }
            },
            "/experiments": {
                "get": {"summary": "Experiment ids", "responses": ok},
                "post": {
                    "summary": "Create an experiment",
                    "requestBody": body(
                        {
                            "type": "object",
                            "required": ["id"],
                            "properties": {
                                "id": {"type": "string"},
                                "method": {"enum": sorted(METHODS)},
                                "length": {"type": "integer", "minimum": 1},
                                "seed": {"type": "integer"},
                                "attribution_window": {"type": "number", "exclusiveMinimum": 0},
                            },
                        }
                    ),
                    "responses": {**ok, "409": error, "422": error},
                },
            },
            "/experiments/{experiment_id}": {
                "get": {
                    "summary": "The live result",
                    "parameters": [
                        {
                            "name": "experiment_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {**ok, "404": error},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
                }
            }
        },
    }


def create_app(config: ServiceConfig | None = None) -> Any:
    """The ASGI app (Starlette) serving ``config``'s experiments."""
    try:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import HTMLResponse, JSONResponse
        from starlette.routing import Route
    except ModuleNotFoundError as error:  # pragma: no cover - depends on the install
        msg = "the service needs the `api` extra: pip install 'interleave[api]'"
        raise InvalidArgument(msg) from error

    config = ServiceConfig() if config is None else config
    registry = _Registry(config)
    store = registry.store
    group = _GroupCommit(store) if isinstance(store, SQLiteStore) else None
    dashboard = resources.files("interleave.serving").joinpath("dashboard.html").read_text()

    def problem(status: int, field: str, message: str) -> JSONResponse:
        return JSONResponse({"error": message, "field": field}, status_code=status)

    async def read_json(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
            raise _BadRequest(413, "body", f"body over {config.max_body_bytes} bytes")
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > config.max_body_bytes:
                raise _BadRequest(413, "body", f"body over {config.max_body_bytes} bytes")
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise _BadRequest(400, "body", f"body is not JSON: {error}") from None
        if not isinstance(body, dict):
            raise _BadRequest(422, "body", "body must be a JSON object")
        return body

    def experiment_id(body: dict[str, Any]) -> str:
        value = body.get("experiment", "default")
        if not isinstance(value, str) or not value or len(value) > 200:
            raise _BadRequest(422, "experiment", "`experiment` must be a non-empty string id")
        return value

    async def acknowledge(posted: bool, appended_before: int) -> None:
        # A POST waits for every event appended so far (a repeated request's impression may still
        # be queued); a GET only for the events it appended itself (credits of expired windows).
        if group is None:
            store.flush()  # per-append stores: nothing queued, nothing to wait for
            return
        through = group.store.appended
        if posted or through > appended_before:
            await group.durable(through)

    def handle(endpoint: Any) -> Any:
        async def wrapped(request: Request) -> Any:
            appended_before = group.store.appended if group is not None else 0
            try:
                response = await endpoint(request)
            except _BadRequest as bad:
                response = problem(bad.status, bad.field, bad.message)
            except InterleaveError as error:
                text = str(error)
                field = text.split("`")[1] if text.count("`") >= 2 else "body"
                response = problem(422, field, text)
            except sqlite3.Error as error:
                # A new experiment reads the store, which first commits what is queued; if that
                # commit fails, so does this request (its events stay queued, as in `durable`).
                msg = f"the event store failed ({type(error).__name__}: {error}); retry the request"
                response = problem(503, "store", msg)
            try:
                await acknowledge(request.method == "POST", appended_before)
            except _StoreFailed as failed:
                return problem(503, "store", str(failed))
            return response

        return wrapped

    async def interleave(request: Request) -> JSONResponse:
        body = await read_json(request)
        exp_id = experiment_id(body)
        key = _require(body, "request_key", (str, int), "a string or integer request key")
        user = body.get("user")
        if user is not None and (isinstance(user, bool) or not isinstance(user, (str, int))):
            raise _BadRequest(422, "user", "`user` must be a string or integer user id")
        rankings = _require(body, "rankings", (list,), "a list of two or more ranked lists")
        if not 2 <= len(rankings) <= config.max_rankers:
            raise _BadRequest(
                422, "rankings", f"`rankings` must hold 2 to {config.max_rankers} ranked lists"
            )
        for i, ranking in enumerate(rankings):
            if not isinstance(ranking, list):
                raise _BadRequest(422, f"rankings[{i}]", f"`rankings[{i}]` must be a list of ids")
            if len(ranking) > config.max_items:
                raise _BadRequest(
                    413, f"rankings[{i}]", f"`rankings[{i}]` is over {config.max_items} items"
                )
        experiment = registry.get(exp_id, create=False)
        if experiment is None:
            # A new experiment reads the store to restore its state: in a thread, so that the
            # event loop keeps answering the other experiments meanwhile.
            experiment = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(registry.get, exp_id, create=True)
            )
        served = experiment.serve(key, rankings, user=user)
        return JSONResponse(
            {
                "experiment": exp_id,
                "impression_id": served.impression_id,
                "items": list(served.items),
                "teams": list(served.interleaving.teams),
                "repeated": served.repeated,
            }
        )

    async def clicks(request: Request) -> JSONResponse:
        body = await read_json(request)
        experiment = registry.get(experiment_id(body), create=False)
        impression = _require(body, "impression_id", (str,), "the id /interleave returned")
        position = _require(body, "position", (int,), "a 0-based position in the shown list")
        if experiment is None:
            raise _BadRequest(404, "experiment", f"no experiment {body.get('experiment')!r}")
        receipt = experiment.record_click(impression, position)
        if receipt:
            return JSONResponse({"accepted": True, "duplicate": receipt.reason == "duplicate"})
        status = {"unknown_impression": 404, "closed_impression": 409}.get(receipt.reason, 422)
        field = "position" if receipt.reason == "bad_position" else "impression_id"
        return problem(status, field, f"click rejected: {receipt.reason}")

    async def end_session(request: Request) -> JSONResponse:
        body = await read_json(request)
        experiment = registry.get(experiment_id(body), create=False)
        user = _require(body, "user", (str, int), "the user id given to /interleave")
        if experiment is None:
            raise _BadRequest(404, "experiment", f"no experiment {body.get('experiment')!r}")
        return JSONResponse({"credited": experiment.end_session(user)})

    async def create_experiment(request: Request) -> JSONResponse:
        body = await read_json(request)
        exp_id = _require(body, "id", (str,), "a string experiment id")
        settings = {
            "method": body.get("method", config.method),
            "length": body.get("length", config.length),
            "seed": body.get("seed", config.seed),
            "attribution_window": body.get("attribution_window", config.attribution_window),
        }
        await asyncio.get_running_loop().run_in_executor(  # it reads the store: off the loop
            None, functools.partial(registry.create, exp_id, **settings)
        )
        return JSONResponse({"id": exp_id, **settings}, status_code=201)

    async def list_experiments(request: Request) -> JSONResponse:
        return JSONResponse({"experiments": registry.ids()})

    async def experiment_result(request: Request) -> JSONResponse:
        exp_id = request.path_params["experiment_id"]
        experiment = registry.get(exp_id, create=False)
        if experiment is None:
            raise _BadRequest(404, "experiment_id", f"no experiment {exp_id!r}")
        return JSONResponse(experiment.result().to_dict())

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(_openapi())

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(dashboard)

    routes = [
        Route("/", handle(index), methods=["GET"]),
        Route("/openapi.json", handle(openapi), methods=["GET"]),
        Route("/interleave", handle(interleave), methods=["POST"]),
        Route("/clicks", handle(clicks), methods=["POST"]),
        Route("/sessions/end", handle(end_session), methods=["POST"]),
        Route("/experiments", handle(list_experiments), methods=["GET"]),
        Route("/experiments", handle(create_experiment), methods=["POST"]),
        Route("/experiments/{experiment_id}", handle(experiment_result), methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        if group is not None:
            group.close()
        registry.store.close()  # commits what is queued

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.registry = registry
    app.state.group_commit = group
    return app
