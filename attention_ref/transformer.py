"""The Transformer of "Attention Is All You Need" in NumPy: layers, stacks, and a KV cache.

Axis letters used in the shape comments:

- ``B``: batch; ``h``: heads; ``d_model``: model width; ``d_ff``: feed-forward width
- ``Ls``: source length (encoder input); ``Lt``: target length (decoder input)
- ``L``: length of a decoder-only sequence; ``t``: positions already in a KV cache; ``n``: new positions

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
"""

from __future__ import annotations

import numbers
from functools import partial

import numpy as np

from ._state import StateReader
from ._validation import as_array, check_finite, check_mask, check_positive_int
from .attention import _attention
from .layers import _feed_forward, _layer_norm, _linear
from .multihead import MultiHeadAttention, merge_heads, split_heads

__all__ = [
    "Decoder",
    "DecoderLayer",
    "DecoderOnlyTransformer",
    "Encoder",
    "EncoderLayer",
    "KVCache",
    "Transformer",
]


# torch.nn.MultiheadAttention's state-dict keys, in torch's order
_MHA_KEYS = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")


# --- checks shared by the modules ------------------------------------------------------------------
def _check_options(d_model, n_heads, d_ff, eps, norm_first):
    d_model = check_positive_int(d_model, "d_model")
    n_heads = check_positive_int(n_heads, "n_heads")
    if d_model % n_heads:
        msg = f"d_model = {d_model} is not divisible by n_heads = {n_heads}"
        raise ValueError(msg)
    d_ff = 4 * d_model if d_ff is None else check_positive_int(d_ff, "d_ff")
    eps, norm_first = _check_norm_options(eps, norm_first)
    return d_model, n_heads, d_ff, eps, norm_first


def _check_norm_options(eps, norm_first):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        msg = f"eps must be a real number, got {eps!r} of type {type(eps).__name__}"
        raise TypeError(msg)
    if not 0 < eps < np.inf:
        msg = f"eps must be a positive finite number, got {eps!r}"
        raise ValueError(msg)
    return float(eps), _check_flag(norm_first, "norm_first")


def _check_seq(x, name, d_model):
    """A sequence ``(L, d_model)`` or ``(batch, L, d_model)`` of finite numbers, as float32/64."""
    x = as_array(x, name, min_ndim=2)
    if x.ndim > 3 or x.shape[-1] != d_model or 0 in x.shape:
        msg = (
            f"{name} has shape {x.shape} but needs shape (L, d_model) or (batch, L, d_model) "
            f"with d_model = {d_model} and L >= 1"
        )
        raise ValueError(msg)
    check_finite(x, name)
    return x


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


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        msg = f"{name} must be True or False, got {value!r}"
        raise TypeError(msg)
    return bool(value)


def _glorot(rng, fan_in, fan_out):
    """Weights uniform in +-sqrt(6 / (fan_in + fan_out)), laid out for ``x @ w``."""
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def _residual(x, sublayer, gamma, beta, eps, norm_first):
    """One sublayer wrapped in its residual connection and layer norm.

    Post-norm (the paper): ``LayerNorm(x + sublayer(x))``. Pre-norm: ``x + sublayer(LayerNorm(x))``.
    """
    if norm_first:
        return x + sublayer(_layer_norm(x, gamma, beta, eps))
    return _layer_norm(x + sublayer(x), gamma, beta, eps)


def _count_layers(reader, prefix):
    """How many ``{prefix}layers.{i}.`` blocks a state dict holds (0, 1, 2, ... without gaps)."""
    n = 0
    while any(key.startswith(f"{prefix}layers.{n}.") for key in reader.params):
        n += 1
    if n == 0:
        msg = f"params has no key starting with {prefix + 'layers.0.'!r}: a stack needs at least one layer"
        raise ValueError(msg)
    return n


