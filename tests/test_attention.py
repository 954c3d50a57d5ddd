from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attention_ref import causal_mask, padding_mask, scaled_dot_product_attention

from .conftest import to_torch

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
    tq, tk, tv = map(to_torch, (q, k, v))
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    tq, tk, tv = (t.expand(*batch, *t.shape[-2:]) for t in (tq, tk, tv))
    tm = None if mask is None else to_torch(mask)
    out = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, is_causal=causal, scale=scale)
    # torch does not return the weights: rebuild them the textbook way, independently of our code
    s = scale if scale is not None else 1 / np.sqrt(q.shape[-1])
    scores = tq @ tk.transpose(-1, -2) * s
    allowed = torch.ones(scores.shape, dtype=torch.bool)
    if causal:
        allowed = allowed & torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
    if tm is not None:
        allowed = allowed & tm
    weights = torch.softmax(scores.masked_fill(~allowed, -torch.inf), dim=-1)
    return out.numpy(), weights.numpy()


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
