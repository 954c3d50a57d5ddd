"""Scaled dot-product attention.

Axis letters used in the shape comments:

- ``...``: any leading (batch, heads) axes, broadcast between q, k and v
- ``Lq``: number of queries (target length); ``Lk``: number of keys and values (source length)
- ``d_k``: size of a query/key vector; ``d_v``: size of a value vector
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, check_finite, check_mask, check_scale, compute_dtype
from .masks import causal_mask
from .softmax import _softmax

__all__ = ["scaled_dot_product_attention"]


def _check_qkv(q, k, v):
    """Validate q, k, v; return them as arrays of one floating dtype plus the batch shape."""
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
    for name, arr in (("q", q), ("k", k), ("v", v)):
        check_finite(arr, name)
    dtype = compute_dtype(q, k, v)
    return q.astype(dtype, copy=False), k.astype(dtype, copy=False), v.astype(dtype, copy=False), batch


def _attention(q, k, v, mask=None, scale=None):
    """Unchecked core: ``softmax(q k^T * scale, masked) @ v``; ``mask`` True = may attend."""
    if scale is None:
        scale = q.dtype.type(1.0 / np.sqrt(q.shape[-1]))
    scores = (q * scale) @ np.swapaxes(k, -1, -2)  # (..., Lq, d_k) x (..., d_k, Lk) -> (..., Lq, Lk)
    if mask is not None:
        np.copyto(scores, -np.inf, where=~mask)  # hidden keys: exp(-inf) = 0, weight exactly 0
    weights = _softmax(scores, axis=-1)  # (..., Lq, Lk), each row sums to 1 (or 0 if all hidden)
    output = weights @ v  # (..., Lq, Lk) x (..., Lk, d_v) -> (..., Lq, d_v)
    return output, weights


def scaled_dot_product_attention(q, k, v, mask=None, *, causal=False, scale=None):
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

    Returns
    -------
    output : (..., Lq, d_v) ndarray
        The weighted sums of the values.
    weights : (..., Lq, Lk) ndarray
        The attention weights. Each row sums to 1; masked entries are exactly 0. A query whose
        every key is masked gets weights 0 and output 0 (PyTorch returns NaN there).

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
    q, k, v, batch = _check_qkv(q, k, v)
    scores_shape = (*batch, q.shape[-2], k.shape[-2])
    if mask is not None:
        mask = check_mask(mask, "mask", scores_shape)
    if not isinstance(causal, (bool, np.bool_)):
        msg = f"causal must be True or False, got {causal!r}"
        raise TypeError(msg)
    if causal:
        tri = causal_mask(q.shape[-2], k.shape[-2])  # (Lq, Lk)
        mask = tri if mask is None else mask & tri
    scale = check_scale(scale, q.shape[-1], q.dtype)
    return _attention(q, k, v, mask, scale)
