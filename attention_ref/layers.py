"""The Transformer's small parts besides attention: positions, layer normalisation, feed-forward.

Axis letters used in the shape comments:

- ``...``: any leading axes (batch, length); these functions treat every position alike
- ``L``: sequence length; ``d_model``: model width; ``d_ff``: hidden width of the feed-forward block

Weights are applied as ``x @ w + b`` (picoGPT's layout): ``w1`` is ``(d_model, d_ff)``. PyTorch's
``nn.Linear`` stores the transpose, ``(out_features, in_features)``; :mod:`attention_ref.transformer`
converts when it reads or writes a state dict. The unchecked cores live in the internal ``_core`` module.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import as_array, check_eps, check_finite, check_positive_int, compute_dtype

__all__ = ["feed_forward", "layer_norm", "positional_encoding"]


def positional_encoding(length: int, d_model: int) -> np.ndarray:
    r"""The sinusoidal position vectors of "Attention Is All You Need", one row per position.

    Parameters
    ----------
    length : int
        Number of positions ``L``.
    d_model : int
        Width of each position vector (odd widths are allowed; the last column is then a sine).

    Returns
    -------
    (length, d_model) ndarray of float64
        Row ``pos`` is added to the embedding of the token at position ``pos``.

    Notes
    -----
    For position :math:`pos` and column pair :math:`(2i, 2i+1)`:

    .. math::
        PE_{pos, 2i} = \sin\!\left(\frac{pos}{10000^{2i/d_{model}}}\right),\qquad
        PE_{pos, 2i+1} = \cos\!\left(\frac{pos}{10000^{2i/d_{model}}}\right)

    Each column pair is a clock turning at its own speed, from one radian per position (``i = 0``)
    down to about :math:`2\pi / 10000` per position, so every position gets a distinct pattern and a
    fixed offset is a rotation of each pair.

    References
    ----------
    A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017, section 3.5.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import positional_encoding
    >>> pe = positional_encoding(4, 6)      # (L=4, d_model=6)
    >>> pe.shape
    (4, 6)
    >>> pe[0]                               # position 0: sin 0 = 0, cos 0 = 1
    array([0., 1., 0., 1., 0., 1.])
    >>> float(pe[1, 0].round(6)), float(np.sin(1.0).round(6))
    (0.841471, 0.841471)
    """
    length = check_positive_int(length, "length")
    d_model = check_positive_int(d_model, "d_model")
    return _core.sinusoids(length, d_model)


def layer_norm(x, gamma, beta, eps: float = 1e-5) -> np.ndarray:
    r"""Normalise each position's vector to mean 0 and variance 1, then scale and shift it.

    Parameters
    ----------
    x : (..., d_model) array_like
        Vectors to normalise, one per position.
    gamma : (d_model,) array_like
        Learned scale (PyTorch's ``LayerNorm.weight``; ones at initialisation).
    beta : (d_model,) array_like
        Learned shift (PyTorch's ``LayerNorm.bias``; zeros at initialisation).
    eps : float, optional
        Added to the variance before the square root (PyTorch's default ``1e-5``).

    Returns
    -------
    (..., d_model) ndarray
        float32 if every input is float32, else float64.

    Raises
    ------
    ValueError
        If ``gamma`` or ``beta`` is not ``(d_model,)``, ``eps`` is not positive, or an input is not
        finite.
    TypeError
        If an input is not numeric.

    Notes
    -----
    With :math:`\mu` and :math:`\sigma^2` the mean and (biased) variance over the last axis,

    .. math::
        \operatorname{LayerNorm}(x) = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta

    Unlike batch normalisation, every position is normalised on its own, so the result does not
    depend on the batch or on the other positions.

    References
    ----------
    J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer Normalization", arXiv:1607.06450, 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import layer_norm
    >>> x = np.array([[1.0, 2.0, 3.0, 6.0]])          # (L=1, d_model=4)
    >>> y = layer_norm(x, np.ones(4), np.zeros(4))
    >>> y.round(3)
    array([[-1.069, -0.535,  0.   ,  1.604]])
    >>> bool(np.isclose(y.mean(), 0.0)), float(y.var().round(4))   # mean 0, variance 1 (up to eps)
    (True, 1.0)
    """
    x = as_array(x, "x", min_ndim=1)
    d_model = x.shape[-1]
    gamma = as_array(gamma, "gamma")
    beta = as_array(beta, "beta")
    for name, arr in (("gamma", gamma), ("beta", beta)):
        if arr.shape != (d_model,):
            msg = f"{name} has shape {arr.shape} but needs shape (d_model,) = ({d_model},) for x {x.shape}"
            raise ValueError(msg)
    eps = check_eps(eps)
    for name, arr in (("x", x), ("gamma", gamma), ("beta", beta)):
        check_finite(arr, name)
    x = x.astype(compute_dtype(x, gamma, beta), copy=False)
    return _core.layer_norm(x, gamma, beta, eps)


def feed_forward(x, w1, b1, w2, b2) -> np.ndarray:
    r"""The position-wise feed-forward block: two linear maps with a ReLU between them.

    Parameters
    ----------
    x : (..., d_model) array_like
        One vector per position; every position goes through the same two layers on its own.
    w1 : (d_model, d_ff) array_like
        First weight, applied as ``x @ w1 + b1`` (PyTorch's ``linear1.weight`` transposed).
    b1 : (d_ff,) array_like
        First bias.
    w2 : (d_ff, d_model) array_like
        Second weight, applied as ``h @ w2 + b2``.
    b2 : (d_model,) array_like
        Second bias.

    Returns
    -------
    (..., d_model) ndarray
        float32 if every input is float32, else float64.

    Raises
    ------
    ValueError
        If the weights' shapes do not chain ``d_model -> d_ff -> d_model``, or an input is not finite.

    Notes
    -----
    .. math::
        \operatorname{FFN}(x) = \max(0,\; x W_1 + b_1)\, W_2 + b_2

    In the paper :math:`d_{model} = 512` and :math:`d_{ff} = 2048`.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import feed_forward
    >>> x = np.array([[1.0, -1.0]])                   # (L=1, d_model=2)
    >>> w1 = np.array([[1.0, 0.0, 1.0],
    ...                [0.0, 1.0, 1.0]])              # (d_model=2, d_ff=3)
    >>> w2 = np.ones((3, 2))                          # (d_ff=3, d_model=2)
    >>> feed_forward(x, w1, np.zeros(3), w2, np.zeros(2))   # hidden = relu([1, -1, 0]) = [1, 0, 0]
    array([[1., 1.]])
    """
    x = as_array(x, "x", min_ndim=1)
    w1 = as_array(w1, "w1")
    b1 = as_array(b1, "b1")
    w2 = as_array(w2, "w2")
    b2 = as_array(b2, "b2")
    d_model = x.shape[-1]
    if w1.ndim != 2 or w1.shape[0] != d_model:
        msg = f"w1 has shape {w1.shape} but needs shape (d_model, d_ff) with d_model = {d_model} from x"
        raise ValueError(msg)
    d_ff = w1.shape[1]
    expected = {"b1": (d_ff,), "w2": (d_ff, d_model), "b2": (d_model,)}
    for name, arr in (("b1", b1), ("w2", w2), ("b2", b2)):
        if arr.shape != expected[name]:
            msg = (
                f"{name} has shape {arr.shape} but needs shape {expected[name]} "
                f"(d_model = {d_model}, d_ff = {d_ff} from w1 {w1.shape})"
            )
            raise ValueError(msg)
    for name, arr in (("x", x), ("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)):
        check_finite(arr, name)
    x = x.astype(compute_dtype(x, w1, b1, w2, b2), copy=False)
    return _core.feed_forward(x, w1, b1, w2, b2)
