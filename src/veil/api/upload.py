"""Reading an uploaded file for ``/v1/scan``: streamed, capped, never kept.

Raw bodies are read chunk by chunk, multipart bodies through python-multipart's
streaming parser, keeping only the ``file`` part (Starlette's own form parsing spools
large files to a temporary file it names, so it is not used). The first bytes say
what the file is (``veil.media.video.sniff``):

* a picture is held in memory only, and refused past ``media.max_bytes``;
* a container video (MP4/MOV/WebM/MKV) goes to a temporary file of its own (owner-only,
  under ``$VEIL_HOME/tmp``), because PyAV decodes from a file and videos run to
  hundreds of megabytes; it is refused past ``media.video.max_bytes``, and the file
  is deleted when the scan ends, whatever happens (``Upload.close``), and at the
  next start if the process died first (``veil.media.spool.clear_spool``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import BinaryIO

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from veil.api.errors import ApiError
from veil.config import MediaLimits
from veil.errors import MediaEmpty, MediaTooLarge
from veil.media.spool import new_spool_file
from veil.media.video import CONTAINERS, SNIFF_BYTES, sniff

#: Content types accepted as a raw body holding the file itself.
RAW_TYPES = ("application/octet-stream",)


def _too_large(limit: int) -> MediaTooLarge:
    return MediaTooLarge(f"the upload is larger than the limit of {limit:,} bytes")


#: Longest text field read beside the file (``read_upload(fields=…)``).
FIELD_MAX_BYTES = 4096


class Upload:
    """An upload being received: bytes in memory (a picture) or a spooled temporary
    file (a video), and the text fields a multipart body sent beside it. Always
    ``close`` it: that drops the bytes and deletes the file."""

    def __init__(self, limits: MediaLimits, home: Path) -> None:
        self.limits = limits
        self._home = home
        self._buf = bytearray()
        self._file: BinaryIO | None = None
        self.path: Path | None = None
        #: The video container format, once the first bytes said it is one.
        self.video_format: str | None = None
        self.size = 0
        self._decided = False
        #: Text fields of a multipart body that the caller asked for.
        self.fields: dict[str, str] = {}
        #: The multipart field the file came in (None: a raw body).
        self.file_field: str | None = None

    @property
    def cap(self) -> int:
        return self.limits.video.max_bytes if self.video_format else self.limits.max_bytes

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._file is not None:
            if self.size > self.cap:
                raise _too_large(self.cap)
            self._file.write(chunk)
            return
        self._buf += chunk
        if not self._decided and len(self._buf) >= SNIFF_BYTES:
            self._decide()
        if self.size > self.cap and (self._decided or self.size > self.limits.video.max_bytes):
            raise _too_large(self.cap)

    def _decide(self) -> None:
        self._decided = True
        fmt = sniff(bytes(self._buf[:SNIFF_BYTES]))
        if fmt in CONTAINERS:
            self.video_format = fmt
            fd, self.path = new_spool_file(self._home)
            self._file = os.fdopen(fd, "wb")
            self._file.write(self._buf)
            self._buf = bytearray()

    def finish(self) -> None:
        if not self._decided:
            self._decide()
        if self.size > self.cap:
            raise _too_large(self.cap)
        if self._file is not None:
            self._file.close()
        if self.size == 0:
            raise MediaEmpty("the upload is empty (0 bytes)")

    @property
    def data(self) -> bytes:
        """A picture's bytes (empty for a video, which is at ``path``)."""
        return bytes(self._buf)

    def close(self) -> None:
        self._buf = bytearray()
        if self._file is not None:
            self._file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


async def read_upload(request: Request, limits: MediaLimits, home: Path,
                      fields: tuple[str, ...] = (),
                      file_fields: tuple[str, ...] = ("file",)) -> Upload:
    """The upload of ``request`` (and the text ``fields`` of a multipart body, each at
    most ``FIELD_MAX_BYTES``, UTF-8; a raw body has none: callers take them from the
    query). A multipart body's file is its first part named one of ``file_fields``
    (HMA's clients name it by content type: ``photo``, ``video``). The caller must
    ``close`` it (on an error this closes it itself)."""
    upload = Upload(limits, home)
    try:
        await _receive(request, upload, fields, file_fields)
        upload.finish()
    except BaseException:
        upload.close()
        raise
    return upload


async def _receive(request: Request, upload: Upload, fields: tuple[str, ...],
                   file_fields: tuple[str, ...]) -> None:
    mime, params = parse_options_header(request.headers.get("content-type", ""))
    mime = mime.lower()
    if mime == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary or len(boundary) > 200:
            raise ApiError(400, "upload.malformed", "multipart/form-data without a boundary")
        await _multipart(request, boundary, upload, fields, file_fields)
    elif (mime in (t.encode() for t in RAW_TYPES) or mime.startswith(b"image/")
          or mime.startswith(b"video/")):
        async for chunk in request.stream():
            upload.write(chunk)
    else:
        raise ApiError(415, "request.unsupported_media_type",
                       "send the file as the raw body (Content-Type: application/octet-stream, "
                       "image/* or video/*) or as multipart/form-data with a 'file' field")


@dataclass
class _Parsing:
    """Where the streaming multipart parser is: the part's headers so far, and whether
    it is the (first) ``file`` part."""

    field: bytes = b""
    value: bytes = b""
    headers: dict[bytes, bytes] = dataclass_field(default_factory=dict)
    is_file: bool = False
    #: The text field this part holds (one of the fields asked for), if any.
    text_field: str | None = None
    text: bytearray = dataclass_field(default_factory=bytearray)
    found: bool = False
    ended: bool = False


async def _multipart(request: Request, boundary: bytes, upload: Upload,
                     fields: tuple[str, ...], file_fields: tuple[str, ...]) -> None:
    state = _Parsing()
    file_names = {f.encode("latin-1") for f in file_fields}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.value += data[start:end]

    def on_header_end() -> None:
        state.headers[state.field.lower()] = state.value
        state.field = state.value = b""

    def on_headers_finished() -> None:
        _, opts = parse_options_header(state.headers.get(b"content-disposition", b""))
        name = opts.get(b"name")
        state.is_file = name in file_names and not state.found
        if state.is_file:
            state.found = True
            upload.file_field = (name or b"").decode("latin-1")
        elif name is not None and name.decode("latin-1") in fields:
            state.text_field = name.decode("latin-1")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state.is_file:
            upload.write(data[start:end])
        elif state.text_field is not None:
            state.text.extend(data[start:end])
            if len(state.text) > FIELD_MAX_BYTES:
                raise ApiError(422, "input.invalid", f"the field '{state.text_field}' is "
                               f"longer than {FIELD_MAX_BYTES} bytes")

    def on_part_begin() -> None:
        state.headers = {}
        state.is_file = False
        state.text_field = None
        state.text = bytearray()

    def on_part_end() -> None:
        if state.text_field is not None:
            upload.fields[state.text_field] = state.text.decode("utf-8", errors="replace")

    def on_end() -> None:
        state.ended = True

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data,
        "on_part_end": on_part_end,
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_end": on_end})
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise ApiError(400, "upload.malformed", f"malformed multipart body: {exc}") from None
    if not state.ended:
        raise ApiError(400, "upload.malformed", "malformed multipart body: it ends before "
                       "its closing boundary")
    if not state.found:
        named = " or ".join(f"'{f}'" for f in file_fields)
        raise ApiError(422, "upload.no_file", f"the multipart body has no {named} field")
