from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest
import torch

from attention_ref import (
    Decoder,
    DecoderLayer,
    DecoderOnlyTransformer,
    Encoder,
    EncoderLayer,
    KVCache,
    MultiHeadAttention,
    Transformer,
    causal_mask,
    padding_mask,
)

from .conftest import to_torch

ATOL = 1e-10  # the bound for the whole Transformer in float64
SIZES = [(8, 2, 16), (12, 3, 20), (16, 4, 32)]  # (d_model, n_heads, d_ff)


def randomise(module, rng):
    """Give every parameter of a torch module random values (biases and norms too); return them as NumPy."""
    sd = {}
    for key, value in module.state_dict().items():
        arr = rng.normal(scale=0.4, size=tuple(value.shape))
        if key.split(".")[-2].startswith("norm") and key.endswith("weight"):
            arr += 1.0  # layer-norm scales around 1
        sd[key] = arr
    module.load_state_dict({k: to_torch(v) for k, v in sd.items()})
    return sd


@contextlib.contextmanager
def no_nested_tensor_warning():
    """nn.Transformer warns that nested tensors are off when norm_first=True; that is expected."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="enable_nested_tensor is True", category=UserWarning)
        yield


def torch_encoder_layer(d, h, d_ff, norm_first):
    return torch.nn.TransformerEncoderLayer(
        d, h, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first
    ).eval()


def torch_decoder_layer(d, h, d_ff, norm_first):
    return torch.nn.TransformerDecoderLayer(
        d, h, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first
    ).eval()


def run(module, *args, **kwargs):
    with torch.no_grad():
        return module(*(to_torch(a) for a in args), **kwargs).numpy()


def torch_causal(L):
    return to_torch(~causal_mask(L))  # torch's boolean attn_mask: True = *not* allowed


def torch_padding(lengths, L):
    return to_torch(~padding_mask(lengths, L)[:, 0, 0, :])  # (batch, L), True = padding


# --- layers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("d,h,d_ff", SIZES)
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("masking", ["none", "causal", "padding"])
def test_encoder_layer_matches_torch(rng, d, h, d_ff, norm_first, masking):
    ref = torch_encoder_layer(d, h, d_ff, norm_first)
    ours = EncoderLayer.from_state_dict(randomise(ref, rng), n_heads=h, norm_first=norm_first)
    x = rng.normal(size=(3, 6, d))
    lengths = [6, 4, 1]
    if masking == "none":
        out, expected = ours(x), run(ref, x)
    elif masking == "causal":
        out, expected = ours(x, causal=True), run(ref, x, src_mask=torch_causal(6), is_causal=True)
    else:
        out = ours(x, mask=padding_mask(lengths, 6))
        expected = run(ref, x, src_key_padding_mask=torch_padding(lengths, 6))
    assert out.shape == x.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("d,h,d_ff", SIZES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(rng, d, h, d_ff, norm_first):
    ref = torch_decoder_layer(d, h, d_ff, norm_first)
    ours = DecoderLayer.from_state_dict(randomise(ref, rng), n_heads=h, norm_first=norm_first)
    tgt, memory, src_lengths = rng.normal(size=(3, 5, d)), rng.normal(size=(3, 7, d)), [7, 3, 5]
    out = ours(tgt, memory, memory_mask=padding_mask(src_lengths, 7))  # causal by default
    expected = run(
        ref,
        tgt,
        memory,
        tgt_mask=torch_causal(5),
        tgt_is_causal=True,
        memory_key_padding_mask=torch_padding(src_lengths, 7),
    )
    assert out.shape == tgt.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=ATOL)
    # causal=False is torch's default (no tgt_mask)
    np.testing.assert_allclose(ours(tgt, memory, causal=False), run(ref, tgt, memory), rtol=0, atol=ATOL)


# --- stacks ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("final_norm", [False, True])
def test_encoder_matches_torch(rng, final_norm):
    d, h, d_ff = 12, 3, 24
    norm = torch.nn.LayerNorm(d) if final_norm else None
    ref = torch.nn.TransformerEncoder(
        torch_encoder_layer(d, h, d_ff, False), 3, norm=norm, enable_nested_tensor=False
    ).eval()
    sd = randomise(ref, rng)
    ours = Encoder.from_state_dict(sd, n_heads=h)
    assert len(ours.layers) == 3 and (ours.gamma is not None) == final_norm
    x, lengths = rng.normal(size=(2, 5, d)), [5, 2]
    out = ours(x, mask=padding_mask(lengths, 5))
    expected = run(ref, x, src_key_padding_mask=torch_padding(lengths, 5))
    np.testing.assert_allclose(out, expected, rtol=0, atol=ATOL)


def test_decoder_matches_torch(rng):
    d, h, d_ff = 8, 2, 16
    ref = torch.nn.TransformerDecoder(
        torch_decoder_layer(d, h, d_ff, False), 2, norm=torch.nn.LayerNorm(d)
    ).eval()
    ours = Decoder.from_state_dict(randomise(ref, rng), n_heads=h)
    tgt, memory = rng.normal(size=(2, 4, d)), rng.normal(size=(2, 6, d))
    expected = run(ref, tgt, memory, tgt_mask=torch_causal(4), tgt_is_causal=True)
    np.testing.assert_allclose(ours(tgt, memory), expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("d,h,d_ff", SIZES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(rng, d, h, d_ff, norm_first):
    with no_nested_tensor_warning():
        ref = torch.nn.Transformer(d, h, 2, 3, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first)
    ref.eval()
    ref.encoder.use_nested_tensor = False  # keep padded positions as ordinary rows (and no prototype warning)
    ours = Transformer.from_state_dict(randomise(ref, rng), n_heads=h, norm_first=norm_first)
    assert (len(ours.encoder.layers), len(ours.decoder.layers)) == (2, 3)
    src, tgt = rng.normal(size=(3, 7, d)), rng.normal(size=(3, 5, d))
    src_len, tgt_len = [7, 5, 2], [5, 5, 3]
    src_pad = padding_mask(src_len, 7)
    out = ours(src, tgt, src_mask=src_pad, memory_mask=src_pad, tgt_mask=padding_mask(tgt_len, 5))
    expected = run(
        ref,
        src,
        tgt,
        tgt_mask=torch_causal(5),
        tgt_is_causal=True,
        src_key_padding_mask=torch_padding(src_len, 7),
        memory_key_padding_mask=torch_padding(src_len, 7),
        tgt_key_padding_mask=torch_padding(tgt_len, 5),
    )
    assert out.shape == tgt.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=ATOL)
    # encode/decode in two calls give the same thing
    memory = ours.encode(src, src_mask=src_pad)
    again = ours.decode(tgt, memory, memory_mask=src_pad, tgt_mask=padding_mask(tgt_len, 5))
    np.testing.assert_allclose(again, out, rtol=0, atol=1e-13)


def test_transformer_state_dict_round_trips_through_torch(rng):
    ours = Transformer(d_model=8, n_heads=2, n_encoder_layers=2, n_decoder_layers=1, d_ff=12, seed=3)
    ref = torch.nn.Transformer(8, 2, 2, 1, 12, dropout=0.0, batch_first=True).eval()
    sd = ours.state_dict()
    assert list(sd) == list(ref.state_dict())  # the same keys, in the same order
    ref.load_state_dict({k: to_torch(v) for k, v in sd.items()}, strict=True)
    src, tgt = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 3, 8))
    np.testing.assert_allclose(
        ours(src, tgt), run(ref, src, tgt, tgt_mask=torch_causal(3)), rtol=0, atol=ATOL
    )
    back = Transformer.from_state_dict(sd, n_heads=2)
    assert all(np.array_equal(back.state_dict()[k], v) for k, v in sd.items())


def test_unbatched_input_equals_a_batch_of_one(rng):
    model = Transformer(8, 2, 1, 2, seed=0)
    src, tgt = rng.normal(size=(5, 8)), rng.normal(size=(4, 8))
    out = model(src, tgt)
    assert out.shape == (4, 8)
    np.testing.assert_allclose(out, model(src[None], tgt[None])[0], rtol=0, atol=1e-14)


def test_float32_stays_float32(rng):
    model = Transformer(8, 2, 1, 1, seed=0)
    src, tgt = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 3, 8))
    out32 = model(src.astype(np.float32), tgt.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, model(src, tgt), rtol=0, atol=1e-4)


def test_decoder_output_ignores_later_target_tokens(rng):
    model = Transformer(8, 2, 1, 2, seed=1)
    src, tgt = rng.normal(size=(1, 5, 8)), rng.normal(size=(1, 6, 8))
    changed = tgt.copy()
    changed[:, 4:] = rng.normal(size=(1, 2, 8))
    a, b = model(src, tgt), model(src, changed)
    np.testing.assert_array_equal(a[:, :4], b[:, :4])
    assert not np.allclose(a[:, 4:], b[:, 4:])


# --- decoder-only stack and KV cache ---------------------------------------------------------------
def torch_decoder_only(d, h, d_ff, n_layers, norm_first, rng):
    ref = torch.nn.TransformerEncoder(
        torch_encoder_layer(d, h, d_ff, norm_first),
        n_layers,
        norm=torch.nn.LayerNorm(d),
        enable_nested_tensor=False,
    ).eval()
    return ref, randomise(ref, rng)


@pytest.mark.parametrize("d,h,d_ff", SIZES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_only_and_kv_cache_match_torch(rng, d, h, d_ff, norm_first):
    ref, sd = torch_decoder_only(d, h, d_ff, 3, norm_first, rng)
    ours = DecoderOnlyTransformer.from_state_dict(sd, n_heads=h, norm_first=norm_first)
    x = rng.normal(size=(2, 9, d))
    expected = run(ref, x, mask=torch_causal(9), is_causal=True)
    np.testing.assert_allclose(ours(x), expected, rtol=0, atol=ATOL)
    np.testing.assert_allclose(ours.forward_incremental(x), expected, rtol=0, atol=ATOL)


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


def test_decoder_only_output_ignores_later_tokens(rng):
    model = DecoderOnlyTransformer(n_layers=2, d_model=8, n_heads=2, seed=0)
    x = rng.normal(size=(1, 7, 8))
    changed = x.copy()
    changed[:, 5:] += 1.0
    np.testing.assert_array_equal(model(x)[:, :5], model(changed)[:, :5])


def test_kv_cache_bad_use(rng):
    model = DecoderOnlyTransformer(n_layers=2, d_model=8, n_heads=2, seed=0)
    with pytest.raises(TypeError, match="cache must be a KVCache from new_cache\\(\\), got dict"):
        model.step(rng.normal(size=(1, 1, 8)), {})
    with pytest.raises(ValueError, match="cache has 3 layers but this stack has 2"):
        model.step(rng.normal(size=(1, 1, 8)), KVCache(3))
    cache = model.new_cache()
    model.step(rng.normal(size=(2, 1, 8)), cache)
    with pytest.raises(
        ValueError, match="x_new has batch size 3 and dtype float64, but the cache holds batch"
    ):
        model.step(rng.normal(size=(3, 1, 8)), cache)
    with pytest.raises(ValueError, match=r"x_new has shape \(2, 1, 6\) but needs shape"):
        model.step(rng.normal(size=(2, 1, 6)), cache)
    with pytest.raises(ValueError, match="capacity must be a positive integer, got 0"):
        model.new_cache(capacity=0)


# --- bad input -------------------------------------------------------------------------------------
@pytest.fixture
def torch_sd(rng):
    ref = torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, batch_first=True)
    return randomise(ref, rng)


@pytest.mark.parametrize(
    "edit,match",
    [
        (
            lambda sd: sd.pop("decoder.layers.1.norm3.bias"),
            "params is missing the key 'decoder.layers.1.norm3.bias'",
        ),
        (lambda sd: sd.pop("encoder.norm.weight"), "missing the key 'encoder.norm.weight'"),
        (
            lambda sd: sd.update({"encoder.layers.0.extra": np.ones(2)}),
            r"params has unexpected keys \['encoder.layers.0.extra'\]",
        ),
        (
            lambda sd: sd.update({"decoder.layers.0.linear2.weight": np.ones((8, 15))}),
            r"params\['decoder.layers.0.linear2.weight'\] has shape \(8, 15\) but needs shape \(8, 16\)",
        ),
        (
            lambda sd: sd.update({"encoder.layers.1.norm1.weight": np.ones(9)}),
            r"params\['encoder.layers.1.norm1.weight'\] has shape \(9,\)",
        ),
        (
            lambda sd: sd.update(
                {
                    f"decoder.layers.1.self_attn.{k}": v
                    for k, v in MultiHeadAttention(12, 2).state_dict().items()
                }
            ),
            r"params\['decoder.layers.1.self_attn.in_proj_weight'\] is for d_model = 12, .* has 8",
        ),
        (
            lambda sd: sd.update({"encoder.layers.0.linear1.weight": np.ones((16, 7))}),
            r"params\['encoder.layers.0.linear1.weight'\] has shape \(16, 7\) but needs \(d_ff, d_model = 8",
        ),
        (
            lambda sd: [sd.pop(k) for k in list(sd) if k.startswith("decoder.")],
            "params has no key starting with 'decoder.layers.0.'",
        ),
        (
            lambda sd: sd.update({"encoder.layers.0.linear1.bias": np.full(16, np.nan)}),
            r"params\['encoder.layers.0.linear1.bias'\] contains NaN",
        ),
    ],
)
def test_transformer_state_dict_errors_name_the_key(torch_sd, edit, match):
    edit(torch_sd)
    with pytest.raises(ValueError, match=match):
        Transformer.from_state_dict(torch_sd, n_heads=2)


def test_state_dict_errors_for_layers_and_stacks(rng):
    layer_sd = randomise(torch_decoder_layer(8, 2, 16, False), rng)
    del layer_sd["multihead_attn.out_proj.bias"]
    with pytest.raises(ValueError, match=r"missing the key 'multihead_attn\.out_proj\.bias'"):
        DecoderLayer.from_state_dict(layer_sd, n_heads=2)
    enc_sd = randomise(torch_encoder_layer(8, 2, 16, False), rng)
    with pytest.raises(ValueError, match=r"params has no key starting with 'layers\.0\.'"):
        Encoder.from_state_dict(enc_sd, n_heads=2)  # a layer's dict is not a stack's
    with pytest.raises(ValueError, match="unexpected keys"):
        EncoderLayer.from_state_dict(enc_sd | {"norm3.weight": np.ones(8)}, n_heads=2)
    with pytest.raises(TypeError, match="params must be a dict"):
        EncoderLayer.from_state_dict([1, 2], n_heads=2)


def test_n_heads_must_divide_d_model(torch_sd):
    with pytest.raises(ValueError, match="d_model = 8 is not divisible by n_heads = 3"):
        Transformer.from_state_dict(torch_sd, n_heads=3)
    with pytest.raises(ValueError, match="d_model = 10 is not divisible by n_heads = 4"):
        Transformer(10, 4, 1, 1)
    with pytest.raises(ValueError, match="d_model = 6 is not divisible by n_heads = 4"):
        DecoderOnlyTransformer(2, 6, 4)


@pytest.mark.parametrize(
    "make,exc,match",
    [
        (lambda: EncoderLayer(8, 2, d_ff=0), ValueError, "d_ff must be a positive integer, got 0"),
        (lambda: Encoder(0, 8, 2), ValueError, "n_layers must be a positive integer, got 0"),
        (lambda: DecoderLayer(8, 2, eps=-1.0), ValueError, "eps must be a positive finite number, got -1.0"),
        (lambda: Transformer(8, 2, 1, 1, norm_first="yes"), TypeError, "norm_first must be True or False"),
        (lambda: Encoder(1, 8, 2, final_norm=1), TypeError, "final_norm must be True or False, got 1"),
    ],
)
def test_bad_options(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_bad_inputs_name_the_argument(rng):
    model = Transformer(8, 2, 1, 1, seed=0)
    src, tgt = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 3, 8))
    with pytest.raises(ValueError, match=r"src has shape \(2, 5, 6\) but needs shape .* d_model = 8"):
        model(rng.normal(size=(2, 5, 6)), tgt)
    with pytest.raises(ValueError, match=r"tgt has shape \(3, 3, 8\) and src has shape \(2, 5, 8\): their"):
        model(src, rng.normal(size=(3, 3, 8)))
    with pytest.raises(ValueError, match=r"tgt has shape \(3,\)|tgt must have at least 2 axes"):
        model(src, np.ones(3))
    with pytest.raises(ValueError, match="src contains NaN"):
        model(np.full((2, 5, 8), np.nan), tgt)
    with pytest.raises(TypeError, match="src_mask must be a boolean array"):
        model(src, tgt, src_mask=np.ones((5, 5)))
    with pytest.raises(ValueError, match=r"memory_mask has shape \(5, 3\), which does not broadcast"):
        model(src, tgt, memory_mask=np.ones((5, 3), bool))
    with pytest.raises(TypeError, match="tgt_causal must be True or False"):
        model(src, tgt, tgt_causal=None)
    with pytest.raises(ValueError, match=r"x has shape \(4, 9\) but needs shape"):
        EncoderLayer(8, 2)(np.ones((4, 9)))
    with pytest.raises(ValueError, match=r"memory has shape \(4, 7\)"):
        DecoderLayer(8, 2)(np.ones((3, 8)), np.ones((4, 7)))
    with pytest.raises(ValueError, match=r"mask has shape \(4, 4\), which does not .* \(2, 2, 5, 5\)"):
        DecoderOnlyTransformer(1, 8, 2)(src, mask=np.ones((4, 4), bool))
