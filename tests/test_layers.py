"""Positional encoding, layer normalisation and the feed-forward block, against the formulas and PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attention_ref import feed_forward, layer_norm, positional_encoding

from .torch_ref import to_torch


# --- positional encoding ---------------------------------------------------------------------------
def sinusoids_by_hand(length, d_model):
    """The paper's formula written out element by element with the math module."""
    pe = np.zeros((length, d_model))
    for pos in range(length):
        for i in range(0, d_model, 2):
            angle = pos / 10000 ** (i / d_model)
            pe[pos, i] = math.sin(angle)
            if i + 1 < d_model:
                pe[pos, i + 1] = math.cos(angle)
    return pe


@pytest.mark.parametrize("length,d_model", [(1, 2), (7, 4), (50, 16), (13, 5), (128, 64)])
def test_positional_encoding_matches_formula(length, d_model):
    pe = positional_encoding(length, d_model)
    assert pe.shape == (length, d_model)
    assert pe.dtype == np.float64
    np.testing.assert_allclose(pe, sinusoids_by_hand(length, d_model), rtol=0, atol=1e-12)


def test_positional_encoding_offset_is_a_rotation_of_each_pair():
    # sin(a + b), cos(a + b) are a fixed rotation of sin(a), cos(a): the paper's "relative position" argument
    d_model, offset = 8, 5
    pe = positional_encoding(40, d_model)
    freq = 10000.0 ** (-np.arange(0, d_model, 2) / d_model)  # (d_model / 2,)
    b = offset * freq
    sin_a, cos_a = pe[:-offset, 0::2], pe[:-offset, 1::2]
    np.testing.assert_allclose(pe[offset:, 0::2], sin_a * np.cos(b) + cos_a * np.sin(b), atol=1e-12)
    np.testing.assert_allclose(pe[offset:, 1::2], cos_a * np.cos(b) - sin_a * np.sin(b), atol=1e-12)


def test_positional_encoding_rows_are_distinct_and_bounded():
    pe = positional_encoding(200, 32)
    assert np.abs(pe).max() <= 1.0
    assert len({row.tobytes() for row in pe.round(6)}) == 200


@pytest.mark.parametrize(
    "args,exc,match",
    [
        ((0, 4), ValueError, "length must be a positive integer, got 0"),
        ((4, -2), ValueError, "d_model must be a positive integer, got -2"),
        ((4.0, 4), TypeError, "length must be a positive integer, got 4.0"),
        ((4, True), TypeError, "d_model must be a positive integer"),
    ],
)
def test_positional_encoding_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        positional_encoding(*args)


# --- layer norm ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 8), (2, 2, 3, 16)])
@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_layer_norm_matches_torch(rng, shape, eps):
    d = shape[-1]
    x, gamma, beta = rng.normal(size=shape) * 3 + 1, rng.normal(size=d), rng.normal(size=d)
    ref = torch.nn.LayerNorm(d, eps=eps)
    ref.load_state_dict({"weight": to_torch(gamma), "bias": to_torch(beta)})
    with torch.no_grad():
        expected = ref(to_torch(x)).numpy()
    np.testing.assert_allclose(layer_norm(x, gamma, beta, eps), expected, rtol=0, atol=1e-13)


def test_layer_norm_normalises_each_position_alone(rng):
    x = rng.normal(size=(4, 6, 10)) * 5 + 2
    y = layer_norm(x, np.ones(10), np.zeros(10), eps=1e-12)
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=-1), 1, atol=1e-9)
    # one position's result does not depend on the others
    np.testing.assert_array_equal(layer_norm(x[1:2, 3:4], np.ones(10), np.zeros(10), 1e-12), y[1:2, 3:4])


