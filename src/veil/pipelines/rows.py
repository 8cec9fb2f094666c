"""One row per input: the schema of a backfill's output, and the scanner that fills it.

Both engines run ``Scanner.scan_batch`` on batches of ``(path, bytes or read
error)``: the Ray engine in each actor of its pool, the local one in each worker
process. A scanner loads its matcher once (``BankMatcher.load``: the index
snapshots where current, else the store: the loader ``veil scan`` and ``veil
serve`` use; snapshots are mapped, so the scanners of a machine share one copy, as
``veil serve --workers`` does) and scans each file with ``scan_bytes``, the path of ``POST
/v1/scan``: the same signals, verdict and provenance observations. An input that
cannot be read or decoded, or that makes a decoder fail in any way, is a row with
its error: one bad file never stops a batch.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from veil.errors import VeilError
from veil.media import budget

if TYPE_CHECKING:
    import pyarrow as pa

    from veil.config import Settings
    from veil.matching import BankMatcher

log = logging.getLogger(__name__)

#: Error code of a file that made the scan fail in a way no check anticipated (a
#: decoder's own exception): the row says so, the batch goes on.
FAILED = "backfill.failed"


@functools.cache
def schema() -> pa.Schema:
    """The output rows (``docs/backfill.md`` describes each column)."""
    import pyarrow as pa

    signal = pa.struct([("signal", pa.string()), ("value", pa.string()),
                        ("quality", pa.int32())])
    match = pa.struct([("signal", pa.string()), ("entry_id", pa.int64()),
                       ("bank", pa.string()), ("category", pa.string()),
                       ("distance", pa.int32()), ("threshold", pa.int32()),
                       ("variant", pa.string())])
    observation = pa.struct([("source", pa.string()), ("kind", pa.string()),
                             ("value", pa.string()), ("declares_ai", pa.bool_())])
    return pa.schema([
        pa.field("path", pa.string(), nullable=False),
        ("format", pa.string()),
        ("signals", pa.list_(signal)),
        ("decision", pa.string()),
        ("matches", pa.list_(match)),
        ("reasons", pa.list_(pa.string())),
        ("observations", pa.list_(observation)),
        ("warnings", pa.list_(pa.string())),
        ("error", pa.string()),
        ("error_message", pa.string()),
        ("watermark", pa.int64()),
    ])


def read_schema() -> pa.Schema:
    """What the read stage hands the scanners: the bytes, or why there are none."""
    import pyarrow as pa

    return pa.schema([pa.field("path", pa.string(), nullable=False), ("data", pa.binary()),
                      ("error", pa.string()), ("error_message", pa.string())])


def read_batch(table: pa.Table, *, filesystem: Any, max_bytes: int) -> pa.Table:
    """The bytes of each ``path`` of ``table`` (at most ``max_bytes + 1``), or its
    read error."""
    import pyarrow as pa

    from veil.pipelines.inputs import read_input

    out: dict[str, list[Any]] = {"path": [], "data": [], "error": [], "error_message": []}
    for path in table.column("path").to_pylist():
        data: bytes | None = None
        code = message = None
        try:
            data = read_input(filesystem, path, max_bytes)
        except VeilError as exc:
            code, message = exc.code, exc.message
        out["path"].append(path)
        out["data"].append(data)
        out["error"].append(code)
        out["error_message"].append(message)
    return pa.Table.from_pydict(out, schema=read_schema())


class Scanner:
    """One worker's matcher, loaded once, and the scan of a batch with it.

    ``share``: how many scanners decode at once on this machine (default: one per
    core, the most a pool of one-CPU actors puts on it); each gets its share of the
    decode memory ceiling (``veil.media.budget``), as ``veil scan``'s workers do.
    """

    def __init__(self, settings: Settings, *, share: int | None = None,
                 thresholds: dict[str, int] | None = None, dihedral: bool = False) -> None:
        from veil.matching import BankMatcher
        from veil.store import open_store

        share = share or os.cpu_count() or 1
        settings = settings.model_copy(update={"media": budget.share(settings.media, share)})
        with open_store(settings) as store:
            # mapped: the scanners of one machine share one copy of each snapshot
            matcher = BankMatcher.load(settings, store, mapped=True)
        self.matcher: BankMatcher = matcher
        self.thresholds = thresholds or {}
        self.dihedral = dihedral
        #: The store generation every row of this scanner was matched at.
        self.watermark = matcher.banks_watermark

    def __call__(self, table: pa.Table) -> pa.Table:
        return self.scan_batch(table)

    def scan_batch(self, table: pa.Table) -> pa.Table:
        """One output row per row of ``table`` (``read_schema``), in order."""
        import pyarrow as pa

        rows = [self.scan_one(*r) for r in zip(*(table.column(n).to_pylist() for n in
                                                 ("path", "data", "error", "error_message")),
                                               strict=True)]
        return pa.Table.from_pylist(rows, schema=schema())

    def scan_one(self, path: str, data: bytes | None, error: str | None,
                 error_message: str | None) -> dict[str, object]:
        from veil.matching import scan_bytes

        row: dict[str, object] = {"path": path, "watermark": self.watermark}
        if data is None:
            return {**row, "error": error, "error_message": error_message}
        try:
            result = scan_bytes(data, self.matcher, dihedral=self.dihedral,
                                thresholds=self.thresholds, label=path)
        except VeilError as exc:
            return {**row, "error": exc.code, "error_message": exc.message}
        except Exception as exc:  # a decoder's own failure: this file's, not the job's
            log.warning("backfill: scan failed", extra={"path": path,
                                                        "error": type(exc).__name__})
            return {**row, "error": FAILED,
                    "error_message": f"scan failed: {type(exc).__name__}"}
        file, verdict = result.file, result.verdict
        assert verdict is not None  # scan_bytes raises instead of returning no verdict
        return {**row, "format": file.format,
                "signals": [{"signal": s.type, "value": s.value, "quality": s.quality}
                            for s in file.signals],
                "decision": verdict.decision,
                "matches": [m.model_dump(exclude={"value"}) for m in verdict.matches],
                "reasons": list(verdict.iter_reasons()),
                "observations": [o.model_dump() for o in verdict.observations or ()],
                "warnings": list(file.warnings)}


def paths_table(paths: Sequence[str]) -> pa.Table:
    import pyarrow as pa

    return pa.table({"path": pa.array(list(paths), pa.string())})
