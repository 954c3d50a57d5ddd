"""State dicts: StateReader's checks, Module's state_dict/load_state_dict, the initial weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attention_ref import EncoderLayer, MultiHeadAttention
from attention_ref._state import Module, StateReader, glorot, prefixed


def test_take_converts_to_float64_and_accepts_torch_tensors():
    reader = StateReader({"a": np.arange(3), "b": torch.ones(2, dtype=torch.float32), "c": [[1.0, 2.0]]})
    assert reader.take("a", (3,)).dtype == np.float64
    np.testing.assert_array_equal(reader.take("b", None), [1.0, 1.0])
    assert reader.take("c", (1, 2)).shape == (1, 2)
    reader.finish()  # every key used


@pytest.mark.parametrize(
    "params,key,shape,exc,match",
    [
        ({}, "w", None, ValueError, "params is missing the key 'w'"),
        ({"w": np.ones(3)}, "w", (2,), ValueError, r"params\['w'\] has shape \(3,\) but needs shape \(2,\)"),
        ({"w": np.array(["a"])}, "w", None, TypeError, r"params\['w'\] must be a numeric array, got dtype <U1"),
        ({"w": np.array([np.inf])}, "w", None, ValueError, r"params\['w'\] contains NaN or infinity"),
    ],
)
def test_take_refuses(params, key, shape, exc, match):
    with pytest.raises(exc, match=match):
        StateReader(params).take(key, shape)


def test_finish_names_the_unused_keys():
    reader = StateReader({"a": np.ones(1), "z": np.ones(1), "b": np.ones(1)})
    reader.take("a", None)
    with pytest.raises(ValueError, match=r"params has unexpected keys \['b', 'z'\]"):
        reader.finish()


def test_params_must_be_a_mapping():
    with pytest.raises(TypeError, match="params must be a dict of arrays keyed like a PyTorch state_dict, got list"):
        StateReader([("a", np.ones(1))])


def test_state_dict_returns_copies(rng):
    mha = MultiHeadAttention(4, 2, seed=0)
    sd = mha.state_dict()
    sd["out_proj.weight"][:] = 0
    assert (mha.w_o != 0).any()


def test_load_state_dict_takes_every_key_or_names_the_missing_one(rng):
    layer = EncoderLayer(8, 2, 16, seed=0)
    sd = {k: rng.normal(size=v.shape) for k, v in layer.state_dict().items()}
    layer.load_state_dict(sd)
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, sd[key])
    del sd["norm2.bias"]
    with pytest.raises(ValueError, match=r"params is missing the key 'norm2\.bias'"):
        EncoderLayer(8, 2, 16, seed=0).load_state_dict(sd)


def test_every_module_is_a_module():
    assert isinstance(MultiHeadAttention(4, 2), Module) and isinstance(EncoderLayer(4, 2), Module)


def test_glorot_bounds_and_layout():
    w = glorot(np.random.default_rng(0), 30, 20)
    assert w.shape == (30, 20)
    bound = np.sqrt(6 / 50)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.mean()) < 0.05


def test_prefixed():
    assert prefixed("layers.0.", {"w": 1, "b": 2}) == {"layers.0.w": 1, "layers.0.b": 2}
