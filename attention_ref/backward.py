r"""Backward passes: the gradient of a loss with respect to the inputs and weights of each building block.

Every forward function of the package has a partner here that takes ``dy``, the gradient of the loss
with respect to the forward's output (same shape as that output), plus what the forward was given,
and returns the gradients with respect to the forward's inputs and weights (each shaped like the
thing it is the gradient of). This is the chain rule, one block at a time: a model's backward pass
calls these partners in the reverse order of its forward pass.

The partners recompute cheap intermediate values (a projection, a mean) from the forward's inputs
instead of asking the forward to store them, so the forwards stay the plain functions of the rest of
the package.

Axis letters: ``B`` batch, ``h`` heads, ``Lq``/``Lk`` query/key lengths, ``d`` model width,
``d_ff`` feed-forward width, ``V`` vocabulary size, ``N`` any number of positions.

Weights follow the package's layout ``y = x @ w + b`` (``w`` is ``(d_in, d_out)``); PyTorch stores
``w.T``.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

from ._validation import as_array, check_finite
from .multihead import MultiHeadAttention, merge_heads, split_heads
from .softmax import _softmax

__all__ = [
    "attention_backward",
    "cross_entropy",
    "cross_entropy_backward",
    "embedding_backward",
    "feed_forward_backward",
    "layer_norm_backward",
    "linear_backward",
    "mha_backward",
    "softmax_backward",
]


# --- checks ----------------------------------------------------------------------------------------
def _array(x, name, min_ndim=1):
    arr = as_array(x, name, min_ndim=min_ndim)
    check_finite(arr, name)
    return arr


def _check_shape(arr, name, shape, what):
    if arr.shape != tuple(shape):
        msg = f"{name} has shape {arr.shape} but must have shape {tuple(shape)} ({what})"
        raise ValueError(msg)


def _sum_to_shape(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so that it gets ``shape``."""
    extra = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(extra))) if extra else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True) if stretched else g


# --- linear map ------------------------------------------------------------------------------------
def _linear_backward(dy, x, w):
    d_in, d_out = w.shape
    dx = dy @ w.T  # (..., d_out) x (d_out, d_in) -> (..., d_in)
    dw = x.reshape(-1, d_in).T @ dy.reshape(-1, d_out)  # (d_in, N) x (N, d_out) -> (d_in, d_out)
    db = dy.reshape(-1, d_out).sum(axis=0)  # (d_out,)
    return dx, dw, db


def linear_backward(dy, x, w):
    r"""Gradients of a linear map ``y = x @ w + b``.

    Parameters
    ----------
    dy : (..., d_out) array_like
        Gradient of the loss with respect to ``y``.
    x : (..., d_in) array_like
        The forward's input.
    w : (d_in, d_out) array_like
        The weight.

    Returns
    -------
    dx : (..., d_in) ndarray
    dw : (d_in, d_out) ndarray
    db : (d_out,) ndarray
        The bias gets the sum of ``dy`` over every position, because each position added it once.

    Notes
    -----
    .. math:: \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} W^\top,\qquad
              \frac{\partial L}{\partial W} = x^\top \frac{\partial L}{\partial y},\qquad
              \frac{\partial L}{\partial b} = \textstyle\sum_n \frac{\partial L}{\partial y_n}

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.backward import linear_backward
    >>> x = np.array([[1.0, 2.0]])            # (N=1, d_in=2)
    >>> w = np.array([[1.0, 0.0, 2.0],
    ...               [0.0, 1.0, 3.0]])       # (d_in=2, d_out=3)
    >>> dx, dw, db = linear_backward(np.array([[1.0, 0.0, 0.0]]), x, w)
    >>> dx, dw[:, 0], db
    (array([[1., 0.]]), array([1., 2.]), array([1., 0., 0.]))
    """
    w = _array(w, "w", 2)
    if w.ndim != 2:
        msg = f"w has shape {w.shape} but must be a (d_in, d_out) matrix"
        raise ValueError(msg)
    x = _array(x, "x")
    dy = _array(dy, "dy")
    _check_shape(x, "x", (*x.shape[:-1], w.shape[0]), "its last axis must be d_in = w.shape[0]")
    _check_shape(dy, "dy", (*x.shape[:-1], w.shape[1]), "the shape of y = x @ w + b")
    return _linear_backward(dy, x, w)


# --- softmax ---------------------------------------------------------------------------------------
def _softmax_backward(dy, y, axis=-1):
    # each weight's gradient minus the weighted mean of all gradients in its row
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))  # shaped like y


