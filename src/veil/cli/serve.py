"""``veil serve``: the HTTP service (FastAPI on uvicorn).

Logs are JSON lines on stderr. SIGTERM (or Ctrl-C) stops accepting connections and
lets in-flight requests finish, up to ``VEIL_API_GRACEFUL_SHUTDOWN_S`` seconds.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

import typer

from veil.cli.output import fail, handles_errors

if TYPE_CHECKING:
    from veil.config import Settings


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be listened on now: False only when something listens
    there already. Any other failure (an address not on this machine, a name that does
    not resolve, a port this user may not take) is raised: it is not "in use"."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def ensure_port_free(host: str, port: int, another: str) -> None:
    """Exit with one line unless the service can listen on ``host:port``; run before
    anything is created or printed (``veil demo --serve`` prints keys). ``another``
    says how to pick another port."""
    try:
        free = port_is_free(host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host} port {port}: {exc.strerror or exc}",
                   "serve.cannot_listen") from None
    if not free:
        raise fail(f"port {port} on {host} is in use: stop what uses it, or {another}",
                   "serve.port_in_use")


@handles_errors
def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (put a TLS "
                             "proxy in front of anything public)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port (0: any free one)."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error."),
    forwarded_allow_ips: str | None = typer.Option(
        None, "--forwarded-allow-ips", help="Proxies whose X-Forwarded-For is trusted, so "
        "the intake rate limit sees real client addresses.", show_default=False),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Service processes "
                                "sharing one copy of each index (one per core is "
                                "typical); the reviewer page needs 1."),
) -> None:
    """Run the Veil service: intake, platform, review and admin APIs (docs at /docs)."""
    from veil.config import load_settings

    if port:
        ensure_port_free(host, port, "pass another --port")
    status = serve(load_settings(), host=host, port=port, log_level=log_level,
                   forwarded_allow_ips=forwarded_allow_ips, workers=workers)
    if status:
        raise typer.Exit(status)


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000,
          log_level: str = "info", forwarded_allow_ips: str | None = None,
          workers: int = 1) -> int:
    """Start uvicorn until SIGTERM/Ctrl-C (also used by ``veil demo``): in this
    process, or in ``workers`` processes on one port (``veil.api.workers``).
    Returns the exit status."""
    from veil.api.logs import configure

    configure(log_level)

    def serve_one(s: Settings, sock: socket.socket | None) -> None:
        _serve_one(s, sock, host=host, port=port, log_level=log_level,
                   forwarded_allow_ips=forwarded_allow_ips)

    if workers == 1:
        serve_one(settings, None)
        return 0
    from veil.api.workers import port_socket, run_workers

    try:
        reserved = port_socket(host, port, listen=False)
    except OSError as exc:
        raise fail(f"cannot listen on {host} port {port}: {exc.strerror or exc}",
                   "serve.cannot_listen") from None
    with reserved:
        return run_workers(settings, workers, reserved, serve_one)


def _serve_one(settings: Settings, sock: socket.socket | None, *, host: str, port: int,
               log_level: str, forwarded_allow_ips: str | None) -> None:
    import uvicorn

    from veil.api import create_app
    from veil.api.connections import with_header_timeout

    app = create_app(settings)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, log_level=log_level, access_log=False,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_graceful_shutdown=settings.api.graceful_shutdown_s,
        http=with_header_timeout(settings.api.header_timeout_s),
        limit_concurrency=settings.api.max_connections, timeout_keep_alive=5,
        server_header=False)
    uvicorn.Server(config).run(sockets=None if sock is None else [sock])
