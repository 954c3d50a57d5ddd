"""The four printed results of the source notebook, reproduced exactly (as printed)."""

from __future__ import annotations

import numpy as np
import pytest

from attention_ref.book.toy import (
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


def test_cross_attention_with_other_vectors(rng):
    q = {w: rng.normal(size=4) for w in ("x", "y")}
    k = {w: rng.normal(size=4) for w in ("u", "v", "w")}
    out = toy_cross_attention(["x", "y"], q, ["u", "v", "w"], k)
    np.testing.assert_allclose(out, np.stack([q["x"], q["y"]]) @ np.stack([k["u"], k["v"], k["w"]]).T)


def test_masked_attention_zeroes_whole_columns(rng):
    words = ["a", "b", "c", "d"]
    vectors = {w: rng.normal(size=3) for w in words}
    out = toy_masked_attention(words, vectors, mask=[1, 0, 1, 0])
    np.testing.assert_array_equal(out[:, [1, 3]], 0.0)
    np.testing.assert_allclose(out[:, [0, 2]], toy_self_attention(words, vectors)[:, [0, 2]])


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: one_hot_vectors(["a", "a"]), ValueError, "words must be distinct"),
        (lambda: one_hot_vectors("abc"), TypeError, "words must be a sequence of words"),
        (lambda: one_hot_vectors([]), ValueError, "words must hold at least one word"),
        (lambda: one_hot_vectors([1, 2]), TypeError, "words must hold strings, got int 1"),
        (lambda: toy_self_attention(["x"], {"y": np.ones(2)}), ValueError, r"vectors has no vector for \['x'\]"),
        (lambda: toy_self_attention(["x"], [np.ones(2)]), TypeError, "vectors must be a dict from word to vector, got list"),
        (lambda: toy_self_attention(["x", "y"], {"x": np.ones(2), "y": np.ones(3)}), ValueError,
         r"vectors\['y'\] has shape \(3,\), but every vector must be 1-D, non-empty and as long as vectors\['x'\] \(2,\)"),
        (lambda: toy_self_attention(["x"], {"x": np.array([np.nan])}), ValueError, r"vectors\['x'\] contains NaN"),
        (lambda: toy_self_attention(["x"], {"x": "ab"}), TypeError, r"vectors\['x'\] must be a real numeric array"),
        (lambda: toy_masked_attention(mask=[1, 0]), ValueError, r"mask has shape \(2,\) but needs one entry per word: \(3,\)"),
        (lambda: toy_masked_attention(mask=[1, np.nan, 0]), ValueError, "mask contains NaN"),
        (lambda: toy_multi_head_attention(heads=0), ValueError, "heads must be a positive integer, got 0"),
        (lambda: toy_multi_head_attention(heads=2.0), TypeError, "heads must be a positive integer"),
        (lambda: toy_cross_attention(["x"], {"x": np.ones(2)}, ["y"], {"y": np.ones(3)}), ValueError,
         "query vectors have length 2 but key vectors have length 3"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
