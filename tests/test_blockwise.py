"""Blockwise attention (FlashAttention's online softmax) against dense attention and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from attention_ref import _parallel, blockwise_attention, causal_mask, padding_mask, scaled_dot_product_attention
from attention_ref.blockwise import _blockwise, online_softmax_steps
from attention_ref.book.pages import peak_bytes

from .torch_ref import sdpa

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
    np.testing.assert_allclose(out, sdpa(q, k, v, mask=mask, causal=causal).numpy(), rtol=0, atol=1e-13)


@pytest.mark.parametrize("scale", [0.3, -2.0])
def test_scale_matches_torch(rng, scale):
    q, k, v = rng.normal(size=(3, 10, 4)), rng.normal(size=(3, 12, 4)), rng.normal(size=(3, 12, 2))
    out = blockwise_attention(q, k, v, scale=scale, block_q=3, block_k=5)
    np.testing.assert_allclose(out, sdpa(q, k, v, scale=scale).numpy(), rtol=0, atol=1e-13)


def test_padding_and_causal_match_torch(rng):
    x = rng.normal(size=(3, 2, 10, 4))
    pad = padding_mask([10, 6, 1], 10)  # (3, 1, 1, 10)
    out = blockwise_attention(x, x, x, mask=pad, causal=True, block_q=3, block_k=4)
    np.testing.assert_allclose(out, sdpa(x, x, x, mask=pad & causal_mask(10)).numpy(), rtol=0, atol=1e-13)


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
        for j0, j1, m, s, a in online_softmax_steps(q, k, v, lambda j0, j1: None, 4)
    ]
    assert [(j0, j1) for j0, j1, *_ in steps] == [(0, 4), (4, 8), (8, 10)]
    for _, j1, m, s, a in steps:  # after each block: the softmax over the keys seen so far
        seen = scores[:, :j1]
        np.testing.assert_array_equal(m[:, 0], seen.max(axis=1))
        np.testing.assert_allclose(s[:, 0], np.exp(seen - m).sum(axis=1), rtol=1e-14)
        np.testing.assert_allclose(a, np.exp(seen - m) @ v[:j1], rtol=1e-13)
    _, _, m, s, a = steps[-1]
    np.testing.assert_allclose(a / s, scaled_dot_product_attention(q, k, v, scale=1.0)[0], rtol=0, atol=1e-14)


def test_online_softmax_steps_skip_hidden_blocks_and_mask_within_a_block(rng):
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(9, 4)), rng.normal(size=(9, 2))
    mask = rng.random((3, 9)) < 0.7
    mask[:, 3:6] = False  # the second block of keys is hidden from every query
    mask[:, 0] = True

    def visible(j0, j1):
        seen = mask[:, j0:j1]
        return False if not seen.any() else seen

    steps = [(j0, j1, s.copy(), a.copy()) for j0, j1, _, s, a in online_softmax_steps(q, k, v, visible, 3)]
    assert [(j0, j1) for j0, j1, *_ in steps] == [(0, 3), (6, 9)]  # the hidden block is not computed
    _, _, s, a = steps[-1]
    dense, _ = scaled_dot_product_attention(q, k, v, mask, scale=1.0)
    np.testing.assert_allclose(a / s, dense, rtol=0, atol=1e-14)


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


def test_huge_input_raises_instead_of_nan():
    q = k = np.full((4, 2), 1e200)
    with pytest.raises(ValueError, match="q and k are too large for float64"):
        blockwise_attention(q, k, np.ones((4, 1)))
