"""``veil eval …``: evaluation harnesses (placeholder, in progress)."""

import typer

app = typer.Typer(help="Evaluate Veil's signals.", no_args_is_help=True)
