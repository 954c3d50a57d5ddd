"""The training loop: the loss and its gradients against autograd, the schedule, training, greedy decoding."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attention_ref import Transformer, padding_mask, positional_encoding
from attention_ref.book.corpus import Vocab, encode_batch, generate_pairs, split_corpus
from attention_ref.training import (
    EOS,
    PAD,
    Seq2Seq,
    Seq2SeqConfig,
    greedy_decode,
    loss_and_grads,
    lr_schedule,
    train,
)

from ..torch_ref import future, grads_of, key_padding, like, load, to_torch, transformer
from .test_seq2seq import CFG, perturbed, toy_batch


# --- the loss and its gradients ------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", [CFG, Seq2SeqConfig(src_vocab=9, tgt_vocab=8, d_model=12, n_heads=4)])
def test_gradients_of_the_whole_model_match_autograd(cfg):
    model = perturbed(cfg)
    src, tgt_in, tgt_out = toy_batch()
    loss, grads = loss_and_grads(model, src, tgt_in, tgt_out)
    theirs = like(model)
    logits = theirs(src, tgt_in)
    t_loss = F.cross_entropy(logits.reshape(-1, cfg.tgt_vocab), torch.from_numpy(tgt_out).reshape(-1),
                             ignore_index=PAD)
    t_loss.backward()
    assert abs(loss - t_loss.item()) < 1e-12
    t_grads = grads_of(theirs)
    assert grads.keys() == model.state_dict().keys() == t_grads.keys()
    worst = {k: float(np.abs(grads[k] - t_grads[k]).max()) for k in grads}
    assert max(worst.values()) < 1e-10, max(worst.items(), key=lambda kv: kv[1])


def test_gradients_of_the_whole_model_by_finite_differences():
    model = Seq2Seq(CFG, seed=2)
    src, tgt_in, tgt_out = toy_batch()
    _, grads = loss_and_grads(model, src, tgt_in, tgt_out)
    params = model.state_dict()
    rng = np.random.default_rng(0)
    h = 1e-6

    def loss_at(key, i, delta):
        changed = {k: v.copy() for k, v in params.items()}
        changed[key].reshape(-1)[i] += delta
        model.load_state_dict(changed)
        return loss_and_grads(model, src, tgt_in, tgt_out)[0]

    for key in ("src_embed.weight", "transformer.encoder.layers.0.self_attn.in_proj_weight",
                "transformer.decoder.layers.1.multihead_attn.in_proj_weight",
                "transformer.decoder.layers.0.norm2.weight", "transformer.encoder.norm.bias",
                "generator.weight"):
        for i in rng.choice(np.flatnonzero(grads[key]), size=3, replace=False):
            numeric = (loss_at(key, i, h) - loss_at(key, i, -h)) / (2 * h)
            assert grads[key].reshape(-1)[i] == pytest.approx(numeric, rel=1e-5, abs=1e-9), key


def test_padded_targets_are_left_out_of_the_loss():
    model = Seq2Seq(CFG, seed=0)
    src, tgt_in, tgt_out = toy_batch()
    logits = model(src, tgt_in)
    keep = tgt_out != PAD
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(logp, tgt_out[..., None], -1)[..., 0][keep].mean()
    assert loss_and_grads(model, src, tgt_in, tgt_out)[0] == pytest.approx(expected, rel=1e-13)


# --- the learning-rate schedule ---------------------------------------------------------------------------
def test_lr_schedule_shape():
    lrs = [lr_schedule(s, steps=100, lr=0.01, warmup=20) for s in range(1, 101)]
    assert lrs[19] == pytest.approx(0.01) and lrs[-1] == pytest.approx(0.0, abs=1e-15)
    assert all(a < b for a, b in itertools.pairwise(lrs[:20]))  # rising during warm-up
    assert all(a >= b for a, b in itertools.pairwise(lrs[19:]))  # then falling
    assert lr_schedule(1, steps=5, lr=0.1, warmup=0) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi / 5)))


# --- training ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    model = Seq2Seq(CFG, seed=0)
    src, tgt_in, tgt_out = toy_batch()
    hist = train(model, src, tgt_in, tgt_out, steps=40, lr=1e-2, warmup=5)
    return model, hist


def test_training_lowers_the_loss_deterministically(trained):
    model, hist = trained
    assert len(hist["loss"]) == 40 and hist["seconds"] > 0
    assert hist["loss"][-1] < 0.2 * hist["loss"][0]
    again = Seq2Seq(CFG, seed=0)
    src, tgt_in, tgt_out = toy_batch()
    train(again, src, tgt_in, tgt_out, steps=40, lr=1e-2, warmup=5)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, again.state_dict()[key])


def test_train_decreases_the_loss_on_a_tiny_batch():
    model = Seq2Seq(Seq2SeqConfig(src_vocab=6, tgt_vocab=7, d_model=8, n_heads=2), seed=1)
    src = np.array([[3, 4, 5]])
    tgt_in, tgt_out = np.array([[1, 4, 3]]), np.array([[4, 3, 2]])
    before = loss_and_grads(model, src, tgt_in, tgt_out)[0]
    seen = []
    hist = train(model, src, tgt_in, tgt_out, steps=15, lr=1e-2, warmup=3, callback=lambda s, loss: seen.append(s))
    after = loss_and_grads(model, src, tgt_in, tgt_out)[0]
    assert seen == list(range(1, 16))
    assert hist["loss"][0] == pytest.approx(before, rel=1e-14)
    assert after < 0.5 * before


def test_trained_weights_round_trip_through_load_state_dict(trained):
    model, _ = trained
    src, tgt_in, tgt_out = toy_batch()
    sd = model.state_dict()
    fresh = Seq2Seq(CFG, seed=123)
    fresh.load_state_dict(sd)
    rebuilt = Seq2Seq.from_state_dict(sd, CFG)
    for other in (fresh, rebuilt):
        assert list(other.state_dict()) == list(sd)
        for key, value in sd.items():
            np.testing.assert_array_equal(other.state_dict()[key], value)
        np.testing.assert_array_equal(other(src, tgt_in), model(src, tgt_in))
        assert loss_and_grads(other, src, tgt_in, tgt_out)[0] == loss_and_grads(model, src, tgt_in, tgt_out)[0]


def test_trained_weights_give_the_same_outputs_in_torch(trained):
    model, _ = trained
    src, tgt_in, _ = toy_batch()
    memory, src_mask = model.encode(src)
    logits = model.decode(tgt_in, memory, src_mask)
    with torch.no_grad():
        t_logits = like(model)(src, tgt_in).numpy()
    np.testing.assert_allclose(logits, t_logits, rtol=0, atol=1e-10)
    # and the decoder's vectors through torch.nn.Transformer alone, and through attention_ref.Transformer
    params = model.state_dict()
    core = {k.removeprefix("transformer."): v for k, v in params.items() if k.startswith("transformer.")}
    ours = Transformer.from_state_dict(core, n_heads=CFG.n_heads)
    theirs = load(transformer(CFG.d_model, CFG.n_heads, 2, 2, CFG.dim_feedforward), core)
    s = params["src_embed.weight"][src] * math.sqrt(CFG.d_model) + positional_encoding(4, CFG.d_model)
    t = params["tgt_embed.weight"][tgt_in] * math.sqrt(CFG.d_model) + positional_encoding(4, CFG.d_model)
    lengths = (src != PAD).sum(axis=1)
    keep = padding_mask(lengths, 4)
    out = ours(s, t, src_mask=keep, memory_mask=keep)
    with torch.no_grad():
        t_out = theirs(to_torch(s), to_torch(t), tgt_mask=future(4), src_key_padding_mask=key_padding(lengths, 4),
                       memory_key_padding_mask=key_padding(lengths, 4)).numpy()
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-10)
    np.testing.assert_allclose(out @ model.w_out + model.b_out, logits, rtol=0, atol=1e-12)
    assert ours.state_dict().keys() == core.keys()
    for k, val in ours.state_dict().items():
        np.testing.assert_array_equal(val, core[k])


# --- greedy decoding -----------------------------------------------------------------------------------
def test_greedy_decode_matches_teacher_forced_argmax(trained):
    model, _ = trained
    src, _, _ = toy_batch()
    out = greedy_decode(model, src, max_len=6)
    assert (out[:, 0] == 1).all() and out.shape[0] == 3 and out.shape[1] <= 7
    tape = {}
    logits = model(src, out[:, :-1], tape=tape)
    is_eos = out[:, 1:] == EOS
    alive = np.cumsum(is_eos, axis=1) - is_eos == 0  # up to and including <eos>
    np.testing.assert_array_equal(logits.argmax(-1)[alive], out[:, 1:][alive])
    assert (out[:, 1:][~alive] == PAD).all()  # after <eos>: padding
    w = Transformer.attention_records(tape["transformer"])["decoder.layers.0.cross_attn"]["weights"]
    assert w.shape == (3, 2, out.shape[1] - 1, 4)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    assert (w[1, :, :, 2:] == 0).all()  # padded source words get no attention


def test_greedy_decode_of_the_trained_batch_gives_its_targets(trained):
    model, _ = trained
    src, _, tgt_out = toy_batch()
    out = greedy_decode(model, src, max_len=6)
    for row, target in zip(out[:, 1:], tgt_out, strict=True):
        words = target[target != PAD]
        np.testing.assert_array_equal(row[: len(words)], words)


def test_greedy_decode_stops_at_max_len():
    out = greedy_decode(Seq2Seq(CFG, seed=0), np.array([[3, 4]]), max_len=2)
    assert out.shape[1] <= 3


def test_chapter_model_after_some_training_matches_torch():
    """The book's configuration on the generated corpus: 20 Adam steps, then the same logits in PyTorch."""
    pairs = generate_pairs()
    train_p, test_p = split_corpus(pairs)
    sv, tv = Vocab(p[0] for p in pairs), Vocab(p[1] for p in pairs)
    src = encode_batch([p[0] for p in train_p], sv)
    tgt_in = encode_batch([p[1] for p in train_p], tv, bos=True, length=6)
    tgt_out = encode_batch([p[1] for p in train_p], tv, eos=True, length=6)
    cfg = Seq2SeqConfig(len(sv), len(tv), d_model=32, n_heads=2, dim_feedforward=64)
    model = Seq2Seq(cfg, seed=0)
    hist = train(model, src, tgt_in, tgt_out, steps=20, lr=3e-3, warmup=10)
    assert hist["loss"][-1] < hist["loss"][0]
    test_src = encode_batch([p[0] for p in test_p], sv)
    test_in = encode_batch([p[1] for p in test_p], tv, bos=True, length=6)
    logits = model(test_src, test_in)
    with torch.no_grad():
        t_logits = like(model)(test_src, test_in).numpy()
    np.testing.assert_allclose(logits, t_logits, rtol=0, atol=1e-10)


