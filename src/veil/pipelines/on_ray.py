"""The backfill engine on Ray Data: read tasks, then an actor pool of scanners.

The pipeline streams: a block of paths → a read task (``read_batch``: the bytes,
or each file's read error, on whatever filesystem the inputs are) → an actor of
the pool (``Scanner``: one matcher per actor, loaded once when the actor starts)
→ rows back to the driver, which writes the parts. Only rows travel back; the
bytes live in the object store between the two stages.

Ray's own ``read_binary_files`` is not used: one missing file fails the whole
dataset before it starts (or, with ``ignore_missing_paths``, disappears without a
row) and one unreadable file fails its read task, while a backfill owes every
input a row.

Resources: each actor takes one CPU and the read tasks none (they wait on the
disk or the network), so a pool with an actor per CPU still leaves room for the
reads; the read tasks are capped at ``READS_PER_ACTOR`` per actor instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from veil.errors import BadInput, StoreError
from veil.pipelines.rows import Scanner, paths_table, read_batch

if TYPE_CHECKING:
    import pyarrow as pa

    from veil.config import Settings

#: Read tasks running at once per actor: enough to hide a network store's latency.
READS_PER_ACTOR = 2
#: Batches of paths per read task's block: one block is one read task.
BATCHES_PER_BLOCK = 2
#: Restarts of a dead actor, and retries of the batch it held, before the run fails:
#: enough for a lost node; Ray Data's default (forever) would loop on a file that
#: crashes the process that decodes it.
RETRIES = 2


def scan_on_ray(filesystem: Any, paths: Sequence[str], settings: Settings, *, workers: int,
                batch: int, thresholds: dict[str, int], dihedral: bool,
                address: str | None = None) -> Iterator[pa.Table]:
    """Rows for ``paths``, a batch at a time, in the order they finish.

    Uses the Ray this process already joined (``ray.init`` done by the caller),
    else joins ``address`` (a cluster's, or ``auto``) or starts a local one, which it
    shuts down at the end."""
    import ray
    import ray.data

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))  # type: ignore[no-untyped-call]
        if address is None and not os.environ.get("RAY_ADDRESS") and workers > cpus:
            # a fixed pool larger than a local Ray's CPUs would wait for them forever (a
            # cluster's autoscaler may add CPUs: joined by address, it is not checked)
            raise BadInput(f"--workers {workers}: this Ray has {cpus} CPUs, one per actor",
                           code="backfill.too_many_workers")
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the CLI shows its own, with throughput
        ctx.verbose_stats_logs = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        block = batch * BATCHES_PER_BLOCK
        blocks = [paths_table(paths[i:i + block]) for i in range(0, len(paths), block)]
        # Any: Ray's annotations take map_batches' functions narrower than it runs them
        # (pyarrow tables in and out, keyword arguments bound by fn_kwargs)
        ds: Any = ray.data.from_arrow(blocks)
        ds = ds.map_batches(read_batch, batch_format="pyarrow", batch_size=batch,
                            fn_kwargs={"filesystem": filesystem,
                                       "max_bytes": settings.media.max_bytes},
                            num_cpus=0,
                            compute=ray.data.TaskPoolStrategy(
                                size=min(len(blocks), workers * READS_PER_ACTOR)))
        ds = ds.map_batches(Scanner, batch_format="pyarrow", batch_size=batch,
                            fn_constructor_args=(settings,),
                            fn_constructor_kwargs={"thresholds": thresholds,
                                                   "dihedral": dihedral},
                            num_cpus=1, compute=ray.data.ActorPoolStrategy(size=workers),
                            max_restarts=RETRIES, max_task_retries=RETRIES)
        try:
            yield from ds.iter_batches(batch_size=None, batch_format="pyarrow")
        except ray.exceptions.RayError as exc:
            raise StoreError(f"a Ray worker failed: {str(exc)[:500]}",
                             code="backfill.worker_failed") from exc
    finally:
        if started:
            ray.shutdown()
