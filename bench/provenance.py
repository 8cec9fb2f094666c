"""What each provenance signal survives on its way to a platform (docs/provenance.md).

    python bench/provenance.py [--photos 12] [--data ../shared/data] [--out FILE]

Benign photos from the shared corpus are given each signal (a C2PA manifest signed
with the reference fixtures' TEST certificate declaring trainedAlgorithmicMedia, an
XMP digital source type, EXIF Software, a generator's PNG text chunk, the SDXL
invisible watermark), then re-encoded (JPEG q85), resized (50%), "screenshotted"
(RGB pixels saved as a new PNG) and stripped of metadata; ``veil.inspect`` then says
whether the signal is still read. Prints a Markdown table (also to ``--out``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
# the same makers and transformations the tests use (tests/inspect/provenance_kit.py)
sys.path.insert(0, str(REPO / "tests" / "inspect"))

from provenance_kit import (  # noqa: E402
    TRANSFORMS,
    WATERMARK_PHOTOS,
    inspect,
    jpeg,
    png,
    sign_c2pa,
    watermarked,
    with_png_text,
    with_software,
    with_xmp,
)

from veil.inspect.watermark import KNOWN_MARKS  # noqa: E402

SDXL = next(m for m in KNOWN_MARKS if "XL" in m.name)


def makers(reference: Path) -> dict[str, tuple[Callable[[Image.Image], bytes], str, str]]:
    """signal → (make a marked file, observation source, kind)."""
    return {
        "C2PA manifest (trainedAlgorithmicMedia)": (
            lambda img: sign_c2pa(jpeg(img), reference), "c2pa", "digital_source_type"),
        "XMP digital source type": (with_xmp, "xmp", "digital_source_type"),
        "EXIF Software": (lambda img: with_software(img, "ImageGen 1.0"), "exif", "software"),
        "PNG text chunk (parameters)": (
            lambda img: with_png_text(img, {"parameters": "a lighthouse, Steps: 20"}),
            "png", "text_chunk"),
        "invisible watermark (SDXL, dwtDct)": (
            lambda img: png(watermarked(img, SDXL.bits)), "watermark", "mark"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=12)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    folder = args.data / "photos"
    names = list(WATERMARK_PHOTOS) + [p.name for p in sorted(folder.glob("*.jpg"))
                                      if p.name not in WATERMARK_PHOTOS]
    photos = [Image.open(folder / n).convert("RGB") for n in names[:args.photos]]
    columns = ["untouched", *TRANSFORMS]
    rows = []
    start = time.perf_counter()
    for signal, (make, source, kind) in makers(args.data / "c2pa-reference").items():
        counts = dict.fromkeys(columns, 0)
        for img in photos:
            marked = make(img)
            versions = {"untouched": marked} | {t: f(marked) for t, f in TRANSFORMS.items()}
            for column, data in versions.items():
                counts[column] += any(o.source == source and o.kind == kind
                                      for o in inspect(data).observations)
        rows.append((signal, counts))
    n = len(photos)
    lines = ["| signal | " + " | ".join(columns) + " |",
             "|---|" + "---:|" * len(columns)]
    lines += [f"| {signal} | " + " | ".join(f"{c[col]}/{n}" for col in columns) + " |"
              for signal, c in rows]
    table = "\n".join(lines)
    print(table)
    print(f"\n{n} photos, {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
