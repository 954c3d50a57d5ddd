"""The encoder-decoder Transformer's layers, stacks and model against torch.nn: forward, backward, state dicts."""

from __future__ import annotations

import numpy as np
import pytest

from attention_ref import (
    Decoder,
    DecoderLayer,
    Encoder,
    EncoderLayer,
    MultiHeadAttention,
    Transformer,
    causal_mask,
    padding_mask,
)

from . import torch_ref as ref
from .torch_ref import future, grads_of, key_padding, leaf, like, no_grad_numpy, randomise, to_torch

ATOL = 1e-10  # the whole Transformer in float64, forward and backward
SIZES = [(8, 2, 16), (12, 3, 20), (16, 4, 32)]  # (d_model, n_heads, d_ff)


def run(module, *args, **kwargs):
    return no_grad_numpy(module, *(to_torch(a) for a in args), **kwargs)


def assert_grads_match(grads, module, theirs):
    """Our gradients, keyed and shaped like our state dict, against the torch module's parameters' grads."""
    t_grads = grads_of(theirs)
    sd = module.state_dict()
    assert grads.keys() == sd.keys() == t_grads.keys()
    for key, g in grads.items():
        assert g.shape == sd[key].shape, key
        np.testing.assert_allclose(g, t_grads[key], rtol=0, atol=ATOL, err_msg=key)


def randomise_ours(module, rng):
    """Random values for every parameter of our module (biases and norms too), loaded into it."""
    sd = {k: rng.normal(scale=0.4, size=v.shape) + (1.0 if ".weight" in k and "norm" in k else 0.0)
          for k, v in module.state_dict().items()}
    module.load_state_dict(sd)
    return module


# --- layers: forward ---------------------------------------------------------------------------------
@pytest.mark.parametrize("d,h,d_ff", SIZES)
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("masking", ["none", "causal", "padding"])
def test_encoder_layer_matches_torch(rng, d, h, d_ff, norm_first, masking):
    theirs = ref.encoder_layer(d, h, d_ff, norm_first=norm_first).eval()
    ours = EncoderLayer.from_state_dict(randomise(theirs, rng), n_heads=h, norm_first=norm_first)
    x = rng.normal(size=(3, 6, d))
    lengths = [6, 4, 1]
    if masking == "none":
        out, expected = ours(x), run(theirs, x)
    elif masking == "causal":
        out, expected = ours(x, causal=True), run(theirs, x, src_mask=future(6), is_causal=True)
    else:
        out = ours(x, mask=padding_mask(lengths, 6))
        expected = run(theirs, x, src_key_padding_mask=key_padding(lengths, 6))
    assert out.shape == x.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("d,h,d_ff", SIZES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(rng, d, h, d_ff, norm_first):
    theirs = ref.decoder_layer(d, h, d_ff, norm_first=norm_first).eval()
    ours = DecoderLayer.from_state_dict(randomise(theirs, rng), n_heads=h, norm_first=norm_first)
    tgt, memory, src_lengths = rng.normal(size=(3, 5, d)), rng.normal(size=(3, 7, d)), [7, 3, 5]
    out = ours(tgt, memory, memory_mask=padding_mask(src_lengths, 7))  # causal by default
    expected = run(
        theirs, tgt, memory, tgt_mask=future(5), tgt_is_causal=True,
        memory_key_padding_mask=key_padding(src_lengths, 7),
    )
    assert out.shape == tgt.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=ATOL)
    # causal=False is torch's default (no tgt_mask)
    np.testing.assert_allclose(ours(tgt, memory, causal=False), run(theirs, tgt, memory), rtol=0, atol=ATOL)


# --- stacks: forward ---------------------------------------------------------------------------------
@pytest.mark.parametrize("final_norm", [False, True])
def test_encoder_matches_torch(rng, final_norm):
    d, h, d_ff = 12, 3, 24
    theirs = ref.encoder(3, d, h, d_ff, final_norm=final_norm).eval()
    ours = Encoder.from_state_dict(randomise(theirs, rng), n_heads=h)
    assert len(ours.layers) == 3 and (ours.gamma is not None) == final_norm
    x, lengths = rng.normal(size=(2, 5, d)), [5, 2]
    out = ours(x, mask=padding_mask(lengths, 5))
    expected = run(theirs, x, src_key_padding_mask=key_padding(lengths, 5))
    np.testing.assert_allclose(out, expected, rtol=0, atol=ATOL)


