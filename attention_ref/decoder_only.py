"""A decoder-only Transformer (GPT-style) and the KV cache that makes its generation cheap.

Axis letters: ``B`` batch; ``h`` heads; ``d_head`` the width of one head; ``L`` the length of a
sequence; ``t`` positions already in a KV cache; ``n`` new positions.

The layers are the encoder layers of :mod:`attention_ref.transformer` with causal self attention; the
cache only changes where a layer's self attention takes its keys and values from.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ._validation import check_positive_int, check_seq
from .transformer import Encoder

__all__ = ["DecoderOnlyTransformer", "KVCache"]


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
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
            msg = f"layer must be an integer, got {layer!r} of type {type(layer).__name__}"
            raise TypeError(msg)
        if not 0 <= layer < self.n_layers:
            msg = f"layer must be from 0 to n_layers - 1 = {self.n_layers - 1}, got {layer}"
            raise ValueError(msg)
        for name, arr in (("k", k), ("v", v)):
            if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.floating):
                msg = f"{name} must be a float ndarray (batch, heads, n, d_head), got {type(arr).__name__}"
                raise TypeError(msg)
        stored = self.keys[0].shape[:2] + self.keys[0].shape[3:] if self.keys else None
        if k.ndim != 4 or k.shape != v.shape or (stored is not None and k.shape[:2] + k.shape[3:] != stored):
            need = "(batch, heads, n, d_head), one shape for both" + (
                f", with (batch, heads, d_head) = {stored} as stored" if stored else "")
            msg = f"k has shape {k.shape} and v {v.shape}, but they need {need}"
            raise ValueError(msg)
        if not self.keys:
            self._allocate(k)
        stop = self.length + k.shape[2]
        if stop > self.capacity:
            self._grow(stop)
        self.keys[layer][:, :, self.length : stop] = k
        self.values[layer][:, :, self.length : stop] = v
        return self.keys[layer][:, :, :stop], self.values[layer][:, :, :stop]


def _cached_self_attention(mha, x, *, cache, layer, mask, tape=None):
    """Self attention of the new positions ``x`` over every position so far, via the cache.

    Only the new rows are projected; the older keys and values come from the cache. Same result as
    ``mha(all_positions, causal=True)[0]`` restricted to the new rows.
    """
    extend = partial(cache.extend, layer)  # (B, h, n, d_head) new -> (B, h, t + n, d_head) all so far
    return mha._forward(x, x, mask, extend=extend)[0]  # (B, n, d_model)


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

    def __call__(self, x, *, mask=None, tape=None) -> np.ndarray:
        """Run the stack over whole sequences (causal self attention in every layer).

        Parameters
        ----------
        x : (L, d_model) or (batch, L, d_model) array_like
        mask : array_like of bool, optional
            Extra mask (e.g. padding), True = may attend, broadcastable to ``(batch, heads, L, L)``;
            combined with the causal mask.
        tape : dict, optional
            An empty dict to record what :meth:`~attention_ref.Encoder.backward` needs.

        Returns
        -------
        ndarray, shaped like ``x``
        """
        return super().__call__(x, mask=mask, causal=True, tape=tape)

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
        x = check_seq(x_new, "x_new", self.d_model)
        if not isinstance(cache, KVCache):
            msg = f"cache must be a KVCache from new_cache(), got {type(cache).__name__}"
            raise TypeError(msg)
        if cache.n_layers != len(self.layers):
            msg = f"cache has {cache.n_layers} layers but this stack has {len(self.layers)}"
            raise ValueError(msg)
        unbatched = x.ndim == 2
        x = x[None] if unbatched else x  # (B, n, d_model)
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
        x = self._final_norm(x)
        cache.length += n
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
        x = check_seq(x, "x", self.d_model)
        cache = self.new_cache(capacity=x.shape[-2])
        rows = [self.step(x[..., i : i + 1, :], cache) for i in range(x.shape[-2])]  # L x (..., 1, d_model)
        return np.concatenate(rows, axis=-2)  # (..., L, d_model)
