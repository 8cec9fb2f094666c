"""A backfill's output folder: Parquet parts, what they hold, the report.

Rows are written in parts (``part-00000.parquet``, …), each first to a hidden
temporary name and then moved into place, so a part is either whole or absent: on
a local disk the move is a rename; on an object store the part appears at once
when its upload completes. The parts are the record of what is done: a restarted
backfill reads their ``path`` column and skips those inputs, so nothing is scanned
twice and nothing is missed, however the last run ended. A part that cannot be
read (a disk that lost it) is moved aside and its inputs are scanned again.

``report.json`` summarises every part: decisions, errors by code, the store
generations the rows were matched at, and each matched input with its matches
(review items do not exist yet: this is what a reviewer works from).
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import re
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

from veil.pipelines.inputs import resolve

if TYPE_CHECKING:
    import pyarrow as pa

PART = re.compile(r"^part-(\d{5,})\.parquet$")
REPORT = "report.json"
_TEMP_PREFIX = ".tmp-"
#: The decisions a report lists each input of, with its matches.
LISTED = ("block", "review")


class Output:
    """The folder ``uri`` (created if missing) on its ``pyarrow`` filesystem."""

    def __init__(self, uri: str) -> None:
        import pyarrow.fs as pafs

        self.uri = uri
        self.fs, self.base = resolve(uri)
        info = self.fs.get_file_info(self.base)
        if info.type == pafs.FileType.File:
            from veil.pipelines.inputs import bad_source

            raise bad_source(f"{uri}: is a file; --out names a folder")
        self.fs.create_dir(self.base, recursive=True)
        self._next = 0

    def _names(self) -> list[str]:
        import pyarrow.fs as pafs

        found = self.fs.get_file_info(pafs.FileSelector(self.base, recursive=False))
        return sorted(f.base_name for f in found if f.type == pafs.FileType.File)

    def parts(self) -> list[str]:
        """Every written part, in order."""
        return [posixpath.join(self.base, n) for n in self._names() if PART.match(n)]

    def recover(self) -> set[str]:
        """Before a run: drop what an interrupted write left, set aside unreadable
        parts, and return the inputs the parts hold (done already)."""
        import pyarrow.parquet as pq

        for name in self._names():
            if name.startswith(_TEMP_PREFIX):
                self.fs.delete_file(posixpath.join(self.base, name))
        done: set[str] = set()
        numbers = [-1]
        for part in self.parts():
            try:
                paths = pq.read_table(part, filesystem=self.fs, columns=["path"])
            except Exception:
                self.fs.move(part, part + ".unreadable")
                continue
            done.update(paths.column("path").to_pylist())
            numbers.append(int(PART.match(posixpath.basename(part)).group(1)))  # type: ignore[union-attr]
        self._next = max(numbers) + 1
        return done

    def write(self, table: pa.Table) -> str:
        """``table`` as the next part, whole or not at all; returns its path."""
        import pyarrow.parquet as pq

        final = posixpath.join(self.base, f"part-{self._next:05d}.parquet")
        temp = posixpath.join(self.base, f"{_TEMP_PREFIX}{uuid.uuid4().hex}.parquet")
        try:
            pq.write_table(table, temp, filesystem=self.fs)
            self.fs.move(temp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.delete_file(temp)
            raise
        self._next += 1
        return final

    def summary(self) -> dict[str, Any]:
        """Counts over every part, and each input decided ``block`` or ``review``."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        decisions: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        watermarks: set[int] = set()
        listed: list[dict[str, Any]] = []
        rows = 0
        for part in self.parts():
            t = pq.read_table(part, filesystem=self.fs,
                              columns=["path", "decision", "matches", "error", "watermark"])
            rows += t.num_rows
            decisions.update(d for d in t.column("decision").to_pylist() if d)
            errors.update(e for e in t.column("error").to_pylist() if e)
            watermarks.update(w for w in t.column("watermark").to_pylist() if w is not None)
            hit = t.filter(pc.is_in(t.column("decision"), value_set=_listed()))
            for r in hit.select(["path", "decision", "matches"]).to_pylist():
                r["matches"] = [{k: v for k, v in m.items() if v is not None}
                                for m in r["matches"]]
                listed.append(r)
        return {"rows": rows, "parts": len(self.parts()),
                "decisions": {d: decisions.get(d, 0) for d in ("block", "review", "allow")},
                "errors": dict(sorted(errors.items())),
                "watermarks": sorted(watermarks),
                "matched": sorted(listed, key=lambda r: r["path"])}

    def write_report(self, report: dict[str, Any]) -> str:
        """``report`` as ``report.json``, replaced whole."""
        final = posixpath.join(self.base, REPORT)
        temp = posixpath.join(self.base, f"{_TEMP_PREFIX}{uuid.uuid4().hex}.json")
        with self.fs.open_output_stream(temp) as f:
            f.write(json.dumps(report, indent=2).encode())
        self.fs.move(temp, final)
        return final


def _listed() -> pa.Array:
    import pyarrow as pa

    return pa.array(LISTED, pa.string())
