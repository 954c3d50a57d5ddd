"""The generated Japanese-English corpus: deterministic, held-out pairs of known words, vocabularies, encoding."""

from __future__ import annotations

import numpy as np
import pytest

from attention_ref.book.corpus import NOTE_PAIRS, SPECIALS, Vocab, encode_batch, generate_pairs, split_corpus
from attention_ref.training import BOS, EOS, PAD


def test_corpus_is_deterministic_and_holds_out_the_note_pairs():
    pairs = generate_pairs()
    assert pairs == generate_pairs()
    assert len(pairs) == 240 and len(set(pairs)) == len(pairs)
    train_p, test_p = split_corpus(pairs)
    assert (train_p, test_p) == split_corpus(generate_pairs())
    assert test_p[: len(NOTE_PAIRS)] == list(NOTE_PAIRS)
    assert not set(train_p) & set(test_p) and len(train_p) + len(test_p) == len(pairs)
    # every held-out word is known from training: only the combination is new
    for side in (0, 1):
        known = {w for p in train_p for w in p[side].split()}
        assert all(set(p[side].split()) <= known for p in test_p)


def test_split_depends_on_the_seed_and_the_fraction():
    pairs = generate_pairs()
    _, a = split_corpus(pairs, seed=0)
    _, b = split_corpus(pairs, seed=1)
    _, small = split_corpus(pairs, test_fraction=0.05)
    assert a[:2] == b[:2] == small[:2] == list(NOTE_PAIRS)
    assert a != b
    assert len(small) == round(0.05 * len(pairs))
    assert split_corpus([list(p) for p in pairs]) == split_corpus(pairs)  # pairs as lists are fine


def test_corpus_needs_reordering():
    """The Japanese verb comes last, the English verb second: word order differs."""
    for ja, en in generate_pairs():
        ja_words, en_words = ja.split(), en.split()
        if ja_words[-1] in ("kirai", "suki"):
            assert en_words[1].startswith(("hate", "like"))
    assert ("kore wa ringo desu", "this is an apple") in generate_pairs()
    assert ("sono inu ga suki", "I like that dog") in generate_pairs()


def test_vocab_and_encoding_round_trip():
    pairs = generate_pairs()
    tv = Vocab(p[1] for p in pairs)
    assert tv.tokens[:3] == list(SPECIALS) and [tv.index[s] for s in SPECIALS] == [PAD, BOS, EOS]
    assert tv.tokens[3:] == sorted(tv.tokens[3:])
    batch = encode_batch([p[1] for p in pairs[:5]], tv, bos=True, eos=True)
    assert batch.shape == (5, 6) and batch.dtype == np.int64 and (batch[:, 0] == BOS).all()
    assert [tv.decode(row) for row in batch] == [p[1] for p in pairs[:5]]
    assert repr(tv) == f"Vocab({len(tv)} tokens)"


def test_decode_stops_at_eos_and_skips_padding():
    v = Vocab(["kore wa rei desu"])
    assert v.decode([BOS, 4, PAD, 6, EOS, 5]) == "kore wa"
    assert v.decode(np.array([], dtype=np.int64)) == v.decode([]) == ""


def test_encode_batch_pads_on_the_right():
    v = Vocab(["kore wa rei desu"])
    out = encode_batch(["kore", "kore wa rei"], v, eos=True, length=5)
    np.testing.assert_array_equal(out, [[4, EOS, PAD, PAD, PAD], [4, 6, 5, EOS, PAD]])


V = Vocab(["kore wa rei desu"])


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: split_corpus(generate_pairs(), test_fraction=1.0), ValueError, "test_fraction must be between 0 and 1"),
        (lambda: split_corpus(generate_pairs(), test_fraction="0.1"), TypeError, "test_fraction must be a real number"),
        (lambda: split_corpus(generate_pairs()[2:]), ValueError, "must contain the note pair"),
        (lambda: split_corpus(generate_pairs(), seed=-1), ValueError, "seed must be a non-negative integer, got -1"),
        (lambda: split_corpus(generate_pairs(), seed="0"), TypeError, "seed must be a non-negative integer"),
        (lambda: split_corpus("pairs"), TypeError, r"pairs must be a list of \(japanese, english\) pairs"),
        (lambda: split_corpus([("a", "b", "c")]), ValueError, "got one of length 3"),
        (lambda: split_corpus([(1, 2)]), TypeError, "pairs must hold pairs of strings"),
        (lambda: V.encode("kore wa hon desu"), ValueError, r"not in the vocabulary: \['hon'\]"),
        (lambda: V.encode(["kore"]), TypeError, "sentence must be a string, got list"),
        (lambda: V.decode([99]), ValueError, r"ids must lie in \[0, 7\), got values from 99 to 99"),
        (lambda: V.decode([[4, 6]]), ValueError, r"ids must be a 1-D sequence of token ids, got shape \(1, 2\)"),
        (lambda: V.decode([1.0]), TypeError, "ids must be a 1-D sequence of integer token ids, got dtype float64"),
        (lambda: Vocab("kore wa"), TypeError, "sentences must be a collection of sentences"),
        (lambda: Vocab([1, 2]), TypeError, "sentences must hold strings, got int 1"),
        (lambda: encode_batch(["kore wa rei"], V, length=2), ValueError, "length = 2 is shorter than the longest"),
        (lambda: encode_batch([], V), ValueError, "sentences must hold at least one sentence"),
        (lambda: encode_batch([""], V), ValueError, "sentences are all empty"),
        (lambda: encode_batch(["kore"], "V"), TypeError, "vocab must be a Vocab, got str"),
        (lambda: encode_batch(["kore"], V, bos=1), TypeError, "bos must be True or False, got 1"),
        (lambda: encode_batch(["kore"], V, length=0), ValueError, "length must be a positive integer, got 0"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
