r"""Backward passes of the building blocks, as functions: checked, for tests, pages and experiments.

Every forward function of the package has a partner here that takes ``dy``, the gradient of the loss
with respect to the forward's output (same shape as that output), plus what the forward was given,
and returns the gradients with respect to the forward's inputs and weights (each shaped like the
thing it is the gradient of). This is the chain rule, one block at a time: a model's backward pass
calls these partners in the reverse order of its forward pass.

The layers do this themselves: a call with a ``tape`` records what the backward needs and the layer's
``backward`` method returns the gradients (:class:`~attention_ref.MultiHeadAttention`,
:class:`~attention_ref.EncoderLayer`, :class:`~attention_ref.Transformer`, ...). These functions check
their arguments and call the same kernels (the package's internal ``_grad`` module).

Axis letters: ``B`` batch, ``h`` heads, ``Lq``/``Lk`` query/key lengths, ``d`` model width,
``d_ff`` feed-forward width, ``V`` vocabulary size, ``N`` any number of positions.

Weights follow the package's layout ``y = x @ w + b`` (``w`` is ``(d_in, d_out)``); PyTorch stores
``w.T``.
"""

from __future__ import annotations

import numpy as np

from .. import _core, _grad
from .._validation import as_array, check_eps, check_finite, check_int, check_positive_int, check_scale, compute_dtype

__all__ = [
    "attention_backward",
    "cross_entropy",
    "cross_entropy_backward",
    "embedding_backward",
    "feed_forward_backward",
    "layer_norm_backward",
    "linear_backward",
    "softmax_backward",
]


# --- checks ----------------------------------------------------------------------------------------
def _array(x, name, min_ndim=1):
    arr = as_array(x, name, min_ndim=min_ndim)
    check_finite(arr, name)
    return arr


def _check_axis(axis, arr, name):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        msg = f"axis must be an integer, got {axis!r} of type {type(axis).__name__}"
        raise TypeError(msg)
    if not -arr.ndim <= axis < arr.ndim:
        msg = f"axis {axis} is out of range for {name} with shape {arr.shape}"
        raise ValueError(msg)
    return int(axis)


def _check_ids(ids, name):
    """An integer array of token or class ids (any shape), or a TypeError naming ``name``."""
    arr = np.asarray(ids)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        msg = f"{name} must be an integer array of {'token' if name == 'ids' else 'class'} ids, got dtype {arr.dtype}"
        raise TypeError(msg)
    return arr


def _check_shape(arr, name, shape, what):
    if arr.shape != tuple(shape):
        msg = f"{name} has shape {arr.shape} but must have shape {tuple(shape)} ({what})"
        raise ValueError(msg)


# --- linear map ------------------------------------------------------------------------------------
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
    >>> from attention_ref.training.backward import linear_backward
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
    return _grad.linear_backward(dy, x, w)


# --- softmax ---------------------------------------------------------------------------------------
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
    >>> from attention_ref.training.backward import softmax_backward
    >>> y = softmax(np.array([1.0, 2.0, 3.0]))
    >>> g = softmax_backward(np.ones(3), y)    # the sum of y is always 1: gradient 0
    >>> bool(np.allclose(g, 0.0))
    True
    """
    y = _array(y, "y")
    dy = _array(dy, "dy")
    _check_shape(dy, "dy", y.shape, "the shape of y")
    axis = _check_axis(axis, y, "y")
    return _grad.softmax_backward(dy, y, axis)


# --- scaled dot-product attention ------------------------------------------------------------------
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
    >>> from attention_ref.training.backward import attention_backward
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
    if scale is not None:  # the forward's rules: a finite, non-zero real number
        scale = check_scale(scale, q.shape[-1], compute_dtype(q, k, v))
    return _grad.attention_backward(d_out, q, k, v, weights, scale)


# --- layer normalisation ---------------------------------------------------------------------------
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
    >>> from attention_ref.training.backward import layer_norm_backward
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
    eps = check_eps(eps)
    tape = {}
    _core.layer_norm(x, gamma, np.zeros_like(gamma), eps, tape)  # what the forward keeps for its backward
    return _grad.layer_norm_backward(dy, tape, gamma)


# --- position-wise feed-forward --------------------------------------------------------------------
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
    >>> from attention_ref.training.backward import feed_forward_backward
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
    tape = {}
    _core.feed_forward(x, w1, b1, w2, np.zeros(d), tape)  # what the forward keeps for its backward
    return _grad.feed_forward_backward(dy, tape, w1, w2)


# --- embeddings ------------------------------------------------------------------------------------
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
    >>> from attention_ref.training.backward import embedding_backward
    >>> embedding_backward(np.array([[1.0], [2.0], [4.0]]), np.array([0, 2, 0]), 3)
    array([[5.],
           [0.],
           [2.]])
    """
    ids = _check_ids(ids, "ids")
    vocab_size = check_positive_int(vocab_size, "vocab_size")
    dy = _array(dy, "dy")
    _check_shape(dy, "dy", (*ids.shape, dy.shape[-1]), "(*ids.shape, d)")
    if ids.size and not (0 <= ids.min() and ids.max() < vocab_size):
        msg = f"ids must lie in [0, vocab_size = {vocab_size}), got values from {ids.min()} to {ids.max()}"
        raise ValueError(msg)
    return _grad.embedding_backward(dy, ids, vocab_size)


# --- cross-entropy loss ----------------------------------------------------------------------------
def _check_ce(logits, targets, ignore_index):
    logits = _array(logits, "logits", 1)
    targets = _check_ids(targets, "targets")
    ignore_index = check_int(ignore_index, "ignore_index")
    _check_shape(targets, "targets", logits.shape[:-1], "logits' shape without its last (class) axis")
    keep = targets != ignore_index
    if not keep.any():
        msg = f"every entry of targets equals ignore_index = {ignore_index}: the mean loss would be 0/0"
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
    >>> from attention_ref.training.backward import cross_entropy
    >>> logits = np.array([[0.0, 0.0], [5.0, 0.0]])
    >>> round(cross_entropy(logits, np.array([1, 0])), 4)   # (log 2 + log(1 + e^-5)) / 2
    0.3499
    >>> round(cross_entropy(logits, np.array([1, -100])), 4)   # second position ignored
    0.6931
    """
    logits, targets = _check_ce(logits, targets, ignore_index)
    return _grad.cross_entropy(logits, targets, ignore_index)


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
    >>> from attention_ref.training.backward import cross_entropy_backward
    >>> cross_entropy_backward(np.array([[0.0, 0.0], [5.0, 0.0]]), np.array([1, -100]))
    array([[ 0.5, -0.5],
           [ 0. ,  0. ]])
    """
    logits, targets = _check_ce(logits, targets, ignore_index)
    return _grad.cross_entropy_backward(logits, targets, ignore_index)
