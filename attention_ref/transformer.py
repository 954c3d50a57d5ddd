"""The Transformer of "Attention Is All You Need" in NumPy: encoder and decoder layers and stacks.

Axis letters used in the shape comments:

- ``B``: batch; ``h``: heads; ``d_model``: model width; ``d_ff``: feed-forward width
- ``Lq``/``Lk``: query/key lengths; for the encoder-decoder, ``Ls`` is the source length (encoder input,
  the keys of cross attention) and ``Lt`` the target length (decoder input)

Every module takes ``(L, d_model)`` or ``(batch, L, d_model)`` vectors (embeddings plus positions; no
token embedding or output projection is included, exactly like ``torch.nn.Transformer``) and returns
vectors of the same shape. Masks follow the book's convention: ``True`` means "may attend", and a mask
broadcasts to the attention scores ``(batch, heads, Lq, Lk)``; :func:`~attention_ref.padding_mask`
builds one for padded batches.

Weights move to and from PyTorch without renaming: ``from_state_dict`` reads, and ``state_dict``
writes, a dict of NumPy arrays keyed exactly like the ``state_dict()`` of the matching
``torch.nn.TransformerEncoderLayer``, ``TransformerDecoderLayer``, ``TransformerEncoder``,
``TransformerDecoder`` and ``Transformer`` (ReLU, ``bias=True``, any ``batch_first``; dropout is not
used, so compare with PyTorch in ``eval()`` mode).

Training: a call given a ``tape`` dict records what the module's ``backward`` needs, and
``backward(dy, tape)`` returns the gradients of the inputs and of the parameters, the latter keyed like
``state_dict()`` (see :mod:`attention_ref.training`). The decoder-only model and its KV cache are in
:mod:`attention_ref.decoder_only`.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from . import _core, _grad
from ._parallel import one_blas_thread
from ._state import Module, StateReader, glorot, prefixed
from ._validation import (
    check_backward,
    check_eps,
    check_flag,
    check_mask,
    check_positive_int,
    check_seed,
    check_seq,
    check_tape,
)
from .multihead import MultiHeadAttention

__all__ = ["Decoder", "DecoderLayer", "Encoder", "EncoderLayer", "Transformer"]


# --- checks shared by the modules ------------------------------------------------------------------
def _check_options(d_model, n_heads, d_ff, eps, norm_first):
    d_model = check_positive_int(d_model, "d_model")
    n_heads = check_positive_int(n_heads, "n_heads")
    if d_model % n_heads:
        msg = f"d_model = {d_model} is not divisible by n_heads = {n_heads}"
        raise ValueError(msg)
    d_ff = 4 * d_model if d_ff is None else check_positive_int(d_ff, "d_ff")
    return d_model, n_heads, d_ff, check_eps(eps), check_flag(norm_first, "norm_first")


def _check_pair(x, c, x_name, c_name):
    """Queries and memory must both be batched (with the same batch) or both unbatched."""
    if x.ndim != c.ndim or (x.ndim == 3 and x.shape[0] != c.shape[0]):
        msg = f"{x_name} has shape {x.shape} and {c_name} has shape {c.shape}: their batch axes must match"
        raise ValueError(msg)
    dtype = np.result_type(x.dtype, c.dtype, np.float32)
    return x.astype(dtype, copy=False), c.astype(dtype, copy=False)


def _check_mask_for(mask, name, x, n_heads, Lq, Lk):
    """A boolean mask broadcastable to the scores ``(batch, heads, Lq, Lk)`` (or ``(heads, Lq, Lk)``)."""
    if mask is None:
        return None
    return check_mask(mask, name, (*x.shape[:-2], n_heads, Lq, Lk))


def _record_input(tape, x):
    """A public call's ``tape`` keeps its input: the output and its gradient are shaped like it."""
    check_tape(tape)
    if tape is not None:
        tape["x"] = x


# --- the residual connection around each sublayer ---------------------------------------------------
def _tapes(tape, *names):
    """One empty sub-tape per name inside ``tape`` (or Nones when nothing is recorded)."""
    if tape is None:
        return [None] * len(names)
    for name in names:
        tape[name] = {}
    return [tape[name] for name in names]


def _residual(x, sublayer, gamma, beta, eps, norm_first, tape=None):
    """One sublayer wrapped in its residual connection and layer norm.

    Post-norm (the paper): ``LayerNorm(x + sublayer(x))``. Pre-norm: ``x + sublayer(LayerNorm(x))``.
    With a ``tape``, the sublayer and the norm record what their backward passes need.
    """
    sub, norm = _tapes(tape, "sublayer", "norm")
    if norm_first:
        return x + sublayer(_core.layer_norm(x, gamma, beta, eps, norm), tape=sub)
    return _core.layer_norm(x + sublayer(x, tape=sub), gamma, beta, eps, norm)


def _residual_backward(dy, tape, sublayer_backward, gamma, norm_first):
    """:func:`_residual` read backwards: ``(dx, d_gamma, d_beta)``; ``sublayer_backward(d, tape) -> d_in``."""
    if norm_first:  # y = x + sublayer(n), n = LayerNorm(x): x gets dy directly and through the sublayer
        dx, d_gamma, d_beta = _grad.layer_norm_backward(sublayer_backward(dy, tape["sublayer"]), tape["norm"], gamma)
        return dy + dx, d_gamma, d_beta
    # y = LayerNorm(r), r = x + sublayer(x): r's gradient reaches x directly and through the sublayer
    d_r, d_gamma, d_beta = _grad.layer_norm_backward(dy, tape["norm"], gamma)
    return d_r + sublayer_backward(d_r, tape["sublayer"]), d_gamma, d_beta


# --- reading state dicts ---------------------------------------------------------------------------
def _count_layers(reader, prefix):
    """How many ``{prefix}layers.{i}.`` blocks a state dict holds (0, 1, 2, ... without gaps)."""
    n = 0
    while any(key.startswith(f"{prefix}layers.{n}.") for key in reader.params):
        n += 1
    if n == 0:
        msg = f"params has no key starting with {prefix + 'layers.0.'!r}: a stack needs at least one layer"
        raise ValueError(msg)
    return n


