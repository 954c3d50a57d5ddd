"""Backward passes and Adam: against PyTorch autograd (float64) and by central finite differences."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attention_ref import MultiHeadAttention, causal_mask, padding_mask, scaled_dot_product_attention, softmax
from attention_ref.backward import (
    attention_backward,
    cross_entropy,
    cross_entropy_backward,
    embedding_backward,
    feed_forward_backward,
    layer_norm_backward,
    linear_backward,
    mha_backward,
    softmax_backward,
)
from attention_ref.layers import feed_forward, layer_norm
from attention_ref.optim import Adam, adam_update

from .conftest import to_torch

ATOL = 1e-10  # autograd and these formulas differ only by float64 rounding


def leaf(x):
    return to_torch(x).requires_grad_(True)


def torch_grads(loss, *tensors):
    loss.backward()
    return [t.grad.numpy() for t in tensors]


def central_difference(f, x, rng, n=6, h=1e-6):
    """(f(x + h e_i) - f(x - h e_i)) / 2h at ``n`` random entries ``i`` of ``x`` (changed, then restored)."""
    flat = x.reshape(-1)
    idx = rng.choice(flat.size, size=min(n, flat.size), replace=False)
    out = []
    for i in idx:
        old = flat[i]
        flat[i] = old + h
        up = f()
        flat[i] = old - h
        down = f()
        flat[i] = old
        out.append((up - down) / (2 * h))
    return idx, np.array(out)


def check_fd(f, x, grad, rng, rtol=1e-6, atol=1e-8):
    idx, numeric = central_difference(f, x, rng)
    np.testing.assert_allclose(grad.reshape(-1)[idx], numeric, rtol=rtol, atol=atol)


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
    t_mask = None if mask is None else torch.from_numpy(mask)
    t_out = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=t_mask)
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
    t_out = F.scaled_dot_product_attention(tq, tk, tv, scale=0.3)
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


# --- multi-head attention ---------------------------------------------------------------------------
def torch_mha(ours):
    mod = torch.nn.MultiheadAttention(ours.d_model, ours.n_heads, bias=ours.bias, batch_first=True)
    mod.load_state_dict({k: to_torch(v) for k, v in ours.state_dict().items()})
    return mod


@pytest.mark.parametrize("kind", ["self", "cross", "causal+padding"])
@pytest.mark.parametrize("d_model,n_heads,bias", [(8, 2, True), (12, 3, True), (6, 1, False)])
def test_mha_matches_autograd(rng, kind, d_model, n_heads, bias):
    ours = MultiHeadAttention(d_model, n_heads, bias=bias, seed=2)
    if bias:
        for name in ("b_q", "b_k", "b_v", "b_o"):
            setattr(ours, name, rng.normal(size=d_model))
    x = rng.normal(size=(3, 5, d_model))
    c = rng.normal(size=(3, 7, d_model)) if kind == "cross" else None
    mask = padding_mask([5, 3, 2], 5) & causal_mask(5) if kind == "causal+padding" else None
    out, w = ours(x, c, mask=mask)
    d_out = rng.normal(size=out.shape)
    dx, dc, grads = mha_backward(ours, d_out, x, c, w)

    mod = torch_mha(ours)
    tx = leaf(x)
    tc = tx if c is None else leaf(c)
    t_mask = None  # torch.nn.MultiheadAttention: True = masked out, one (Lq, Lk) mask per batch x head
    if mask is not None:
        t_mask = torch.from_numpy(~np.broadcast_to(mask, (3, n_heads, 5, 5)).reshape(-1, 5, 5))
    t_out, _ = mod(tx, tc, tc, attn_mask=t_mask, need_weights=False)
    ((t_out * to_torch(d_out)).sum()).backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=ATOL)
    if c is None:
        assert dc is None
    else:
        np.testing.assert_allclose(dc, tc.grad.numpy(), rtol=0, atol=ATOL)
    t_grads = {k: p.grad.numpy() for k, p in mod.named_parameters()}
    ours_grads = grads.state_dict()
    assert ours_grads.keys() == t_grads.keys()
    for key, g in ours_grads.items():
        np.testing.assert_allclose(g, t_grads[key], rtol=0, atol=ATOL, err_msg=key)

    def loss():
        return float((ours(x, c, mask=mask)[0] * d_out).sum())

    check_fd(loss, x, dx, rng)
    check_fd(loss, ours.w_k, grads.w_k, rng)
    check_fd(loss, ours.w_o, grads.w_o, rng)


def test_mha_backward_leaves_module_unchanged(rng):
    mha = MultiHeadAttention(4, 2, seed=0)
    before = copy.deepcopy(mha.state_dict())
    x = rng.normal(size=(1, 3, 4))
    out, w = mha(x)
    _, _, grads = mha_backward(mha, np.ones_like(out), x, weights=w)
    assert grads is not mha
    for k, v in mha.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


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


# --- Adam ----------------------------------------------------------------------------------------------
def test_adam_matches_torch(rng):
    params = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=5)}
    tparams = {k: torch.nn.Parameter(to_torch(v.copy())) for k, v in params.items()}
    opt = Adam(params, lr=0.01, betas=(0.8, 0.95), eps=1e-6)
    t_opt = torch.optim.Adam(tparams.values(), lr=0.01, betas=(0.8, 0.95), eps=1e-6)
    for step in range(20):
        grads = {k: rng.normal(size=v.shape) * (step + 1) for k, v in params.items()}
        if step == 10:
            opt.lr = t_opt.param_groups[0]["lr"] = 0.003  # a schedule changes lr between steps
        opt.step(grads)
        for k, p in tparams.items():
            p.grad = to_torch(grads[k])
        t_opt.step()
    for k, v in params.items():
        np.testing.assert_allclose(v, tparams[k].detach().numpy(), rtol=0, atol=1e-12)


def test_adam_update_is_pure(rng):
    p, g = rng.normal(size=3), rng.normal(size=3)
    p0 = p.copy()
    p1, m1, v1 = adam_update(p, g, 0.0, 0.0, step=1, lr=0.1)
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_allclose(p1, p0 - 0.1 * np.sign(g), rtol=1e-6)
    np.testing.assert_allclose(m1, 0.1 * g)
    np.testing.assert_allclose(v1, 0.001 * g * g)


# --- bad input ---------------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors(rng):
    x, w = rng.normal(size=(2, 4)), rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match=r"dy has shape \(2, 4\) but must have shape \(2, 3\)"):
        linear_backward(np.ones((2, 4)), x, w)
    with pytest.raises(ValueError, match=r"x has shape \(2, 5\) but must have shape \(2, 4\)"):
        linear_backward(np.ones((2, 3)), np.ones((2, 5)), w)
    with pytest.raises(ValueError, match="w must have at least 2 axes"):
        linear_backward(np.ones((2, 3)), x, np.ones(4))
    with pytest.raises(ValueError, match="dy contains NaN"):
        linear_backward(np.full((2, 3), np.nan), x, w)
    with pytest.raises(TypeError, match="y must be a real numeric array"):
        softmax_backward(np.ones(3), np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        softmax_backward(np.ones((2, 2)), np.ones((2, 2)) / 2, axis=2)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    _, wts = scaled_dot_product_attention(q, k, v)
    with pytest.raises(ValueError, match=r"weights has shape \(5, 3\) but must have shape \(3, 5\)"):
        attention_backward(np.ones((3, 2)), q, k, v, wts.T)
    with pytest.raises(ValueError, match=r"d_out has shape \(3, 4\)"):
        attention_backward(np.ones((3, 4)), q, k, v, wts)
    with pytest.raises(ValueError, match="do not fit"):
        attention_backward(np.ones((3, 2)), q, k[:, :3], v, wts)
    with pytest.raises(TypeError, match="scale must be"):
        attention_backward(np.ones((3, 2)), q, k, v, wts, scale="big")
    mha = MultiHeadAttention(4, 2, seed=0)
    xs = rng.normal(size=(1, 3, 4))
    with pytest.raises(TypeError, match="mha must be a MultiHeadAttention"):
        mha_backward("mha", np.ones((1, 3, 4)), xs, weights=np.ones((1, 2, 3, 3)))
    with pytest.raises(TypeError, match="weights is required"):
        mha_backward(mha, np.ones((1, 3, 4)), xs)
    with pytest.raises(ValueError, match=r"weights has shape \(1, 1, 3, 3\)"):
        mha_backward(mha, np.ones((1, 3, 4)), xs, weights=np.ones((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="d_model = 4"):
        mha_backward(mha, np.ones((1, 3, 5)), np.ones((1, 3, 5)), weights=np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"gamma has shape \(3,\)"):
        layer_norm_backward(np.ones((2, 4)), np.ones((2, 4)), np.ones(3))
    with pytest.raises(ValueError, match="eps must be a positive number"):
        layer_norm_backward(np.ones((2, 4)), np.ones((2, 4)), np.ones(4), eps=0.0)
    with pytest.raises(ValueError, match=r"w2 has shape \(8, 3\)"):
        feed_forward_backward(np.ones((2, 4)), np.ones((2, 4)), np.ones((4, 8)), np.ones(8), np.ones((8, 3)))
    with pytest.raises(ValueError, match="w1 has shape"):
        feed_forward_backward(np.ones((2, 4)), np.ones((2, 4)), np.ones((3, 8)), np.ones(8), np.ones((8, 4)))
    with pytest.raises(TypeError, match="ids must be an integer array"):
        embedding_backward(np.ones((2, 3)), np.array([0.0, 1.0]), 4)
    with pytest.raises(ValueError, match=r"ids must lie in \[0, vocab_size = 4\)"):
        embedding_backward(np.ones((2, 3)), np.array([0, 4]), 4)
    with pytest.raises(ValueError, match=r"dy has shape \(3, 3\)"):
        embedding_backward(np.ones((3, 3)), np.array([0, 1]), 4)
    with pytest.raises(ValueError, match="every target equals ignore_index"):
        cross_entropy(np.ones((2, 3)), np.array([0, 0]), ignore_index=0)
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 3\)"):
        cross_entropy_backward(np.ones((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="targets must be an integer array"):
        cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"targets has shape \(3,\)"):
        cross_entropy(np.ones((2, 3)), np.array([0, 1, 2]))


def test_adam_bad_inputs():
    with pytest.raises(ValueError, match="lr must be positive"):
        Adam({"w": np.zeros(2)}, lr=0.0)
    with pytest.raises(ValueError, match=r"beta2 must be in \[0, 1\)"):
        Adam({"w": np.zeros(2)}, betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="params must be a dict"):
        Adam([np.zeros(2)])
    opt = Adam({"w": np.zeros(2)})
    with pytest.raises(ValueError, match=r"missing \['w'\], extra \['v'\]"):
        opt.step({"v": np.zeros(2)})
    with pytest.raises(ValueError, match=r"grads\['w'\] has shape \(3,\)"):
        opt.step({"w": np.zeros(3)})
    with pytest.raises(ValueError, match=r"grads\['w'\] contains NaN"):
        opt.step({"w": np.array([np.nan, 0.0])})
    with pytest.raises(ValueError, match="step must be an integer >= 1"):
        adam_update(np.zeros(2), np.zeros(2), 0.0, 0.0, step=0)
    with pytest.raises(ValueError, match=r"g has shape \(3,\) but must have the shape of p"):
        adam_update(np.zeros(2), np.zeros(3), 0.0, 0.0, step=1)
