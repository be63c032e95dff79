"""``interleave serve``: the sidecar service under uvicorn (extra ``api``)."""

from __future__ import annotations

import argparse

from interleave.errors import InvalidArgument

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``interleave serve``."""
    parser.add_argument(
        "--db", required=True, help="event store: a SQLite file (or .ndjson) created if absent"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--method",
        default="team_draft",
        choices=("team_draft", "balanced", "probabilistic"),
        help="interleaving method of experiments created on first use",
    )
    parser.add_argument("--length", type=int, default=10, help="items shown per request")
    parser.add_argument("--seed", type=int, default=0, help="seed of new experiments")
    parser.add_argument(
        "--window", type=float, default=1800.0, help="attribution window in seconds (1800)"
    )


def run(args: argparse.Namespace) -> int:
    """Start the service and serve until interrupted."""
    try:
        import uvicorn
    except ModuleNotFoundError as error:
        msg = "`interleave serve` needs the `api` extra: pip install 'interleave[api]'"
        raise InvalidArgument(msg) from error
    from interleave.serving.app import ServiceConfig, create_app, listening_socket

    config = ServiceConfig(
        db=args.db,
        method=args.method,
        length=args.length,
        seed=args.seed,
        attribution_window=args.window,
    )
    sock = listening_socket(args.host, args.port)
    print(f"interleave serve: http://{args.host}:{args.port}/ (store {args.db})", flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
