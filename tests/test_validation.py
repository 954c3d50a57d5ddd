"""The error convention: every public name refuses bad input with a TypeError or ValueError naming it.

The helpers of ``attention_ref._validation`` are tested first. Then a table calls every public function,
class and method (of ``attention_ref``, ``attention_ref.training``, ``attention_ref.training.backward``,
``attention_ref.book.toy`` and ``attention_ref.book.corpus``) once with good arguments and then with one
argument replaced by a bad value: a wrong type, a wrong dtype, a wrong shape, NaN or infinity, a value out
of range. The convention (``attention_ref._validation``):

- a wrong kind of argument (type or dtype) raises exactly ``TypeError``;
- a wrong value or shape raises exactly ``ValueError`` -- not a subclass such as NumPy's ``AxisError``,
  and never ``AttributeError``, ``IndexError``, ``KeyError`` or a NumPy message from deep inside;
- the message names the argument.

``test_every_public_callable_is_in_the_table`` keeps the table complete as the package grows.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

import numpy as np
import pytest

import attention_ref as ar
import attention_ref.book.corpus as corpus
import attention_ref.book.toy as toy
import attention_ref.training as training
import attention_ref.training.backward as backward
from attention_ref import _validation as v

NAN, INF = float("nan"), float("inf")


# --- the helpers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "given,dtype",
    [([1, 2], np.float64), (np.ones(2, np.int32), np.float64), (np.ones(2, np.float16), np.float32),
     (np.ones(2, np.float32), np.float32), (np.ones(2, np.longdouble), np.float64), (3.0, np.float64)],
)
def test_as_array_computes_in_float32_or_float64(given, dtype):
    assert v.as_array(given, "x").dtype == dtype


@pytest.mark.parametrize(
    "given,min_ndim,exc,match",
    [
        ([[1.0], [1.0, 2.0]], 0, TypeError, "x could not be converted to an array"),
        (np.ones(2, bool), 0, TypeError, "x must be a real numeric array .* got dtype bool"),
        (np.ones(2, complex), 0, TypeError, "got dtype complex128"),
        ("abc", 0, TypeError, "got dtype <U3"),
        (np.ones(3), 2, ValueError, r"x must have at least 2 axes, got shape \(3,\)"),
        (1.0, 1, ValueError, r"x must have at least 1 axis, got shape \(\)"),
    ],
)
def test_as_array_refuses(given, min_ndim, exc, match):
    with pytest.raises(exc, match=match):
        v.as_array(given, "x", min_ndim=min_ndim)


@pytest.mark.parametrize("value,expected", [(True, True), (np.bool_(False), False)])
def test_check_flag_accepts_python_and_numpy_booleans(value, expected):
    assert v.check_flag(value, "flag") is expected


@pytest.mark.parametrize("value", [1, 0, None, "yes", np.array(True), [True]])
def test_check_flag_refuses_everything_else(value):
    with pytest.raises(TypeError, match="flag must be True or False"):
        v.check_flag(value, "flag")


@pytest.mark.parametrize(
    "value,exc", [(0, ValueError), (-1e-5, ValueError), (NAN, ValueError), (INF, ValueError), ("1e-5", TypeError),
                  (True, TypeError), (None, TypeError)],
)
def test_check_eps(value, exc):
    assert v.check_eps(np.float32(1e-5)) == pytest.approx(1e-5)
    with pytest.raises(exc, match="eps must be"):
        v.check_eps(value)


def test_check_seq_keeps_float32_and_refuses_bad_sequences():
    assert v.check_seq(np.ones((3, 4), np.float32), "x", 4).dtype == np.float32
    assert v.check_seq(np.ones((2, 3, 4), int), "x", 4).dtype == np.float64
    for bad in (np.ones((3, 5)), np.ones((1, 2, 3, 4)), np.ones((0, 4)), np.ones((2, 0, 4))):
        with pytest.raises(ValueError, match=r"x has shape .* but needs shape \(L, d_model\) or \(batch, L, d_model\)"):
            v.check_seq(bad, "x", 4)
    with pytest.raises(ValueError, match="x contains NaN"):
        v.check_seq(np.full((3, 4), np.nan), "x", 4)


def test_check_tape_accepts_none_and_dicts():
    v.check_tape(None)
    v.check_tape({})
    with pytest.raises(TypeError, match=r"tape must be a dict \(or None\), got list"):
        v.check_tape([])


def test_check_backward_converts_dy():
    assert v.check_backward([[1, 2, 3], [4, 5, 6]], {"x": np.ones((2, 3))}, "x").dtype == np.float64


@pytest.mark.parametrize(
    "dy,tape,exc,match",
    [
        (np.ones(3), {"x": np.ones((2, 3))}, ValueError, r"dy has shape \(3,\) but needs the shape of the forward's output, \(2, 3\)"),
        (np.ones((2, 3)), {}, ValueError, "tape holds no forward pass"),
        (np.ones((2, 3)), None, TypeError, "tape must be the dict a forward call filled, got NoneType"),
        (np.full((2, 3), np.nan), {"x": np.ones((2, 3))}, ValueError, "dy contains NaN"),
        ("dy", {"x": np.ones((2, 3))}, TypeError, "dy must be a real numeric array"),
    ],
)
def test_check_backward_refuses(dy, tape, exc, match):
    with pytest.raises(exc, match=match):
        v.check_backward(dy, tape, "x")


def test_finite_abs_max_and_check_finite():
    assert v.finite_abs_max(np.array([-3.0, 2.0]), "x") == 3.0
    assert v.finite_abs_max(np.zeros((0, 2)), "x") == 0.0
    with pytest.raises(ValueError, match="x contains NaN or infinity"):
        v.finite_abs_max(np.array([1.0, -np.inf]), "x")
    v.check_finite(np.array([0.0, -np.inf]), "x", allow_neg_inf=True)
    with pytest.raises(ValueError, match=r"x contains NaN or \+inf"):
        v.check_finite(np.array([0.0, np.inf]), "x", allow_neg_inf=True)


def test_compute_dtype():
    f32, f64 = np.ones(1, np.float32), np.ones(1)
    assert v.compute_dtype(f32, f32) == np.float32
    assert v.compute_dtype(f32, f64) == np.float64


# --- the table of bad input ------------------------------------------------------------------------------
class Lazy:
    """A bad value built when the case runs (fresh objects, or built from the good arguments)."""

    def __init__(self, make):
        self.make = make


@dataclass(frozen=True)
class Fault:
    label: str
    value: object
    error: type[Exception]
    names: tuple[str, ...] = ()  # what the message may name instead of the argument


@dataclass
class Spec:
    """A public callable: ``make()`` gives ``(callable, good keyword arguments)``, built fresh each time."""

    name: str
    make: object
    faults: dict[str, list[Fault]] = field(default_factory=dict)


def F(label, value, error, *names):
    return Fault(label, value, error, names)


def with_bad(shape, bad):
    arr = np.ones(shape)
    arr.flat[-1] = bad
    return arr


def array_faults(shape, *, shapes=(), optional=False, finite=True):
    """A real numeric array of ``shape``: every kind of wrong type and dtype, the wrong ``shapes``, NaN and inf."""
    out = [
        F("text", "abc", TypeError),
        F("object", object(), TypeError),
        F("ragged list", [[1.0], [1.0, 2.0]], TypeError),
        F("complex dtype", np.ones(shape, complex), TypeError),
        F("bool dtype", np.ones(shape, bool), TypeError),
        F("str dtype", np.full(shape, "a"), TypeError),
    ]
    if not optional:
        out.append(F("None", None, TypeError))
    out += [F(f"shape {s}", np.ones(s), ValueError) for s in shapes]
    if finite:
        out += [F("NaN", with_bad(shape, NAN), ValueError), F("inf", with_bad(shape, INF), ValueError)]
    return out


def int_faults(*, optional=False):
    out = [F("float", 2.5, TypeError), F("text", "3", TypeError), F("bool", True, TypeError),
           F("zero", 0, ValueError), F("negative", -2, ValueError)]
    return out if optional else [*out, F("None", None, TypeError)]


FLAG = [F("int", 1, TypeError), F("text", "yes", TypeError), F("None", None, TypeError)]
EPS = [F("text", "1e-5", TypeError), F("None", None, TypeError), F("zero", 0.0, ValueError),
       F("negative", -1e-5, ValueError), F("NaN", NAN, ValueError), F("inf", INF, ValueError)]
SEED = [F("text", "x", TypeError), F("float", 1.5, TypeError), F("negative", -1, ValueError)]
FORWARD_TAPE = [F("list", [], TypeError), F("text", "tape", TypeError)]
BACKWARD_TAPE = [F("list", [], TypeError), F("None", None, TypeError), F("empty dict", {}, ValueError)]
SCALE = [F("text", "big", TypeError), F("bool", True, TypeError), F("zero", 0.0, ValueError),
         F("NaN", NAN, ValueError), F("inf", INF, ValueError)]
LR = [F("text", "0.1", TypeError), F("None", None, TypeError), F("zero", 0.0, ValueError),
      F("negative", -0.1, ValueError), F("NaN", NAN, ValueError), F("inf", INF, ValueError)]
BETA = [F("text", "0.9", TypeError), F("one", 1.0, ValueError), F("negative", -0.1, ValueError),
        F("NaN", NAN, ValueError)]


def dy_faults(bad_shape):
    return [F("text", "abc", TypeError), F("complex dtype", np.ones(bad_shape, complex), TypeError),
            F("wrong shape", np.ones(bad_shape), ValueError), F("NaN", Lazy(kw_nan), ValueError)]


def kw_nan(kw):
    """The first array of the good arguments ``kw`` (``dy``) with its last entry NaN."""
    arr = np.array(next(a for a in kw.values() if isinstance(a, np.ndarray)), dtype=float)
    arr.flat[-1] = NAN
    return arr


def mask_faults(shape, bad_shape):
    return [F("float dtype", np.ones(shape), TypeError), F("int dtype", np.ones(shape, int), TypeError),
            F("text", "abc", TypeError), F("shape", np.ones(bad_shape, bool), ValueError)]


def ids_faults(shape, vocab):
    B, L = shape
    return [
        F("float dtype", np.full(shape, 3.0), TypeError), F("bool dtype", np.ones(shape, bool), TypeError),
        F("text", "abc", TypeError), F("None", None, TypeError), F("1-D", np.full(L, 3), ValueError),
        F("3-D", np.full((B, L, 1), 3), ValueError), F("empty", np.zeros((B, 0), int), ValueError),
        F("too large", np.full(shape, vocab), ValueError), F("negative", np.full(shape, -1), ValueError),
    ]


def state_dict_faults(sd_of):
    """Bad ``params`` for a module whose good state dict ``sd_of(kwargs)`` gives."""

    def edited(edit):
        def make(kw):
            sd = {k: np.array(val) for k, val in sd_of(kw).items()}
            edit(sd)
            return sd
        return Lazy(make)

    def first(sd):
        return next(iter(sd))

    return [
        F("list", [], TypeError), F("text", "params", TypeError), F("empty", {}, ValueError),
        F("extra key", edited(lambda sd: sd.update(extra=np.ones(1))), ValueError),
        F("misshapen", edited(lambda sd: sd.update({first(sd): np.ones((1, 1, 1))})), ValueError),
        F("NaN", edited(lambda sd: sd[first(sd)].flat.__setitem__(0, NAN)), ValueError),
        F("text values", edited(lambda sd: sd.update({first(sd): np.full(sd[first(sd)].shape, "a")})), TypeError),
    ]


def taped(module, *inputs, **kwargs):
    """``module`` called on ``inputs`` with a new tape: ``(module, tape, output)``."""
    tape = {}
    out = module(*inputs, tape=tape, **kwargs)
    return module, tape, out[0] if isinstance(out, tuple) else out  # MultiHeadAttention: (output, weights)


# inputs shared by the cases (d_model 8, 2 heads)
X, CTX = np.ones((2, 3, 8)), np.ones((2, 4, 8))
Q, K, VV = np.ones((2, 3, 4)), np.ones((2, 5, 4)), np.ones((2, 5, 6))
SRC_IDS = np.array([[3, 4, 5], [5, 3, 0]])
TGT_IN, TGT_OUT = np.array([[1, 4, 3], [1, 6, 0]]), np.array([[4, 3, 2], [6, 2, 0]])
CFG = training.Seq2SeqConfig(src_vocab=6, tgt_vocab=7, d_model=8, n_heads=2, dim_feedforward=16)


TOY_WORDS = [F("int", 5, TypeError), F("text", "ab", TypeError), F("ints", [1, 2], TypeError),
             F("None", None, TypeError), F("empty", [], ValueError)]
TOY_VECTORS = [F("list", [[1.0, 0.0, 0.0]], TypeError), F("text", "v", TypeError),
               F("missing words", {"x": np.ones(3)}, ValueError)]


def mha():
    return ar.MultiHeadAttention(8, 2, seed=0)


def seq2seq():
    return training.Seq2Seq(CFG, seed=0)


def encoder_layer():
    return ar.EncoderLayer(8, 2, 16, seed=0)


def decoder_layer():
    return ar.DecoderLayer(8, 2, 16, seed=0)


def transformer():
    return ar.Transformer(8, 2, 1, 1, 16, seed=0)


def decoder_only():
    return ar.DecoderOnlyTransformer(2, 8, 2, 16, seed=0)


def qkv_faults():
    return {
        "q": array_faults(Q.shape, shapes=[(4,), (2, 0, 4)]),
        "k": array_faults(K.shape, shapes=[(2, 5, 3), (3, 5, 4)]),
        "v": array_faults(VV.shape, shapes=[(2, 4, 6)]),
    }


def layer_options():
    return {
        "d_model": int_faults(), "n_heads": int_faults(), "d_ff": int_faults(optional=True), "eps": EPS,
        "norm_first": FLAG, "seed": SEED,
    }


def loader_faults():
    """The arguments of a layer's or stack's ``from_state_dict``."""
    return {"params": state_dict_faults(lambda kw: kw["params"]), "n_heads": int_faults(), "eps": EPS,
            "norm_first": FLAG}


def backward_spec(name, make_taped, out_shape, dy="dy"):
    """The ``backward`` of a module: ``make_taped()`` gives ``(module, tape, output)``."""

    def make():
        module, tape, out = make_taped()
        return module.backward, {dy: np.ones(out.shape), "tape": tape}

    bad = (*out_shape[:-1], out_shape[-1] + 1)
    return Spec(name, make, {dy: dy_faults(bad), "tape": BACKWARD_TAPE})


def attention_args():
    return {"mask": mask_faults((3, 5), (4, 5)), "causal": FLAG, "scale": SCALE}


SPECS = [
    # --- attention_ref --------------------------------------------------------------------------------
    Spec("softmax", lambda: (ar.softmax, {"x": np.ones((2, 3)), "axis": -1}), {
        "x": array_faults((2, 3), shapes=[()]),
        "axis": [F("float", 0.5, TypeError), F("text", "0", TypeError), F("None", None, TypeError),
                 F("bool", True, TypeError), F("out of range", 2, ValueError)],
    }),
    Spec("causal_mask", lambda: (ar.causal_mask, {"Lq": 3, "Lk": 4}),
         {"Lq": int_faults(), "Lk": int_faults(optional=True)}),
    Spec("padding_mask", lambda: (ar.padding_mask, {"lengths": [1, 2], "L": 3}), {
        "lengths": [F("float", [1.5], TypeError), F("text", "12", TypeError), F("None", None, TypeError),
                    F("object", object(), TypeError), F("too long", [4], ValueError),
                    F("negative", [-1], ValueError)],
        "L": int_faults(),
    }),
    Spec("scaled_dot_product_attention",
         lambda: (ar.scaled_dot_product_attention, {"q": Q, "k": K, "v": VV}),
         {**qkv_faults(), **attention_args(), "need_weights": FLAG, "tiled": FLAG}),
    Spec("dot_scores", lambda: (ar.dot_scores, {"q": Q, "k": K}), {
        "q": array_faults(Q.shape, shapes=[(4,), (2, 0, 4)]),
        "k": array_faults(K.shape, shapes=[(2, 5, 3), (3, 5, 4)]),
    }),
    Spec("scaled_dot_scores", lambda: (ar.scaled_dot_scores, {"q": Q, "k": K}), {
        "q": array_faults(Q.shape, shapes=[(4,), (2, 0, 4)]),
        "k": array_faults(K.shape, shapes=[(2, 5, 3), (3, 5, 4)]),
    }),
    Spec("additive_scores", lambda: (ar.additive_scores, {"q": Q, "k": VV, "w_q": np.ones((4, 3)),
                                                          "w_k": np.ones((6, 3)), "v": np.ones(3)}), {
        "q": array_faults(Q.shape, shapes=[(4,), (2, 0, 4), (2, 3, 5)]),
        "k": array_faults(VV.shape, shapes=[(6,), (3, 5, 6), (2, 5, 4)]),
        "w_q": array_faults((4, 3), shapes=[(4,), (5, 3), (4, 0)]),
        "w_k": array_faults((6, 3), shapes=[(6, 2), (4, 3), (6, 3, 1)]),
        "v": array_faults((3,), shapes=[(2,), (3, 1)]),
    }),
    Spec("blockwise_attention", lambda: (ar.blockwise_attention, {"q": Q, "k": K, "v": VV}),
         {**qkv_faults(), **attention_args(), "block_q": int_faults(), "block_k": int_faults(),
          "return_stats": FLAG}),
    Spec("split_heads", lambda: (ar.split_heads, {"x": X, "n_heads": 2}), {
        "x": [F("text", "abc", TypeError), F("object", object(), TypeError),
              F("ragged list", [[1.0], [1.0, 2.0]], TypeError), F("1-D", np.ones(8), ValueError),
              F("indivisible", np.ones((3, 7)), ValueError)],
        "n_heads": int_faults(),
    }),
    Spec("merge_heads", lambda: (ar.merge_heads, {"x": np.ones((2, 2, 3, 4))}), {
        "x": [F("text", "abc", TypeError), F("object", object(), TypeError),
              F("ragged list", [[1.0], [1.0, 2.0]], TypeError), F("2-D", np.ones((3, 4)), ValueError)],
    }),
    Spec("positional_encoding", lambda: (ar.positional_encoding, {"length": 4, "d_model": 6}),
         {"length": int_faults(), "d_model": int_faults()}),
    Spec("layer_norm", lambda: (ar.layer_norm, {"x": X, "gamma": np.ones(8), "beta": np.zeros(8)}), {
        "x": array_faults(X.shape, shapes=[()]), "gamma": array_faults((8,), shapes=[(7,), (1, 8)]),
        "beta": array_faults((8,), shapes=[(9,)]), "eps": EPS,
    }),
    Spec("feed_forward", lambda: (ar.feed_forward, {"x": X, "w1": np.ones((8, 16)), "b1": np.zeros(16),
                                                    "w2": np.ones((16, 8)), "b2": np.zeros(8)}), {
        "x": array_faults(X.shape, shapes=[(), (2, 3, 7)]), "w1": array_faults((8, 16), shapes=[(8,), (7, 16)]),
        "b1": array_faults((16,), shapes=[(8,)]), "w2": array_faults((16, 8), shapes=[(8, 16)]),
        "b2": array_faults((8,), shapes=[(16,)]),
    }),
    # MultiHeadAttention
    Spec("MultiHeadAttention", lambda: (ar.MultiHeadAttention, {"d_model": 8, "n_heads": 2}), {
        "d_model": int_faults(), "n_heads": [*int_faults(), F("indivisible", 3, ValueError)], "bias": FLAG,
        "seed": SEED,
    }),
    Spec("MultiHeadAttention.__call__", lambda: (mha(), {"x": X}), {
        "x": array_faults(X.shape, shapes=[(3, 6), (1, 2, 3, 8), (8,)]),
        "context": array_faults(CTX.shape, shapes=[(2, 4, 6), (3, 4, 8), (4, 8)], optional=True),
        "mask": mask_faults((3, 3), (3, 4)), "causal": FLAG, "need_weights": FLAG, "tape": FORWARD_TAPE,
    }),
    backward_spec("MultiHeadAttention.backward", lambda: taped(mha(), X), X.shape, dy="d_out"),
    Spec("MultiHeadAttention.from_state_dict",
         lambda: (ar.MultiHeadAttention.from_state_dict, {"params": mha().state_dict(), "n_heads": 2}),
         {"params": state_dict_faults(lambda kw: kw["params"]), "n_heads": int_faults()}),
    Spec("MultiHeadAttention.load_state_dict", lambda: (mha().load_state_dict, {"params": mha().state_dict()}),
         {"params": state_dict_faults(lambda kw: kw["params"])}),
    # layers
    Spec("EncoderLayer", lambda: (ar.EncoderLayer, {"d_model": 8, "n_heads": 2}), layer_options()),
    Spec("EncoderLayer.__call__", lambda: (encoder_layer(), {"x": X}), {
        "x": array_faults(X.shape, shapes=[(3, 6), (1, 2, 3, 8), (2, 0, 8)]),
        "mask": mask_faults((3, 3), (4, 4)), "causal": FLAG, "tape": FORWARD_TAPE,
    }),
    backward_spec("EncoderLayer.backward", lambda: taped(encoder_layer(), X), X.shape),
    Spec("EncoderLayer.from_state_dict",
         lambda: (ar.EncoderLayer.from_state_dict, {"params": encoder_layer().state_dict(), "n_heads": 2}),
         loader_faults()),
    Spec("EncoderLayer.load_state_dict",
         lambda: (encoder_layer().load_state_dict, {"params": encoder_layer().state_dict()}),
         {"params": state_dict_faults(lambda kw: kw["params"])}),
    Spec("DecoderLayer", lambda: (ar.DecoderLayer, {"d_model": 8, "n_heads": 2}), layer_options()),
    Spec("DecoderLayer.__call__", lambda: (decoder_layer(), {"tgt": X, "memory": CTX}), {
        "tgt": array_faults(X.shape, shapes=[(2, 3, 6), (3, 3, 8)]),
        "memory": array_faults(CTX.shape, shapes=[(2, 4, 6), (4, 8)]),
        "tgt_mask": mask_faults((3, 3), (3, 4)), "memory_mask": mask_faults((3, 4), (3, 3)), "causal": FLAG,
        "tape": FORWARD_TAPE,
    }),
    backward_spec("DecoderLayer.backward", lambda: taped(decoder_layer(), X, CTX), X.shape),
    Spec("DecoderLayer.from_state_dict",
         lambda: (ar.DecoderLayer.from_state_dict, {"params": decoder_layer().state_dict(), "n_heads": 2}),
         loader_faults()),
    Spec("DecoderLayer.load_state_dict",
         lambda: (decoder_layer().load_state_dict, {"params": decoder_layer().state_dict()}),
         {"params": state_dict_faults(lambda kw: kw["params"])}),
    # stacks
    Spec("Encoder", lambda: (ar.Encoder, {"n_layers": 2, "d_model": 8, "n_heads": 2}),
         {"n_layers": int_faults(), "final_norm": FLAG, **layer_options()}),
    Spec("Encoder.__call__", lambda: (ar.Encoder(2, 8, 2, seed=0), {"x": X}), {
        "x": array_faults(X.shape, shapes=[(3, 6)]), "mask": mask_faults((3, 3), (2, 2, 4, 3)), "causal": FLAG,
        "tape": FORWARD_TAPE,
    }),
    backward_spec("Encoder.backward", lambda: taped(ar.Encoder(2, 8, 2, seed=0), X), X.shape),
    Spec("Encoder.from_state_dict",
         lambda: (ar.Encoder.from_state_dict, {"params": ar.Encoder(2, 8, 2, seed=0).state_dict(), "n_heads": 2}),
         loader_faults()),
    Spec("Encoder.load_state_dict",
         lambda: (ar.Encoder(2, 8, 2).load_state_dict, {"params": ar.Encoder(2, 8, 2, seed=0).state_dict()}),
         {"params": state_dict_faults(lambda kw: kw["params"])}),
    Spec("Decoder", lambda: (ar.Decoder, {"n_layers": 2, "d_model": 8, "n_heads": 2}),
         {"n_layers": int_faults(), "final_norm": FLAG, **layer_options()}),
    Spec("Decoder.__call__", lambda: (ar.Decoder(2, 8, 2, seed=0), {"tgt": X, "memory": CTX}), {
        "tgt": array_faults(X.shape, shapes=[(2, 3, 6)]), "memory": array_faults(CTX.shape, shapes=[(1, 4, 8)]),
        "tgt_mask": mask_faults((3, 3), (4, 4)), "memory_mask": mask_faults((3, 4), (4, 3)), "causal": FLAG,
        "tape": FORWARD_TAPE,
    }),
    backward_spec("Decoder.backward", lambda: taped(ar.Decoder(2, 8, 2, seed=0), X, CTX), X.shape),
    Spec("Decoder.from_state_dict",
         lambda: (ar.Decoder.from_state_dict, {"params": ar.Decoder(2, 8, 2, seed=0).state_dict(), "n_heads": 2}),
         loader_faults()),
    Spec("Decoder.load_state_dict",
         lambda: (ar.Decoder(2, 8, 2).load_state_dict, {"params": ar.Decoder(2, 8, 2, seed=0).state_dict()}),
         {"params": state_dict_faults(lambda kw: kw["params"])}),
    # Transformer
    Spec("Transformer", lambda: (ar.Transformer, {"d_model": 8, "n_heads": 2, "n_encoder_layers": 1,
                                                  "n_decoder_layers": 1}),
         {"n_encoder_layers": int_faults(), "n_decoder_layers": int_faults(), **layer_options()}),
    Spec("Transformer.__call__", lambda: (transformer(), {"src": CTX, "tgt": X}), {
        "src": array_faults(CTX.shape, shapes=[(2, 4, 6), (3, 4, 8)]),
        "tgt": array_faults(X.shape, shapes=[(2, 3, 6), (3, 8)]),
        "src_mask": mask_faults((4, 4), (3, 3)), "tgt_mask": mask_faults((3, 3), (4, 4)),
        "memory_mask": mask_faults((3, 4), (4, 3)), "tgt_causal": FLAG, "tape": FORWARD_TAPE,
    }),
    backward_spec("Transformer.backward", lambda: taped(transformer(), CTX, X), X.shape),
    Spec("Transformer.attention_records", lambda: (ar.Transformer.attention_records,
                                                   {"tape": taped(transformer(), CTX, X)[1]}),
         {"tape": BACKWARD_TAPE}),
    Spec("Transformer.encode", lambda: (transformer().encode, {"src": CTX}), {
        "src": array_faults(CTX.shape, shapes=[(2, 4, 6)]), "src_mask": mask_faults((4, 4), (3, 3)),
    }),
    Spec("Transformer.decode", lambda: (transformer().decode, {"tgt": X, "memory": CTX}), {
        "tgt": array_faults(X.shape, shapes=[(2, 3, 6)]), "memory": array_faults(CTX.shape, shapes=[(4, 8), (8,)]),
        "tgt_mask": mask_faults((3, 3), (4, 4)), "memory_mask": mask_faults((3, 4), (4, 3)), "tgt_causal": FLAG,
    }),
    Spec("Transformer.from_state_dict",
         lambda: (ar.Transformer.from_state_dict, {"params": transformer().state_dict(), "n_heads": 2}),
         loader_faults()),
    Spec("Transformer.load_state_dict",
         lambda: (transformer().load_state_dict, {"params": transformer().state_dict()}),
         {"params": state_dict_faults(lambda kw: kw["params"])}),
    # decoder-only model and cache
    Spec("DecoderOnlyTransformer", lambda: (ar.DecoderOnlyTransformer, {"n_layers": 2, "d_model": 8, "n_heads": 2}),
         {"n_layers": int_faults(), "final_norm": FLAG, **layer_options()}),
    Spec("DecoderOnlyTransformer.__call__", lambda: (decoder_only(), {"x": X}), {
        "x": array_faults(X.shape, shapes=[(3, 6), (8,)]), "mask": mask_faults((3, 3), (3, 4)),
        "tape": FORWARD_TAPE,
    }),
    backward_spec("DecoderOnlyTransformer.backward", lambda: taped(decoder_only(), X), X.shape),
    Spec("DecoderOnlyTransformer.new_cache", lambda: (decoder_only().new_cache, {"capacity": 4}),
         {"capacity": int_faults()}),
    Spec("DecoderOnlyTransformer.step",
         lambda: (lambda m: (m.step, {"x_new": np.ones((2, 1, 8)), "cache": m.new_cache()}))(decoder_only()), {
             "x_new": array_faults((2, 1, 8), shapes=[(2, 1, 6), (8,)]),
             "cache": [F("dict", {}, TypeError), F("None", None, TypeError),
                       F("other depth", Lazy(lambda kw: ar.KVCache(3)), ValueError)],
         }),
    Spec("DecoderOnlyTransformer.forward_incremental", lambda: (decoder_only().forward_incremental, {"x": X}),
         {"x": array_faults(X.shape, shapes=[(3, 6)])}),
    Spec("DecoderOnlyTransformer.from_state_dict",
         lambda: (ar.DecoderOnlyTransformer.from_state_dict, {"params": decoder_only().state_dict(), "n_heads": 2}),
         loader_faults()),
    Spec("DecoderOnlyTransformer.load_state_dict",
         lambda: (decoder_only().load_state_dict, {"params": decoder_only().state_dict()}),
         {"params": state_dict_faults(lambda kw: kw["params"])}),
    Spec("KVCache", lambda: (ar.KVCache, {"n_layers": 2, "capacity": 4}),
         {"n_layers": int_faults(), "capacity": int_faults()}),
    Spec("KVCache.extend", lambda: (ar.KVCache(2).extend, {"layer": 0, "k": np.ones((1, 2, 1, 4)),
                                                           "v": np.ones((1, 2, 1, 4))}), {
        "layer": [F("text", "0", TypeError), F("float", 0.5, TypeError), F("out of range", 2, ValueError),
                  F("negative", -1, ValueError)],
        "k": [F("text", "abc", TypeError), F("3-D", np.ones((2, 1, 4)), ValueError)],
        "v": [F("text", "abc", TypeError), F("other shape", np.ones((1, 2, 2, 4)), ValueError)],
    }),
    # --- attention_ref.training ---------------------------------------------------------------------------
    Spec("Seq2SeqConfig", lambda: (training.Seq2SeqConfig, {"src_vocab": 6, "tgt_vocab": 7}),
         {name: int_faults() for name in ("src_vocab", "tgt_vocab", "d_model", "n_heads", "num_encoder_layers",
                                          "num_decoder_layers", "dim_feedforward")}),
    Spec("Seq2Seq", lambda: (training.Seq2Seq, {"cfg": CFG}), {
        "cfg": [F("dict", {"src_vocab": 6, "tgt_vocab": 7}, TypeError), F("None", None, TypeError)],
        "seed": SEED,
    }),
    Spec("Seq2Seq.__call__", lambda: (seq2seq(), {"src": SRC_IDS, "tgt_in": TGT_IN}), {
        "src": [*ids_faults(SRC_IDS.shape, 6), F("other batch", SRC_IDS[:1], ValueError, "tgt_in")],
        "tgt_in": [*ids_faults(TGT_IN.shape, 7), F("other batch", TGT_IN[:1], ValueError, "src")],
        "tape": FORWARD_TAPE,
    }),
    backward_spec("Seq2Seq.backward", lambda: taped(seq2seq(), SRC_IDS, TGT_IN), (2, 3, 7), dy="d_logits"),
    Spec("Seq2Seq.source_mask", lambda: (seq2seq().source_mask, {"src": SRC_IDS}), {"src": ids_faults((2, 3), 6)}),
    Spec("Seq2Seq.encode", lambda: (seq2seq().encode, {"src": SRC_IDS}), {"src": ids_faults((2, 3), 6)}),
    Spec("Seq2Seq.decode", lambda: (lambda m: (m.decode, dict(zip(("memory", "src_mask"), m.encode(SRC_IDS),
                                                                 strict=True), tgt_in=TGT_IN)))(seq2seq()), {
        "tgt_in": ids_faults((2, 3), 7),
        "memory": array_faults((2, 3, 8), shapes=[(8,), (2, 3, 6), (3, 3, 8)]),
        "src_mask": mask_faults((2, 1, 1, 3), (2, 1, 1, 4)),
    }),
    Spec("Seq2Seq.from_state_dict",
         lambda: (training.Seq2Seq.from_state_dict, {"params": seq2seq().state_dict(), "cfg": CFG}), {
             "params": state_dict_faults(lambda kw: kw["params"]),
             "cfg": [F("dict", {"src_vocab": 6, "tgt_vocab": 7}, TypeError), F("None", None, TypeError),
                     F("other sizes", training.Seq2SeqConfig(6, 9, d_model=8, dim_feedforward=16), ValueError,
                       "params")],
         }),
    Spec("Seq2Seq.load_state_dict", lambda: (seq2seq().load_state_dict, {"params": seq2seq().state_dict()}),
         {"params": state_dict_faults(lambda kw: kw["params"])}),
    Spec("loss_and_grads", lambda: (training.loss_and_grads, {"model": seq2seq(), "src": SRC_IDS,
                                                              "tgt_in": TGT_IN, "tgt_out": TGT_OUT}), {
        "model": [F("text", "model", TypeError), F("Transformer", Lazy(lambda kw: transformer()), TypeError)],
        "src": [*ids_faults((2, 3), 6), F("starts with padding", np.array([[0, 3, 4], [3, 0, 0]]), ValueError)],
        "tgt_in": ids_faults((2, 3), 7),
        "tgt_out": [*ids_faults((2, 3), 7), F("all padding", np.zeros((2, 3), int), ValueError), F("shorter than tgt_in", TGT_OUT[:, :2], ValueError)],
    }),
    Spec("train", lambda: (training.train, {"model": seq2seq(), "src": SRC_IDS, "tgt_in": TGT_IN,
                                            "tgt_out": TGT_OUT, "steps": 2, "warmup": 1}), {
        "model": [F("text", "model", TypeError)],
        "src": ids_faults((2, 3), 6), "tgt_in": ids_faults((2, 3), 7), "tgt_out": ids_faults((2, 3), 7),
        "steps": int_faults(), "lr": LR,
        "warmup": [F("float", 1.5, TypeError), F("text", "1", TypeError), F("negative", -1, ValueError)],
        "callback": [F("not callable", 5, TypeError)],
    }),
    Spec("greedy_decode", lambda: (training.greedy_decode, {"model": seq2seq(), "src": SRC_IDS, "max_len": 3}), {
        "model": [F("text", "model", TypeError), F("Transformer", Lazy(lambda kw: transformer()), TypeError)],
        "src": ids_faults((2, 3), 6), "max_len": int_faults(),
    }),
    Spec("lr_schedule", lambda: (training.lr_schedule, {"step": 3, "steps": 10, "lr": 0.1, "warmup": 2}), {
        "step": [F("float", 1.5, TypeError), F("text", "1", TypeError), F("zero", 0, ValueError),
                 F("beyond steps", 11, ValueError)],
        "steps": int_faults(), "lr": LR,
        "warmup": [F("float", 1.5, TypeError), F("None", None, TypeError), F("negative", -1, ValueError)],
    }),
    Spec("Adam", lambda: (training.Adam, {"params": {"w": np.zeros(2)}}), {
        "params": [F("list", [np.zeros(2)], TypeError), F("text values", {"w": "abc"}, TypeError),
                   F("NaN values", {"w": np.array([NAN])}, ValueError)],
        "lr": LR,
        "betas": [F("number", 0.9, TypeError), F("text", "ab", TypeError), F("three", (0.9, 0.99, 0.9), ValueError),
                  F("beta2 = 1", (0.9, 1.0), ValueError, "beta2"), F("text beta1", ("a", 0.9), TypeError, "beta1")],
        "eps": EPS,
    }),
    Spec("Adam.step", lambda: (training.Adam({"w": np.zeros(2)}).step, {"grads": {"w": np.ones(2)}}), {
        "grads": [F("list", [np.ones(2)], TypeError), F("missing key", {}, ValueError),
                  F("extra key", {"w": np.ones(2), "b": np.ones(1)}, ValueError),
                  F("misshapen", {"w": np.ones(3)}, ValueError), F("NaN", {"w": np.array([1.0, NAN])}, ValueError),
                  F("text", {"w": "ab"}, TypeError)],
    }),
    Spec("adam_update", lambda: (training.adam_update, {"p": np.ones(2), "g": np.ones(2), "m": 0.0, "v": 0.0,
                                                        "step": 1}), {
        "p": array_faults((2,)), "g": array_faults((2,), shapes=[(3,)]), "m": array_faults((2,), shapes=[(3,)]),
        "v": [*array_faults((2,), shapes=[(3,)]), F("negative", -np.ones(2), ValueError)],
        "step": [F("float", 1.0, TypeError), F("text", "1", TypeError), F("None", None, TypeError),
                 F("zero", 0, ValueError)],
        "lr": LR, "beta1": BETA, "beta2": BETA, "eps": EPS,
    }),
    # --- attention_ref.training.backward -------------------------------------------------------------------
    Spec("linear_backward", lambda: (backward.linear_backward, {"dy": np.ones((2, 3)), "x": np.ones((2, 4)),
                                                                "w": np.ones((4, 3))}), {
        "dy": array_faults((2, 3), shapes=[(2, 4)]), "x": array_faults((2, 4), shapes=[(2, 5)]),
        "w": array_faults((4, 3), shapes=[(4,), (1, 4, 3)]),
    }),
    Spec("softmax_backward", lambda: (backward.softmax_backward, {"dy": np.ones((2, 3)), "y": np.ones((2, 3)) / 3}), {
        "dy": array_faults((2, 3), shapes=[(3, 2)]), "y": array_faults((2, 3), shapes=[(2, 4)]),
        "axis": [F("float", 0.5, TypeError), F("text", "0", TypeError), F("None", None, TypeError),
                 F("out of range", 2, ValueError)],
    }),
    Spec("attention_backward", lambda: (backward.attention_backward, {
        "d_out": np.ones((3, 2)), "q": np.ones((3, 4)), "k": np.ones((5, 4)), "v": np.ones((5, 2)),
        "weights": np.full((3, 5), 0.2)}), {
        "d_out": array_faults((3, 2), shapes=[(3, 4)]), "q": array_faults((3, 4), shapes=[(4,), (3, 3)]),
        "k": array_faults((5, 4), shapes=[(5, 3)]), "v": array_faults((5, 2), shapes=[(4, 2)]),
        "weights": array_faults((3, 5), shapes=[(5, 3)]), "scale": SCALE,
    }),
    Spec("layer_norm_backward", lambda: (backward.layer_norm_backward, {"dy": np.ones((2, 4)),
                                                                        "x": np.arange(8.0).reshape(2, 4),
                                                                        "gamma": np.ones(4)}), {
        "dy": array_faults((2, 4), shapes=[(2, 5)]), "x": array_faults((2, 4), shapes=[()]),
        "gamma": array_faults((4,), shapes=[(3,)]), "eps": EPS,
    }),
    Spec("feed_forward_backward", lambda: (backward.feed_forward_backward, {
        "dy": np.ones((2, 4)), "x": np.ones((2, 4)), "w1": np.ones((4, 8)), "b1": np.zeros(8), "w2": np.ones((8, 4))}), {
        "dy": array_faults((2, 4), shapes=[(2, 3)]), "x": array_faults((2, 4), shapes=[(2, 5)]),
        "w1": array_faults((4, 8), shapes=[(3, 8), (4,)]), "b1": array_faults((8,), shapes=[(4,)]),
        "w2": array_faults((8, 4), shapes=[(8, 3)]),
    }),
    Spec("embedding_backward", lambda: (backward.embedding_backward, {"dy": np.ones((2, 3)), "ids": np.array([0, 2]),
                                                                      "vocab_size": 4}), {
        "dy": array_faults((2, 3), shapes=[(3, 3)]),
        "ids": [F("float dtype", np.array([0.0, 1.0]), TypeError), F("bool dtype", np.array([True, False]), TypeError),
                F("text", "ab", TypeError), F("None", None, TypeError), F("too large", np.array([0, 4]), ValueError),
                F("negative", np.array([0, -1]), ValueError)],
        "vocab_size": int_faults(),
    }),
    *(Spec(name, lambda fn=fn: (fn, {"logits": np.ones((2, 3)), "targets": np.array([0, 2])}), {
        "logits": array_faults((2, 3), shapes=[(2, 4, 3), ()]),
        "targets": [F("float dtype", np.array([0.0, 1.0]), TypeError), F("text", "ab", TypeError),
                    F("None", None, TypeError), F("wrong shape", np.array([0, 1, 2]), ValueError),
                    F("too large", np.array([0, 3]), ValueError), F("all ignored", np.array([-100, -100]), ValueError)],
        "ignore_index": [F("float", 0.5, TypeError), F("text", "pad", TypeError), F("None", None, TypeError)],
    }) for name, fn in (("cross_entropy", backward.cross_entropy),
                        ("cross_entropy_backward", backward.cross_entropy_backward))),
    # --- attention_ref.book ----------------------------------------------------------------------------------
    Spec("one_hot_vectors", lambda: (toy.one_hot_vectors, {"words": ["a", "b"]}), {
        "words": [F("int", 5, TypeError), F("text", "ab", TypeError), F("ints", [1, 2], TypeError),
                  F("None", None, TypeError), F("empty", [], ValueError), F("duplicates", ["a", "a"], ValueError)],
    }),
    Spec("toy_self_attention", lambda: (toy.toy_self_attention, {"words": ["a", "b"],
                                                                 "vectors": {"a": [1.0, 0.0], "b": [0.0, 1.0]}}), {
        "words": [F("int", 5, TypeError), F("text", "ab", TypeError), F("ints", [1, 2], TypeError),
                  F("None", None, TypeError), F("empty", [], ValueError), F("unknown word", ["a", "c"], ValueError,
                                                                           "vectors")],
        "vectors": [F("list", [[1.0, 0.0], [0.0, 1.0]], TypeError), F("text", "v", TypeError),
                    F("text vector", {"a": "x", "b": "y"}, TypeError, "vectors['a']"),
                    F("2-D vector", {"a": np.ones((2, 2)), "b": np.ones((2, 2))}, ValueError, "vectors['a']"),
                    F("lengths differ", {"a": np.ones(2), "b": np.ones(3)}, ValueError, "vectors['b']"),
                    F("NaN", {"a": np.ones(2), "b": np.array([1.0, NAN])}, ValueError, "vectors['b']")],
    }),
    Spec("toy_multi_head_attention", lambda: (toy.toy_multi_head_attention, {"heads": 2}),
         {"heads": int_faults(), "words": TOY_WORDS, "vectors": TOY_VECTORS}),
    Spec("toy_masked_attention", lambda: (toy.toy_masked_attention, {"mask": [1, 1, 0]}), {
        "mask": array_faults((3,), shapes=[(2,), (3, 3), ()]),
        "words": [F("text", "abc", TypeError), F("ints", [1, 2, 3], TypeError), F("None", None, TypeError)],
        "vectors": TOY_VECTORS,
    }),
    Spec("toy_cross_attention", lambda: (toy.toy_cross_attention, {}), {
        "query_words": [F("int", 5, TypeError), F("text", "ab", TypeError), F("empty", [], ValueError)],
        "key_words": [F("int", 5, TypeError), F("ints", [1], TypeError), F("empty", (), ValueError)],
        "query_vectors": [F("list", [[1.0]], TypeError), F("missing a word", {"너는": np.ones(2)}, ValueError)],
        "key_vectors": [F("text", "k", TypeError),
                        # named in words ("query vectors ... key vectors"): chapter 5 prints this message
                        F("longer than the queries'", {"나는": np.ones(3), "먹었다": np.ones(3)}, ValueError,
                          "query vectors")],
    }),
    Spec("Vocab", lambda: (corpus.Vocab, {"sentences": ["kore wa rei desu"]}), {
        "sentences": [F("int", 5, TypeError), F("text", "kore wa", TypeError), F("ints", [1], TypeError),
                      F("None", None, TypeError)],
    }),
    Spec("Vocab.encode", lambda: (corpus.Vocab(["kore wa rei desu"]).encode, {"sentence": "kore wa rei desu"}), {
        "sentence": [F("int", 5, TypeError), F("None", None, TypeError), F("list", ["kore"], TypeError),
                     F("unknown word", "kore wa hon", ValueError)],
    }),
    Spec("Vocab.decode", lambda: (corpus.Vocab(["kore wa rei desu"]).decode, {"ids": [4, 6, 2]}), {
        "ids": [F("float", [1.5], TypeError), F("text", "abc", TypeError), F("None", None, TypeError),
                F("2-D", [[4, 6]], ValueError), F("too large", [99], ValueError), F("negative", [-1], ValueError)],
    }),
    Spec("encode_batch", lambda: (corpus.encode_batch, {"sentences": ["kore wa"],
                                                        "vocab": corpus.Vocab(["kore wa rei desu"])}), {
        "sentences": [F("text", "kore wa", TypeError), F("ints", [1], TypeError), F("None", None, TypeError),
                      F("empty", [], ValueError), F("unknown word", ["hon"], ValueError, "sentence")],
        "vocab": [F("text", "vocab", TypeError), F("None", None, TypeError)],
        "bos": FLAG, "eos": FLAG, "length": [*int_faults(optional=True), F("too short", 1, ValueError)],
    }),
    Spec("split_corpus", lambda: (corpus.split_corpus, {"pairs": corpus.generate_pairs(), "test_fraction": 0.05}), {
        "pairs": [F("int", 5, TypeError), F("text", "ab", TypeError), F("strings", ["ab", "cd"], TypeError),
                  F("triples", [("a", "b", "c")], ValueError), F("numbers", [(1, 2)], TypeError),
                  F("without the note pairs", corpus.generate_pairs()[2:], ValueError)],
        "test_fraction": [F("text", "0.1", TypeError), F("None", None, TypeError), F("zero", 0, ValueError),
                          F("one", 1.0, ValueError), F("NaN", NAN, ValueError)],
        "seed": SEED,
    }),
]

CASES = [
    pytest.param(spec, arg, fault, id=f"{spec.name}-{arg}-{fault.label}")
    for spec in SPECS for arg, faults in spec.faults.items() for fault in faults
]


def assert_rejected(call, error: type[Exception], names) -> None:
    """``call()`` raises exactly ``error`` (not a subclass) with one of ``names`` as a word in the message."""
    try:
        call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert type(exc) is error, f"{type(exc).__name__} instead of {error.__name__}: {message}"
        # the name as a word of the sentence ("k has shape", "params['out_proj.bias']", "of q (2, 3)")
        named = [n for n in names if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w])", message)]
        assert named, f"the message does not name {' or '.join(names)}: {message}"
    except Exception as exc:
        pytest.fail(f"{type(exc).__name__} instead of {error.__name__}: {exc}")
    else:
        pytest.fail(f"no error, {error.__name__} expected")


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_the_good_call_works(spec):
    fn, kwargs = spec.make()
    fn(**kwargs)


@pytest.mark.parametrize("spec,arg,fault", CASES)
def test_bad_input_raises_type_or_value_error_naming_it(spec, arg, fault):
    fn, kwargs = spec.make()
    kwargs[arg] = fault.value.make(kwargs) if isinstance(fault.value, Lazy) else fault.value
    assert_rejected(lambda: fn(**kwargs), fault.error, (arg, *fault.names))


def public_callables():
    """Every public callable of the covered modules, and every public method of their classes."""
    modules = [ar, training, backward, toy, corpus]
    found = set()
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj):
                continue  # constants: PAD, SENTENCE, NOTE_PAIRS, ...
            if inspect.isclass(obj):
                found.add(name)
                for attr in dir(obj):
                    static = inspect.getattr_static(obj, attr)
                    if (attr == "__call__" or not attr.startswith("_")) and not isinstance(static, property) \
                            and callable(getattr(obj, attr)):
                        method = getattr(obj, attr)
                        params = [p for p in inspect.signature(method).parameters if p not in ("self", "cls")]
                        if params:  # state_dict(), generate_pairs(): nothing to get wrong
                            found.add(f"{name}.{attr}")
            elif list(inspect.signature(obj).parameters):
                found.add(name)
    return found


def test_every_public_callable_is_in_the_table():
    missing = public_callables() - {spec.name for spec in SPECS}
    assert not missing, f"add these to SPECS: {sorted(missing)}"


def test_every_argument_of_every_spec_has_faults():
    missing = []
    for spec in SPECS:
        fn, _ = spec.make()
        target = fn.__init__ if inspect.isclass(fn) else fn
        params = [p for p in inspect.signature(target).parameters if p not in ("self", "cls")]
        if set(spec.faults) != set(params):
            missing.append(f"{spec.name}: {sorted(set(params) - set(spec.faults))}")
    assert not missing, f"arguments without faults: {missing}"
