"""The region signal made in the browser (region.js) against the server's (OpenCV).

For each photo of ``../shared/data/photos`` (docs/derived.md, "In the browser"):

* **same pixels**: Pillow's RGBA of the photo is given to ``region.js`` in headless
  Chromium; its blob is compared byte for byte with
  ``blob.encode(features.bank_features(media))``, and keypoint by keypoint
  (``veil.evaluation.region_port``: share of the browser's keypoints within 2 px of
  one of the server's, differing descriptor bits of those pairs);
* **browser-decoded**: the hash worker decodes the JPEG itself (Chromium's decoder,
  as on the intake page) and makes the blob; compared the same way;
* **matching**: each blob (server's, same-pixels, browser-decoded) is compared
  (``compare.compare``, RANSAC) with the server's query features of the photo and
  of its re-shares: JPEG 50, a centred crop keeping 70 % of each side, a 20 % border,
  and a messenger re-share (0.8×, 3 % corner cut, JPEG 75). Reported: agreeing
  pairs (inliers) of each, the share of (photo, query) pairs where the browser's
  blob is found (≥ ``MIN_INLIERS``) and the server's is not or the reverse.

Times: the browser's milliseconds per photo (region.js on the pixels) beside
OpenCV's (``features.for_bank`` on the grey picture), as a ratio. The load average
is printed at the start and the end. Chromium: ``VEIL_CHROMIUM`` (default
/usr/bin/chromium), driven by Playwright, as the web tests do.

    .venv/bin/python bench/region_browser.py --photos 40
    # the whole corpus, in two runs (each under 10 minutes), then one report:
    .venv/bin/python bench/region_browser.py --part 1/2 --rows /tmp/r1.json
    .venv/bin/python bench/region_browser.py --part 2/2 --rows /tmp/r2.json
    .venv/bin/python bench/region_browser.py --report /tmp/r1.json /tmp/r2.json
"""

from __future__ import annotations

import argparse
import base64
import http.server
import io
import json
import os
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
from PIL import Image

from veil.config import MediaLimits
from veil.evaluation import derived as D
from veil.evaluation import transforms as T
from veil.evaluation.region_port import agreement
from veil.media.source import Media
from veil.regions import blob, compare, features

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "veil" / "web" / "static"
PHOTOS = ROOT.parent / "shared" / "data" / "photos"
CHROMIUM = os.environ.get("VEIL_CHROMIUM", "/usr/bin/chromium")
LIMITS = MediaLimits()
BATCH = 16

SAME_PIXELS = """
async (items) => {
  const m = await import('/static/js/region.js');
  const out = [];
  for (const [url, w, h, jpeg] of items) {
    const px = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const t0 = performance.now();
    const b = m.regionFromRGBA(px, w, h, { factor: m.reductionFactor(w, h, jpeg) });
    out.push([m.toBase64(b), performance.now() - t0]);
  }
  return out;
}
"""

DECODED = """
async (urls) => {
  const worker = new Worker('/static/js/hash-worker.js', { type: 'module' });
  const out = [];
  try {
    for (const [i, url] of urls.entries()) {
      const file = await (await fetch(url)).blob();
      const msg = await new Promise((resolve) => {
        worker.onmessage = (e) => {
          if (e.data.id === i && e.data.type !== 'progress') resolve(e.data);
        };
        worker.postMessage({ type: 'hash', id: i, file, options: {} });
      });
      out.push(msg.type === 'result' ? msg.region : null);
    }
  } finally {
    worker.terminate();
  }
  return out;
}
"""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    blobs: dict[str, bytes]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, body: bytes, ctype: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == "/":
            return self._send(b"<!doctype html><title>bench</title>", "text/html")
        if path.startswith("/blob/") and path[6:] in self.server.blobs:
            return self._send(self.server.blobs[path[6:]], "application/octet-stream")
        for prefix, root in (("/static/", STATIC), ("/photos/", PHOTOS)):
            target = (root / path[len(prefix):]).resolve()
            if path.startswith(prefix) and target.is_relative_to(root) and target.is_file():
                ctype = "text/javascript" if target.suffix == ".js" else "image/jpeg"
                return self._send(target.read_bytes(), ctype)
        return self._send(b"not found", "text/plain", 404)