def _read_attention(reader, n_heads, prefix, d_model):
    """A ``MultiHeadAttention`` read at ``prefix``, checked to have width ``d_model`` (if given)."""
    mha = MultiHeadAttention._read(reader, n_heads, prefix)
    if not mha.bias:
        msg = f"params is missing the key {prefix + 'in_proj_bias'!r} (layers without biases are unsupported)"
        raise ValueError(msg)
    if d_model is not None and mha.d_model != d_model:
        key = prefix + "in_proj_weight"
        msg = f"params[{key!r}] is for d_model = {mha.d_model}, but the model's first layer has {d_model}"
        raise ValueError(msg)
    return mha


# --- layers ----------------------------------------------------------------------------------------
class _Layer(Module):
    """What both layers share: the feed-forward block, the norms, and the torch layout of them."""

    _attentions: tuple[tuple[str, str], ...]  # (PyTorch's name, ours) of each attention
    _n_norms: int

    def _init(self, d_model, n_heads, d_ff, eps, norm_first, seed):
        self.d_model, self.n_heads, self.d_ff, self.eps, self.norm_first = _check_options(
            d_model, n_heads, d_ff, eps, norm_first
        )
        rng = np.random.default_rng(check_seed(seed))
        for _, attr in self._attentions:
            setattr(self, attr, MultiHeadAttention(self.d_model, self.n_heads, seed=int(rng.integers(2**32))))
        self.w1 = glorot(rng, self.d_model, self.d_ff)  # (d_model, d_ff)
        self.b1 = np.zeros(self.d_ff)
        self.w2 = glorot(rng, self.d_ff, self.d_model)  # (d_ff, d_model)
        self.b2 = np.zeros(self.d_model)
        for _, gamma, beta in self._norms():
            setattr(self, gamma, np.ones(self.d_model))
            setattr(self, beta, np.zeros(self.d_model))

    def _ff(self, x, tape=None):
        return _core.feed_forward(x, self.w1, self.b1, self.w2, self.b2, tape)  # (..., L, d_model)

    def _ff_backward(self, dy, tape, grads):
        dx, dw1, db1, dw2, db2 = _grad.feed_forward_backward(dy, tape, self.w1, self.w2)
        grads |= {"linear1.weight": dw1.T, "linear1.bias": db1, "linear2.weight": dw2.T, "linear2.bias": db2}
        return dx  # (..., L, d_model)

    def _attention_backward(self, attr, grads, d_memory=None):
        """The backward of the sublayer ``attr`` for :func:`_residual_backward`, filling ``grads``."""
        torch_name = dict((ours, theirs) for theirs, ours in self._attentions)[attr]

        def backward(d_out, tape):
            dx, d_context, g = getattr(self, attr).backward(d_out, tape)
            grads.update(prefixed(torch_name + ".", g))
            if d_context is not None:  # cross attention: the keys and values came from the memory
                d_memory[...] += d_context
            return dx

        return backward

    def _norms(self):
        return [(f"norm{i}", f"gamma{i}", f"beta{i}") for i in range(1, self._n_norms + 1)]

    def _write(self, sd, prefix):
        for torch_name, attr in self._attentions:
            getattr(self, attr)._write(sd, f"{prefix}{torch_name}.")
        sd[prefix + "linear1.weight"] = self.w1.T.copy()  # torch's Linear stores (out, in)
        sd[prefix + "linear1.bias"] = self.b1.copy()
        sd[prefix + "linear2.weight"] = self.w2.T.copy()
        sd[prefix + "linear2.bias"] = self.b2.copy()
        for torch_name, gamma, beta in self._norms():
            sd[f"{prefix}{torch_name}.weight"] = getattr(self, gamma).copy()
            sd[f"{prefix}{torch_name}.bias"] = getattr(self, beta).copy()

    def _assign(self, reader, prefix):
        d, f = self.d_model, self.d_ff
        for torch_name, attr in self._attentions:
            getattr(self, attr)._assign(reader, f"{prefix}{torch_name}.")
        self.w1 = reader.take(prefix + "linear1.weight", (f, d)).T.copy()
        self.b1 = reader.take(prefix + "linear1.bias", (f,))
        self.w2 = reader.take(prefix + "linear2.weight", (d, f)).T.copy()
        self.b2 = reader.take(prefix + "linear2.bias", (d,))
        for torch_name, gamma, beta in self._norms():
            setattr(self, gamma, reader.take(f"{prefix}{torch_name}.weight", (d,)))
            setattr(self, beta, reader.take(f"{prefix}{torch_name}.bias", (d,)))

    @classmethod
    def _read(cls, reader, n_heads, prefix, *, eps, norm_first, d_model=None):
        """A layer holding the arrays stored at ``prefix``: sizes from the shapes, no random weights drawn."""
        layer = cls.__new__(cls)
        for torch_name, attr in cls._attentions:
            setattr(layer, attr, _read_attention(reader, n_heads, f"{prefix}{torch_name}.", d_model))
            d_model = getattr(layer, attr).d_model
        key = prefix + "linear1.weight"
        w1 = reader.take(key, None)
        if w1.ndim != 2 or w1.shape[1] != d_model:
            msg = f"params[{key!r}] has shape {w1.shape} but needs (d_ff, d_model = {d_model})"
            raise ValueError(msg)
        layer.d_model, layer.n_heads, layer.d_ff, layer.eps, layer.norm_first = _check_options(
            d_model, n_heads, w1.shape[0], eps, norm_first
        )
        layer._assign(reader, prefix)
        return layer

    @classmethod
    def from_state_dict(cls, params, n_heads: int, *, eps: float = 1e-5, norm_first: bool = False):
        """Build the layer from a PyTorch layer's state dict (NumPy arrays or tensors).

        Parameters
        ----------
        params : dict of str to array_like
            Keyed exactly like the PyTorch layer's ``state_dict()``; ``d_model`` and ``d_ff`` are read
            from the shapes. A missing, misshapen or unexpected key raises ``ValueError`` naming it.
        n_heads : int
            Not stored in a state dict, so it must be given (PyTorch's ``nhead``).
        eps : float, optional
            The layer norms' epsilon (PyTorch's ``layer_norm_eps``).
        norm_first : bool, optional
            PyTorch's ``norm_first`` (False = post-norm, as in the paper).

        Returns
        -------
        EncoderLayer or DecoderLayer
            An instance of the class it is called on.
        """
        reader = StateReader(params)
        layer = cls._read(reader, n_heads, "", eps=check_eps(eps), norm_first=check_flag(norm_first, "norm_first"))
        reader.finish()
        return layer

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(d_model={self.d_model}, n_heads={self.n_heads}, d_ff={self.d_ff}, "
            f"norm_first={self.norm_first})"
        )


