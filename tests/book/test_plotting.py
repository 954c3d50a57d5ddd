"""Tests of the figure helpers that are not a matter of taste: what a mask picture encodes, bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from attention_ref import causal_mask, padding_mask
from attention_ref.book.plotting import mask_pattern


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    "mask",
    [
        causal_mask(4),
        causal_mask(3, 5),
        np.broadcast_to(padding_mask([2], 5)[0, 0], (3, 5)),
        np.array([[1, 0], [0, 1]]),
    ],
)
def test_mask_pattern_draws_every_cell_as_given(mask):
    ax = mask_pattern(mask, title="t")
    (image,) = ax.get_images()
    drawn = np.asarray(image.get_array())  # (rows, cols) of 0/1
    np.testing.assert_array_equal(drawn, np.asarray(mask).astype(int))
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["1" if v else "0" for v in np.asarray(mask, dtype=bool).ravel()]
    assert ax.get_title() == "t"


def test_mask_pattern_labels_and_no_annotation():
    words = ["나는", "사과를", "먹었다"]
    ax = mask_pattern(causal_mask(3), words, words, annotate=False, xlabel="키", ylabel="쿼리")
    assert [t.get_text() for t in ax.get_xticklabels()] == words
    assert [t.get_text() for t in ax.get_yticklabels()] == words
    assert len(ax.texts) == 0
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("키", "쿼리")


def test_mask_pattern_rejects_non_2d():
    with pytest.raises(ValueError, match=r"mask must be 2-D \(rows, cols\), got shape \(1, 1, 3\)"):
        mask_pattern(np.ones((1, 1, 3), dtype=bool))


@pytest.mark.parametrize(
    ("mask", "dtype"),
    [(np.array([[0.0, 1.0]]), "float64"), (np.array([[0, 2]]), "int64"), (np.array([["a", "b"]]), "<U1")],
)
def test_mask_pattern_rejects_non_boolean(mask, dtype):
    with pytest.raises(TypeError, match=f"mask must hold booleans or 0/1 integers, got dtype {dtype}"):
        mask_pattern(mask)