def softmax_backward(dy, y, axis: int = -1):
    r"""Gradient of ``y = softmax(x)`` with respect to ``x``, from ``y`` itself.

    Parameters
    ----------
    dy : array_like
        Gradient of the loss with respect to ``y``.
    y : array_like
        The softmax's output (same shape as ``dy``). Entries that were masked (``y = 0``) get
        gradient exactly 0.
    axis : int, optional
        The axis the softmax normalised.

    Returns
    -------
    ndarray
        Gradient with respect to the scores ``x``, shaped like ``y``.

    Notes
    -----
    Each weight depends on every score of its row: :math:`\partial y_i / \partial x_j = y_i(\delta_{ij}
    - y_j)`. Summed against ``dy``:

    .. math:: \frac{\partial L}{\partial x_j} = y_j \Big(\frac{\partial L}{\partial y_j} - \sum_i
              \frac{\partial L}{\partial y_i} y_i\Big)

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import softmax
    >>> from attention_ref.backward import softmax_backward
    >>> y = softmax(np.array([1.0, 2.0, 3.0]))
    >>> g = softmax_backward(np.ones(3), y)    # the sum of y is always 1: gradient 0
    >>> bool(np.allclose(g, 0.0))
    True
    """
    y = _array(y, "y")
    dy = _array(dy, "dy")
    _check_shape(dy, "dy", y.shape, "the shape of y")
    if not -y.ndim <= axis < y.ndim:
        msg = f"axis {axis} is out of range for y with shape {y.shape}"
        raise ValueError(msg)
    return _softmax_backward(dy, y, axis)


# --- scaled dot-product attention ------------------------------------------------------------------
def _attention_backward(d_out, q, k, v, weights, scale=None):
    if scale is None:
        scale = q.dtype.type(1.0 / np.sqrt(q.shape[-1]))
    # (..., Lk, Lq) x (..., Lq, d_v) -> (..., Lk, d_v)
    dv = np.swapaxes(weights, -1, -2) @ d_out
    # (..., Lq, d_v) x (..., d_v, Lk) -> (..., Lq, Lk)
    d_weights = d_out @ np.swapaxes(v, -1, -2)
    d_scores = _softmax_backward(d_weights, weights)  # (..., Lq, Lk), 0 if masked
    # (..., Lq, Lk) x (..., Lk, d_k) -> (..., Lq, d_k)
    dq = (d_scores @ k) * scale
    # (..., Lk, Lq) x (..., Lq, d_k) -> (..., Lk, d_k)
    dk = np.swapaxes(d_scores, -1, -2) @ (q * scale)
    # broadcast leading axes: sum the gradient over the copies
    return (_sum_to_shape(dq, q.shape), _sum_to_shape(dk, k.shape),
            _sum_to_shape(dv, v.shape))


