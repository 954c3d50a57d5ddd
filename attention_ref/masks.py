"""Boolean attention masks. Convention: ``True`` means "this query may attend to this key".

This is PyTorch's convention for ``scaled_dot_product_attention`` (and JAX's). Note that
``torch.nn.MultiheadAttention`` uses the opposite one (``True`` = masked out).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import check_positive_int

__all__ = ["causal_mask", "padding_mask"]


def causal_mask(Lq: int, Lk: int | None = None) -> np.ndarray:
    """Mask that lets query ``i`` see keys ``0 .. i`` only (no peeking at later tokens).

    Parameters
    ----------
    Lq : int
        Number of queries.
    Lk : int, optional
        Number of keys; defaults to ``Lq``.

    Returns
    -------
    (Lq, Lk) ndarray of bool
        ``True`` where key ``j <= i``. Aligned top-left, like PyTorch's ``is_causal=True``.

    Examples
    --------
    >>> from attention_ref import causal_mask
    >>> causal_mask(3).astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
    """
    Lq = check_positive_int(Lq, "Lq")
    Lk = Lq if Lk is None else check_positive_int(Lk, "Lk")
    return np.tri(Lq, Lk, dtype=bool)  # (Lq, Lk)


def padding_mask(lengths, L: int) -> np.ndarray:
    """Mask that hides the padding keys at the end of each sequence in a batch.

    Parameters
    ----------
    lengths : (batch,) array_like of int
        The true length of each sequence, each between 0 and ``L``.
    L : int
        The padded length (``Lk``).

    Returns
    -------
    (batch, 1, 1, L) ndarray of bool
        ``True`` for the first ``lengths[b]`` keys of sequence ``b``. The two axes of length 1
        broadcast over heads and queries, so the mask fits scores of shape ``(batch, heads, Lq, L)``.

    Examples
    --------
    >>> from attention_ref import padding_mask
    >>> padding_mask([2, 3], 3)[:, 0, 0].astype(int)
    array([[1, 1, 0],
           [1, 1, 1]])
    """
    L = check_positive_int(L, "L")
    arr = np.asarray(lengths)
    if arr.ndim != 1 or not (
        np.issubdtype(arr.dtype, np.integer)
        or (arr.size == 0 and arr.dtype == np.float64)
        or all(isinstance(v, numbers.Integral) for v in arr.tolist())
    ):
        msg = f"lengths must be a 1-D sequence of integers, got shape {arr.shape} dtype {arr.dtype}"
        raise TypeError(msg)
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > L):
        msg = f"lengths must lie between 0 and L = {L}, got {arr.tolist()}"
        raise ValueError(msg)
    return (np.arange(L) < arr[:, None])[:, None, None, :]  # (batch, 1, 1, L)
