"""Scaled dot-product attention against PyTorch: shapes, masks, dtypes, bad input, and the tiled path."""

from __future__ import annotations

import numpy as np
import pytest

from attention_ref import _core, causal_mask, padding_mask, scaled_dot_product_attention

from .torch_ref import sdpa, softmax_weights

SHAPES = [
    # (q batch, k/v batch, Lq, Lk, d_k, d_v)
    ((), (), 1, 1, 1, 1),
    ((), (), 4, 4, 8, 8),
    ((), (), 3, 7, 5, 2),
    ((2,), (2,), 6, 6, 4, 4),
    ((2, 3), (2, 3), 5, 9, 8, 6),
    ((2, 3), (1, 3), 5, 9, 8, 6),  # k, v broadcast over the batch
    ((4, 1), (1, 2), 3, 3, 4, 5),  # both broadcast
]


def torch_reference(q, k, v, mask=None, causal=False, scale=None):
    """torch's output, and the weights rebuilt the textbook way (torch does not return them)."""
    out = sdpa(q, k, v, mask, causal=causal, scale=scale).numpy()
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    qb = np.broadcast_to(q, (*batch, *q.shape[-2:]))
    return out, softmax_weights(qb, k, mask, causal=causal, scale=scale)


@pytest.mark.parametrize("qb,kb,Lq,Lk,d_k,d_v", SHAPES)
def test_matches_torch_unmasked(rng, qb, kb, Lq, Lk, d_k, d_v):
    q = rng.normal(size=(*qb, Lq, d_k))
    k = rng.normal(size=(*kb, Lk, d_k))
    v = rng.normal(size=(*kb, Lk, d_v))
    out, w = scaled_dot_product_attention(q, k, v)
    t_out, t_w = torch_reference(q, k, v)
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-13)
    np.testing.assert_allclose(w, t_w, rtol=0, atol=1e-14)


@pytest.mark.parametrize("Lq,Lk", [(1, 1), (5, 5), (3, 6), (6, 3)])
@pytest.mark.parametrize("scale", [None, 0.3])
def test_matches_torch_causal(rng, Lq, Lk, scale):
    q, k, v = rng.normal(size=(2, 2, Lq, 4)), rng.normal(size=(2, 2, Lk, 4)), rng.normal(size=(2, 2, Lk, 3))
    out, w = scaled_dot_product_attention(q, k, v, causal=True, scale=scale)
    t_out, t_w = torch_reference(q, k, v, causal=True, scale=scale)
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-13)
    np.testing.assert_allclose(w, t_w, rtol=0, atol=1e-14)


@pytest.mark.parametrize("mask_shape", [(5, 7), (1, 7), (2, 1, 5, 7), (2, 3, 5, 7), (3, 1, 7)])
def test_matches_torch_boolean_mask(rng, mask_shape):
    q, k, v = rng.normal(size=(2, 3, 5, 4)), rng.normal(size=(2, 3, 7, 4)), rng.normal(size=(2, 3, 7, 6))
    mask = rng.random(mask_shape) < 0.7
    mask[..., 0] = True  # no fully masked rows here: torch gives NaN for those
    out, w = scaled_dot_product_attention(q, k, v, mask=mask)
    t_out, t_w = torch_reference(q, k, v, mask=mask)
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-13)
    np.testing.assert_allclose(w, t_w, rtol=0, atol=1e-14)
    assert (w[np.broadcast_to(~mask, w.shape)] == 0).all()


def test_padding_and_causal_combined(rng):
    q = k = v = rng.normal(size=(3, 2, 6, 4))
    mask = padding_mask([6, 4, 2], 6)  # (3, 1, 1, 6)
    out, w = scaled_dot_product_attention(q, k, v, mask=mask, causal=True)
    t_out, t_w = torch_reference(q, k, v, mask=mask & causal_mask(6))
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-13)
    np.testing.assert_allclose(w, t_w, rtol=0, atol=1e-14)


def test_fully_masked_query_gets_zero_weights_and_output(rng):
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False
    out, w = scaled_dot_product_attention(q, k, v, mask=mask)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(w[1], 0.0)
    np.testing.assert_array_equal(out[1], 0.0)
    np.testing.assert_allclose(w[[0, 2]].sum(-1), 1.0)
    # torch 2.13's CPU scaled_dot_product_attention also returns 0 for that row, but the textbook
    # softmax over an all -inf row (torch.softmax) gives NaN weights; the other rows agree.
    t_out, t_w = torch_reference(q, k, v, mask=mask)
    assert np.isnan(t_w[1]).all()
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-13)
    np.testing.assert_allclose(w[[0, 2]], t_w[[0, 2]], rtol=0, atol=1e-14)


def test_rows_sum_to_one_and_weights_nonnegative(rng):
    _, w = scaled_dot_product_attention(*(rng.normal(size=(2, 4, 6, 8)) for _ in range(3)))
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-15)


