"""``veil review list|purge``: review items (uploads kept, sealed, for a reviewer).

``purge`` deletes the media of every item past its retention deadline, as ``veil
serve`` does every ``VEIL_REVIEW_PURGE_INTERVAL_S``; ``--at`` purges as if it were
that time (an operator shortening retention after the fact, or a test).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.markup import escape

from veil.cli.opening import open_cli_store
from veil.cli.output import err_console, handles_errors, table_console

app = typer.Typer(help="Review items: list them, purge media past its deadline.",
                  no_args_is_help=True)


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@app.command("purge")
@handles_errors
def purge_command(
    at: str | None = typer.Option(None, "--at", help="Purge as if it were this time "
                                  "(ISO 8601, UTC unless it says otherwise); default: now."),
) -> None:
    """Delete the media of every item whose retention deadline has passed (the items'
    records and decisions stay)."""
    from veil.review.retention import purge

    with open_cli_store() as store:
        ids = purge(store, now=_when(at))
    err_console.print(f"purged the media of {len(ids)} item(s)")
    for item_id in ids:
        print(item_id)


@app.command("list")
@handles_errors
def list_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per item."),
    limit: int = typer.Option(100, "--limit", min=1, help="Most items listed."),
) -> None:
    """Items awaiting a decision, the most urgent first, with the time left to act."""
    from veil.review.items import describe

    with open_cli_store() as store:
        items = [describe(i) for i in store.review_items(limit=limit)]
    if as_json:
        for item in items:
            print(json.dumps(item))
        return
    if not items:
        err_console.print("no review items are waiting")
        return
    from rich.table import Table

    table = Table("id", "source", "from", "status", "verdict", "time left")
    for item in items:
        left = int(item["time_left_s"])
        shown = f"{left // 3600} h {left % 3600 // 60} min" if left >= 0 else "overdue"
        table.add_row(item["id"], item["source"], escape(str(item["platform"])),
                      item["status"], str(item["decision"]), shown)
    table_console().print(table)
