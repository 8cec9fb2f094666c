"""Decoder warnings go to the file being read; every other warning is left alone."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings

import PIL.Image
import pytest
from PIL import Image

from veil.media.library_warnings import collecting, install


def _palette_png_with_byte_transparency() -> bytes:
    """A PNG on which Pillow warns while converting it (a UserWarning)."""
    im = Image.new("P", (16, 16))
    im.putpalette([(i * 7) % 256 for i in range(768)])
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=bytes(range(256)))
    return buf.getvalue()


def _pillow_warns() -> None:
    Image.open(io.BytesIO(_palette_png_with_byte_transparency())).convert("RGB")


def test_a_decoders_warning_is_collected_on_the_file_every_time() -> None:
    for _ in range(2):  # "always": the second file warns too
        with collecting() as raised:
            _pillow_warns()
        assert raised == ["UserWarning: Palette images with Transparency expressed in "
                          "bytes should be converted to RGBA images"]


def test_another_librarys_warning_inside_collecting_is_passed_on_not_collected() -> None:
    with pytest.warns(RuntimeWarning, match="not about the file"), collecting() as raised:
        warnings.warn("not about the file", RuntimeWarning, stacklevel=1)
        _pillow_warns()
    assert raised == ["UserWarning: Palette images with Transparency expressed in bytes "
                      "should be converted to RGBA images"]


#: Run in a fresh interpreter, so that ``install`` meets Python's own hook.
_ELSEWHERE = """
import io, warnings
from PIL import Image
from veil.media.library_warnings import collecting
warnings.simplefilter("always")
with collecting():
    pass
warnings.warn("from anywhere", UserWarning)
im = Image.new("P", (16, 16))
im.putpalette([(i * 7) % 256 for i in range(768)])
buf = io.BytesIO()
im.save(buf, "PNG", transparency=bytes(range(256)))
Image.open(buf).convert("RGB")  # a decoder's warning, with no file being collected
warnings.warn_explicit("numpy's", RuntimeWarning, "numpy/core/fake.py", 1)
"""


def test_once_installed_warnings_elsewhere_still_reach_stderr() -> None:
    done = subprocess.run([sys.executable, "-c", _ELSEWHERE], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert "UserWarning: from anywhere" in done.stderr
    assert "UserWarning: Palette images with Transparency" in done.stderr
    assert "RuntimeWarning: numpy's" in done.stderr


def test_only_the_decoders_warnings_are_made_to_fire_always() -> None:
    with warnings.catch_warnings():
        install()
        always = [f[3] for f in warnings.filters if f[0] == "always" and f[3] is not None]
    for module in ("veil.matching.matcher", "numpy", "pydantic.main", "veil.media.source"):
        assert not any(m.match(module) for m in always), module
    assert any(m.match(PIL.Image.__name__) for m in always)
    assert any(m.match("pillow_heif.heif") for m in always)


def test_a_hook_put_back_by_catch_warnings_still_passes_on_to_its_own_predecessor() -> None:
    seen: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, *rest: seen.append(str(message))
        install()
        with warnings.catch_warnings(record=True) as inner:
            warnings.simplefilter("always")
            install()  # the hook that catch_warnings saved is put back on leaving
            warnings.warn("inside", RuntimeWarning, stacklevel=1)
        warnings.warn("after", RuntimeWarning, stacklevel=1)
    assert [str(w.message) for w in inner] == ["inside"]
    assert seen == ["after"]