def attention_backward(d_out, q, k, v, weights, *, scale=None):
    r"""Gradients of scaled dot-product attention with respect to ``q``, ``k`` and ``v``.

    Parameters
    ----------
    d_out : (..., Lq, d_v) array_like
        Gradient of the loss with respect to the attention's output.
    q : (..., Lq, d_k) array_like
    k : (..., Lk, d_k) array_like
    v : (..., Lk, d_v) array_like
        The forward's inputs (leading axes may broadcast, as in the forward).
    weights : (..., Lq, Lk) array_like
        The attention weights the forward returned. A mask needs no argument: masked weights are 0,
        and so are their gradients.
    scale : float, optional
        The forward's scale, default :math:`1/\sqrt{d_k}`.

    Returns
    -------
    dq, dk, dv : ndarray
        Shaped like ``q``, ``k``, ``v``.

    Notes
    -----
    Read the forward :math:`S = s\,QK^\top`, :math:`A = \operatorname{softmax}(S)`, :math:`O = AV`
    backwards:

    .. math:: \frac{\partial L}{\partial V} = A^\top \frac{\partial L}{\partial O},\quad
              \frac{\partial L}{\partial A} = \frac{\partial L}{\partial O} V^\top,\quad
              \frac{\partial L}{\partial Q} = s\,\frac{\partial L}{\partial S} K,\quad
              \frac{\partial L}{\partial K} = s\,\Big(\frac{\partial L}{\partial S}\Big)^\top Q

    with :math:`\partial L / \partial S` from :func:`softmax_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import scaled_dot_product_attention
    >>> from attention_ref.backward import attention_backward
    >>> rng = np.random.default_rng(0)
    >>> q, k, v = rng.normal(size=(2, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 5))
    >>> out, w = scaled_dot_product_attention(q, k, v)
    >>> dq, dk, dv = attention_backward(np.ones_like(out), q, k, v, w)
    >>> dq.shape, dk.shape, dv.shape
    ((2, 4), (3, 4), (3, 5))
    >>> bool(np.allclose(dv.sum(axis=0), 2.0))  # each of the 2 queries hands out total weight 1
    True
    """
    q, k, v = _array(q, "q", 2), _array(k, "k", 2), _array(v, "v", 2)
    weights, d_out = _array(weights, "weights", 2), _array(d_out, "d_out", 2)
    if k.shape[-1] != q.shape[-1] or v.shape[-2] != k.shape[-2]:
        msg = (
            f"q {q.shape}, k {k.shape}, v {v.shape} do not fit: need (..., Lq, d_k), "
            "(..., Lk, d_k), (..., Lk, d_v)"
        )
        raise ValueError(msg)
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        msg = f"the leading axes of q {q.shape}, k {k.shape} and v {v.shape} do not broadcast together"
        raise ValueError(msg) from None
    Lq, Lk = q.shape[-2], k.shape[-2]
    _check_shape(weights, "weights", (*batch, Lq, Lk), "(..., Lq, Lk), as the forward returned it")
    _check_shape(d_out, "d_out", (*batch, Lq, v.shape[-1]), "(..., Lq, d_v), the shape of the output")
    bad_scale = isinstance(scale, bool) or not isinstance(scale, numbers.Real)
    if scale is not None and (bad_scale or not np.isfinite(scale)):
        msg = f"scale must be a finite real number, got {scale!r}"
        raise TypeError(msg)
    return _attention_backward(d_out, q, k, v, weights, scale)


# --- multi-head attention --------------------------------------------------------------------------
def _mha_backward(mha, d_out, x, c, weights):
    h = mha.n_heads
    # recompute what the forward computed on the way (three projections and the heads' outputs)
    q = split_heads(mha._project(x, mha.w_q, mha.b_q), h)  # (B, h, Lq, d_head)
    k = split_heads(mha._project(c, mha.w_k, mha.b_k), h)  # (B, h, Lk, d_head)
    v = split_heads(mha._project(c, mha.w_v, mha.b_v), h)  # (B, h, Lk, d_head)
    heads = merge_heads(weights @ v)  # (B, h, Lq, Lk) x (B, h, Lk, d_head) -> (B, Lq, d)
    # then walk back: output projection, attention, the three input projections
    d_heads, dw_o, db_o = _linear_backward(d_out, heads, mha.w_o)  # (B, Lq, d)
    dq, dk, dv = _attention_backward(split_heads(d_heads, h), q, k, v, weights)  # (B, h, L, d_head)
    dx, dw_q, db_q = _linear_backward(merge_heads(dq), x, mha.w_q)  # (B, Lq, d)
    dc_k, dw_k, db_k = _linear_backward(merge_heads(dk), c, mha.w_k)  # (B, Lk, d)
    dc_v, dw_v, db_v = _linear_backward(merge_heads(dv), c, mha.w_v)  # (B, Lk, d)
    grads = copy.copy(mha)  # same structure as the module, holding gradients
    grads.w_q, grads.w_k, grads.w_v, grads.w_o = dw_q, dw_k, dw_v, dw_o
    if mha.bias:
        grads.b_q, grads.b_k, grads.b_v, grads.b_o = db_q, db_k, db_v, db_o
    return dx, dc_k + dc_v, grads