def test_decoder_matches_torch(rng):
    d, h, d_ff = 8, 2, 16
    theirs = ref.decoder(2, d, h, d_ff, final_norm=True).eval()
    ours = Decoder.from_state_dict(randomise(theirs, rng), n_heads=h)
    tgt, memory = rng.normal(size=(2, 4, d)), rng.normal(size=(2, 6, d))
    expected = run(theirs, tgt, memory, tgt_mask=future(4), tgt_is_causal=True)
    np.testing.assert_allclose(ours(tgt, memory), expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("d,h,d_ff", SIZES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(rng, d, h, d_ff, norm_first):
    theirs = ref.transformer(d, h, 2, 3, d_ff, norm_first=norm_first).eval()
    ours = Transformer.from_state_dict(randomise(theirs, rng), n_heads=h, norm_first=norm_first)
    assert (len(ours.encoder.layers), len(ours.decoder.layers)) == (2, 3)
    src, tgt = rng.normal(size=(3, 7, d)), rng.normal(size=(3, 5, d))
    src_len, tgt_len = [7, 5, 2], [5, 5, 3]
    src_pad = padding_mask(src_len, 7)
    out = ours(src, tgt, src_mask=src_pad, memory_mask=src_pad, tgt_mask=padding_mask(tgt_len, 5))
    expected = run(
        theirs, src, tgt, tgt_mask=future(5), tgt_is_causal=True,
        src_key_padding_mask=key_padding(src_len, 7),
        memory_key_padding_mask=key_padding(src_len, 7),
        tgt_key_padding_mask=key_padding(tgt_len, 5),
    )
    assert out.shape == tgt.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=ATOL)
    # encode/decode in two calls give the same thing
    memory = ours.encode(src, src_mask=src_pad)
    again = ours.decode(tgt, memory, memory_mask=src_pad, tgt_mask=padding_mask(tgt_len, 5))
    np.testing.assert_allclose(again, out, rtol=0, atol=1e-13)


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


# --- backward: against autograd ------------------------------------------------------------------------
@pytest.mark.parametrize("d,h,d_ff", SIZES[:2])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("masking", ["none", "causal", "padding", "padding+causal"])
def test_encoder_layer_backward_matches_autograd(rng, d, h, d_ff, norm_first, masking):
    ours = randomise_ours(EncoderLayer(d, h, d_ff, norm_first=norm_first, seed=0), rng)
    theirs = like(ours)
    x = rng.normal(size=(3, 6, d))
    mask = padding_mask([6, 4, 1], 6) if "padding" in masking else None
    causal = "causal" in masking
    tape = {}
    out = ours(x, mask=mask, causal=causal, tape=tape)
    dy = rng.normal(size=out.shape)
    dx, grads = ours.backward(dy, tape)
    tx = leaf(x)
    t_out = ref.encoder_forward(theirs, tx, mask, causal=causal)
    (t_out * to_torch(dy)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=ATOL)
    assert_grads_match(grads, ours, theirs)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("masking", ["causal+memory padding", "tgt mask, not causal", "none, not causal"])
@pytest.mark.parametrize("batched", [True, False])
def test_decoder_layer_backward_matches_autograd(rng, norm_first, masking, batched):
    d, h, d_ff = 12, 3, 20
    ours = randomise_ours(DecoderLayer(d, h, d_ff, norm_first=norm_first, seed=0), rng)
    theirs = like(ours)
    lead = (3,) if batched else ()
    tgt, memory = rng.normal(size=(*lead, 5, d)), rng.normal(size=(*lead, 7, d))
    tgt_mask = memory_mask = None
    causal = masking.startswith("causal")
    if masking == "causal+memory padding":
        memory_mask = padding_mask([7, 3, 5], 7) if batched else padding_mask([3], 7)[0]
    elif masking == "tgt mask, not causal":
        tgt_mask = rng.random((5, 5)) < 0.6
        tgt_mask[:, 0] = True
    tape = {}
    out = ours(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, causal=causal, tape=tape)
    dy = rng.normal(size=out.shape)
    d_tgt, d_memory, grads = ours.backward(dy, tape)
    tt, tm = leaf(tgt), leaf(memory)
    t_out = ref.decoder_forward(theirs, tt, tm, tgt_mask, memory_mask, causal=causal)
    (t_out * to_torch(dy)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=ATOL)
    assert d_tgt.shape == tgt.shape and d_memory.shape == memory.shape
    np.testing.assert_allclose(d_tgt, tt.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(d_memory, tm.grad.numpy(), rtol=0, atol=ATOL)
    assert_grads_match(grads, ours, theirs)


@pytest.mark.parametrize("final_norm", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_backward_matches_autograd(rng, final_norm, norm_first):
    ours = randomise_ours(Encoder(3, 8, 2, 16, final_norm=final_norm, norm_first=norm_first, seed=0), rng)
    theirs = like(ours)
    x, mask = rng.normal(size=(2, 5, 8)), padding_mask([5, 3], 5)
    tape = {}
    out = ours(x, mask=mask, tape=tape)
    dy = rng.normal(size=out.shape)
    dx, grads = ours.backward(dy, tape)
    tx = leaf(x)
    t_out = ref.encoder_forward(theirs, tx, mask)
    (t_out * to_torch(dy)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=ATOL)
    assert_grads_match(grads, ours, theirs)


@pytest.mark.parametrize("final_norm", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_backward_matches_autograd(rng, final_norm, norm_first):
    ours = randomise_ours(Decoder(2, 8, 2, 16, final_norm=final_norm, norm_first=norm_first, seed=0), rng)
    theirs = like(ours)
    tgt, memory, memory_mask = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 6, 8)), padding_mask([6, 2], 6)
    tape = {}
    out = ours(tgt, memory, memory_mask=memory_mask, tape=tape)
    dy = rng.normal(size=out.shape)
    d_tgt, d_memory, grads = ours.backward(dy, tape)
    tt, tm = leaf(tgt), leaf(memory)
    t_out = ref.decoder_forward(theirs, tt, tm, None, memory_mask)
    (t_out * to_torch(dy)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(d_tgt, tt.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(d_memory, tm.grad.numpy(), rtol=0, atol=ATOL)  # summed over every layer
    assert_grads_match(grads, ours, theirs)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "padding", "padding+tgt mask"])
def test_transformer_backward_matches_autograd(rng, norm_first, masks):
    ours = randomise_ours(Transformer(8, 2, 2, 2, 16, norm_first=norm_first, seed=0), rng)
    theirs = like(ours)
    src, tgt = rng.normal(size=(3, 6, 8)), rng.normal(size=(3, 4, 8))
    kw = {}
    if masks != "none":
        pad = padding_mask([6, 4, 2], 6)
        kw = {"src_mask": pad, "memory_mask": pad}
    if masks == "padding+tgt mask":
        kw["tgt_mask"] = padding_mask([4, 4, 2], 4)
    tape = {}
    out = ours(src, tgt, tape=tape, **kw)
    dy = rng.normal(size=out.shape)
    d_src, d_tgt, grads = ours.backward(dy, tape)
    ts, tt = leaf(src), leaf(tgt)
    t_out = ref.transformer_forward(theirs, ts, tt, **kw)
    (t_out * to_torch(dy)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(d_src, ts.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(d_tgt, tt.grad.numpy(), rtol=0, atol=ATOL)
    assert_grads_match(grads, ours, theirs)


def test_transformer_backward_unbatched_equals_a_batch_of_one(rng):
    model = randomise_ours(Transformer(8, 2, 1, 1, 16, seed=0), rng)
    src, tgt = rng.normal(size=(5, 8)), rng.normal(size=(3, 8))
    dy = rng.normal(size=(3, 8))
    t1, t2 = {}, {}
    model(src, tgt, tape=t1)
    model(src[None], tgt[None], tape=t2)
    (ds1, dt1, g1), (ds2, dt2, g2) = model.backward(dy, t1), model.backward(dy[None], t2)
    np.testing.assert_allclose(ds1, ds2[0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(dt1, dt2[0], rtol=0, atol=1e-13)
    for key in g1:
        np.testing.assert_allclose(g1[key], g2[key], rtol=0, atol=1e-13, err_msg=key)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_backward_by_central_differences(rng, norm_first):
    model = randomise_ours(Transformer(8, 2, 1, 1, 12, norm_first=norm_first, seed=0), rng)
    src, tgt = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 3, 8))
    pad = padding_mask([4, 2], 4)
    dy = rng.normal(size=tgt.shape)
    tape = {}
    model(src, tgt, src_mask=pad, memory_mask=pad, tape=tape)
    d_src, d_tgt, grads = model.backward(dy, tape)
    sd = model.state_dict()
    h = 1e-6

    def loss_at(key, i, delta):
        params = {k: v.copy() for k, v in sd.items()}
        params[key].reshape(-1)[i] += delta
        model.load_state_dict(params)
        return float((model(src, tgt, src_mask=pad, memory_mask=pad) * dy).sum())

    keys = ["encoder.layers.0.self_attn.in_proj_weight", "decoder.layers.0.multihead_attn.in_proj_bias",
            "decoder.layers.0.norm2.weight", "encoder.norm.bias", "decoder.layers.0.linear1.weight"]
    for key in keys:
        for i in rng.choice(sd[key].size, size=3, replace=False):
            numeric = (loss_at(key, i, h) - loss_at(key, i, -h)) / (2 * h)
            assert grads[key].reshape(-1)[i] == pytest.approx(numeric, rel=1e-6, abs=1e-8), key
    model.load_state_dict(sd)
    for x, g, name in ((src, d_src, "src"), (tgt, d_tgt, "tgt")):
        for i in rng.choice(x.size, size=3, replace=False):
            up, down = x.copy(), x.copy()
            up.reshape(-1)[i] += h
            down.reshape(-1)[i] -= h
            args = {"src": (up, tgt), "tgt": (src, up)}[name], {"src": (down, tgt), "tgt": (src, down)}[name]
            f = [float((model(*a, src_mask=pad, memory_mask=pad) * dy).sum()) for a in args]
            assert g.reshape(-1)[i] == pytest.approx((f[0] - f[1]) / (2 * h), rel=1e-6, abs=1e-8), name


def test_attention_records_are_the_attention_calls(rng):
    model = Transformer(8, 2, 2, 1, seed=0)
    src, tgt = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 3, 8))
    pad = padding_mask([5, 2], 5)
    tape = {}
    model(src, tgt, src_mask=pad, memory_mask=pad, tape=tape)
    records = Transformer.attention_records(tape)
    assert list(records) == ["encoder.layers.0.self_attn", "encoder.layers.1.self_attn",
                             "decoder.layers.0.self_attn", "decoder.layers.0.cross_attn"]
    shapes = {path: r["weights"].shape for path, r in records.items()}
    assert shapes["decoder.layers.0.cross_attn"] == (2, 2, 3, 5) and shapes["encoder.layers.1.self_attn"] == (2, 2, 5, 5)
    cross = records["decoder.layers.0.cross_attn"]
    assert (cross["weights"][1, :, :, 2:] == 0).all()  # padded source words get no attention
    # each record is what that attention computes from its recorded inputs
    _, w = model.decoder.layers[0].cross_attn(cross["x"], cross["context"], mask=pad)
    np.testing.assert_allclose(cross["weights"], w, rtol=0, atol=1e-15)
    dec_self = records["decoder.layers.0.self_attn"]
    assert (dec_self["weights"][..., np.triu_indices(3, 1)[0], np.triu_indices(3, 1)[1]] == 0).all()


@pytest.mark.parametrize(
    "tape,exc,match",
    [([], TypeError, "tape must be the dict given as tape= to a Transformer call"),
     ({}, ValueError, "tape must be the dict given as tape= to a Transformer call")],
)
def test_attention_records_bad_tape(tape, exc, match):
    with pytest.raises(exc, match=match):
        Transformer.attention_records(tape)


def call_with_tape(module, rng, tape):
    """Call a module of any kind on random inputs (batch 2, target length 3) with ``tape``."""
    if isinstance(module, (DecoderLayer, Decoder)):
        return module(rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 4, 8)), tape=tape)
    if isinstance(module, Transformer):
        return module(rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 3, 8)), tape=tape)
    return module(rng.normal(size=(2, 3, 8)), tape=tape)


