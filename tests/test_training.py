"""The generated corpus, the NumPy encoder-decoder's gradients and training, and its weights in PyTorch."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from attention_ref import Transformer, padding_mask, positional_encoding
from attention_ref.corpus import NOTE_PAIRS, Vocab, encode_batch, generate_pairs, split_corpus
from attention_ref.seq2seq import (
    Seq2SeqConfig,
    decode,
    encode,
    greedy_decode,
    init_params,
    loss_and_grads,
    lr_schedule,
    train,
)

from .conftest import to_torch


# --- corpus --------------------------------------------------------------------------------------------
def test_corpus_is_deterministic_and_holds_out_the_note_pairs():
    pairs = generate_pairs()
    assert pairs == generate_pairs()
    assert len(set(pairs)) == len(pairs)
    train_p, test_p = split_corpus(pairs)
    assert (train_p, test_p) == split_corpus(generate_pairs())
    assert test_p[: len(NOTE_PAIRS)] == list(NOTE_PAIRS)
    assert not set(train_p) & set(test_p) and len(train_p) + len(test_p) == len(pairs)
    # every held-out word is known from training: only the combination is new
    for side in (0, 1):
        known = {w for p in train_p for w in p[side].split()}
        assert all(set(p[side].split()) <= known for p in test_p)


def test_corpus_needs_reordering():
    """The Japanese verb comes last, the English verb second: word order differs."""
    for ja, en in generate_pairs():
        ja_words, en_words = ja.split(), en.split()
        if ja_words[-1] in ("kirai", "suki"):
            assert en_words[1].startswith(("hate", "like"))
    assert ("kore wa ringo desu", "this is an apple") in generate_pairs()
    assert ("sono inu ga suki", "I like that dog") in generate_pairs()


def test_vocab_and_encoding_round_trip():
    pairs = generate_pairs()
    tv = Vocab(p[1] for p in pairs)
    batch = encode_batch([p[1] for p in pairs[:5]], tv, bos=True, eos=True)
    assert batch.shape == (5, 6) and (batch[:, 0] == 1).all()
    assert [tv.decode(row) for row in batch] == [p[1] for p in pairs[:5]]


def test_corpus_errors():
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        split_corpus(generate_pairs(), test_fraction=1.0)
    with pytest.raises(ValueError, match="must contain the note pair"):
        split_corpus(generate_pairs()[2:])
    v = Vocab(["kore wa rei desu"])
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['hon'\]"):
        v.encode("kore wa hon desu")
    with pytest.raises(ValueError, match="length = 2 is shorter than the longest"):
        encode_batch(["kore wa rei"], v, length=2)


# --- a small model and its PyTorch twin ------------------------------------------------------------
class TorchSeq2Seq(torch.nn.Module):
    """Embeddings + positions + torch.nn.Transformer + output layer: the module seq2seq's keys describe."""

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.cfg = cfg
        self.src_embed = torch.nn.Embedding(cfg.src_vocab, cfg.d_model)
        self.tgt_embed = torch.nn.Embedding(cfg.tgt_vocab, cfg.d_model)
        self.transformer = torch.nn.Transformer(
            cfg.d_model, cfg.n_heads, cfg.num_encoder_layers, cfg.num_decoder_layers, cfg.dim_feedforward,
            dropout=0.0, batch_first=True,
        )
        self.transformer.encoder.use_nested_tensor = False  # keep padded outputs as plain tensors
        self.generator = torch.nn.Linear(cfg.d_model, cfg.tgt_vocab)

    def embed(self, table, ids):
        pe = to_torch(positional_encoding(ids.shape[1], self.cfg.d_model))
        return table(ids) * math.sqrt(self.cfg.d_model) + pe

    def forward(self, src, tgt_in):
        src, tgt_in = torch.from_numpy(src), torch.from_numpy(tgt_in)
        pad = src == 0  # PyTorch's key padding masks: True = ignore
        T = tgt_in.shape[1]
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = hidden
        out = self.transformer(
            self.embed(self.src_embed, src), self.embed(self.tgt_embed, tgt_in), tgt_mask=future,
            src_key_padding_mask=pad, memory_key_padding_mask=pad,
        )
        return self.generator(out)


