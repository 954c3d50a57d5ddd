"""Multi-head attention against torch.nn.MultiheadAttention: forward, backward (autograd), state dicts."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from attention_ref import MultiHeadAttention, _parallel, causal_mask, merge_heads, padding_mask, split_heads

from .finite_differences import check_fd
from .torch_ref import grads_of, leaf, like, mha_forward, no_grad_numpy

ATOL = 1e-10  # gradients: autograd and the package differ only by float64 rounding


def make_pair(d_model, n_heads, rng, bias=True):
    """Our module and torch's, sharing random weights and (non-zero) biases."""
    ours = MultiHeadAttention(d_model, n_heads, bias=bias, seed=1)
    for name in ("b_q", "b_k", "b_v", "b_o") if bias else ():
        setattr(ours, name, rng.normal(size=d_model))
    return ours, like(ours)


def run_torch(mod, x, c, mask=None, causal=False):
    return no_grad_numpy(mha_forward, mod, x, c, mask, causal=causal)


# --- forward -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("d_model,n_heads", [(4, 1), (8, 2), (12, 3), (16, 8)])
@pytest.mark.parametrize("bias", [True, False])
def test_self_attention_matches_torch(rng, d_model, n_heads, bias):
    ours, theirs = make_pair(d_model, n_heads, rng, bias)
    x = rng.normal(size=(3, 5, d_model))
    out, w = ours(x)
    t_out, t_w = run_torch(theirs, x, x)
    assert w.shape == (3, n_heads, 5, 5)
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-13)
    np.testing.assert_allclose(w, t_w, rtol=0, atol=1e-14)


def test_cross_attention_matches_torch(rng):
    ours, theirs = make_pair(8, 2, rng)
    x, c = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 7, 8))
    out, w = ours(x, c)
    t_out, t_w = run_torch(theirs, x, c)
    assert w.shape == (2, 2, 4, 7)
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-13)
    np.testing.assert_allclose(w, t_w, rtol=0, atol=1e-14)


def test_causal_and_padding_masks_match_torch(rng):
    ours, theirs = make_pair(8, 4, rng)
    x = rng.normal(size=(3, 6, 8))
    pad = padding_mask([6, 3, 1], 6)
    out, w = ours(x, mask=pad, causal=True)
    t_out, t_w = run_torch(theirs, x, x, pad & causal_mask(6))
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-13)
    np.testing.assert_allclose(w, t_w, rtol=0, atol=1e-14)


def test_unbatched_input(rng):
    ours, _ = make_pair(8, 2, rng)
    x = rng.normal(size=(5, 8))
    out, w = ours(x)
    out_b, w_b = ours(x[None])
    assert out.shape == (5, 8) and w.shape == (2, 5, 5)
    np.testing.assert_array_equal(out, out_b[0])
    np.testing.assert_array_equal(w, w_b[0])


def test_seed_is_deterministic():
    a, b, c = MultiHeadAttention(8, 2, seed=3), MultiHeadAttention(8, 2, seed=3), MultiHeadAttention(8, 2, seed=4)
    assert (a.w_v == b.w_v).all() and not (a.w_v == c.w_v).all()


def test_float32_in_float32_out(rng):
    mha = MultiHeadAttention(8, 2, seed=0)
    out, w = mha(rng.normal(size=(2, 3, 8)).astype(np.float32))
    assert out.dtype == np.float32 and w.dtype == np.float32


def test_causal_outputs_ignore_later_tokens(rng):
    mha = MultiHeadAttention(8, 2, seed=0)
    x = rng.normal(size=(6, 8))
    out, _ = mha(x, causal=True)
    y = x.copy()
    y[3:] += 1.0
    out_y, _ = mha(y, causal=True)
    np.testing.assert_array_equal(out_y[:3], out[:3])
    assert not np.allclose(out_y[3:], out[3:])


def test_permutation_equivariance(rng):
    ours, _ = make_pair(8, 2, rng)
    x = rng.normal(size=(6, 8))
    perm = rng.permutation(6)
    out, _ = ours(x)
    out_p, _ = ours(x[perm])
    np.testing.assert_allclose(out_p, out[perm], atol=1e-13)


def test_split_merge_roundtrip(rng):
    x = rng.normal(size=(2, 5, 12))
    h = split_heads(x, 3)
    assert h.shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(h[:, 1], x[..., 4:8])
    np.testing.assert_array_equal(merge_heads(h), x)


