"""``veil protect --bank NAME FILE|FOLDER…``: bank photos and videos from files.

Each file gets every signal the bank uses (PDQ and MD5 always, plus any other type
the bank already holds, plus a region signal in the categories that keep one,
``VEIL_REGIONS_CATEGORIES``: a person's own photos, whose edited and derived copies
it finds; docs/derived.md); a video is banked by its vPDQ frames — sampled at
``VEIL_VIDEO_BANK_SECONDS_PER_HASH`` (every frame by default) and pruned — and its
MD5. The bank is created if missing (category ``protected_photo`` unless
``--category`` says otherwise). Nothing but hashes is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from veil.cli.identity import cli_actor
from veil.cli.output import EXIT_ERROR, EXIT_OK, console, counted, err_console, handles_errors
from veil.cli.progress import progress_bar, worker_count, workers_option
from veil.cli.unhashed import problem_json, problem_kind, problem_line
from veil.store.vocabulary import Category

#: Always banked for a still image: PDQ (what matches re-encoded copies) and MD5 (what
#: StopNCII-style lists exchange).
STILL_SIGNALS = ("pdq", "md5")


@handles_errors
def protect_command(
    paths: list[Path] = typer.Argument(..., help="Photos, videos or folders (recursive).",
                                       show_default=False),
    bank: str = typer.Option(..., "--bank", "-b", help="Bank to add them to.",
                             show_default=False),
    category: Category = typer.Option(
        Category.PROTECTED_PHOTO, "--category", "-c",
        help="Category of the bank if it has to be created."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
    workers: int | None = workers_option(),
) -> None:
    """Bank photos and videos: compute every signal the bank uses and add it. Exit 0:
    all banked (or already there), 2: some files could not be."""
    from veil.config import load_settings
    from veil.errors import BadInput, Conflict, NotFound
    from veil.media.discover import Skipped
    from veil.regions.compare import MIN_INLIERS
    from veil.regions.features import BANK as REGION
    from veil.regions.sealing import load_region_sealer
    from veil.signals import get
    from veil.signals.batch import hash_paths
    from veil.store import open_store

    settings = load_settings()
    video = settings.media.video
    # videos are banked densely: queries sampled once a second must find a frame near
    # each of theirs (docs/video.md)
    limits = settings.media.model_copy(update={"video": video.model_copy(
        update={"seconds_per_hash": video.bank_seconds_per_hash})})
    actor = cli_actor()
    counts = {"banked": 0, "already": 0, "error": 0, "skipped": 0}
    with open_store(settings) as store:
        try:
            bank_category = store.get_bank(bank).category
        except NotFound:
            store.create_bank(bank, category.value, {}, actor=actor)
            bank_category = category.value
            err_console.print(f"created bank [bold]{escape(bank)}[/] ({category.value})")
        wanted = tuple(dict.fromkeys((*STILL_SIGNALS, *store.bank_signals(bank))))
        still = tuple(n for n in wanted if get(n).of_stills)
        regions = bank_category in settings.regions.categories
        if regions:
            still += (REGION,)
            sealer = load_region_sealer(settings)
        with progress_bar("protecting") as advance:
            for item in hash_paths(paths, limits, still,
                                   workers=worker_count(settings, workers)):
                advance()
                if isinstance(item, Skipped) or not item.ok:
                    counts[problem_kind(item)] += 1
                    if as_json:
                        print(json.dumps(problem_json(item)))
                    else:
                        err_console.print(problem_line(item), soft_wrap=True)
                    continue
                if item.video is not None and item.video.warnings:
                    # a scan may still check what decoded; a bank keeps only whole videos
                    counts["error"] += 1
                    warning = item.video.warnings[0]
                    why = f"the video is damaged, nothing banked ({warning})"
                    code = "media.truncated" if "truncated" in warning else "media.invalid"
                    if as_json:
                        print(json.dumps({"file": item.path, "error": {
                            "code": code, "message": why}}))
                    else:
                        err_console.print(f"[red]error[/] {escape(item.path)}: {escape(why)}",
                                          soft_wrap=True)
                    continue
                added: list[dict[str, object]] = []
                new_pdq: int | None = None
                notes: list[str] = []
                if item.video is not None:
                    v = item.video
                    try:
                        rec = store.add_video(bank, v.frames, actor=actor, md5=v.md5,
                                              duration=v.duration, label=Path(item.path).name,
                                              prune_distance=video.prune_distance,
                                              min_quality=settings.quality_floor(get("vpdq"))
                                              or 0)
                        added.append({"video_id": rec.id, "frames": rec.frames})
                    except BadInput as exc:
                        notes.append(exc.message)
                if item.video is None or item.format in ("gif", "webp"):
                    for s in item.signals:
                        floor = settings.quality_floor(get(s.type))
                        if floor is not None and s.quality is not None and s.quality < floor:
                            notes.append(f"{s.type} quality {s.quality} is below {floor}: "
                                         "not banked (it would not match reliably)")
                            continue
                        try:
                            e = store.add_entry(bank, s.type, s.value, quality=s.quality,
                                                source=Path(item.path).name[:200],
                                                actor=actor)
                            added.append({"signal": s.type, "entry_id": e.id})
                            new_pdq = e.id if s.type == "pdq" else new_pdq
                        except Conflict:
                            notes.append(f"{s.type}: already in the bank")
                    if regions and item.video is None:
                        features = item.features.get(REGION)
                        pdq = next((s for s in item.signals if s.type == "pdq"), None)
                        # the entry just added, else (already banked) the bank's own
                        entry_id = new_pdq if new_pdq is not None or pdq is None else \
                            store.pdq_entry_id(bank, pdq.value)
                        if features is None or len(features) < MIN_INLIERS:
                            notes.append("region: too few corners in the picture for a region "
                                         "signal (it would not match); PDQ only")
                        elif entry_id is not None:
                            if store.attach_regions(
                                    [(entry_id, sealer.seal_features(entry_id, features),
                                      len(features))], actor=actor):
                                added.append({"signal": REGION, "entry_id": entry_id,
                                              "points": len(features)})
                            else:
                                notes.append(f"{REGION}: already in the bank")
                if added:
                    counts["banked"] += 1
                elif notes:
                    counts["already"] += 1
                if as_json:
                    print(json.dumps({"file": item.path, "bank": bank, "added": added,
                                      "notes": notes}))
                else:
                    what = ", ".join(
                        f"video {a['video_id']} ({a['frames']} frames)" if "video_id" in a
                        else str(a["signal"]) for a in added) or "nothing new"
                    console.print(f"{escape(item.path)}: {escape(what)}"
                                  + "".join(f"\n  {escape(n)}" for n in notes),
                                  soft_wrap=True)
    err_console.print(f"{counted(counts['banked'], 'file')} banked in {escape(bank)}, "
                      f"{counts['already']:,} unchanged, {counted(counts['error'], 'error')}, "
                      f"{counts['skipped']:,} skipped")
    raise typer.Exit(EXIT_ERROR if counts["error"] else EXIT_OK)
