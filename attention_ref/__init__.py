"""attention_ref: small, tested NumPy implementations of attention and the Transformer.

The reference implementation behind the Korean textbook on attention mechanisms. Every function is
cross-checked against PyTorch; every number in the book is computed by this package at build time.
"""

from .attention import scaled_dot_product_attention
from .masks import causal_mask, padding_mask
from .multihead import MultiHeadAttention, merge_heads, split_heads
from .softmax import softmax

__all__ = [
    "MultiHeadAttention",
    "causal_mask",
    "merge_heads",
    "padding_mask",
    "scaled_dot_product_attention",
    "softmax",
    "split_heads",
]

__version__ = "0.1.0"