@pytest.mark.parametrize("context", [False, True])
def test_need_weights_false_and_split_projections(rng, threads, monkeypatch, context):
    monkeypatch.setattr("attention_ref._core.TILE_BYTES", 4096)  # many tiles
    monkeypatch.setattr(_parallel, "MIN_SPLIT_WORK", 0)  # split even these small products over the threads
    mha = MultiHeadAttention(16, 4, seed=0)
    x = rng.normal(size=(3, 20, 16))
    c = rng.normal(size=(3, 30, 16)) if context else None
    out, w = mha(x, c, causal=True)
    fast, none = mha(x, c, causal=True, need_weights=False)
    assert none is None and w.shape == (3, 4, 20, 30 if context else 20)
    np.testing.assert_allclose(fast, out, rtol=0, atol=1e-14)
    t_out, _ = run_torch(like(mha), x, c, causal=True)
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-13)


# --- backward ----------------------------------------------------------------------------------------
KINDS = ["self", "causal", "self+padding&causal mask", "cross", "cross+memory padding"]


def inputs(kind, rng, d_model, batched=True):
    lead = (3,) if batched else ()
    x = rng.normal(size=(*lead, 5, d_model))
    c = rng.normal(size=(*lead, 7, d_model)) if kind.startswith("cross") else None
    mask, causal = None, kind == "causal"
    if kind == "self+padding&causal mask":
        mask = padding_mask([5, 3, 2], 5) & causal_mask(5) if batched else causal_mask(5)
    elif kind == "cross+memory padding":
        mask = padding_mask([7, 4, 1], 7) if batched else padding_mask([4], 7)[0]
    return x, c, mask, causal


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("d_model,n_heads,bias", [(8, 2, True), (12, 3, True), (6, 1, False)])
@pytest.mark.parametrize("batched", [True, False])
def test_backward_matches_autograd(rng, kind, d_model, n_heads, bias, batched):
    ours, mod = make_pair(d_model, n_heads, rng, bias)
    x, c, mask, causal = inputs(kind, rng, d_model, batched)
    tape = {}
    out, w = ours(x, c, mask=mask, causal=causal, tape=tape)
    d_out = rng.normal(size=out.shape)
    dx, dc, grads = ours.backward(d_out, tape)

    tx = leaf(x)
    tc = None if c is None else leaf(c)
    t_out, t_w = mha_forward(mod, tx, tc, mask, causal=causal)
    (t_out * torch.from_numpy(d_out)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(w, t_w.detach().numpy(), rtol=0, atol=1e-13)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=ATOL)  # self: through q, k and v
    if c is None:
        assert dc is None
    else:
        assert dc.shape == c.shape
        np.testing.assert_allclose(dc, tc.grad.numpy(), rtol=0, atol=ATOL)
    t_grads = grads_of(mod)
    assert grads.keys() == ours.state_dict().keys() == t_grads.keys()
    for key, g in grads.items():
        assert g.shape == ours.state_dict()[key].shape
        np.testing.assert_allclose(g, t_grads[key], rtol=0, atol=ATOL, err_msg=key)


@pytest.mark.parametrize("kind", ["self+padding&causal mask", "cross"])
def test_backward_by_central_differences(rng, kind):
    ours, _ = make_pair(8, 2, rng)
    x, c, mask, causal = inputs(kind, rng, 8)
    tape = {}
    out, _ = ours(x, c, mask=mask, causal=causal, tape=tape)
    d_out = rng.normal(size=out.shape)
    dx, dc, grads = ours.backward(d_out, tape)

    def loss():
        return float((ours(x, c, mask=mask, causal=causal)[0] * d_out).sum())

    checks = [(x, dx), (ours.w_k, grads["in_proj_weight"][8:16].T), (ours.w_o, grads["out_proj.weight"].T),
              (ours.b_v, grads["in_proj_bias"][16:])]
    if c is not None:
        checks.append((c, dc))
    for arr, grad in checks:
        check_fd(loss, arr, grad, rng)


