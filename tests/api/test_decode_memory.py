"""Small files that decode to a lot: a real ``veil serve`` scans each under a measured
memory ceiling (its peak resident memory, read from /proc), and refuses what could
never fit before decoding it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from served import free_port, stop, wait_ready

MB = 2**20


def _encoded(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **({"compression": "tiff_deflate"} if fmt == "TIFF" else {}))
    return buf.getvalue()


def _heavy_png() -> bytes:
    """36 MP of mostly flat RGB: a few hundred KB that decode to ~144 MB."""
    img = Image.new("RGB", (6000, 6000), (90, 120, 150))
    img.paste((200, 40, 40), (1000, 1000, 3000, 4000))
    return _encoded(img, "PNG")


def _png16() -> bytes:
    a = np.zeros((6000, 6000), np.uint16)
    a[:, 3000:] = 50_000
    return _encoded(Image.fromarray(a), "PNG")


def _float_tiff() -> bytes:
    a = np.zeros((5000, 5000), np.float32)
    a[2500:, :] = 180.5
    return _encoded(Image.fromarray(a), "TIFF")


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(field)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("mem") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_")}
    env.update(VEIL_HOME=str(home), VEIL_MAX_DECODE_BYTES=str(512 * MB))
    veil = [sys.executable, "-m", "veil.cli.__main__"]
    key = subprocess.run([*veil, "keys", "create", "--scope", "platform"], env=env,
                         capture_output=True, text=True, check=True, timeout=120).stdout.strip()
    port = free_port()
    proc = subprocess.Popen([*veil, "serve", "--port", str(port), "--log-level", "warning"],
                            env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_ready(base, proc, 60)
        yield base, proc, {"Authorization": f"Bearer {key}"}
    finally:
        stop(proc)


def _scan(base: str, headers: dict[str, str], data: bytes) -> httpx.Response:
    return httpx.post(base + "/v1/scan", content=data, timeout=120,
                      headers={**headers, "content-type": "application/octet-stream"})


@pytest.mark.parametrize("make, pixels, ceiling_mb", [
    (_heavy_png, 36_000_000, 300),   # decoded RGB alone is 144 MB
    (_png16, 36_000_000, 200),       # 72 MB decoded; 8-byte-a-pixel copies were 288 MB
    (_float_tiff, 25_000_000, 220),  # 100 MB decoded
])
def test_each_is_scanned_under_a_measured_ceiling(server, make, pixels: int,  # type: ignore[no-untyped-def]
                                                  ceiling_mb: int) -> None:
    base, proc, headers = server
    data = make()
    assert len(data) < 2 * MB
    # warm (imports, pools), then measure the peak from here
    assert _scan(base, headers, _encoded(Image.new("RGB", (64, 64)), "PNG")).status_code == 200
    Path(f"/proc/{proc.pid}/clear_refs").write_text("5")  # reset the peak to now
    before = _status(proc.pid, "VmHWM")
    r = _scan(base, headers, data)
    assert r.status_code == 200, r.text
    assert r.json()["width"] * r.json()["height"] == pixels
    grew = _status(proc.pid, "VmHWM") - before
    assert grew <= ceiling_mb * MB, f"peak grew by {grew / MB:.0f} MB"


def test_what_could_never_fit_is_refused_before_decoding(server) -> None:  # type: ignore[no-untyped-def]
    base, proc, headers = server
    bomb = _encoded(Image.new("RGB", (10950, 10950)), "PNG")  # 120 MP in ~350 KB
    Path(f"/proc/{proc.pid}/clear_refs").write_text("5")
    before = _status(proc.pid, "VmHWM")
    r = _scan(base, headers, bomb)
    assert r.status_code == 413 and r.json()["error"]["code"] == "media.too_large"
    assert "VEIL_MAX_DECODE_BYTES" in r.json()["error"]["message"]
    assert _status(proc.pid, "VmHWM") - before < 64 * MB
