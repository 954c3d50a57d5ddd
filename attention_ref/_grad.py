"""The unchecked backward kernels: gradients of the kernels of :mod:`attention_ref._core` (internal).

Each takes ``dy``, the gradient of the loss with respect to a forward's output (shaped like that
output), and what the forward recorded on its ``tape`` or was given, and returns the gradients with
respect to the forward's inputs and weights, each shaped like the thing it is the gradient of. This
is the chain rule, one block at a time: a model's backward pass calls these in the reverse order of
its forward pass. The layers' ``backward`` methods call them; the checked, public versions are in
:mod:`attention_ref.training.backward`. This module is internal infrastructure.

Axis letters: ``h`` heads, ``Lq``/``Lk`` query/key lengths, ``d`` model width, ``d_ff`` feed-forward
width, ``V`` vocabulary size, ``N`` any number of positions.

Weights follow the package's layout ``y = x @ w + b`` (``w`` is ``(d_in, d_out)``); PyTorch stores
``w.T``.
"""

from __future__ import annotations

import numpy as np

from . import _core


def sum_to_shape(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so that it gets ``shape``."""
    extra = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(extra))) if extra else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True) if stretched else g


def linear_backward(dy, x, w):
    """Gradients ``(dx, dw, db)`` of ``y = x @ w + b``."""
    d_in, d_out = w.shape
    dx = dy @ w.T  # (..., d_out) x (d_out, d_in) -> (..., d_in)
    dw = x.reshape(-1, d_in).T @ dy.reshape(-1, d_out)  # (d_in, N) x (N, d_out) -> (d_in, d_out)
    db = dy.reshape(-1, d_out).sum(axis=0)  # (d_out,)
    return dx, dw, db


def softmax_backward(dy, y, axis=-1):
    """Gradient with respect to the scores of ``y = softmax(scores)``, from ``y`` itself."""
    # each weight's gradient minus the weighted mean of all gradients in its row
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))  # shaped like y


def attention_backward(d_out, q, k, v, weights, scale=None):
    """Gradients ``(dq, dk, dv)`` of ``softmax(q k^T * scale) @ v``; masked weights are 0, so are their gradients."""
    if scale is None:
        scale = q.dtype.type(1.0 / np.sqrt(q.shape[-1]))
    # (..., Lk, Lq) x (..., Lq, d_v) -> (..., Lk, d_v)
    dv = np.swapaxes(weights, -1, -2) @ d_out
    # (..., Lq, d_v) x (..., d_v, Lk) -> (..., Lq, Lk)
    d_weights = d_out @ np.swapaxes(v, -1, -2)
    d_scores = softmax_backward(d_weights, weights)  # (..., Lq, Lk), 0 if masked
    # (..., Lq, Lk) x (..., Lk, d_k) -> (..., Lq, d_k)
    dq = (d_scores @ k) * scale
    # (..., Lk, Lq) x (..., Lq, d_k) -> (..., Lk, d_k)
    dk = np.swapaxes(d_scores, -1, -2) @ (q * scale)
    # broadcast leading axes: sum the gradient over the copies
    return (sum_to_shape(dq, q.shape), sum_to_shape(dk, k.shape),
            sum_to_shape(dv, v.shape))


def layer_norm_backward(dy, tape, gamma):
    """Gradients ``(dx, d_gamma, d_beta)`` of layer normalisation, from the forward's ``tape``."""
    x_hat, inv_sigma = tape["x_hat"], tape["inv_sigma"]  # (..., d), (..., 1): kept by the forward
    d = x_hat.shape[-1]
    d_gamma = (dy * x_hat).reshape(-1, d).sum(axis=0)  # (d,): every position used the same gamma
    d_beta = dy.reshape(-1, d).sum(axis=0)  # (d,)
    g = dy * gamma  # (..., d): gradient with respect to x_hat
    # x_hat depends on x directly and through the mean and the spread:
    # remove those two directions from g
    g_mean = g.mean(axis=-1, keepdims=True)  # (..., 1)
    gx_mean = (g * x_hat).mean(axis=-1, keepdims=True)  # (..., 1)
    dx = inv_sigma * (g - g_mean - x_hat * gx_mean)  # (..., d)
    return dx, d_gamma, d_beta


def feed_forward_backward(dy, tape, w1, w2):
    """Gradients ``(dx, dw1, db1, dw2, db2)`` of ``relu(x @ w1 + b1) @ w2 + b2``, from the forward's ``tape``."""
    x, hidden = tape["x"], tape["hidden"]  # (..., d), (..., d_ff): kept by the forward
    d_hidden, dw2, db2 = linear_backward(dy, hidden, w2)  # (..., d_ff)
    d_pre = d_hidden * (hidden > 0)  # ReLU passes the gradient where it was active, else 0
    dx, dw1, db1 = linear_backward(d_pre, x, w1)  # (..., d)
    return dx, dw1, db1, dw2, db2


def embedding_backward(dy, ids, vocab_size):
    """Gradient ``(vocab_size, d)`` of the lookup ``table[ids]`` with respect to the table."""
    d_table = np.zeros((vocab_size, dy.shape[-1]), dtype=dy.dtype)  # (V, d)
    np.add.at(d_table, ids.reshape(-1), dy.reshape(-1, dy.shape[-1]))  # a word used twice adds twice
    return d_table


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)  # (..., V)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits, targets, ignore_index=-100):
    """Mean negative log-probability of the targets over the positions not equal to ``ignore_index``."""
    keep = targets != ignore_index  # (...,) positions that count
    logp = log_softmax(logits[keep])  # (n, V)
    return float(-logp[np.arange(len(logp)), targets[keep]].mean())


def cross_entropy_backward(logits, targets, ignore_index=-100):
    """Gradient of :func:`cross_entropy` with respect to the logits."""
    keep = targets != ignore_index  # (...,)
    d_logits = _core.softmax(logits, axis=-1)  # (..., V): predicted probabilities
    d_logits[keep, targets[keep]] -= 1.0  # minus the one-hot target
    d_logits[~keep] = 0.0  # padding contributes nothing
    return d_logits / keep.sum()
