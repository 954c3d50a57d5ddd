"""The PyTorch side of every cross-check: reference computations, and torch modules holding our weights.

Everything runs in float64 on the CPU. The helpers take NumPy arrays or torch tensors (tensors pass
through untouched, so autograd can follow them) and masks in the package's convention, ``True`` = may
attend, broadcastable to the scores ``(batch, heads, Lq, Lk)``. They convert to PyTorch's conventions
here, in one place: ``F.scaled_dot_product_attention`` shares ours, while ``nn.MultiheadAttention`` and
the ``nn.Transformer*`` modules take ``True`` = hidden.

- :func:`sdpa`, :func:`softmax_weights`: scaled dot-product attention and its weights, written
  independently of the package;
- :func:`like`: the torch module equivalent to one of ours (``nn.MultiheadAttention``,
  ``nn.TransformerEncoderLayer``, ..., ``nn.Transformer``, :class:`Seq2Seq`), loaded from our state dict;
- :func:`mha_forward`, :func:`encoder_layer_forward`, ...: call such a module with our masks;
- :func:`randomise`: random weights for a torch module, returned as the NumPy state dict.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

import attention_ref as ar
from attention_ref.training import PAD
from attention_ref.training import Seq2Seq as OurSeq2Seq

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

__all__ = [
    "Seq2Seq",
    "decoder_forward",
    "encoder_forward",
    "future",
    "grads_of",
    "hidden",
    "key_padding",
    "leaf",
    "like",
    "load",
    "mha_forward",
    "no_grad_numpy",
    "randomise",
    "sdpa",
    "softmax_weights",
    "to_numpy",
    "to_torch",
    "transformer_forward",
]


# --- conversions -----------------------------------------------------------------------------------
def to_torch(x) -> torch.Tensor:
    """A tensor sharing ``x``'s memory, or a copy's if ``x`` is read-only (a tensor passes through)."""
    if isinstance(x, torch.Tensor):
        return x
    arr = np.ascontiguousarray(x)
    return torch.from_numpy(arr if arr.flags.writeable else arr.copy())


def leaf(x) -> torch.Tensor:
    """A float64 copy of ``x`` that autograd tracks (``.grad`` after ``backward``)."""
    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)


def to_numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def no_grad_numpy(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` without autograd, as NumPy (tuples element by element)."""
    with torch.no_grad():
        out = fn(*args, **kwargs)
    return tuple(to_numpy(o) for o in out) if isinstance(out, tuple) else to_numpy(out)


def load(module: torch.nn.Module, sd) -> torch.nn.Module:
    """``module`` with our NumPy state dict loaded (strict: the same keys), in eval mode."""
    module.load_state_dict({k: to_torch(np.asarray(v, dtype=np.float64)) for k, v in sd.items()}, strict=True)
    return module.eval()


def randomise(module: torch.nn.Module, rng: np.random.Generator, scale: float = 0.4) -> dict:
    """Give every parameter of ``module`` random values (biases and norms too); return them as NumPy."""
    sd = {}
    for key, value in module.state_dict().items():
        arr = rng.normal(scale=scale, size=tuple(value.shape))
        if key.split(".")[-2].startswith("norm") and key.endswith("weight"):
            arr += 1.0  # layer-norm scales around 1
        sd[key] = arr
    load(module, sd)
    return sd


def grads_of(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """The ``.grad`` of every parameter after a ``backward``, keyed like ``state_dict()``."""
    return {k: p.grad.numpy() for k, p in module.named_parameters()}


# --- attention ---------------------------------------------------------------------------------------
def _allowed(mask, causal, shape):
    """Our mask (True = may attend) ANDed with the causal one, broadcast to ``shape`` (..., Lq, Lk)."""
    allowed = np.ones(shape, bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), shape)
    if causal:
        allowed = allowed & np.tri(shape[-2], shape[-1], dtype=bool)
    return allowed


def sdpa(q, k, v, mask=None, *, causal=False, scale=None):
    """``F.scaled_dot_product_attention`` with the batch axes of q, k, v (and mask) broadcast; a tensor."""
    tq, tk, tv = (to_torch(a) for a in (q, k, v))
    batch = torch.broadcast_shapes(tq.shape[:-2], tk.shape[:-2], tv.shape[:-2])
    if mask is not None:
        batch = torch.broadcast_shapes(batch, np.shape(mask)[:-2])
    tq, tk, tv = (t.expand(*batch, *t.shape[-2:]) for t in (tq, tk, tv))
    attn_mask = None
    if mask is not None:  # torch takes a mask or is_causal, not both
        attn_mask, causal = to_torch(_allowed(mask, causal, (*batch, tq.shape[-2], tk.shape[-2])).copy()), False
    return F.scaled_dot_product_attention(tq, tk, tv, attn_mask=attn_mask, is_causal=causal, scale=scale)