MODULES = {
    "EncoderLayer": lambda: EncoderLayer(8, 2, 16, seed=0),
    "DecoderLayer": lambda: DecoderLayer(8, 2, 16, seed=0),
    "Encoder": lambda: Encoder(2, 8, 2, 16, final_norm=True, seed=0),
    "Decoder": lambda: Decoder(2, 8, 2, 16, seed=0),
    "Transformer": lambda: Transformer(8, 2, 1, 1, 16, seed=0),
}


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize(
    "dy,tape,exc,match",
    [
        (np.ones((2, 3, 7)), "filled", ValueError, r"dy has shape \(2, 3, 7\) but needs the shape of the forward's output, \(2, 3, 8\)"),
        (np.full((2, 3, 8), np.inf), "filled", ValueError, "dy contains NaN or infinity"),
        (np.ones((2, 3, 8), bool), "filled", TypeError, "dy must be a real numeric array"),
        (np.ones((2, 3, 8)), {}, ValueError, "tape holds no forward pass"),
        (np.ones((2, 3, 8)), "tape", TypeError, "tape must be the dict a forward call filled, got str"),
    ],
)
def test_backward_bad_input(rng, name, dy, tape, exc, match):
    module, filled = MODULES[name](), {}
    call_with_tape(module, rng, filled)
    with pytest.raises(exc, match=match):
        module.backward(dy, filled if tape == "filled" else tape)