def toy_batch():
    src = np.array([[3, 4, 5, 6], [5, 3, 0, 0], [7, 7, 4, 0]])
    tgt_in = np.array([[1, 4, 3, 5], [1, 6, 0, 0], [1, 5, 5, 0]])
    tgt_out = np.array([[4, 3, 5, 2], [6, 2, 0, 0], [5, 5, 2, 0]])
    return src, tgt_in, tgt_out


CFG = Seq2SeqConfig(src_vocab=9, tgt_vocab=8, d_model=8, n_heads=2, num_encoder_layers=2,
                    num_decoder_layers=2, dim_feedforward=12)


def torch_twin(params, cfg):
    model = TorchSeq2Seq(cfg)
    model.load_state_dict({k: to_torch(v) for k, v in params.items()})
    return model


@pytest.mark.parametrize("cfg", [CFG, Seq2SeqConfig(src_vocab=9, tgt_vocab=8, d_model=12, n_heads=4)])
def test_gradients_of_the_whole_model_match_autograd(cfg):
    params = init_params(cfg, seed=1)
    rng = np.random.default_rng(5)
    for k in params:  # non-trivial biases and norms, so that every formula is exercised
        if k.endswith("bias") or "norm" in k:
            params[k] = params[k] + 0.1 * rng.normal(size=params[k].shape)
    src, tgt_in, tgt_out = toy_batch()
    loss, grads = loss_and_grads(params, cfg, src, tgt_in, tgt_out)
    model = torch_twin(params, cfg)
    logits = model(src, tgt_in)
    t_loss = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg.tgt_vocab),
                                               torch.from_numpy(tgt_out).reshape(-1), ignore_index=0)
    t_loss.backward()
    assert abs(loss - t_loss.item()) < 1e-12
    t_grads = dict(model.named_parameters())
    assert grads.keys() == t_grads.keys()
    worst = max(np.abs(grads[k] - t_grads[k].grad.numpy()).max() for k in grads)
    assert worst < 1e-10, worst


def test_gradients_of_the_whole_model_by_finite_differences():
    params = init_params(CFG, seed=2)
    src, tgt_in, tgt_out = toy_batch()
    _, grads = loss_and_grads(params, CFG, src, tgt_in, tgt_out)
    rng = np.random.default_rng(0)
    h = 1e-6
    for key in ("src_embed.weight", "transformer.encoder.layers.0.self_attn.in_proj_weight",
                "transformer.decoder.layers.1.multihead_attn.in_proj_weight",
                "transformer.decoder.layers.0.norm2.weight", "transformer.encoder.norm.bias",
                "generator.weight"):
        flat = params[key].reshape(-1)
        nonzero = np.flatnonzero(grads[key])
        for i in rng.choice(nonzero, size=3, replace=False):
            old = flat[i]
            flat[i] = old + h
            up = loss_and_grads(params, CFG, src, tgt_in, tgt_out)[0]
            flat[i] = old - h
            down = loss_and_grads(params, CFG, src, tgt_in, tgt_out)[0]
            flat[i] = old
            assert grads[key].reshape(-1)[i] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9), key


def test_padding_gets_no_gradient():
    """Padded source positions are masked and padded targets ignored: their embeddings learn nothing."""
    params = init_params(CFG, seed=3)
    src, tgt_in, tgt_out = toy_batch()
    _, grads = loss_and_grads(params, CFG, src, tgt_in, tgt_out)
    assert (grads["src_embed.weight"][0] == 0).all() and (grads["tgt_embed.weight"][0] == 0).all()
    assert (grads["src_embed.weight"][[1, 2, 8]] == 0).all()  # never in src


