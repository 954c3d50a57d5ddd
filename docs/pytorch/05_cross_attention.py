"""Chapter 5 (크로스 어텐션) in PyTorch: the page's two examples computed with torch and with attention_ref.

1. The hand-made example (queries: this is an example; keys: kore wa rei desu), with one padding key
   appended, so that Lq = 4 and Lk = 5: ``torch.nn.functional.scaled_dot_product_attention`` with a
   boolean ``attn_mask`` (True = may attend, as in attention_ref).
2. The batch example (decoder length 4, two source sentences of lengths 5 and 3 padded to 5):
   ``torch.nn.MultiheadAttention`` loaded with the package layer's ``state_dict()``, called with
   query = decoder vectors, key = value = encoder output, and a ``key_padding_mask`` (True = padding,
   may NOT attend: the opposite of ``padding_mask``).

Both run in float64; the asserts at the end check that torch and the package agree. The page
(docs/05-cross-attention.md) shows the part between the two markers.
"""

import numpy as np
import torch
import torch.nn.functional as F

from attention_ref import MultiHeadAttention, padding_mask, scaled_dot_product_attention

# The page's examples, built exactly as the page builds them.
Q = np.array([[3.0, 0.0, 0.0, 1.0],   # this
              [0.0, 3.0, 0.0, 1.0],   # is
              [0.0, 0.0, 1.0, 2.0],   # an
              [0.0, 0.0, 3.0, 0.0]])  # example
K = np.array([[3.0, 0.0, 0.0, 0.0],   # kore
              [1.0, 1.0, 0.0, 2.0],   # wa
              [0.0, 0.0, 3.0, 1.0],   # rei
              [0.0, 3.0, 0.0, 0.0]])  # desu
W_V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
V = K @ W_V  # (Lk, d_v) = (4, 2)
out_ex, A = scaled_dot_product_attention(Q, K, V)  # (4, 2), (4, 4)

rng = np.random.default_rng(1)
memory = rng.normal(size=(2, 5, 8))  # (B, Lk, d_model): encoder output
dec = rng.normal(size=(2, 4, 8))  # (B, Lq, d_model): decoder vectors
src_mask = padding_mask([5, 3], 5)  # (B, 1, 1, Lk): True = may attend
cross = MultiHeadAttention(d_model=8, n_heads=2, seed=1)
y, w_cross = cross(dec, memory, mask=src_mask)  # (B, Lq, d_model), (B, h, Lq, Lk)

# --- shown on the page ---
# (imported above: numpy as np, torch, torch.nn.functional as F)

# 1. F.scaled_dot_product_attention: Lq = 4 queries, Lk = 5 keys
K_pad = np.vstack([K, np.zeros(4)])  # (5, d_k): last = padding
V_pad = np.vstack([V, np.zeros(2)])  # (5, d_v)
keep = np.array([True, True, True, True, False])  # True = attend

o_np, _ = scaled_dot_product_attention(Q, K_pad, V_pad, mask=keep)
o_t = F.scaled_dot_product_attention(
    torch.from_numpy(Q),
    torch.from_numpy(K_pad),
    torch.from_numpy(V_pad),
    attn_mask=torch.from_numpy(keep),  # same polarity as ours
)  # (Lq, d_v) = (4, 2): the output only, no weights

# 2. nn.MultiheadAttention holding the package layer's parameters
mha_t = torch.nn.MultiheadAttention(
    embed_dim=8, num_heads=2, batch_first=True, dtype=torch.float64
)
sd = {k: torch.from_numpy(p) for k, p in cross.state_dict().items()}
mha_t.load_state_dict(sd)

dec_t = torch.from_numpy(dec)  # (B, Lq, d_model): queries
mem_t = torch.from_numpy(memory)  # (B, Lk, d_model): keys, values
pad_t = ~torch.from_numpy(src_mask[:, 0, 0, :])  # True = padding
y_t, w_t = mha_t(
    dec_t, mem_t, mem_t,  # query, key, value
    key_padding_mask=pad_t,
    average_attn_weights=False,  # per head: (B, h, Lq, Lk)
)
# --- end of the part shown on the page ---

tol = {"rtol": 1e-12, "atol": 1e-12}
torch.testing.assert_close(o_t, torch.from_numpy(o_np), **tol)
torch.testing.assert_close(o_t, torch.from_numpy(out_ex), **tol)  # the padding key changes nothing
torch.testing.assert_close(y_t, torch.from_numpy(y), **tol)
torch.testing.assert_close(w_t, torch.from_numpy(w_cross), **tol)
assert (w_t[1, :, :, 3:] == 0).all()  # the second sentence's two padding keys get no weight
assert A.shape == (4, 4) and o_t.shape == (4, 2) and y_t.shape == (2, 4, 8) and w_t.shape == (2, 2, 4, 5)
print("torch and attention_ref agree on the chapter-5 examples")