@pytest.mark.parametrize("name", MODULES)
def test_forward_tape_must_be_a_dict(rng, name):
    module = MODULES[name]()
    with pytest.raises(TypeError, match=r"tape must be a dict \(or None\), got list"):
        call_with_tape(module, rng, [])


# --- state dicts ---------------------------------------------------------------------------------------
def test_transformer_state_dict_round_trips_through_torch(rng):
    ours = Transformer(d_model=8, n_heads=2, n_encoder_layers=2, n_decoder_layers=1, d_ff=12, seed=3)
    theirs = ref.transformer(8, 2, 2, 1, 12).eval()
    sd = ours.state_dict()
    assert sd.keys() == theirs.state_dict().keys()
    ref.load(theirs, sd)
    src, tgt = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 3, 8))
    np.testing.assert_allclose(ours(src, tgt), run(theirs, src, tgt, tgt_mask=future(3)), rtol=0, atol=ATOL)
    back = Transformer.from_state_dict(sd, n_heads=2)
    assert all(np.array_equal(back.state_dict()[k], v) for k, v in sd.items())


def test_state_dict_has_torchs_keys_in_torchs_order():
    mismatched = {}
    for name, make in MODULES.items():
        ours = make()
        ours_keys, their_keys = list(ours.state_dict()), list(like(ours).state_dict())
        if ours_keys != their_keys:
            first = next(i for i, (a, b) in enumerate(zip(ours_keys, their_keys, strict=True)) if a != b)
            mismatched[name] = (first, ours_keys[first], their_keys[first])
    assert not mismatched, f"(index, ours, torch's) of the first key out of order: {mismatched}"


