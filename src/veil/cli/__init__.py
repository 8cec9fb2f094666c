"""The ``veil`` command line (Typer + Rich).

One module per command group. Modules here import only Typer, Rich and the standard
library at the top; everything heavier (the store, the index, Pillow, FastAPI) is
imported inside the command that needs it, so ``veil --help`` and ``veil --version``
start in a fraction of a second. This package may import anything below it in the
flow, and nothing imports it.
"""

from __future__ import annotations

import atexit
import functools
import gc

import typer

from veil import __version__
from veil.cli import (
    audit,
    backfill,
    bank,
    bot,
    config,
    demo,
    evaluate,
    exchange,
    hashing,
    inspect,
    keys,
    matching,
    protect,
    quarantine,
    review,
    scan,
    serve,
    text,
    video,
    webhook,
)
from veil.cli.help import install as _install_help
from veil.cli.output import configure_logging

_install_help()

app = typer.Typer(  # its help is main()'s docstring
    name="veil",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        print(f"veil {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Veil: hash, bank and match media to keep non-consensual intimate images off
    platforms."""
    configure_logging()
    _freeze_gc_at_exit()


@functools.cache  # once, however many commands one process runs (tests run many)
def _freeze_gc_at_exit() -> None:
    # a command's work is done when the interpreter exits: let its last garbage
    # collection skip every object left (measured: ~0.4 s of `veil scan`'s exit)
    atexit.register(gc.freeze)


app.command("hash")(hashing.hash_command)
app.command("scan")(scan.scan_command)
app.command("protect")(protect.protect_command)
app.command("match")(matching.match_command)
app.command("inspect")(inspect.inspect_command)
app.command("demo")(demo.demo_command)
app.command("serve")(serve.serve_command)
app.command("config")(config.config_command)
app.command("bot")(bot.bot_command)
app.command("audit")(audit.audit_command)
app.command("backfill")(backfill.backfill_command)
app.add_typer(bank.app, name="bank")
app.add_typer(keys.app, name="keys")
app.add_typer(video.app, name="video")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(review.app, name="review")
app.add_typer(evaluate.app, name="eval")
app.add_typer(text.app, name="text")
app.add_typer(webhook.app, name="webhook")
app.add_typer(exchange.app, name="exchange")