def mha_backward(mha, d_out, x, context=None, weights=None):
    """Gradients of a :class:`~attention_ref.MultiHeadAttention` call.

    Parameters
    ----------
    mha : MultiHeadAttention
        The module that ran forward.
    d_out : (batch, Lq, d_model) array_like
        Gradient of the loss with respect to the module's output.
    x : (batch, Lq, d_model) array_like
        The queries' sequence given to the forward.
    context : (batch, Lk, d_model) array_like, optional
        The keys' and values' sequence; None for self attention (then ``context`` is ``x``).
    weights : (batch, heads, Lq, Lk) array_like
        The attention weights the forward returned (they carry the mask).

    Returns
    -------
    dx : (batch, Lq, d_model) ndarray
        Gradient with respect to ``x``. For self attention it includes the paths through the keys
        and values, because there ``x`` plays all three roles.
    d_context : (batch, Lk, d_model) ndarray or None
        Gradient with respect to ``context`` (None for self attention).
    grads : MultiHeadAttention
        A copy of ``mha`` whose attributes ``w_q, ..., b_o`` hold the gradients of the weights, so
        ``grads.state_dict()`` lays them out as PyTorch does.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import MultiHeadAttention
    >>> from attention_ref.backward import mha_backward
    >>> mha = MultiHeadAttention(d_model=4, n_heads=2, seed=0)
    >>> x = np.random.default_rng(0).normal(size=(1, 3, 4))   # (batch, L, d_model)
    >>> out, w = mha(x, causal=True)
    >>> dx, _, grads = mha_backward(mha, np.ones_like(out), x, weights=w)
    >>> dx.shape, grads.w_q.shape, sorted(grads.state_dict())[0]
    ((1, 3, 4), (4, 4), 'in_proj_bias')
    """
    if not isinstance(mha, MultiHeadAttention):
        msg = f"mha must be a MultiHeadAttention, got {type(mha).__name__}"
        raise TypeError(msg)
    x = _array(x, "x", 3)
    c = x if context is None else _array(context, "context", 3)
    d = mha.d_model
    if x.ndim != 3 or c.ndim != 3 or x.shape[-1] != d or c.shape[-1] != d or c.shape[0] != x.shape[0]:
        msg = (
            f"x {x.shape} and context {c.shape} must be (batch, L, d_model) with "
            f"d_model = {d} and one batch size"
        )
        raise ValueError(msg)
    if weights is None:
        msg = "weights is required: pass the attention weights the forward returned"
        raise TypeError(msg)
    weights = _array(weights, "weights", 4)
    w_shape = (x.shape[0], mha.n_heads, x.shape[1], c.shape[1])
    _check_shape(weights, "weights", w_shape, "(batch, heads, Lq, Lk)")
    d_out = _array(d_out, "d_out", 3)
    _check_shape(d_out, "d_out", x.shape, "the shape of the output, (batch, Lq, d_model)")
    dx, dc, grads = _mha_backward(mha, d_out, x, c, weights)
    if context is None:
        return dx + dc, None, grads
    return dx, dc, grads


# --- layer normalisation ---------------------------------------------------------------------------
def _layer_norm_backward(dy, x, gamma, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)  # (..., 1)
    inv_sigma = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + eps)  # (..., 1)
    x_hat = (x - mu) * inv_sigma  # (..., d): the normalised input
    d = x.shape[-1]
    d_gamma = (dy * x_hat).reshape(-1, d).sum(axis=0)  # (d,)
    d_beta = dy.reshape(-1, d).sum(axis=0)  # (d,)
    g = dy * gamma  # (..., d): gradient with respect to x_hat
    # x_hat depends on x directly and through the mean and the spread:
    # remove those two directions from g
    g_mean = g.mean(axis=-1, keepdims=True)  # (..., 1)
    gx_mean = (g * x_hat).mean(axis=-1, keepdims=True)  # (..., 1)
    dx = inv_sigma * (g - g_mean - x_hat * gx_mean)  # (..., d)
    return dx, d_gamma, d_beta


def layer_norm_backward(dy, x, gamma, eps: float = 1e-5):
    r"""Gradients of layer normalisation ``y = gamma * (x - mean) / sqrt(var + eps) + beta``.

    Parameters
    ----------
    dy : (..., d) array_like
        Gradient of the loss with respect to ``y``.
    x : (..., d) array_like
        The forward's input.
    gamma : (d,) array_like
        The forward's scale (``beta`` does not enter the gradients).
    eps : float, optional
        The forward's ``eps``.

    Returns
    -------
    dx : (..., d) ndarray
    d_gamma, d_beta : (d,) ndarray

    Notes
    -----
    With :math:`\hat x = (x - \mu)/\sigma` and :math:`g = \gamma \odot \partial L/\partial y`:

    .. math:: \frac{\partial L}{\partial x} = \frac{1}{\sigma}\Big(g - \overline{g}
              - \hat x\, \overline{g \odot \hat x}\Big)

    where the bars are means over the last axis. Adding a constant to :math:`x`, or scaling it,
    leaves :math:`\hat x` unchanged, so :math:`\partial L / \partial x` has no component along those
    directions.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.backward import layer_norm_backward
    >>> x = np.array([[1.0, 2.0, 4.0]])
    >>> dx, d_gamma, d_beta = layer_norm_backward(np.array([[1.0, 0.0, 0.0]]), x, np.ones(3))
    >>> bool(np.isclose(dx.sum(), 0.0))     # shifting x changes nothing
    True
    >>> bool(np.isclose((dx * x).sum(), 0.0, atol=1e-5))   # nor does scaling it (up to eps)
    True
    """
    x = _array(x, "x")
    gamma = _array(gamma, "gamma")
    dy = _array(dy, "dy")
    _check_shape(gamma, "gamma", (x.shape[-1],), "(d,), with d the last axis of x")
    _check_shape(dy, "dy", x.shape, "the shape of x")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        msg = f"eps must be a positive number, got {eps!r}"
        raise ValueError(msg)
    return _layer_norm_backward(dy, x, gamma, eps)


