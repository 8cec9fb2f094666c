"""One thing a file says about where it came from (``Observation``).

An observation is what the file declares, not what is true: metadata is written by
whoever saved the file and removed by any re-save, so an observation can support a
reviewer's judgement and never decides on its own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["c2pa", "xmp", "exif", "png", "watermark"]

#: IPTC digital source types (cv.iptc.org/newscodes/digitalsourcetype/) that declare
#: generation by an algorithm or a model.
AI_SOURCE_TYPES = frozenset({
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
})

#: Longest value kept: a PNG prompt or a C2PA field is the file writer's text.
MAX_VALUE_CHARS = 200


def bounded(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    # control characters would reach terminals and review pages as they are
    text = "".join(ch if ch.isprintable() else " " for ch in text[:limit + 1])
    return text if len(text) <= limit else text[:limit - 1] + "…"


def source_type_name(value: str) -> str:
    """``http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia`` →
    ``trainedAlgorithmicMedia``."""
    return value.rstrip("/").rsplit("/", 1)[-1]


class Observation(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: Source = Field(description="Where it was read: c2pa, xmp, exif, png, watermark")
    kind: str = Field(description=(
        "What it is: manifest, validation, claim_generator, action, digital_source_type, "
        "remote_manifest, unreadable, software, text_chunk, mark"))
    value: str = Field(description="What the file says, as written (cut to 200 characters)")
    declares_ai: bool = Field(False, description=(
        "The file declares generation by a model or algorithm (an IPTC digital source "
        "type, a generator's text chunk or watermark)"))

    def text(self) -> str:
        tail = " (declares AI generation)" if self.declares_ai else ""
        return f"{self.source} {self.kind.replace('_', ' ')}: {self.value}{tail}"

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def make(source: Source, kind: str, value: str, *, declares_ai: bool = False) -> Observation:
    return Observation(source=source, kind=kind, value=bounded(value),
                       declares_ai=declares_ai)