# --- trained weights round-trip into PyTorch and into the package's Transformer --------------------
@pytest.fixture(scope="module")
def trained():
    params = init_params(CFG, seed=0)
    src, tgt_in, tgt_out = toy_batch()
    hist = train(params, CFG, src, tgt_in, tgt_out, steps=40, lr=1e-2, warmup=5)
    return params, hist


def test_training_lowers_the_loss_deterministically(trained):
    params, hist = trained
    assert hist["loss"][-1] < 0.2 * hist["loss"][0]
    again = init_params(CFG, seed=0)
    src, tgt_in, tgt_out = toy_batch()
    train(again, CFG, src, tgt_in, tgt_out, steps=40, lr=1e-2, warmup=5)
    for k, v in params.items():
        np.testing.assert_array_equal(v, again[k])


def test_trained_weights_give_the_same_outputs_in_torch(trained):
    params, _ = trained
    src, tgt_in, _ = toy_batch()
    memory, enc = encode(params, CFG, src)
    logits, dec = decode(params, CFG, tgt_in, memory, enc["src_mask"])
    model = torch_twin(params, CFG).eval()
    with torch.no_grad():
        t_logits = model(src, tgt_in).numpy()
    np.testing.assert_allclose(logits, t_logits, rtol=0, atol=1e-10)
    # and the decoder's vectors through torch.nn.Transformer alone, and through attention_ref.Transformer
    core = {k.removeprefix("transformer."): v for k, v in params.items() if k.startswith("transformer.")}
    ours = Transformer.from_state_dict(core, n_heads=CFG.n_heads)
    theirs = torch.nn.Transformer(CFG.d_model, CFG.n_heads, 2, 2, CFG.dim_feedforward, dropout=0.0,
                                  batch_first=True).eval()
    theirs.encoder.use_nested_tensor = False
    theirs.load_state_dict({k: to_torch(v) for k, v in core.items()})
    s = params["src_embed.weight"][src] * math.sqrt(CFG.d_model) + positional_encoding(4, CFG.d_model)
    t = params["tgt_embed.weight"][tgt_in] * math.sqrt(CFG.d_model) + positional_encoding(4, CFG.d_model)
    keep = padding_mask((src != 0).sum(axis=1), 4)
    out = ours(s, t, src_mask=keep, memory_mask=keep)
    with torch.no_grad():
        t_out = theirs(to_torch(s), to_torch(t), tgt_mask=torch.triu(torch.ones(4, 4, dtype=torch.bool), 1),
                       src_key_padding_mask=torch.from_numpy(src == 0),
                       memory_key_padding_mask=torch.from_numpy(src == 0)).numpy()
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-10)
    np.testing.assert_allclose(out, dec["out"], rtol=0, atol=1e-12)
    # and back: the package's state dict loads into torch unchanged
    assert ours.state_dict().keys() == core.keys()
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v, core[k])


def test_greedy_decode_matches_teacher_forced_argmax(trained):
    params, _ = trained
    src, _, _ = toy_batch()
    out = greedy_decode(params, CFG, src, max_len=6)
    assert (out[:, 0] == 1).all()
    memory, enc = encode(params, CFG, src)
    logits, dec = decode(params, CFG, out[:, :-1], memory, enc["src_mask"])
    alive = np.cumsum(out[:, 1:] == 2, axis=1) - (out[:, 1:] == 2) == 0  # up to and including <eos>
    np.testing.assert_array_equal(logits.argmax(-1)[alive], out[:, 1:][alive])
    w = dec["layers"][0]["multihead_attn_weights"]
    assert w.shape == (3, 2, out.shape[1] - 1, 4)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    assert (w[1, :, :, 2:] == 0).all()  # padded source words get no attention


