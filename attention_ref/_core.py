"""The unchecked array kernels behind the public functions and layers (internal infrastructure).

Every public function of the package validates its arguments once, at the top, and then calls one of
these kernels; the layers and models call them directly on arrays they have already checked. Nothing
here checks its input: the arrays must be floating, finite (``-inf`` only where a mask put it) and of
matching shapes. This module is internal: other modules of the package may import its names, pages
and users may not rely on them.

The kernels that a backward pass reads again take an optional ``tape`` dict and write into it what
:mod:`attention_ref._grad` needs, so that no forward is ever run a second time.

Axis letters used in the shape comments:

- ``...``: any leading axes (batch, heads, or positions treated alike)
- ``Lq``/``Lk``: number of queries/keys; ``d_k``/``d_v``: size of a query/key and of a value vector
- ``L``: sequence length; ``d_model``: model width; ``d_ff``: hidden width of the feed-forward block
"""

from __future__ import annotations

import numpy as np

from ._parallel import matmul, run_tiles
from .masks import causal_mask


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Core of :func:`attention_ref.softmax` (``x`` a float array, possibly holding ``-inf``)."""
    x_max = np.max(x, axis=axis, keepdims=True)
    x_max[~np.isfinite(x_max)] = 0  # an all -inf slice: exp(-inf - 0) = 0 everywhere
    with np.errstate(over="ignore"):  # x - x_max below -max_float is -inf, whose exp is the right 0
        e = np.exp(x - x_max)
    total = np.sum(e, axis=axis, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def attention(q, k, v, mask=None, scale=None, *, need_weights=True):
    """Unchecked core: ``softmax(q k^T * scale, masked) @ v``; ``mask`` True = may attend.

    The formula, written so that NumPy passes over the ``(Lq, Lk)`` scores as few times as it can:
    q is scaled instead of the scores (``Lq * d_k`` products instead of ``Lq * Lk``), the softmax
    runs in place, and without the weights (``need_weights=False``, None returned in their place)
    the ``Lq * d_v`` outputs are divided by the row sums instead of the ``Lq * Lk`` weights.
    """
    if scale is None:
        scale = q.dtype.type(1.0 / np.sqrt(q.shape[-1]))
    scores = (q * scale) @ np.swapaxes(k, -1, -2)  # (..., Lq, d_k) x (..., d_k, Lk) -> (..., Lq, Lk)
    if mask is not None:
        np.copyto(scores, -np.inf, where=~mask)  # hidden keys: exp(-inf) = 0, weight exactly 0
    row_max = scores.max(axis=-1, keepdims=True)  # (..., Lq, 1)
    row_max[row_max == -np.inf] = 0  # a query that sees no key: exp(-inf - 0) = 0 everywhere
    with np.errstate(over="ignore"):  # a score far below the max may become -inf: exp gives 0 anyway
        scores -= row_max  # softmax in place: shift each row by its max so that exp cannot overflow
    weights = np.exp(scores, out=scores)  # (..., Lq, Lk), in place, not yet normalised
    total = weights.sum(axis=-1, keepdims=True)  # (..., Lq, 1)
    total[total == 0] = 1  # a query that sees no key keeps weights 0 and output 0
    if not need_weights:
        output = weights @ v  # (..., Lq, Lk) x (..., Lk, d_v) -> (..., Lq, d_v)
        output /= total  # normalise the Lq * d_v outputs instead of the Lq * Lk weights
        return output, None
    weights /= total  # each row sums to 1
    output = weights @ v  # (..., Lq, Lk) x (..., Lk, d_v) -> (..., Lq, d_v)
    return output, weights


#: Bytes of scores a tile of :func:`attention_tiled` aims at: small enough to stay in the CPU's cache
#: (a core's L2 on some machines, the shared L3 on others) while the softmax passes over it.
TILE_BYTES = 1 << 21


def attention_tiled(q, k, v, mask=None, scale=None, *, causal=False, need_weights=True):
    """:func:`attention` (with ``causal`` ANDed into ``mask``), computed tile by tile on all cores.

    A tile is one batch entry and a block of consecutive queries, small enough (:data:`TILE_BYTES`) that
    its scores stay in the cache while the softmax passes over them. Each row of the result depends only
    on its own query, so the tiles are independent: :func:`~attention_ref._parallel.run_tiles` runs them
    in threads. With ``causal``, a block of queries ``i0 .. i1 - 1`` sees no key after ``i1 - 1``: those
    keys are skipped.
    """
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    Lq, Lk, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    q, k, v = (np.broadcast_to(a, (*batch, *a.shape[-2:])) for a in (q, k, v))  # views, no copies
    if int(np.prod(batch)) * Lq * Lk * q.itemsize <= TILE_BYTES:  # all the scores fit in one tile
        if causal:
            tri = causal_mask(Lq, Lk)  # (Lq, Lk)
            mask = tri if mask is None else mask & tri
        return attention(q, k, v, mask, scale, need_weights=need_weights)
    if mask is not None:
        mask = np.broadcast_to(mask, (*batch, Lq, Lk))  # a view: no (batch, Lq, Lk) copy
    rows = max(16, TILE_BYTES // (Lk * q.itemsize))  # queries per tile
    output = np.empty((*batch, Lq, d_v), dtype=q.dtype)
    weights = np.zeros((*batch, Lq, Lk), dtype=q.dtype) if need_weights else None
    if causal:  # one strip serves every tile: strip[r, Lk - i0 + j] is True where key j <= query i0 + r
        strip = np.tri(rows, Lk + rows, Lk, dtype=bool)  # (rows, Lk + rows)

    def tile(b, i0, i1):  # batch entry b, queries i0 .. i1 - 1
        end = min(Lk, i1) if causal else Lk  # keys this block can see at all
        m = None if mask is None else mask[b][i0:i1, :end]  # (rows, end)
        if causal and i0 < Lk:  # (from query Lk - 1 on, every key is visible)
            tri = strip[: i1 - i0, Lk - i0 : Lk - i0 + end]  # rows i0 .. i1 - 1 of causal_mask(Lq, Lk)
            m = tri if m is None else m & tri
        out, w = attention(q[b][i0:i1], k[b][:end], v[b][:end], m, scale, need_weights=need_weights)
        output[b][i0:i1] = out
        if need_weights:
            weights[b][i0:i1, :end] = w

    run_tiles(tile, ((b, i0, min(i0 + rows, Lq)) for b in np.ndindex(batch) for i0 in range(0, Lq, rows)))
    return output, weights


def sinusoids(length, d_model):
    """Core of :func:`attention_ref.positional_encoding`."""
    pos = np.arange(length, dtype=np.float64)[:, None]  # (L, 1)
    pair = np.arange(d_model) // 2  # (d_model,): i for columns 2i and 2i+1
    freq = 10000.0 ** (-2.0 * pair / d_model)  # (d_model,): 1 / 10000^(2i / d_model)
    angles = pos * freq  # (L, d_model): position times each pair's speed
    return np.where(np.arange(d_model) % 2 == 0, np.sin(angles), np.cos(angles))  # (L, d_model)


def layer_norm(x, gamma, beta, eps, tape=None):
    """Core of :func:`attention_ref.layer_norm`; ``tape`` keeps ``x_hat`` and ``1 / sigma`` for the backward."""
    mean = x.mean(axis=-1, keepdims=True)  # (..., 1)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)  # (..., 1), biased, as in PyTorch
    x_hat = (x - mean) / np.sqrt(var + eps)  # (..., d_model): mean 0, variance 1 per position
    if tape is not None:
        tape["x_hat"], tape["inv_sigma"] = x_hat, 1.0 / np.sqrt(var + eps)
    return x_hat * gamma.astype(x.dtype, copy=False) + beta.astype(x.dtype, copy=False)


def linear(x, w, b=None):
    """``x @ w + b`` in ``x``'s dtype (``b`` may be None): the package's one linear map.

    ``x`` is ``(..., n_in)``, ``w`` ``(n_in, n_out)`` (picoGPT's layout; PyTorch stores ``w.T``), ``b``
    ``(n_out,)``. Large products are split by rows over the threads (:func:`~attention_ref._parallel.matmul`).
    """
    w = w.astype(x.dtype, copy=False)
    b = None if b is None else b.astype(x.dtype, copy=False)
    return matmul(x, w, b)  # (..., n_in) x (n_in, n_out) + (n_out,) -> (..., n_out)


def feed_forward(x, w1, b1, w2, b2, tape=None):
    """Core of :func:`attention_ref.feed_forward`; ``tape`` keeps its input and hidden layer for the backward."""
    hidden = np.maximum(linear(x, w1, b1), 0)  # (..., d_model) x (d_model, d_ff) -> (..., d_ff), ReLU
    if tape is not None:
        tape["x"], tape["hidden"] = x, hidden
    return linear(hidden, w2, b2)  # (..., d_ff) x (d_ff, d_model) -> (..., d_model)
