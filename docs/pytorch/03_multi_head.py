"""Chapter 3, "PyTorch로는": torch.nn.MultiheadAttention loaded with the package's weights.

Computes the page's example (three tokens, d_model = 12, three heads, seed 0, no biases) with
``attention_ref.MultiHeadAttention`` and with ``torch.nn.MultiheadAttention`` in float64, and checks
that the outputs and the per-head weights agree, without a mask and with the causal mask.
"""

# --- shown on the page ---
import numpy as np
import torch

from attention_ref import MultiHeadAttention, causal_mask

d_model, n_heads = 12, 3
X = np.random.default_rng(0).normal(size=(3, d_model))  # (L=3, d_model=12)
mha = MultiHeadAttention(d_model, n_heads, bias=False, seed=0)  # the page's module
out, weights = mha(X)  # (3, 12), (heads=3, Lq=3, Lk=3)

torch_mha = torch.nn.MultiheadAttention(
    d_model, n_heads, bias=False, batch_first=True, dtype=torch.float64
)
state = {name: torch.from_numpy(p) for name, p in mha.state_dict().items()}
torch_mha.load_state_dict(state)  # the same keys and shapes: nothing to rename
x = torch.from_numpy(X).unsqueeze(0)  # (batch=1, L=3, d_model=12)
with torch.no_grad():
    out_t, weights_t = torch_mha(
        x, x, x, need_weights=True, average_attn_weights=False
    )  # (1, 3, 12), (1, heads=3, 3, 3)

# causal: for us True = may attend; for nn.MultiheadAttention True = hidden
out_c, weights_c = mha(X, causal=True)
hidden = torch.from_numpy(~causal_mask(3))  # (Lq, Lk): True above the diagonal
with torch.no_grad():
    out_ct, weights_ct = torch_mha(
        x, x, x, attn_mask=hidden, need_weights=True, average_attn_weights=False
    )
# --- end of the part shown on the page ---

tight = {"rtol": 0, "atol": 1e-13}  # float64 on both sides: only rounding differs
torch.testing.assert_close(out_t[0], torch.from_numpy(out), **tight)
torch.testing.assert_close(weights_t[0], torch.from_numpy(weights), **tight)
torch.testing.assert_close(out_ct[0], torch.from_numpy(out_c), **tight)
torch.testing.assert_close(weights_ct[0], torch.from_numpy(weights_c), **tight)
assert np.allclose(weights_c, np.tril(weights_c))  # the causal weights above the diagonal are 0
# average_attn_weights=True (torch's default) returns the mean over the heads instead
with torch.no_grad():
    _, mean_t = torch_mha(x, x, x, need_weights=True)
torch.testing.assert_close(mean_t[0], torch.from_numpy(weights.mean(axis=0)), **tight)
print("torch.nn.MultiheadAttention agrees with attention_ref.MultiHeadAttention")
