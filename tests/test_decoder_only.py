"""The decoder-only stack and its KV cache, against torch.nn.TransformerEncoder with a causal mask."""

from __future__ import annotations

import numpy as np
import pytest

from attention_ref import DecoderOnlyTransformer, KVCache, padding_mask

from . import torch_ref as ref
from .torch_ref import future, grads_of, leaf, like, no_grad_numpy, randomise, to_torch

ATOL = 1e-10
SIZES = [(8, 2, 16), (12, 3, 20), (16, 4, 32)]  # (d_model, n_heads, d_ff)


@pytest.mark.parametrize("d,h,d_ff", SIZES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_forward_and_kv_cache_match_torch(rng, d, h, d_ff, norm_first):
    theirs = ref.encoder(3, d, h, d_ff, final_norm=True, norm_first=norm_first).eval()
    ours = DecoderOnlyTransformer.from_state_dict(randomise(theirs, rng), n_heads=h, norm_first=norm_first)
    x = rng.normal(size=(2, 9, d))
    expected = no_grad_numpy(theirs, to_torch(x), mask=future(9), is_causal=True)
    np.testing.assert_allclose(ours(x), expected, rtol=0, atol=ATOL)
    np.testing.assert_allclose(ours.forward_incremental(x), expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("final_norm", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_backward_matches_autograd(rng, final_norm, norm_first):
    ours = DecoderOnlyTransformer(2, 8, 2, 16, final_norm=final_norm, norm_first=norm_first, seed=0)
    ours.load_state_dict({k: v + 0.3 * rng.normal(size=v.shape) for k, v in ours.state_dict().items()})
    theirs = like(ours)
    x, pad = rng.normal(size=(3, 6, 8)), padding_mask([6, 4, 2], 6)
    tape = {}
    out = ours(x, mask=pad, tape=tape)
    dy = rng.normal(size=out.shape)
    dx, grads = ours.backward(dy, tape)
    tx = leaf(x)
    t_out = ref.encoder_forward(theirs, tx, pad, causal=True)
    (t_out * to_torch(dy)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=ATOL)
    t_grads = grads_of(theirs)
    assert grads.keys() == ours.state_dict().keys() == t_grads.keys()
    for key, g in grads.items():
        np.testing.assert_allclose(g, t_grads[key], rtol=0, atol=ATOL, err_msg=key)


def test_kv_cache_prompt_then_tokens_equals_full_pass(rng):
    model = DecoderOnlyTransformer(n_layers=2, d_model=8, n_heads=2, final_norm=True, seed=0)
    x = rng.normal(size=(2, 11, 8))
    full = model(x)
    cache = model.new_cache(capacity=2)  # small on purpose: it has to grow
    rows = [model.step(x[:, :5], cache)]  # a 5-token prompt at once
    rows += [model.step(x[:, i : i + 1], cache) for i in range(5, 11)]
    assert cache.length == 11 and cache.capacity >= 11
    assert cache.keys[0].shape[:2] == (2, 2) and len(cache.values) == 2
    np.testing.assert_allclose(np.concatenate(rows, axis=1), full, rtol=0, atol=1e-12)
    # the cache holds exactly the keys of the first layer's projection of x
    k0 = (x @ model.layers[0].self_attn.w_k + model.layers[0].self_attn.b_k).reshape(2, 11, 2, 4)
    np.testing.assert_allclose(cache.keys[0][:, :, :11], k0.transpose(0, 2, 1, 3), rtol=0, atol=1e-13)


def test_kv_cache_unbatched_and_float32(rng):
    model = DecoderOnlyTransformer(n_layers=2, d_model=8, n_heads=4, seed=2)
    x = rng.normal(size=(6, 8))
    np.testing.assert_allclose(model.forward_incremental(x), model(x), rtol=0, atol=1e-12)
    out32 = model.forward_incremental(x.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, model(x), rtol=0, atol=1e-4)


def test_kv_cache_starts_empty_and_reports_itself():
    cache = DecoderOnlyTransformer(n_layers=3, d_model=8, n_heads=2, seed=0).new_cache(capacity=5)
    assert (cache.length, cache.capacity, cache.keys, cache.values) == (0, 5, [], [])
    assert repr(cache) == "KVCache(n_layers=3, length=0, capacity=5)"


def test_output_ignores_later_tokens(rng):
    model = DecoderOnlyTransformer(n_layers=2, d_model=8, n_heads=2, seed=0)
    x = rng.normal(size=(1, 7, 8))
    changed = x.copy()
    changed[:, 5:] += 1.0
    np.testing.assert_array_equal(model(x)[:, :5], model(changed)[:, :5])


def test_state_dict_is_a_torch_transformer_encoders(rng):
    ours = DecoderOnlyTransformer(2, 8, 2, 16, final_norm=True, seed=0)
    theirs = ref.encoder(2, 8, 2, 16, final_norm=True)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    ref.load(theirs, ours.state_dict())


@pytest.fixture
def model():
    return DecoderOnlyTransformer(n_layers=2, d_model=8, n_heads=2, seed=0)


def started(model, batch=2):
    cache = model.new_cache()
    model.step(np.ones((batch, 1, 8)), cache)
    return cache


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda m: m.step(np.ones((1, 1, 8)), {}), TypeError, r"cache must be a KVCache from new_cache\(\), got dict"),
        (lambda m: m.step(np.ones((1, 1, 8)), KVCache(3)), ValueError, "cache has 3 layers but this stack has 2"),
        (lambda m: m.step(np.ones((3, 1, 8)), started(m)), ValueError, "x_new has batch size 3 and dtype float64, but the cache holds batch"),
        (lambda m: m.step(np.ones((2, 1, 8), np.float32), started(m)), ValueError, "x_new has batch size 2 and dtype float32, but the cache holds"),
        (lambda m: m.step(np.ones((2, 1, 6)), started(m)), ValueError, r"x_new has shape \(2, 1, 6\) but needs shape"),
        (lambda m: m.step(np.full((2, 1, 8), np.nan), started(m)), ValueError, "x_new contains NaN"),
        (lambda m: m.new_cache(capacity=0), ValueError, "capacity must be a positive integer, got 0"),
        (lambda m: KVCache(0), ValueError, "n_layers must be a positive integer, got 0"),
        (lambda m: KVCache(2, capacity=2.0), TypeError, "capacity must be a positive integer"),
        (lambda m: m(np.ones((2, 5, 8)), mask=np.ones((4, 4), bool)), ValueError, r"mask has shape \(4, 4\), which does not .* \(2, 2, 5, 5\)"),
        (lambda m: m.forward_incremental(np.ones((5, 7))), ValueError, r"x has shape \(5, 7\)"),
        (lambda m: DecoderOnlyTransformer(2, 6, 4), ValueError, "d_model = 6 is not divisible by n_heads = 4"),
    ],
)
def test_bad_use(model, call, exc, match):
    with pytest.raises(exc, match=match):
        call(model)
