"""Attention scores against PyTorch: additive (Bahdanau), dot and scaled dot; shapes, broadcasting, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attention_ref import (
    additive_scores,
    dot_scores,
    scaled_dot_product_attention,
    scaled_dot_scores,
    softmax,
)

TIGHT = {"rtol": 1e-12, "atol": 1e-12}


def torch_additive(q, k, w_q, w_k, v):
    """Bahdanau's score with torch modules: two bias-free Linear layers, tanh, and a Linear to one number.

    nn.Linear stores its matrix as (out, in) and computes x @ weight.T, so it holds our (in, out)
    matrices transposed. Each pair (i, j) is scored by an explicit loop over the queries, so the
    broadcasting of the package's version is not reused here.
    """
    q, k = torch.from_numpy(q), torch.from_numpy(k)
    d_att = w_q.shape[1]
    lin_q = torch.nn.Linear(w_q.shape[0], d_att, bias=False, dtype=torch.float64)
    lin_k = torch.nn.Linear(w_k.shape[0], d_att, bias=False, dtype=torch.float64)
    lin_v = torch.nn.Linear(d_att, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        lin_q.weight.copy_(torch.from_numpy(w_q.T))
        lin_k.weight.copy_(torch.from_numpy(w_k.T))
        lin_v.weight.copy_(torch.from_numpy(v[None, :]))
        keys = lin_k(k)  # (..., Lk, d_att)
        rows = [lin_v(torch.tanh(lin_q(q[..., i, :]).unsqueeze(-2) + keys)).squeeze(-1)  # (..., Lk)
                for i in range(q.shape[-2])]
    return torch.stack(rows, dim=-2).numpy()  # (..., Lq, Lk)


@pytest.mark.parametrize(
    "q_shape,k_shape,d_att",
    [
        ((1, 3), (4, 3), 3),  # the chapter's size: one query, four keys
        ((5, 4), (7, 6), 8),  # d_q != d_k, as in Bahdanau (decoder state vs encoder outputs)
        ((2, 3, 5, 4), (2, 3, 6, 4), 2),  # (batch, heads, L, d)
        ((2, 1, 5, 4), (3, 6, 4), 5),  # batch axes that broadcast
    ],
)
def test_additive_matches_torch(rng, q_shape, k_shape, d_att):
    q, k = rng.normal(size=q_shape), rng.normal(size=k_shape)
    w_q = rng.normal(size=(q_shape[-1], d_att))
    w_k = rng.normal(size=(k_shape[-1], d_att))
    v = rng.normal(size=d_att)
    got = additive_scores(q, k, w_q, w_k, v)
    expected = torch_additive(q, k, w_q, w_k, v)
    assert got.shape == expected.shape == (*np.broadcast_shapes(q_shape[:-2], k_shape[:-2]),
                                           q_shape[-2], k_shape[-2])
    np.testing.assert_allclose(got, expected, **TIGHT)


@pytest.mark.parametrize(
    "q_shape,k_shape",
    [((1, 3), (4, 3)), ((5, 8), (7, 8)), ((2, 3, 5, 4), (2, 3, 6, 4)), ((2, 1, 5, 4), (3, 6, 4))],
)
def test_dot_and_scaled_match_torch(rng, q_shape, k_shape):
    q, k = rng.normal(size=q_shape), rng.normal(size=k_shape)
    tq, tk = torch.from_numpy(q), torch.from_numpy(k)
    raw = (tq @ tk.transpose(-2, -1)).numpy()  # (..., Lq, Lk)
    np.testing.assert_allclose(dot_scores(q, k), raw, **TIGHT)
    scaled = (tq @ tk.transpose(-2, -1) / math.sqrt(q_shape[-1])).numpy()
    np.testing.assert_allclose(scaled_dot_scores(q, k), scaled, **TIGHT)


def test_scaled_scores_are_what_sdpa_softmaxes(rng):
    q, k, v = rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 6, 4)), rng.normal(size=(2, 6, 3))
    out, w = scaled_dot_product_attention(q, k, v, tiled=False)
    np.testing.assert_allclose(softmax(scaled_dot_scores(q, k)), w, rtol=1e-15, atol=1e-15)
    expected = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v))).numpy()
    np.testing.assert_allclose(softmax(scaled_dot_scores(q, k)) @ v, expected, **TIGHT)
    np.testing.assert_allclose(out, expected, **TIGHT)


def test_hate_example():
    q = np.array([[0.0, 0.0, 2.0]])  # the chapter's query of "hate"
    K = np.array([[2.0, 0, 0], [0, 2, 1], [0, 0, 0], [0, 0, 2]])  # kono, eiga, ga, kirai
    np.testing.assert_array_equal(dot_scores(q, K), [[0.0, 2.0, 0.0, 4.0]])
    np.testing.assert_allclose(scaled_dot_scores(q, K), [[0.0, 2.0, 0.0, 4.0]] / np.sqrt(3), **TIGHT)
    s = additive_scores(q, K, -0.5 * np.eye(3), np.eye(3), np.array([0.0, 0, 4]))
    np.testing.assert_allclose(s, 4 * np.tanh([[-1.0, 0.0, -1.0, 1.0]]), **TIGHT)


def test_additive_scores_are_bounded_by_v(rng):
    q, k = 50 * rng.normal(size=(6, 3)), 50 * rng.normal(size=(5, 3))  # tanh saturates
    v = rng.normal(size=4)
    s = additive_scores(q, k, rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), v)
    assert np.all(np.abs(s) <= np.abs(v).sum() + 1e-12)


def test_additive_is_a_sum_of_query_and_key_terms_where_tanh_is_linear(rng):
    # For small pre-activations tanh(x) = x - x^3/3 + ...: the score becomes v.(q W_q) + v.(k W_k), a sum of a
    # query term and a key term, with no product of the two: the nonlinearity is what lets it compare them.
    q, k = 1e-4 * rng.normal(size=(3, 2)), 1e-4 * rng.normal(size=(4, 2))
    w_q, w_k, v = rng.normal(size=(2, 5)), rng.normal(size=(2, 5)), rng.normal(size=5)
    s = additive_scores(q, k, w_q, w_k, v)
    linear = (q @ w_q @ v)[:, None] + (k @ w_k @ v)[None, :]  # (3, 1) + (1, 4)
    np.testing.assert_allclose(s, linear, rtol=0, atol=1e-10)  # the x^3 / 3 terms: ~1e-12


@pytest.mark.parametrize("fn", [dot_scores, scaled_dot_scores])
def test_dtypes(fn):
    q32, k32 = np.ones((2, 3), dtype=np.float32), np.ones((4, 3), dtype=np.float32)
    assert fn(q32, k32).dtype == np.float32
    assert fn(np.ones((2, 3), dtype=int), np.ones((4, 3), dtype=int)).dtype == np.float64
    assert fn(q32, k32.astype(np.float64)).dtype == np.float64


def test_additive_dtypes():
    args32 = [np.ones(s, dtype=np.float32) for s in ((2, 3), (4, 3), (3, 5), (3, 5), (5,))]
    assert additive_scores(*args32).dtype == np.float32
    args = [np.ones(s, dtype=int) for s in ((2, 3), (4, 3), (3, 5), (3, 5), (5,))]
    assert additive_scores(*args).dtype == np.float64


def test_inputs_are_not_modified(rng):
    q, k = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    q0, k0 = q.copy(), k.copy()
    scaled_dot_scores(q, k)
    additive_scores(q, k, np.eye(3), np.eye(3), np.ones(3))
    np.testing.assert_array_equal(q, q0)
    np.testing.assert_array_equal(k, k0)


Q, K = np.ones((2, 3)), np.ones((4, 3))
W, VEC = np.ones((3, 5)), np.ones(5)


@pytest.mark.parametrize(
    "args,exc,match",
    [
        ((np.ones(3), K, W, W, VEC), ValueError, r"q must have at least 2 axes, got shape \(3,\)"),
        ((Q, np.ones((0, 3)), W, W, VEC), ValueError, r"k has shape \(0, 3\); its last two axes must not be empty"),
        ((Q, K, np.ones((4, 5)), W, VEC), ValueError, r"w_q has shape \(4, 5\) but needs shape \(3, d_att\)"),
        ((Q, K, np.ones(3), W, VEC), ValueError, r"w_q has shape \(3,\) but needs shape \(3, d_att\)"),
        ((Q, K, np.ones((3, 0)), np.ones((3, 0)), np.ones(0)), ValueError, "needs d_att >= 1 units"),
        ((Q, K, W, np.ones((3, 4)), VEC), ValueError, r"w_k has shape \(3, 4\) but needs shape \(3, 5\)"),
        ((Q, K, W, W, np.ones(4)), ValueError, r"v has shape \(4,\) but needs shape \(5,\)"),
        ((Q, K, W, W, np.ones((5, 1))), ValueError, r"v has shape \(5, 1\) but needs shape \(5,\)"),
        ((np.ones((2, 2, 3)), np.ones((3, 4, 3)), W, W, VEC), ValueError, "do not broadcast together"),
        ((Q, K, W, W, np.array([1.0, 2, np.nan, 0, 0])), ValueError, "v contains NaN or infinity"),
        ((Q, np.full((4, 3), np.inf), W, W, VEC), ValueError, "k contains NaN or infinity"),
        ((Q, K, np.full((3, 5), 1e308), W, VEC), ValueError, "the hidden layer q W_q \\+ k W_k could reach"),
        ((Q, K, W, W, np.full(5, 1e308)), ValueError, "the scores could reach"),
        ((Q.astype(str), K, W, W, VEC), TypeError, "q must be a real numeric array"),
        ((Q, K, W.astype(bool), W, VEC), TypeError, "w_q must be a real numeric array .* got dtype bool"),
        ((Q, K, W, W, [1, [2]]), TypeError, "v could not be converted to an array"),
    ],
)
def test_additive_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        additive_scores(*args)


@pytest.mark.parametrize("fn", [dot_scores, scaled_dot_scores])
@pytest.mark.parametrize(
    "q,k,exc,match",
    [
        (Q, np.ones((4, 2)), ValueError, r"k has shape \(4, 2\) but q has shape \(2, 3\).*d_k = 3"),
        (np.ones(3), K, ValueError, r"q must have at least 2 axes, got shape \(3,\)"),
        (np.ones((2, 0)), np.ones((4, 0)), ValueError, "its last two axes must not be empty"),
        (np.ones((2, 2, 3)), np.ones((3, 4, 3)), ValueError, r"leading \(batch\) axes of q .* do not broadcast"),
        (np.full((2, 3), np.nan), K, ValueError, "q contains NaN or infinity"),
        (np.full((2, 3), 1e200), np.full((4, 3), 1e200), ValueError, "the scores could reach"),
        (Q, K.astype(complex), TypeError, "k must be a real numeric array"),
        (Q.astype(bool), K, TypeError, "got dtype bool"),
    ],
)
def test_dot_bad_input(fn, q, k, exc, match):
    with pytest.raises(exc, match=match):
        fn(q, k)


def test_float32_overflow_is_refused():
    # finite in float32, but their dot product (3 * 1e20 * 1e20) is not
    q, k = np.full((1, 3), 1e20, dtype=np.float32), np.full((2, 3), 1e20, dtype=np.float32)
    with pytest.raises(ValueError, match="beyond the largest float32"):
        dot_scores(q, k)
    assert np.isfinite(dot_scores(q.astype(np.float64), k)).all()