# --- bad input -----------------------------------------------------------------------------------------
def test_bad_inputs():
    params = init_params(CFG)
    src, tgt_in, tgt_out = toy_batch()
    with pytest.raises(ValueError, match="d_model = 10 is not divisible by n_heads = 3"):
        Seq2SeqConfig(5, 5, d_model=10, n_heads=3)
    with pytest.raises(TypeError, match="cfg must be a Seq2SeqConfig"):
        init_params({"d_model": 8})
    with pytest.raises(ValueError, match=r"token ids in \[0, 9\)"):
        loss_and_grads(params, CFG, src + 5, tgt_in, tgt_out)
    with pytest.raises(TypeError, match="src must be a non-empty"):
        loss_and_grads(params, CFG, src.astype(float), tgt_in, tgt_out)
    with pytest.raises(ValueError, match="tgt_out shaped like tgt_in"):
        loss_and_grads(params, CFG, src, tgt_in, tgt_out[:, :3])
    with pytest.raises(ValueError, match="starts with padding"):
        loss_and_grads(params, CFG, src[:, ::-1].copy(), tgt_in, tgt_out)
    with pytest.raises(ValueError, match="tgt_out is all padding"):
        loss_and_grads(params, CFG, src, tgt_in, np.zeros_like(tgt_out))
    missing = {k: v for k, v in params.items() if k != "generator.bias"}
    with pytest.raises(ValueError, match=r"missing the key 'generator\.bias'"):
        loss_and_grads(missing, CFG, src, tgt_in, tgt_out)
    with pytest.raises(ValueError, match=r"params\['generator.weight'\] has shape"):
        loss_and_grads({**params, "generator.weight": np.zeros((3, 3))}, CFG, src, tgt_in, tgt_out)
    with pytest.raises(ValueError, match="unexpected keys"):
        loss_and_grads({**params, "extra": np.zeros(1)}, CFG, src, tgt_in, tgt_out)
    with pytest.raises(ValueError, match="warmup must be a non-negative integer"):
        train(params, CFG, src, tgt_in, tgt_out, steps=1, warmup=-1)
    with pytest.raises(ValueError, match="memory has shape"):
        decode(params, CFG, tgt_in, np.zeros((3, 4, 5)), padding_mask([4, 2, 3], 4))


def test_lr_schedule_shape():
    lrs = [lr_schedule(s, steps=100, lr=0.01, warmup=20) for s in range(1, 101)]
    assert lrs[19] == pytest.approx(0.01) and lrs[-1] == pytest.approx(0.0, abs=1e-15)
    assert all(a < b for a, b in itertools.pairwise(lrs[:20]))  # rising during warm-up
    assert all(a >= b for a, b in itertools.pairwise(lrs[19:]))  # then falling
    with pytest.raises(ValueError, match="step must be an integer from 1 to steps = 100"):
        lr_schedule(0, steps=100, lr=0.01, warmup=20)


def test_chapter_model_after_some_training_matches_torch():
    """The book's configuration on the generated corpus: 20 Adam steps, then the same logits in PyTorch."""
    pairs = generate_pairs()
    train_p, test_p = split_corpus(pairs)
    sv, tv = Vocab(p[0] for p in pairs), Vocab(p[1] for p in pairs)
    src = encode_batch([p[0] for p in train_p], sv)
    tgt_in = encode_batch([p[1] for p in train_p], tv, bos=True, length=6)
    tgt_out = encode_batch([p[1] for p in train_p], tv, eos=True, length=6)
    cfg = Seq2SeqConfig(len(sv), len(tv), d_model=32, n_heads=2, dim_feedforward=64)
    params = init_params(cfg, seed=0)
    hist = train(params, cfg, src, tgt_in, tgt_out, steps=20, lr=3e-3, warmup=10)
    assert hist["loss"][-1] < hist["loss"][0]
    test_src = encode_batch([p[0] for p in test_p], sv)
    test_in = encode_batch([p[1] for p in test_p], tv, bos=True, length=6)
    memory, enc = encode(params, cfg, test_src)
    logits, _ = decode(params, cfg, test_in, memory, enc["src_mask"])
    with torch.no_grad():
        t_logits = torch_twin(params, cfg).eval()(test_src, test_in).numpy()
    np.testing.assert_allclose(logits, t_logits, rtol=0, atol=1e-10)
