"""Scaled dot-product attention.

Axis letters used in the shape comments:

- ``...``: any leading (batch, heads) axes, broadcast between q, k and v
- ``Lq``: number of queries (target length); ``Lk``: number of keys and values (source length)
- ``d_k``: size of a query/key vector; ``d_v``: size of a value vector
"""

from __future__ import annotations

from . import _core
from ._core import TILE_BYTES
from ._validation import check_flag, check_mask, check_no_overflow, check_qkv, check_scale
from .masks import causal_mask

__all__ = ["TILE_BYTES", "scaled_dot_product_attention"]

TILE_BYTES: int = TILE_BYTES
"""Bytes of attention scores per tile (2 MiB): :func:`scaled_dot_product_attention` cuts larger inputs
into tiles of queries whose scores take at most this much (at least 16 queries per tile)."""


def scaled_dot_product_attention(
    q, k, v, mask=None, *, causal=False, scale=None, need_weights=True, tiled=True
):
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
    tiled : bool, optional
        If False, compute every score at once on one thread instead of in tiles of queries on all
        cores (the same numbers up to rounding; the chapter 어텐션의 비용 times both ways).

    Returns
    -------
    output : (..., Lq, d_v) ndarray
        The weighted sums of the values.
    weights : (..., Lq, Lk) ndarray or None
        The attention weights. Each row sums to 1; masked entries are exactly 0. A query whose
        every key is masked gets weights 0 and output 0, as torch 2.13's
        ``F.scaled_dot_product_attention`` gives (``torch.softmax`` over an all ``-inf`` row and
        ``nn.MultiheadAttention`` give NaN there). None when ``need_weights=False``.

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
    q, k, v, batch, abs_max = check_qkv(q, k, v)
    scores_shape = (*batch, q.shape[-2], k.shape[-2])
    if mask is not None:
        mask = check_mask(mask, "mask", scores_shape)
    causal, need_weights = check_flag(causal, "causal"), check_flag(need_weights, "need_weights")
    tiled = check_flag(tiled, "tiled")
    scale = check_scale(scale, q.shape[-1], q.dtype)
    check_no_overflow(q, k, v, scale, abs_max=abs_max)
    if not tiled:
        if causal:
            tri = causal_mask(q.shape[-2], k.shape[-2])  # (Lq, Lk)
            mask = tri if mask is None else mask & tri
        return _core.attention(q, k, v, mask, scale, need_weights=need_weights)
    return _core.attention_tiled(q, k, v, mask, scale, causal=causal, need_weights=need_weights)
