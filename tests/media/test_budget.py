"""Decoding within a memory budget: estimated from the header, refused before
decoding when it could never fit, large decodes one at a time, deep images converted
a strip at a time, huge ones hashed from their grey copy."""

from __future__ import annotations

import io
import os
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from veil.config import MediaLimits
from veil.errors import MediaBusy, MediaTooLarge
from veil.media import budget, source
from veil.media.source import Media, to_grey8, to_rgb8
from veil.signals import pdq_core
from veil.signals.hexhash import hamming_hex
from veil.signals.pdq import compute_pdq, reference_hash


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_a_small_file_declaring_huge_pixels_is_refused_before_decoding() -> None:
    bomb = _png(Image.new("RGB", (9000, 9000)))  # ~240 KB, 81 MP
    assert len(bomb) < 1_000_000
    limits = MediaLimits(max_decode_bytes=256 * 2**20)
    media = Media.from_bytes(bomb, limits)
    assert media.decode_estimate() > limits.max_decode_bytes
    with pytest.raises(MediaTooLarge) as e, media.decoding():
        pass
    assert "VEIL_MAX_DECODE_BYTES" in e.value.message
    assert media.decoded == []  # nothing was decoded


def test_a_reducible_jpeg_is_estimated_at_its_reduced_decode(photos: list[Path]) -> None:
    img = Image.open(photos[0]).convert("RGB").resize((4000, 3000))
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    media = Media.from_bytes(buf.getvalue(), MediaLimits())
    assert media.decode_estimate() <= media.pixels // 2  # never the full RGB


def test_large_decodes_take_turns() -> None:
    limits = MediaLimits(large_decode_bytes=2**20, max_large_decodes=1)
    inside: list[int] = []
    most = [0]

    def decode() -> None:
        with budget.reserve(8 * 2**20, limits, "a file"):
            inside.append(1)
            most[0] = max(most[0], len(inside))
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=decode) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1


def test_a_decode_past_the_memory_ceiling_is_refused_for_now() -> None:
    limits = MediaLimits(large_decode_bytes=2**20, memory_ceiling_bytes=2**20 * 2)
    with pytest.raises(MediaBusy) as e, budget.reserve(2 * 2**20, limits, "this png"):
        pass
    assert e.value.http_status == 503 and "ceiling" in e.value.message


@pytest.mark.parametrize("mode, values", [
    ("I;16", np.array([[0, 256, 65535], [1000, 300, 70]], np.uint16)),
    ("I", np.array([[0, 70, 255], [10, 200, 30]], np.int32)),
    ("F", np.array([[-5.0, np.nan, 300.0], [12.5, 255.0, 0.0]], np.float32)),
])
def test_deep_modes_become_grey_as_a_viewer_shows_them(mode: str, values: np.ndarray,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "STRIP_ROWS", 1)  # several strips even on 2 rows
    img = Image.fromarray(values)
    if mode == "I":
        img = img.convert("I")
    grey = np.asarray(to_grey8(img))
    if mode == "F":
        want = np.clip(np.nan_to_num(values), 0, 255).astype(np.uint8)
    else:
        top = 8 if values.max() > 255 else 0
        want = np.clip(values.astype(np.int64) >> top, 0, 255).astype(np.uint8)
    assert (grey == want).all()
    assert np.asarray(to_rgb8(img))[:, :, 0].tolist() == want.tolist()


def test_the_grey_path_stays_within_two_bits_of_the_reference(photos: list[Path]) -> None:
    """What an image too large to expand to RGB is hashed with, on real photos."""
    d = []
    for p in photos[::4]:
        rgb = np.asarray(Image.open(p).convert("RGB"))
        ref, _ = reference_hash(rgb)
        grey = np.asarray(Image.fromarray(rgb).convert("L"))
        ours = pdq_core.dct_hex(pdq_core.dct16(pdq_core.downsample_grey(grey)))
        d.append(hamming_hex(ours, ref))
    assert statistics.median(d) <= 1 and max(d) <= 6, (statistics.median(d), max(d))