def queries(data: bytes, key: str) -> dict[str, features.Features]:
    """The server's query features of the photo and of its re-shares."""
    with Image.open(io.BytesIO(data)) as im:
        photo = im.convert("RGB")
    crop = T.find_variant("crop_centre", 0.3)
    border = T.find_variant("border", 0.2)
    jpeg = T.find_variant("jpeg", 50)
    uploads = {
        "itself": data,
        "jpeg 50": T.render(jpeg, photo, seed=7, key=key),
        "crop 70%": T.render(crop, photo, seed=7, key=key),
        "border 20%": T.render(border, photo, seed=7, key=key),
        "re-share": _reshare(photo, key),
    }
    return {k: features.query_features(Media.from_bytes(v, LIMITS)) for k, v in uploads.items()}


def photo_bytes(path: Path, large: int) -> bytes:
    """The photo's file, or (``large``) the photo enlarged to that longer side as a
    JPEG of quality 90: a phone-sized upload, which the server decodes at a reduced
    scale and the browser at full size."""
    if not large:
        return path.read_bytes()
    with Image.open(path) as im:
        f = large / max(im.size)
        big = im.convert("RGB").resize((round(im.width * f), round(im.height * f)),
                                       Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _reshare(photo: Image.Image, key: str) -> bytes:
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    w, h = photo.size
    return D.reshare(photo, (0, 0, w, h), rng).data


def _rows(data: bytes) -> list[bytes]:
    """A blob's keypoints (position and descriptor bytes), in no particular order."""
    f = blob.decode(data)
    n = len(f)
    pos = data[9:9 + 2 * n]
    return sorted(pos[2 * i:2 * i + 2] + f.descriptors[i].tobytes() for i in range(n))


def _inliers(bank: bytes | None, query: features.Features, seen: dict[bytes, int]) -> int:
    """Agreeing pairs of a blob with a query (a blob equal to one already compared
    with this query is not compared again: RANSAC is seeded alike per call)."""
    if bank is None:
        return 0
    if bank not in seen:
        m = compare.compare(blob.decode(bank), query, min_inliers=3)
        seen[bank] = m.inliers if m else 0
    return seen[bank]


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--photos", type=int, default=0, help="first N photos (0: all)")
    ap.add_argument("--part", default="1/1", help="K/N: the K-th of N equal parts of the photos")
    ap.add_argument("--rows", type=Path, help="write each photo's figures here (JSON)")
    ap.add_argument("--report", type=Path, nargs="+", help="report on rows written before")
    ap.add_argument("--large", type=int, default=0,
                    help="enlarge each photo to this longer side (a JPEG of quality 90) first")
    args = ap.parse_args()
    if args.report:
        report([r for f in args.report for r in json.loads(f.read_text())])
        return
    paths = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    if args.photos:
        paths = paths[: args.photos]
    k, n = (int(v) for v in args.part.split("/"))
    paths = paths[(k - 1) * len(paths) // n: k * len(paths) // n]
    print(f"load average at start: {os.getloadavg()}")
    started = time.perf_counter()
    from playwright.sync_api import sync_playwright

    server = _Server(("127.0.0.1", 0), _Handler)
    server.blobs = {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    rows: list[dict[str, Any]] = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = ctx.new_page()
        page.goto(base + "/")
        for start in range(0, len(paths), BATCH):
            chunk = paths[start:start + BATCH]
            items = []
            datas = [photo_bytes(p, args.large) for p in chunk]
            for i, data in enumerate(datas):
                with Image.open(io.BytesIO(data)) as im:
                    rgba = np.asarray(im.convert("RGBA"))
                server.blobs[str(i)] = rgba.tobytes()
                server.blobs[f"file-{i}"] = data
                items.append([f"/blob/{i}", int(rgba.shape[1]), int(rgba.shape[0]), True])
            same = page.evaluate(SAME_PIXELS, items)
            decoded = page.evaluate(DECODED, [f"/blob/file-{i}" for i in range(len(chunk))])
            server.blobs.clear()
            for p, data, (js_b64, js_ms), dec_b64 in zip(chunk, datas, same, decoded, strict=True):
                media = Media.from_bytes(data, LIMITS)
                grey = features.grey_at(media, features.WORK_SIDE)
                t0 = time.perf_counter()
                py_feats = features.for_bank(grey)
                py_ms = (time.perf_counter() - t0) * 1000
                py_blob = blob.encode(py_feats)
                py = blob.decode(py_blob)
                js_blob = base64.b64decode(js_b64)
                js = blob.decode(js_blob)
                dec_blob = base64.b64decode(dec_b64) if dec_b64 else None
                dec = blob.decode(dec_blob) if dec_blob is not None else None
                same_a = agreement(js, py)
                dec_a = agreement(dec, py) if dec is not None else None
                row: dict[str, Any] = {
                    "name": p.name, "exact": js_blob == py_blob, "js_ms": js_ms, "py_ms": py_ms,
                    "same_set": _rows(js_blob) == _rows(py_blob),
                    "same_kept": same_a.kept, "same_bits": same_a.mean_bits,
                    "dec_kept": dec_a.kept if dec_a else 0.0,
                    "dec_bits": dec_a.mean_bits if dec_a else 256.0,
                    "n_py": len(py), "n_dec": len(dec) if dec is not None else 0, "match": {},
                }
                for label, q in queries(data, p.name).items():
                    seen: dict[bytes, int] = {}
                    row["match"][label] = (_inliers(py_blob, q, seen), _inliers(js_blob, q, seen),
                                           _inliers(dec_blob, q, seen))
                rows.append(row)
            print(f"  {len(rows)}/{len(paths)} photos", flush=True)
        ctx.close()
    server.shutdown()
    if args.rows:
        args.rows.write_text(json.dumps(rows))
    report(rows)
    print(f"{time.perf_counter() - started:.0f} s; load average at end: {os.getloadavg()}")


def report(rows: list[dict[str, Any]]) -> None:
    n = len(rows)
    print(f"\n{n} photos")
    print(f"same pixels: blob byte-identical to the server's: {sum(r['exact'] for r in rows)}/{n}")
    if all("same_set" in r for r in rows):
        print(f"same pixels: the same keypoints and descriptors, in any order: "
              f"{sum(r['same_set'] for r in rows)}/{n}")
    print("not byte-identical:", " ".join(r["name"] for r in rows if not r["exact"]))
    for key, title in (("same", "same pixels"), ("dec", "browser-decoded")):
        kept = [r[f"{key}_kept"] for r in rows]
        bits = [r[f"{key}_bits"] for r in rows]
        print(f"{title}: keypoints within 2 px of the server's, per photo: min {min(kept):.3f}, "
              f"p1 {_pct(kept, 1):.3f}, p5 {_pct(kept, 5):.3f}, median {_pct(kept, 50):.3f}; "
              f"differing descriptor bits (of 256) of those pairs, per-photo mean: "
              f"median {_pct(bits, 50):.2f}, p95 {_pct(bits, 95):.2f}, max {max(bits):.2f}")
    mi = compare.MIN_INLIERS
    print(f"\nmatching the server's query features (inliers; found = at least {mi}):")
    print(f"{'query':<12} {'server med':>10} {'same med':>9} {'dec med':>8} "
          f"{'found srv':>9} {'found dec':>9} {'differs':>8} {'dec/srv p5':>10} {'p50':>6}")
    for label in rows[0]["match"]:
        srv = [r["match"][label][0] for r in rows]
        same = [r["match"][label][1] for r in rows]
        dec = [r["match"][label][2] for r in rows]
        found_s = [s >= mi for s in srv]
        found_d = [d >= mi for d in dec]
        differs = sum(a != b for a, b in zip(found_s, found_d, strict=True))
        ratio = [d / s for s, d in zip(srv, dec, strict=True) if s >= mi]
        print(f"{label:<12} {_pct(srv, 50):>10.0f} {_pct(same, 50):>9.0f} {_pct(dec, 50):>8.0f} "
              f"{sum(found_s):>9} {sum(found_d):>9} {differs:>8} {_pct(ratio, 5):>10.2f} "
              f"{_pct(ratio, 50):>6.2f}")
    js_ms = [r["js_ms"] for r in rows]
    py_ms = [r["py_ms"] for r in rows]
    print(f"\ntime per photo (median): region.js {np.median(js_ms):.0f} ms, OpenCV "
          f"{np.median(py_ms):.0f} ms, ratio {np.median(js_ms) / np.median(py_ms):.1f}x")


if __name__ == "__main__":
    main()