# --- position-wise feed-forward --------------------------------------------------------------------
def _feed_forward_backward(dy, x, w1, b1, w2):
    pre = x @ w1 + b1  # (..., d_ff): recomputed pre-activation
    hidden = np.maximum(pre, 0.0)  # (..., d_ff)
    d_hidden, dw2, db2 = _linear_backward(dy, hidden, w2)  # (..., d_ff)
    d_pre = d_hidden * (pre > 0)  # ReLU passes the gradient where it was active, else 0
    dx, dw1, db1 = _linear_backward(d_pre, x, w1)  # (..., d)
    return dx, dw1, db1, dw2, db2


def feed_forward_backward(dy, x, w1, b1, w2):
    r"""Gradients of the feed-forward block ``y = relu(x @ w1 + b1) @ w2 + b2``.

    Parameters
    ----------
    dy : (..., d) array_like
        Gradient of the loss with respect to ``y``.
    x : (..., d) array_like
        The forward's input.
    w1 : (d, d_ff) array_like
    b1 : (d_ff,) array_like
    w2 : (d_ff, d) array_like
        The forward's weights (``b2`` does not enter the gradients).

    Returns
    -------
    dx : (..., d) ndarray
    dw1 : (d, d_ff) ndarray
    db1 : (d_ff,) ndarray
    dw2 : (d_ff, d) ndarray
    db2 : (d,) ndarray

    Notes
    -----
    Two :func:`linear_backward` steps with ReLU's derivative between them: 1 where the
    pre-activation was positive, 0 elsewhere (PyTorch also uses 0 at exactly 0).

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.backward import feed_forward_backward
    >>> x = np.array([[1.0, -1.0]])                          # (N=1, d=2)
    >>> w1, b1 = np.eye(2), np.zeros(2)                      # (d, d_ff=2)
    >>> w2 = np.ones((2, 2))                                 # (d_ff, d)
    >>> dx, dw1, db1, dw2, db2 = feed_forward_backward(np.ones((1, 2)), x, w1, b1, w2)
    >>> dx                                                   # the negative unit is off
    array([[2., 0.]])
    """
    x, dy = _array(x, "x"), _array(dy, "dy")
    w1, b1, w2 = _array(w1, "w1", 2), _array(b1, "b1"), _array(w2, "w2", 2)
    d = x.shape[-1]
    if w1.ndim != 2 or w1.shape[0] != d:
        msg = f"w1 has shape {w1.shape} but must be (d, d_ff) with d = {d}, the last axis of x"
        raise ValueError(msg)
    d_ff = w1.shape[1]
    _check_shape(b1, "b1", (d_ff,), "(d_ff,)")
    _check_shape(w2, "w2", (d_ff, d), "(d_ff, d)")
    _check_shape(dy, "dy", x.shape, "the shape of x")
    return _feed_forward_backward(dy, x, w1, b1, w2)


# --- embeddings ------------------------------------------------------------------------------------
def _embedding_backward(dy, ids, vocab_size):
    d_table = np.zeros((vocab_size, dy.shape[-1]), dtype=dy.dtype)  # (V, d)
    np.add.at(d_table, ids.reshape(-1), dy.reshape(-1, dy.shape[-1]))  # a word used twice adds twice
    return d_table