def softmax_weights(q, k, mask=None, *, causal=False, scale=None) -> np.ndarray:
    """The textbook weights ``softmax(q k^T * scale)``, hidden scores at -inf (NaN where a query sees nothing)."""
    tq, tk = to_torch(q), to_torch(k)
    s = 1 / math.sqrt(tq.shape[-1]) if scale is None else scale
    scores = tq @ tk.transpose(-1, -2) * s
    if mask is not None:
        scores = torch.broadcast_to(scores, np.broadcast_shapes(tuple(scores.shape), np.shape(mask)))
    allowed = to_torch(_allowed(mask, causal, tuple(scores.shape)).copy())
    return torch.softmax(scores.masked_fill(~allowed, -torch.inf), dim=-1).detach().numpy()


def hidden(mask, batch: int, n_heads: int, Lq: int, Lk: int, *, causal=False):
    """Our mask as the ``attn_mask`` of torch's modules: ``(batch * heads, Lq, Lk)``, True = hidden; or None."""
    if mask is None and not causal:
        return None
    allowed = _allowed(mask, causal, (batch, n_heads, Lq, Lk))
    return to_torch(~allowed.reshape(batch * n_heads, Lq, Lk))


def future(L: int) -> torch.Tensor:
    """torch's causal ``attn_mask`` ``(L, L)``: True above the diagonal (hidden)."""
    return torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)


def key_padding(lengths, L: int) -> torch.Tensor:
    """torch's ``key_padding_mask`` ``(batch, L)``: True at the padding after each sequence's length."""
    return torch.arange(L)[None, :] >= torch.tensor(list(lengths))[:, None]