class EncoderLayer(_Layer):
    r"""One encoder layer: self attention, then a position-wise feed-forward block.

    Each of the two sublayers is wrapped in a residual connection and a layer norm: post-norm
    ``LayerNorm(x + sublayer(x))`` as in the paper, or pre-norm ``x + sublayer(LayerNorm(x))`` with
    ``norm_first=True``. Equals ``torch.nn.TransformerEncoderLayer`` (ReLU, eval mode).

    Parameters
    ----------
    d_model : int
        Width of the vectors.
    n_heads : int
        Number of attention heads; must divide ``d_model``.
    d_ff : int, optional
        Hidden width of the feed-forward block (default ``4 * d_model``, as in the paper).
    eps : float, optional
        Layer-norm epsilon (default ``1e-5``, PyTorch's).
    norm_first : bool, optional
        Pre-norm instead of the paper's post-norm.
    seed : int, optional
        Seed for the initial weights (Glorot uniform; biases 0, norms' ``gamma`` 1 and ``beta`` 0).

    Attributes
    ----------
    self_attn : MultiHeadAttention
        The self-attention sublayer.
    w1 : (d_model, d_ff) ndarray
        First feed-forward weight, applied as ``x @ w1 + b1``.
    b1 : (d_ff,) ndarray
        First feed-forward bias.
    w2 : (d_ff, d_model) ndarray
        Second feed-forward weight.
    b2 : (d_model,) ndarray
        Second feed-forward bias.
    gamma1 : (d_model,) ndarray
        Scale of the norm around self attention (``beta1`` is its shift).
    gamma2 : (d_model,) ndarray
        Scale of the norm around the feed-forward block (``beta2`` is its shift).

    Notes
    -----
    .. math::
        z = \operatorname{LayerNorm}(x + \operatorname{MHA}(x, x)),\qquad
        y = \operatorname{LayerNorm}(z + \operatorname{FFN}(z))

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import EncoderLayer
    >>> layer = EncoderLayer(d_model=8, n_heads=2, d_ff=16, seed=0)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 8))   # (batch, L, d_model)
    >>> layer(x).shape
    (2, 5, 8)
    >>> sorted(layer.state_dict())[:3]          # the keys of torch.nn.TransformerEncoderLayer
    ['linear1.bias', 'linear1.weight', 'linear2.bias']
    """

    _attentions = (("self_attn", "self_attn"),)
    _n_norms = 2

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int | None = None,
        *,
        eps: float = 1e-5,
        norm_first: bool = False,
        seed: int | None = None,
    ):
        self._init(d_model, n_heads, d_ff, eps, norm_first, seed)

    def __call__(self, x, *, mask=None, causal: bool = False, tape=None) -> np.ndarray:
        """Run the layer.

        Parameters
        ----------
        x : (L, d_model) or (batch, L, d_model) array_like
        mask : array_like of bool, optional
            True = may attend; broadcastable to ``(batch, heads, L, L)``.
        causal : bool, optional
            Also hide later positions (what a decoder-only model does).
        tape : dict, optional
            An empty dict to record what :meth:`backward` needs.

        Returns
        -------
        ndarray, shaped like ``x``
        """
        x = check_seq(x, "x", self.d_model)
        L = x.shape[-2]
        mask = _check_mask_for(mask, "mask", x, self.n_heads, L, L)
        causal = check_flag(causal, "causal")
        _record_input(tape, x)
        with one_blas_thread():
            return self._forward(x, partial(self._self_attention, mask=mask, causal=causal), tape)

    def _self_attention(self, x, *, mask, causal, tape=None):
        return self.self_attn._forward(x, x, mask, causal=causal, need_weights=False, tape=tape)[0]  # (..., L, d_model)

    def _forward(self, x, attend, tape=None):
        """The layer's skeleton; ``attend`` is its self attention (full, or with a KV cache)."""
        t_attn, t_ff = _tapes(tape, "self_attn", "feed_forward")
        x = _residual(x, attend, self.gamma1, self.beta1, self.eps, self.norm_first, t_attn)
        return _residual(x, self._ff, self.gamma2, self.beta2, self.eps, self.norm_first, t_ff)

    def backward(self, dy, tape):
        """Gradients of the call that filled ``tape``.

        Parameters
        ----------
        dy : ndarray, shaped like the output
            Gradient of the loss with respect to the layer's output.
        tape : dict
            The ``tape`` given to that call.

        Returns
        -------
        dx : ndarray, shaped like ``x``
        grads : dict of str to ndarray
            Gradients of the parameters, keyed and laid out like :meth:`state_dict`.
        """
        return self._backward(check_backward(dy, tape, "x"), tape)

    def _backward(self, dy, tape):
        grads = {}
        dy, grads["norm2.weight"], grads["norm2.bias"] = _residual_backward(
            dy, tape["feed_forward"], partial(self._ff_backward, grads=grads), self.gamma2, self.norm_first
        )
        dx, grads["norm1.weight"], grads["norm1.bias"] = _residual_backward(
            dy, tape["self_attn"], self._attention_backward("self_attn", grads), self.gamma1, self.norm_first
        )
        return dx, grads


