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
    "check_no_overflow",
    "check_positive_int",
    "check_scale",
    "compute_dtype",
    "finite_abs_max",
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


def finite_abs_max(arr: np.ndarray, name: str) -> float:
    """``max |arr|`` as a Python float; ``ValueError`` naming ``name`` if ``arr`` holds NaN or infinity.

    Two reductions (max and min) and no temporary array: NaN and infinities propagate into them.
    """
    if arr.size == 0:
        return 0.0
    hi, lo = float(arr.max()), float(arr.min())
    if not (np.isfinite(hi) and np.isfinite(lo)):
        msg = f"{name} contains NaN or infinity; all values must be finite"
        raise ValueError(msg)
    return max(hi, -lo)


def check_finite(arr: np.ndarray, name: str, *, allow_neg_inf: bool = False) -> None:
    """Raise ``ValueError`` if ``arr`` holds NaN or infinity (``-inf`` allowed on request)."""
    if not allow_neg_inf:
        finite_abs_max(arr, name)  # one check for finiteness in the package
        return
    if np.isnan(arr).any() or np.isposinf(arr).any():
        msg = f"{name} contains NaN or +inf; all values must be finite"
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


def check_no_overflow(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, scale, names=("q", "k", "v"), abs_max=None
) -> None:
    """Refuse finite inputs so large that the scores or the value sums would overflow to inf/NaN.

    By Cauchy-Schwarz with max-norms, every score obeys ``|s| <= d_k * max|q| * max|k| * |scale|``, and a
    (not yet normalised) weighted sum of values obeys ``|o| <= Lk * max|v|``. Checking these bounds costs
    one pass over q, k and v (O(L d)), far less than the attention itself (O(Lq Lk d)), and turns what
    would be a silent NaN into an error that names the inputs.
    """
    big = float(np.finfo(q.dtype).max)
    if abs_max is None:  # max |q|, max |k|, max |v| (from finite_abs_max when the caller has them)
        abs_max = [max(float(a.max()), -float(a.min())) for a in (q, k, v)]
    q_max, k_max, v_max = abs_max
    bound = q.shape[-1] * q_max * k_max * abs(float(scale))  # Python floats: inf, never an exception
    if not bound < big:
        msg = (
            f"{names[0]} and {names[1]} are too large for {q.dtype}: scores could reach {bound:.3g} "
            f"(max |{names[0]}| = {q_max:.3g}, max |{names[1]}| = {k_max:.3g}, d_k = {q.shape[-1]}), beyond "
            f"the largest {q.dtype} {big:.3g}; rescale them"
        )
        raise ValueError(msg)
    if not v.shape[-2] * v_max < big:
        msg = (
            f"{names[2]} is too large for {v.dtype}: a sum of its {v.shape[-2]} rows could reach "
            f"{v.shape[-2] * v_max:.3g} (max |{names[2]}| = {v_max:.3g}), beyond the largest {v.dtype} {big:.3g}"
        )
        raise ValueError(msg)