@pytest.mark.parametrize("name", [*MODULES, "MultiHeadAttention"])
def test_from_state_dict_and_load_state_dict_draw_no_random_numbers(rng, monkeypatch, name):
    module = MultiHeadAttention(8, 2, seed=0) if name == "MultiHeadAttention" else MODULES[name]()
    sd = randomise_ours(module, rng).state_dict()

    def no_rng(*args, **kwargs):
        raise AssertionError("drew random numbers")

    monkeypatch.setattr(np.random, "default_rng", no_rng)
    again = type(module).from_state_dict(sd, n_heads=2)
    again.load_state_dict(sd)
    module.load_state_dict(sd)
    assert list(again.state_dict()) == list(sd)
    for key, value in sd.items():
        np.testing.assert_array_equal(again.state_dict()[key], value)


def test_load_state_dict_replaces_every_parameter(rng):
    a, b = Transformer(8, 2, 1, 2, 12, seed=0), Transformer(8, 2, 1, 2, 12, seed=1)
    src, tgt = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 3, 8))
    assert not np.allclose(a(src, tgt), b(src, tgt))
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(src, tgt), b(src, tgt))


def test_state_dict_of_the_layers_and_stacks_is_torchs(rng):
    for ours, theirs in [
        (EncoderLayer(8, 2, 16), ref.encoder_layer(8, 2, 16)),
        (DecoderLayer(8, 2, 16), ref.decoder_layer(8, 2, 16)),
        (Encoder(2, 8, 2, 16, final_norm=True), ref.encoder(2, 8, 2, 16, final_norm=True)),
        (Decoder(2, 8, 2, 16), ref.decoder(2, 8, 2, 16)),
    ]:
        assert ours.state_dict().keys() == theirs.state_dict().keys()
        for key, value in ours.state_dict().items():
            assert value.shape == tuple(theirs.state_dict()[key].shape), key