def _read_norm(reader, prefix, d_model):
    return reader.take(prefix + "weight", (d_model,)), reader.take(prefix + "bias", (d_model,))


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
class _Layer:
    """What both layers share: the feed-forward block, its parameters, and the torch layout of them."""

    def _init_feed_forward(self, rng):
        self.w1 = _glorot(rng, self.d_model, self.d_ff)  # (d_model, d_ff)
        self.b1 = np.zeros(self.d_ff)
        self.w2 = _glorot(rng, self.d_ff, self.d_model)  # (d_ff, d_model)
        self.b2 = np.zeros(self.d_model)

    def _ff(self, x):
        return _feed_forward(x, self.w1, self.b1, self.w2, self.b2)  # (..., L, d_model)

    def _norms(self):
        return [(f"norm{i}", f"gamma{i}", f"beta{i}") for i in range(1, self._n_norms + 1)]

    def _init_norms(self):
        for _, gamma, beta in self._norms():
            setattr(self, gamma, np.ones(self.d_model))
            setattr(self, beta, np.zeros(self.d_model))

    def _write(self, sd, prefix):
        for torch_name, attr in self._attentions:
            mha_sd = getattr(self, attr).state_dict()
            for key in _MHA_KEYS:
                sd[f"{prefix}{torch_name}.{key}"] = mha_sd[key]
        sd[prefix + "linear1.weight"] = self.w1.T.copy()  # torch's Linear stores (out, in)
        sd[prefix + "linear1.bias"] = self.b1.copy()
        sd[prefix + "linear2.weight"] = self.w2.T.copy()
        sd[prefix + "linear2.bias"] = self.b2.copy()
        for torch_name, gamma, beta in self._norms():
            sd[f"{prefix}{torch_name}.weight"] = getattr(self, gamma).copy()
            sd[f"{prefix}{torch_name}.bias"] = getattr(self, beta).copy()

    @classmethod
    def _read(cls, reader, n_heads, prefix, *, eps, norm_first, d_model=None):
        attns = {}
        for torch_name, attr in cls._attentions:
            attns[attr] = _read_attention(reader, n_heads, f"{prefix}{torch_name}.", d_model)
            d_model = attns[attr].d_model
        w1 = reader.take(prefix + "linear1.weight", None)
        if w1.ndim != 2 or w1.shape[1] != d_model:
            key = prefix + "linear1.weight"
            msg = f"params[{key!r}] has shape {w1.shape} but needs (d_ff, d_model = {d_model})"
            raise ValueError(msg)
        d_ff = w1.shape[0]
        layer = cls(d_model, n_heads, d_ff, eps=eps, norm_first=norm_first)
        for attr, mha in attns.items():
            setattr(layer, attr, mha)
        layer.w1 = w1.T.copy()
        layer.b1 = reader.take(prefix + "linear1.bias", (d_ff,))
        layer.w2 = reader.take(prefix + "linear2.weight", (d_model, d_ff)).T.copy()
        layer.b2 = reader.take(prefix + "linear2.bias", (d_model,))
        for torch_name, gamma, beta in layer._norms():
            g, b = _read_norm(reader, f"{prefix}{torch_name}.", d_model)
            setattr(layer, gamma, g)
            setattr(layer, beta, b)
        return layer

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters as NumPy arrays keyed like the matching PyTorch layer's ``state_dict()``."""
        sd: dict[str, np.ndarray] = {}
        self._write(sd, "")
        return sd

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
        eps, norm_first = _check_norm_options(eps, norm_first)
        layer = cls._read(reader, n_heads, "", eps=eps, norm_first=norm_first)
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
        self.d_model, self.n_heads, self.d_ff, self.eps, self.norm_first = _check_options(
            d_model, n_heads, d_ff, eps, norm_first
        )
        rng = np.random.default_rng(seed)
        self.self_attn = MultiHeadAttention(self.d_model, self.n_heads, seed=int(rng.integers(2**32)))
        self._init_feed_forward(rng)
        self._init_norms()

    def __call__(self, x, *, mask=None, causal: bool = False) -> np.ndarray:
        """Run the layer.

        Parameters
        ----------
        x : (L, d_model) or (batch, L, d_model) array_like
        mask : array_like of bool, optional
            True = may attend; broadcastable to ``(batch, heads, L, L)``.
        causal : bool, optional
            Also hide later positions (what a decoder-only model does).

        Returns
        -------
        ndarray, shaped like ``x``
        """
        x = _check_seq(x, "x", self.d_model)
        x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
        L = x.shape[-2]
        mask = _check_mask_for(mask, "mask", x, self.n_heads, L, L)
        causal = _check_flag(causal, "causal")
        return self._forward(x, partial(self._self_attention, mask=mask, causal=causal))

    def _self_attention(self, x, *, mask, causal):
        return self.self_attn(x, mask=mask, causal=causal, need_weights=False)[0]  # (..., L, d_model)

    def _forward(self, x, attend):
        """The layer's skeleton; ``attend`` is its self attention (full, or with a KV cache)."""
        x = _residual(x, attend, self.gamma1, self.beta1, self.eps, self.norm_first)
        return _residual(x, self._ff, self.gamma2, self.beta2, self.eps, self.norm_first)


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
        self.d_model, self.n_heads, self.d_ff, self.eps, self.norm_first = _check_options(
            d_model, n_heads, d_ff, eps, norm_first
        )
        rng = np.random.default_rng(seed)
        self.self_attn = MultiHeadAttention(self.d_model, self.n_heads, seed=int(rng.integers(2**32)))
        self.cross_attn = MultiHeadAttention(self.d_model, self.n_heads, seed=int(rng.integers(2**32)))
        self._init_feed_forward(rng)
        self._init_norms()

    def __call__(self, tgt, memory, *, tgt_mask=None, memory_mask=None, causal: bool = True) -> np.ndarray:
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

        Returns
        -------
        ndarray, shaped like ``tgt``
        """
        tgt = _check_seq(tgt, "tgt", self.d_model)
        memory = _check_seq(memory, "memory", self.d_model)
        tgt, memory = _check_pair(tgt, memory, "tgt", "memory")
        Lt, Ls = tgt.shape[-2], memory.shape[-2]
        tgt_mask = _check_mask_for(tgt_mask, "tgt_mask", tgt, self.n_heads, Lt, Lt)
        memory_mask = _check_mask_for(memory_mask, "memory_mask", tgt, self.n_heads, Lt, Ls)
        causal = _check_flag(causal, "causal")
        return self._forward(tgt, memory, tgt_mask, memory_mask, causal)

    def _forward(self, y, memory, tgt_mask, memory_mask, causal):
        def self_attention(h):  # (..., Lt, d_model): each target position looks at the target
            return self.self_attn(h, mask=tgt_mask, causal=causal, need_weights=False)[0]

        def cross_attention(h):  # (..., Lt, d_model): each target position looks at the source
            return self.cross_attn(h, memory, mask=memory_mask, need_weights=False)[0]

        y = _residual(y, self_attention, self.gamma1, self.beta1, self.eps, self.norm_first)
        y = _residual(y, cross_attention, self.gamma2, self.beta2, self.eps, self.norm_first)
        return _residual(y, self._ff, self.gamma3, self.beta3, self.eps, self.norm_first)


# --- stacks ----------------------------------------------------------------------------------------
class _Stack:
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
        final_norm = _check_flag(final_norm, "final_norm")
        rng = np.random.default_rng(seed)
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

    def _final_norm(self, x):
        return x if self.gamma is None else _layer_norm(x, self.gamma, self.beta, self.eps)

    def _write(self, sd, prefix):
        for i, layer in enumerate(self.layers):
            layer._write(sd, f"{prefix}layers.{i}.")
        if self.gamma is not None:
            sd[prefix + "norm.weight"] = self.gamma.copy()
            sd[prefix + "norm.bias"] = self.beta.copy()

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
            stack.gamma, stack.beta = _read_norm(reader, prefix + "norm.", d_model)
        return stack

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters as NumPy arrays keyed like the matching PyTorch stack's ``state_dict()``."""
        sd: dict[str, np.ndarray] = {}
        self._write(sd, "")
        return sd

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
        eps, norm_first = _check_norm_options(eps, norm_first)
        stack = cls._read(reader, n_heads, "", eps=eps, norm_first=norm_first)
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

    def __call__(self, x, *, mask=None, causal: bool = False) -> np.ndarray:
        """Run every layer in turn (then the final norm, if any).

        Parameters
        ----------
        x : (L, d_model) or (batch, L, d_model) array_like
        mask : array_like of bool, optional
            True = may attend; broadcastable to ``(batch, heads, L, L)``.
        causal : bool, optional
            Hide later positions in every layer.

        Returns
        -------
        ndarray, shaped like ``x``
        """
        x = _check_seq(x, "x", self.d_model)
        x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
        L = x.shape[-2]
        mask = _check_mask_for(mask, "mask", x, self.n_heads, L, L)
        causal = _check_flag(causal, "causal")
        return self._forward(x, mask, causal)

    def _forward(self, x, mask, causal):
        for layer in self.layers:
            attend = partial(layer._self_attention, mask=mask, causal=causal)
            x = layer._forward(x, attend)  # (..., L, d_model)
        return self._final_norm(x)


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

    def __call__(self, tgt, memory, *, tgt_mask=None, memory_mask=None, causal: bool = True) -> np.ndarray:
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

        Returns
        -------
        ndarray, shaped like ``tgt``
        """
        tgt = _check_seq(tgt, "tgt", self.d_model)
        memory = _check_seq(memory, "memory", self.d_model)
        tgt, memory = _check_pair(tgt, memory, "tgt", "memory")
        Lt, Ls = tgt.shape[-2], memory.shape[-2]
        tgt_mask = _check_mask_for(tgt_mask, "tgt_mask", tgt, self.n_heads, Lt, Lt)
        memory_mask = _check_mask_for(memory_mask, "memory_mask", tgt, self.n_heads, Lt, Ls)
        causal = _check_flag(causal, "causal")
        return self._forward(tgt, memory, tgt_mask, memory_mask, causal)

    def _forward(self, y, memory, tgt_mask, memory_mask, causal):
        for layer in self.layers:
            y = layer._forward(y, memory, tgt_mask, memory_mask, causal)  # (..., Lt, d_model)
        return self._final_norm(y)


class Transformer:
    r"""The encoder-decoder Transformer of "Attention Is All You Need" (``torch.nn.Transformer``).

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
        seeds = np.random.default_rng(seed).integers(2**32, size=2)
        self.encoder = Encoder(n_encoder_layers, d_model, n_heads, d_ff, seed=int(seeds[0]), **options)
        self.decoder = Decoder(n_decoder_layers, d_model, n_heads, d_ff, seed=int(seeds[1]), **options)

    def __repr__(self) -> str:
        enc = self.encoder.layers[0]
        return (
            f"Transformer(d_model={enc.d_model}, n_heads={enc.n_heads}, "
            f"n_encoder_layers={len(self.encoder.layers)}, n_decoder_layers={len(self.decoder.layers)}, "
            f"d_ff={enc.d_ff}, norm_first={enc.norm_first})"
        )

    def __call__(
        self, src, tgt, *, src_mask=None, tgt_mask=None, memory_mask=None, tgt_causal: bool = True
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

        Returns
        -------
        ndarray, shaped like ``tgt``
            The decoder's output vectors.
        """
        d_model = self.encoder.d_model
        src = _check_seq(src, "src", d_model)
        tgt = _check_seq(tgt, "tgt", d_model)
        tgt, src = _check_pair(tgt, src, "tgt", "src")
        Ls, Lt, h = src.shape[-2], tgt.shape[-2], self.encoder.n_heads
        src_mask = _check_mask_for(src_mask, "src_mask", src, h, Ls, Ls)
        tgt_mask = _check_mask_for(tgt_mask, "tgt_mask", tgt, h, Lt, Lt)
        memory_mask = _check_mask_for(memory_mask, "memory_mask", tgt, h, Lt, Ls)
        tgt_causal = _check_flag(tgt_causal, "tgt_causal")
        memory = self.encoder._forward(src, src_mask, False)  # (..., Ls, d_model)
        return self.decoder._forward(tgt, memory, tgt_mask, memory_mask, tgt_causal)  # (..., Lt, d_model)

    def encode(self, src, *, src_mask=None) -> np.ndarray:
        """The encoder's output (the memory the decoder attends to); see :meth:`Encoder.__call__`."""
        return self.encoder(src, mask=src_mask)

    def decode(self, tgt, memory, *, tgt_mask=None, memory_mask=None, tgt_causal: bool = True) -> np.ndarray:
        """The decoder's output for a given memory; see :meth:`Decoder.__call__`."""
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, causal=tgt_causal)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters as NumPy arrays keyed like ``torch.nn.Transformer.state_dict()``.

        Load them into PyTorch with
        ``model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``.
        """
        sd: dict[str, np.ndarray] = {}
        self.encoder._write(sd, "encoder.")
        self.decoder._write(sd, "decoder.")
        return sd

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
        eps, norm_first = _check_norm_options(eps, norm_first)
        model = cls.__new__(cls)
        model.encoder = Encoder._read(reader, n_heads, "encoder.", eps=eps, norm_first=norm_first)
        model.decoder = Decoder._read(reader, n_heads, "decoder.", eps=eps, norm_first=norm_first)
        for stack, prefix in ((model.encoder, "encoder."), (model.decoder, "decoder.")):
            if stack.gamma is None:
                msg = f"params is missing the key {prefix + 'norm.weight'!r}"
                raise ValueError(msg)
        if model.decoder.d_model != model.encoder.d_model:
            key = "decoder.layers.0.self_attn.in_proj_weight"
            msg = (
                f"params[{key!r}] is for d_model = {model.decoder.d_model}, "
                f"but the encoder has d_model = {model.encoder.d_model}"
            )
            raise ValueError(msg)
        reader.finish()
        return model


# --- decoder-only stack and its KV cache -----------------------------------------------------------
class KVCache:
    """The keys and values of every position decoded so far, for each layer of a decoder-only stack.

    Made by :meth:`DecoderOnlyTransformer.new_cache` and filled by :meth:`DecoderOnlyTransformer.step`.
    The arrays are allocated at the first step (from its batch size and dtype) with room for
    ``capacity`` positions, and doubled whenever they fill up.

    Parameters
    ----------
    n_layers : int
        Number of layers of the stack it serves.
    capacity : int, optional
        Positions to make room for at first.

    Attributes
    ----------
    length : int
        Number of positions stored (the position index of the next token).
    keys : list of (batch, heads, capacity, d_head) ndarray
        One array per layer; only ``[..., :length, :]`` is meaningful. Empty before the first step.
    values : list of (batch, heads, capacity, d_head) ndarray
        Likewise for the values.
    """

    def __init__(self, n_layers: int, capacity: int = 64):
        self.n_layers = check_positive_int(n_layers, "n_layers")
        self.capacity = check_positive_int(capacity, "capacity")
        self.keys: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.length = 0

    def __repr__(self) -> str:
        return f"KVCache(n_layers={self.n_layers}, length={self.length}, capacity={self.capacity})"

    def _allocate(self, k):
        B, h, _, d_head = k.shape
        shape = (B, h, self.capacity, d_head)
        self.keys = [np.zeros(shape, k.dtype) for _ in range(self.n_layers)]
        self.values = [np.zeros(shape, k.dtype) for _ in range(self.n_layers)]

    def _grow(self, needed):
        while self.capacity < needed:
            self.capacity *= 2
        pad = [(0, 0), (0, 0), (0, self.capacity - self.keys[0].shape[2]), (0, 0)]
        self.keys = [np.pad(a, pad) for a in self.keys]
        self.values = [np.pad(a, pad) for a in self.values]

    def extend(self, layer: int, k: np.ndarray, v: np.ndarray):
        """Store the new positions' keys and values of ``layer``; return all of them so far.

        ``k`` and ``v`` are ``(batch, heads, n, d_head)`` for positions ``length .. length + n - 1``;
        the result is ``(batch, heads, length + n, d_head)`` views. ``length`` itself is advanced by
        the caller once every layer has stored its part.
        """
        if not self.keys:
            self._allocate(k)
        stop = self.length + k.shape[2]
        if stop > self.capacity:
            self._grow(stop)
        self.keys[layer][:, :, self.length : stop] = k
        self.values[layer][:, :, self.length : stop] = v
        return self.keys[layer][:, :, :stop], self.values[layer][:, :, :stop]


def _cached_self_attention(mha, x, *, cache, layer, mask):
    """Self attention of the new positions ``x`` over every position so far, via the cache.

    Only the new rows are projected; the older keys and values come from the cache. Same result as
    ``mha(all_positions, causal=True)[0]`` restricted to the new rows.
    """
    h = mha.n_heads
    q = split_heads(_linear(x, mha.w_q, mha.b_q), h)  # (B, h, n, d_head)
    k = split_heads(_linear(x, mha.w_k, mha.b_k), h)  # (B, h, n, d_head)
    v = split_heads(_linear(x, mha.w_v, mha.b_v), h)  # (B, h, n, d_head)
    keys, values = cache.extend(layer, k, v)  # (B, h, t + n, d_head) each
    heads, _ = _attention(q, keys, values, mask)  # (B, h, n, t + n) weights -> (B, h, n, d_head)
    return _linear(merge_heads(heads), mha.w_o, mha.b_o)  # (B, n, d_model)


class DecoderOnlyTransformer(Encoder):
    """A decoder-only stack (GPT-style): encoder-style layers with causal self attention only.

    There is no encoder and no cross attention; every layer attends to the current and earlier
    positions. This is what ``torch.nn.TransformerEncoder`` computes with a causal mask, and
    ``from_state_dict`` reads that module's state dict (``layers.0.self_attn.in_proj_weight``, ...,
    ``norm.weight`` if it has a final norm). For generation, :meth:`step` feeds new positions one (or a
    few) at a time and keeps the keys and values of the earlier ones in a :class:`KVCache`, so a new
    token costs one row of attention per layer instead of recomputing the whole prefix.

    Parameters are those of :class:`Encoder` (GPT-2 uses ``norm_first=True, final_norm=True``).

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref import DecoderOnlyTransformer
    >>> model = DecoderOnlyTransformer(n_layers=2, d_model=8, n_heads=2, seed=0)
    >>> x = np.random.default_rng(0).normal(size=(1, 6, 8))   # (batch, L, d_model)
    >>> full = model(x)                                         # all 6 positions at once
    >>> cache = model.new_cache()
    >>> rows = [model.step(x[:, i : i + 1], cache) for i in range(6)]   # one position at a time
    >>> cache.length, rows[0].shape
    (6, (1, 1, 8))
    >>> bool(np.allclose(np.concatenate(rows, axis=1), full))
    True
    """

    def __call__(self, x, *, mask=None) -> np.ndarray:
        """Run the stack over whole sequences (causal self attention in every layer).

        Parameters
        ----------
        x : (L, d_model) or (batch, L, d_model) array_like
        mask : array_like of bool, optional
            Extra mask (e.g. padding), True = may attend, broadcastable to ``(batch, heads, L, L)``;
            combined with the causal mask.

        Returns
        -------
        ndarray, shaped like ``x``
        """
        return super().__call__(x, mask=mask, causal=True)

    def new_cache(self, capacity: int = 64) -> KVCache:
        """An empty :class:`KVCache` for this stack (it grows past ``capacity`` by itself)."""
        return KVCache(len(self.layers), capacity)

    def step(self, x_new, cache: KVCache) -> np.ndarray:
        """Feed the next position(s), reusing the cached keys and values of the earlier ones.

        Parameters
        ----------
        x_new : (n, d_model) or (batch, n, d_model) array_like
            The vectors of positions ``cache.length .. cache.length + n - 1`` (usually ``n = 1``; a
            whole prompt at once also works). Add their positional encodings yourself, at those
            positions.
        cache : KVCache
            From :meth:`new_cache`; extended in place, and ``cache.length`` grows by ``n``.

        Returns
        -------
        ndarray, shaped like ``x_new``
            The stack's output at the new positions: the same rows as ``self(x_all)`` gives for the
            whole sequence ``x_all`` fed so far.

        Notes
        -----
        Per layer and new token, this costs the projections of one row plus one row of attention
        over the ``t`` cached positions (``O(t * d_model)``), instead of recomputing all ``t + 1``
        rows (``O(t^2 * d_model + t * d_model^2)``).
        """
        x = _check_seq(x_new, "x_new", self.d_model)
        if not isinstance(cache, KVCache):
            msg = f"cache must be a KVCache from new_cache(), got {type(cache).__name__}"
            raise TypeError(msg)
        if cache.n_layers != len(self.layers):
            msg = f"cache has {cache.n_layers} layers but this stack has {len(self.layers)}"
            raise ValueError(msg)
        unbatched = x.ndim == 2
        x = x[None] if unbatched else x  # (B, n, d_model)
        x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
        if cache.keys and (cache.keys[0].shape[0] != x.shape[0] or cache.keys[0].dtype != x.dtype):
            msg = (
                f"x_new has batch size {x.shape[0]} and dtype {x.dtype}, but the cache holds batch size "
                f"{cache.keys[0].shape[0]} and dtype {cache.keys[0].dtype}"
            )
            raise ValueError(msg)
        t, n = cache.length, x.shape[1]
        # (n, t + n): new row i may attend to keys 0 .. t + i (no mask needed for a single new row)
        mask = None if n == 1 else np.tri(n, t + n, k=t, dtype=bool)
        for i, layer in enumerate(self.layers):
            attend = partial(_cached_self_attention, layer.self_attn, cache=cache, layer=i, mask=mask)
            x = layer._forward(x, attend)  # (B, n, d_model)
        cache.length += n
        x = self._final_norm(x)
        return x[0] if unbatched else x

    def forward_incremental(self, x) -> np.ndarray:
        """Run whole sequences one position at a time through :meth:`step` (equals ``self(x)``).

        This is the token-by-token loop of generation, with the inputs known in advance: a test of the
        cache, and the thing to time against ``self(x[:, : i + 1])`` at every ``i``.

        Parameters
        ----------
        x : (L, d_model) or (batch, L, d_model) array_like

        Returns
        -------
        ndarray, shaped like ``x``
        """
        x = _check_seq(x, "x", self.d_model)
        cache = self.new_cache(capacity=x.shape[-2])
        rows = [self.step(x[..., i : i + 1, :], cache) for i in range(x.shape[-2])]  # L x (..., 1, d_model)
        return np.concatenate(rows, axis=-2)  # (..., L, d_model)
