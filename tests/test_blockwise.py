"""Blockwise attention (online softmax) and the tiled, multi-threaded path of dense attention."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc

import numpy as np
import pytest
import threadpoolctl
import torch
import torch.nn.functional as F

import attention_ref.attention as attention_module
from attention_ref import (
    MultiHeadAttention,
    _parallel,
    blockwise_attention,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
)
from attention_ref.blockwise import _blockwise, _online_softmax_steps

from .conftest import to_torch


def torch_sdpa(q, k, v, mask=None, causal=False, scale=None):
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    tq, tk, tv = (to_torch(a).expand(*batch, *a.shape[-2:]) for a in (q, k, v))
    if causal and mask is not None:  # torch takes one or the other
        mask, causal = mask & causal_mask(q.shape[-2], k.shape[-2]), False
    tm = None if mask is None else to_torch(mask)
    out = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, is_causal=causal, scale=scale)
    return out.numpy()


@pytest.fixture(params=[1, 2], ids=["serial", "threads"])
def threads(request, monkeypatch):
    """Run the test with the tiles in one thread, then spread over two."""
    monkeypatch.setattr(_parallel, "MAX_THREADS", request.param)
    return request.param


# --- blockwise_attention -----------------------------------------------------------------------------
SHAPES = [
    # (q batch, k/v batch, Lq, Lk, d_k, d_v)
    ((), (), 1, 1, 1, 1),
    ((), (), 7, 7, 4, 3),
    ((), (), 5, 19, 8, 2),  # Lq < Lk
    ((), (), 23, 6, 3, 5),  # Lq > Lk
    ((2, 3), (2, 3), 13, 17, 4, 4),
    ((2, 3), (1, 3), 9, 11, 4, 6),  # k, v broadcast over the batch
]
BLOCKS = [(1, 1), (4, 5), (8, 16), (64, 64)]  # ragged last blocks; blocks larger than the sequence


@pytest.mark.parametrize("qb,kb,Lq,Lk,d_k,d_v", SHAPES)
@pytest.mark.parametrize("block_q,block_k", BLOCKS)
@pytest.mark.parametrize("causal", [False, True])
def test_equals_dense_attention(rng, threads, qb, kb, Lq, Lk, d_k, d_v, block_q, block_k, causal):
    q = rng.normal(size=(*qb, Lq, d_k))
    k, v = rng.normal(size=(*kb, Lk, d_k)), rng.normal(size=(*kb, Lk, d_v))
    out = blockwise_attention(q, k, v, causal=causal, block_q=block_q, block_k=block_k)
    dense, _ = scaled_dot_product_attention(q, k, v, causal=causal)
    assert out.shape == dense.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, dense, rtol=0, atol=1e-12)


@pytest.mark.parametrize("mask_shape", [(9, 11), (1, 11), (2, 1, 9, 11), (3, 1, 11)])
@pytest.mark.parametrize("causal", [False, True])
def test_masks_match_dense_and_torch(rng, threads, mask_shape, causal):
    q, k, v = rng.normal(size=(2, 3, 9, 4)), rng.normal(size=(2, 3, 11, 4)), rng.normal(size=(2, 3, 11, 5))
    mask = rng.random(mask_shape) < 0.6
    mask[..., 0] = True  # every query keeps a key (torch gives NaN for a query without any)
    out = blockwise_attention(q, k, v, mask=mask, causal=causal, block_q=4, block_k=3)
    dense, _ = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
    np.testing.assert_allclose(out, dense, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out, torch_sdpa(q, k, v, mask=mask, causal=causal), rtol=0, atol=1e-13)


@pytest.mark.parametrize("scale", [0.3, -2.0])
def test_scale_matches_torch(rng, scale):
    q, k, v = rng.normal(size=(3, 10, 4)), rng.normal(size=(3, 12, 4)), rng.normal(size=(3, 12, 2))
    out = blockwise_attention(q, k, v, scale=scale, block_q=3, block_k=5)
    np.testing.assert_allclose(out, torch_sdpa(q, k, v, scale=scale), rtol=0, atol=1e-13)


def test_padding_and_causal_match_torch(rng):
    x = rng.normal(size=(3, 2, 10, 4))
    pad = padding_mask([10, 6, 1], 10)  # (3, 1, 1, 10)
    out = blockwise_attention(x, x, x, mask=pad, causal=True, block_q=3, block_k=4)
    np.testing.assert_allclose(out, torch_sdpa(x, x, x, mask=pad & causal_mask(10)), rtol=0, atol=1e-13)


def test_fully_masked_queries_give_zero(rng, threads):
    q, k, v = rng.normal(size=(6, 4)), rng.normal(size=(9, 4)), rng.normal(size=(9, 3))
    mask = rng.random((6, 9)) < 0.5
    mask[1] = False  # query 1 sees nothing
    mask[4:, :] = False  # the whole last query block (block_q=2) sees nothing
    mask[0, 0] = mask[2, 8] = mask[3, 3] = True
    out = blockwise_attention(q, k, v, mask=mask, block_q=2, block_k=4)
    dense, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[[1, 4, 5]], 0.0)
    np.testing.assert_allclose(out, dense, rtol=0, atol=1e-12)


def test_extreme_scores_stay_finite():
    # the maximum jumps from block to block by 2e4: the running sums are rescaled by exp(-2e4) = 0
    q = np.array([[1.0, 0.0]])
    k = np.array([[-1e4, 0.0], [1e4, 0.0], [0.0, 1.0]])
    v = np.array([[1.0], [2.0], [3.0]])
    out = blockwise_attention(q, k, v, block_k=1, scale=1.0)
    np.testing.assert_array_equal(out, [[2.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved_and_float32_close(rng, dtype):
    q, k, v = (rng.normal(size=(2, 20, 8)) for _ in range(3))
    out = blockwise_attention(*(a.astype(dtype) for a in (q, k, v)), block_q=6, block_k=7)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, scaled_dot_product_attention(q, k, v)[0], atol=1e-5)


def test_same_result_on_one_thread_and_on_two(rng, monkeypatch):
    q, k, v = (rng.normal(size=(2, 3, 40, 8)) for _ in range(3))
    monkeypatch.setattr(_parallel, "MAX_THREADS", 1)
    one = blockwise_attention(q, k, v, causal=True, block_q=8, block_k=8)
    monkeypatch.setattr(_parallel, "MAX_THREADS", 2)
    two = blockwise_attention(q, k, v, causal=True, block_q=8, block_k=8)
    np.testing.assert_array_equal(one, two)  # the same tiles, computed the same way


def count_live_tiles(Lq, Lk, block_q, block_k, allowed):
    """Tiles with at least one visible (query, key) pair, counted from the mask itself."""
    return sum(
        bool(allowed[..., i0 : i0 + block_q, j0 : j0 + block_k].any())
        for i0 in range(0, Lq, block_q)
        for j0 in range(0, Lk, block_k)
    )


@pytest.mark.parametrize(
    "Lq,Lk,block_q,block_k", [(16, 16, 4, 4), (10, 10, 3, 4), (7, 12, 2, 5), (12, 7, 5, 2)]
)
def test_causal_skips_the_tiles_above_the_diagonal(rng, Lq, Lk, block_q, block_k):
    q, k, v = rng.normal(size=(Lq, 4)), rng.normal(size=(Lk, 4)), rng.normal(size=(Lk, 3))
    blocks = dict(block_q=block_q, block_k=block_k)
    out, stats = blockwise_attention(q, k, v, causal=True, **blocks, return_stats=True)
    n_tiles = -(-Lq // block_q) * -(-Lk // block_k)
    live = count_live_tiles(Lq, Lk, block_q, block_k, np.tri(Lq, Lk, dtype=bool))
    assert stats == {"tiles": n_tiles, "computed": live, "skipped": n_tiles - live}
    assert stats["skipped"] > 0
    np.testing.assert_allclose(out, scaled_dot_product_attention(q, k, v, causal=True)[0], rtol=0, atol=1e-12)


def test_causal_skips_about_half_of_a_long_sequence(rng):
    x = rng.normal(size=(64, 4))
    _, stats = blockwise_attention(x, x, x, causal=True, block_q=8, block_k=8, return_stats=True)
    assert stats == {"tiles": 64, "computed": 36, "skipped": 28}  # 8 diagonal tiles + 28 below it


def test_wholly_masked_tiles_of_a_mask_are_skipped(rng):
    q, k, v = rng.normal(size=(2, 8, 4)), rng.normal(size=(2, 12, 4)), rng.normal(size=(2, 12, 3))
    pad = padding_mask([12, 5], 12)[:, 0]  # (2, 1, 12): the second sequence has 5 real keys
    _, stats = blockwise_attention(q, k, v, mask=pad, block_q=4, block_k=4, return_stats=True)
    allowed = np.broadcast_to(pad, (2, 8, 12))
    live = sum(count_live_tiles(8, 12, 4, 4, allowed[b]) for b in range(2))
    assert stats["tiles"] == 12 and stats["computed"] == live == 6 + 4  # 2 query blocks x (3 + 2 key blocks)


def peak_bytes(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_extra_memory_does_not_grow_with_the_number_of_keys(rng, monkeypatch):
    monkeypatch.setattr(_parallel, "MAX_THREADS", 1)  # one tile at a time: the peak is deterministic
    Lq, d, block_q, block_k = 64, 8, 16, 128
    q = rng.normal(size=(Lq, d))
    peaks = {}
    for Lk in (1024, 16384):
        k, v = rng.normal(size=(Lk, d)), rng.normal(size=(Lk, d))
        peaks[Lk] = peak_bytes(lambda k=k, v=v: _blockwise(q, k, v, None, 0.5, False, block_q, block_k))
    # 16 times the keys: the dense scores would grow by 15 * 64 * 1024 * 8 bytes = 7.5 MiB
    assert abs(peaks[16384] - peaks[1024]) < 4096
    # what is held: the output (4 KiB) and one tile of scores (16 KiB), plus small change
    assert peaks[16384] < 64 * 1024 < Lq * 16384 * 8
    # on two threads, two tiles at a time; the public function also checks its inputs (temporaries
    # the size of one input, here k's 1 MiB)
    monkeypatch.setattr(_parallel, "MAX_THREADS", 2)
    assert peak_bytes(lambda: blockwise_attention(q, k, v, block_q=block_q, block_k=block_k)) < 2 * k.nbytes


def test_online_softmax_steps_track_the_running_max_and_sum(rng):
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(10, 4)), rng.normal(size=(10, 2))
    scores = q @ k.T  # (3, 10)
    steps = [
        (j0, j1, m.copy(), s.copy(), a.copy())
        for j0, j1, m, s, a in _online_softmax_steps(q, k, v, lambda j0, j1: None, 4)
    ]
    assert [(j0, j1) for j0, j1, *_ in steps] == [(0, 4), (4, 8), (8, 10)]
    for _, j1, m, s, a in steps:  # after each block: the softmax over the keys seen so far
        seen = scores[:, :j1]
        np.testing.assert_array_equal(m[:, 0], seen.max(axis=1))
        np.testing.assert_allclose(s[:, 0], np.exp(seen - m).sum(axis=1), rtol=1e-14)
        np.testing.assert_allclose(a, np.exp(seen - m) @ v[:j1], rtol=1e-13)
    _, _, m, s, a = steps[-1]
    np.testing.assert_allclose(a / s, scaled_dot_product_attention(q, k, v, scale=1.0)[0], rtol=0, atol=1e-14)


Q = np.zeros((2, 3, 4))
K = np.zeros((2, 5, 4))
V = np.zeros((2, 5, 6))


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(k=np.zeros((2, 5, 3))), ValueError, r"k has shape \(2, 5, 3\) but q's last axis is 4"),
        (dict(v=np.zeros((2, 4, 6))), ValueError, r"v has shape \(2, 4, 6\) but k has shape \(2, 5, 4\)"),
        (dict(q=np.zeros(4)), ValueError, r"q must have at least 2 axes, got shape \(4,\)"),
        (dict(mask=np.ones((4, 3, 5), dtype=bool)), ValueError, r"mask has shape \(4, 3, 5\), which"),
        (dict(mask=np.ones((3, 5))), TypeError, "mask must be a boolean array .* got dtype float64"),
        (dict(v=np.full((2, 5, 6), np.nan)), ValueError, "v contains NaN or infinity"),
        (dict(causal=1), TypeError, "causal must be True or False, got 1"),
        (dict(return_stats="yes"), TypeError, "return_stats must be True or False"),
        (dict(block_q=0), ValueError, "block_q must be a positive integer, got 0"),
        (dict(block_k=2.5), TypeError, "block_k must be a positive integer, got 2.5"),
        (dict(scale=0.0), ValueError, "scale must be finite and non-zero"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = dict(q=Q, k=K, v=V) | kwargs
    with pytest.raises(exc, match=match):
        blockwise_attention(**args)


# --- the tiled, multi-threaded path of scaled_dot_product_attention ----------------------------------
@pytest.fixture
def small_tiles(monkeypatch):
    """Tiles of 4 KiB of scores, so that small inputs are cut into many tiles (ragged ones too)."""
    monkeypatch.setattr(attention_module, "TILE_BYTES", 4096)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask_shape", [None, (1, 40), (2, 1, 50, 40)])
def test_tiled_attention_matches_torch(rng, threads, small_tiles, causal, need_weights, mask_shape):
    q, k, v = rng.normal(size=(2, 3, 50, 8)), rng.normal(size=(1, 3, 40, 8)), rng.normal(size=(1, 3, 40, 5))
    mask = None if mask_shape is None else rng.random(mask_shape) < 0.7
    if mask is not None:
        mask[..., 0] = True
    out, w = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal, need_weights=need_weights)
    np.testing.assert_allclose(out, torch_sdpa(q, k, v, mask=mask, causal=causal), rtol=0, atol=1e-13)
    if need_weights:  # the tiles fill the same weights as one call of the core on everything
        allowed = np.ones((50, 40), bool) if mask is None else mask
        _, w_ref = attention_module._attention(q, k, v, allowed & (causal_mask(50, 40) if causal else True))
        np.testing.assert_allclose(w, w_ref, rtol=0, atol=1e-15)
        assert w.shape == (2, 3, 50, 40)
    else:
        assert w is None


def test_tiled_and_untiled_agree(rng, monkeypatch):
    q, k, v = (rng.normal(size=(2, 2, 64, 16)) for _ in range(3))
    whole, w_whole = scaled_dot_product_attention(q, k, v, causal=True)  # 128 KiB of scores: one tile
    monkeypatch.setattr(attention_module, "TILE_BYTES", 2048)
    tiled, w_tiled = scaled_dot_product_attention(q, k, v, causal=True)  # 16 queries per tile
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-15)
    np.testing.assert_allclose(w_tiled, w_whole, rtol=0, atol=1e-16)


def test_need_weights_false_gives_the_same_output(rng):
    q, k, v = rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 9, 4)), rng.normal(size=(3, 9, 2))
    mask = rng.random((6, 9)) < 0.5
    mask[2] = False  # a query that sees nothing: output 0 either way
    out, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    fast, none = scaled_dot_product_attention(q, k, v, mask=mask, need_weights=False)
    assert none is None
    np.testing.assert_allclose(fast, out, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(fast[:, 2], 0.0)


def test_need_weights_must_be_a_bool():
    with pytest.raises(TypeError, match="need_weights must be True or False, got 0"):
        scaled_dot_product_attention(Q, K, V, need_weights=0)


def test_batch_axes_that_only_v_has(rng):
    q = k = rng.normal(size=(3, 4))
    v = rng.normal(size=(2, 3, 5))
    mask = np.ones((2, 3, 3), dtype=bool)
    mask[1, :, 0] = False
    out, w = scaled_dot_product_attention(q, k, v, mask=mask)
    assert out.shape == (2, 3, 5) and w.shape == (2, 3, 3)
    np.testing.assert_allclose(out, torch_sdpa(q, k, v, mask=mask), rtol=0, atol=1e-13)


# --- multi-head attention on the same paths --------------------------------------------------------------
@pytest.mark.parametrize("context", [False, True])
def test_multihead_need_weights_false_and_split_projections(rng, threads, small_tiles, monkeypatch, context):
    monkeypatch.setattr(_parallel, "MIN_SPLIT_WORK", 0)  # split even these small products over the threads
    mha = MultiHeadAttention(16, 4, seed=0)
    x = rng.normal(size=(3, 20, 16))
    c = rng.normal(size=(3, 30, 16)) if context else None
    out, w = mha(x, c, causal=True)
    fast, none = mha(x, c, causal=True, need_weights=False)
    assert none is None and w.shape == (3, 4, 20, 30 if context else 20)
    np.testing.assert_allclose(fast, out, rtol=0, atol=1e-14)
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    theirs.load_state_dict({key: to_torch(val) for key, val in mha.state_dict().items()})
    cc = x if c is None else c
    hidden = ~causal_mask(20, cc.shape[1])  # torch's boolean attn_mask: True = hidden
    with torch.no_grad():
        t_out, _ = theirs(to_torch(x), to_torch(cc), to_torch(cc), attn_mask=to_torch(hidden))
    np.testing.assert_allclose(out, t_out.numpy(), rtol=0, atol=1e-13)


def test_multihead_flags_must_be_bools():
    mha = MultiHeadAttention(4, 2, seed=0)
    with pytest.raises(TypeError, match="need_weights must be True or False, got None"):
        mha(np.ones((3, 4)), need_weights=None)


# --- the thread helpers --------------------------------------------------------------------------------
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


def test_huge_input_raises_instead_of_nan():
    from attention_ref import blockwise_attention

    q = k = np.full((4, 2), 1e200)
    with pytest.raises(ValueError, match="q and k are too large for float64"):
        blockwise_attention(q, k, np.ones((4, 1)))
