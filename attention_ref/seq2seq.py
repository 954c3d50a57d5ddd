r"""A small encoder-decoder Transformer that learns to translate, trained in NumPy.

The model is word embeddings plus sinusoidal positions, a post-norm Transformer (the paper's layers,
ReLU, no dropout) and a linear map to the output vocabulary. Its weights live in one flat dict keyed
like the ``state_dict()`` of this PyTorch module, so they load into PyTorch without renaming::

    class Seq2Seq(torch.nn.Module):
        src_embed = torch.nn.Embedding(src_vocab, d_model)
        tgt_embed = torch.nn.Embedding(tgt_vocab, d_model)
        transformer = torch.nn.Transformer(d_model, n_heads, ..., dropout=0.0, batch_first=True)
        generator = torch.nn.Linear(d_model, tgt_vocab)

The keys under ``transformer.`` are exactly those of ``torch.nn.Transformer``, so stripping that prefix
gives a state dict for :meth:`attention_ref.Transformer.from_state_dict`.

Training is the forward pass, the loss, and the backward pass written out block by block with the
functions of :mod:`attention_ref.backward`, then an :class:`~attention_ref.optim.Adam` step.

Axis letters: ``B`` batch, ``S`` source length, ``T`` target length, ``d`` = ``d_model``, ``h`` heads,
``V`` vocabulary size.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass

import numpy as np

from ._state import StateReader
from ._validation import check_positive_int
from .backward import (
    _cross_entropy,
    _cross_entropy_backward,
    _embedding_backward,
    _feed_forward_backward,
    _layer_norm_backward,
    _linear_backward,
    _mha_backward,
)
from .corpus import BOS, EOS, PAD
from .layers import _feed_forward, _layer_norm, positional_encoding
from .masks import causal_mask, padding_mask
from .multihead import MultiHeadAttention
from .optim import Adam

__all__ = [
    "Seq2SeqConfig",
    "decode",
    "encode",
    "greedy_decode",
    "init_params",
    "loss_and_grads",
    "lr_schedule",
    "train",
]

EPS = 1e-5  # layer norm's eps, PyTorch's default


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes of the model.

    Parameters
    ----------
    src_vocab, tgt_vocab : int
        Vocabulary sizes (with the special tokens).
    d_model : int
        Width of every vector between the blocks.
    n_heads : int
        Heads of every attention; must divide ``d_model``.
    num_encoder_layers, num_decoder_layers : int
    dim_feedforward : int
        Hidden width of the feed-forward blocks.
    """

    src_vocab: int
    tgt_vocab: int
    d_model: int = 32
    n_heads: int = 2
    num_encoder_layers: int = 1
    num_decoder_layers: int = 1
    dim_feedforward: int = 64

    def __post_init__(self):
        for name in ("src_vocab", "tgt_vocab", "d_model", "n_heads", "num_encoder_layers",
                     "num_decoder_layers", "dim_feedforward"):
            check_positive_int(getattr(self, name), name)
        if self.d_model % self.n_heads:
            msg = f"d_model = {self.d_model} is not divisible by n_heads = {self.n_heads}"
            raise ValueError(msg)


# --- parameters ------------------------------------------------------------------------------------
def _layer_shapes(cfg: Seq2SeqConfig, prefix: str, decoder: bool) -> dict[str, tuple[int, ...]]:
    d, f = cfg.d_model, cfg.dim_feedforward
    attn = {"in_proj_weight": (3 * d, d), "in_proj_bias": (3 * d,), "out_proj.weight": (d, d),
            "out_proj.bias": (d,)}
    shapes = {f"{prefix}self_attn.{k}": s for k, s in attn.items()}
    if decoder:
        shapes |= {f"{prefix}multihead_attn.{k}": s for k, s in attn.items()}
    shapes |= {f"{prefix}linear1.weight": (f, d), f"{prefix}linear1.bias": (f,),
               f"{prefix}linear2.weight": (d, f), f"{prefix}linear2.bias": (d,)}
    for n in range(1, 4 if decoder else 3):
        shapes |= {f"{prefix}norm{n}.weight": (d,), f"{prefix}norm{n}.bias": (d,)}
    return shapes