class DecoderLayer(_Layer):
    r"""One decoder layer: masked self attention, cross attention to the encoder, feed-forward.

    Equals ``torch.nn.TransformerDecoderLayer`` (ReLU, eval mode) called with a causal ``tgt_mask``.
    Residual connections and layer norms as in :class:`EncoderLayer`, with a third norm.

    Parameters
    ----------
    d_model : int
        Width of the vectors.
    n_heads : int
        Number of attention heads; must divide ``d_model``.
    d_ff : int, optional
        Hidden width of the feed-forward block (default ``4 * d_model``).
    eps : float, optional
        Layer-norm epsilon (default ``1e-5``).
    norm_first : bool, optional
        Pre-norm instead of the paper's post-norm.
    seed : int, optional
        Seed for the initial weights.

    Attributes
    ----------
    self_attn : MultiHeadAttention
        Self attention over the target (causal by default).
    cross_attn : MultiHeadAttention
        Cross attention: queries from the target, keys and values from the encoder's output
        (PyTorch calls it ``multihead_attn``).
    w1 : (d_model, d_ff) ndarray
        First feed-forward weight (``b1``, ``w2``, ``b2`` as in :class:`EncoderLayer`).
    gamma1 : (d_model,) ndarray
        Scale of the norm around self attention; ``gamma2`` around cross attention, ``gamma3``
        around the feed-forward block; ``beta1..3`` are the shifts.

    Notes
    -----
    .. math::
        a = \operatorname{LayerNorm}(y + \operatorname{MaskedMHA}(y, y)),\quad
        b = \operatorname{LayerNorm}(a + \operatorname{MHA}(a, m)),\quad
        \text{out} = \operatorname{LayerNorm}(b + \operatorname{FFN}(b))

    with :math:`y` the target vectors and :math:`m` the encoder's output (the memory).

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import DecoderLayer
    >>> layer = DecoderLayer(d_model=8, n_heads=2, d_ff=16, seed=0)
    >>> rng = np.random.default_rng(0)
    >>> tgt, memory = rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 5, 8))   # Lt = 3, Ls = 5
    >>> layer(tgt, memory).shape
    (2, 3, 8)
    """

    _attentions = (("self_attn", "self_attn"), ("multihead_attn", "cross_attn"))
    _n_norms = 3

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int | None = None,
        *,
        eps: float = 1e-5,
        norm_first: bool = False,
        seed: int | None = None,
    ):
        self._init(d_model, n_heads, d_ff, eps, norm_first, seed)

    def __call__(
        self, tgt, memory, *, tgt_mask=None, memory_mask=None, causal: bool = True, tape=None
    ) -> np.ndarray:
        """Run the layer.

        Parameters
        ----------
        tgt : (Lt, d_model) or (batch, Lt, d_model) array_like
            The decoder's input (the target so far).
        memory : (Ls, d_model) or (batch, Ls, d_model) array_like
            The encoder's output.
        tgt_mask : array_like of bool, optional
            True = may attend, for self attention; broadcastable to ``(batch, heads, Lt, Lt)``.
        memory_mask : array_like of bool, optional
            True = may attend, for cross attention; broadcastable to ``(batch, heads, Lt, Ls)``
            (e.g. ``padding_mask(src_lengths, Ls)``).
        causal : bool, optional
            Hide later target positions in self attention (default True, as in the paper).
        tape : dict, optional
            An empty dict to record what :meth:`backward` needs.

        Returns
        -------
        ndarray, shaped like ``tgt``
        """
        tgt, memory, tgt_mask, memory_mask, causal = _check_decoder_args(
            self, tgt, memory, tgt_mask, memory_mask, causal
        )
        _record_input(tape, tgt)
        with one_blas_thread():
            return self._forward(tgt, memory, tgt_mask, memory_mask, causal, tape)

    def _forward(self, y, memory, tgt_mask, memory_mask, causal, tape=None):
        def self_attention(h, tape=None):  # (..., Lt, d_model): each target position looks at the target
            return self.self_attn._forward(h, h, tgt_mask, causal=causal, need_weights=False, tape=tape)[0]

        def cross_attention(h, tape=None):  # (..., Lt, d_model): each target position looks at the source
            return self.cross_attn._forward(h, memory, memory_mask, need_weights=False, tape=tape)[0]

        t_self, t_cross, t_ff = _tapes(tape, "self_attn", "cross_attn", "feed_forward")
        y = _residual(y, self_attention, self.gamma1, self.beta1, self.eps, self.norm_first, t_self)
        y = _residual(y, cross_attention, self.gamma2, self.beta2, self.eps, self.norm_first, t_cross)
        return _residual(y, self._ff, self.gamma3, self.beta3, self.eps, self.norm_first, t_ff)

    def backward(self, dy, tape):
        """Gradients of the call that filled ``tape``.

        Parameters
        ----------
        dy : ndarray, shaped like the output
            Gradient of the loss with respect to the layer's output.
        tape : dict
            The ``tape`` given to that call.

        Returns
        -------
        d_tgt : ndarray, shaped like ``tgt``
        d_memory : ndarray, shaped like ``memory``
            The cross attention's keys and values came from the memory: its gradient flows there.
        grads : dict of str to ndarray
            Gradients of the parameters, keyed and laid out like :meth:`state_dict`.
        """
        return self._backward(check_backward(dy, tape, "x"), tape)

    def _backward(self, dy, tape):
        grads = {}
        d_memory = np.zeros_like(tape["cross_attn"]["sublayer"]["context"])  # (..., Ls, d_model)
        dy, grads["norm3.weight"], grads["norm3.bias"] = _residual_backward(
            dy, tape["feed_forward"], partial(self._ff_backward, grads=grads), self.gamma3, self.norm_first
        )
        cross = self._attention_backward("cross_attn", grads, d_memory)
        dy, grads["norm2.weight"], grads["norm2.bias"] = _residual_backward(
            dy, tape["cross_attn"], cross, self.gamma2, self.norm_first
        )
        dy, grads["norm1.weight"], grads["norm1.bias"] = _residual_backward(
            dy, tape["self_attn"], self._attention_backward("self_attn", grads), self.gamma1, self.norm_first
        )
        return dy, d_memory, grads


