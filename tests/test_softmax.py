"""Softmax against PyTorch: stability at extreme logits, all -inf slices, dtypes, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attention_ref import softmax


@pytest.mark.parametrize("shape,axis", [((5,), -1), ((3, 7), -1), ((3, 7), 0), ((2, 3, 4), 1)])
def test_matches_torch(rng, shape, axis):
    x = rng.normal(scale=3.0, size=shape)
    expected = torch.softmax(torch.from_numpy(x), dim=axis).numpy()
    np.testing.assert_allclose(softmax(x, axis=axis), expected, rtol=0, atol=1e-15)


def test_extreme_logits_are_stable():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    out = softmax(x)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(out[1], [1 / 3] * 3)


def test_all_neg_inf_slice_gives_zeros_not_nan():
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    out = softmax(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0], [1.0, 0.0]])


def test_dtypes():
    assert softmax(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert softmax(np.arange(3)).dtype == np.float64


@pytest.mark.parametrize(
    "x,exc,match",
    [
        (np.array([1.0, np.nan]), ValueError, "x contains NaN"),
        (np.array([1.0, np.inf]), ValueError, r"x contains NaN or \+inf"),
        (np.array(["a", "b"]), TypeError, "x must be a real numeric array"),
        (np.array([True, False]), TypeError, "got dtype bool"),
        (np.float64(1.0), ValueError, "x must have at least 1 axis"),
    ],
)
def test_bad_input(x, exc, match):
    with pytest.raises(exc, match=match):
        softmax(x)


def test_bad_axis():
    with pytest.raises(ValueError, match=r"axis 2 is out of range for x with shape \(3, 4\)"):
        softmax(np.zeros((3, 4)), axis=2)
