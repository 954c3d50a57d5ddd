"""Scaled dot-product attention.

Axis letters used in the shape comments:

- ``...``: any leading (batch, heads) axes, broadcast between q, k and v
- ``Lq``: number of queries (target length); ``Lk``: number of keys and values (source length)
- ``d_k``: size of a query/key vector; ``d_v``: size of a value vector
"""

from __future__ import annotations

import numpy as np

from ._parallel import run_tiles
from ._validation import as_array, check_mask, check_no_overflow, check_scale, compute_dtype, finite_abs_max
from .masks import causal_mask

__all__ = ["scaled_dot_product_attention"]


def _check_qkv(q, k, v):
    """Validate q, k, v; return them in one floating dtype, the batch shape, and max |q|, |k|, |v|."""
    q = as_array(q, "q", min_ndim=2)
    k = as_array(k, "k", min_ndim=2)
    v = as_array(v, "v", min_ndim=2)
    for name, arr in (("q", q), ("k", k), ("v", v)):
        if 0 in arr.shape[-2:]:
            msg = f"{name} has shape {arr.shape}; its last two axes must not be empty"
            raise ValueError(msg)
    d_k = q.shape[-1]
    if k.shape[-1] != d_k:
        msg = (
            f"k has shape {k.shape} but q's last axis is {d_k}: "
            f"k's last axis must equal d_k = {d_k}"
        )
        raise ValueError(msg)
    if v.shape[-2] != k.shape[-2]:
        msg = (
            f"v has shape {v.shape} but k has shape {k.shape}: v needs one row per key, "
            f"so v's second-to-last axis must equal Lk = {k.shape[-2]}"
        )
        raise ValueError(msg)
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        msg = (
            f"the leading (batch) axes of q {q.shape}, k {k.shape} and v {v.shape} do not "
            "broadcast together"
        )
        raise ValueError(msg) from None
    abs_max = [finite_abs_max(arr, name) for name, arr in (("q", q), ("k", k), ("v", v))]
    dtype = compute_dtype(q, k, v)
    q, k, v = (a.astype(dtype, copy=False) for a in (q, k, v))
    return q, k, v, batch, abs_max


def _attention(q, k, v, mask=None, scale=None, *, need_weights=True):
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


#: Bytes of scores a tile of :func:`_attention_tiled` aims at: small enough to stay in a core's cache.
TILE_BYTES = 1 << 21


def _attention_tiled(q, k, v, mask=None, scale=None, *, causal=False, need_weights=True):
    """:func:`_attention` (with ``causal`` ANDed into ``mask``), computed tile by tile on all cores.

    A tile is one batch entry and a block of consecutive queries, small enough that its scores stay in
    the cache while the softmax passes over them. Each row of the result depends only on its own query,
    so the tiles are independent: :func:`~attention_ref._parallel.run_tiles` runs them in threads. With
    ``causal``, a block of queries ``i0 .. i1 - 1`` sees no key after ``i1 - 1``: those keys are skipped.
    """
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    Lq, Lk, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    q, k, v = (np.broadcast_to(a, (*batch, *a.shape[-2:])) for a in (q, k, v))  # views, no copies
    if int(np.prod(batch)) * Lq * Lk * q.itemsize <= TILE_BYTES:  # all the scores fit in one tile
        if causal:
            tri = causal_mask(Lq, Lk)  # (Lq, Lk)
            mask = tri if mask is None else mask & tri
        return _attention(q, k, v, mask, scale, need_weights=need_weights)
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
        out, w = _attention(q[b][i0:i1], k[b][:end], v[b][:end], m, scale, need_weights=need_weights)
        output[b][i0:i1] = out
        if need_weights:
            weights[b][i0:i1, :end] = w

    run_tiles(tile, ((b, i0, min(i0 + rows, Lq)) for b in np.ndindex(batch) for i0 in range(0, Lq, rows)))
    return output, weights


def scaled_dot_product_attention(q, k, v, mask=None, *, causal=False, scale=None, need_weights=True):
    r"""Let each query gather the values, weighted by how well it matches each key.

    Parameters
    ----------
    q : (..., Lq, d_k) array_like
        Queries.
    k : (..., Lk, d_k) array_like
        Keys.
    v : (..., Lk, d_v) array_like
        Values, one row per key.
    mask : (..., Lq, Lk) array_like of bool, optional
        ``True`` where query ``i`` may attend to key ``j`` (PyTorch's convention). Must broadcast to
        the scores' shape ``(..., Lq, Lk)``.
    causal : bool, optional
        If True, query ``i`` sees only keys ``j <= i`` (top-left aligned, as PyTorch's
        ``is_causal``). Combined with ``mask`` by logical AND.
    scale : float, optional
        Multiplies the scores; default :math:`1/\sqrt{d_k}`.
    need_weights : bool, optional
        If False, skip normalising the ``(..., Lq, Lk)`` weights and return None in their place; the
        output is the same (up to rounding) and comes faster, as PyTorch's
        ``scaled_dot_product_attention``, which never returns the weights.

    Returns
    -------
    output : (..., Lq, d_v) ndarray
        The weighted sums of the values.
    weights : (..., Lq, Lk) ndarray or None
        The attention weights. Each row sums to 1; masked entries are exactly 0. A query whose
        every key is masked gets weights 0 and output 0 (PyTorch returns NaN there). None when
        ``need_weights=False``.

    Raises
    ------
    ValueError
        If the shapes do not fit together, the mask does not broadcast, or an input is not finite.
    TypeError
        If an input is not numeric or the mask is not boolean.

    Notes
    -----
    .. math::
        \operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V

    Leading axes broadcast. float32 inputs give float32 results; integers compute in float64.

    Large inputs are computed in tiles of queries, in parallel on all cores (see the chapter
    어텐션의 비용); the result does not depend on the tiling beyond rounding.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import scaled_dot_product_attention
    >>> q = np.array([[1.0, 0.0]])                # (Lq=1, d_k=2)
    >>> k = np.array([[1.0, 0.0], [0.0, 1.0]])    # (Lk=2, d_k=2)
    >>> v = np.array([[10.0, 0.0], [0.0, 10.0]])  # (Lk=2, d_v=2)
    >>> out, w = scaled_dot_product_attention(q, k, v)
    >>> w.round(3)
    array([[0.67, 0.33]])
    >>> out.round(2)
    array([[6.7, 3.3]])
    >>> out, w = scaled_dot_product_attention(q, k, v, mask=np.array([[False, True]]))
    >>> w
    array([[0., 1.]])
    """
    q, k, v, batch, abs_max = _check_qkv(q, k, v)
    scores_shape = (*batch, q.shape[-2], k.shape[-2])
    if mask is not None:
        mask = check_mask(mask, "mask", scores_shape)
    for name, flag in (("causal", causal), ("need_weights", need_weights)):
        if not isinstance(flag, (bool, np.bool_)):
            msg = f"{name} must be True or False, got {flag!r}"
            raise TypeError(msg)
    scale = check_scale(scale, q.shape[-1], q.dtype)
    check_no_overflow(q, k, v, scale, abs_max=abs_max)
    return _attention_tiled(q, k, v, mask, scale, causal=bool(causal), need_weights=bool(need_weights))
