"""``veil quarantine …``: what flood protection quarantined, and an admin's decision.

A quarantined bank or entry has its matches turned into ``review`` by every matcher
(the flag is in the database) until an admin releases it (its matches count as
before) or confirms it (the entry is disabled, with a note for its source list; a
bank is disabled). Decisions are in the audit log under ``cli:<user>``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from veil.cli.identity import cli_actor
from veil.cli.opening import open_cli_store
from veil.cli.output import console, err_console, handles_errors, table_console

if TYPE_CHECKING:
    from veil.store.records import QuarantineRecord

app = typer.Typer(help="Banks and entries flood protection quarantined.",
                  no_args_is_help=True)

STATUSES = ("active", "released", "confirmed")


def _as_json(q: QuarantineRecord) -> dict[str, object]:
    return {"id": q.id, "kind": q.kind, "bank": q.bank, "entry_id": q.entry_id,
            "status": q.status, "detail": q.detail, "created_at": q.created_at.isoformat(),
            "decided_by": q.decided_by,
            "decided_at": q.decided_at.isoformat() if q.decided_at else None,
            "decision_reason": q.decision_reason}


def _why(q: QuarantineRecord) -> str:
    d = q.detail
    if d.get("reason") == "entry_uploads":
        return (f"matched {d.get('distinct_uploads')} distinct pictures within "
                f"{d.get('window_uploads')} uploads")
    if d.get("reason") == "bank_share":
        return (f"matched {d.get('matched_uploads')} of a window of "
                f"{d.get('window_uploads')} uploads (baseline share {d.get('baseline')})")
    return json.dumps(d)


@app.command("list")
@handles_errors
def list_command(
    status: str | None = typer.Option("active", "--status", help="active, released, "
                                      "confirmed, or all."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per quarantine."),
) -> None:
    """List quarantines (active ones by default)."""
    from rich.table import Table

    from veil.cli.output import fail

    if status not in (*STATUSES, "all", None):
        raise fail(f"--status must be one of {', '.join(STATUSES)} or all")
    with open_cli_store() as store:
        found = store.quarantines(status=None if status == "all" else status,
                                  limit=1_000_000)
    if as_json:
        for q in found:
            print(json.dumps(_as_json(q)))
        return
    if not found:
        err_console.print(f"no {'' if status == 'all' else f'{status} '}quarantines")
        return
    table = Table("id", "what", "status", "since", "why", "decided")
    for q in found:
        decided = (f"{escape(q.decided_by or '')}: {escape(q.decision_reason or '')}"
                   if q.decided_by else "")
        table.add_row(str(q.id), escape(q.target), q.status,
                      q.created_at.strftime("%Y-%m-%d %H:%M"), escape(_why(q)), decided)
    table_console().print(table)


def _decide(quarantine_id: int, decision: str, reason: str | None) -> None:
    with open_cli_store() as store:
        q = store.decide_quarantine(quarantine_id, decision, actor=cli_actor(), reason=reason)
    done = ("released: its matches count as before" if decision == "release" else
            "confirmed: " + ("the entry is disabled" if q.kind == "entry"
                             else "the bank is disabled"))
    console.print(f"quarantine {q.id} of {escape(q.target)} {done}")


@app.command("release")
@handles_errors
def release_command(
    quarantine_id: int = typer.Argument(..., help="The quarantine's id (veil quarantine "
                                        "list).", show_default=False),
    reason: str | None = typer.Option(None, "--reason", help="Recorded in the audit log.",
                                      show_default=False),
) -> None:
    """Release a quarantine: nothing was wrong; its matches count as before."""
    _decide(quarantine_id, "release", reason)


@app.command("confirm")
@handles_errors
def confirm_command(
    quarantine_id: int = typer.Argument(..., help="The quarantine's id (veil quarantine "
                                        "list).", show_default=False),
    reason: str | None = typer.Option(None, "--reason", help="Recorded in the audit log "
                                      "(and in the note to an entry's source list).",
                                      show_default=False),
) -> None:
    """Confirm a quarantine: the entry is disabled (its source list gets a note), or the
    bank is."""
    _decide(quarantine_id, "confirm", reason)
