"""``veil audit``: read the append-only audit log (newest first).

Filters: ``--since`` (an ISO time, or an age such as ``30m``, ``12h``, ``7d``),
``--actor``, ``--action``, ``--bank``, ``--entry``; ``--json`` prints one object per
event. Nothing here (or anywhere) edits or deletes an event.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from veil.cli.output import err_console, fail, handles_errors, table_console

if TYPE_CHECKING:
    from veil.store.records import AuditRecord

_AGE = re.compile(r"^(\d{1,6})\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: Longest detail shown in a table cell (--json prints all of it).
DETAIL_CHARS = 160


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An ISO time (a time without a zone is UTC) or an age (``30m``, ``12h``, ``7d``)."""
    now = now or datetime.now(UTC)
    age = _AGE.match(text.strip().lower())
    if age:
        return now - timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--since takes an ISO time (2026-12-01T10:00Z) or an age (30m, 12h, "
                   f"7d), got {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@handles_errors
def audit_command(
    since: str | None = typer.Option(None, "--since", help="Events at or after this time "
                                     "(ISO) or within this age (30m, 12h, 7d).",
                                     show_default=False),
    actor: str | None = typer.Option(None, "--actor", help="Only this actor (e.g. "
                                     "key:3:ops, cli:alice, veil:flood-protection).",
                                     show_default=False),
    action: str | None = typer.Option(None, "--action", help="Only this action (e.g. "
                                      "entry.withdraw, bank.policy, quarantine.create).",
                                      show_default=False),
    bank: str | None = typer.Option(None, "--bank", help="Only events of this bank.",
                                    show_default=False),
    entry: int | None = typer.Option(None, "--entry", min=1, help="Only events of this "
                                     "entry.", show_default=False),
    limit: int = typer.Option(100, "--limit", "-n", min=1, max=100_000,
                              help="Most events shown."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per event."),
) -> None:
    """Show the audit log, newest first: who did what, when (never a hash)."""
    from rich.table import Table

    from veil.cli.opening import open_cli_store

    start = parse_since(since) if since is not None else None
    events: list[AuditRecord] = []
    with open_cli_store() as store:
        before: int | None = None
        while len(events) < limit:  # pages of at most 1000
            want = min(1000, limit - len(events))
            page = store.audit(bank=bank, entry_id=entry, action=action, actor=actor,
                               since=start, before_id=before, limit=want)
            events += page
            if len(page) < want:
                break
            before = page[-1].id
    if as_json:
        for e in events:
            print(json.dumps({"id": e.id, "at": e.at.isoformat(), "actor": e.actor,
                              "action": e.action, "bank": e.bank, "entry_id": e.entry_id,
                              "detail": e.detail}, default=str))
        return
    if not events:
        err_console.print("no audit events match")
        return
    table = Table("id", "at (UTC)", "actor", "action", "bank", "entry", "detail")
    for col in (2, 4, 6):
        table.columns[col].overflow = "fold"
    for e in events:
        detail = json.dumps({k: v for k, v in e.detail.items() if v is not None},
                            default=str)
        if len(detail) > DETAIL_CHARS:
            detail = detail[:DETAIL_CHARS - 1] + "…"
        table.add_row(str(e.id), e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                      escape(e.actor), escape(e.action), escape(e.bank or ""),
                      str(e.entry_id or ""), escape(detail))
    table_console().print(table)