def test_causal_outputs_ignore_later_tokens(rng):
    x = rng.normal(size=(7, 4))
    out, _ = scaled_dot_product_attention(x, x, x, causal=True)
    for i in range(7):
        y = x.copy()
        y[i + 1 :] = rng.normal(size=y[i + 1 :].shape)  # change every token after i
        out_y, _ = scaled_dot_product_attention(y, y, y, causal=True)
        np.testing.assert_array_equal(out_y[: i + 1], out[: i + 1])


def test_self_attention_is_permutation_equivariant(rng):
    x = rng.normal(size=(6, 4))
    perm = rng.permutation(6)
    out, w = scaled_dot_product_attention(x, x, x)
    out_p, w_p = scaled_dot_product_attention(x[perm], x[perm], x[perm])
    np.testing.assert_allclose(out_p, out[perm], atol=1e-14)
    np.testing.assert_allclose(w_p, w[perm][:, perm], atol=1e-14)


def test_extreme_scores_stay_finite():
    q = np.array([[1e4, 0.0]])
    k = np.array([[1e4, 0.0], [-1e4, 0.0]])
    v = np.array([[1.0], [2.0]])
    out, w = scaled_dot_product_attention(q, k, v)
    np.testing.assert_array_equal(w, [[1.0, 0.0]])
    np.testing.assert_array_equal(out, [[1.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(rng, dtype):
    q, k, v = (rng.normal(size=(2, 3, 4)).astype(dtype) for _ in range(3))
    out, w = scaled_dot_product_attention(q, k, v, causal=True)
    assert out.dtype == dtype and w.dtype == dtype


def test_float32_close_to_float64(rng):
    q, k, v = (rng.normal(size=(2, 5, 8)) for _ in range(3))
    out64, _ = scaled_dot_product_attention(q, k, v)
    out32, _ = scaled_dot_product_attention(*(a.astype(np.float32) for a in (q, k, v)))
    np.testing.assert_allclose(out32, out64, atol=1e-5)


def test_integer_input_computes_in_float64():
    out, w = scaled_dot_product_attention([[1, 0]], [[1, 0], [0, 1]], [[2, 0], [0, 2]])
    assert out.dtype == np.float64 and w.dtype == np.float64


def test_scale_argument(rng):
    q, k, v = (rng.normal(size=(3, 4)) for _ in range(3))
    out, _ = scaled_dot_product_attention(q, k, v, scale=1.0)
    t_out, _ = torch_reference(q, k, v, scale=1.0)
    np.testing.assert_allclose(out, t_out, atol=1e-13)


Q = np.zeros((2, 3, 4))
K = np.zeros((2, 5, 4))
V = np.zeros((2, 5, 6))


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(k=np.zeros((2, 5, 3))), ValueError, r"k has shape \(2, 5, 3\) but q's last axis is 4: k's last axis must equal d_k"),
        (dict(v=np.zeros((2, 4, 6))), ValueError, r"v has shape \(2, 4, 6\) but k has shape \(2, 5, 4\).*Lk = 5"),
        (dict(q=np.zeros(4)), ValueError, r"q must have at least 2 axes, got shape \(4,\)"),
        (dict(k=np.zeros((3, 5, 4)), v=np.zeros((3, 5, 6))), ValueError, "leading \\(batch\\) axes .* do not broadcast"),
        (dict(mask=np.ones((5, 3), dtype=bool)), ValueError, r"mask has shape \(5, 3\).*\(2, 3, 5\)"),
        (dict(mask=np.ones((4, 3, 5), dtype=bool)), ValueError, r"mask has shape \(4, 3, 5\), which does not broadcast"),
        (dict(mask=np.ones((3, 5))), TypeError, "mask must be a boolean array .* got dtype float64"),
        (dict(q=np.full((2, 3, 4), np.nan)), ValueError, "q contains NaN or infinity"),
        (dict(v=np.full((2, 5, 6), np.inf)), ValueError, "v contains NaN or infinity"),
        (dict(q=np.zeros((2, 3, 4), dtype=complex)), TypeError, "q must be a real numeric array.*complex128"),
        (dict(k=[[1, 2], [3]]), TypeError, "k could not be converted to an array"),
        (dict(q=np.zeros((2, 0, 4))), ValueError, "q has shape \\(2, 0, 4\\); its last two axes must not be empty"),
        (dict(scale=0.0), ValueError, "scale must be finite and non-zero"),
        (dict(scale="big"), TypeError, "scale must be a real number"),
        (dict(causal=1), TypeError, "causal must be True or False"),
        (dict(need_weights=0), TypeError, "need_weights must be True or False, got 0"),
        (dict(tiled="no"), TypeError, "tiled must be True or False, got 'no'"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = dict(q=Q, k=K, v=V) | kwargs
    with pytest.raises(exc, match=match):
        scaled_dot_product_attention(**args)


@pytest.mark.parametrize("dtype,big", [(np.float64, 1e200), (np.float32, 1e20)])
def test_finite_but_huge_inputs_raise_instead_of_nan(dtype, big):
    q = k = np.full((1, 2), big, dtype=dtype)
    with pytest.raises(ValueError, match=r"q and k are too large for float(32|64): scores could reach"):
        scaled_dot_product_attention(q, k, np.ones((1, 1), dtype=dtype))
    v = np.full((3, 1), np.finfo(dtype).max / 2, dtype=dtype)
    with pytest.raises(ValueError, match=r"v is too large for float(32|64): a sum of its 3 rows"):
        scaled_dot_product_attention(np.ones((1, 2), dtype), np.ones((3, 2), dtype), v)


def test_large_but_safe_inputs_pass():
    q = k = np.full((2, 2), 1e150)
    out, w = scaled_dot_product_attention(q, k, np.ones((2, 1)))
    assert np.isfinite(out).all() and np.isfinite(w).all()


# --- the tiled, multi-threaded path --------------------------------------------------------------------
@pytest.fixture
def small_tiles(monkeypatch):
    """Tiles of 4 KiB of scores, so that small inputs are cut into many tiles (ragged ones too)."""
    monkeypatch.setattr(_core, "TILE_BYTES", 4096)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask_shape", [None, (1, 40), (2, 1, 50, 40)])
def test_tiled_attention_matches_torch(rng, threads, small_tiles, causal, need_weights, mask_shape):
    q, k, v = rng.normal(size=(2, 3, 50, 8)), rng.normal(size=(1, 3, 40, 8)), rng.normal(size=(1, 3, 40, 5))
    mask = None if mask_shape is None else rng.random(mask_shape) < 0.7
    if mask is not None:
        mask[..., 0] = True
    out, w = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal, need_weights=need_weights)
    np.testing.assert_allclose(out, sdpa(q, k, v, mask, causal=causal).numpy(), rtol=0, atol=1e-13)
    if need_weights:  # the tiles fill the same weights as one call of the core on everything
        allowed = np.ones((50, 40), bool) if mask is None else mask
        _, w_ref = _core.attention(q, k, v, allowed & (causal_mask(50, 40) if causal else True))
        np.testing.assert_allclose(w, w_ref, rtol=0, atol=1e-15)
        assert w.shape == (2, 3, 50, 40)
    else:
        assert w is None


def test_tiled_and_untiled_agree(rng, monkeypatch):
    q, k, v = (rng.normal(size=(2, 2, 64, 16)) for _ in range(3))
    whole, w_whole = scaled_dot_product_attention(q, k, v, causal=True)  # 128 KiB of scores: one tile
    monkeypatch.setattr(_core, "TILE_BYTES", 2048)
    tiled, w_tiled = scaled_dot_product_attention(q, k, v, causal=True)  # 16 queries per tile
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-15)
    np.testing.assert_allclose(w_tiled, w_whole, rtol=0, atol=1e-16)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_tiled_false_computes_everything_at_once(rng, threads, small_tiles, monkeypatch, causal, need_weights):
    q, k, v = rng.normal(size=(2, 50, 8)), rng.normal(size=(2, 40, 8)), rng.normal(size=(2, 40, 3))
    mask = rng.random((50, 40)) < 0.7
    mask[:, 0] = True
    calls = []
    monkeypatch.setattr(_core, "run_tiles", lambda *a: calls.append(a))  # must not be reached
    out, w = scaled_dot_product_attention(q, k, v, mask, causal=causal, need_weights=need_weights, tiled=False)
    assert calls == []
    np.testing.assert_allclose(out, sdpa(q, k, v, mask, causal=causal).numpy(), rtol=0, atol=1e-13)
    monkeypatch.undo()
    monkeypatch.setattr(_core, "TILE_BYTES", 4096)
    tiled, w_tiled = scaled_dot_product_attention(q, k, v, mask, causal=causal, need_weights=need_weights)
    np.testing.assert_allclose(out, tiled, rtol=0, atol=1e-15)
    if need_weights:
        np.testing.assert_allclose(w, w_tiled, rtol=0, atol=1e-16)
    else:
        assert w is None and w_tiled is None


def test_need_weights_false_gives_the_same_output(rng):
    q, k, v = rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 9, 4)), rng.normal(size=(3, 9, 2))
    mask = rng.random((6, 9)) < 0.5
    mask[2] = False  # a query that sees nothing: output 0 either way
    out, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    fast, none = scaled_dot_product_attention(q, k, v, mask=mask, need_weights=False)
    assert none is None
    np.testing.assert_allclose(fast, out, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(fast[:, 2], 0.0)


def test_batch_axes_that_only_v_has(rng):
    q = k = rng.normal(size=(3, 4))
    v = rng.normal(size=(2, 3, 5))
    mask = np.ones((2, 3, 3), dtype=bool)
    mask[1, :, 0] = False
    out, w = scaled_dot_product_attention(q, k, v, mask=mask)
    assert out.shape == (2, 3, 5) and w.shape == (2, 3, 3)
    np.testing.assert_allclose(out, sdpa(q, k, v, mask).numpy(), rtol=0, atol=1e-13)
