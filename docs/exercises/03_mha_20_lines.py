"""Chapter 3, exercise 6: multi-head self-attention in about 20 lines of NumPy."""

import numpy as np


def multi_head_attention(x, w_q, w_k, w_v, w_o, n_heads, causal=False):
    """x: (L, d_model); w_*: (d_model, d_model), applied as x @ w; no biases."""
    L, d_model = x.shape
    d_head = d_model // n_heads

    def split(a):  # (L, d_model) -> (n_heads, L, d_head)
        return a.reshape(L, n_heads, d_head).transpose(1, 0, 2)

    q, k, v = split(x @ w_q), split(x @ w_k), split(x @ w_v)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(d_head)  # (n_heads, L, L)
    if causal:  # query i sees keys j <= i only
        scores = np.where(np.tri(L, dtype=bool), scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)  # row max -> 0
    weights = np.exp(scores)  # every exponent <= 0: no overflow
    weights = weights / weights.sum(axis=-1, keepdims=True)  # rows sum to 1
    heads = weights @ v  # (n_heads, L, d_head)
    concat = heads.transpose(1, 0, 2).reshape(L, d_model)  # (L, d_model)
    return concat @ w_o, weights  # (L, d_model), (n_heads, L, L)
