"""Source → the inputs not done yet → an engine → Parquet parts → report.

``plan`` lists the SOURCE's inputs and reads the output folder for those already
written (a restart skips them). ``run`` hands the rest to an engine (``local`` or
``ray``), writes its rows in parts of at most ``part_rows`` rows (and at least every
``FLUSH_S`` seconds, so an interrupted run loses little), writes what it holds when
stopped (Ctrl-C included) and finally the report. ``on_rows`` hears of every batch
written, for a progress bar.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from veil.pipelines.inputs import Inputs, list_inputs
from veil.pipelines.parts import Output

if TYPE_CHECKING:
    import pyarrow as pa

    from veil.config import Settings

Engine = Literal["ray", "local"]
ENGINES: tuple[Engine, ...] = ("ray", "local")
#: Longest time rows wait in memory before they are written as a part.
FLUSH_S = 30.0


@dataclass(frozen=True)
class Plan:
    source: str
    inputs: Inputs
    output: Output
    #: Inputs the output folder already holds a row for.
    done: int
    #: Inputs still to scan, in source order.
    pending: list[str]


@dataclass(frozen=True)
class RunStats:
    engine: Engine
    workers: int
    scanned: int
    seconds: float
    #: Seconds until the first batch of rows came back: the start (Ray's processes,
    #: each worker's matcher) plus one batch.
    first_rows_s: float = 0.0
    #: Rows in that first batch.
    first_rows: int = 0
    #: Seconds until the last rows came back (the rest is writing and shutting down).
    last_rows_s: float = 0.0

    @property
    def per_second(self) -> float:
        return self.scanned / self.seconds if self.seconds > 0 else 0.0

    @property
    def steady_per_second(self) -> float:
        """Images per second once the first batch came back: what a long backfill
        runs at, its start paid."""
        span = self.last_rows_s - self.first_rows_s
        rows = self.scanned - self.first_rows
        return rows / span if rows > 0 and span > 0 else 0.0


def plan(source: str, out: str) -> Plan:
    """What a backfill of ``source`` into ``out`` has left to do."""
    inputs = list_inputs(source)
    output = Output(out)
    written = output.recover()
    pending = [p for p in inputs.paths if p not in written]
    return Plan(source, inputs, output, len(inputs.paths) - len(pending), pending)


def _engine_rows(plan: Plan, engine: Engine, settings: Settings, *, workers: int, batch: int,
                 thresholds: dict[str, int], dihedral: bool,
                 ray_address: str | None) -> Iterator[pa.Table]:
    if not plan.pending:
        return iter(())
    fs = plan.inputs.filesystem
    if engine == "ray":
        from veil.pipelines.on_ray import scan_on_ray

        return scan_on_ray(fs, plan.pending, settings, workers=workers, batch=batch,
                           thresholds=thresholds, dihedral=dihedral, address=ray_address)
    from veil.pipelines.local import scan_local

    return scan_local(fs, plan.pending, settings, workers=workers, batch=batch,
                      thresholds=thresholds, dihedral=dihedral)


def run(plan: Plan, engine: Engine, settings: Settings, *, workers: int, batch: int,
        part_rows: int, thresholds: dict[str, int] | None = None, dihedral: bool = False,
        ray_address: str | None = None,
        on_rows: Callable[[pa.Table], None] | None = None) -> RunStats:
    """Scan ``plan.pending`` and write their rows; returns how long it took."""
    import pyarrow as pa

    from veil.pipelines.rows import schema

    held: list[pa.Table] = []
    count = scanned = first_rows = 0
    first_at = last_at = 0.0
    last_flush = started = time.perf_counter()

    def flush() -> None:
        nonlocal held, count, last_flush
        if held:
            plan.output.write(pa.concat_tables(held))
        held, count, last_flush = [], 0, time.perf_counter()

    try:
        for table in _engine_rows(plan, engine, settings, workers=workers, batch=batch,
                                  thresholds=thresholds or {}, dihedral=dihedral,
                                  ray_address=ray_address):
            # Ray may hand back the schema with its nullability or metadata changed
            held.append(table if table.schema.equals(schema()) else table.cast(schema()))
            count += table.num_rows
            if not scanned:
                first_at, first_rows = time.perf_counter() - started, table.num_rows
            scanned += table.num_rows
            last_at = time.perf_counter() - started
            if count >= part_rows or time.perf_counter() - last_flush >= FLUSH_S:
                flush()
            if on_rows is not None:
                on_rows(table)
    finally:
        flush()  # rows already scanned are kept, however the run ends
    return RunStats(engine, workers, scanned, time.perf_counter() - started, first_at,
                    first_rows, last_at)


def report(plan: Plan, stats: RunStats, *, banks: list[str]) -> dict[str, Any]:
    """The summary of every part, with this run's engine and throughput; written
    as ``report.json``."""
    summary = plan.output.summary()
    doc = {"source": plan.source, "inputs": len(plan.inputs.paths), **summary,
           "banks": banks,
           "last_run": {"engine": stats.engine, "workers": stats.workers,
                        "skipped_as_done": plan.done, "scanned": stats.scanned,
                        "seconds": round(stats.seconds, 3),
                        "images_per_second": round(stats.per_second, 2),
                        "first_rows_seconds": round(stats.first_rows_s, 3),
                        "steady_images_per_second": round(stats.steady_per_second, 2)}}
    plan.output.write_report(doc)
    return doc
