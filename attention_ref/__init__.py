"""attention_ref: small, tested NumPy implementations of attention and the Transformer.

The reference implementation behind the Korean textbook on attention mechanisms. Every function is
cross-checked against PyTorch; every number in the book is computed by this package at build time.
"""

from .attention import scaled_dot_product_attention
from .blockwise import blockwise_attention
from .layers import feed_forward, layer_norm, positional_encoding
from .masks import causal_mask, padding_mask
from .multihead import MultiHeadAttention, merge_heads, split_heads
from .softmax import softmax
from .transformer import (
    Decoder,
    DecoderLayer,
    DecoderOnlyTransformer,
    Encoder,
    EncoderLayer,
    KVCache,
    Transformer,
)

__all__ = [
    "Decoder",
    "DecoderLayer",
    "DecoderOnlyTransformer",
    "Encoder",
    "EncoderLayer",
    "KVCache",
    "MultiHeadAttention",
    "Transformer",
    "blockwise_attention",
    "causal_mask",
    "feed_forward",
    "layer_norm",
    "merge_heads",
    "padding_mask",
    "positional_encoding",
    "scaled_dot_product_attention",
    "softmax",
    "split_heads",
]

__version__ = "0.1.0"
