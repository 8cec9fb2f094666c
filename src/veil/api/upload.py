"""Reading an uploaded file for ``/v1/scan``: in memory only, streamed, capped.

The upload is never written anywhere (Starlette's own form parsing spools large
files to a temporary file on disk, so it is not used): raw bodies are read chunk
by chunk into one buffer, multipart bodies through python-multipart's streaming
parser, keeping only the ``file`` part. Either stops as soon as the file passes
``media.max_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from veil.api.errors import ApiError
from veil.errors import MediaEmpty, MediaTooLarge

#: Content types accepted as a raw body holding the file itself.
RAW_TYPES = ("application/octet-stream",)
FILE_FIELD = b"file"


def _too_large(limit: int) -> MediaTooLarge:
    return MediaTooLarge(f"the upload is larger than the limit of {limit:,} bytes")


async def read_upload(request: Request, max_bytes: int) -> bytes:
    mime, params = parse_options_header(request.headers.get("content-type", ""))
    mime = mime.lower()
    if mime == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary or len(boundary) > 200:
            raise ApiError(400, "upload.malformed", "multipart/form-data without a boundary")
        data = await _multipart(request, boundary, max_bytes)
    elif mime in (t.encode() for t in RAW_TYPES) or mime.startswith(b"image/"):
        buf = bytearray()
        async for chunk in request.stream():
            buf += chunk
            if len(buf) > max_bytes:
                raise _too_large(max_bytes)
        data = bytes(buf)
    else:
        raise ApiError(415, "request.unsupported_media_type",
                       "send the file as the raw body (Content-Type: application/octet-stream "
                       "or image/*) or as multipart/form-data with a 'file' field")
    if not data:
        raise MediaEmpty("the upload is empty (0 bytes)")
    return data


@dataclass
class _Parsing:
    """Where the streaming multipart parser is: the part's headers so far, and whether
    it is the (first) ``file`` part."""

    field: bytes = b""
    value: bytes = b""
    headers: dict[bytes, bytes] = dataclass_field(default_factory=dict)
    is_file: bool = False
    found: bool = False
    ended: bool = False


async def _multipart(request: Request, boundary: bytes, max_bytes: int) -> bytes:
    state = _Parsing()
    buf = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.value += data[start:end]

    def on_header_end() -> None:
        state.headers[state.field.lower()] = state.value
        state.field = state.value = b""

    def on_headers_finished() -> None:
        _, opts = parse_options_header(state.headers.get(b"content-disposition", b""))
        state.is_file = opts.get(b"name") == FILE_FIELD and not state.found
        if state.is_file:
            state.found = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state.is_file:
            buf.extend(data[start:end])
            if len(buf) > max_bytes:
                raise _too_large(max_bytes)

    def on_part_begin() -> None:
        state.headers = {}
        state.is_file = False

    def on_end() -> None:
        state.ended = True

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data,
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
        raise ApiError(422, "upload.no_file", "the multipart body has no 'file' field")
    return bytes(buf)
