"""Chapter 2 (셀프 어텐션) in PyTorch: the page's example computed with torch and with attention_ref.

The page builds X from the one-hot vectors of 나는/사과를/먹었다, draws W_Q, W_K, W_V with
``np.random.default_rng(3)`` and computes softmax(Q K^T / sqrt(d_k)) V. This file does the same in torch,
in float64, once with ``torch.nn.functional.scaled_dot_product_attention`` and once with
``torch.nn.MultiheadAttention`` (one head, no bias, identity output projection), and asserts that both
agree with the package.
"""

import numpy as np
import torch
import torch.nn.functional as F

from attention_ref import MultiHeadAttention, scaled_dot_product_attention
from attention_ref.book.toy import SENTENCE, one_hot_vectors

# The page's example: X (L=3, d_model=3) and W_Q, W_K, W_V (d_model, d_k=3), drawn in the page's order.
vectors = one_hot_vectors(SENTENCE)
X = np.stack([vectors[w] for w in SENTENCE]).astype(float)  # (3, 3)
rng = np.random.default_rng(3)
d_model, d_k = X.shape[1], 3
W_Q = rng.normal(size=(d_model, d_k))  # (3, 3)
W_K = rng.normal(size=(d_model, d_k))  # (3, 3)
W_V = rng.normal(size=(d_model, d_k))  # (3, 3)

# The package: the projections, then attention (output and weights).
out_np, w_np = scaled_dot_product_attention(X @ W_Q, X @ W_K, X @ W_V)  # (3, 3), (3, 3)

# --- shown on the page: SDPA ---
f64 = torch.float64  # the package computes in float64 too
x = torch.tensor(X, dtype=f64)  # (L, d_model)
w_q, w_k, w_v = (torch.tensor(w, dtype=f64)
                 for w in (W_Q, W_K, W_V))  # (d_model, d_k) each

# Q = X W_Q, K = X W_K, V = X W_V: (L, d_k), (L, d_k), (L, d_v)
q, k, v = x @ w_q, x @ w_k, x @ w_v
# (L, d_v); the scale defaults to 1/sqrt(d_k), as in the package
out_sdpa = F.scaled_dot_product_attention(q, k, v)

# SDPA returns no weights: compute them the long way to compare.
w_torch = torch.softmax(q @ k.T / d_k**0.5, dim=-1)  # (L, L)
# --- end SDPA ---

torch.testing.assert_close(out_sdpa, torch.from_numpy(out_np), rtol=1e-12, atol=1e-12)
torch.testing.assert_close(w_torch, torch.from_numpy(w_np), rtol=1e-12, atol=1e-12)

# --- shown on the page: nn.MultiheadAttention ---
mha_t = torch.nn.MultiheadAttention(d_model, num_heads=1, bias=False,
                                    batch_first=True, dtype=f64)
with torch.no_grad():
    # torch keeps a Linear's matrix as (out, in), computes x @ weight.T
    mha_t.in_proj_weight.copy_(torch.cat([w_q.T, w_k.T, w_v.T]))
    # W_O = I, as on the page
    mha_t.out_proj.weight.copy_(torch.eye(d_model, dtype=f64))
xb = x.unsqueeze(0)  # (batch=1, L, d_model)
# query, key and value are all x: self-attention
out_mha_t, w_mha_t = mha_t(xb, xb, xb, need_weights=True)
# --- end nn.MultiheadAttention ---

mha = MultiHeadAttention(d_model=3, n_heads=1, bias=False)
mha.w_q, mha.w_k, mha.w_v, mha.w_o = W_Q, W_K, W_V, np.eye(3)
out_mha, w_mha = mha(X)  # (3, 3), (heads=1, 3, 3)

torch.testing.assert_close(out_mha_t[0], torch.from_numpy(out_mha), rtol=1e-12, atol=1e-12)
torch.testing.assert_close(w_mha_t[0], torch.from_numpy(w_mha[0]), rtol=1e-12, atol=1e-12)
assert np.allclose(out_mha, out_np, rtol=1e-12, atol=1e-12)

if __name__ == "__main__":
    print("SDPA output:\n", out_sdpa.numpy().round(3))
    print("torch and attention_ref agree")
