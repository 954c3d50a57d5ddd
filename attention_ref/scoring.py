"""Attention scores: how well each query matches each key, before the softmax turns them into weights.

Three ways to score every (query, key) pair at once:

- :func:`additive_scores`: the small network of Bahdanau et al., ``v . tanh(q_i W_q + k_j W_k)``;
- :func:`dot_scores`: the dot product ``q_i . k_j``;
- :func:`scaled_dot_scores`: the dot product times ``1/sqrt(d_k)``, exactly the scores that
  :func:`~attention_ref.scaled_dot_product_attention` softmaxes (without a mask).

Axis letters used in the shape comments:

- ``...``: any leading (batch, heads) axes, broadcast between q and k
- ``Lq``: number of queries; ``Lk``: number of keys
- ``d_q``/``d_k``: size of a query/key vector (the dot products need ``d_q = d_k``)
- ``d_att``: width of the additive score's hidden layer
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, check_scale, compute_dtype, finite_abs_max

__all__ = ["additive_scores", "dot_scores", "scaled_dot_scores"]


# --- checks ----------------------------------------------------------------------------------------
def _check_queries_keys(q, k, *, same_width: bool):
    """q and k as arrays of at least 2 axes, non-empty, batch axes that broadcast; their max |.|."""
    q = as_array(q, "q", min_ndim=2)
    k = as_array(k, "k", min_ndim=2)
    for name, arr in (("q", q), ("k", k)):
        if 0 in arr.shape[-2:]:
            msg = f"{name} has shape {arr.shape}; its last two axes must not be empty"
            raise ValueError(msg)
    if same_width and k.shape[-1] != q.shape[-1]:
        msg = (
            f"k has shape {k.shape} but q has shape {q.shape}: a dot product needs vectors of one size, "
            f"so k's last axis must equal d_k = {q.shape[-1]}"
        )
        raise ValueError(msg)
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    except ValueError:
        msg = f"the leading (batch) axes of q {q.shape} and k {k.shape} do not broadcast together"
        raise ValueError(msg) from None
    return q, k, finite_abs_max(q, "q"), finite_abs_max(k, "k")


def _check_too_large(bound: float, dtype, what: str) -> None:
    big = float(np.finfo(dtype).max)
    if not bound < big:  # Python floats: a bound of inf compares, it never raises
        msg = f"{what} could reach {bound:.3g}, beyond the largest {np.dtype(dtype)} {big:.3g}; rescale the inputs"
        raise ValueError(msg)


def _check_param(w, name: str, shape: tuple, why: str) -> np.ndarray:
    """``w`` as an array of ``shape`` (None: d_att, any size but 0), or a ``ValueError`` naming ``name``."""
    w = as_array(w, name)
    sizes = ["d_att" if s is None else str(s) for s in shape]
    wanted = f"({sizes[0]},)" if len(sizes) == 1 else "(" + ", ".join(sizes) + ")"
    if w.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, w.shape, strict=False)):
        msg = f"{name} has shape {w.shape} but needs shape {wanted}: {why}"
        raise ValueError(msg)
    if 0 in w.shape:
        msg = f"{name} has shape {w.shape}; the hidden layer needs d_att >= 1 units"
        raise ValueError(msg)
    return w


# --- unchecked cores --------------------------------------------------------------------------------
def _additive(q, k, w_q, w_k, v):
    """Unchecked core of :func:`additive_scores` (floating arrays of one dtype, shapes that fit)."""
    qp = q @ w_q  # (..., Lq, d_q) x (d_q, d_att) -> (..., Lq, d_att)
    kp = k @ w_k  # (..., Lk, d_k) x (d_k, d_att) -> (..., Lk, d_att)
    hidden = np.tanh(qp[..., :, None, :] + kp[..., None, :, :])  # (..., Lq, 1, d_att) + (..., 1, Lk, d_att)
    # -> (..., Lq, Lk, d_att): one hidden layer per (query, key) pair
    return hidden @ v  # (..., Lq, Lk, d_att) x (d_att,) -> (..., Lq, Lk)


def _dot(q, k, scale=None):
    """Unchecked core of :func:`dot_scores` and :func:`scaled_dot_scores`, as ``_core.attention`` scores."""
    if scale is not None:
        q = q * scale  # (..., Lq, d_k): Lq * d_k products instead of Lq * Lk
    return q @ np.swapaxes(k, -1, -2)  # (..., Lq, d_k) x (..., d_k, Lk) -> (..., Lq, Lk)


# --- public functions -------------------------------------------------------------------------------
def additive_scores(q, k, w_q, w_k, v) -> np.ndarray:
    r"""Score every query against every key with a one-hidden-layer network (additive attention).

    Parameters
    ----------
    q : (..., Lq, d_q) array_like
        Queries (in Bahdanau et al., the decoder's state).
    k : (..., Lk, d_k) array_like
        Keys (the encoder's outputs). ``d_k`` may differ from ``d_q``.
    w_q : (d_q, d_att) array_like
        Projects a query into the hidden layer (the package's ``x @ W`` layout; PyTorch's
        ``nn.Linear`` stores the transpose).
    w_k : (d_k, d_att) array_like
        Projects a key into the hidden layer.
    v : (d_att,) array_like
        Turns the hidden layer into one number. (A parameter of the score, not the attention's values.)

    Returns
    -------
    (..., Lq, Lk) ndarray
        ``scores[..., i, j]`` scores query ``i`` against key ``j``. float32 inputs give float32;
        integers compute in float64.

    Raises
    ------
    TypeError
        If an input is not a real numeric array.
    ValueError
        If a shape does not fit (the message names the argument, its shape and the shape needed), the
        batch axes do not broadcast, an input is not finite, or the inputs are so large that the hidden
        layer could overflow.

    See Also
    --------
    dot_scores, scaled_dot_scores

    Notes
    -----
    .. math:: s_{ij} = v^\top \tanh\!\left(q_i W_q + k_j W_k\right)

    Every pair gets its own hidden layer: the intermediate array has shape ``(..., Lq, Lk, d_att)``,
    and the score costs ``Lq * Lk * d_att`` evaluations of ``tanh``, besides the parameters ``w_q``,
    ``w_k`` and ``v`` to learn. Since ``|tanh| <= 1``, every score lies in ``[-sum |v|, sum |v|]``.

    The score of D. Bahdanau, K. Cho, Y. Bengio, "Neural Machine Translation by Jointly Learning to Align
    and Translate" (ICLR 2015), there written :math:`v_a^\top \tanh(W_a s_{i-1} + U_a h_j)`.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import additive_scores
    >>> q = np.array([[1.0, 0.0]])               # (Lq=1, d_q=2)
    >>> k = np.array([[1.0, 0.0], [0.0, 1.0]])   # (Lk=2, d_k=2)
    >>> s = additive_scores(q, k, np.eye(2), np.eye(2), np.array([1.0, 1.0]))
    >>> s.shape
    (1, 2)
    >>> np.allclose(s, [[np.tanh(2.0), 2 * np.tanh(1.0)]])
    True
    >>> additive_scores(q, k, np.eye(2), np.eye(3), np.ones(2))
    Traceback (most recent call last):
        ...
    ValueError: w_k has shape (3, 3) but needs shape (2, 2): one row per entry of a key (k's last axis,
    d_k = 2), one column per column of w_q
    """
    q, k, q_max, k_max = _check_queries_keys(q, k, same_width=False)
    d_q, d_k = q.shape[-1], k.shape[-1]
    w_q = _check_param(w_q, "w_q", (d_q, None), f"one row per entry of a query (q's last axis, d_q = {d_q})")
    d_att = w_q.shape[1]
    w_k = _check_param(w_k, "w_k", (d_k, d_att),
                       f"one row per entry of a key (k's last axis, d_k = {d_k}), one column per column of w_q")
    v = _check_param(v, "v", (d_att,), f"one entry per column of w_q (d_att = {d_att})")
    wq_max, wk_max, v_max = (finite_abs_max(a, n) for a, n in ((w_q, "w_q"), (w_k, "w_k"), (v, "v")))
    dtype = compute_dtype(q, k, w_q, w_k, v)
    # |q_i W_q + k_j W_k| <= d_q max|q| max|w_q| + d_k max|k| max|w_k|, and |s_ij| <= d_att max|v|
    _check_too_large(d_q * q_max * wq_max + d_k * k_max * wk_max, dtype,
                     "the hidden layer q W_q + k W_k")
    _check_too_large(d_att * v_max, dtype, "the scores")
    q, k, w_q, w_k, v = (a.astype(dtype, copy=False) for a in (q, k, w_q, w_k, v))
    return _additive(q, k, w_q, w_k, v)


def dot_scores(q, k) -> np.ndarray:
    r"""Score every query against every key by their dot product.

    Parameters
    ----------
    q : (..., Lq, d_k) array_like
        Queries.
    k : (..., Lk, d_k) array_like
        Keys, as long as the queries.

    Returns
    -------
    (..., Lq, Lk) ndarray
        ``scores[..., i, j] = q[..., i, :] . k[..., j, :]``: all pairs in one matrix product, no
        parameters. float32 inputs give float32; integers compute in float64.

    Raises
    ------
    TypeError
        If an input is not a real numeric array.
    ValueError
        If the shapes do not fit, the batch axes do not broadcast, an input is not finite, or the
        scores could overflow.

    See Also
    --------
    scaled_dot_scores, additive_scores

    Notes
    -----
    .. math:: s_{ij} = q_i \cdot k_j = \sum_{c=1}^{d_k} q_{ic} k_{jc}, \qquad S = Q K^\top

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import dot_scores
    >>> q = np.array([[1.0, 2.0]])               # (Lq=1, d_k=2)
    >>> k = np.array([[1.0, 0.0], [3.0, 1.0]])   # (Lk=2, d_k=2)
    >>> dot_scores(q, k)
    array([[1., 5.]])
    >>> dot_scores(q, np.ones((2, 3)))
    Traceback (most recent call last):
        ...
    ValueError: k has shape (2, 3) but q has shape (1, 2): a dot product needs vectors of one size,
    so k's last axis must equal d_k = 2
    """
    q, k, q_max, k_max = _check_queries_keys(q, k, same_width=True)
    dtype = compute_dtype(q, k)
    _check_too_large(q.shape[-1] * q_max * k_max, dtype, "the scores")
    return _dot(q.astype(dtype, copy=False), k.astype(dtype, copy=False))


def scaled_dot_scores(q, k) -> np.ndarray:
    r"""Score every query against every key by their dot product divided by :math:`\sqrt{d_k}`.

    These are the scores that :func:`~attention_ref.scaled_dot_product_attention` (with its default
    ``scale``) turns into weights, computed the same way: ``softmax(scaled_dot_scores(q, k))`` gives
    its weights.

    Parameters
    ----------
    q : (..., Lq, d_k) array_like
        Queries.
    k : (..., Lk, d_k) array_like
        Keys, as long as the queries.

    Returns
    -------
    (..., Lq, Lk) ndarray
        ``scores[..., i, j] = q[..., i, :] . k[..., j, :] / sqrt(d_k)``. float32 inputs give float32;
        integers compute in float64.

    Raises
    ------
    TypeError
        If an input is not a real numeric array.
    ValueError
        If the shapes do not fit, the batch axes do not broadcast, an input is not finite, or the
        scores could overflow.

    See Also
    --------
    dot_scores, additive_scores

    Notes
    -----
    .. math:: s_{ij} = \frac{q_i \cdot k_j}{\sqrt{d_k}}, \qquad S = \frac{Q K^\top}{\sqrt{d_k}}

    Dividing by :math:`\sqrt{d_k}` keeps the scores' spread about 1 whatever ``d_k`` is, so that the softmax
    does not saturate (Vaswani et al., "Attention Is All You Need", 2017).

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import scaled_dot_scores, softmax, scaled_dot_product_attention
    >>> q = np.array([[3.0, 4.0]])               # (Lq=1, d_k=2)
    >>> k = np.array([[1.0, 0.0], [0.0, 2.0]])   # (Lk=2, d_k=2)
    >>> np.allclose(scaled_dot_scores(q, k), [[3 / np.sqrt(2), 8 / np.sqrt(2)]])
    True
    >>> _, w = scaled_dot_product_attention(q, k, np.eye(2))
    >>> np.allclose(softmax(scaled_dot_scores(q, k)), w)
    True
    """
    q, k, q_max, k_max = _check_queries_keys(q, k, same_width=True)
    dtype = compute_dtype(q, k)
    scale = check_scale(None, q.shape[-1], dtype)  # the scalar scaled_dot_product_attention uses
    _check_too_large(q.shape[-1] * q_max * k_max * float(scale), dtype, "the scores")
    return _dot(q.astype(dtype, copy=False), k.astype(dtype, copy=False), scale)
