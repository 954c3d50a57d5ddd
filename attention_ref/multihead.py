"""Multi-head attention: several attentions side by side, each on its own slice of the features.

Axis letters: ``B`` batch, ``h`` heads, ``Lq``/``Lk`` query/key lengths, ``d_model`` model width,
``d_head = d_model // h``.

Parameters are plain NumPy arrays applied as ``x @ w + b`` (picoGPT's layout). PyTorch stores the
transpose (``out_features, in_features``); :meth:`MultiHeadAttention.state_dict` and
:meth:`~MultiHeadAttention.from_state_dict` convert. A call given a ``tape`` dict records what
:meth:`MultiHeadAttention.backward` needs, and the backward returns the gradients keyed like the state
dict.
"""

from __future__ import annotations

import numpy as np

from . import _core, _grad
from ._parallel import one_blas_thread
from ._state import Module, StateReader, glorot, prefixed
from ._validation import (
    as_array,
    as_numeric,
    check_backward,
    check_finite,
    check_flag,
    check_mask,
    check_no_overflow,
    check_positive_int,
    check_seed,
    check_tape,
)

__all__ = ["MultiHeadAttention", "merge_heads", "split_heads"]


def split_heads(x, n_heads: int) -> np.ndarray:
    """Cut the feature axis into ``n_heads`` equal slices and move the head axis forward.

    Parameters
    ----------
    x : (..., L, d_model) array_like
    n_heads : int
        Must divide ``d_model``.

    Returns
    -------
    (..., n_heads, L, d_model // n_heads) ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import split_heads
    >>> x = np.arange(12).reshape(2, 6)  # (L=2, d_model=6)
    >>> split_heads(x, 3)                 # (heads=3, L=2, d_head=2)
    array([[[ 0,  1],
            [ 6,  7]],
    <BLANKLINE>
           [[ 2,  3],
            [ 8,  9]],
    <BLANKLINE>
           [[ 4,  5],
            [10, 11]]])
    """
    x = as_numeric(x, "x")
    n_heads = check_positive_int(n_heads, "n_heads")
    if x.ndim < 2 or x.shape[-1] % n_heads:
        msg = (
            f"x has shape {x.shape}; it needs at least 2 axes and a last axis divisible by "
            f"n_heads = {n_heads}"
        )
        raise ValueError(msg)
    *lead, L, d_model = x.shape
    x = x.reshape(*lead, L, n_heads, d_model // n_heads)  # (..., L, h, d_head)
    return np.swapaxes(x, -2, -3)  # (..., h, L, d_head)


def merge_heads(x) -> np.ndarray:
    """Undo :func:`split_heads`: concatenate the heads' outputs along the feature axis.

    Parameters
    ----------
    x : (..., n_heads, L, d_head) array_like

    Returns
    -------
    (..., L, n_heads * d_head) ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import merge_heads, split_heads
    >>> x = np.arange(12).reshape(2, 6)
    >>> bool((merge_heads(split_heads(x, 3)) == x).all())
    True
    """
    x = as_numeric(x, "x")
    if x.ndim < 3:
        msg = f"x has shape {x.shape}; it needs at least 3 axes (..., n_heads, L, d_head)"
        raise ValueError(msg)
    *lead, h, L, d_head = x.shape
    return np.swapaxes(x, -2, -3).reshape(*lead, L, h * d_head)  # (..., L, h * d_head)


class MultiHeadAttention(Module):
    r"""Multi-head attention with learned projections, as in "Attention Is All You Need".

    Parameters
    ----------
    d_model : int
        Width of the input and output vectors.
    n_heads : int
        Number of heads; must divide ``d_model``.
    bias : bool, optional
        Whether the four projections have biases (default True).
    seed : int, optional
        Seed of the generator that draws the initial weights (uniform in
        :math:`\pm\sqrt{6 / (2\,d_{model})}`, Glorot's rule); the same seed gives the same weights.

    Attributes
    ----------
    w_q : (d_model, d_model) ndarray
        Query projection, applied as ``x @ w_q + b_q``.
    w_k : (d_model, d_model) ndarray
        Key projection, applied as ``x @ w_k + b_k``.
    w_v : (d_model, d_model) ndarray
        Value projection, applied as ``x @ w_v + b_v``.
    w_o : (d_model, d_model) ndarray
        Output projection, applied as ``x @ w_o + b_o``.
    b_q : (d_model,) ndarray or None
        Query bias (zeros at initialisation; None when ``bias=False``).
    b_k : (d_model,) ndarray or None
        Key bias (zeros at initialisation; None when ``bias=False``).
    b_v : (d_model,) ndarray or None
        Value bias (zeros at initialisation; None when ``bias=False``).
    b_o : (d_model,) ndarray or None
        Output bias (zeros at initialisation; None when ``bias=False``).

    Notes
    -----
    .. math::
        \operatorname{head}_i = \operatorname{Attention}(X W_Q^{(i)}, C W_K^{(i)}, C W_V^{(i)}),\qquad
        \operatorname{MHA}(X, C) = [\operatorname{head}_1; \dots; \operatorname{head}_h]\, W_O

    where :math:`C = X` for self attention and the other sequence for cross attention.
    :math:`W_Q^{(i)}` is the ``i``-th block of ``d_model // n_heads`` columns of ``w_q``.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import MultiHeadAttention
    >>> mha = MultiHeadAttention(d_model=8, n_heads=2, seed=0)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 8))   # (batch, L, d_model)
    >>> out, w = mha(x)
    >>> out.shape, w.shape                                     # w: (batch, heads, Lq, Lk)
    ((2, 5, 8), (2, 2, 5, 5))
    >>> bool(np.allclose(w.sum(axis=-1), 1.0))
    True
    >>> tape = {}
    >>> out, w = mha(x, tape=tape)                             # the same call, recording for backward
    >>> dx, _, grads = mha.backward(np.ones_like(out), tape)   # d(sum of out) / d(x, weights)
    >>> dx.shape, grads["in_proj_weight"].shape                # keyed like state_dict()
    ((2, 5, 8), (24, 8))
    """

    def __init__(self, d_model: int, n_heads: int, *, bias: bool = True, seed: int | None = None):
        d_model = check_positive_int(d_model, "d_model")
        n_heads = check_positive_int(n_heads, "n_heads")
        if d_model % n_heads:
            msg = f"d_model = {d_model} is not divisible by n_heads = {n_heads}"
            raise ValueError(msg)
        self.d_model, self.n_heads, self.bias = d_model, n_heads, check_flag(bias, "bias")
        rng = np.random.default_rng(check_seed(seed))
        for name in ("w_q", "w_k", "w_v", "w_o"):
            setattr(self, name, glorot(rng, d_model, d_model))
        for name in ("b_q", "b_k", "b_v", "b_o"):
            setattr(self, name, np.zeros(d_model) if bias else None)

    def __repr__(self) -> str:
        return f"MultiHeadAttention(d_model={self.d_model}, n_heads={self.n_heads}, bias={self.bias})"

    def _check_input(self, arr, name):
        arr = as_array(arr, name, min_ndim=2)
        if arr.ndim > 3 or arr.shape[-1] != self.d_model:
            msg = (
                f"{name} has shape {arr.shape} but needs shape (L, d_model) or "
                f"(batch, L, d_model) with d_model = {self.d_model}"
            )
            raise ValueError(msg)
        check_finite(arr, name)
        return arr

    def __call__(
        self, x, context=None, *, mask=None, causal: bool = False, need_weights: bool = True, tape=None
    ):
        """Attend from ``x`` to ``context`` (to ``x`` itself when ``context`` is None).

        Parameters
        ----------
        x : (L, d_model) or (batch, L, d_model) array_like
            The sequence whose positions ask (queries).
        context : same layout as ``x``, optional
            The sequence that answers (keys and values). None means ``x``: self attention.
        mask : array_like of bool, optional
            True = may attend; broadcastable to ``(batch, heads, Lq, Lk)`` (``(heads, Lq, Lk)``
            for unbatched ``x``).
        causal : bool, optional
            Hide keys ``j > i`` (decoder self attention).
        need_weights : bool, optional
            If False, return None instead of the weights; faster (PyTorch's ``need_weights=False``).
        tape : dict, optional
            An empty dict to record what :meth:`backward` needs (the projections and the weights).

        Returns
        -------
        output : ndarray, shaped like ``x``
        weights : (batch, heads, Lq, Lk) ndarray or None
            ``(heads, Lq, Lk)`` for unbatched input; None when ``need_weights=False``.
        """
        x = self._check_input(x, "x")
        c = x if context is None else self._check_input(context, "context")
        if x.ndim != c.ndim or (x.ndim == 3 and x.shape[0] != c.shape[0]):
            msg = f"x has shape {x.shape} and context has shape {c.shape}: their batch axes must match"
            raise ValueError(msg)
        causal, need_weights = check_flag(causal, "causal"), check_flag(need_weights, "need_weights")
        check_tape(tape)
        dtype = np.result_type(x.dtype, c.dtype, np.float32)
        x, c = x.astype(dtype, copy=False), (x if context is None else c).astype(dtype, copy=False)
        Lq, Lk = x.shape[-2], c.shape[-2]
        scores_shape = (*x.shape[:-2], self.n_heads, Lq, Lk)
        if mask is not None:
            mask = check_mask(mask, "mask", scores_shape)
        with one_blas_thread():  # all products on our threads (see attention_ref._parallel)
            return self._forward(x, c, mask, causal=causal, need_weights=need_weights, tape=tape)

    def _forward(self, x, c, mask, *, causal=False, need_weights=True, tape=None, extend=None):
        """The unchecked forward; ``extend(k, v)`` (a KV cache) may add earlier positions' keys and values."""
        h = self.n_heads
        if extend is not None:  # a few new positions: three small products beat joining the weights
            q, k, v = (_core.linear(x, getattr(self, f"w_{n}"), getattr(self, f"b_{n}")) for n in "qkv")
        elif c is x:  # self attention: q, k and v from one product, x @ [w_q | w_k | w_v]
            q, k, v = np.split(_core.linear(x, *self._side_by_side("qkv")), 3, axis=-1)  # (B, L, d_model)
        else:  # cross attention: q from x; k and v from c, in one product c @ [w_k | w_v]
            q = _core.linear(x, self.w_q, self.b_q)  # (B, Lq, d_model)
            k, v = np.split(_core.linear(c, *self._side_by_side("kv")), 2, axis=-1)  # (B, Lk, d_model)
        q, k, v = (split_heads(a, h) for a in (q, k, v))  # (B, h, L, d_head) each
        if extend is not None:  # generation: the cached keys and values of earlier positions join in
            k, v = extend(k, v)  # (B, h, t + n, d_head) each
        check_no_overflow(q, k, v, 1 / np.sqrt(q.shape[-1]), names=("x @ w_q", "context @ w_k", "context @ w_v"))
        keep = need_weights or tape is not None  # the backward needs the weights
        heads, weights = _core.attention_tiled(q, k, v, mask, causal=causal, need_weights=keep)
        heads = merge_heads(heads)  # (B, Lq, d_model)
        with np.errstate(over="ignore", invalid="ignore"):  # checked right below instead
            out = _core.linear(heads, self.w_o, self.b_o)  # (B, Lq, d_model)
        if not np.isfinite(out).all():  # heads are finite (a mean of finite values): w_o overflowed them
            msg = f"the output projection overflowed {out.dtype}: x or w_o holds values too large"
            raise ValueError(msg)
        if tape is not None:
            tape.update(x=x, context=c, q=q, k=k, v=v, weights=weights, heads=heads)
        return out, (weights if need_weights else None)  # weights: (B, h, Lq, Lk)

    def backward(self, d_out, tape):
        """Gradients of the call that filled ``tape``, walking its forward backwards.

        Parameters
        ----------
        d_out : ndarray, shaped like the output
            Gradient of the loss with respect to the call's output.
        tape : dict
            The ``tape`` given to that call.

        Returns
        -------
        dx : ndarray, shaped like ``x``
            Gradient with respect to the queries' sequence. For self attention it includes the paths
            through the keys and values, because there ``x`` plays all three roles.
        d_context : ndarray or None
            Gradient with respect to ``context`` (None for self attention).
        grads : dict of str to ndarray
            Gradients of the weights, keyed and laid out like :meth:`state_dict`.
        """
        d_out = check_backward(d_out, tape, "heads", "d_out")  # the output is shaped like the merged heads
        x, c, h = tape["x"], tape["context"], self.n_heads
        # output projection, attention, then the three input projections
        d_heads, dw_o, db_o = _grad.linear_backward(d_out, tape["heads"], self.w_o)  # (B, Lq, d)
        dq, dk, dv = _grad.attention_backward(
            split_heads(d_heads, h), tape["q"], tape["k"], tape["v"], tape["weights"]
        )  # (B, h, L, d_head) each
        dx, dw_q, db_q = _grad.linear_backward(merge_heads(dq), x, self.w_q)  # (B, Lq, d)
        dc_k, dw_k, db_k = _grad.linear_backward(merge_heads(dk), c, self.w_k)  # (B, Lk, d)
        dc_v, dw_v, db_v = _grad.linear_backward(merge_heads(dv), c, self.w_v)  # (B, Lk, d)
        biases = (db_q, db_k, db_v, db_o) if self.bias else None
        grads = _torch_layout((dw_q, dw_k, dw_v, dw_o), biases)
        if c is x:
            return dx + dc_k + dc_v, None, grads
        return dx, dc_k + dc_v, grads

    def _side_by_side(self, names):
        """The projections ``w_<name>`` side by side, ``(d_model, n * d_model)``, and their biases."""
        w = np.concatenate([getattr(self, f"w_{n}") for n in names], axis=1)
        if not self.bias:
            return w, None
        return w, np.concatenate([getattr(self, f"b_{n}") for n in names])

    # --- moving weights to and from PyTorch (state_dict and load_state_dict come from Module) ----
    def _write(self, sd, prefix):
        biases = (self.b_q, self.b_k, self.b_v, self.b_o) if self.bias else None
        sd |= prefixed(prefix, _torch_layout((self.w_q, self.w_k, self.w_v, self.w_o), biases))

    @classmethod
    def from_state_dict(cls, params, n_heads: int) -> MultiHeadAttention:
        """Build from a ``torch.nn.MultiheadAttention`` state dict (NumPy arrays).

        Parameters
        ----------
        params : dict of str to array_like
            Holds ``in_proj_weight`` (3 d_model, d_model), ``out_proj.weight``, and, with biases,
            ``in_proj_bias`` and ``out_proj.bias``. A missing, misshapen or unexpected key raises
            ``ValueError`` naming the key.
        n_heads : int

        Returns
        -------
        MultiHeadAttention

        Examples
        --------
        >>> from attention_ref import MultiHeadAttention
        >>> a = MultiHeadAttention(4, 2, seed=0)
        >>> b = MultiHeadAttention.from_state_dict(a.state_dict(), n_heads=2)
        >>> bool((a.w_k == b.w_k).all())
        True
        """
        reader = StateReader(params)
        mha = cls._read(reader, n_heads, prefix="")
        reader.finish()
        return mha

    @classmethod
    def _read(cls, reader: StateReader, n_heads: int, prefix: str) -> MultiHeadAttention:
        """A module holding the arrays stored at ``prefix`` (no random weights drawn)."""
        key = prefix + "in_proj_weight"
        w_in = reader.take(key, None)
        if w_in.ndim != 2 or w_in.shape[0] != 3 * w_in.shape[1]:
            msg = f"params[{key!r}] has shape {w_in.shape} but needs (3 * d_model, d_model)"
            raise ValueError(msg)
        mha = cls.__new__(cls)
        mha.d_model, mha.n_heads = w_in.shape[1], check_positive_int(n_heads, "n_heads")
        if mha.d_model % mha.n_heads:
            msg = f"params[{key!r}] is for d_model = {mha.d_model}, which n_heads = {mha.n_heads} does not divide"
            raise ValueError(msg)
        mha.bias = reader.has(prefix + "in_proj_bias")
        mha._assign(reader, prefix)
        return mha

    def _assign(self, reader: StateReader, prefix: str) -> None:
        """Take this module's weights from ``reader`` at ``prefix`` (shapes checked against it)."""
        d = self.d_model
        w_in = reader.take(prefix + "in_proj_weight", (3 * d, d))  # [w_q | w_k | w_v].T
        self.w_q, self.w_k, self.w_v = (w.T.copy() for w in np.split(w_in, 3))
        self.w_o = reader.take(prefix + "out_proj.weight", (d, d)).T.copy()
        if self.bias:
            self.b_q, self.b_k, self.b_v = np.split(reader.take(prefix + "in_proj_bias", (3 * d,)), 3)
            self.b_o = reader.take(prefix + "out_proj.bias", (d,))
        else:
            self.b_q = self.b_k = self.b_v = self.b_o = None


def _torch_layout(weights, biases):
    """``(w_q, w_k, w_v, w_o)`` and their biases (or None) keyed and laid out as PyTorch's state dict."""
    w_q, w_k, w_v, w_o = weights
    sd = {"in_proj_weight": np.concatenate([w_q.T, w_k.T, w_v.T])}  # in PyTorch's order of keys
    if biases is not None:
        sd["in_proj_bias"] = np.concatenate(biases[:3])
    sd["out_proj.weight"] = w_o.T.copy()
    if biases is not None:
        sd["out_proj.bias"] = biases[3].copy()
    return sd