# --- torch modules equivalent to ours -------------------------------------------------------------------
@contextlib.contextmanager
def _no_nested_tensor_warning():
    """nn.Transformer(Encoder) warns that nested tensors are off with norm_first=True; that is expected."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="enable_nested_tensor is True", category=UserWarning)
        yield


def encoder_layer(d, h, d_ff, *, norm_first=False):
    return torch.nn.TransformerEncoderLayer(d, h, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first)


def decoder_layer(d, h, d_ff, *, norm_first=False):
    return torch.nn.TransformerDecoderLayer(d, h, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first)


def encoder(n_layers, d, h, d_ff, *, final_norm=False, norm_first=False):
    norm = torch.nn.LayerNorm(d) if final_norm else None
    layer = encoder_layer(d, h, d_ff, norm_first=norm_first)
    return torch.nn.TransformerEncoder(layer, n_layers, norm=norm, enable_nested_tensor=False)


def decoder(n_layers, d, h, d_ff, *, final_norm=False, norm_first=False):
    norm = torch.nn.LayerNorm(d) if final_norm else None
    return torch.nn.TransformerDecoder(decoder_layer(d, h, d_ff, norm_first=norm_first), n_layers, norm=norm)


def transformer(d, h, n_enc, n_dec, d_ff, *, norm_first=False):
    with _no_nested_tensor_warning():
        model = torch.nn.Transformer(d, h, n_enc, n_dec, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first)
    model.encoder.use_nested_tensor = False  # padded positions stay ordinary rows
    return model


class Seq2Seq(torch.nn.Module):
    """The module whose ``state_dict()`` keys :class:`attention_ref.training.Seq2Seq` uses.

    Embeddings scaled by ``sqrt(d_model)`` plus sinusoidal positions, ``nn.Transformer(dropout=0,
    batch_first=True)`` with source padding masked, a linear map to the target vocabulary.
    """

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.src_embed = torch.nn.Embedding(cfg.src_vocab, cfg.d_model)
        self.tgt_embed = torch.nn.Embedding(cfg.tgt_vocab, cfg.d_model)
        self.transformer = transformer(
            cfg.d_model, cfg.n_heads, cfg.num_encoder_layers, cfg.num_decoder_layers, cfg.dim_feedforward
        )
        self.generator = torch.nn.Linear(cfg.d_model, cfg.tgt_vocab)

    def embed(self, table, ids):
        pe = to_torch(ar.positional_encoding(ids.shape[1], self.cfg.d_model))
        return table(ids) * math.sqrt(self.cfg.d_model) + pe

    def forward(self, src, tgt_in):
        src, tgt_in = torch.from_numpy(np.asarray(src)), torch.from_numpy(np.asarray(tgt_in))
        pad = src == PAD  # key padding masks: True = ignore
        T = tgt_in.shape[1]
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = hidden
        out = self.transformer(
            self.embed(self.src_embed, src), self.embed(self.tgt_embed, tgt_in), tgt_mask=future,
            src_key_padding_mask=pad, memory_key_padding_mask=pad,
        )
        return self.generator(out)


def like(ours) -> torch.nn.Module:
    """The torch module that computes what ``ours`` computes, holding ``ours.state_dict()`` (eval mode)."""
    if isinstance(ours, ar.MultiHeadAttention):
        mod = torch.nn.MultiheadAttention(ours.d_model, ours.n_heads, bias=ours.bias, batch_first=True)
    elif isinstance(ours, OurSeq2Seq):
        mod = Seq2Seq(ours.cfg)
    elif isinstance(ours, ar.Transformer):
        enc = ours.encoder.layers[0]
        mod = transformer(enc.d_model, enc.n_heads, len(ours.encoder.layers), len(ours.decoder.layers), enc.d_ff,
                          norm_first=enc.norm_first)
    elif isinstance(ours, (ar.EncoderLayer, ar.DecoderLayer)):
        make = encoder_layer if isinstance(ours, ar.EncoderLayer) else decoder_layer
        mod = make(ours.d_model, ours.n_heads, ours.d_ff, norm_first=ours.norm_first)
    elif isinstance(ours, (ar.Encoder, ar.Decoder)):  # DecoderOnlyTransformer is an Encoder
        make = encoder if isinstance(ours, ar.Encoder) else decoder
        layer = ours.layers[0]
        mod = make(len(ours.layers), layer.d_model, layer.n_heads, layer.d_ff, final_norm=ours.gamma is not None,
                   norm_first=layer.norm_first)
    else:  # pragma: no cover - a test asked for a module this file does not know
        raise TypeError(type(ours).__name__)
    return load(mod, ours.state_dict())


# --- calling them with our masks ------------------------------------------------------------------------
def _batched(*xs):
    ts = [to_torch(x) for x in xs]
    if ts[0].dim() == 2:
        return [t[None] for t in ts], True
    return ts, False


def mha_forward(mod, x, c=None, mask=None, *, causal=False):
    """``nn.MultiheadAttention`` from ``x`` to ``c`` (``x`` if None): ``(output, per-head weights)``, tensors."""
    (tx, tc), unbatched = _batched(x, x if c is None else c)
    if c is None:
        tc = tx  # self attention: one tensor in all three roles, as ours
    B, Lq, Lk = tx.shape[0], tx.shape[1], tc.shape[1]
    attn_mask = hidden(mask, B, mod.num_heads, Lq, Lk, causal=causal)
    out, w = mod(tx, tc, tc, attn_mask=attn_mask, average_attn_weights=False)
    return (out[0], w[0]) if unbatched else (out, w)


def encoder_forward(mod, x, mask=None, *, causal=False):
    """A ``TransformerEncoderLayer`` or ``TransformerEncoder`` on ``x`` with our mask; a tensor."""
    (tx,), unbatched = _batched(x)
    heads = mod.self_attn.num_heads if hasattr(mod, "self_attn") else mod.layers[0].self_attn.num_heads
    B, L = tx.shape[:2]
    out = mod(tx, mask=hidden(mask, B, heads, L, L, causal=causal)) if isinstance(
        mod, torch.nn.TransformerEncoder) else mod(tx, src_mask=hidden(mask, B, heads, L, L, causal=causal))
    return out[0] if unbatched else out


def decoder_forward(mod, tgt, memory, tgt_mask=None, memory_mask=None, *, causal=True):
    """A ``TransformerDecoderLayer`` or ``TransformerDecoder`` with our masks; a tensor."""
    (tt, tm), unbatched = _batched(tgt, memory)
    layer = mod.layers[0] if isinstance(mod, torch.nn.TransformerDecoder) else mod
    h, (B, Lt), Ls = layer.self_attn.num_heads, tt.shape[:2], tm.shape[1]
    out = mod(tt, tm, tgt_mask=hidden(tgt_mask, B, h, Lt, Lt, causal=causal),
              memory_mask=hidden(memory_mask, B, h, Lt, Ls))
    return out[0] if unbatched else out


def transformer_forward(mod, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, *, tgt_causal=True):
    """``nn.Transformer`` with our masks; a tensor."""
    (ts, tt), unbatched = _batched(src, tgt)
    h, (B, Ls), Lt = mod.nhead, ts.shape[:2], tt.shape[1]
    out = mod(ts, tt, src_mask=hidden(src_mask, B, h, Ls, Ls), tgt_mask=hidden(tgt_mask, B, h, Lt, Lt, causal=tgt_causal),
              memory_mask=hidden(memory_mask, B, h, Lt, Ls))
    return out[0] if unbatched else out