def embedding_backward(dy, ids, vocab_size: int):
    r"""Gradient of an embedding lookup ``y = table[ids]`` with respect to ``table``.

    Parameters
    ----------
    dy : (..., d) array_like
        Gradient of the loss with respect to the looked-up vectors.
    ids : (...) array_like of int
        The token ids that were looked up.
    vocab_size : int
        Rows of the table.

    Returns
    -------
    (vocab_size, d) ndarray
        Row ``i`` is the sum of ``dy`` over every position where token ``i`` occurred; rows of
        tokens that did not occur are 0.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.backward import embedding_backward
    >>> embedding_backward(np.array([[1.0], [2.0], [4.0]]), np.array([0, 2, 0]), 3)
    array([[5.],
           [0.],
           [2.]])
    """
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        msg = f"ids must be an integer array of token ids, got dtype {ids.dtype}"
        raise TypeError(msg)
    dy = _array(dy, "dy")
    _check_shape(dy, "dy", (*ids.shape, dy.shape[-1]), "(*ids.shape, d)")
    if ids.size and not (0 <= ids.min() and ids.max() < vocab_size):
        msg = f"ids must lie in [0, vocab_size = {vocab_size}), got values from {ids.min()} to {ids.max()}"
        raise ValueError(msg)
    return _embedding_backward(dy, ids, vocab_size)


# --- cross-entropy loss ----------------------------------------------------------------------------
def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)  # (..., V)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _cross_entropy(logits, targets, ignore_index=-100):
    keep = targets != ignore_index  # (...,) positions that count
    logp = _log_softmax(logits[keep])  # (n, V)
    return float(-logp[np.arange(len(logp)), targets[keep]].mean())


def _cross_entropy_backward(logits, targets, ignore_index=-100):
    keep = targets != ignore_index  # (...,)
    d_logits = _softmax(logits, axis=-1)  # (..., V): predicted probabilities
    d_logits[keep, targets[keep]] -= 1.0  # minus the one-hot target
    d_logits[~keep] = 0.0  # padding contributes nothing
    return d_logits / keep.sum()


def _check_ce(logits, targets, ignore_index):
    logits = _array(logits, "logits", 1)
    targets = np.asarray(targets)
    if not np.issubdtype(targets.dtype, np.integer):
        msg = f"targets must be an integer array of class ids, got dtype {targets.dtype}"
        raise TypeError(msg)
    _check_shape(targets, "targets", logits.shape[:-1], "logits' shape without its last (class) axis")
    keep = targets != ignore_index
    if not keep.any():
        msg = f"every target equals ignore_index = {ignore_index}: the mean loss would be 0/0"
        raise ValueError(msg)
    n_classes = logits.shape[-1]
    if not ((targets[keep] >= 0) & (targets[keep] < n_classes)).all():
        msg = f"targets must lie in [0, {n_classes}) (or equal ignore_index = {ignore_index})"
        raise ValueError(msg)
    return logits, targets


def cross_entropy(logits, targets, ignore_index: int = -100) -> float:
    r"""Mean negative log-probability of the correct class, skipping padding.

    Parameters
    ----------
    logits : (..., V) array_like
        Unnormalised scores over ``V`` classes (words) at each position.
    targets : (...) array_like of int
        The correct class at each position.
    ignore_index : int, optional
        Positions whose target equals this value (padding) are left out of the mean. Default -100,
        as in PyTorch.

    Returns
    -------
    float

    Notes
    -----
    .. math:: L = -\frac{1}{|\mathcal{P}|}\sum_{n \in \mathcal{P}} \log \operatorname{softmax}(z_n)_{t_n}

    over the set :math:`\mathcal{P}` of positions that are not ignored. Equals PyTorch's
    ``F.cross_entropy(..., ignore_index=...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.backward import cross_entropy
    >>> logits = np.array([[0.0, 0.0], [5.0, 0.0]])
    >>> round(cross_entropy(logits, np.array([1, 0])), 4)   # (log 2 + log(1 + e^-5)) / 2
    0.3499
    >>> round(cross_entropy(logits, np.array([1, -100])), 4)   # second position ignored
    0.6931
    """
    logits, targets = _check_ce(logits, targets, ignore_index)
    return _cross_entropy(logits, targets, ignore_index)


def cross_entropy_backward(logits, targets, ignore_index: int = -100):
    r"""Gradient of :func:`cross_entropy` with respect to the logits.

    Parameters
    ----------
    logits : (..., V) array_like
    targets : (...) array_like of int
    ignore_index : int, optional

    Returns
    -------
    (..., V) ndarray
        ``(softmax(logits) - onehot(targets)) / n`` at the ``n`` counted positions, 0 at ignored ones.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.backward import cross_entropy_backward
    >>> cross_entropy_backward(np.array([[0.0, 0.0], [5.0, 0.0]]), np.array([1, -100]))
    array([[ 0.5, -0.5],
           [ 0. ,  0. ]])
    """
    logits, targets = _check_ce(logits, targets, ignore_index)
    return _cross_entropy_backward(logits, targets, ignore_index)
