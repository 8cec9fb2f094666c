"""Metadata a generator or editor writes: XMP digital source type, EXIF ``Software``,
PNG text chunks. Read from the header only (no pixel is decoded)."""

from __future__ import annotations

import re

from PIL import Image

from veil.inspect.observation import AI_SOURCE_TYPES, Observation, make, source_type_name

#: ``Iptc4xmpExt:DigitalSourceType`` as an attribute, an element, or an rdf:resource.
#: A bytes regex, not an XML parser: malformed XMP cannot make it fail, and a bounded
#: value keeps the scan linear.
_XMP_DST = re.compile(
    rb"DigitalSourceType(?:\s*=\s*[\"']|>|\s+rdf:resource\s*=\s*[\"'])\s*([^\"'<>\s]{1,300})")
#: Most digital source types read from one file.
MAX_XMP_VALUES = 10

#: PNG text keys image generators write: AUTOMATIC1111/Forge (parameters), ComfyUI
#: (prompt, workflow), InvokeAI (invokeai_metadata, sd-metadata, Dream), NovelAI and
#: others (generation_data).
GENERATOR_KEYS = frozenset({"parameters", "prompt", "workflow", "invokeai_metadata",
                            "invokeai_graph", "sd-metadata", "Dream", "generation_data"})
_EXIF_SOFTWARE = 0x0131


def xmp_source_types(data: bytes) -> list[Observation]:
    seen: list[str] = []
    for m in _XMP_DST.finditer(data):
        name = source_type_name(m.group(1).decode("utf-8", "replace"))
        if name not in seen:
            seen.append(name)
        if len(seen) >= MAX_XMP_VALUES:
            break
    return [make("xmp", "digital_source_type", n, declares_ai=n in AI_SOURCE_TYPES)
            for n in seen]


def header_metadata(img: Image.Image) -> list[Observation]:
    """EXIF Software and generators' PNG text chunks before the pixel data (Pillow
    caps each text chunk: ``PngImagePlugin.MAX_TEXT_CHUNK``)."""
    found = []
    try:
        software = img.getexif().get(_EXIF_SOFTWARE)
    except (ValueError, OSError, SyntaxError):  # a broken EXIF block: nothing to report
        software = None
    if isinstance(software, bytes):
        software = software.decode("utf-8", "replace")
    if isinstance(software, str) and software.strip():
        found.append(make("exif", "software", software.strip()))
    if img.format == "PNG":
        for key, value in img.info.items():
            if key in GENERATOR_KEYS and isinstance(value, str):
                found.append(make("png", "text_chunk", f"{key}: {value}", declares_ai=True))
    return found
