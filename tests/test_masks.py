"""Causal and padding masks against PyTorch's (True = may attend), and their bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attention_ref import causal_mask, padding_mask


@pytest.mark.parametrize("Lq,Lk", [(1, 1), (4, 4), (3, 5), (5, 3)])
def test_causal_mask_matches_torch_is_causal(Lq, Lk):
    # torch's reference for is_causal=True: ones(L, S).tril(diagonal=0)
    expected = torch.ones(Lq, Lk, dtype=torch.bool).tril(diagonal=0).numpy()
    np.testing.assert_array_equal(causal_mask(Lq, Lk), expected)


def test_causal_mask_default_square():
    assert causal_mask(3).shape == (3, 3)
    assert causal_mask(3).dtype == bool


def test_padding_mask():
    m = padding_mask([1, 3, 0], 3)
    assert m.shape == (3, 1, 1, 3)
    np.testing.assert_array_equal(m[:, 0, 0], [[1, 0, 0], [1, 1, 1], [0, 0, 0]])


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: causal_mask(0), ValueError, "Lq must be a positive integer, got 0"),
        (lambda: causal_mask(2.5), TypeError, "Lq must be a positive integer"),
        (lambda: causal_mask(2, -1), ValueError, "Lk must be a positive integer"),
        (lambda: padding_mask([1, 4], 3), ValueError, "lengths must lie between 0 and L = 3"),
        (lambda: padding_mask([[1]], 3), TypeError, "lengths must be a 1-D sequence of integers"),
        (lambda: padding_mask([1.5], 3), TypeError, "lengths must be a 1-D sequence of integers"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
