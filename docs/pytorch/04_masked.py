"""Chapter 4 (마스크드 어텐션) in PyTorch: causal masks in torch, compared with attention_ref.

The examples are the page's: the one-hot Q = K = V = E (3 x 3) with scale=1.0, and
MultiHeadAttention(d_model=8, n_heads=2, seed=0) on "나는 어제 사과를 먹었다" with the page's seeded
embeddings. Everything is float64 on the CPU. The docs build has no torch, so the page only shows
this file; tests/test_pytorch_snippets.py runs it, and its asserts compare torch with the package.
Torch's behaviour for a query whose keys are all hidden is asserted at the end (torch 2.13.0).
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from attention_ref import (
    MultiHeadAttention,
    causal_mask,
    scaled_dot_product_attention,
    softmax,
)

# --- shown on the page: sdpa ---
# The one-hot example: Q = K = V = E, no 1/sqrt(d_k) (scale=1.0).
E = np.eye(3)
causal = causal_mask(3)  # (3, 3) bool, True = may attend
out_ours, w_ours = scaled_dot_product_attention(
    E, E, E, causal=True, scale=1.0
)

Et = torch.from_numpy(E)  # float64, shares E's memory
sdpa = F.scaled_dot_product_attention
# 1) is_causal=True: torch builds the lower-triangular mask itself
out_is_causal = sdpa(Et, Et, Et, is_causal=True, scale=1.0)
# 2) a boolean attn_mask: True = may attend, as ours
bool_mask = torch.from_numpy(causal)
out_bool = sdpa(Et, Et, Et, attn_mask=bool_mask, scale=1.0)
# 3) nn.Transformer's float mask: 0 = allowed, -inf = hidden,
#    added to the scores
future = nn.Transformer.generate_square_subsequent_mask(
    3, dtype=torch.float64
)
out_float = sdpa(Et, Et, Et, attn_mask=future, scale=1.0)

for out_torch in (out_is_causal, out_bool, out_float):
    torch.testing.assert_close(
        out_torch, torch.from_numpy(out_ours), rtol=0, atol=1e-15
    )
# --- end sdpa ---

# V = E is the identity, so the output *is* the weight matrix here
np.testing.assert_allclose(out_ours, w_ours, rtol=0, atol=1e-15)
# the float mask is -inf exactly where our boolean mask is False, and 0 elsewhere
assert torch.equal(torch.isneginf(future), torch.from_numpy(~causal))
assert (future[bool_mask] == 0).all()
# is_causal=True aligns the mask top-left, like causal_mask(Lq, Lk), also when Lq != Lk
_, w_2x3 = scaled_dot_product_attention(E[:2], E, E, causal=True, scale=1.0)
torch.testing.assert_close(sdpa(Et[:2], Et, Et, is_causal=True, scale=1.0), torch.from_numpy(w_2x3),
                           rtol=0, atol=1e-15)
assert (w_2x3 != 0).tolist() == causal_mask(2, 3).tolist()
# is_causal=True and attn_mask cannot be given together
try:
    sdpa(Et, Et, Et, attn_mask=bool_mask, is_causal=True)
except RuntimeError as err:
    assert "attn_mask" in str(err)
else:
    raise AssertionError("F.scaled_dot_product_attention accepted attn_mask with is_causal=True")

# --- shown on the page: mha ---
# The page's sentence "나는 어제 사과를 먹었다" and its embeddings
# (vocabulary: 나는 어제 사과를 책을 먹었다 샀다).
vectors = np.random.default_rng(0).normal(size=(6, 8))
x = vectors[[0, 1, 2, 4]]  # (L, d_model) = (4, 8)
mha = MultiHeadAttention(d_model=8, n_heads=2, seed=0)
out_ours, w_ours = mha(x, causal=True)  # (4, 8), (2, 4, 4)

torch_mha = nn.MultiheadAttention(8, 2, dtype=torch.float64)
state = {k: torch.from_numpy(v) for k, v in mha.state_dict().items()}
torch_mha.load_state_dict(state)  # torch's keys and shapes
torch_mha.eval()

xt = torch.from_numpy(x)  # unbatched (L, d_model)
hidden = torch.from_numpy(~causal_mask(4))  # True = NOT allowed
future4 = nn.Transformer.generate_square_subsequent_mask(
    4, dtype=torch.float64
)
with torch.no_grad():
    # boolean attn_mask: True = hidden, the opposite of ours
    out_t, w_t = torch_mha(
        xt, xt, xt, attn_mask=hidden, average_attn_weights=False
    )
    # a float mask means the same in every torch API
    out_f, w_f = torch_mha(
        xt, xt, xt, attn_mask=future4, average_attn_weights=False
    )
# average_attn_weights=False: per head, (h, Lq, Lk) like ours

for out_torch, w_torch in ((out_t, w_t), (out_f, w_f)):
    np.testing.assert_allclose(out_torch, out_ours, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w_torch, w_ours, rtol=0, atol=1e-12)
# --- end mha ---

# Passing our mask without ~ raises no error: it hides the opposite cells, and the last query,
# whose row of causal_mask(4) is all True, loses every key (nan)
with torch.no_grad():
    out_wrong, w_wrong = torch_mha(xt, xt, xt, attn_mask=torch.from_numpy(causal_mask(4)),
                                   average_attn_weights=False)
assert (w_wrong[:, :3][torch.from_numpy(causal_mask(4))[:3].expand(2, 3, 4)] == 0).all()
assert (w_wrong[:, :3][torch.from_numpy(~causal_mask(4))[:3].expand(2, 3, 4)] > 0).all()
assert torch.isnan(out_wrong[3]).all() and not torch.isnan(out_wrong[:3]).any()

# nn.MultiheadAttention's is_causal=True is only a hint: it needs the mask itself in attn_mask
try:
    torch_mha(xt, xt, xt, is_causal=True)
except RuntimeError as err:
    assert "attn_mask" in str(err)
else:
    raise AssertionError("nn.MultiheadAttention accepted is_causal=True without attn_mask")

# --- shown on the page: fully masked ---
# 1) The page's row of scores, every key hidden
row = torch.tensor([0.7, -0.2, 1.5], dtype=torch.float64)
all_hidden = torch.ones(3, dtype=torch.bool)
hidden_row = row.masked_fill(all_hidden, -torch.inf)
assert torch.isnan(torch.softmax(hidden_row, dim=-1)).all()  # nan
assert (softmax(hidden_row.numpy()) == 0).all()  # ours: zeros

# 2) The one-hot example, query 0 (나는) may see no key
mask = causal_mask(3).copy()
mask[0] = False
out_ours, w_ours = scaled_dot_product_attention(
    E, E, E, mask=mask, scale=1.0
)
assert (w_ours[0] == 0).all() and (out_ours[0] == 0).all()  # ours
mask_t = torch.from_numpy(mask)
out_sdpa = sdpa(Et, Et, Et, attn_mask=mask_t, scale=1.0)
assert (out_sdpa[0] == 0).all()  # F.scaled_dot_product_attention
np.testing.assert_allclose(out_sdpa, out_ours, rtol=0, atol=1e-15)

# 3) nn.MultiheadAttention, the sentence, query 0 sees no key
mask4 = causal_mask(4).copy()
mask4[0] = False
out_ours, w_ours = mha(x, mask=mask4)
assert (w_ours[:, 0] == 0).all() and (out_ours[0] == 0).all()
with torch.no_grad():
    out_t, w_t = torch_mha(
        xt, xt, xt, attn_mask=torch.from_numpy(~mask4),
        average_attn_weights=False,
    )
assert torch.isnan(out_t[0]).all()  # torch: nan output ...
assert torch.isnan(w_t[:, 0]).all()  # ... and so are the weights
# the other queries agree
np.testing.assert_allclose(out_t[1:], out_ours[1:], rtol=0, atol=1e-12)
# --- end fully masked ---

print("chapter 4: torch and attention_ref agree")
