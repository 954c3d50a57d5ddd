"""Input checks shared by every public function.

The public functions and classes validate their arguments once, at the top, with these helpers, and
then call an unchecked core (:mod:`attention_ref._core`). The messages name the argument, say what
arrived and what was needed, so a reader never sees a NumPy traceback from deep inside a computation.
A wrong kind of argument is a ``TypeError``; a wrong value or shape a ``ValueError``.

This module is internal infrastructure: the package's other modules import its names.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_array",
    "as_numeric",
    "check_backward",
    "check_eps",
    "check_finite",
    "check_flag",
    "check_int",
    "check_mask",
    "check_no_overflow",
    "check_positive_int",
    "check_qkv",
    "check_real",
    "check_scale",
    "check_seed",
    "check_seq",
    "check_tape",
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


def as_numeric(x, name: str) -> np.ndarray:
    """``x`` as a real numeric array of any dtype (integers stay integers), or a ``TypeError`` naming ``name``."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        msg = f"{name} could not be converted to an array: {exc}"
        raise TypeError(msg) from None
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        msg = f"{name} must be a real numeric array (integer or float), got dtype {arr.dtype}"
        raise TypeError(msg)
    return arr


def check_seed(seed, name: str = "seed") -> int | None:
    """A generator seed: None (fresh entropy) or a non-negative integer."""
    return None if seed is None else check_int(seed, name, minimum=0, what="None or a non-negative integer")


def check_int(value, name: str, *, minimum: int | None = None, what: str | None = None) -> int:
    """``value`` as an ``int``: ``TypeError`` unless it is an integer (not a bool), ``ValueError`` below ``minimum``.

    ``what`` is how the messages describe the expected value (default "an integer", or "an integer >= m").
    """
    what = what or ("an integer" if minimum is None else f"an integer >= {minimum}")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"{name} must be {what}, got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)
    if minimum is not None and value < minimum:
        msg = f"{name} must be {what}, got {value}"
        raise ValueError(msg)
    return int(value)


def check_words(words, name: str, n: int | None = None) -> list[str]:
    """``words`` as a list of strings: any sequence of them but a single string; ``n`` of them when given,
    else at least one."""
    if isinstance(words, (str, bytes)) or not hasattr(words, "__iter__"):
        need = "words (strings)" if n is None else f"{n} strings"
        msg = f"{name} must be a sequence of {need}, got {type(words).__name__}"
        raise TypeError(msg)
    words = list(words)
    bad = [w for w in words if not isinstance(w, str)]
    if bad:
        msg = f"{name} must hold strings, got {type(bad[0]).__name__} {bad[0]!r}"
        raise TypeError(msg)
    if n is None and not words:
        msg = f"{name} must hold at least one word, got an empty sequence"
        raise ValueError(msg)
    if n is not None and len(words) != n:
        msg = f"{name} has {len(words)} labels but needs {n}, one per row of the data"
        raise ValueError(msg)
    return words


def check_real(value, name: str, *, positive: bool = False) -> float:
    """``value`` as a finite ``float`` (strictly positive with ``positive``); ``TypeError`` unless a real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = f"{name} must be a real number, got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)
    if not np.isfinite(value) or (positive and not value > 0):
        msg = f"{name} must be a {'positive ' if positive else ''}finite number, got {value!r}"
        raise ValueError(msg)
    return float(value)


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer, else raise."""
    return check_int(value, name, minimum=1, what="a positive integer")


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


def check_qkv(q, k, v):
    """Validate q, k, v; return them in one floating dtype, the batch shape, and max |q|, |k|, |v|."""
    q = as_array(q, "q", min_ndim=2)
    k = as_array(k, "k", min_ndim=2)
    v = as_array(v, "v", min_ndim=2)
    for name, arr in (("q", q), ("k", k), ("v", v)):
        if 0 in arr.shape[-2:]:
            msg = f"{name} has shape {arr.shape}; its last two axes must not be empty"
            raise ValueError(msg)
    d_k = q.shape[-1]
    if k.shape[-1] != d_k:
        msg = (
            f"k has shape {k.shape} but q's last axis is {d_k}: "
            f"k's last axis must equal d_k = {d_k}"
        )
        raise ValueError(msg)
    if v.shape[-2] != k.shape[-2]:
        msg = (
            f"v has shape {v.shape} but k has shape {k.shape}: v needs one row per key, "
            f"so v's second-to-last axis must equal Lk = {k.shape[-2]}"
        )
        raise ValueError(msg)
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        msg = (
            f"the leading (batch) axes of q {q.shape}, k {k.shape} and v {v.shape} do not "
            "broadcast together"
        )
        raise ValueError(msg) from None
    abs_max = [finite_abs_max(arr, name) for name, arr in (("q", q), ("k", k), ("v", v))]
    dtype = compute_dtype(q, k, v)
    q, k, v = (a.astype(dtype, copy=False) for a in (q, k, v))
    return q, k, v, batch, abs_max


def check_flag(value, name: str) -> bool:
    """Return ``value`` as a ``bool`` if it is True or False (NumPy's too), else raise ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        msg = f"{name} must be True or False, got {value!r}"
        raise TypeError(msg)
    return bool(value)


def check_eps(eps) -> float:
    """The layer norm's epsilon as a float: a positive finite real number."""
    return check_real(eps, "eps", positive=True)


def check_seq(x, name: str, d_model: int) -> np.ndarray:
    """A sequence ``(L, d_model)`` or ``(batch, L, d_model)`` of finite numbers, as float32 or float64."""
    x = as_array(x, name, min_ndim=2)
    if x.ndim > 3 or x.shape[-1] != d_model or 0 in x.shape:
        msg = (
            f"{name} has shape {x.shape} but needs shape (L, d_model) or (batch, L, d_model) "
            f"with d_model = {d_model} and L >= 1"
        )
        raise ValueError(msg)
    check_finite(x, name)
    return x  # float32 or float64, from as_array


def check_tape(tape) -> None:
    """A forward's optional ``tape``: None or a dict to record into."""
    if tape is not None and not isinstance(tape, dict):
        msg = f"tape must be a dict (or None), got {type(tape).__name__}"
        raise TypeError(msg)


def check_backward(dy, tape, like: str, name: str = "dy") -> np.ndarray:
    """The gradient ``name`` given to a ``backward``: finite, shaped like the forward's ``tape[like]``."""
    if not isinstance(tape, dict):
        msg = f"tape must be the dict a forward call filled, got {type(tape).__name__}"
        raise TypeError(msg)
    if like not in tape:
        msg = "tape holds no forward pass: give the same dict as tape= to the forward call first"
        raise ValueError(msg)
    dy = as_array(dy, name)
    check_finite(dy, name)
    if dy.shape != tape[like].shape:
        msg = f"{name} has shape {dy.shape} but needs the shape of the forward's output, {tape[like].shape}"
        raise ValueError(msg)
    return dy
