"""The answers in docs/exercises/ against the package: each file is loaded by its path and cross-checked."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from attention_ref import MultiHeadAttention

EXERCISES = Path(__file__).resolve().parents[1] / "docs" / "exercises"


def load(stem):
    """The module ``docs/exercises/<stem>.py`` (its name starts with a digit: no plain import)."""
    path = EXERCISES / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(f"exercise_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- chapter 3, exercise 6: multi-head attention in about 20 lines -------------------------------------
MHA_20 = "03_mha_20_lines"


@pytest.mark.parametrize("L,d_model,n_heads", [(1, 4, 1), (3, 12, 3), (5, 8, 2), (7, 16, 4), (6, 16, 16)])
@pytest.mark.parametrize("causal", [False, True])
def test_mha_20_lines_matches_package(rng, L, d_model, n_heads, causal):
    answer = load(MHA_20).multi_head_attention
    ref = MultiHeadAttention(d_model, n_heads, bias=False)
    ref.w_q, ref.w_k, ref.w_v, ref.w_o = (rng.normal(size=(d_model, d_model)) for _ in range(4))
    x = rng.normal(size=(L, d_model))
    out, weights = answer(x, ref.w_q, ref.w_k, ref.w_v, ref.w_o, n_heads, causal=causal)
    ref_out, ref_weights = ref(x, causal=causal)
    assert out.shape == (L, d_model) and weights.shape == (n_heads, L, L)
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=1e-12)
    np.testing.assert_allclose(weights, ref_weights, rtol=0, atol=1e-12)


def test_mha_20_lines_is_stable_for_large_scores(rng):
    """Scores in the hundreds overflow a softmax that skips the shift by the row's maximum."""
    answer = load(MHA_20).multi_head_attention
    ref = MultiHeadAttention(8, 2, bias=False)
    ref.w_q, ref.w_k, ref.w_v, ref.w_o = (rng.normal(size=(8, 8)) for _ in range(4))
    x = 30.0 * rng.normal(size=(5, 8))
    out, weights = answer(x, ref.w_q, ref.w_k, ref.w_v, ref.w_o, 2, causal=True)
    ref_out, ref_weights = ref(x, causal=True)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights, ref_weights, rtol=0, atol=1e-12)


def test_mha_20_lines_is_short_plain_numpy():
    """The exercise asks for about 20 lines using NumPy alone."""
    tree = ast.parse((EXERCISES / f"{MHA_20}.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"numpy"}
    (func,) = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert func.name == "multi_head_attention"
    assert func.end_lineno - func.lineno + 1 <= 25
