r"""The translation model of chapter 7: word embeddings, a :class:`~attention_ref.Transformer`, a linear map.

The model is the chapter-6 classes, unchanged: word embeddings scaled by :math:`\sqrt{d_{model}}` plus
sinusoidal positions, a post-norm :class:`~attention_ref.Transformer` (ReLU, no dropout) and a linear
map to the output vocabulary. Its state dict is keyed like the ``state_dict()`` of this PyTorch
module, so trained weights load into PyTorch without renaming::

    class Seq2Seq(torch.nn.Module):
        src_embed = torch.nn.Embedding(src_vocab, d_model)
        tgt_embed = torch.nn.Embedding(tgt_vocab, d_model)
        transformer = torch.nn.Transformer(d_model, n_heads, ..., dropout=0.0, batch_first=True)
        generator = torch.nn.Linear(d_model, tgt_vocab)

Token ids 0, 1 and 2 are reserved for padding, the start and the end of a sentence (:data:`PAD`,
:data:`BOS`, :data:`EOS`); sources are padded with 0 on the right, and padded keys are masked.

Axis letters: ``B`` batch, ``Ls`` source length, ``Lt`` target length, ``d`` = ``d_model``, ``h``
heads, ``V`` vocabulary size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _core, _grad
from .._parallel import one_blas_thread
from .._state import Module, StateReader, glorot
from .._validation import check_backward, check_mask, check_positive_int, check_seed, check_seq, check_tape
from ..layers import positional_encoding
from ..masks import padding_mask
from ..transformer import Transformer

__all__ = ["BOS", "EOS", "PAD", "Seq2Seq", "Seq2SeqConfig"]

PAD, BOS, EOS = 0, 1, 2  # the special token ids: padding, start of sentence, end of sentence


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes of the model.

    Parameters
    ----------
    src_vocab, tgt_vocab : int
        Vocabulary sizes (with the special tokens).
    d_model : int
        Width of every vector between the blocks.
    n_heads : int
        Heads of every attention; must divide ``d_model``.
    num_encoder_layers, num_decoder_layers : int
    dim_feedforward : int
        Hidden width of the feed-forward blocks.
    """

    src_vocab: int
    tgt_vocab: int
    d_model: int = 32
    n_heads: int = 2
    num_encoder_layers: int = 1
    num_decoder_layers: int = 1
    dim_feedforward: int = 64

    def __post_init__(self):
        for name in ("src_vocab", "tgt_vocab", "d_model", "n_heads", "num_encoder_layers",
                     "num_decoder_layers", "dim_feedforward"):
            check_positive_int(getattr(self, name), name)
        if self.d_model % self.n_heads:
            msg = f"d_model = {self.d_model} is not divisible by n_heads = {self.n_heads}"
            raise ValueError(msg)


def check_ids(ids, name: str, vocab: int) -> np.ndarray:
    """A non-empty ``(batch, length)`` integer array of token ids in ``[0, vocab)``."""
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer) or ids.dtype == bool:
        msg = f"{name} must be an integer array of token ids, got dtype {ids.dtype}"
        raise TypeError(msg)
    if ids.ndim != 2 or 0 in ids.shape:
        msg = f"{name} must be a non-empty (batch, length) array of token ids, got shape {ids.shape}"
        raise ValueError(msg)
    if ids.min() < 0 or ids.max() >= vocab:
        msg = f"{name} must hold token ids in [0, {vocab}), got values from {ids.min()} to {ids.max()}"
        raise ValueError(msg)
    return ids


