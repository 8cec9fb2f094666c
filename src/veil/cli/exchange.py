"""``veil exchange …``: hash lists this node pulls into its banks (add, list, status,
sync, refetch, rejects, enable/disable, remove) and the hub's tombstones (purge). docs/exchange.md.

``veil serve`` syncs every enabled exchange every ``VEIL_EXCHANGE_SYNC_S`` seconds;
``veil exchange sync`` runs one sync now, in this process.
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from veil.cli.identity import cli_actor
from veil.cli.output import console, err_console, fail, handles_errors, table_console

app = typer.Typer(help="Pull hash lists from other hubs (StopNCII, Veil, HMA) into banks.",
                  no_args_is_help=True)

NAME_ARG = typer.Argument(..., help="The exchange's name (veil exchange list).")


@app.command("add")
@handles_errors
def add_command(
    name: str = typer.Argument(..., help="A name for the exchange (letters, digits, _ . -)."),
    kind: str = typer.Option(..., "--kind", help="stopncii (StopNCII's API), veil (another "
                             "Veil's /stopncii/v1) or hma (a plain hash list at a URL)."),
    url: str = typer.Option(..., "--url", help="Base URL: e.g. http://hub/stopncii/v1 for "
                            "stopncii and veil; the list's URL for hma."),
    bank: str = typer.Option(..., "--bank", help="The bank its hashes go to (made, "
                             "category imported, if missing; one exchange per bank)."),
    credentials: str | None = typer.Option(
        None, "--credentials", help="Where the secret is: env:VARIABLE or file:/path (0600). "
        "Default: env:VEIL_EXCHANGE_KEY_<NAME>. Never stored itself.", show_default=False),
) -> None:
    """Add an exchange (it syncs on the next round of veil serve, or veil exchange sync)."""
    from veil.cli.opening import open_cli_store
    from veil.exchange.credentials import check_reference

    ref = None if credentials is None else check_reference(credentials)
    with open_cli_store() as store:
        x = store.add_exchange(name, kind=kind.strip().lower(), url=url, bank=bank,
                               credentials=ref, actor=cli_actor())
    err_console.print(f"added exchange {escape(x.name)} ({x.kind}) into bank "
                      f"{escape(x.bank)}; run [bold]veil exchange sync {escape(x.name)}[/] "
                      "or let veil serve sync it")


@app.command("list")
@handles_errors
def list_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per exchange."),
) -> None:
    """List exchanges with their status: last fetch, checkpoint, error, counts."""
    from veil.cli.opening import open_cli_store
    from veil.exchange.status import status_json

    with open_cli_store() as store:
        found = store.list_exchanges()
    if as_json:
        for x in found:
            print(json.dumps(status_json(x)))
        return
    if not found:
        err_console.print("no exchanges yet; add one with [bold]veil exchange add NAME --kind "
                          "stopncii --url URL --bank BANK[/]")
        return
    from rich.table import Table

    table = Table("name", "kind", "bank", "enabled", "last success", "added", "removed",
                  "rejected", "error")
    for x in found:
        c = x.counts
        table.add_row(escape(x.name), x.kind, escape(x.bank), "yes" if x.enabled else "no",
                      "never" if x.last_success_at is None
                      else x.last_success_at.strftime("%Y-%m-%d %H:%M:%S"),
                      str(c.get("added", 0)), str(c.get("removed", 0)),
                      str(c.get("rejected", 0)), escape(x.error or ""))
    table_console().print(table)


@app.command("status")
@handles_errors
def status_command(name: str = NAME_ARG) -> None:
    """One exchange's status as JSON."""
    from veil.cli.opening import open_cli_store
    from veil.exchange.status import status_json

    with open_cli_store() as store:
        x = store.get_exchange(name)
        out = status_json(x)
        out["entries"] = store.exchange_entry_count(name)
    print(json.dumps(out, indent=2))


