"""attention_ref: small, tested NumPy implementations of attention and the Transformer.

The reference implementation behind the Korean textbook on attention mechanisms; every number in the
book is computed by this package at build time. The names below (the kernels and the Transformer) are
each cross-checked against PyTorch. The package has four kinds of code:

- this top level: attention and the Transformer, from ``softmax`` to ``DecoderOnlyTransformer``;
- :mod:`attention_ref.training`: backward passes, Adam, the translation model and its training loop;
- :mod:`attention_ref.book`: the book's material (the seed's toy computations, the toy corpus,
  plotting, page helpers);
- the internal infrastructure, in modules whose names start with ``_`` (checks, kernels, threads,
  state dicts).
"""

from .attention import scaled_dot_product_attention
from .blockwise import blockwise_attention
from .decoder_only import DecoderOnlyTransformer, KVCache
from .layers import feed_forward, layer_norm, positional_encoding
from .masks import causal_mask, padding_mask
from .multihead import MultiHeadAttention, merge_heads, split_heads
from .scoring import additive_scores, dot_scores, scaled_dot_scores
from .softmax import softmax
from .transformer import Decoder, DecoderLayer, Encoder, EncoderLayer, Transformer

__all__ = [
    "Decoder",
    "DecoderLayer",
    "DecoderOnlyTransformer",
    "Encoder",
    "EncoderLayer",
    "KVCache",
    "MultiHeadAttention",
    "Transformer",
    "additive_scores",
    "blockwise_attention",
    "causal_mask",
    "dot_scores",
    "feed_forward",
    "layer_norm",
    "merge_heads",
    "padding_mask",
    "positional_encoding",
    "scaled_dot_product_attention",
    "scaled_dot_scores",
    "softmax",
    "split_heads",
]

__version__ = "0.1.0"
