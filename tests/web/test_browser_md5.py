"""In-browser MD5 (src/veil/web/static/js/md5.js) equals ``hashlib.md5``.

WebCrypto has no MD5, so Veil carries its own; it must agree with Python on every
padding edge (lengths around 55/56/64 bytes), on random buffers, on chunked
updates that split blocks anywhere, and on the real image files.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

MD5_OF = """
async (b64s) => {
  const m = await import('/static/js/md5.js');
  return b64s.map((b64) => m.md5Hex(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
}
"""

MD5_CHUNKED = """
async ([b64, cuts]) => {
  const m = await import('/static/js/md5.js');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const h = new m.MD5();
  let at = 0;
  for (const cut of cuts) { h.update(bytes.subarray(at, cut)); at = cut; }
  h.update(bytes.subarray(at));
  return h.hexdigest();
}
"""

MD5_URLS = """
async (urls) => {
  const m = await import('/static/js/md5.js');
  const out = [];
  for (const url of urls) {
    const blob = await (await fetch(url)).blob();
    out.push([m.md5Hex(new Uint8Array(await blob.arrayBuffer())),
              await m.md5Blob(blob, null, 65536 + 7)]);
  }
  return out;
}
"""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_known_vectors(page: Any) -> None:
    rfc = [b"", b"a", b"abc", b"message digest", b"abcdefghijklmnopqrstuvwxyz",
           b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
           b"1234567890" * 8]
    got = page.evaluate(MD5_OF, [_b64(v) for v in rfc])
    assert got == [hashlib.md5(v).hexdigest() for v in rfc]
    assert got[2] == "900150983cd24fb0d6963f7d28e17f72"


def test_random_buffers_all_padding_edges(page: Any) -> None:
    rng = np.random.default_rng(5)
    lengths = [*range(0, 200), 1000, 4095, 4096, 4097, 65535, 65536, 65537, 1_000_003]
    bufs = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in lengths]
    got = page.evaluate(MD5_OF, [_b64(b) for b in bufs])
    assert got == [hashlib.md5(b).hexdigest() for b in bufs]


def test_chunked_updates(page: Any) -> None:
    rng = np.random.default_rng(7)
    data = rng.integers(0, 256, 10_000, dtype=np.uint8).tobytes()
    want = hashlib.md5(data).hexdigest()
    for cuts in ([1, 2, 3], [63, 64, 65, 127, 128, 129], [55, 56, 57, 9999],
                 sorted(int(x) for x in rng.choice(10_000, 40, replace=False))):
        assert page.evaluate(MD5_CHUNKED, [_b64(data), cuts]) == want, cuts


@pytest.mark.corpus
def test_real_files(page: Any, shared_data: Path, photos: list[Path]) -> None:
    ref = shared_data / "pdq-reference" / "images"
    files = sorted(p for p in ref.rglob("*") if p.is_file()) + photos[:40]
    urls = ["/data/" + p.relative_to(shared_data).as_posix() for p in files]
    got = page.evaluate(MD5_URLS, urls)
    for p, (whole, chunked) in zip(files, got, strict=True):
        want = hashlib.md5(p.read_bytes()).hexdigest()
        assert whole == chunked == want, p.name
