from __future__ import annotations

import numpy as np
import pytest
import torch

from attention_ref import MultiHeadAttention, causal_mask, merge_heads, padding_mask, split_heads

from .conftest import to_torch


def make_pair(d_model, n_heads, rng, bias=True):
    """Our module and torch's, sharing random weights and biases."""
    ours = MultiHeadAttention(d_model, n_heads, bias=bias, seed=1)
    for name in ("b_q", "b_k", "b_v", "b_o") if bias else ():
        setattr(ours, name, rng.normal(size=d_model))
    theirs = torch.nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True)
    theirs.load_state_dict({k: to_torch(v) for k, v in ours.state_dict().items()})
    theirs.eval()
    return ours, theirs


def run_torch(mod, x, c, ours_mask=None):
    # torch.nn.MultiheadAttention's boolean attn_mask means True = *masked out*: invert ours
    B, Lq, Lk = x.shape[0], x.shape[1], c.shape[1]
    tm = None
    if ours_mask is not None:
        m = np.broadcast_to(ours_mask, (B, mod.num_heads, Lq, Lk)).reshape(B * mod.num_heads, Lq, Lk)
        tm = to_torch(~m)
    with torch.no_grad():
        out, w = mod(to_torch(x), to_torch(c), to_torch(c), attn_mask=tm, average_attn_weights=False)
    return out.numpy(), w.numpy()


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


def test_state_dict_roundtrip(rng):
    a, _ = make_pair(8, 2, rng)
    b = MultiHeadAttention.from_state_dict(a.state_dict(), n_heads=2)
    x = rng.normal(size=(4, 8))
    np.testing.assert_array_equal(a(x)[0], b(x)[0])


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: MultiHeadAttention(10, 3), ValueError, "d_model = 10 is not divisible by n_heads = 3"),
        (lambda: MultiHeadAttention(0, 1), ValueError, "d_model must be a positive integer"),
        (lambda: MultiHeadAttention(8, 2.0), TypeError, "n_heads must be a positive integer"),
        (lambda: MultiHeadAttention(8, 2)(np.zeros((3, 6))), ValueError, r"x has shape \(3, 6\) but needs shape .*d_model = 8"),
        (lambda: MultiHeadAttention(8, 2)(np.zeros((1, 2, 3, 8))), ValueError, r"x has shape \(1, 2, 3, 8\)"),
        (lambda: MultiHeadAttention(8, 2)(np.zeros((2, 3, 8)), np.zeros((3, 3, 8))), ValueError, "batch axes must match"),
        (lambda: MultiHeadAttention(8, 2)(np.zeros((2, 3, 8)), np.zeros((2, 4, 6))), ValueError, r"context has shape \(2, 4, 6\)"),
        (lambda: MultiHeadAttention(8, 2)(np.zeros((3, 8)), mask=np.ones((3, 4), dtype=bool)), ValueError, r"mask has shape \(3, 4\)"),
        (lambda: MultiHeadAttention(8, 2)(np.full((3, 8), np.nan)), ValueError, "x contains NaN"),
        (lambda: split_heads(np.zeros((3, 8)), 3), ValueError, "divisible by n_heads = 3"),
        (lambda: MultiHeadAttention.from_state_dict({}, 2), ValueError, "missing the key 'in_proj_weight'"),
        (lambda: MultiHeadAttention.from_state_dict([], 2), TypeError, "params must be a dict"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_state_dict_errors_name_the_key():
    sd = MultiHeadAttention(8, 2, seed=0).state_dict()
    bad = dict(sd, **{"out_proj.weight": np.zeros((8, 7))})
    with pytest.raises(ValueError, match=r"params\['out_proj.weight'\] has shape \(8, 7\) but needs shape \(8, 8\)"):
        MultiHeadAttention.from_state_dict(bad, 2)
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        MultiHeadAttention.from_state_dict(dict(sd, extra=np.zeros(1)), 2)


def test_huge_input_raises_instead_of_nan():
    mha = MultiHeadAttention(4, 2, seed=0)
    with pytest.raises(ValueError, match=r"x @ w_q and context @ w_k are too large for float64"):
        mha(np.full((3, 4), 1e300))
    mha.w_v, mha.w_o = np.ones((4, 4)), np.full((4, 4), 1e308)  # heads = 4: out = 16e308 = inf
    with pytest.raises(ValueError, match="the output projection overflowed float64"):
        mha(np.ones((3, 4)))