def _check_decoder_args(module, tgt, memory, tgt_mask, memory_mask, causal):
    """The checked arguments of a decoder layer or stack."""
    tgt = check_seq(tgt, "tgt", module.d_model)
    memory = check_seq(memory, "memory", module.d_model)
    tgt, memory = _check_pair(tgt, memory, "tgt", "memory")
    Lt, Ls = tgt.shape[-2], memory.shape[-2]
    tgt_mask = _check_mask_for(tgt_mask, "tgt_mask", tgt, module.n_heads, Lt, Lt)
    memory_mask = _check_mask_for(memory_mask, "memory_mask", tgt, module.n_heads, Lt, Ls)
    return tgt, memory, tgt_mask, memory_mask, check_flag(causal, "causal")


# --- stacks ----------------------------------------------------------------------------------------
class _Stack(Module):
    """N identical layers, then an optional final layer norm (``norm.weight``/``norm.bias``)."""

    _layer_cls: type[_Layer]

    def __init__(
        self,
        n_layers: int,
        d_model: int,
        n_heads: int,
        d_ff: int | None = None,
        *,
        final_norm: bool = False,
        eps: float = 1e-5,
        norm_first: bool = False,
        seed: int | None = None,
    ):
        n_layers = check_positive_int(n_layers, "n_layers")
        d_model, n_heads, d_ff, eps, norm_first = _check_options(d_model, n_heads, d_ff, eps, norm_first)
        final_norm = check_flag(final_norm, "final_norm")
        rng = np.random.default_rng(check_seed(seed))
        options = {"eps": eps, "norm_first": norm_first}
        seeds = rng.integers(2**32, size=n_layers)
        self.layers = [self._layer_cls(d_model, n_heads, d_ff, seed=int(s), **options) for s in seeds]
        self.gamma = np.ones(d_model) if final_norm else None
        self.beta = np.zeros(d_model) if final_norm else None

    @property
    def d_model(self) -> int:
        """Width of the vectors."""
        return self.layers[0].d_model

    @property
    def n_heads(self) -> int:
        """Number of attention heads."""
        return self.layers[0].n_heads

    @property
    def eps(self) -> float:
        """Layer-norm epsilon."""
        return self.layers[0].eps

    def __repr__(self) -> str:
        layer = self.layers[0]
        return (
            f"{type(self).__name__}(n_layers={len(self.layers)}, d_model={layer.d_model}, "
            f"n_heads={layer.n_heads}, d_ff={layer.d_ff}, final_norm={self.gamma is not None}, "
            f"norm_first={layer.norm_first})"
        )

    def _layer_tapes(self, tape):
        """One sub-tape per layer, and one for the final norm (Nones when nothing is recorded)."""
        if tape is None:
            return [None] * len(self.layers), None
        tape["layers"], tape["norm"] = [{} for _ in self.layers], {}
        return tape["layers"], tape["norm"]

    def _final_norm(self, x, tape=None):
        return x if self.gamma is None else _core.layer_norm(x, self.gamma, self.beta, self.eps, tape)

    def _final_norm_backward(self, dy, tape, grads):
        if self.gamma is None:
            return dy
        dx, grads["norm.weight"], grads["norm.bias"] = _grad.layer_norm_backward(dy, tape["norm"], self.gamma)
        return dx

    def _write(self, sd, prefix):
        for i, layer in enumerate(self.layers):
            layer._write(sd, f"{prefix}layers.{i}.")
        if self.gamma is not None:
            sd[prefix + "norm.weight"] = self.gamma.copy()
            sd[prefix + "norm.bias"] = self.beta.copy()

    def _assign(self, reader, prefix):
        for i, layer in enumerate(self.layers):
            layer._assign(reader, f"{prefix}layers.{i}.")
        if self.gamma is not None:
            self.gamma = reader.take(prefix + "norm.weight", (self.d_model,))
            self.beta = reader.take(prefix + "norm.bias", (self.d_model,))

    @classmethod
    def _read(cls, reader, n_heads, prefix, *, eps, norm_first):
        layers, d_model = [], None
        for i in range(_count_layers(reader, prefix)):
            layer = cls._layer_cls._read(
                reader, n_heads, f"{prefix}layers.{i}.", eps=eps, norm_first=norm_first, d_model=d_model
            )
            layers.append(layer)
            d_model = layer.d_model
        stack = cls.__new__(cls)
        stack.layers = layers
        stack.gamma = stack.beta = None
        if reader.has(prefix + "norm.weight") or reader.has(prefix + "norm.bias"):
            stack.gamma = reader.take(prefix + "norm.weight", (d_model,))
            stack.beta = reader.take(prefix + "norm.bias", (d_model,))
        return stack

    @classmethod
    def from_state_dict(cls, params, n_heads: int, *, eps: float = 1e-5, norm_first: bool = False):
        """Build the stack from a PyTorch stack's state dict (NumPy arrays or tensors).

        Parameters
        ----------
        params : dict of str to array_like
            Keyed exactly like the PyTorch module's ``state_dict()``: ``layers.0.self_attn.in_proj_weight``
            and so on; the number of layers, ``d_model`` and ``d_ff`` are read from the keys and shapes,
            and a final norm is used if ``norm.weight`` is present. A missing, misshapen or unexpected
            key raises ``ValueError`` naming it.
        n_heads : int
            Not stored in a state dict, so it must be given (PyTorch's ``nhead``).
        eps : float, optional
            The layer norms' epsilon (PyTorch's ``layer_norm_eps``).
        norm_first : bool, optional
            PyTorch's ``norm_first`` (False = post-norm, as in the paper).

        Returns
        -------
        Encoder, Decoder or DecoderOnlyTransformer
            An instance of the class it is called on.
        """
        reader = StateReader(params)
        stack = cls._read(reader, n_heads, "", eps=check_eps(eps), norm_first=check_flag(norm_first, "norm_first"))
        reader.finish()
        return stack


