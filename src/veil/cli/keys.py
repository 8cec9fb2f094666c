"""``veil keys …``: API keys of the service (create prints the key once; list; revoke;
``partner``: what an ``exchange`` key may fetch from the hub and submit into).

A revocation reaches a running ``veil serve`` within ``VEIL_API_KEY_CACHE_S``
seconds (at once when revoked through the admin API).
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from veil.cli.identity import cli_actor
from veil.cli.opening import open_cli_store
from veil.cli.output import console, err_console, handles_errors
from veil.store.vocabulary import SCOPES

app = typer.Typer(help="Manage API keys of the service.", no_args_is_help=True)


@app.command("create")
@handles_errors
def create_command(
    scope: list[str] = typer.Option(..., "--scope", "-s", help=f"One of {', '.join(SCOPES)}; "
                                    "repeat for several."),
    name: str = typer.Option("", "--name", help="Who or what holds the key."),
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    scopes = [p for s in scope for p in s.split(",")]
    with open_cli_store() as store:
        record, key = store.create_api_key(scopes, name=name, actor=cli_actor())
    err_console.print(f"created key {record.id} ({', '.join(record.scopes)})"
                      + (f" for {escape(record.name)}" if record.name else "")
                      + ": store it now, it cannot be shown again")
    print(key)


@app.command("list")
@handles_errors
def list_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per key."),
) -> None:
    """List keys (prefix, scopes, state; never the keys)."""
    with open_cli_store() as store:
        keys = store.list_api_keys()
    if as_json:
        for k in keys:
            print(json.dumps({"id": k.id, "name": k.name, "prefix": k.prefix,
                              "scopes": list(k.scopes), "created_by": k.created_by,
                              "created_at": k.created_at.isoformat(),
                              "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}))
        return
    from rich.table import Table

    if not keys:
        err_console.print("no keys yet; create one with [bold]veil keys create --scope "
                          "platform[/]")
        return
    table = Table("id", "name", "prefix", "scopes", "created", "state")
    for k in keys:
        table.add_row(str(k.id), escape(k.name), escape(k.prefix) + "…", ",".join(k.scopes),
                      k.created_at.strftime("%Y-%m-%d %H:%M"),
                      "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}")
    console.print(table)


@app.command("revoke")
@handles_errors
def revoke_command(key_id: int = typer.Argument(..., help="The key's id (veil keys list).")
                   ) -> None:
    """Revoke a key."""
    with open_cli_store() as store:
        record = store.revoke_api_key(key_id, actor=cli_actor())
    console.print(f"revoked key {record.id}"
                  + (f" ({escape(record.name)})" if record.name else ""))


@app.command("partner")
@handles_errors
def partner_command(
    key_name: str = typer.Argument(..., help="The exchange key's name (veil keys create "
                                   "--scope exchange --name NAME).", show_default=False),
    fetch_bank: list[str] | None = typer.Option(
        None, "--fetch-bank", "-f", help="A bank the partner may fetch (repeat; each is "
        "served only while its policy shares it: veil bank policy B --share).",
        show_default=False),
    submit_bank: str | None = typer.Option(None, "--submit-bank", help="The bank its "
                                           "SubmitHashes go into (none: it cannot submit).",
                                           show_default=False),
    show: bool = typer.Option(False, "--show", help="Only show the configuration."),
    as_json: bool = typer.Option(False, "--json", help="Print it as JSON."),
) -> None:
    """Set (or --show) what an exchange partner's key may fetch and submit at the hub
    (/stopncii/v1/, docs/exchange.md). Setting replaces the whole configuration."""
    with open_cli_store() as store:
        if show:
            p = store.get_partner(key_name)
        else:
            p = store.set_partner(key_name, fetch_bank or [], submit_bank,
                                  actor=cli_actor())
    if as_json:
        print(json.dumps({"key_id": p.key_id, "name": p.name,
                          "fetch_banks": list(p.fetch_banks), "submit_bank": p.submit_bank}))
        return
    console.print(f"partner [bold]{escape(p.name)}[/] (key {p.key_id}): fetches "
                  + (escape(", ".join(p.fetch_banks)) or "nothing") + "; submits into "
                  + (escape(p.submit_bank) if p.submit_bank else "nothing"))
