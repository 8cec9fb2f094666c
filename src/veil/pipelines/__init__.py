"""Batch work over stored media: the backfill (``veil backfill``), on Ray or locally.

* ``inputs``: what a backfill reads: a folder, a listing of paths, or a Parquet/CSV
  table of paths, on any ``pyarrow`` filesystem (local, S3, GCS); reading one
  input's bytes, errors as data.
* ``rows``: the output schema (one row per input) and ``Scanner``, the one matcher a
  worker holds and the function both engines run on a batch of bytes.
* ``parts``: the output folder: Parquet parts written atomically, what is already
  done (for a restart), the report of matches.
* ``local``: the engine without Ray: worker processes, like ``veil scan``.
* ``on_ray``: the engine on Ray Data: read tasks, then an actor pool of scanners.
* ``backfill``: source → pending inputs → engine → parts → report.

Layer 8, beside ``veil.api``, ``veil.cli`` and ``veil.bot``: may import
``veil.matching``, ``veil.store`` and everything below them; only ``veil.cli``
imports it (``veil backfill``). Ray and pyarrow (the ``backfill`` extra) are
imported here, never by the layers below.
"""
