"""Running independent tiles of work on every core.

NumPy runs each element-wise step (``max``, ``exp``, ``sum``) on one core; only matrix products
spread over several, in OpenBLAS's own threads. Attention spends a good share of its time in the
element-wise steps, so the drivers in :mod:`attention_ref.attention` and
:mod:`attention_ref.blockwise` cut the work into independent tiles and run them in Python threads:
NumPy releases the GIL inside its loops, so the threads really run side by side.

Meanwhile BLAS is pinned to one thread (with ``threadpoolctl``), so that the two kinds of threads do
not fight over the cores. The matrix products of the projections go through :func:`matmul`, which
splits the rows over the same threads, so that OpenBLAS's own threads are never woken: after a
multi-threaded product they keep spinning for a while and would slow the tiles that follow.

Without ``threadpoolctl`` (an optional dependency) the tiles run one after the other and
:func:`matmul` is NumPy's ``@``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

try:
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - exercised only where threadpoolctl is missing
    ThreadpoolController = None

__all__ = ["MAX_THREADS", "available_threads", "matmul", "one_blas_thread", "run_tiles"]

#: Upper bound on the threads used (None: one per core this process may run on).
MAX_THREADS: int | None = None

#: Below this many multiply-adds, :func:`matmul` does not split the work.
MIN_SPLIT_WORK = 1 << 22

_REGION = threading.RLock()  # held while BLAS is pinned to one thread
_BUSY = threading.Lock()  # held while tiles run: a nested or concurrent run_tiles runs serially
_STATE: dict[str, object] = {"depth": 0}  # pool, BLAS controller (made on first use), nesting depth


def _blas():
    if "blas" not in _STATE:
        _STATE["blas"] = ThreadpoolController().select(user_api="blas")
    return _STATE["blas"]


def _blas_threads() -> int:
    """The threads BLAS may use as set outside (``OPENBLAS_NUM_THREADS``, ``threadpool_limits``, ...)."""
    if _STATE["depth"]:  # inside our own region: what it was before we pinned it
        return _STATE["outer_threads"]
    return max((lib.num_threads for lib in _blas().lib_controllers), default=os.cpu_count() or 1)


def available_threads() -> int:
    """Threads the helpers use: one per usable core, but no more than BLAS may use and MAX_THREADS.

    So ``threadpoolctl.threadpool_limits(1)`` or ``OPENBLAS_NUM_THREADS=1`` keep attention on one
    core too. Always 1 without threadpoolctl.
    """
    if ThreadpoolController is None:
        return 1
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    n = min(n, _blas_threads())
    if MAX_THREADS is not None:
        n = min(n, MAX_THREADS)
    return max(1, n)


def _pool(n: int) -> ThreadPoolExecutor:
    if _STATE.get("workers", 0) < n - 1:
        old = _STATE.get("pool")
        if old is not None:
            old.shutdown(wait=False)
        _STATE["pool"] = ThreadPoolExecutor(max_workers=n - 1, thread_name_prefix="attention_ref")
        _STATE["workers"] = n - 1
    return _STATE["pool"]


def _forget_threads() -> None:  # a forked child inherits the objects but not the threads
    _STATE.clear()
    _STATE["depth"] = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_threads)


@contextlib.contextmanager
def one_blas_thread():
    """Pin BLAS to one thread for the duration (re-entrant; no-op without threadpoolctl)."""
    if ThreadpoolController is None:
        yield
        return
    with _REGION:
        if _STATE["depth"]:  # already pinned, further up this thread's calls
            yield
            return
        _STATE["outer_threads"] = _blas_threads()
        _STATE["depth"] = 1
        try:
            with _blas().limit(limits=1):
                yield
        finally:
            _STATE["depth"] = 0


def _run_share(fn, tiles) -> None:
    for tile in tiles:
        fn(*tile)


def run_tiles(fn, tiles) -> None:
    """Call ``fn(*tile)`` for every tile in ``tiles``, spread over the available threads.

    The tiles must be independent (each writes its own part of the result). The threads, the calling
    one included, take the next tile of the list whenever they are free, so that a thread slowed down
    (by another program on its core, or by costlier tiles) simply takes fewer. While tiles run, a call
    from inside a tile, or from another thread, runs its tiles serially in its own thread.
    """
    tiles = list(tiles)
    if not _BUSY.acquire(blocking=False):
        _run_share(fn, tiles)
        return
    try:
        with one_blas_thread():
            n = min(len(tiles), available_threads())
            if n <= 1:
                _run_share(fn, tiles)
                return
            pool = _pool(n)
            shared = iter(tiles)  # one iterator for all: next() hands each tile to one thread only
            futures = [pool.submit(_run_share, fn, shared) for _ in range(1, n)]
            try:
                _run_share(fn, shared)
            finally:
                for future in futures:
                    future.result()  # waits, and re-raises a worker's exception here
    finally:
        _BUSY.release()


def matmul(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """``x @ w (+ b)`` for ``x`` ``(..., n, d)``, ``w`` ``(d, m)``, ``b`` ``(m,)``; rows split over threads."""
    rows = x.reshape(-1, x.shape[-1])  # (N, d), N = all rows of all batch entries
    small = rows.shape[0] * w.shape[0] * w.shape[1] < MIN_SPLIT_WORK
    n = 1 if small else available_threads()  # (small products do not ask threadpoolctl)
    if n <= 1:
        y = x @ w
        if b is not None:
            y += b
        return y
    out = np.empty((rows.shape[0], w.shape[1]), dtype=np.result_type(x, w))  # (N, m)
    step = -(-rows.shape[0] // n)

    def part(r0):
        np.matmul(rows[r0 : r0 + step], w, out=out[r0 : r0 + step])
        if b is not None:
            out[r0 : r0 + step] += b

    run_tiles(part, ((r0,) for r0 in range(0, rows.shape[0], step)))
    return out.reshape(*x.shape[:-1], w.shape[1])