@pytest.fixture
def torch_sd(rng):
    return randomise(ref.transformer(8, 2, 2, 2, 16), rng)


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda sd: sd.pop("decoder.layers.1.norm3.bias"), "params is missing the key 'decoder.layers.1.norm3.bias'"),
        (lambda sd: sd.pop("encoder.norm.weight"), "missing the key 'encoder.norm.weight'"),
        (lambda sd: sd.update({"encoder.layers.0.extra": np.ones(2)}), r"params has unexpected keys \['encoder.layers.0.extra'\]"),
        (
            lambda sd: sd.update({"decoder.layers.0.linear2.weight": np.ones((8, 15))}),
            r"params\['decoder.layers.0.linear2.weight'\] has shape \(8, 15\) but needs shape \(8, 16\)",
        ),
        (lambda sd: sd.update({"encoder.layers.1.norm1.weight": np.ones(9)}), r"params\['encoder.layers.1.norm1.weight'\] has shape \(9,\)"),
        (
            lambda sd: sd.update(
                {f"decoder.layers.1.self_attn.{k}": v for k, v in MultiHeadAttention(12, 2).state_dict().items()}
            ),
            r"params\['decoder.layers.1.self_attn.in_proj_weight'\] is for d_model = 12, .* has 8",
        ),
        (
            lambda sd: sd.update({"encoder.layers.0.linear1.weight": np.ones((16, 7))}),
            r"params\['encoder.layers.0.linear1.weight'\] has shape \(16, 7\) but needs \(d_ff, d_model = 8",
        ),
        (lambda sd: [sd.pop(k) for k in list(sd) if k.startswith("decoder.")], "params has no key starting with 'decoder.layers.0.'"),
        (lambda sd: sd.update({"encoder.layers.0.linear1.bias": np.full(16, np.nan)}), r"params\['encoder.layers.0.linear1.bias'\] contains NaN"),
        (lambda sd: sd.pop("encoder.layers.0.self_attn.in_proj_bias"), r"missing the key 'encoder.layers.0.self_attn.in_proj_bias' \(layers without biases"),
    ],
)
def test_transformer_state_dict_errors_name_the_key(torch_sd, edit, match):
    edit(torch_sd)
    with pytest.raises(ValueError, match=match):
        Transformer.from_state_dict(torch_sd, n_heads=2)


def test_load_state_dict_errors_name_the_key(torch_sd):
    model = Transformer(8, 2, 2, 2, 16, seed=0)
    del torch_sd["decoder.norm.bias"]
    with pytest.raises(ValueError, match=r"params is missing the key 'decoder\.norm\.bias'"):
        model.load_state_dict(torch_sd)
    with pytest.raises(TypeError, match="params must be a dict of arrays"):
        model.load_state_dict([("decoder.norm.bias", np.zeros(8))])


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda sd: DecoderLayer.from_state_dict({k: v for k, v in sd["dec"].items() if k != "multihead_attn.out_proj.bias"}, n_heads=2),
         ValueError, r"missing the key 'multihead_attn\.out_proj\.bias'"),
        (lambda sd: Encoder.from_state_dict(sd["enc"], n_heads=2), ValueError, r"params has no key starting with 'layers\.0\.'"),
        (lambda sd: EncoderLayer.from_state_dict(sd["enc"] | {"norm3.weight": np.ones(8)}, n_heads=2), ValueError, "unexpected keys"),
        (lambda sd: EncoderLayer.from_state_dict([1, 2], n_heads=2), TypeError, "params must be a dict"),
        (lambda sd: EncoderLayer.from_state_dict(sd["enc"], n_heads=2, eps=0), ValueError, "eps must be a positive finite number"),
        (lambda sd: EncoderLayer.from_state_dict(sd["enc"], n_heads=2, norm_first=None), TypeError, "norm_first must be True or False"),
        (lambda sd: EncoderLayer.from_state_dict(sd["enc"], n_heads=0), ValueError, "n_heads must be a positive integer"),
    ],
)
def test_state_dict_errors_for_layers_and_stacks(rng, call, exc, match):
    sds = {"enc": randomise(ref.encoder_layer(8, 2, 16), rng), "dec": randomise(ref.decoder_layer(8, 2, 16), rng)}
    with pytest.raises(exc, match=match):
        call(sds)