class Encoder(_Stack):
    """A stack of :class:`EncoderLayer` (``torch.nn.TransformerEncoder``).

    Parameters
    ----------
    n_layers : int
        Number of layers (6 in the paper).
    d_model : int
        Width of the vectors.
    n_heads : int
        Number of attention heads; must divide ``d_model``.
    d_ff : int, optional
        Feed-forward width (default ``4 * d_model``).
    final_norm : bool, optional
        End with one more layer norm (PyTorch's ``norm=`` argument; :class:`Transformer` has one).
    eps : float, optional
        Layer-norm epsilon (default ``1e-5``).
    norm_first : bool, optional
        Pre-norm layers instead of the paper's post-norm.
    seed : int, optional
        Seed for the initial weights.

    Attributes
    ----------
    layers : list of EncoderLayer
    gamma : (d_model,) ndarray or None
        Scale of the final norm (None without one); ``beta`` is its shift.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import Encoder, padding_mask
    >>> enc = Encoder(n_layers=2, d_model=8, n_heads=2, seed=0)
    >>> src = np.random.default_rng(0).normal(size=(2, 4, 8))    # (batch, Ls, d_model)
    >>> enc(src, mask=padding_mask([4, 2], 4)).shape               # 2nd sequence: 2 real tokens
    (2, 4, 8)
    """

    _layer_cls = EncoderLayer

    def __call__(self, x, *, mask=None, causal: bool = False, tape=None) -> np.ndarray:
        """Run every layer in turn (then the final norm, if any).

        Parameters
        ----------
        x : (L, d_model) or (batch, L, d_model) array_like
        mask : array_like of bool, optional
            True = may attend; broadcastable to ``(batch, heads, L, L)``.
        causal : bool, optional
            Hide later positions in every layer.
        tape : dict, optional
            An empty dict to record what :meth:`backward` needs.

        Returns
        -------
        ndarray, shaped like ``x``
        """
        x = check_seq(x, "x", self.d_model)
        L = x.shape[-2]
        mask = _check_mask_for(mask, "mask", x, self.n_heads, L, L)
        causal = check_flag(causal, "causal")
        _record_input(tape, x)
        with one_blas_thread():
            return self._forward(x, mask, causal, tape)

    def _forward(self, x, mask, causal, tape=None):
        layer_tapes, norm_tape = self._layer_tapes(tape)
        for layer, t in zip(self.layers, layer_tapes, strict=True):
            attend = partial(layer._self_attention, mask=mask, causal=causal)
            x = layer._forward(x, attend, t)  # (..., L, d_model)
        return self._final_norm(x, norm_tape)

    def backward(self, dy, tape):
        """Gradients of the call that filled ``tape``: ``(dx, grads)``, grads keyed like :meth:`state_dict`."""
        return self._backward(check_backward(dy, tape, "x"), tape)

    def _backward(self, dy, tape):
        grads = {}
        dy = self._final_norm_backward(dy, tape, grads)
        for i in reversed(range(len(self.layers))):
            dy, g = self.layers[i]._backward(dy, tape["layers"][i])
            grads |= prefixed(f"layers.{i}.", g)
        return dy, grads


