"""``veil webhook …``: webhook subscriptions (add prints the secret once; list; remove)
and the dead-letter list (deadletter; replay). docs/webhooks.md.

A running ``veil serve`` picks up a webhook added here within
``VEIL_WEBHOOK_POLL_S`` seconds, and a replayed dead letter on its next look at the
outbox.
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from veil.cli.identity import cli_actor
from veil.cli.output import console, err_console, fail, handles_errors, table_console

app = typer.Typer(help="Manage webhooks: signed events for block and review verdicts.",
                  no_args_is_help=True)


@app.command("add")
@handles_errors
def add_command(
    name: str = typer.Argument(..., help="A name for the webhook (letters, digits, _ . -)."),
    url: str = typer.Argument(..., help="The receiver's http(s) URL."),
    key: int | None = typer.Option(None, "--key", help="Follow this platform key's scans "
                                   "and matches (its id: veil keys list).",
                                   show_default=False),
    bank: str | None = typer.Option(None, "--bank", help="Follow every block or review "
                                    "verdict with a match in this bank.",
                                    show_default=False),
) -> None:
    """Add a webhook and print its signing secret once (it is stored only encrypted)."""
    from veil.actions.sealing import Sealer
    from veil.actions.subscriptions import add_webhook
    from veil.config import load_settings
    from veil.store import open_store

    if (key is None) == (bank is None):
        raise fail("give either --key ID or --bank NAME")
    settings = load_settings()
    with open_store(settings) as store:
        record, secret = add_webhook(store, Sealer(settings), name, url, actor=cli_actor(),
                                     key_id=key, bank=bank)
    follows = f"key {record.key_id}" if record.key_id is not None else (
        f"bank {escape(record.bank or '')}")
    err_console.print(f"added webhook {escape(record.name)} for {follows}: store its "
                      "secret now, it cannot be shown again")
    print(secret)


@app.command("list")
@handles_errors
def list_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per webhook."),
) -> None:
    """List webhooks and their deliveries by status (never the secrets)."""
    from veil.cli.opening import open_cli_store

    with open_cli_store() as store:
        hooks = store.list_webhooks()
    if as_json:
        for w in hooks:
            print(json.dumps({"name": w.name, "url": w.url, "target": w.target,
                              "key_id": w.key_id, "bank": w.bank, "created_by": w.created_by,
                              "created_at": w.created_at.isoformat(),
                              "deliveries": w.deliveries}))
        return
    if not hooks:
        err_console.print("no webhooks yet; add one with [bold]veil webhook add NAME URL "
                          "--key ID[/]")
        return
    from rich.table import Table

    table = Table("name", "url", "follows", "pending", "delivered", "dead", "created")
    for w in hooks:
        follows = f"key {w.key_id}" if w.key_id is not None else f"bank {w.bank}"
        table.add_row(escape(w.name), escape(w.url), escape(follows),
                      *(str(w.deliveries[s]) for s in ("pending", "delivered", "dead")),
                      w.created_at.strftime("%Y-%m-%d %H:%M"))
    table_console().print(table)


@app.command("remove")
@handles_errors
def remove_command(name: str = typer.Argument(..., help="The webhook's name.")) -> None:
    """Remove a webhook with its secret and deliveries (undelivered ones are dropped)."""
    from veil.cli.opening import open_cli_store

    with open_cli_store() as store:
        dropped = store.remove_webhook(name, actor=cli_actor())
    console.print(f"removed webhook {escape(name)}"
                  + (f"; {dropped} undelivered events dropped" if dropped else ""))


@app.command("deadletter")
@handles_errors
def deadletter_command(
    webhook: str | None = typer.Option(None, "--webhook", help="Only this webhook's.",
                                       show_default=False),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000, help="Most listed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per delivery."),
) -> None:
    """List deliveries that failed every try, newest first."""
    from veil.cli.opening import open_cli_store

    with open_cli_store() as store:
        dead = store.dead_letters(webhook=webhook, limit=limit)
    if as_json:
        for d in dead:
            print(json.dumps({"delivery_id": d.delivery_id, "webhook": d.webhook,
                              "event": d.event, "subject": d.subject, "attempts": d.attempts,
                              "last_error": d.last_error,
                              "created_at": d.created_at.isoformat(),
                              "finished_at": d.finished_at.isoformat()
                              if d.finished_at else None}))
        return
    if not dead:
        err_console.print("no dead letters")
        return
    from rich.table import Table

    table = Table("delivery id", "webhook", "event", "subject", "tries", "last error",
                  "created")
    for d in dead:
        table.add_row(d.delivery_id, escape(d.webhook), d.event, escape(d.subject),
                      str(d.attempts), escape(d.last_error or ""),
                      d.created_at.strftime("%Y-%m-%d %H:%M:%S"))
    table_console().print(table)


@app.command("replay")
@handles_errors
def replay_command(
    delivery_ids: list[str] = typer.Argument(None, help="Dead letters to send again (veil "
                                             "webhook deadletter).", show_default=False),
    replay_all: bool = typer.Option(False, "--all", help="Every dead letter (of --webhook, "
                                    "if given)."),
    webhook: str | None = typer.Option(None, "--webhook", help="Only this webhook's.",
                                       show_default=False),
) -> None:
    """Send dead letters again, from the first try, with their delivery ids unchanged (a
    receiver that processed one already skips it)."""
    from veil.cli.opening import open_cli_store

    if bool(delivery_ids) == replay_all:
        raise fail("name delivery ids, or pass --all")
    with open_cli_store() as store:
        n = store.replay_dead_letters(actor=cli_actor(), ids=delivery_ids or None,
                                      webhook=webhook)
    console.print(f"{n} dead letter{'s' if n != 1 else ''} queued again")