@app.command("sync")
@handles_errors
def sync_command(
    name: str | None = typer.Argument(None, help="Sync only this exchange (default: "
                                      "every enabled one).", show_default=False),
) -> None:
    """Run one sync now: fetch, merge, send due feedback. Exits 1 if any failed."""
    from veil.cli.opening import open_cli_store
    from veil.exchange.sync import sync_exchange

    failed = False
    with open_cli_store() as store:
        names = [name] if name else [x.name for x in store.list_exchanges() if x.enabled]
        if name:
            store.get_exchange(name)  # NotFound: a clear message
        if not names:
            err_console.print("no enabled exchanges to sync")
            return
        for n in names:
            with console.status(f"syncing {escape(n)}…"):
                r = sync_exchange(store, n, store.settings)
            walk = "full walk" if r.full else "update"
            line = (f"{escape(n)}: {walk}, {r.pages} page(s), {r.added} added, "
                    f"{r.removed} removed, {r.rejected} rejected, {r.feedback_sent} "
                    f"feedback sent in {r.seconds:.1f} s")
            for w in r.warnings:
                err_console.print(f"[yellow]warning[/] {escape(n)}: {escape(w)}")
            if r.ok:
                err_console.print(line)
            else:
                failed = True
                err_console.print(f"[red]failed[/] {line}: {escape(r.error or '')}")
    if failed:
        raise typer.Exit(1)


@app.command("refetch")
@handles_errors
def refetch_command(name: str = NAME_ARG) -> None:
    """Walk the peer's whole list at the next sync (after it shares more with you)."""
    from veil.cli.opening import open_cli_store

    with open_cli_store() as store:
        store.request_full_walk(name, actor=cli_actor())
    err_console.print(f"exchange {escape(name)}: the next sync walks the whole list")


@app.command("purge")
@handles_errors
def purge_command() -> None:
    """Erase the hub's withdrawal tombstones older than VEIL_EXCHANGE_TOMBSTONE_DAYS
    (veil serve does it every VEIL_REVIEW_PURGE_INTERVAL_S)."""
    from veil.cli.opening import open_cli_store

    with open_cli_store() as store:
        n = store.purge_tombstones()
    err_console.print(f"erased {n} tombstone(s)")


@app.command("rejects")
@handles_errors
def rejects_command(
    name: str = NAME_ARG,
    limit: int = typer.Option(20, "--limit", min=1, max=10000, help="How many, newest first."),
) -> None:
    """Records the exchange sent that could not be merged, with why (JSON lines)."""
    from veil.cli.opening import open_cli_store

    with open_cli_store() as store:
        for r in store.exchange_rejects(name, limit=limit):
            print(json.dumps({"at": r.at.isoformat(), "reason": r.reason,
                              "record": r.record}, ensure_ascii=False))


def _set_enabled(name: str, enabled: bool) -> None:
    from veil.cli.opening import open_cli_store

    with open_cli_store() as store:
        store.set_exchange_enabled(name, enabled, actor=cli_actor())
    err_console.print(f"exchange {escape(name)} {'enabled' if enabled else 'disabled'}")


@app.command("enable")
@handles_errors
def enable_command(name: str = NAME_ARG) -> None:
    """Sync this exchange again."""
    _set_enabled(name, True)


@app.command("disable")
@handles_errors
def disable_command(name: str = NAME_ARG) -> None:
    """Stop syncing this exchange (its bank's entries stay and match)."""
    _set_enabled(name, False)


@app.command("remove")
@handles_errors
def remove_command(name: str = NAME_ARG) -> None:
    """Forget an exchange (its bank and entries stay: disable the bank to stop them)."""
    from veil.cli.opening import open_cli_store

    if not name.strip():
        raise fail("give the exchange's name")
    with open_cli_store() as store:
        store.remove_exchange(name, actor=cli_actor())
    err_console.print(f"exchange {escape(name)} removed; its bank stays")