class Decoder(_Stack):
    """A stack of :class:`DecoderLayer` (``torch.nn.TransformerDecoder``).

    Parameters are those of :class:`Encoder`.

    Attributes
    ----------
    layers : list of DecoderLayer
    gamma : (d_model,) ndarray or None
        Scale of the final norm (None without one); ``beta`` is its shift.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import Decoder
    >>> dec = Decoder(n_layers=2, d_model=8, n_heads=2, seed=0)
    >>> rng = np.random.default_rng(0)
    >>> dec(rng.normal(size=(3, 8)), rng.normal(size=(5, 8))).shape   # unbatched: (Lt, d_model)
    (3, 8)
    """

    _layer_cls = DecoderLayer

    def __call__(
        self, tgt, memory, *, tgt_mask=None, memory_mask=None, causal: bool = True, tape=None
    ) -> np.ndarray:
        """Run every layer in turn (then the final norm, if any).

        Parameters
        ----------
        tgt : (Lt, d_model) or (batch, Lt, d_model) array_like
        memory : (Ls, d_model) or (batch, Ls, d_model) array_like
            The encoder's output.
        tgt_mask, memory_mask : array_like of bool, optional
            As in :meth:`DecoderLayer.__call__`.
        causal : bool, optional
            Hide later target positions (default True).
        tape : dict, optional
            An empty dict to record what :meth:`backward` needs.

        Returns
        -------
        ndarray, shaped like ``tgt``
        """
        tgt, memory, tgt_mask, memory_mask, causal = _check_decoder_args(
            self, tgt, memory, tgt_mask, memory_mask, causal
        )
        _record_input(tape, tgt)
        with one_blas_thread():
            return self._forward(tgt, memory, tgt_mask, memory_mask, causal, tape)

    def _forward(self, y, memory, tgt_mask, memory_mask, causal, tape=None):
        layer_tapes, norm_tape = self._layer_tapes(tape)
        for layer, t in zip(self.layers, layer_tapes, strict=True):
            y = layer._forward(y, memory, tgt_mask, memory_mask, causal, t)  # (..., Lt, d_model)
        return self._final_norm(y, norm_tape)

    def backward(self, dy, tape):
        """Gradients of the call that filled ``tape``: ``(d_tgt, d_memory, grads)`` (:meth:`DecoderLayer.backward`)."""
        return self._backward(check_backward(dy, tape, "x"), tape)

    def _backward(self, dy, tape):
        grads, d_memory = {}, 0
        dy = self._final_norm_backward(dy, tape, grads)
        for i in reversed(range(len(self.layers))):  # every layer's cross attention read the memory
            dy, d_mem, g = self.layers[i]._backward(dy, tape["layers"][i])
            d_memory = d_memory + d_mem
            grads |= prefixed(f"layers.{i}.", g)
        return dy, d_memory, grads


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need" (``torch.nn.Transformer``).

    The encoder reads the whole source with self attention; the decoder reads the target so far with
    causal self attention and the encoder's output with cross attention. Like ``torch.nn.Transformer``
    it maps vectors to vectors: add token embeddings and :func:`~attention_ref.positional_encoding`
    before, and apply an output projection after, yourself. Both stacks end with a layer norm, as in
    ``torch.nn.Transformer``.

    Parameters
    ----------
    d_model : int
        Width of the vectors (512 in the paper).
    n_heads : int
        Number of attention heads (8 in the paper); must divide ``d_model``.
    n_encoder_layers : int
        Number of encoder layers (6 in the paper).
    n_decoder_layers : int
        Number of decoder layers (6 in the paper).
    d_ff : int, optional
        Feed-forward width (default ``4 * d_model``; 2048 in the paper).
    eps : float, optional
        Layer-norm epsilon (default ``1e-5``).
    norm_first : bool, optional
        Pre-norm layers instead of the paper's post-norm.
    seed : int, optional
        Seed for the initial weights.

    Attributes
    ----------
    encoder : Encoder
    decoder : Decoder

    Notes
    -----
    **Loading trained weights.** ``Transformer.from_state_dict(sd, n_heads)`` takes the
    ``state_dict()`` of a ``torch.nn.Transformer(..., activation="relu", bias=True)`` converted to NumPy,
    e.g. ``{k: v.numpy() for k, v in model.state_dict().items()}``, with exactly its keys
    (``encoder.layers.0.self_attn.in_proj_weight``, ..., ``decoder.norm.bias``). If the
    ``nn.Transformer`` is a submodule of a bigger model (next to embeddings and an output layer), pass
    only its entries with the prefix removed, e.g. ``{k.removeprefix("transformer."): v for k, v in
    sd.items() if k.startswith("transformer.")}``. The layer counts, ``d_model`` and ``d_ff`` come from
    the keys and shapes; ``n_heads``, ``eps`` and ``norm_first`` must be given as they were in PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import Transformer
    >>> model = Transformer(d_model=8, n_heads=2, n_encoder_layers=2, n_decoder_layers=2, seed=0)
    >>> rng = np.random.default_rng(0)
    >>> src = rng.normal(size=(2, 5, 8))     # (batch, Ls, d_model)
    >>> tgt = rng.normal(size=(2, 3, 8))     # (batch, Lt, d_model)
    >>> model(src, tgt).shape                # (batch, Lt, d_model)
    (2, 3, 8)
    >>> same = Transformer.from_state_dict(model.state_dict(), n_heads=2)
    >>> bool(np.allclose(same(src, tgt), model(src, tgt)))
    True
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        n_encoder_layers: int,
        n_decoder_layers: int,
        d_ff: int | None = None,
        *,
        eps: float = 1e-5,
        norm_first: bool = False,
        seed: int | None = None,
    ):
        options = {"final_norm": True, "eps": eps, "norm_first": norm_first}
        n_encoder_layers = check_positive_int(n_encoder_layers, "n_encoder_layers")
        n_decoder_layers = check_positive_int(n_decoder_layers, "n_decoder_layers")
        seeds = np.random.default_rng(check_seed(seed)).integers(2**32, size=2)
        self.encoder = Encoder(n_encoder_layers, d_model, n_heads, d_ff, seed=int(seeds[0]), **options)
        self.decoder = Decoder(n_decoder_layers, d_model, n_heads, d_ff, seed=int(seeds[1]), **options)

    def __repr__(self) -> str:
        enc = self.encoder.layers[0]
        return (
            f"Transformer(d_model={enc.d_model}, n_heads={enc.n_heads}, "
            f"n_encoder_layers={len(self.encoder.layers)}, n_decoder_layers={len(self.decoder.layers)}, "
            f"d_ff={enc.d_ff}, norm_first={enc.norm_first})"
        )

    @property
    def d_model(self) -> int:
        """Width of the vectors."""
        return self.encoder.d_model

    @property
    def n_heads(self) -> int:
        """Number of attention heads."""
        return self.encoder.n_heads

    def __call__(
        self, src, tgt, *, src_mask=None, tgt_mask=None, memory_mask=None, tgt_causal: bool = True, tape=None
    ) -> np.ndarray:
        """Encode ``src``, then decode ``tgt`` while attending to the encoding.

        Parameters
        ----------
        src : (Ls, d_model) or (batch, Ls, d_model) array_like
            The source vectors (embeddings plus positions).
        tgt : (Lt, d_model) or (batch, Lt, d_model) array_like
            The target vectors so far (shifted right during training).
        src_mask : array_like of bool, optional
            For the encoder's self attention, broadcastable to ``(batch, heads, Ls, Ls)``.
        tgt_mask : array_like of bool, optional
            For the decoder's self attention, broadcastable to ``(batch, heads, Lt, Lt)``; combined
            with the causal mask when ``tgt_causal``.
        memory_mask : array_like of bool, optional
            For the decoder's cross attention, broadcastable to ``(batch, heads, Lt, Ls)``. With a
            padded source, pass the same ``padding_mask(src_lengths, Ls)`` as ``src_mask`` and here.
        tgt_causal : bool, optional
            Causal decoder self attention (default True, as in the paper).
        tape : dict, optional
            An empty dict to record what :meth:`backward` needs (``tape["encoder"]`` and
            ``tape["decoder"]`` hold the stacks' records, the attention weights among them).

        Returns
        -------
        ndarray, shaped like ``tgt``
            The decoder's output vectors.
        """
        d_model, h = self.d_model, self.n_heads
        src = check_seq(src, "src", d_model)
        tgt = check_seq(tgt, "tgt", d_model)
        tgt, src = _check_pair(tgt, src, "tgt", "src")
        Ls, Lt = src.shape[-2], tgt.shape[-2]
        src_mask = _check_mask_for(src_mask, "src_mask", src, h, Ls, Ls)
        tgt_mask = _check_mask_for(tgt_mask, "tgt_mask", tgt, h, Lt, Lt)
        memory_mask = _check_mask_for(memory_mask, "memory_mask", tgt, h, Lt, Ls)
        tgt_causal = check_flag(tgt_causal, "tgt_causal")
        _record_input(tape, tgt)
        with one_blas_thread():
            return self._forward(src, tgt, src_mask, tgt_mask, memory_mask, tgt_causal, tape)

    def _forward(self, src, tgt, src_mask, tgt_mask, memory_mask, tgt_causal, tape=None):
        t_enc, t_dec = _tapes(tape, "encoder", "decoder")
        memory = self.encoder._forward(src, src_mask, False, t_enc)  # (..., Ls, d_model)
        return self.decoder._forward(tgt, memory, tgt_mask, memory_mask, tgt_causal, t_dec)  # (..., Lt, d_model)

    def backward(self, dy, tape):
        """Gradients of the call that filled ``tape``.

        Parameters
        ----------
        dy : ndarray, shaped like the output
            Gradient of the loss with respect to the decoder's output.
        tape : dict
            The ``tape`` given to that call.

        Returns
        -------
        d_src : ndarray, shaped like ``src``
        d_tgt : ndarray, shaped like ``tgt``
        grads : dict of str to ndarray
            Gradients of the parameters, keyed and laid out like :meth:`state_dict`.
        """
        return self._backward(check_backward(dy, tape, "x"), tape)

    def _backward(self, dy, tape):
        d_tgt, d_memory, g_dec = self.decoder._backward(dy, tape["decoder"])
        d_src, g_enc = self.encoder._backward(d_memory, tape["encoder"])
        return d_src, d_tgt, prefixed("encoder.", g_enc) | prefixed("decoder.", g_dec)

    @staticmethod
    def attention_records(tape) -> dict[str, dict[str, np.ndarray]]:
        """What every attention recorded on a call's ``tape``, keyed by the module's path.

        Parameters
        ----------
        tape : dict
            The ``tape`` given to a call of a :class:`Transformer`.

        Returns
        -------
        dict of str to dict
            ``"encoder.layers.0.self_attn"``, ``"decoder.layers.0.self_attn"``,
            ``"decoder.layers.0.cross_attn"``, ...: each the record of that
            :class:`~attention_ref.MultiHeadAttention` call: ``"weights"`` ``(batch, heads, Lq, Lk)``,
            ``"x"`` (its queries' input), ``"context"`` (its keys' and values' input), ``"q"``,
            ``"k"``, ``"v"`` (split into heads).

        Examples
        --------
        >>> import numpy as np
        >>> from attention_ref import Transformer
        >>> model = Transformer(d_model=8, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, seed=0)
        >>> rng = np.random.default_rng(0)
        >>> tape = {}
        >>> out = model(rng.normal(size=(1, 5, 8)), rng.normal(size=(1, 3, 8)), tape=tape)
        >>> for path, record in Transformer.attention_records(tape).items():
        ...     print(path, record["weights"].shape)       # (batch, heads, Lq, Lk)
        encoder.layers.0.self_attn (1, 2, 5, 5)
        decoder.layers.0.self_attn (1, 2, 3, 3)
        decoder.layers.0.cross_attn (1, 2, 3, 5)
        """
        if not isinstance(tape, dict) or "encoder" not in tape:
            msg = "tape must be the dict given as tape= to a Transformer call"
            raise TypeError(msg) if not isinstance(tape, dict) else ValueError(msg)
        records = {}
        for stack in ("encoder", "decoder"):
            for i, layer in enumerate(tape[stack]["layers"]):
                for attr in ("self_attn", "cross_attn"):
                    if attr in layer:
                        records[f"{stack}.layers.{i}.{attr}"] = layer[attr]["sublayer"]
        return records

    def encode(self, src, *, src_mask=None) -> np.ndarray:
        """The encoder's output (the memory the decoder attends to); see :meth:`Encoder.__call__`."""
        src = check_seq(src, "src", self.d_model)
        L = src.shape[-2]
        src_mask = _check_mask_for(src_mask, "src_mask", src, self.n_heads, L, L)
        with one_blas_thread():
            return self.encoder._forward(src, src_mask, False)

    def decode(self, tgt, memory, *, tgt_mask=None, memory_mask=None, tgt_causal: bool = True) -> np.ndarray:
        """The decoder's output for a given memory; see :meth:`Decoder.__call__`."""
        tgt_causal = check_flag(tgt_causal, "tgt_causal")
        tgt, memory, tgt_mask, memory_mask, _ = _check_decoder_args(
            self.decoder, tgt, memory, tgt_mask, memory_mask, True
        )
        with one_blas_thread():
            return self.decoder._forward(tgt, memory, tgt_mask, memory_mask, tgt_causal)

    def _write(self, sd, prefix):
        self.encoder._write(sd, prefix + "encoder.")
        self.decoder._write(sd, prefix + "decoder.")

    def _assign(self, reader, prefix):
        self.encoder._assign(reader, prefix + "encoder.")
        self.decoder._assign(reader, prefix + "decoder.")

    @classmethod
    def _read(cls, reader, n_heads, prefix, *, eps, norm_first):
        model = cls.__new__(cls)
        model.encoder = Encoder._read(reader, n_heads, prefix + "encoder.", eps=eps, norm_first=norm_first)
        model.decoder = Decoder._read(reader, n_heads, prefix + "decoder.", eps=eps, norm_first=norm_first)
        for stack, name in ((model.encoder, "encoder."), (model.decoder, "decoder.")):
            if stack.gamma is None:
                msg = f"params is missing the key {prefix + name + 'norm.weight'!r}"
                raise ValueError(msg)
        if model.decoder.d_model != model.encoder.d_model:
            key = prefix + "decoder.layers.0.self_attn.in_proj_weight"
            msg = (
                f"params[{key!r}] is for d_model = {model.decoder.d_model}, "
                f"but the encoder has d_model = {model.encoder.d_model}"
            )
            raise ValueError(msg)
        return model

    @classmethod
    def from_state_dict(
        cls, params, n_heads: int, *, eps: float = 1e-5, norm_first: bool = False
    ) -> Transformer:
        """Build from a ``torch.nn.Transformer`` state dict (see the class Notes).

        Parameters
        ----------
        params : dict of str to array_like
            Keyed exactly like ``torch.nn.Transformer.state_dict()``. A missing, misshapen or unexpected
            key raises ``ValueError`` naming it.
        n_heads : int
            PyTorch's ``nhead``.
        eps : float, optional
            PyTorch's ``layer_norm_eps``.
        norm_first : bool, optional
            PyTorch's ``norm_first``.

        Returns
        -------
        Transformer
        """
        reader = StateReader(params)
        model = cls._read(reader, n_heads, "", eps=check_eps(eps), norm_first=check_flag(norm_first, "norm_first"))
        reader.finish()
        return model
