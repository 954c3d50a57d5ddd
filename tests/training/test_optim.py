"""Adam against torch.optim.Adam (to 1e-12), the pure one-step update, and bad hyper-parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attention_ref.training import Adam, adam_update

from ..torch_ref import to_torch


@pytest.mark.parametrize("betas,eps", [((0.9, 0.999), 1e-8), ((0.8, 0.95), 1e-6), ((0.0, 0.5), 1e-3)])
def test_adam_matches_torch(rng, betas, eps):
    params = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=5)}
    tparams = {k: torch.nn.Parameter(to_torch(v.copy())) for k, v in params.items()}
    opt = Adam(params, lr=0.01, betas=betas, eps=eps)
    t_opt = torch.optim.Adam(tparams.values(), lr=0.01, betas=betas, eps=eps)
    for step in range(20):
        grads = {k: rng.normal(size=v.shape) * (step + 1) for k, v in params.items()}
        if step == 10:
            opt.lr = t_opt.param_groups[0]["lr"] = 0.003  # a schedule changes lr between steps
        opt.step(grads)
        for k, p in tparams.items():
            p.grad = to_torch(grads[k])
        t_opt.step()
    assert opt.t == 20
    for k, v in params.items():
        np.testing.assert_allclose(v, tparams[k].detach().numpy(), rtol=0, atol=1e-12)


def test_adam_update_matches_torch_step_by_step(rng):
    p = rng.normal(size=(2, 3))
    tp = torch.nn.Parameter(to_torch(p.copy()))
    t_opt = torch.optim.Adam([tp], lr=0.05, betas=(0.85, 0.99), eps=1e-7)
    m = v = 0.0
    for step in range(1, 8):
        g = rng.normal(size=p.shape)
        p, m, v = adam_update(p, g, m, v, step, lr=0.05, beta1=0.85, beta2=0.99, eps=1e-7)
        tp.grad = to_torch(g)
        t_opt.step()
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(m, t_opt.state[tp]["exp_avg"].numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(v, t_opt.state[tp]["exp_avg_sq"].numpy(), rtol=0, atol=1e-12)


def test_adam_update_is_pure(rng):
    p, g = rng.normal(size=3), rng.normal(size=3)
    p0 = p.copy()
    p1, m1, v1 = adam_update(p, g, 0.0, 0.0, step=1, lr=0.1)
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_allclose(p1, p0 - 0.1 * np.sign(g), rtol=1e-6)
    np.testing.assert_allclose(m1, 0.1 * g)
    np.testing.assert_allclose(v1, 0.001 * g * g)


def test_adam_minimises_a_quadratic():
    params = {"w": np.array([3.0, -2.0])}
    opt = Adam(params, lr=0.5)
    for _ in range(200):
        opt.step({"w": 2 * params["w"]})
    np.testing.assert_allclose(params["w"], 0.0, atol=0.05)


def test_a_schedule_may_end_at_lr_zero(rng):
    params = {"w": rng.normal(size=3)}
    opt = Adam(params, lr=0.1)
    opt.lr = 0.0  # the last step of a cosine schedule
    before = params["w"].copy()
    opt.step({"w": np.ones(3)})
    np.testing.assert_array_equal(params["w"], before)


def test_a_bad_gradient_changes_no_weight(rng):
    params = {"a": np.zeros(2), "b": np.zeros(3)}
    opt = Adam(params)
    with pytest.raises(ValueError, match=r"grads\['b'\] contains NaN"):
        opt.step({"a": np.ones(2), "b": np.array([0.0, np.nan, 0.0])})
    assert opt.t == 0
    np.testing.assert_array_equal(params["a"], 0.0)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: Adam({"w": np.zeros(2)}, lr=0.0), ValueError, "lr must be positive and finite, got 0.0"),
        (lambda: Adam({"w": np.zeros(2)}, lr=np.inf), ValueError, "lr must be a finite number, got inf"),
        (lambda: Adam({"w": np.zeros(2)}, lr="0.1"), TypeError, "lr must be a real number, got '0.1' of type str"),
        (lambda: Adam({"w": np.zeros(2)}, betas=(0.9, 1.0)), ValueError, r"beta2 must be in \[0, 1\)"),
        (lambda: Adam({"w": np.zeros(2)}, betas=0.9), TypeError, r"betas must be a pair \(beta1, beta2\) of numbers"),
        (lambda: Adam({"w": np.zeros(2)}, betas=(0.9,)), ValueError, r"betas must be a pair \(beta1, beta2\), got 1 values"),
        (lambda: Adam({"w": np.zeros(2)}, eps=0), ValueError, "eps must be positive and finite, got 0"),
        (lambda: Adam([np.zeros(2)]), TypeError, "params must be a dict"),
        (lambda: Adam({"w": "abc"}), TypeError, r"params\['w'\] must be a real numeric array"),
        (lambda: Adam({"w": np.array([np.nan])}), ValueError, r"params\['w'\] contains NaN"),
        (lambda: Adam({"w": np.zeros(2)}).step({"v": np.zeros(2)}), ValueError, r"missing \['w'\], extra \['v'\]"),
        (lambda: Adam({"w": np.zeros(2)}).step({"w": np.zeros(3)}), ValueError, r"grads\['w'\] has shape \(3,\)"),
        (lambda: Adam({"w": np.zeros(2)}).step({"w": np.array([np.nan, 0.0])}), ValueError, r"grads\['w'\] contains NaN"),
        (lambda: Adam({"w": np.zeros(2)}).step([np.zeros(2)]), TypeError, "grads must be a dict of arrays keyed like params"),
        (lambda: Adam({"w": np.zeros(2)}).step({"w": "ab"}), TypeError, r"grads\['w'\] must be a real numeric array"),
        (lambda: adam_update(np.zeros(2), np.zeros(2), 0.0, 0.0, step=0), ValueError, "step must be an integer >= 1"),
        (lambda: adam_update(np.zeros(2), np.zeros(2), 0.0, 0.0, step=1.0), TypeError, "step must be an integer >= 1 .* of type float"),
        (lambda: adam_update(np.zeros(2), np.zeros(3), 0.0, 0.0, step=1), ValueError, r"g has shape \(3,\) but must have the shape of p"),
        (lambda: adam_update(np.zeros(2), np.zeros(2), np.zeros(3), 0.0, step=1), ValueError, r"m has shape \(3,\) but must have the shape of p"),
        (lambda: adam_update(np.zeros(2), np.zeros(2), 0.0, -1.0, step=1), ValueError, "v must be non-negative"),
        (lambda: adam_update(np.array([np.nan, 0]), np.zeros(2), 0.0, 0.0, step=1), ValueError, "p contains NaN"),
        (lambda: adam_update(np.zeros(2), np.zeros(2), 0.0, 0.0, step=1, beta1=1.0), ValueError, r"beta1 must be in \[0, 1\)"),
        (lambda: adam_update(np.zeros(2), np.zeros(2), 0.0, 0.0, step=1, eps=None), TypeError, "eps must be a real number"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
