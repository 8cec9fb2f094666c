"""What a backfill reads: the inputs a SOURCE names, and one input's bytes.

A SOURCE is a path or a ``pyarrow`` filesystem URI (``s3://bucket/photos/``,
``gs://…``, ``file:///…``; a plain path is local):

* a folder: every file under it whose name says it is media (the suffixes
  ``veil scan`` walks for), recursively, in sorted order;
* a ``.parquet`` or ``.csv`` table: its ``path`` column (or its only column);
* a file whose name says it is media: that one file;
* any other file: a listing, one path a line (blank lines and ``#`` comments skipped).

A listed path is on the SOURCE's filesystem: absolute, a URI of that filesystem, or
relative to the listing's folder. Inputs are kept in order, each once.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING

from veil.errors import BadInput, VeilError
from veil.media.discover import MEDIA_SUFFIXES

if TYPE_CHECKING:
    import pyarrow.fs as pafs

#: The column of a table SOURCE that names the inputs.
PATH_COLUMN = "path"
#: Error code of an input that could not be read (missing, permission, network).
UNREADABLE = "input.unreadable"


@dataclass(frozen=True)
class Inputs:
    filesystem: pafs.FileSystem
    paths: list[str]


def bad_source(message: str) -> BadInput:
    return BadInput(message, code="backfill.bad_source")


def resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and the path on it that ``uri`` names (a plain path is local)."""
    import pyarrow.fs as pafs

    if "://" not in uri:
        return pafs.LocalFileSystem(), os.path.abspath(uri)
    try:
        fs, path = pafs.FileSystem.from_uri(uri)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError … by scheme
        raise bad_source(f"{uri}: not a filesystem URI pyarrow can open ({exc})") from None
    return fs, str(path)


def list_inputs(source: str) -> Inputs:
    """The inputs ``source`` names, in order, each once; raises ``BadInput``
    (``backfill.bad_source``) when ``source`` is missing or not a readable listing."""
    import pyarrow.fs as pafs

    fs, base = resolve(source)
    try:
        info = fs.get_file_info(base)
    except OSError as exc:
        raise bad_source(f"{source}: cannot be read ({exc})") from None
    if info.type == pafs.FileType.NotFound:
        raise bad_source(f"{source}: no such file or folder")
    if info.type == pafs.FileType.Directory:
        found = fs.get_file_info(pafs.FileSelector(base, recursive=True))
        paths = sorted(f.path for f in found if f.type == pafs.FileType.File
                       and posixpath.splitext(f.base_name)[1].lower() in MEDIA_SUFFIXES)
        return Inputs(fs, paths)
    suffix = posixpath.splitext(base)[1].lower()
    if suffix in MEDIA_SUFFIXES:
        return Inputs(fs, [base])
    listed = _table_column(fs, base, suffix) if suffix in (".parquet", ".csv") \
        else _listing(fs, base)
    folder = posixpath.dirname(base)
    return Inputs(fs, list(dict.fromkeys(_on(folder, p) for p in listed)))


def _on(folder: str, listed: str) -> str:
    """A listed path as a path on ``fs``."""
    if "://" in listed:
        # file:///a/b → /a/b, s3://bucket/key → bucket/key: how pyarrow names them
        return listed.split("://", 1)[1]
    return listed if listed.startswith("/") else posixpath.normpath(
        posixpath.join(folder, listed))


def _listing(fs: pafs.FileSystem, path: str) -> list[str]:
    try:
        with fs.open_input_stream(path) as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad_source(f"{path}: cannot be read as a listing of paths ({exc})") from None
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]


def _table_column(fs: pafs.FileSystem, path: str, suffix: str) -> list[str]:
    import pyarrow as pa

    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            column = _path_column(path, pq.read_schema(path, filesystem=fs).names)
            table = pq.read_table(path, filesystem=fs, columns=[column])
        else:
            import pyarrow.csv as pcsv

            with fs.open_input_stream(path) as f:
                table = pcsv.read_csv(f, convert_options=pcsv.ConvertOptions(
                    column_types={PATH_COLUMN: pa.string()}))
            column = _path_column(path, table.column_names)
    except VeilError:
        raise
    except (OSError, pa.ArrowException) as exc:
        raise bad_source(f"{path}: cannot be read as a table of paths ({exc})") from None
    return [str(p) for p in table.column(column).to_pylist() if p]


def _path_column(path: str, names: list[str]) -> str:
    if PATH_COLUMN in names or len(names) != 1:
        if PATH_COLUMN not in names:
            raise bad_source(f"{path}: no {PATH_COLUMN!r} column (columns: "
                             f"{', '.join(names)})")
        return PATH_COLUMN
    return names[0]


def read_input(fs: pafs.FileSystem, path: str, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of ``path`` (one more than the limit, so the
    media checks can tell a file over it); raises ``VeilError`` (``input.unreadable``)."""
    try:
        with fs.open_input_stream(path) as f:
            return bytes(f.read(max_bytes + 1))
    except OSError as exc:
        raise BadInput(f"cannot be read: {exc}", code=UNREADABLE) from None