def param_shapes(cfg: Seq2SeqConfig) -> dict[str, tuple[int, ...]]:
    """Every weight's key and shape, in PyTorch's layout and naming."""
    d = cfg.d_model
    shapes = {"src_embed.weight": (cfg.src_vocab, d), "tgt_embed.weight": (cfg.tgt_vocab, d)}
    for i in range(cfg.num_encoder_layers):
        shapes |= _layer_shapes(cfg, f"transformer.encoder.layers.{i}.", decoder=False)
    shapes |= {"transformer.encoder.norm.weight": (d,), "transformer.encoder.norm.bias": (d,)}
    for i in range(cfg.num_decoder_layers):
        shapes |= _layer_shapes(cfg, f"transformer.decoder.layers.{i}.", decoder=True)
    shapes |= {"transformer.decoder.norm.weight": (d,), "transformer.decoder.norm.bias": (d,)}
    shapes |= {"generator.weight": (cfg.tgt_vocab, d), "generator.bias": (cfg.tgt_vocab,)}
    return shapes


def init_params(cfg: Seq2SeqConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Random initial weights, the same for the same seed.

    Matrices are drawn uniformly in :math:`\\pm\\sqrt{6/(n_{in}+n_{out})}` (Glorot's rule, as
    ``torch.nn.Transformer`` does), embeddings from :math:`N(0, 1/d_{model})`, biases are 0 and layer
    norms start as the identity (weight 1, bias 0).

    Parameters
    ----------
    cfg : Seq2SeqConfig
    seed : int, optional

    Returns
    -------
    dict of str to ndarray
        Keyed and shaped like the PyTorch module described in the module docstring.

    Examples
    --------
    >>> from attention_ref.seq2seq import Seq2SeqConfig, init_params
    >>> params = init_params(Seq2SeqConfig(src_vocab=10, tgt_vocab=12, d_model=8, n_heads=2))
    >>> params["transformer.decoder.layers.0.multihead_attn.in_proj_weight"].shape
    (24, 8)
    >>> sum(p.size for p in params.values())
    3452
    """
    if not isinstance(cfg, Seq2SeqConfig):
        msg = f"cfg must be a Seq2SeqConfig, got {type(cfg).__name__}"
        raise TypeError(msg)
    rng = np.random.default_rng(seed)
    params = {}
    for key, shape in param_shapes(cfg).items():
        if key.endswith("embed.weight"):
            params[key] = rng.normal(0.0, cfg.d_model**-0.5, size=shape)
        elif len(shape) == 2:
            bound = np.sqrt(6.0 / (shape[0] + shape[1]))
            params[key] = rng.uniform(-bound, bound, size=shape)
        elif ".norm" in key and key.endswith(".weight"):
            params[key] = np.ones(shape)
        else:
            params[key] = np.zeros(shape)
    return params


def _check_params(params, cfg):
    if not isinstance(cfg, Seq2SeqConfig):
        msg = f"cfg must be a Seq2SeqConfig, got {type(cfg).__name__}"
        raise TypeError(msg)
    reader = StateReader(params)
    checked = {key: reader.take(key, shape) for key, shape in param_shapes(cfg).items()}
    reader.finish()
    return checked


def _check_ids(ids, name, vocab):
    ids = np.asarray(ids)
    is_int = np.issubdtype(ids.dtype, np.integer)
    if not is_int or ids.ndim != 2 or 0 in ids.shape:
        msg = (
            f"{name} must be a non-empty (batch, length) integer array of token ids, "
            f"got {ids.dtype} {ids.shape}"
        )
        raise ValueError(msg) if is_int else TypeError(msg)
    if ids.min() < 0 or ids.max() >= vocab:
        msg = f"{name} must hold token ids in [0, {vocab}), got values from {ids.min()} to {ids.max()}"
        raise ValueError(msg)
    return ids


# --- forward, one block at a time (each returns what its backward needs) ---------------------------
def _embed(params, key, ids):
    table = params[key]  # (V, d)
    d = table.shape[1]
    return table[ids] * np.sqrt(d) + positional_encoding(ids.shape[1], d)  # (B, L, d)


def _mha(params, prefix, n_heads):
    return MultiHeadAttention._read(StateReader(params), n_heads, prefix)


def _norm(params, prefix, x):
    return _layer_norm(x, params[prefix + "weight"], params[prefix + "bias"], EPS)


def _ffn(params, prefix, x):
    p = params
    return _feed_forward(x, p[prefix + "linear1.weight"].T, p[prefix + "linear1.bias"],
                         p[prefix + "linear2.weight"].T, p[prefix + "linear2.bias"])


def _encoder_layer(params, prefix, x, src_mask, n_heads):
    sa = _mha(params, prefix + "self_attn.", n_heads)
    a, w = sa._forward(x, x, src_mask)  # (B, S, d), (B, h, S, S)
    r1 = x + a  # residual connection
    x1 = _norm(params, prefix + "norm1.", r1)  # post-norm: normalise after adding
    r2 = x1 + _ffn(params, prefix, x1)
    y = _norm(params, prefix + "norm2.", r2)  # (B, S, d)
    return y, {"x": x, "self_attn": sa, "self_attn_weights": w, "r1": r1, "x1": x1, "r2": r2}


def _decoder_layer(params, prefix, y, memory, tgt_mask, src_mask, n_heads):
    sa = _mha(params, prefix + "self_attn.", n_heads)  # masked self attention
    a, w_self = sa._forward(y, y, tgt_mask)  # (B, T, d), (B, h, T, T)
    r1 = y + a
    y1 = _norm(params, prefix + "norm1.", r1)
    ca = _mha(params, prefix + "multihead_attn.", n_heads)  # cross attention
    c, w_cross = ca._forward(y1, memory, src_mask)  # (B, T, d), (B, h, T, S)
    r2 = y1 + c
    y2 = _norm(params, prefix + "norm2.", r2)
    r3 = y2 + _ffn(params, prefix, y2)
    out = _norm(params, prefix + "norm3.", r3)  # (B, T, d)
    cache = {"y": y, "self_attn": sa, "self_attn_weights": w_self,
             "r1": r1, "y1": y1, "multihead_attn": ca,
             "multihead_attn_weights": w_cross, "r2": r2, "y2": y2, "r3": r3}
    return out, cache


def _encode(params, cfg, src):
    src_mask = padding_mask((src != PAD).sum(axis=1), src.shape[1])  # (B, 1, 1, S)
    x = _embed(params, "src_embed.weight", src)  # (B, S, d)
    caches = []
    for i in range(cfg.num_encoder_layers):
        x, cache = _encoder_layer(params, f"transformer.encoder.layers.{i}.", x, src_mask, cfg.n_heads)
        caches.append(cache)
    memory = _norm(params, "transformer.encoder.norm.", x)  # (B, S, d)
    return memory, {"src": src, "src_mask": src_mask, "layers": caches, "pre_norm": x}


def _decode(params, cfg, tgt_in, memory, src_mask):
    tgt_mask = causal_mask(tgt_in.shape[1])  # (T, T)
    y = _embed(params, "tgt_embed.weight", tgt_in)  # (B, T, d)
    caches = []
    for i in range(cfg.num_decoder_layers):
        y, cache = _decoder_layer(params, f"transformer.decoder.layers.{i}.", y, memory, tgt_mask,
                                  src_mask, cfg.n_heads)
        caches.append(cache)
    out = _norm(params, "transformer.decoder.norm.", y)  # (B, T, d)
    logits = out @ params["generator.weight"].T + params["generator.bias"]  # (B, T, V)
    return logits, {"tgt_in": tgt_in, "layers": caches, "pre_norm": y, "out": out}


def encode(params, cfg: Seq2SeqConfig, src):
    """Run the encoder: source token ids to memory vectors.

    Parameters
    ----------
    params : dict of str to ndarray
        From :func:`init_params` or :func:`train`.
    cfg : Seq2SeqConfig
    src : (B, S) array_like of int
        Source ids, padded with 0 on the right.

    Returns
    -------
    memory : (B, S, d_model) ndarray
    cache : dict
        ``cache["layers"][i]["self_attn_weights"]`` holds layer ``i``'s attention weights
        ``(B, h, S, S)``; ``cache["src_mask"]`` the padding mask ``(B, 1, 1, S)``.
    """
    params = _check_params(params, cfg)
    return _encode(params, cfg, _check_ids(src, "src", cfg.src_vocab))


def decode(params, cfg: Seq2SeqConfig, tgt_in, memory, src_mask):
    """Run the decoder on the output so far: ids to next-word logits at every position.

    Parameters
    ----------
    params : dict of str to ndarray
    cfg : Seq2SeqConfig
    tgt_in : (B, T) array_like of int
        ``<bos>`` followed by the output words so far.
    memory : (B, S, d_model) ndarray
        From :func:`encode`.
    src_mask : (B, 1, 1, S) ndarray of bool
        ``cache["src_mask"]`` from :func:`encode`.

    Returns
    -------
    logits : (B, T, tgt_vocab) ndarray
        Row ``t`` scores the word that follows ``tgt_in[:, :t + 1]``.
    cache : dict
        ``cache["layers"][i]`` holds ``"self_attn_weights"`` ``(B, h, T, T)`` and
        ``"multihead_attn_weights"`` ``(B, h, T, S)`` (cross attention), and the vectors in between
        (``"y1"``: the queries' input to cross attention).
    """
    params = _check_params(params, cfg)
    tgt_in = _check_ids(tgt_in, "tgt_in", cfg.tgt_vocab)
    memory = np.asarray(memory, dtype=np.float64)
    if memory.shape != (tgt_in.shape[0], memory.shape[1], cfg.d_model) or memory.ndim != 3:
        msg = (
            f"memory has shape {memory.shape} but needs "
            f"(batch = {tgt_in.shape[0]}, S, d_model = {cfg.d_model})"
        )
        raise ValueError(msg)
    return _decode(params, cfg, tgt_in, memory, src_mask)


# --- backward: the forward read from the end ----------------------------------------------------------
def _norm_backward(params, prefix, dy, x, grads):
    dx, d_gamma, d_beta = _layer_norm_backward(dy, x, params[prefix + "weight"], EPS)
    grads[prefix + "weight"], grads[prefix + "bias"] = d_gamma, d_beta
    return dx


def _ffn_backward(params, prefix, dy, x, grads):
    p = params
    w1, b1, w2 = p[prefix + "linear1.weight"].T, p[prefix + "linear1.bias"], p[prefix + "linear2.weight"].T
    dx, dw1, db1, dw2, db2 = _feed_forward_backward(dy, x, w1, b1, w2)
    grads[prefix + "linear1.weight"], grads[prefix + "linear1.bias"] = dw1.T, db1  # back to PyTorch's layout
    grads[prefix + "linear2.weight"], grads[prefix + "linear2.bias"] = dw2.T, db2
    return dx


def _attn_backward(mha, prefix, d_out, x, context, weights, grads):
    dx, d_context, g = _mha_backward(mha, d_out, x, context, weights)
    grads |= {prefix + k: v for k, v in g.state_dict().items()}
    return dx, d_context


def _encoder_layer_backward(params, prefix, dy, c, grads):
    # y = norm2(r2)
    d_r2 = _norm_backward(params, prefix + "norm2.", dy, c["r2"], grads)
    # r2 = x1 + ffn(x1): x1 gets the gradient twice, directly and through ffn
    d_x1 = d_r2 + _ffn_backward(params, prefix, d_r2, c["x1"], grads)
    # x1 = norm1(r1)
    d_r1 = _norm_backward(params, prefix + "norm1.", d_x1, c["r1"], grads)
    # r1 = x + attn(x, x)
    d_q, d_kv = _attn_backward(c["self_attn"], prefix + "self_attn.", d_r1,
                               c["x"], c["x"], c["self_attn_weights"], grads)
    # x is the residual, the queries, and the keys and values: three paths add up
    return d_r1 + d_q + d_kv


def _decoder_layer_backward(params, prefix, d_out, c, memory, grads):
    d_r3 = _norm_backward(params, prefix + "norm3.", d_out, c["r3"], grads)
    d_y2 = d_r3 + _ffn_backward(params, prefix, d_r3, c["y2"], grads)
    d_r2 = _norm_backward(params, prefix + "norm2.", d_y2, c["r2"], grads)
    d_q, d_memory = _attn_backward(c["multihead_attn"], prefix + "multihead_attn.", d_r2, c["y1"], memory,
                                   c["multihead_attn_weights"], grads)  # r2 = y1 + attn(y1, memory)
    d_y1 = d_r2 + d_q
    d_r1 = _norm_backward(params, prefix + "norm1.", d_y1, c["r1"], grads)
    d_q, d_kv = _attn_backward(c["self_attn"], prefix + "self_attn.", d_r1, c["y"], c["y"],
                               c["self_attn_weights"], grads)
    return d_r1 + d_q + d_kv, d_memory


def _embed_backward(params, key, dx, ids, grads):
    table = params[key]
    grads[key] = _embedding_backward(dx * np.sqrt(table.shape[1]), ids, table.shape[0])


def _backward(params, cfg, d_logits, enc, dec, memory):
    grads = {}
    # output projection and final decoder norm
    d_out, dw, grads["generator.bias"] = _linear_backward(d_logits, dec["out"], params["generator.weight"].T)
    grads["generator.weight"] = dw.T
    d_y = _norm_backward(params, "transformer.decoder.norm.", d_out, dec["pre_norm"], grads)
    # decoder layers, last first; every layer's cross attention sends gradient into the memory
    d_memory = np.zeros_like(memory)
    for i in reversed(range(cfg.num_decoder_layers)):
        d_y, d_mem = _decoder_layer_backward(params, f"transformer.decoder.layers.{i}.", d_y,
                                             dec["layers"][i], memory, grads)
        d_memory += d_mem
    _embed_backward(params, "tgt_embed.weight", d_y, dec["tgt_in"], grads)
    # encoder
    d_x = _norm_backward(params, "transformer.encoder.norm.", d_memory, enc["pre_norm"], grads)
    for i in reversed(range(cfg.num_encoder_layers)):
        prefix = f"transformer.encoder.layers.{i}."
        d_x = _encoder_layer_backward(params, prefix, d_x, enc["layers"][i], grads)
    _embed_backward(params, "src_embed.weight", d_x, enc["src"], grads)
    return grads


def _loss_and_grads(params, cfg, src, tgt_in, tgt_out):
    memory, enc = _encode(params, cfg, src)
    logits, dec = _decode(params, cfg, tgt_in, memory, enc["src_mask"])
    loss = _cross_entropy(logits, tgt_out, PAD)
    grads = _backward(params, cfg, _cross_entropy_backward(logits, tgt_out, PAD), enc, dec, memory)
    return loss, grads


def _check_batch(cfg, src, tgt_in, tgt_out):
    src = _check_ids(src, "src", cfg.src_vocab)
    tgt_in = _check_ids(tgt_in, "tgt_in", cfg.tgt_vocab)
    tgt_out = _check_ids(tgt_out, "tgt_out", cfg.tgt_vocab)
    if tgt_out.shape != tgt_in.shape or src.shape[0] != tgt_in.shape[0]:
        msg = (
            f"src {src.shape}, tgt_in {tgt_in.shape} and tgt_out {tgt_out.shape} need one "
            "batch size and tgt_out shaped like tgt_in"
        )
        raise ValueError(msg)
    if (src[:, 0] == PAD).any():
        msg = "src has a sentence that starts with padding (id 0); pad on the right of non-empty sentences"
        raise ValueError(msg)
    if not (tgt_out != PAD).any():
        msg = "tgt_out is all padding: there is nothing to learn"
        raise ValueError(msg)
    return src, tgt_in, tgt_out


def loss_and_grads(params, cfg: Seq2SeqConfig, src, tgt_in, tgt_out):
    """The loss on one batch and its gradient with respect to every weight.

    Parameters
    ----------
    params : dict of str to ndarray
    cfg : Seq2SeqConfig
    src : (B, S) array_like of int
        Source ids, padded with 0.
    tgt_in : (B, T) array_like of int
        ``<bos>`` + target ids (the decoder's input: "teacher forcing").
    tgt_out : (B, T) array_like of int
        Target ids + ``<eos>``, i.e. ``tgt_in`` shifted left by one: the word each position must predict.
        Padding (0) is left out of the loss.

    Returns
    -------
    loss : float
        Mean cross-entropy over the non-padding positions of ``tgt_out``.
    grads : dict of str to ndarray
        Same keys and shapes as ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.seq2seq import Seq2SeqConfig, init_params, loss_and_grads
    >>> cfg = Seq2SeqConfig(src_vocab=6, tgt_vocab=7, d_model=8, n_heads=2)
    >>> params = init_params(cfg)
    >>> src = np.array([[3, 4, 5], [5, 3, 0]])
    >>> tgt_in, tgt_out = np.array([[1, 4, 3], [1, 6, 0]]), np.array([[4, 3, 2], [6, 2, 0]])
    >>> loss, grads = loss_and_grads(params, cfg, src, tgt_in, tgt_out)
    >>> bool(abs(loss - np.log(7)) < 0.5)    # about log(V): no word preferred yet
    True
    >>> grads.keys() == params.keys()
    True
    """
    params = _check_params(params, cfg)
    return _loss_and_grads(params, cfg, *_check_batch(cfg, src, tgt_in, tgt_out))


def lr_schedule(step: int, *, steps: int, lr: float, warmup: int) -> float:
    """Learning rate of step ``step`` (1-based): a linear warm-up, then a half cosine down to 0.

    Parameters
    ----------
    step : int
        The step, from 1 to ``steps``.
    steps : int
        Number of steps in all.
    lr : float
        Peak learning rate, reached at ``step == warmup``.
    warmup : int
        Length of the warm-up. A post-norm Transformer trained at full rate from the first step can
        diverge: Adam's first steps are large while its running averages are still noisy.

    Returns
    -------
    float

    Examples
    --------
    >>> from attention_ref.seq2seq import lr_schedule
    >>> [round(lr_schedule(s, steps=10, lr=1.0, warmup=2), 3) for s in range(1, 11)]
    [0.5, 1.0, 0.962, 0.854, 0.691, 0.5, 0.309, 0.146, 0.038, 0.0]
    """
    steps = check_positive_int(steps, "steps")
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or not 1 <= step <= steps:
        msg = f"step must be an integer from 1 to steps = {steps}, got {step!r}"
        raise ValueError(msg)
    if isinstance(warmup, bool) or not isinstance(warmup, numbers.Integral) or warmup < 0:
        msg = f"warmup must be a non-negative integer, got {warmup!r}"
        raise ValueError(msg)
    if step <= warmup:
        return lr * step / warmup
    return float(lr * 0.5 * (1 + np.cos(np.pi * (step - warmup) / (steps - warmup))))


def train(params, cfg: Seq2SeqConfig, src, tgt_in, tgt_out, *, steps: int = 300, lr: float = 3e-3,
          warmup: int = 50, callback=None):
    """Train on one batch (the whole training set) with Adam; ``params`` is updated in place.

    Parameters
    ----------
    params : dict of str to ndarray
        Initial weights (from :func:`init_params`); replaced by the trained ones.
    cfg : Seq2SeqConfig
    src, tgt_in, tgt_out : (B, S), (B, T), (B, T) array_like of int
        As in :func:`loss_and_grads`.
    steps : int, optional
        Number of Adam steps.
    lr : float, optional
        Peak learning rate.
    warmup : int, optional
        The learning rate rises linearly from 0 to ``lr`` over this many steps (post-norm
        Transformers need it), then decays to 0 along a half cosine.
    callback : callable, optional
        Called as ``callback(step, loss)`` after each step.

    Returns
    -------
    dict
        ``"loss"``: list of the loss before each step; ``"seconds"``: wall time of the loop.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.seq2seq import Seq2SeqConfig, init_params, train
    >>> cfg = Seq2SeqConfig(src_vocab=6, tgt_vocab=7, d_model=8, n_heads=2)
    >>> params = init_params(cfg)
    >>> src = np.array([[3, 4, 5], [5, 3, 0]])
    >>> tgt_in, tgt_out = np.array([[1, 4, 3], [1, 6, 0]]), np.array([[4, 3, 2], [6, 2, 0]])
    >>> hist = train(params, cfg, src, tgt_in, tgt_out, steps=60, lr=1e-2, warmup=10)
    >>> bool(hist["loss"][-1] < 0.1 * hist["loss"][0])
    True
    """
    checked = _check_params(params, cfg)
    params.update(checked)  # float64 copies, so the updates below never write into the caller's arrays
    src, tgt_in, tgt_out = _check_batch(cfg, src, tgt_in, tgt_out)
    steps = check_positive_int(steps, "steps")
    lr_schedule(1, steps=steps, lr=lr, warmup=warmup)  # checks warmup
    opt = Adam(params, lr=lr, betas=(0.9, 0.98), eps=1e-9)  # the paper's betas and eps
    losses = []
    start = time.perf_counter()
    for step in range(1, steps + 1):
        loss, grads = _loss_and_grads(params, cfg, src, tgt_in, tgt_out)
        opt.lr = lr_schedule(step, steps=steps, lr=lr, warmup=warmup)
        opt.step(grads)
        losses.append(loss)
        if callback is not None:
            callback(step, loss)
    return {"loss": losses, "seconds": time.perf_counter() - start}


def greedy_decode(params, cfg: Seq2SeqConfig, src, max_len: int = 10):
    """Translate by repeatedly appending the most likely next word until ``<eos>``.

    Parameters
    ----------
    params : dict of str to ndarray
    cfg : Seq2SeqConfig
    src : (B, S) array_like of int
    max_len : int, optional
        Longest output (without ``<bos>``).

    Returns
    -------
    (B, T) ndarray of int
        ``<bos>`` followed by the chosen ids; each row ends at its first ``<eos>`` (later ids are
        padding). Feed it to :func:`decode` to see the attention that produced it.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.seq2seq import Seq2SeqConfig, greedy_decode, init_params
    >>> cfg = Seq2SeqConfig(src_vocab=6, tgt_vocab=7, d_model=8, n_heads=2)
    >>> out = greedy_decode(init_params(cfg), cfg, np.array([[3, 4, 5]]), max_len=4)
    >>> out.shape[0], int(out[0, 0])     # untrained: some words, but it starts with <bos>
    (1, 1)
    """
    params = _check_params(params, cfg)
    src = _check_ids(src, "src", cfg.src_vocab)
    max_len = check_positive_int(max_len, "max_len")
    memory, enc = _encode(params, cfg, src)
    out = np.full((src.shape[0], 1), BOS)  # (B, 1)
    done = np.zeros(src.shape[0], dtype=bool)
    for _ in range(max_len):
        logits, _ = _decode(params, cfg, out, memory, enc["src_mask"])  # (B, t, V)
        nxt = np.where(done, PAD, logits[:, -1].argmax(axis=-1))  # (B,)
        out = np.concatenate([out, nxt[:, None]], axis=1)
        done |= nxt == EOS
        if done.all():
            break
    return out
