"""The ``veil`` command line (Typer + Rich).

One module per command group; this package may import anything below it in the
flow, and nothing imports it.
"""

from __future__ import annotations

import typer

from veil.cli import bank, evaluate, hashing, keys, matching, scan, serve

app = typer.Typer(
    name="veil",
    help="Veil: hash, bank and match media to keep non-consensual intimate images off platforms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("hash")(hashing.hash_command)
app.command("scan")(scan.scan_command)
app.command("match")(matching.match_command)
app.command("demo")(scan.demo_command)
app.command("serve")(serve.serve_command)
app.add_typer(bank.app, name="bank")
app.add_typer(keys.app, name="keys")
app.add_typer(evaluate.app, name="eval")
