"""The four printed results of the source notebook, reproduced exactly (as printed)."""

from __future__ import annotations

import numpy as np
import pytest

from attention_ref.toy import (
    one_hot_vectors,
    toy_cross_attention,
    toy_masked_attention,
    toy_multi_head_attention,
    toy_self_attention,
)

PRINTED_SELF = "[[1. 0. 0.]\n [0. 1. 0.]\n [0. 0. 1.]]"
PRINTED_MULTI = (
    "[[[1. 1. 1.]\n  [0. 0. 0.]\n  [0. 0. 0.]]\n\n"
    " [[0. 0. 0.]\n  [1. 1. 1.]\n  [0. 0. 0.]]\n\n"
    " [[0. 0. 0.]\n  [0. 0. 0.]\n  [1. 1. 1.]]]"
)
PRINTED_MASKED = "[[1. 0. 0.]\n [0. 1. 0.]\n [0. 0. 0.]]"
PRINTED_CROSS = "[[1. 0.]\n [0. 1.]]"


@pytest.mark.parametrize(
    "func,printed",
    [
        (toy_self_attention, PRINTED_SELF),
        (toy_multi_head_attention, PRINTED_MULTI),
        (toy_masked_attention, PRINTED_MASKED),
        (toy_cross_attention, PRINTED_CROSS),
    ],
)
def test_notebook_output_reproduced_exactly(func, printed):
    result = func()
    assert result.dtype == np.float64
    assert str(result) == printed


def _loop_reference(words, vectors):
    # the notebook's own double loop, kept here as the independent check
    n = len(words)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i][j] = np.dot(vectors[words[i]], vectors[words[j]])
    return out


def test_vectorised_matches_notebook_loop_on_other_vectors(rng):
    words = ["a", "b", "c", "d"]
    vectors = {w: rng.normal(size=5) for w in words}
    np.testing.assert_allclose(toy_self_attention(words, vectors), _loop_reference(words, vectors))


def test_multi_head_heads_are_identical():
    m = toy_multi_head_attention(heads=4)
    assert m.shape == (3, 3, 4)
    assert all((m[..., h] == m[..., 0]).all() for h in range(4))


def test_one_hot_rejects_duplicates():
    with pytest.raises(ValueError, match="words must be distinct"):
        one_hot_vectors(["a", "a"])


def test_missing_vector_named():
    with pytest.raises(ValueError, match=r"vectors has no vector for \['x'\]"):
        toy_self_attention(["x"], {"y": np.ones(2)})


def test_bad_mask_length():
    with pytest.raises(ValueError, match=r"mask has shape \(2,\) but needs one entry per word: \(3,\)"):
        toy_masked_attention(mask=[1, 0])
