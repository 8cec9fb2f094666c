"""``veil bank …``: create, list, add, import, export, withdraw (placeholder, in progress)."""

import typer

app = typer.Typer(help="Manage hash banks.", no_args_is_help=True)
