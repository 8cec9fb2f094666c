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


#: Longest text field read beside the file (``read_upload_with_fields``).
FIELD_MAX_BYTES = 4096


async def read_upload(request: Request, max_bytes: int) -> bytes:
    return (await read_upload_with_fields(request, max_bytes))[0]


async def read_upload_with_fields(request: Request, max_bytes: int,
                                  fields: tuple[str, ...] = ()) -> tuple[bytes, dict[str, str]]:
    """The upload, and the text ``fields`` of a multipart body (each at most
    ``FIELD_MAX_BYTES``, UTF-8; a raw body has none: callers take them from the query)."""
    found: dict[str, str] = {}
    mime, params = parse_options_header(request.headers.get("content-type", ""))
    mime = mime.lower()
    if mime == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary or len(boundary) > 200:
            raise ApiError(400, "upload.malformed", "multipart/form-data without a boundary")
        data = await _multipart(request, boundary, max_bytes, fields, found)
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
    return data, found


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


async def _multipart(request: Request, boundary: bytes, max_bytes: int,
                     fields: tuple[str, ...] = (), found: dict[str, str] | None = None
                     ) -> bytes:
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
        name = opts.get(b"name")
        state.is_file = name == FILE_FIELD and not state.found
        if state.is_file:
            state.found = True
        elif name is not None and name.decode("latin-1") in fields:
            state.text_field = name.decode("latin-1")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state.is_file:
            buf.extend(data[start:end])
            if len(buf) > max_bytes:
                raise _too_large(max_bytes)
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
        if state.text_field is not None and found is not None:
            found[state.text_field] = state.text.decode("utf-8", errors="replace")

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
        raise ApiError(422, "upload.no_file", "the multipart body has no 'file' field")
    return bytes(buf)
