"""Chapter 6, "PyTorch로는": torch.nn.Transformer with the package's parameters, on the page's example.

The page builds a small ``attention_ref.Transformer`` (d_model 16, 4 heads, 2 + 2 layers, d_ff 32,
seed 0) and feeds it the translation example "kono eiga ga kirai" -> "<bos> I hate this movie". This
file loads the same parameters into ``torch.nn.Transformer`` and checks that both give the same output
in float64. Run it with the tests environment: ``python docs/pytorch/06_transformer.py``.
"""

import numpy as np
import torch
from torch import nn

from attention_ref import Transformer, positional_encoding

# --- the page's example: token ids -> embeddings * sqrt(d_model) + positions -----------------------
src_vocab = ["<pad>", "kono", "eiga", "ga", "kirai"]
tgt_vocab = ["<pad>", "<bos>", "<eos>", "I", "hate", "this", "movie"]
src_words = ["kono", "eiga", "ga", "kirai"]
tgt_words = ["<bos>", "I", "hate", "this", "movie"]
src_ids = np.array([[src_vocab.index(w) for w in src_words]])  # (batch, Ls) = (1, 4)
tgt_ids = np.array([[tgt_vocab.index(w) for w in tgt_words]])  # (batch, Lt) = (1, 5)
d_model, n_heads = 16, 4
rng = np.random.default_rng(42)
E_src = rng.normal(scale=d_model**-0.5, size=(len(src_vocab), d_model))  # (V_src, d_model)
E_tgt = rng.normal(scale=d_model**-0.5, size=(len(tgt_vocab), d_model))  # (V_tgt, d_model)
src_in = E_src[src_ids] * np.sqrt(d_model) + positional_encoding(4, d_model)  # (1, Ls, d_model)
tgt_in = E_tgt[tgt_ids] * np.sqrt(d_model) + positional_encoding(5, d_model)  # (1, Lt, d_model)
model = Transformer(d_model, n_heads, n_encoder_layers=2, n_decoder_layers=2, d_ff=32, seed=0)
ours = model(src_in, tgt_in)  # (1, Lt, d_model); the decoder's self attention is causal by default

# --- shown on the page ---
torch_model = nn.Transformer(
    d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
    dim_feedforward=32, dropout=0.0, batch_first=True, dtype=torch.float64,
)
params = {k: torch.from_numpy(v) for k, v in model.state_dict().items()}
torch_model.load_state_dict(params)   # the package's keys are torch's keys
torch_model.eval()                    # no dropout (the package has none)

Lt = tgt_in.shape[1]
causal = nn.Transformer.generate_square_subsequent_mask
tgt_mask = causal(Lt, dtype=torch.float64)  # 0 = attend, -inf = hidden
with torch.no_grad():
    theirs = torch_model(
        torch.from_numpy(src_in), torch.from_numpy(tgt_in),
        tgt_mask=tgt_mask, tgt_is_causal=True,
    )  # (1, Lt, d_model)
# --- end of the part shown on the page ---

print("torch tgt_mask:\n", tgt_mask)
print("max |torch - attention_ref|:", float((theirs - torch.from_numpy(ours)).abs().max()))
torch.testing.assert_close(theirs, torch.from_numpy(ours), rtol=0.0, atol=1e-10)

# the other direction: parameters of a torch model (its own random init) read by the package
torch.manual_seed(0)
fresh = nn.Transformer(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                       dim_feedforward=32, dropout=0.0, batch_first=True, dtype=torch.float64).eval()
ported = Transformer.from_state_dict({k: v.numpy() for k, v in fresh.state_dict().items()}, n_heads=4)
with torch.no_grad():
    expected = fresh(torch.from_numpy(src_in), torch.from_numpy(tgt_in), tgt_mask=tgt_mask, tgt_is_causal=True)
np.testing.assert_allclose(ported(src_in, tgt_in), expected.numpy(), rtol=0.0, atol=1e-10)
print("both directions agree to 1e-10")
