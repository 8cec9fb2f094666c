"""Walking folders for ``veil scan``: link loops, FIFOs, non-media files."""

from __future__ import annotations

import os
from pathlib import Path

from veil.media.discover import Skipped, discover


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    (root / "a" / "b").mkdir(parents=True)
    for p in ("one.jpg", "a/two.PNG", "a/b/three.webp", "a/notes.txt"):
        (root / p).write_bytes(b"x")
    return root


def test_walk_finds_media_by_extension_in_stable_order(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    found = [p for p in discover([root]) if isinstance(p, Path)]
    assert [p.relative_to(root).as_posix() for p in found] == [
        "one.jpg", "a/two.PNG", "a/b/three.webp"]


def test_directory_symlink_loop_terminates(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.symlink(root, root / "a" / "b" / "loop")
    os.symlink(root / "a", root / "a" / "b" / "up")
    items = list(discover([root]))
    files = [p for p in items if isinstance(p, Path)]
    assert len(files) == 3  # each file once, despite two links back up the tree
    skipped = [s for s in items if isinstance(s, Skipped)]
    loops = [s for s in skipped if "loop" in s.reason]
    assert len(loops) == 2 and not any(s.error for s in skipped)
    assert {s.reason for s in skipped} - {s.reason for s in loops} == {
        "not a supported media type ('.txt')"}


def test_fifo_and_missing_paths_are_skipped_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    items = list(discover([fifo, tmp_path / "missing.jpg"]))
    assert [type(i) for i in items] == [Skipped, Skipped]
    assert "regular" in items[0].reason and "no such" in items[1].reason
    # inside a folder a FIFO is silently not a media file
    assert not [p for p in discover([tmp_path]) if isinstance(p, Path)]


def test_broken_symlink_is_reported(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.jpg", tmp_path / "dangling.jpg")
    items = list(discover([tmp_path]))
    assert len(items) == 1 and isinstance(items[0], Skipped)


def test_explicit_file_is_tried_whatever_its_name(tmp_path: Path) -> None:
    p = tmp_path / "upload.bin"
    p.write_bytes(b"x")
    assert list(discover([p])) == [p]