# --- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda m, b: loss_and_grads(m, b[0] + 5, b[1], b[2]), ValueError, r"token ids in \[0, 9\)"),
        (lambda m, b: loss_and_grads(m, b[0].astype(float), b[1], b[2]), TypeError, "src must be an integer array"),
        (lambda m, b: loss_and_grads(m, b[0], b[1], b[2][:, :3]), ValueError, "tgt_out shaped like tgt_in"),
        (lambda m, b: loss_and_grads(m, b[0][:, ::-1].copy(), b[1], b[2]), ValueError, "starts with padding"),
        (lambda m, b: loss_and_grads(m, b[0], b[1], np.zeros_like(b[2])), ValueError, "tgt_out is all padding"),
        (lambda m, b: loss_and_grads(m.state_dict(), *b), TypeError, "model must be a Seq2Seq, got dict"),
        (lambda m, b: train(m, *b, steps=1, warmup=-1), ValueError, "warmup must be a non-negative integer"),
        (lambda m, b: train(m, *b, steps=0), ValueError, "steps must be a positive integer"),
        (lambda m, b: train(m, *b, steps=1, lr=0.0), ValueError, "lr must be a positive finite number"),
        (lambda m, b: train(m, *b, steps=1, callback="print"), TypeError, "callback must be callable, got str"),
        (lambda m, b: greedy_decode(m, b[0], max_len=0), ValueError, "max_len must be a positive integer"),
        (lambda m, b: greedy_decode(m, b[0][0]), ValueError, r"src must be a non-empty \(batch, length\) array"),
        (lambda m, b: greedy_decode("model", b[0]), TypeError, "model must be a Seq2Seq, got str"),
        (lambda m, b: lr_schedule(0, steps=100, lr=0.01, warmup=20), ValueError, "step must be an integer from 1 to steps = 100"),
        (lambda m, b: lr_schedule(1.0, steps=100, lr=0.01, warmup=20), TypeError, "step must be an integer"),
        (lambda m, b: lr_schedule(1, steps=100, lr="0.01", warmup=20), TypeError, "lr must be a real number"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call(Seq2Seq(CFG, seed=0), toy_batch())


def test_a_failed_call_leaves_the_model_unchanged():
    model = Seq2Seq(CFG, seed=0)
    before = model.state_dict()
    src, tgt_in, tgt_out = toy_batch()
    with pytest.raises(ValueError):
        train(model, src, tgt_in, np.zeros_like(tgt_out), steps=3)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
