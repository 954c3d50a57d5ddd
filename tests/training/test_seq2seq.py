"""The translation model (embeddings + Transformer + output map) against its PyTorch twin: forward, backward, state dict."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attention_ref import Transformer, padding_mask, positional_encoding
from attention_ref.training import BOS, EOS, PAD, Seq2Seq, Seq2SeqConfig
from attention_ref.training.seq2seq import check_ids

from ..torch_ref import Seq2Seq as TorchSeq2Seq
from ..torch_ref import grads_of, like, load

CFG = Seq2SeqConfig(src_vocab=9, tgt_vocab=8, d_model=8, n_heads=2, num_encoder_layers=2,
                    num_decoder_layers=2, dim_feedforward=12)


def toy_batch():
    src = np.array([[3, 4, 5, 6], [5, 3, 0, 0], [7, 7, 4, 0]])
    tgt_in = np.array([[1, 4, 3, 5], [1, 6, 0, 0], [1, 5, 5, 0]])
    tgt_out = np.array([[4, 3, 5, 2], [6, 2, 0, 0], [5, 5, 2, 0]])
    return src, tgt_in, tgt_out


def perturbed(cfg, seed=1):
    """A model whose biases and norms are not at their initial values, so that every formula is exercised."""
    model = Seq2Seq(cfg, seed=seed)
    rng = np.random.default_rng(5)
    sd = model.state_dict()
    model.load_state_dict({k: v + (0.1 * rng.normal(size=v.shape) if k.endswith("bias") or "norm" in k else 0)
                           for k, v in sd.items()})
    return model


def test_special_ids():
    assert (PAD, BOS, EOS) == (0, 1, 2)


def test_state_dict_has_the_torch_modules_keys_in_its_order():
    ours, theirs = Seq2Seq(CFG, seed=0).state_dict(), TorchSeq2Seq(CFG).state_dict()
    assert list(ours) == list(theirs)
    for key, value in ours.items():
        assert value.shape == tuple(theirs[key].shape), key
    assert list(ours)[:2] == ["src_embed.weight", "tgt_embed.weight"]
    assert list(ours)[-2:] == ["generator.weight", "generator.bias"]


@pytest.mark.parametrize("cfg", [CFG, Seq2SeqConfig(src_vocab=9, tgt_vocab=8, d_model=12, n_heads=4)])
def test_state_dict_loads_into_torch_with_equal_outputs(cfg):
    model = perturbed(cfg)
    src, tgt_in, _ = toy_batch()
    with torch.no_grad():
        expected = like(model)(src, tgt_in).numpy()
    np.testing.assert_allclose(model(src, tgt_in), expected, rtol=0, atol=1e-10)


def test_encode_then_decode_equals_the_call():
    model = perturbed(CFG)
    src, tgt_in, _ = toy_batch()
    memory, src_mask = model.encode(src)
    assert memory.shape == (3, 4, 8) and src_mask.shape == (3, 1, 1, 4)
    np.testing.assert_array_equal(src_mask[:, 0, 0], src != PAD)
    np.testing.assert_array_equal(model.source_mask(src), src_mask)
    np.testing.assert_allclose(model.decode(tgt_in, memory, src_mask), model(src, tgt_in), rtol=0, atol=1e-13)


def test_the_model_is_embeddings_plus_the_transformer_plus_a_linear_map():
    model = perturbed(CFG)
    src, tgt_in, _ = toy_batch()
    d = CFG.d_model
    x = model.src_embed[src] * np.sqrt(d) + positional_encoding(4, d)
    y = model.tgt_embed[tgt_in] * np.sqrt(d) + positional_encoding(4, d)
    keep = padding_mask((src != PAD).sum(axis=1), 4)
    out = model.transformer(x, y, src_mask=keep, memory_mask=keep)
    np.testing.assert_allclose(model(src, tgt_in), out @ model.w_out + model.b_out, rtol=0, atol=1e-13)
    assert isinstance(model.transformer, Transformer)


@pytest.mark.parametrize("cfg", [CFG, Seq2SeqConfig(src_vocab=9, tgt_vocab=8, d_model=12, n_heads=4)])
def test_backward_matches_autograd(cfg):
    model = perturbed(cfg)
    src, tgt_in, _ = toy_batch()
    d_logits = np.random.default_rng(7).normal(size=(3, 4, cfg.tgt_vocab))
    tape = {}
    logits = model(src, tgt_in, tape=tape)
    grads = model.backward(d_logits, tape)
    theirs = like(model)
    (theirs(src, tgt_in) * torch.from_numpy(d_logits)).sum().backward()
    t_grads = grads_of(theirs)
    assert logits.shape == d_logits.shape
    assert grads.keys() == model.state_dict().keys() == t_grads.keys()
    worst = {k: float(np.abs(grads[k] - t_grads[k]).max()) for k in grads}
    assert max(worst.values()) < 1e-10, max(worst.items(), key=lambda kv: kv[1])


def test_padding_gets_no_gradient():
    """Padded source positions are masked and a zero gradient at padded targets reaches no embedding."""
    model = Seq2Seq(CFG, seed=3)
    src, tgt_in, _ = toy_batch()
    tape = {}
    logits = model(src, tgt_in, tape=tape)
    d_logits = np.where((tgt_in != PAD)[..., None], 1.0, 0.0) * np.ones_like(logits)
    grads = model.backward(d_logits, tape)
    assert (grads["src_embed.weight"][0] == 0).all() and (grads["tgt_embed.weight"][0] == 0).all()
    assert (grads["src_embed.weight"][[1, 2, 8]] == 0).all()  # never in src


def test_tape_holds_the_transformers_attention():
    model = Seq2Seq(CFG, seed=0)
    src, tgt_in, _ = toy_batch()
    tape = {}
    model(src, tgt_in, tape=tape)
    records = Transformer.attention_records(tape["transformer"])
    cross = records["decoder.layers.1.cross_attn"]["weights"]
    assert cross.shape == (3, 2, 4, 4)
    assert (cross[1, :, :, 2:] == 0).all()  # padded source words get no attention
    np.testing.assert_allclose(cross.sum(-1), 1.0)


def test_seed_is_deterministic():
    a, b, c = Seq2Seq(CFG, seed=4), Seq2Seq(CFG, seed=4), Seq2Seq(CFG, seed=5)
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[key])
    assert not np.array_equal(a.src_embed, c.src_embed)


def test_from_state_dict_and_load_state_dict_draw_no_random_numbers(monkeypatch):
    sd = perturbed(CFG).state_dict()

    def no_rng(*args, **kwargs):
        raise AssertionError("drew random numbers")

    monkeypatch.setattr(np.random, "default_rng", no_rng)
    model = Seq2Seq.from_state_dict(sd, CFG)
    model.load_state_dict(sd)
    for key, value in sd.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_torch_twins_state_dict_loads_into_ours():
    theirs = TorchSeq2Seq(CFG).eval()
    model = Seq2Seq.from_state_dict(theirs.state_dict(), CFG)  # tensors are accepted
    src, tgt_in, _ = toy_batch()
    with torch.no_grad():
        np.testing.assert_allclose(model(src, tgt_in), theirs(src, tgt_in).numpy(), rtol=0, atol=1e-10)
    load(TorchSeq2Seq(CFG), model.state_dict())  # and back (strict: the same keys)


@pytest.mark.parametrize(
    "edit,exc,match",
    [
        (lambda sd: sd.pop("generator.bias"), ValueError, r"missing the key 'generator\.bias'"),
        (lambda sd: sd.update({"generator.weight": np.zeros((3, 3))}), ValueError, r"params\['generator.weight'\] has shape"),
        (lambda sd: sd.update(extra=np.zeros(1)), ValueError, r"unexpected keys \['extra'\]"),
        (lambda sd: sd.pop("transformer.encoder.norm.weight"), ValueError, "transformer.encoder.norm.weight"),
        (lambda sd: sd.update({"src_embed.weight": np.zeros((10, 8))}), ValueError, r"params\['src_embed.weight'\] has shape \(10, 8\)"),
    ],
)
def test_state_dict_errors_name_the_key(edit, exc, match):
    sd = Seq2Seq(CFG, seed=0).state_dict()
    edit(sd)
    with pytest.raises(exc, match=match):
        Seq2Seq.from_state_dict(sd, CFG)
    with pytest.raises(exc, match=match):
        Seq2Seq(CFG, seed=0).load_state_dict(sd)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"d_model": 10, "n_heads": 3}, ValueError, "d_model = 10 is not divisible by n_heads = 3"),
        ({"src_vocab": 0}, ValueError, "src_vocab must be a positive integer"),
        ({"dim_feedforward": 2.0}, TypeError, "dim_feedforward must be a positive integer"),
        ({"num_decoder_layers": True}, TypeError, "num_decoder_layers must be a positive integer"),
    ],
)
def test_config_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Seq2SeqConfig(**({"src_vocab": 5, "tgt_vocab": 5} | kwargs))


@pytest.mark.parametrize(
    "ids,exc,match",
    [
        (np.array([[1.0, 2.0]]), TypeError, "src must be an integer array of token ids, got dtype float64"),
        (np.array([[True]]), TypeError, "got dtype bool"),
        (np.array([1, 2]), ValueError, r"src must be a non-empty \(batch, length\) array of token ids, got shape \(2,\)"),
        (np.zeros((1, 0), int), ValueError, r"got shape \(1, 0\)"),
        (np.array([[1, 9]]), ValueError, r"src must hold token ids in \[0, 9\), got values from 1 to 9"),
    ],
)
def test_check_ids(ids, exc, match):
    with pytest.raises(exc, match=match):
        check_ids(ids, "src", 9)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda m, b: Seq2Seq({"src_vocab": 5}), TypeError, "cfg must be a Seq2SeqConfig, got dict"),
        (lambda m, b: Seq2Seq.from_state_dict(m.state_dict(), None), TypeError, "cfg must be a Seq2SeqConfig"),
        (lambda m, b: m(b[0] + 5, b[1]), ValueError, r"src must hold token ids in \[0, 9\)"),
        (lambda m, b: m(b[0], b[1][:2]), ValueError, "src has batch size 3 but tgt_in has 2"),
        (lambda m, b: m(b[0], b[1], tape=[]), TypeError, "tape must be a dict"),
        (lambda m, b: m.decode(b[1], np.zeros(8), m.source_mask(b[0])), ValueError, "memory must have at least 2 axes"),
        (lambda m, b: m.decode(b[1], np.zeros((3, 4, 5)), m.source_mask(b[0])), ValueError, r"memory has shape \(3, 4, 5\)"),
        (lambda m, b: m.backward(np.ones((3, 4, 8)), {}), ValueError, "tape holds no forward pass"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call(Seq2Seq(CFG, seed=0), toy_batch())
