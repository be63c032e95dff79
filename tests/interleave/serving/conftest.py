"""A real uvicorn server on 127.0.0.1 (ephemeral port), started in a thread per test module."""

from __future__ import annotations

import threading
import time

import pytest

uvicorn = pytest.importorskip("uvicorn", reason="the service tests need the `api` extra (uvicorn)")
pytest.importorskip("starlette", reason="the service tests need the `api` extra (starlette)")
httpx = pytest.importorskip("httpx", reason="the service tests talk to it with httpx")


class LiveServer:
    def __init__(self, app):
        from interleave.serving.app import listening_socket

        self.sock = listening_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                msg = "uvicorn did not start within 20 s"
                raise RuntimeError(msg)
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@pytest.fixture
def live_service(tmp_path):
    """Start the service on a fresh SQLite store; yields (base url, store path)."""
    from interleave.serving.app import ServiceConfig, create_app

    db = tmp_path / "events.db"
    app = create_app(ServiceConfig(db=db, length=5, seed=4, max_items=50, max_body_bytes=4096))
    with LiveServer(app) as server:
        yield server.url, db
