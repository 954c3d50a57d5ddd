"""The thread helpers behind the tiles: row-split products, the shared tile queue, BLAS pinning."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import threadpoolctl

from attention_ref import _parallel


def test_matmul_splits_rows_exactly(rng, monkeypatch):
    monkeypatch.setattr(_parallel, "MIN_SPLIT_WORK", 0)
    monkeypatch.setattr(_parallel, "MAX_THREADS", 2)
    x, w, b = rng.normal(size=(3, 7, 5)), rng.normal(size=(5, 4)), rng.normal(size=4)
    np.testing.assert_allclose(_parallel.matmul(x, w), x @ w, rtol=1e-15, atol=0)
    np.testing.assert_allclose(_parallel.matmul(x, w, b), x @ w + b, rtol=1e-15, atol=1e-15)
    assert _parallel.matmul(x, w, b).shape == (3, 7, 4)


def test_run_tiles_runs_each_tile_once_and_reraises(monkeypatch):
    monkeypatch.setattr(_parallel, "MAX_THREADS", 2)
    seen, names = [], set()

    def record(i):
        seen.append(i)
        names.add(threading.current_thread().name)
        time.sleep(0.005)  # long enough that every thread gets tiles

    _parallel.run_tiles(record, [(i,) for i in range(10)])
    assert sorted(seen) == list(range(10))
    assert len(names) == min(2, _parallel.available_threads())

    def fail(i):
        if i == 3:
            raise ZeroDivisionError("tile 3")

    with pytest.raises(ZeroDivisionError, match="tile 3"):
        _parallel.run_tiles(fail, [(i,) for i in range(6)])


def test_threads_follow_the_blas_thread_limit(monkeypatch):
    monkeypatch.setattr(_parallel, "MAX_THREADS", None)
    names = set()
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):  # the user asks for one thread
        assert _parallel.available_threads() == 1
        _parallel.run_tiles(lambda i: names.add(threading.current_thread().name), [(i,) for i in range(8)])
    assert names == {threading.current_thread().name}
    outside = _parallel.available_threads()
    assert outside == min(len(os.sched_getaffinity(0)), max(i["num_threads"] for i in threadpoolctl.threadpool_info()
                                                          if i["user_api"] == "blas"))
    with _parallel.one_blas_thread():  # our own pinning does not count as the user's limit
        assert _parallel.available_threads() == outside


def test_run_tiles_nested_inside_a_tile_runs_serially(monkeypatch):
    monkeypatch.setattr(_parallel, "MAX_THREADS", 2)
    out = np.zeros((4, 5))

    def outer(i):
        def inner(j):
            out[i, j] = 10 * i + j

        _parallel.run_tiles(inner, [(j,) for j in range(5)])  # must not wait for the busy pool

    _parallel.run_tiles(outer, [(i,) for i in range(4)])
    np.testing.assert_array_equal(out, 10 * np.arange(4)[:, None] + np.arange(5))


def test_run_tiles_from_another_thread_while_tiles_run(monkeypatch):
    monkeypatch.setattr(_parallel, "MAX_THREADS", 2)
    out = np.zeros((3, 4))

    def outer(i):
        def inner(j):
            out[i, j] = 10 * i + j

        helper = threading.Thread(target=_parallel.run_tiles, args=(inner, [(j,) for j in range(4)]))
        helper.start()  # a second caller while the pool is busy: it runs its tiles in its own thread
        helper.join(timeout=10)
        assert not helper.is_alive()

    _parallel.run_tiles(outer, [(i,) for i in range(3)])
    np.testing.assert_array_equal(out, 10 * np.arange(3)[:, None] + np.arange(4))


def test_matmul_without_splitting_is_numpys_product(rng, monkeypatch):
    monkeypatch.setattr(_parallel, "MAX_THREADS", 1)
    x, w, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    np.testing.assert_array_equal(_parallel.matmul(x, w, b), x @ w + b)
