"""``veil serve``: the HTTP service (FastAPI on uvicorn).

Logs are JSON lines on stderr. SIGTERM (or Ctrl-C) stops accepting connections and
lets in-flight requests finish, up to ``VEIL_API_GRACEFUL_SHUTDOWN_S`` seconds.
"""

from __future__ import annotations

import typer

from veil.cli.output import handles_errors


@handles_errors
def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (put a TLS "
                             "proxy in front of anything public)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port (0: any free one)."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error."),
    forwarded_allow_ips: str | None = typer.Option(
        None, "--forwarded-allow-ips", help="Proxies whose X-Forwarded-For is trusted, so "
        "the intake rate limit sees real client addresses.", show_default=False),
) -> None:
    """Run the Veil service: intake, platform, review and admin APIs (docs at /docs)."""
    serve(host=host, port=port, log_level=log_level, forwarded_allow_ips=forwarded_allow_ips)


def serve(*, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
          forwarded_allow_ips: str | None = None) -> None:
    """Start uvicorn in this process until SIGTERM/Ctrl-C (also used by ``veil demo``)."""
    import uvicorn

    from veil.api import create_app
    from veil.api.logs import configure
    from veil.config import load_settings

    settings = load_settings()
    configure(log_level)
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, log_level=log_level, access_log=False,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_graceful_shutdown=settings.api.graceful_shutdown_s,
        server_header=False)
    uvicorn.Server(config).run()