def test_an_image_over_the_rgb_limit_is_hashed_from_grey(photos: list[Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "RGB_MAX_PIXELS", 100_000)
    import veil.signals.pdq as pdq_module

    monkeypatch.setattr(pdq_module, "RGB_MAX_PIXELS", 100_000)
    data = _png(Image.open(photos[9]).convert("RGB"))  # 481x321 = 154k pixels
    media = Media.from_bytes(data, MediaLimits())
    with media.decoding():
        r = compute_pdq(media)
        with pytest.raises(MediaTooLarge):
            media.rgb  # noqa: B018 (never expanded)
    ref, _ = reference_hash(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    assert hamming_hex(r.hash, ref) <= 6
    assert media.decoded == ["full"] and "full" not in media.__dict__  # dropped after


def _physical_ceiling() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 3 // 4


@pytest.mark.parametrize("folder, name", [("", "memory.max"),
                                          ("memory", "memory.limit_in_bytes")])
def test_a_cgroup_limit_below_the_machine_lowers_the_ceiling(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str, name: str) -> None:
    limit = 512 * 2**20
    (tmp_path / folder).mkdir(exist_ok=True)
    (tmp_path / folder / name).write_text(f"{limit}\n")
    monkeypatch.setattr(budget, "CGROUP_ROOT", str(tmp_path))
    assert budget.ceiling(MediaLimits()) == limit * 3 // 4
    assert budget.ceiling(MediaLimits(memory_ceiling_bytes=2**40)) == limit * 3 // 4
    assert budget.ceiling(MediaLimits(memory_ceiling_bytes=2**20)) == 2**20  # lower


@pytest.mark.parametrize("text", ["max\n", "", "9223372036854771712\n"])
def test_no_cgroup_limit_leaves_the_machines_ceiling(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    (tmp_path / "memory.max").write_text(text)
    monkeypatch.setattr(budget, "CGROUP_ROOT", str(tmp_path))
    assert budget.ceiling(MediaLimits()) == _physical_ceiling()


def test_a_decode_past_the_cgroups_ceiling_is_refused_for_now(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "memory.max").write_text(f"{budget.resident_bytes()}\n")
    monkeypatch.setattr(budget, "CGROUP_ROOT", str(tmp_path))
    limits = MediaLimits(large_decode_bytes=2**20)
    with pytest.raises(MediaBusy), budget.reserve(2 * 2**20, limits, "this png"):
        pass


def test_worker_processes_share_the_ceiling(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "memory.max").write_text(f"{4 * 2**30}\n")
    monkeypatch.setattr(budget, "CGROUP_ROOT", str(tmp_path))
    limits = MediaLimits()
    assert budget.share(limits, 1) is limits
    each = budget.share(limits, 4)
    assert each.memory_ceiling_bytes == 3 * 2**30 // 4
    assert budget.ceiling(each) * 4 <= budget.ceiling(limits)


def test_hash_paths_gives_each_worker_its_share(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from veil.signals import batch

    seen: list[int] = []

    class Pool:  # the pool's workers, run here: what each is handed
        def __init__(self, max_workers: int) -> None: ...
        def __enter__(self) -> Pool:
            return self
        def __exit__(self, *exc: object) -> None: ...
        def shutdown(self, wait: bool, cancel_futures: bool) -> None: ...
        def submit(self, fn, item, limits, *rest):  # type: ignore[no-untyped-def]
            from concurrent.futures import Future
            seen.append(limits.memory_ceiling_bytes)
            done: Future[object] = Future()
            done.set_result(fn(item, limits, *rest))
            return done

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    monkeypatch.setattr(batch, "ProcessPoolExecutor", Pool)
    limits = MediaLimits(memory_ceiling_bytes=8 * 2**30)
    assert all(r.ok for r in batch.hash_paths([tmp_path], limits, ("pdq",), workers=4))
    assert seen == [budget.ceiling(limits) // 4]
