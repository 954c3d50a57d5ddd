"""Blockwise attention: FlashAttention's online softmax, in NumPy.

Dense attention holds the whole ``(Lq, Lk)`` score matrix at once: at ``Lq = Lk = 16384`` that is
1 GiB in float32 for a single head. The online softmax never holds more than one
``(block_q, block_k)`` tile of scores. For each block of queries it walks over the keys block by
block and keeps, per query, three running quantities: the largest score seen so far ``m``, the sum
``l`` of ``exp(score - m)`` over the keys seen so far, and the same sum of ``exp(score - m) * v``.
When a later block raises the maximum from ``m`` to ``m'``, everything summed so far is rescaled by
``exp(m - m')``; at the end, ``output = acc / l`` equals the dense result.

Axis letters: ``...`` leading (batch, heads) axes; ``Lq``/``Lk`` query/key lengths; ``R`` the queries
of one block (``block_q`` or fewer); ``d_k``/``d_v`` the vector sizes.
"""

from __future__ import annotations

import numpy as np

from ._parallel import run_tiles
from ._validation import check_flag, check_mask, check_no_overflow, check_positive_int, check_qkv, check_scale

__all__ = ["blockwise_attention", "online_softmax_steps"]


def online_softmax_steps(q, k, v, visible, block_k):
    """Online softmax of one block of (already scaled) queries, one block of keys at a time.

    ``q`` is ``(R, d_k)``, ``k`` ``(Lk, d_k)``, ``v`` ``(Lk, d_v)``. ``visible(j0, j1)`` says what the
    queries may see of keys ``j0 .. j1 - 1``: None (all of them), False (none: the block is skipped),
    or an ``(R, j1 - j0)`` boolean array. After each block it computes, yields
    ``(j0, j1, row_max, row_sum, acc)``: the running max ``m`` ``(R, 1)``, the running sum ``l``
    ``(R, 1)`` and the running ``sum exp(s - m) v`` ``(R, d_v)``, updated in place from one step to the
    next (copy them to keep them). The output of the block is ``acc / row_sum``.
    """
    R, Lk, dtype = q.shape[0], k.shape[0], q.dtype
    row_max = np.full((R, 1), -np.inf, dtype=dtype)  # m: largest score seen so far
    row_sum = np.zeros((R, 1), dtype=dtype)  # l: sum of exp(score - m) so far
    acc = np.zeros((R, v.shape[-1]), dtype=dtype)  # sum of exp(score - m) * v so far, (R, d_v)
    for j0 in range(0, Lk, block_k):
        j1 = min(j0 + block_k, Lk)
        seen = visible(j0, j1)
        if seen is False:
            continue  # every score of this tile is hidden: it would add exactly 0
        scores = q @ k[j0:j1].T  # (R, d_k) x (d_k, j1 - j0) -> (R, j1 - j0): the only tile in memory
        if seen is not None:
            np.copyto(scores, -np.inf, where=~seen)
        new_max = np.maximum(row_max, scores.max(axis=-1, keepdims=True))  # (R, 1)
        shift = np.where(new_max == -np.inf, 0, new_max)  # a query that has seen no key yet: no shift
        rescale = np.exp(row_max - shift)  # (R, 1): exp(m - m'), how the old sums shrink
        scores -= shift
        p = np.exp(scores, out=scores)  # (R, j1 - j0): exp(score - m'), in place
        row_sum *= rescale
        row_sum += p.sum(axis=-1, keepdims=True)  # l' = l exp(m - m') + sum exp(s - m')
        acc *= rescale
        acc += p @ v[j0:j1]  # (R, j1 - j0) x (j1 - j0, d_v) -> (R, d_v)
        row_max[...] = new_max
        yield j0, j1, row_max, row_sum, acc