def test_backward_after_need_weights_false(rng):
    mha = MultiHeadAttention(8, 2, seed=0)
    x = rng.normal(size=(2, 4, 8))
    t_fast, t_full = {}, {}
    out_fast, none = mha(x, need_weights=False, tape=t_fast)  # the tape keeps the weights all the same
    out_full, _ = mha(x, tape=t_full)
    assert none is None
    np.testing.assert_allclose(out_fast, out_full, rtol=0, atol=1e-14)
    d_out = rng.normal(size=out_full.shape)
    for a, b in zip(mha.backward(d_out, t_fast)[::2], mha.backward(d_out, t_full)[::2], strict=True):
        if isinstance(a, dict):
            for k in a:
                np.testing.assert_allclose(a[k], b[k], rtol=0, atol=1e-13)
        else:
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)


def test_tape_records_the_forward(rng):
    mha = MultiHeadAttention(8, 2, seed=0)
    x, c = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 6, 8))
    tape = {}
    _, w = mha(x, c, tape=tape)
    assert set(tape) == {"x", "context", "q", "k", "v", "weights", "heads"}
    assert tape["q"].shape == (2, 2, 4, 4) and tape["k"].shape == tape["v"].shape == (2, 2, 6, 4)
    np.testing.assert_array_equal(tape["weights"], w)
    np.testing.assert_array_equal(tape["x"], x)
    np.testing.assert_array_equal(tape["context"], c)


def test_backward_leaves_the_module_unchanged(rng):
    mha = MultiHeadAttention(4, 2, seed=0)
    before = copy.deepcopy(mha.state_dict())
    tape = {}
    out, _ = mha(rng.normal(size=(1, 3, 4)), tape=tape)
    mha.backward(np.ones_like(out), tape)
    for k, v in mha.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize(
    "d_out,tape,exc,match",
    [
        (np.ones((1, 3, 5)), "filled", ValueError, r"d_out has shape \(1, 3, 5\) but needs the shape of the forward's output, \(1, 3, 4\)"),
        (np.full((1, 3, 4), np.nan), "filled", ValueError, "d_out contains NaN"),
        (np.ones((1, 3, 4), complex), "filled", TypeError, "d_out must be a real numeric array"),
        (np.ones((1, 3, 4)), {}, ValueError, "tape holds no forward pass"),
        (np.ones((1, 3, 4)), None, TypeError, "tape must be the dict a forward call filled, got NoneType"),
        (np.ones((1, 3, 4)), [], TypeError, "tape must be the dict a forward call filled, got list"),
    ],
)
def test_backward_bad_input(rng, d_out, tape, exc, match):
    mha = MultiHeadAttention(4, 2, seed=0)
    if tape == "filled":
        tape = {}
        mha(rng.normal(size=(1, 3, 4)), tape=tape)
    with pytest.raises(exc, match=match):
        mha.backward(d_out, tape)


# --- state dicts -------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_has_torchs_keys_in_torchs_order(bias):
    ours = MultiHeadAttention(8, 2, bias=bias, seed=0)
    theirs = torch.nn.MultiheadAttention(8, 2, bias=bias, batch_first=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in ours.state_dict().items():
        assert value.shape == tuple(theirs.state_dict()[key].shape), key


def test_state_dict_roundtrip(rng):
    a, _ = make_pair(8, 2, rng)
    b = MultiHeadAttention.from_state_dict(a.state_dict(), n_heads=2)
    x = rng.normal(size=(4, 8))
    np.testing.assert_array_equal(a(x)[0], b(x)[0])


def test_from_state_dict_takes_torch_tensors(rng):
    ours, theirs = make_pair(8, 2, rng)
    again = MultiHeadAttention.from_state_dict(theirs.state_dict(), n_heads=2)
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key], value)


def test_from_state_dict_and_load_state_dict_draw_no_random_numbers(rng, monkeypatch):
    sd = make_pair(8, 2, rng)[0].state_dict()

    def no_rng(*args, **kwargs):
        raise AssertionError("drew random numbers")

    monkeypatch.setattr(np.random, "default_rng", no_rng)
    mha = MultiHeadAttention.from_state_dict(sd, n_heads=2)
    mha.load_state_dict(sd)
    for key, value in sd.items():
        np.testing.assert_array_equal(mha.state_dict()[key], value)


def test_load_state_dict_replaces_the_weights_and_copies_them(rng):
    a, b = MultiHeadAttention(8, 2, seed=0), MultiHeadAttention(8, 2, seed=1)
    sd = a.state_dict()
    b.load_state_dict(sd)
    x = rng.normal(size=(3, 8))
    np.testing.assert_array_equal(a(x)[0], b(x)[0])
    sd["in_proj_weight"][:] = 0  # b holds copies
    assert (b.w_q != 0).any()