def test_layer_norm_keeps_float32(rng):
    x = rng.normal(size=(3, 8)).astype(np.float32)
    g, b = np.ones(8, np.float32), np.zeros(8, np.float32)
    assert layer_norm(x, g, b).dtype == np.float32
    assert layer_norm(x.astype(int), g, b).dtype == np.float64


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"gamma": np.ones(3)}, ValueError, r"gamma has shape \(3,\) but needs shape \(d_model,\) = \(4,\)"),
        ({"beta": np.ones((1, 4))}, ValueError, r"beta has shape \(1, 4\)"),
        ({"eps": 0.0}, ValueError, "eps must be a positive finite number, got 0.0"),
        ({"eps": float("nan")}, ValueError, "eps must be a positive finite number, got nan"),
        ({"eps": "1e-5"}, TypeError, "eps must be a real number, got '1e-5' of type str"),
        ({"x": np.array([1.0, np.nan, 0, 0])}, ValueError, "x contains NaN"),
        ({"x": np.array(["a", "b", "c", "d"])}, TypeError, "x must be a real numeric array"),
        ({"x": np.float64(1.0)}, ValueError, "x must have at least 1 axis"),
    ],
)
def test_layer_norm_bad_input(kwargs, exc, match):
    args = {"x": np.ones((2, 4)), "gamma": np.ones(4), "beta": np.zeros(4), "eps": 1e-5} | kwargs
    with pytest.raises(exc, match=match):
        layer_norm(**args)


# --- feed-forward ----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,d_ff", [((4,), 8), ((5, 6), 24), ((2, 3, 16), 64)])
def test_feed_forward_matches_torch(rng, shape, d_ff):
    d = shape[-1]
    w1, b1 = rng.normal(size=(d, d_ff)), rng.normal(size=d_ff)
    w2, b2 = rng.normal(size=(d_ff, d)), rng.normal(size=d)
    x = rng.normal(size=shape)
    ref = torch.nn.Sequential(torch.nn.Linear(d, d_ff), torch.nn.ReLU(), torch.nn.Linear(d_ff, d))
    ref.load_state_dict(  # torch's Linear stores (out, in): the transpose of ours
        {
            "0.weight": to_torch(w1.T),
            "0.bias": to_torch(b1),
            "2.weight": to_torch(w2.T),
            "2.bias": to_torch(b2),
        }
    )
    with torch.no_grad():
        expected = ref(to_torch(x)).numpy()
    out = feed_forward(x, w1, b1, w2, b2)
    assert out.shape == shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


def test_feed_forward_is_position_wise(rng):
    w1, b1, w2, b2 = rng.normal(size=(4, 8)), rng.normal(size=8), rng.normal(size=(8, 4)), rng.normal(size=4)
    x = rng.normal(size=(6, 4))
    out = feed_forward(x, w1, b1, w2, b2)
    perm = rng.permutation(6)
    np.testing.assert_allclose(feed_forward(x[perm], w1, b1, w2, b2), out[perm], rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"w1": np.ones((3, 8))},
            r"w1 has shape \(3, 8\) but needs shape \(d_model, d_ff\) with d_model = 4",
        ),
        ({"w1": np.ones(4)}, r"w1 has shape \(4,\)"),
        ({"b1": np.ones(4)}, r"b1 has shape \(4,\) but needs shape \(8,\)"),
        ({"w2": np.ones((4, 8))}, r"w2 has shape \(4, 8\) but needs shape \(8, 4\)"),
        ({"b2": np.ones(8)}, r"b2 has shape \(8,\) but needs shape \(4,\)"),
        ({"x": np.ones((2, 5))}, r"w1 has shape \(4, 8\) .* d_model = 5"),
        ({"b1": np.full(8, np.inf)}, "b1 contains NaN or infinity"),
    ],
)
def test_feed_forward_bad_input(kwargs, match):
    args = {
        "x": np.ones((2, 4)),
        "w1": np.ones((4, 8)),
        "b1": np.zeros(8),
        "w2": np.ones((8, 4)),
        "b2": np.zeros(4),
    }
    with pytest.raises(ValueError, match=match):
        feed_forward(**(args | kwargs))


def test_feed_forward_rejects_non_numeric():
    with pytest.raises(TypeError, match="w2 must be a real numeric array"):
        feed_forward(np.ones((2, 4)), np.ones((4, 8)), np.zeros(8), np.ones((8, 4), dtype=bool), np.zeros(4))
