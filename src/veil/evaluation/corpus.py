"""Finding the benign photo corpus the evaluation runs on.

Default: ``$VEIL_TEST_DATA/photos`` when that is set, else ``../shared/data/photos``
next to the repository (and next to the working directory, for installed copies).
"""

from __future__ import annotations

import os
from pathlib import Path

from veil.errors import BadInput

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
#: src/veil/evaluation/corpus.py → the repository root in a source checkout.
_REPO = Path(__file__).resolve().parents[3]


def default_candidates() -> list[Path]:
    env = os.environ.get("VEIL_TEST_DATA")
    if env:
        return [Path(env).expanduser() / "photos"]
    out = [_REPO.parent / "shared" / "data" / "photos",
           Path.cwd().resolve().parent / "shared" / "data" / "photos"]
    return list(dict.fromkeys(out))


def photos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def find_photos(corpus: Path | None = None, limit: int | None = None) -> tuple[Path, list[Path]]:
    """The corpus folder and its photos (sorted by name, the first ``limit``).

    ``corpus`` may be the photo folder itself or a data folder holding ``photos/``.
    """
    if corpus is not None:
        candidates = [corpus, corpus / "photos"]
        hint = f"--corpus {corpus}"
    else:
        candidates = default_candidates()
        hint = ("the default corpus (set VEIL_TEST_DATA=…/data or pass --corpus DIR); "
                f"looked in {', '.join(map(str, candidates))}")
    for folder in candidates:
        if folder.is_dir():
            photos = photos_in(folder)
            if photos:
                break
    else:
        raise BadInput(f"no photos (.jpg, .jpeg, .png) found for {hint}",
                       code="eval.no_corpus")
    if limit is not None:
        photos = photos[:limit]
    if len(photos) < 2:
        raise BadInput(f"{folder} has {len(photos)} photo(s); at least 2 are needed to "
                       "measure false matches", code="eval.no_corpus")
    return folder, photos