SD = MultiHeadAttention(8, 2, seed=0).state_dict()


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: MultiHeadAttention.from_state_dict(SD | {"out_proj.weight": np.zeros((8, 7))}, 2),
         r"params\['out_proj.weight'\] has shape \(8, 7\) but needs shape \(8, 8\)"),
        (lambda: MultiHeadAttention(8, 2).load_state_dict(SD | {"out_proj.weight": np.zeros((8, 7))}),
         r"params\['out_proj.weight'\] has shape \(8, 7\) but needs shape \(8, 8\)"),
        (lambda: MultiHeadAttention.from_state_dict(SD | {"extra": np.zeros(1)}, 2), r"unexpected keys \['extra'\]"),
        (lambda: MultiHeadAttention.from_state_dict(SD | {"in_proj_weight": np.zeros((16, 8))}, 2),
         r"params\['in_proj_weight'\] has shape \(16, 8\) but needs \(3 \* d_model, d_model\)"),
        (lambda: MultiHeadAttention.from_state_dict(SD, 3), r"is for d_model = 8, which n_heads = 3 does not divide"),
        (lambda: MultiHeadAttention(4, 2).load_state_dict(SD), r"params\['in_proj_weight'\] has shape \(24, 8\) but needs shape \(12, 4\)"),
    ],
)
def test_state_dict_errors_name_the_key(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: MultiHeadAttention(10, 3), ValueError, "d_model = 10 is not divisible by n_heads = 3"),
        (lambda: MultiHeadAttention(0, 1), ValueError, "d_model must be a positive integer"),
        (lambda: MultiHeadAttention(8, 2.0), TypeError, "n_heads must be a positive integer"),
        (lambda: MultiHeadAttention(8, 2, bias="no"), TypeError, "bias must be True or False"),
        (lambda: MultiHeadAttention(8, 2)(np.zeros((3, 6))), ValueError, r"x has shape \(3, 6\) but needs shape .*d_model = 8"),
        (lambda: MultiHeadAttention(8, 2)(np.zeros((1, 2, 3, 8))), ValueError, r"x has shape \(1, 2, 3, 8\)"),
        (lambda: MultiHeadAttention(8, 2)(np.zeros((2, 3, 8)), np.zeros((3, 3, 8))), ValueError, "batch axes must match"),
        (lambda: MultiHeadAttention(8, 2)(np.zeros((2, 3, 8)), np.zeros((2, 4, 6))), ValueError, r"context has shape \(2, 4, 6\)"),
        (lambda: MultiHeadAttention(8, 2)(np.zeros((3, 8)), mask=np.ones((3, 4), dtype=bool)), ValueError, r"mask has shape \(3, 4\)"),
        (lambda: MultiHeadAttention(8, 2)(np.full((3, 8), np.nan)), ValueError, "x contains NaN"),
        (lambda: MultiHeadAttention(4, 2)(np.ones((3, 4)), need_weights=None), TypeError, "need_weights must be True or False, got None"),
        (lambda: MultiHeadAttention(4, 2)(np.ones((3, 4)), causal="yes"), TypeError, "causal must be True or False"),
        (lambda: MultiHeadAttention(4, 2)(np.ones((3, 4)), tape=[]), TypeError, "tape must be a dict .*got list"),
        (lambda: split_heads(np.zeros((3, 8)), 3), ValueError, "divisible by n_heads = 3"),
        (lambda: split_heads(np.zeros(8), 2), ValueError, "it needs at least 2 axes"),
        (lambda: merge_heads(np.zeros((3, 8))), ValueError, r"it needs at least 3 axes \(\.\.\., n_heads, L, d_head\)"),
        (lambda: MultiHeadAttention.from_state_dict({}, 2), ValueError, "missing the key 'in_proj_weight'"),
        (lambda: MultiHeadAttention.from_state_dict([], 2), TypeError, "params must be a dict"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_huge_input_raises_instead_of_nan():
    mha = MultiHeadAttention(4, 2, seed=0)
    with pytest.raises(ValueError, match=r"x @ w_q and context @ w_k are too large for float64"):
        mha(np.full((3, 4), 1e300))
    mha.w_v, mha.w_o = np.ones((4, 4)), np.full((4, 4), 1e308)  # heads = 4: out = 16e308 = inf
    with pytest.raises(ValueError, match="the output projection overflowed float64"):
        mha(np.ones((3, 4)))
