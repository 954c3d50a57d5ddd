"""The checked functional gradients of attention_ref.training.backward: against autograd and finite differences.

Every function is compared with PyTorch's autograd in float64 (to 1e-10) and, at a few random entries,
with central differences of the forward. The layers' own ``backward`` methods, which call the same
kernels, are tested with their layers (tests/test_multihead.py, tests/test_transformer.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attention_ref import causal_mask, feed_forward, layer_norm, scaled_dot_product_attention, softmax
from attention_ref.training.backward import (
    attention_backward,
    cross_entropy,
    cross_entropy_backward,
    embedding_backward,
    feed_forward_backward,
    layer_norm_backward,
    linear_backward,
    softmax_backward,
)

from ..finite_differences import check_fd
from ..torch_ref import leaf, sdpa, to_torch

ATOL = 1e-10  # autograd and these formulas differ only by float64 rounding


def torch_grads(loss, *tensors):
    loss.backward()
    return [t.grad.numpy() for t in tensors]


# --- linear ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lead", [(5,), (2, 3), (2, 3, 4)])
def test_linear_matches_autograd(rng, lead):
    x, w, b = rng.normal(size=(*lead, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    dy = rng.normal(size=(*lead, 3))
    dx, dw, db = linear_backward(dy, x, w)
    tx, tw, tb = leaf(x), leaf(w), leaf(b)
    t_dx, t_dw, t_db = torch_grads(((tx @ tw + tb) * to_torch(dy)).sum(), tx, tw, tb)
    np.testing.assert_allclose(dx, t_dx, rtol=0, atol=ATOL)
    np.testing.assert_allclose(dw, t_dw, rtol=0, atol=ATOL)
    np.testing.assert_allclose(db, t_db, rtol=0, atol=ATOL)

    def loss():
        return float(((x @ w + b) * dy).sum())

    check_fd(loss, x, dx, rng)
    check_fd(loss, w, dw, rng)


# --- softmax -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_matches_autograd(rng, axis):
    x, dy = rng.normal(size=(3, 4, 5)) * 3, rng.normal(size=(3, 4, 5))
    y = softmax(x, axis=axis)
    dx = softmax_backward(dy, y, axis=axis)
    tx = leaf(x)
    (t_dx,) = torch_grads((torch.softmax(tx, dim=axis) * to_torch(dy)).sum(), tx)
    np.testing.assert_allclose(dx, t_dx, rtol=0, atol=ATOL)
    check_fd(lambda: float((softmax(x, axis=axis) * dy).sum()), x, dx, rng)


def test_softmax_masked_entries_get_zero_gradient(rng):
    x = rng.normal(size=(2, 4))
    x[0, 1] = x[1, :] = -np.inf  # one hidden entry; one row entirely hidden
    dx = softmax_backward(rng.normal(size=(2, 4)), softmax(x))
    assert dx[0, 1] == 0.0 and (dx[1] == 0.0).all()
    assert np.isfinite(dx).all()


# --- scaled dot-product attention -------------------------------------------------------------------
@pytest.mark.parametrize(
    "q_shape,k_shape,v_shape",
    [
        ((4, 3), (6, 3), (6, 5)),
        ((2, 3, 4, 8), (2, 3, 7, 8), (2, 3, 7, 2)),
        ((2, 1, 4, 3), (1, 5, 6, 3), (5, 6, 4)),  # leading axes broadcast
    ],
)
@pytest.mark.parametrize("masking", ["none", "causal", "padding"])
def test_attention_matches_autograd(rng, q_shape, k_shape, v_shape, masking):
    q, k, v = rng.normal(size=q_shape), rng.normal(size=k_shape), rng.normal(size=v_shape)
    Lq, Lk = q_shape[-2], k_shape[-2]
    masks = {"none": None, "causal": causal_mask(Lq, Lk), "padding": (np.arange(Lk) < Lk - 2)[None, :]}
    mask = masks[masking]
    out, w = scaled_dot_product_attention(q, k, v, mask)
    d_out = rng.normal(size=out.shape)
    dq, dk, dv = attention_backward(d_out, q, k, v, w)
    assert dq.shape == q.shape and dk.shape == k.shape and dv.shape == v.shape
    tq, tk, tv = leaf(q), leaf(k), leaf(v)
    t_out = sdpa(tq, tk, tv, mask)
    t_dq, t_dk, t_dv = torch_grads((t_out * to_torch(d_out)).sum(), tq, tk, tv)
    np.testing.assert_allclose(dq, t_dq, rtol=0, atol=ATOL)
    np.testing.assert_allclose(dk, t_dk, rtol=0, atol=ATOL)
    np.testing.assert_allclose(dv, t_dv, rtol=0, atol=ATOL)

    def loss():
        return float((scaled_dot_product_attention(q, k, v, mask)[0] * d_out).sum())

    for arr, grad in ((q, dq), (k, dk), (v, dv)):
        check_fd(loss, arr, grad, rng)


def test_attention_custom_scale_matches_autograd(rng):
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    out, w = scaled_dot_product_attention(q, k, v, scale=0.3)
    d_out = rng.normal(size=out.shape)
    dq, dk, dv = attention_backward(d_out, q, k, v, w, scale=0.3)
    tq, tk, tv = leaf(q), leaf(k), leaf(v)
    t_out = sdpa(tq, tk, tv, scale=0.3)
    theirs_all = torch_grads((t_out * to_torch(d_out)).sum(), tq, tk, tv)
    for ours, theirs in zip((dq, dk, dv), theirs_all, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL)


def test_attention_gradient_ignores_masked_keys(rng):
    """A key nobody may look at gets no gradient, and changing it changes nothing."""
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    mask = np.array([True, True, True, False, True])
    out, w = scaled_dot_product_attention(q, k, v, mask)
    _, dk, dv = attention_backward(np.ones_like(out), q, k, v, w)
    assert (dk[3] == 0).all() and (dv[3] == 0).all()


# --- layer norm, feed-forward, embedding ----------------------------------------------------------
@pytest.mark.parametrize("shape", [(6,), (4, 6), (2, 3, 6)])
def test_layer_norm_matches_autograd(rng, shape):
    x, gamma, beta = rng.normal(size=shape) * 2 + 1, rng.normal(size=6), rng.normal(size=6)
    dy = rng.normal(size=shape)
    dx, d_gamma, d_beta = layer_norm_backward(dy, x, gamma)
    tx, tg, tb = leaf(x), leaf(gamma), leaf(beta)
    t_y = F.layer_norm(tx, (6,), tg, tb, eps=1e-5)
    t_dx, t_dg, t_db = torch_grads((t_y * to_torch(dy)).sum(), tx, tg, tb)
    np.testing.assert_allclose(dx, t_dx, rtol=0, atol=ATOL)
    np.testing.assert_allclose(d_gamma, t_dg, rtol=0, atol=ATOL)
    np.testing.assert_allclose(d_beta, t_db, rtol=0, atol=ATOL)

    def loss():
        return float((layer_norm(x, gamma, beta) * dy).sum())

    check_fd(loss, x, dx, rng)
    check_fd(loss, gamma, d_gamma, rng)


def test_feed_forward_matches_autograd(rng):
    x = rng.normal(size=(2, 5, 4))
    w1, b1, w2, b2 = rng.normal(size=(4, 8)), rng.normal(size=8), rng.normal(size=(8, 4)), rng.normal(size=4)
    dy = rng.normal(size=x.shape)
    ours = feed_forward_backward(dy, x, w1, b1, w2)
    tensors = [leaf(a) for a in (x, w1, b1, w2, b2)]
    tx, tw1, tb1, tw2, tb2 = tensors
    t_y = torch.relu(tx @ tw1 + tb1) @ tw2 + tb2
    theirs = torch_grads((t_y * to_torch(dy)).sum(), *tensors)
    for name, a, b in zip(("dx", "dw1", "db1", "dw2", "db2"), ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=ATOL, err_msg=name)

    def loss():
        return float((feed_forward(x, w1, b1, w2, b2) * dy).sum())

    for arr, grad in zip((x, w1, b1, w2), ours[:4], strict=True):
        check_fd(loss, arr, grad, rng)


def test_embedding_matches_autograd(rng):
    table = rng.normal(size=(7, 3))
    ids = np.array([[1, 4, 4, 0], [6, 1, 1, 1]])
    dy = rng.normal(size=(2, 4, 3))
    d_table = embedding_backward(dy, ids, 7)
    tt = leaf(table)
    (t_d,) = torch_grads((F.embedding(torch.from_numpy(ids), tt) * to_torch(dy)).sum(), tt)
    np.testing.assert_allclose(d_table, t_d, rtol=0, atol=ATOL)
    assert (d_table[[2, 3, 5]] == 0).all()  # tokens that did not occur
    check_fd(lambda: float((table[ids] * dy).sum()), table, d_table, rng)


# --- cross-entropy -----------------------------------------------------------------------------------
@pytest.mark.parametrize("ignore_index", [-100, 0])
def test_cross_entropy_matches_torch(rng, ignore_index):
    logits = rng.normal(size=(3, 4, 6)) * 3
    targets = rng.integers(0, 6, size=(3, 4))
    targets[0, 0] = 2
    targets[2, 3] = ignore_index  # padding
    loss = cross_entropy(logits, targets, ignore_index)
    d_logits = cross_entropy_backward(logits, targets, ignore_index)
    tl = leaf(logits)
    t_targets = torch.from_numpy(targets).reshape(-1)
    t_loss = F.cross_entropy(tl.reshape(-1, 6), t_targets, ignore_index=ignore_index)
    (t_d,) = torch_grads(t_loss, tl)
    assert abs(loss - t_loss.item()) < 1e-13
    np.testing.assert_allclose(d_logits, t_d, rtol=0, atol=ATOL)
    assert (d_logits[2, 3] == 0).all()
    check_fd(lambda: cross_entropy(logits, targets, ignore_index), logits, d_logits, rng)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4]])
    assert cross_entropy(logits, np.array([0])) == 0.0
    assert cross_entropy(logits, np.array([1])) == pytest.approx(1e4)
    assert np.isfinite(cross_entropy_backward(logits, np.array([2]))).all()




# --- the kernels' edge cases ----------------------------------------------------------------------------
def test_attention_backward_with_broadcast_batch_sums_over_the_copies(rng):
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))  # k, v shared
    out, w = scaled_dot_product_attention(q, k, v)
    d_out = rng.normal(size=out.shape)
    dq, dk, dv = attention_backward(d_out, q, k, v, w)
    per_entry = [attention_backward(d_out[b], q[b], k, v, w[b]) for b in range(2)]
    np.testing.assert_allclose(dk, per_entry[0][1] + per_entry[1][1], rtol=0, atol=1e-14)
    np.testing.assert_allclose(dv, per_entry[0][2] + per_entry[1][2], rtol=0, atol=1e-14)
    np.testing.assert_allclose(dq, np.stack([e[0] for e in per_entry]), rtol=0, atol=1e-14)


def test_feed_forward_backward_passes_nothing_through_inactive_units():
    x = np.array([[1.0, -1.0]])
    _, _, db1, dw2, db2 = feed_forward_backward(np.ones((1, 2)), x, np.eye(2), np.zeros(2), np.ones((2, 2)))
    np.testing.assert_array_equal(db1, [2.0, 0.0])  # the second hidden unit was off
    np.testing.assert_array_equal(dw2[1], 0.0)
    np.testing.assert_array_equal(db2, [1.0, 1.0])


def test_layer_norm_backward_uses_eps(rng):
    x, gamma, dy = rng.normal(size=(3, 5)) * 1e-3, rng.normal(size=5), rng.normal(size=(3, 5))
    for eps in (1e-5, 1e-2):
        dx, _, _ = layer_norm_backward(dy, x, gamma, eps=eps)
        tx = leaf(x)
        (t_dx,) = torch_grads((F.layer_norm(tx, (5,), to_torch(gamma), eps=eps) * to_torch(dy)).sum(), tx)
        np.testing.assert_allclose(dx, t_dx, rtol=0, atol=ATOL)


# --- bad input -------------------------------------------------------------------------------------------
X, W = np.ones((2, 4)), np.ones((4, 3))
Q, K, V = np.ones((3, 4)), np.ones((5, 4)), np.ones((5, 2))
WTS = np.full((3, 5), 0.2)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: linear_backward(np.ones((2, 4)), X, W), ValueError, r"dy has shape \(2, 4\) but must have shape \(2, 3\)"),
        (lambda: linear_backward(np.ones((2, 3)), np.ones((2, 5)), W), ValueError, r"x has shape \(2, 5\) but must have shape \(2, 4\)"),
        (lambda: linear_backward(np.ones((2, 3)), X, np.ones(4)), ValueError, "w must have at least 2 axes"),
        (lambda: linear_backward(np.ones((2, 3)), X, np.ones((1, 4, 3))), ValueError, r"w has shape \(1, 4, 3\) but must be a \(d_in, d_out\) matrix"),
        (lambda: linear_backward(np.full((2, 3), np.nan), X, W), ValueError, "dy contains NaN"),
        (lambda: softmax_backward(np.ones(3), np.array(["a", "b", "c"])), TypeError, "y must be a real numeric array"),
        (lambda: softmax_backward(np.ones((2, 2)), np.ones((2, 2)) / 2, axis=2), ValueError, "axis 2 is out of range"),
        (lambda: softmax_backward(np.ones((2, 2)), np.ones((2, 2)) / 2, axis=0.5), TypeError, "axis must be an integer, got 0.5"),
        (lambda: softmax_backward(np.ones(3), np.ones(4) / 4), ValueError, r"dy has shape \(3,\) but must have shape \(4,\)"),
        (lambda: attention_backward(np.ones((3, 2)), Q, K, V, WTS.T), ValueError, r"weights has shape \(5, 3\) but must have shape \(3, 5\)"),
        (lambda: attention_backward(np.ones((3, 4)), Q, K, V, WTS), ValueError, r"d_out has shape \(3, 4\)"),
        (lambda: attention_backward(np.ones((3, 2)), Q, K[:, :3], V, WTS), ValueError, "do not fit"),
        (lambda: attention_backward(np.ones((2, 3, 2)), np.ones((2, 3, 4)), np.ones((3, 5, 4)), np.ones((3, 5, 2)), np.ones((2, 3, 5))), ValueError, "do not broadcast together"),
        (lambda: attention_backward(np.ones((3, 2)), Q, K, V, WTS, scale="big"), TypeError, "scale must be a real number"),
        (lambda: attention_backward(np.ones((3, 2)), Q, K, V, WTS, scale=np.nan), ValueError, "scale must be finite and non-zero"),
        (lambda: layer_norm_backward(np.ones((2, 4)), np.ones((2, 4)), np.ones(3)), ValueError, r"gamma has shape \(3,\)"),
        (lambda: layer_norm_backward(np.ones((2, 4)), np.ones((2, 4)), np.ones(4), eps=0.0), ValueError, "eps must be a positive finite number"),
        (lambda: layer_norm_backward(np.ones((2, 5)), np.ones((2, 4)), np.ones(4)), ValueError, r"dy has shape \(2, 5\)"),
        (lambda: feed_forward_backward(np.ones((2, 4)), np.ones((2, 4)), np.ones((4, 8)), np.ones(8), np.ones((8, 3))), ValueError, r"w2 has shape \(8, 3\)"),
        (lambda: feed_forward_backward(np.ones((2, 4)), np.ones((2, 4)), np.ones((3, 8)), np.ones(8), np.ones((8, 4))), ValueError, "w1 has shape"),
        (lambda: feed_forward_backward(np.ones((2, 4)), np.ones((2, 4)), np.ones((4, 8)), np.ones(4), np.ones((8, 4))), ValueError, r"b1 has shape \(4,\)"),
        (lambda: embedding_backward(np.ones((2, 3)), np.array([0.0, 1.0]), 4), TypeError, "ids must be an integer array"),
        (lambda: embedding_backward(np.ones((2, 3)), np.array([0, 4]), 4), ValueError, r"ids must lie in \[0, vocab_size = 4\)"),
        (lambda: embedding_backward(np.ones((3, 3)), np.array([0, 1]), 4), ValueError, r"dy has shape \(3, 3\)"),
        (lambda: embedding_backward(np.ones((2, 3)), np.array([0, 1]), 4.0), TypeError, "vocab_size must be a positive integer"),
        (lambda: cross_entropy(np.ones((2, 3)), np.array([0, 0]), ignore_index=0), ValueError, "every entry of targets equals ignore_index"),
        (lambda: cross_entropy_backward(np.ones((2, 3)), np.array([0, 3])), ValueError, r"targets must lie in \[0, 3\)"),
        (lambda: cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0])), TypeError, "targets must be an integer array"),
        (lambda: cross_entropy(np.ones((2, 3)), np.array([0, 1, 2])), ValueError, r"targets has shape \(3,\)"),
        (lambda: cross_entropy(np.ones((2, 3)), np.array([0, 1]), ignore_index="pad"), TypeError, "ignore_index must be an integer"),
        (lambda: cross_entropy(np.full((2, 3), np.inf), np.array([0, 1])), ValueError, "logits contains NaN or infinity"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