class Seq2Seq(Module):
    r"""An encoder-decoder translation model built from :class:`~attention_ref.Transformer`.

    Parameters
    ----------
    cfg : Seq2SeqConfig
        The sizes.
    seed : int, optional
        Seed for the initial weights: the embeddings from :math:`N(0, 1/d_{model})`, the
        Transformer's own initialisation (:class:`~attention_ref.Transformer`), the output map
        Glorot-uniform with bias 0.

    Attributes
    ----------
    cfg : Seq2SeqConfig
    src_embed : (src_vocab, d_model) ndarray
        One row per source word (``src_embed.weight``).
    tgt_embed : (tgt_vocab, d_model) ndarray
        One row per target word (``tgt_embed.weight``).
    transformer : Transformer
        The chapter-6 model, keyed ``transformer.*`` in the state dict.
    w_out : (d_model, tgt_vocab) ndarray
        The output map, applied as ``x @ w_out + b_out`` (PyTorch's ``generator.weight`` is its transpose).
    b_out : (tgt_vocab,) ndarray
        Its bias (``generator.bias``).

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.training import Seq2Seq, Seq2SeqConfig
    >>> model = Seq2Seq(Seq2SeqConfig(src_vocab=10, tgt_vocab=12, d_model=8, n_heads=2), seed=0)
    >>> model.state_dict()["transformer.decoder.layers.0.multihead_attn.in_proj_weight"].shape
    (24, 8)
    >>> sum(p.size for p in model.state_dict().values())
    3452
    >>> src, tgt_in = np.array([[3, 4, 5]]), np.array([[1, 6]])     # (B, Ls), (B, Lt)
    >>> model(src, tgt_in).shape                                     # next-word scores: (B, Lt, V)
    (1, 2, 12)
    """

    def __init__(self, cfg: Seq2SeqConfig, seed: int | None = None):
        if not isinstance(cfg, Seq2SeqConfig):
            msg = f"cfg must be a Seq2SeqConfig, got {type(cfg).__name__}"
            raise TypeError(msg)
        self.cfg, d = cfg, cfg.d_model
        rng = np.random.default_rng(check_seed(seed))
        self.src_embed = rng.normal(0.0, d**-0.5, size=(cfg.src_vocab, d))
        self.tgt_embed = rng.normal(0.0, d**-0.5, size=(cfg.tgt_vocab, d))
        self.transformer = Transformer(d, cfg.n_heads, cfg.num_encoder_layers, cfg.num_decoder_layers,
                                       cfg.dim_feedforward, seed=int(rng.integers(2**32)))
        self.w_out = glorot(rng, d, cfg.tgt_vocab)  # (d, V)
        self.b_out = np.zeros(cfg.tgt_vocab)

    def __repr__(self) -> str:
        return f"Seq2Seq({self.cfg})"

    # --- forward ---------------------------------------------------------------------------------
    def _embed(self, table, ids):
        d = table.shape[1]
        return table[ids] * np.sqrt(d) + positional_encoding(ids.shape[1], d)  # (B, L, d)

    def source_mask(self, src) -> np.ndarray:
        """The padding mask ``(B, 1, 1, Ls)`` of a batch of sources (True = a real word)."""
        src = check_ids(src, "src", self.cfg.src_vocab)
        return padding_mask((src != PAD).sum(axis=1), src.shape[1])

    def __call__(self, src, tgt_in, *, tape=None) -> np.ndarray:
        """Next-word scores at every target position ("teacher forcing").

        Parameters
        ----------
        src : (B, Ls) array_like of int
            Source ids, padded with 0 on the right.
        tgt_in : (B, Lt) array_like of int
            ``<bos>`` followed by the target words so far.
        tape : dict, optional
            An empty dict to record what :meth:`backward` needs; ``tape["transformer"]`` is the
            Transformer's record (see :meth:`~attention_ref.Transformer.attention_records`).

        Returns
        -------
        (B, Lt, tgt_vocab) ndarray
            Row ``t`` scores the word that follows ``tgt_in[:, :t + 1]``.
        """
        src_mask = self.source_mask(src)
        tgt_in = check_ids(tgt_in, "tgt_in", self.cfg.tgt_vocab)
        if tgt_in.shape[0] != src.shape[0]:
            msg = f"src has batch size {np.shape(src)[0]} but tgt_in has {tgt_in.shape[0]}: they must match"
            raise ValueError(msg)
        check_tape(tape)
        t_model = None
        if tape is not None:
            tape["src"], tape["tgt_in"], t_model = np.asarray(src), tgt_in, {}
            tape["transformer"] = t_model
        x, y = self._embed(self.src_embed, np.asarray(src)), self._embed(self.tgt_embed, tgt_in)  # (B, L, d)
        out = self.transformer(x, y, src_mask=src_mask, memory_mask=src_mask, tape=t_model)  # (B, Lt, d)
        with one_blas_thread():
            logits = _core.linear(out, self.w_out, self.b_out)  # (B, Lt, d) x (d, V) -> (B, Lt, V)
        if tape is not None:
            tape["out"], tape["logits"] = out, logits
        return logits

    def encode(self, src):
        """The encoder's output for ``src`` ``(B, Ls)``: ``(memory (B, Ls, d), src_mask (B, 1, 1, Ls))``."""
        src_mask = self.source_mask(src)
        return self.transformer.encode(self._embed(self.src_embed, np.asarray(src)), src_mask=src_mask), src_mask

    def decode(self, tgt_in, memory, src_mask) -> np.ndarray:
        """Next-word scores ``(B, Lt, V)`` for ``tgt_in`` ``(B, Lt)``, given :meth:`encode`'s output."""
        tgt_in = check_ids(tgt_in, "tgt_in", self.cfg.tgt_vocab)
        memory = check_seq(memory, "memory", self.cfg.d_model)
        if memory.ndim != 3 or memory.shape[0] != tgt_in.shape[0]:
            msg = (
                f"memory has shape {memory.shape} but needs (batch = {tgt_in.shape[0]}, Ls, "
                f"d_model = {self.cfg.d_model}), as encode returns it"
            )
            raise ValueError(msg)
        scores = (tgt_in.shape[0], self.cfg.n_heads, tgt_in.shape[1], memory.shape[1])  # (B, h, Lt, Ls)
        src_mask = check_mask(src_mask, "src_mask", scores)
        out = self.transformer.decode(self._embed(self.tgt_embed, tgt_in), memory, memory_mask=src_mask)
        with one_blas_thread():
            return _core.linear(out, self.w_out, self.b_out)  # (B, Lt, V)

    # --- backward --------------------------------------------------------------------------------
    def backward(self, d_logits, tape) -> dict[str, np.ndarray]:
        """Gradients of every parameter, keyed and laid out like ``state_dict()``.

        Parameters
        ----------
        d_logits : (B, Lt, V) ndarray
            Gradient of the loss with respect to the call's output.
        tape : dict
            The ``tape`` given to that call.
        """
        d_logits = check_backward(d_logits, tape, "logits", "d_logits")
        d_out, dw, db = _grad.linear_backward(d_logits, tape["out"], self.w_out)  # (B, Lt, d)
        d_x, d_y, g = self.transformer.backward(d_out, tape["transformer"])  # (B, Ls, d), (B, Lt, d)
        grads = {f"transformer.{k}": v for k, v in g.items()}
        grads["generator.weight"], grads["generator.bias"] = dw.T, db
        scale = np.sqrt(self.cfg.d_model)  # the embeddings were multiplied by sqrt(d_model)
        grads["src_embed.weight"] = _grad.embedding_backward(d_x * scale, tape["src"], self.cfg.src_vocab)
        grads["tgt_embed.weight"] = _grad.embedding_backward(d_y * scale, tape["tgt_in"], self.cfg.tgt_vocab)
        return grads

    # --- state dict ------------------------------------------------------------------------------
    def _write(self, sd, prefix):
        sd[prefix + "src_embed.weight"] = self.src_embed.copy()
        sd[prefix + "tgt_embed.weight"] = self.tgt_embed.copy()
        self.transformer._write(sd, prefix + "transformer.")
        sd[prefix + "generator.weight"] = self.w_out.T.copy()  # torch's Linear stores (out, in)
        sd[prefix + "generator.bias"] = self.b_out.copy()

    def _assign(self, reader, prefix):
        cfg = self.cfg
        self.src_embed = reader.take(prefix + "src_embed.weight", (cfg.src_vocab, cfg.d_model))
        self.tgt_embed = reader.take(prefix + "tgt_embed.weight", (cfg.tgt_vocab, cfg.d_model))
        self.transformer._assign(reader, prefix + "transformer.")
        self.w_out = reader.take(prefix + "generator.weight", (cfg.tgt_vocab, cfg.d_model)).T.copy()
        self.b_out = reader.take(prefix + "generator.bias", (cfg.tgt_vocab,))

    @classmethod
    def from_state_dict(cls, params, cfg: Seq2SeqConfig) -> Seq2Seq:
        """Build from a state dict keyed like ``state_dict()`` (sizes from ``cfg``; no random weights drawn)."""
        if not isinstance(cfg, Seq2SeqConfig):
            msg = f"cfg must be a Seq2SeqConfig, got {type(cfg).__name__}"
            raise TypeError(msg)
        reader = StateReader(params)
        model = cls.__new__(cls)
        model.cfg = cfg
        model.transformer = Transformer._read(reader, cfg.n_heads, "transformer.", eps=1e-5, norm_first=False)
        model._assign(reader, "")
        reader.finish()
        return model
