"""Input checks shared by every public function.

Each public function validates its arguments once, at the top, with these helpers, and then calls an
unchecked core. The messages name the argument, say what arrived and what was needed, so a reader never
sees a NumPy traceback from deep inside a computation.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_array",
    "check_axes",
    "check_finite",
    "check_mask",
    "check_positive_int",
    "check_scale",
    "compute_dtype",
]


def as_array(x, name: str, *, min_ndim: int = 0) -> np.ndarray:
    """Convert ``x`` to a real numeric array, or raise a ``TypeError``/``ValueError`` naming ``name``.

    Integer input is converted to float64; float16 to float32; float32 and float64 are kept.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        msg = f"{name} could not be converted to an array: {exc}"
        raise TypeError(msg) from None
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        msg = f"{name} must be a real numeric array (integer or float), got dtype {arr.dtype}"
        raise TypeError(msg)
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float64)
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    elif arr.dtype not in (np.float32, np.float64):  # longdouble
        arr = arr.astype(np.float64)
    if arr.ndim < min_ndim:
        axes = "axis" if min_ndim == 1 else "axes"
        msg = f"{name} must have at least {min_ndim} {axes}, got shape {arr.shape}"
        raise ValueError(msg)
    return arr


def check_finite(arr: np.ndarray, name: str, *, allow_neg_inf: bool = False) -> None:
    """Raise ``ValueError`` if ``arr`` holds NaN or infinity (``-inf`` allowed on request)."""
    if allow_neg_inf:
        bad = np.isnan(arr).any() or np.isposinf(arr).any()
        what = "NaN or +inf"
    else:
        bad = not np.isfinite(arr).all()
        what = "NaN or infinity"
    if bad:
        msg = f"{name} contains {what}; all values must be finite"
        raise ValueError(msg)


def compute_dtype(*arrays: np.ndarray) -> np.dtype:
    """The floating dtype a computation over ``arrays`` runs in (float32 only if all are float32)."""
    return np.result_type(*(a.dtype for a in arrays), np.float32)


def check_mask(mask, name: str, scores_shape: tuple[int, ...]) -> np.ndarray:
    """Check a boolean mask that must broadcast to ``scores_shape`` without enlarging it."""
    mask = np.asarray(mask)
    if mask.dtype != bool:
        msg = (
            f"{name} must be a boolean array (True = may attend), got dtype {mask.dtype}; "
            f"convert it with {name}.astype(bool) or build it with causal_mask/padding_mask"
        )
        raise TypeError(msg)
    try:
        shape = np.broadcast_shapes(mask.shape, scores_shape)
    except ValueError:
        shape = None
    if shape != tuple(scores_shape):
        msg = (
            f"{name} has shape {mask.shape}, which does not broadcast to the attention scores' "
            f"shape {tuple(scores_shape)} (..., Lq, Lk)"
        )
        raise ValueError(msg)
    return mask


def check_scale(scale, d_k: int, dtype) -> np.floating:
    """Return the score scale as a scalar of ``dtype`` (default ``1/sqrt(d_k)``)."""
    if scale is None:
        return dtype.type(1.0 / np.sqrt(d_k))
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        msg = f"scale must be a real number, got {type(scale).__name__}"
        raise TypeError(msg)
    if not np.isfinite(scale) or scale == 0:
        msg = f"scale must be finite and non-zero, got {scale}"
        raise ValueError(msg)
    return dtype.type(scale)


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"{name} must be a positive integer, got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)
    if value <= 0:
        msg = f"{name} must be a positive integer, got {value}"
        raise ValueError(msg)
    return int(value)


def check_axes(arr: np.ndarray, name: str, size: int, what: str) -> None:
    """Raise ``ValueError`` unless the last axis of ``arr`` has length ``size``."""
    if arr.shape[-1] != size:
        msg = f"{name} has shape {arr.shape} but its last axis must be {what} = {size}"
        raise ValueError(msg)
