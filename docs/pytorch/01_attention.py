"""Chapter 1 (어텐션이란) in PyTorch: the page's "hate" example computed with torch and with attention_ref.

The page builds the keys and values of kono/eiga/ga/kirai from hand-made embeddings E and matrices W_K,
W_V, and the query of "hate" from h_hate and W_Q = W_K. This file does the same in torch, in float64,
with ``torch.nn.functional.scaled_dot_product_attention``: without scaling (``scale=1.0``, the page's
first computation), with its default scale 1/sqrt(d_k), for all four English queries at once, and with a
boolean mask, and asserts that every result agrees with the package.
"""

import numpy as np
import torch
import torch.nn.functional as F

from attention_ref import scaled_dot_product_attention, scaled_dot_scores, softmax

# The page's example, as the page writes it (column vectors: K_i = W_K e_i, so K = E W_K^T).
E = np.array([[2, 0, 1, 0], [0, 2, 0, 1], [0, 0, 2, 0], [0, 0, 1, 2]], dtype=float)  # (n=4, d_model=4)
W_K = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float)  # (d_k=3, d_model=4)
W_V = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]], dtype=float)  # (d_v=3, d_model=4)
W_Q = W_K.copy()  # (d_k=3, d_model=4)
H = np.array([[0, 0, 1, 0], [0, 0, 1, 2], [2, 0, 0, 0], [0, 2, 0, 0]], dtype=float)  # I, hate, this, movie
K, V, Q = E @ W_K.T, E @ W_V.T, H @ W_Q.T  # (4, 3) each
q_hate = Q[1:2]  # (Lq=1, d_k=3): the query of "hate", (0, 0, 2)

# The package.
out_1, w_1 = scaled_dot_product_attention(q_hate, K, V, scale=1.0)  # (1, 3), (1, 4)
out_s, w_s = scaled_dot_product_attention(q_hate, K, V)  # scale = 1/sqrt(3)
out_all, _ = scaled_dot_product_attention(Q, K, V, scale=1.0)  # (4, 3): all four English words
sees = np.array([True, True, False, True])  # True = may attend: hide the particle ga
out_m, w_m = scaled_dot_product_attention(q_hate, K, V, mask=sees[None, :], scale=1.0)

# --- shown on the page ---
q = torch.tensor(q_hate)  # (Lq=1, d_k=3), float64 as in NumPy
k, v = torch.tensor(K), torch.tensor(V)  # (Lk=4, d_k=3), (Lk=4, d_v=3)

o_1 = F.scaled_dot_product_attention(q, k, v, scale=1.0)  # (1, 3)
o_s = F.scaled_dot_product_attention(q, k, v)  # scale=None: 1/sqrt(d_k)
o_all = F.scaled_dot_product_attention(torch.tensor(Q), k, v, scale=1.0)  # (4, 3)

mask = torch.tensor([True, True, False, True])  # True = may attend
o_m = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)  # ga hidden

# SDPA returns only the output. The weights, the long way:
w_torch = torch.softmax(q @ k.T / k.shape[-1] ** 0.5, dim=-1)  # (1, 4)
# --- end ---

tight = {"rtol": 1e-12, "atol": 1e-12}
torch.testing.assert_close(o_1, torch.from_numpy(out_1), **tight)
torch.testing.assert_close(o_s, torch.from_numpy(out_s), **tight)
torch.testing.assert_close(o_all, torch.from_numpy(out_all), **tight)
torch.testing.assert_close(o_m, torch.from_numpy(out_m), **tight)
torch.testing.assert_close(w_torch, torch.from_numpy(w_s), **tight)
torch.testing.assert_close(w_torch, torch.from_numpy(softmax(scaled_dot_scores(q_hate, K))), **tight)
assert w_m[0, 2] == 0.0  # the hidden key gets weight exactly 0
assert np.allclose(o_1.numpy()[0], w_1[0] @ V, rtol=1e-12, atol=1e-12)

if __name__ == "__main__":
    print("SDPA output, scale=1.0:", o_1.numpy().round(3))
    print("torch and attention_ref agree")