def _blockwise(q, k, v, mask, scale, causal, block_q, block_k):
    """Unchecked core of :func:`blockwise_attention`; returns ``(output, tiles computed, tiles in all)``."""
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    Lq, Lk, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    q, k, v = (np.broadcast_to(a, (*batch, *a.shape[-2:])) for a in (q, k, v))  # views
    if mask is not None:
        mask = np.broadcast_to(mask, (*batch, Lq, Lk))  # a view
    output = np.empty((*batch, Lq, d_v), dtype=q.dtype)
    tiles = [(t, b, i0, min(i0 + block_q, Lq)) for t, (b, i0) in enumerate(
        (b, i0) for b in np.ndindex(batch) for i0 in range(0, Lq, block_q))]
    computed = np.zeros(len(tiles), dtype=np.int64)  # key blocks computed, per query block

    def query_block(t, b, i0, i1):
        def visible(j0, j1):  # what queries i0 .. i1 - 1 may see of keys j0 .. j1 - 1
            seen = None if mask is None else mask[b][i0:i1, j0:j1]
            if causal and j1 - 1 > i0:  # some key in the tile lies after some query
                if j0 > i1 - 1:
                    return False  # every key after every query: wholly masked
                tri = np.tri(i1 - i0, j1 - j0, i0 - j0, dtype=bool)  # key j0 + c <= query i0 + r
                seen = tri if seen is None else seen & tri
            if seen is not None and not seen.any():
                return False
            return seen

        last = None
        for step in online_softmax_steps(q[b][i0:i1] * scale, k[b], v[b], visible, block_k):
            computed[t] += 1
            last = step
        if last is None:  # no key visible to any query of the block
            output[b][i0:i1] = 0
            return
        _, _, _, row_sum, acc = last
        row_sum[row_sum == 0] = 1  # a query that sees no key: output 0
        np.divide(acc, row_sum, out=output[b][i0:i1])  # (R, d_v)

    run_tiles(query_block, tiles)
    return output, int(computed.sum()), len(tiles) * -(-Lk // block_k)


def blockwise_attention(
    q, k, v, *, mask=None, causal=False, scale=None, block_q=128, block_k=1024, return_stats=False
):
    r"""Compute attention one tile of scores at a time, never holding the whole score matrix.

    The result equals :func:`~attention_ref.scaled_dot_product_attention`'s output (up to rounding),
    but the memory it needs beyond its inputs and output does not grow with ``Lk``: one
    ``(block_q, block_k)`` tile of scores per thread, plus a few numbers per query.

    Parameters
    ----------
    q : (..., Lq, d_k) array_like
        Queries.
    k : (..., Lk, d_k) array_like
        Keys.
    v : (..., Lk, d_v) array_like
        Values, one row per key.
    mask : (..., Lq, Lk) array_like of bool, optional
        ``True`` where query ``i`` may attend to key ``j``; broadcast to ``(..., Lq, Lk)``.
    causal : bool, optional
        If True, query ``i`` sees only keys ``j <= i``; tiles that lie wholly after the diagonal are
        skipped, not computed.
    scale : float, optional
        Multiplies the scores; default :math:`1/\sqrt{d_k}`.
    block_q : int, optional
        Queries per block (default 128).
    block_k : int, optional
        Keys per block (default 1024).
    return_stats : bool, optional
        Also return a dict with the number of score tiles ``"tiles"``, of those ``"computed"`` and of
        those ``"skipped"`` (wholly masked).

    Returns
    -------
    output : (..., Lq, d_v) ndarray
        The weighted sums of the values. A query whose every key is masked gets 0.
    stats : dict
        Only with ``return_stats=True``.

    Raises
    ------
    ValueError
        If the shapes do not fit together, the mask does not broadcast, an input is not finite, or a
        block size is not positive.
    TypeError
        If an input is not numeric, the mask is not boolean, or a flag is not a bool.

    Notes
    -----
    For one query with scores :math:`s_1, \dots, s_{L_k}` visited in blocks, after each block
    :math:`B` the running maximum, sum and weighted sum become

    .. math::
        m' = \max\bigl(m, \max_{j \in B} s_j\bigr),\quad
        \ell' = \ell\, e^{m - m'} + \sum_{j \in B} e^{s_j - m'},\quad
        a' = a\, e^{m - m'} + \sum_{j \in B} e^{s_j - m'} v_j,

    starting from :math:`m = -\infty,\ \ell = 0,\ a = 0`; the output is :math:`a / \ell`. This is
    the online softmax of Milakov and Gimelshein, used by FlashAttention (Dao et al., 2022).

    References
    ----------
    M. Milakov and N. Gimelshein, "Online normalizer calculation for softmax", 2018.
    T. Dao et al., "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
    NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import blockwise_attention, scaled_dot_product_attention
    >>> rng = np.random.default_rng(0)
    >>> q, k, v = rng.normal(size=(5, 4)), rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    >>> out = blockwise_attention(q, k, v, block_q=2, block_k=3)  # (5, 3), scores in 2 x 3 tiles
    >>> dense, _ = scaled_dot_product_attention(q, k, v)
    >>> bool(np.allclose(out, dense, rtol=0, atol=1e-12))
    True
    >>> out, stats = blockwise_attention(q, q, v[:5], causal=True, block_q=2, block_k=2, return_stats=True)
    >>> stats
    {'tiles': 9, 'computed': 6, 'skipped': 3}
    """
    q, k, v, batch, abs_max = check_qkv(q, k, v)
    if mask is not None:
        mask = check_mask(mask, "mask", (*batch, q.shape[-2], k.shape[-2]))
    causal, return_stats = check_flag(causal, "causal"), check_flag(return_stats, "return_stats")
    block_q = check_positive_int(block_q, "block_q")
    block_k = check_positive_int(block_k, "block_k")
    scale = check_scale(scale, q.shape[-1], q.dtype)
    check_no_overflow(q, k, v, scale, abs_max=abs_max)
    output, computed, tiles = _blockwise(q, k, v, mask, scale, causal, block_q, block_k)
    if return_stats:
        return output, {"tiles": tiles, "computed": computed, "skipped": tiles - computed}
    return output
