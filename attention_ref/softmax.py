"""Numerically stable softmax."""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import as_array, check_finite

__all__ = ["softmax"]


def softmax(x, axis: int = -1) -> np.ndarray:
    r"""Turn scores into weights that are positive and sum to one along ``axis``.

    Parameters
    ----------
    x : array_like
        Scores (logits). ``-inf`` marks an entry that gets weight exactly 0; NaN and ``+inf`` are
        rejected.
    axis : int, optional
        The axis that is normalised. Default: the last.

    Returns
    -------
    ndarray
        Same shape as ``x``; float32 stays float32, integers become float64. A slice that is all
        ``-inf`` gives all zeros (never NaN).

    Raises
    ------
    TypeError
        If ``x`` is not a real numeric array.
    ValueError
        If ``x`` holds NaN or ``+inf``, or ``axis`` is out of range.

    Notes
    -----
    .. math:: \operatorname{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}},\quad m = \max_j x_j

    Subtracting the maximum :math:`m` changes nothing mathematically but keeps ``exp`` from
    overflowing, so logits of :math:`\pm 10^4` are fine.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import softmax
    >>> softmax(np.array([1.0, 2.0, 3.0])).round(4)
    array([0.09  , 0.2447, 0.6652])
    >>> softmax(np.array([1e4, 0.0]))
    array([1., 0.])
    >>> softmax(np.array([-np.inf, -np.inf]))
    array([0., 0.])
    """
    x = as_array(x, "x", min_ndim=1)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        msg = f"axis must be an integer, got {axis!r} of type {type(axis).__name__}"
        raise TypeError(msg)
    if not -x.ndim <= axis < x.ndim:
        msg = f"axis {axis} is out of range for x with shape {x.shape}"
        raise ValueError(msg)
    check_finite(x, "x", allow_neg_inf=True)
    return _core.softmax(x, axis=axis)