# --- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make,exc,match",
    [
        (lambda sd: Transformer.from_state_dict(sd, n_heads=3), ValueError, "is for d_model = 8, which n_heads = 3 does not divide"),
        (lambda sd: Transformer(10, 4, 1, 1), ValueError, "d_model = 10 is not divisible by n_heads = 4"),
        (lambda sd: EncoderLayer(8, 2, d_ff=0), ValueError, "d_ff must be a positive integer, got 0"),
        (lambda sd: Encoder(0, 8, 2), ValueError, "n_layers must be a positive integer, got 0"),
        (lambda sd: DecoderLayer(8, 2, eps=-1.0), ValueError, "eps must be a positive finite number, got -1.0"),
        (lambda sd: Transformer(8, 2, 1, 1, norm_first="yes"), TypeError, "norm_first must be True or False"),
        (lambda sd: Encoder(1, 8, 2, final_norm=1), TypeError, "final_norm must be True or False, got 1"),
        (lambda sd: Transformer(8, 2, 0, 1), ValueError, "n_encoder_layers must be a positive integer, got 0"),
    ],
)
def test_bad_options(torch_sd, make, exc, match):
    with pytest.raises(exc, match=match):
        make(torch_sd)


SRC, TGT = np.ones((2, 5, 8)), np.ones((2, 3, 8))


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda m: m(np.ones((2, 5, 6)), TGT), ValueError, r"src has shape \(2, 5, 6\) but needs shape .* d_model = 8"),
        (lambda m: m(SRC, np.ones((3, 3, 8))), ValueError, r"tgt has shape \(3, 3, 8\) and src has shape \(2, 5, 8\): their"),
        (lambda m: m(SRC, np.ones((3, 8))), ValueError, r"tgt has shape \(3, 8\) and src has shape \(2, 5, 8\): their batch"),
        (lambda m: m(SRC, np.ones(3)), ValueError, "tgt must have at least 2 axes"),
        (lambda m: m(np.full((2, 5, 8), np.nan), TGT), ValueError, "src contains NaN"),
        (lambda m: m(SRC, TGT, src_mask=np.ones((5, 5))), TypeError, "src_mask must be a boolean array"),
        (lambda m: m(SRC, TGT, memory_mask=np.ones((5, 3), bool)), ValueError, r"memory_mask has shape \(5, 3\), which does not broadcast"),
        (lambda m: m(SRC, TGT, tgt_mask=np.ones((4, 4), bool)), ValueError, r"tgt_mask has shape \(4, 4\)"),
        (lambda m: m(SRC, TGT, tgt_causal=None), TypeError, "tgt_causal must be True or False"),
        (lambda m: m("src", TGT), TypeError, "src must be a real numeric array"),
        (lambda m: m.encode(np.ones((5, 9))), ValueError, r"src has shape \(5, 9\) but needs shape"),
        (lambda m: m.decode(TGT, np.ones((2, 4, 7))), ValueError, r"memory has shape \(2, 4, 7\)"),
        (lambda m: EncoderLayer(8, 2)(np.ones((4, 9))), ValueError, r"x has shape \(4, 9\) but needs shape"),
        (lambda m: EncoderLayer(8, 2)(np.ones((4, 8)), causal="no"), TypeError, "causal must be True or False"),
        (lambda m: EncoderLayer(8, 2)(np.ones((0, 8))), ValueError, r"x has shape \(0, 8\) but needs .* L >= 1"),
        (lambda m: DecoderLayer(8, 2)(np.ones((3, 8)), np.ones((4, 7))), ValueError, r"memory has shape \(4, 7\)"),
        (lambda m: DecoderLayer(8, 2)(np.ones((3, 8)), np.ones((4, 8)), memory_mask=np.ones((3, 3), bool)), ValueError, r"memory_mask has shape \(3, 3\)"),
        (lambda m: Decoder(1, 8, 2)(np.ones((3, 8)), np.ones((4, 8)), causal=0), TypeError, "causal must be True or False"),
        (lambda m: Encoder(1, 8, 2)(np.ones((2, 3, 8)), mask=np.ones((2, 3, 3), int)), TypeError, "mask must be a boolean array"),
    ],
)
def test_bad_inputs_name_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call(Transformer(8, 2, 1, 1, seed=0))


def test_causal_mask_of_the_package_is_torchs_future_mask():
    np.testing.assert_array_equal(~causal_mask(5), future(5).numpy())
