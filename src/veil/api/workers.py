"""``veil serve --workers N``: N service processes behind one port.

The parent process never serves. It

1. binds the port (``SO_REUSEPORT``, not listening: it only holds the port). Each
   worker listens on a socket of its own bound to it, and the kernel spreads new
   connections evenly over them (by a hash of the connection's addresses). One
   listening socket inherited by all would leave that to whichever worker wakes
   first: a burst of persistent connections measured here went mostly to one;
2. prepares the home in a child process that then exits: the database migrated, the
   key files created and every index's snapshot written, so N workers do not race to
   create them and the parent never holds an index;
3. forks a template process that imports the service's code, loads the compiled
   search loops and freezes the garbage collector's view of it all, forks the
   workers and exits: the workers share those pages instead of holding N copies,
   and the parent, which adopts them (``PR_SET_CHILD_SUBREAPER``), holds none of
   them (it stays the size of the command line that started it);
4. the workers: each opens its own store connections, threads and app, and
   maps the index snapshots (``VEIL_INDEX_SHARED``): one copy of each index in the
   page cache for all of them, kept current by each through the change feed and
   rewritten by one at a time (``veil.matching.shared``);
5. starts a worker again when one dies, and on SIGTERM or SIGINT passes SIGTERM to
   the workers, waits for their graceful shutdown, then kills what is left. A
   worker whose parent is gone (killed outright) stops itself within a second.

What each worker keeps in its own memory: rate-limit buckets (so each gets
``1/N`` of the configured intake rate and burst, and a client spread over the
workers gets about the configured rate), the idempotency cache, flood statistics,
and reviewer sessions (so the reviewer page refuses to run: serve ``/review`` from
a one-worker instance, docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import logging
import math
import os
import signal
import socket
import threading
import time
from collections.abc import Callable

from veil.config import Settings

log = logging.getLogger("veil.api")

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
#: A worker that dies is started again at most this often.
RESTART_GAP_S = 1.0
#: Seconds beyond the graceful shutdown a worker has before it is killed.
KILL_AFTER_S = 5.0


def worker_settings(settings: Settings, workers: int) -> Settings:
    """What each of ``workers`` processes runs with: shared indexes, and its share of
    the per-address rate limits (kept per process)."""
    api = settings.api
    return settings.with_(index_shared=True, api={
        **api.model_dump(), "workers": workers,
        "intake_rate_per_min": math.ceil(api.intake_rate_per_min / workers),
        "intake_burst": math.ceil(api.intake_burst / workers)})


def prepare(settings: Settings) -> None:
    """Migrate the store, create the key files and write every index's snapshot, as
    the workers will find them (run in a child process: the parent holds no index)."""
    from veil.api.services import Services

    services = Services(settings)
    try:
        services.live.load()
    finally:
        services.store.close()


def port_socket(host: str, port: int, *, listen: bool) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT`` (port 0: a free one),
    listening if ``listen``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def run_workers(settings: Settings, workers: int, reserved: socket.socket,
                serve_one: Callable[[Settings, socket.socket], None]) -> int:
    """Run ``workers`` processes, each ``serve_one(settings, sock)`` on its own
    listening socket on ``reserved``'s address, until SIGTERM or SIGINT; returns the
    exit status (non-zero if preparing the home failed)."""
    settings = worker_settings(settings, workers)
    address = reserved.getsockname()[:2]
    if _in_child(lambda: prepare(settings), "preparing the home") != 0:
        log.error("the home could not be prepared for the workers; see the log above")
        return 1
    _become_subreaper()
    stopping: float | None = None  # when SIGTERM or SIGINT came
    kill_at = settings.api.graceful_shutdown_s + KILL_AFTER_S
    children: dict[int, int] = {}  # pid -> worker number

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = stopping or time.monotonic()  # the loop below passes it on

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        children.update(_spawn(list(range(workers)), settings, address, serve_one))
        log.info("workers started", extra={"workers": workers, "pids": sorted(children)})
        last_start = time.monotonic()
        told: set[int] = set()  # a second SIGTERM would cut uvicorn's graceful stop short
        while children:
            if stopping is not None:
                late = time.monotonic() > stopping + kill_at
                for pid in children:  # also those started as the signal came
                    if late or pid not in told:
                        _signal(pid, signal.SIGKILL if late else signal.SIGTERM)
                        told.add(pid)
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                time.sleep(0.2)
                continue
            number = children.pop(pid, None)
            if number is None or stopping is not None:
                continue
            log.warning("worker exited; starting another", extra={
                "worker": number, "pid": pid, "status": os.waitstatus_to_exitcode(status)})
            time.sleep(max(0.0, last_start + RESTART_GAP_S - time.monotonic()))
            last_start = time.monotonic()
            children.update(_spawn([number], settings, address, serve_one))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


def _spawn(numbers: list[int], settings: Settings, address: tuple[str, int],
           serve_one: Callable[[Settings, socket.socket], None]) -> dict[int, int]:
    """Workers ``numbers``, forked from a template process that loads the code and
    then exits: they share the template's pages among themselves, and this process
    (their subreaper) holds none of them. A worker started again later comes from a
    template of its own and shares only the files' pages (the code's, the index's)
    with the others. Returns pid -> number."""
    r, w = os.pipe()

    def template() -> None:
        os.close(r)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _preload()
        pids = {_fork_worker(n, settings, address, serve_one, w): n for n in numbers}
        # a few dozen bytes: the pipe holds them until read after the template exits
        os.write(w, json.dumps(pids).encode())

    _in_child(template, "starting workers")
    os.close(w)
    with os.fdopen(r, "rb") as pipe:
        told = pipe.read()
    return {int(pid): n for pid, n in json.loads(told or b"{}").items()}


def _become_subreaper() -> None:
    """Adopt the workers when their template exits, to wait for them (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _fork_worker(number: int, settings: Settings, address: tuple[str, int],
                 serve_one: Callable[[Settings, socket.socket], None], pipe: int) -> int:
    supervisor = os.getppid()  # called in the template, the parent's child
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:
        os.close(pipe)  # the template's report: the parent reads it to its end
        _stop_with(supervisor)
        # the preloaded objects stay frozen here too: a collection that visited them
        # would write to every one, and so copy every shared page
        with port_socket(*address, listen=True) as sock:
            serve_one(settings, sock)
    except BaseException:
        log.exception("worker %d failed", number)
        status = 1
    finally:
        os._exit(status)  # never the parent's clean-up


def _stop_with(supervisor: int) -> None:
    """SIGTERM this worker (its graceful stop) once the parent is gone: killed
    outright, it could not pass its SIGTERM on, and workers left behind would go on
    serving and holding the port. The parent is first the template, which exits at
    once, then the supervisor that adopts the worker; any other means it died."""
    template = os.getppid()

    def watch() -> None:
        while os.getppid() in (template, supervisor):
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="veil-parent-watch", daemon=True).start()


def _in_child(fn: Callable[[], None], what: str) -> int:
    """``fn()`` in a forked child process; its exit status (1, logged, if it raised)."""
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            fn()
        except BaseException:
            log.exception("%s failed", what)
            status = 1
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _preload() -> None:
    """Import and load what every worker runs before forking, so its pages are
    shared (numba's machine code alone is about 100 MB a process)."""
    import veil.api.app  # noqa: F401  (the routes, FastAPI, SQLAlchemy, Pillow)
    from veil.index.warm import warm_serial_kernels

    warm_serial_kernels()
    gc.collect()
    # objects from here on are not visited by the collector, whose visits would
    # write to them and so copy their pages into every worker
    gc.freeze()


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # exited meanwhile
        os.kill(pid, signum)
