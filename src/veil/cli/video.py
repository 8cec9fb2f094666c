"""``veil video …``: banked videos — list, import and export vPDQ, withdraw.

vPDQ text is the reference's format, one sampled frame a line:
``frame_number,quality,pdq_hex,timestamp_seconds``. Banking a video from its file is
``veil protect``; a vPDQ file is what another system (the reference's
``vpdq-hash-video``, a hash exchange) hands over instead of the video.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from veil.cli.identity import cli_actor
from veil.cli.opening import open_cli_store
from veil.cli.output import console, counted, err_console, fail, handles_errors, table_console

app = typer.Typer(help="Banked videos: list, import/export vPDQ, withdraw.",
                  no_args_is_help=True)

#: Most bytes read from one vPDQ file (10 hours at 30 fps is about 30 MB).
MAX_VPDQ_BYTES = 64 * 1024 * 1024


@app.command("list")
@handles_errors
def list_command(
    bank: str | None = typer.Option(None, "--bank", "-b", help="Only this bank's.",
                                    show_default=False),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per video."),
) -> None:
    """List active banked videos."""
    from rich.table import Table

    with open_cli_store() as store:
        videos = store.list_videos(bank)
    if as_json:
        for v in videos:
            print(json.dumps(v.as_json()))
        return
    table = Table("id", "bank", "frames", "duration", "label", "md5")
    for v in videos:
        table.add_row(str(v.id), escape(v.bank), f"{v.frames:,}",
                      "" if v.duration is None else f"{v.duration:.1f} s",
                      escape(v.label or ""), v.md5 or "")
    table_console().print(table)
    err_console.print(f"{counted(len(videos), 'video')}")


@app.command("import")
@handles_errors
def import_command(
    bank: str = typer.Argument(..., help="Bank to add the videos to.", show_default=False),
    files: list[Path] = typer.Argument(..., help="vPDQ text files, one video each.",
                                       show_default=False),
) -> None:
    """Bank videos from vPDQ text files (the reference's format). A file with a bad line
    is refused whole, naming the line; the others are still imported."""
    from veil.config import load_settings
    from veil.errors import VeilError
    from veil.signals import get
    from veil.signals.vpdq import parse_vpdq

    settings = load_settings()
    limits = settings.media.video
    floor = settings.quality_floor(get("vpdq")) or 0
    failed = 0
    with open_cli_store() as store:
        store.get_bank(bank)  # NotFound before any file is read
        for path in files:
            try:
                with path.open("rb") as fh:
                    raw = fh.read(MAX_VPDQ_BYTES + 1)
                if len(raw) > MAX_VPDQ_BYTES:
                    raise VeilError(f"larger than {MAX_VPDQ_BYTES:,} bytes",
                                    code="input.too_large")
                text = raw.decode("utf-8")
                frames = parse_vpdq(text.splitlines(), max_frames=limits.max_frames)
                duration = max((f.timestamp for f in frames), default=0.0)
                rec = store.add_video(bank, frames, actor=cli_actor(), duration=duration,
                                      label=path.stem, prune_distance=limits.prune_distance,
                                      min_quality=floor)
            except UnicodeDecodeError:
                failed += 1
                err_console.print(f"{escape(str(path))}: not UTF-8 text", soft_wrap=True)
                continue
            except OSError as exc:
                failed += 1
                err_console.print(f"{escape(str(path))}: {escape(exc.strerror or str(exc))}",
                                  soft_wrap=True)
                continue
            except VeilError as exc:
                if exc.code == "store.unavailable":
                    raise
                failed += 1
                err_console.print(f"{escape(str(path))}: {escape(exc.message)}",
                                  soft_wrap=True)
                continue
            console.print(f"{escape(str(path))}: video {rec.id}, {rec.frames:,} frames")
    if failed:
        raise fail(f"{counted(failed, 'file')} not imported", "input.invalid")


@app.command("export")
@handles_errors
def export_command(
    bank: str = typer.Argument(..., help="Bank whose videos to export.", show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write <id>.txt files to.",
                             show_default=False),
) -> None:
    """Write each active video of a bank as a vPDQ text file (its kept frames)."""
    from veil.signals.vpdq import format_vpdq

    out.mkdir(parents=True, exist_ok=True)
    with open_cli_store() as store:
        videos = store.list_videos(bank)
        for v in videos:
            (out / f"{v.id}.txt").write_text(format_vpdq(store.video_frames(v.id)),
                                             encoding="utf-8")
    console.print(f"{counted(len(videos), 'video')} written to {escape(str(out))}")


@app.command("withdraw")
@handles_errors
def withdraw_command(
    video_id: int = typer.Argument(..., help="The video's id (veil video list).",
                                   show_default=False),
    reason: str | None = typer.Option(None, "--reason", help="Why, for the audit log.",
                                      show_default=False),
) -> None:
    """Withdraw a banked video: its frame hashes and MD5 are erased (those no other video
    of the bank shares) and it stops matching."""
    with open_cli_store() as store:
        store.withdraw_video(video_id, actor=cli_actor(), reason=reason)
    console.print(f"video {video_id} withdrawn")
