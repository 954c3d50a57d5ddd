"""The source notebook's four toy computations, vectorised.

The exercise notebook that this book grew from computes raw dot products between one-hot word vectors
with Python loops. These functions reproduce its four printed matrices exactly, with one matrix product
each, so that a page can print the same numbers and a test can pin them. They are deliberately *not*
attention: no projections, no scaling, no softmax, no weighted sum of values (the book explains each
omission).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validation import as_array, check_finite, check_positive_int, check_words

__all__ = [
    "ANSWER",
    "QUESTION",
    "SENTENCE",
    "one_hot_vectors",
    "toy_cross_attention",
    "toy_masked_attention",
    "toy_multi_head_attention",
    "toy_self_attention",
]

SENTENCE = ("나는", "사과를", "먹었다")
"""Part 1-3's sentence, "I ate an apple"."""
QUESTION = ("너는", "사과를")
"""Part 4's question words ("you", "apple (object)")."""
ANSWER = ("나는", "먹었다")
"""Part 4's answer words ("I", "ate")."""


def one_hot_vectors(words) -> dict[str, np.ndarray]:
    """Give word number ``i`` the ``i``-th unit vector, as the notebook does.

    Parameters
    ----------
    words : sequence of str
        Distinct words.

    Returns
    -------
    dict of str to (len(words),) ndarray of int

    Examples
    --------
    >>> from attention_ref.book.toy import one_hot_vectors, SENTENCE
    >>> one_hot_vectors(SENTENCE)['사과를']
    array([0, 1, 0])
    """
    words = check_words(words, "words")
    if len(set(words)) != len(words):
        msg = f"words must be distinct, got {words}"
        raise ValueError(msg)
    eye = np.eye(len(words), dtype=int)
    return {w: eye[i] for i, w in enumerate(words)}


def _check_vectors(words, vectors, name) -> np.ndarray:
    """The vectors of ``words`` stacked ``(n, d)``: 1-D, finite, of one length, one for every word."""
    if not isinstance(vectors, Mapping):
        msg = f"{name} must be a dict from word to vector, got {type(vectors).__name__}"
        raise TypeError(msg)
    missing = [w for w in words if w not in vectors]
    if missing:
        msg = f"{name} has no vector for {missing}"
        raise ValueError(msg)
    rows = [as_array(vectors[w], f"{name}[{w!r}]") for w in words]
    for w, row in zip(words, rows, strict=True):
        if row.ndim != 1 or row.shape != rows[0].shape or row.size == 0:
            msg = (
                f"{name}[{w!r}] has shape {row.shape}, but every vector must be 1-D, non-empty and as long "
                f"as {name}[{words[0]!r}] {rows[0].shape}"
            )
            raise ValueError(msg)
        check_finite(row, f"{name}[{w!r}]")
    return np.stack(rows)  # (n, d)


def toy_self_attention(words=SENTENCE, vectors=None) -> np.ndarray:
    """Part 1: every word's vector dotted with every word's vector of the same sentence.

    Returns
    -------
    (n, n) ndarray of float64
        ``[i, j]`` = ``vectors[words[i]] . vectors[words[j]]``.

    Examples
    --------
    >>> from attention_ref.book.toy import toy_self_attention
    >>> print(toy_self_attention())
    [[1. 0. 0.]
     [0. 1. 0.]
     [0. 0. 1.]]
    """
    words = check_words(words, "words")
    vectors = one_hot_vectors(words) if vectors is None else vectors
    e = _check_vectors(words, vectors, "vectors")  # (n, d)
    return e @ e.T  # (n, n)


def toy_multi_head_attention(words=SENTENCE, vectors=None, heads: int = 3) -> np.ndarray:
    """Part 2: the same dot products computed ``heads`` times, one copy per head on the last axis.

    Returns
    -------
    (n, n, heads) ndarray of float64
        Every head holds the same matrix: the toy's heads have no projections of their own.

    Examples
    --------
    >>> from attention_ref.book.toy import toy_multi_head_attention
    >>> print(toy_multi_head_attention())
    [[[1. 1. 1.]
      [0. 0. 0.]
      [0. 0. 0.]]
    <BLANKLINE>
     [[0. 0. 0.]
      [1. 1. 1.]
      [0. 0. 0.]]
    <BLANKLINE>
     [[0. 0. 0.]
      [0. 0. 0.]
      [1. 1. 1.]]]
    """
    heads = check_positive_int(heads, "heads")
    scores = toy_self_attention(words, vectors)  # (n, n)
    return np.repeat(scores[:, :, None], heads, axis=2)  # (n, n, heads)


def toy_masked_attention(words=SENTENCE, vectors=None, mask=(1, 1, 0)) -> np.ndarray:
    """Part 3: the dot products multiplied by a 0/1 mask over the *keys* (columns).

    Parameters
    ----------
    mask : (n,) array_like of 0/1
        The notebook's ``[1, 1, 0]``: every query may look at words 1 and 2, none at word 3.
        This is a column mask, not a decoder's causal mask (see the book).

    Returns
    -------
    (n, n) ndarray of float64

    Examples
    --------
    >>> from attention_ref.book.toy import toy_masked_attention
    >>> print(toy_masked_attention())
    [[1. 0. 0.]
     [0. 1. 0.]
     [0. 0. 0.]]
    """
    words = check_words(words, "words")
    mask = as_array(mask, "mask", min_ndim=1)
    if mask.shape != (len(words),):
        msg = f"mask has shape {mask.shape} but needs one entry per word: ({len(words)},)"
        raise ValueError(msg)
    check_finite(mask, "mask")
    scores = toy_self_attention(words, vectors)  # (n, n)
    return scores * mask[None, :]  # zero whole columns


def toy_cross_attention(
    query_words=QUESTION, query_vectors=None, key_words=ANSWER, key_vectors=None
) -> np.ndarray:
    """Part 4: each question word's vector dotted with each answer word's vector.

    Returns
    -------
    (n_query, n_key) ndarray of float64

    Examples
    --------
    >>> from attention_ref.book.toy import toy_cross_attention
    >>> print(toy_cross_attention())
    [[1. 0.]
     [0. 1.]]
    """
    query_words = check_words(query_words, "query_words")
    key_words = check_words(key_words, "key_words")
    query_vectors = one_hot_vectors(query_words) if query_vectors is None else query_vectors
    key_vectors = one_hot_vectors(key_words) if key_vectors is None else key_vectors
    q = _check_vectors(query_words, query_vectors, "query_vectors")  # (n_q, d)
    k = _check_vectors(key_words, key_vectors, "key_vectors")  # (n_k, d)
    if q.shape[1] != k.shape[1]:
        msg = f"query vectors have length {q.shape[1]} but key vectors have length {k.shape[1]}"
        raise ValueError(msg)
    return q @ k.T  # (n_q, n_k)
