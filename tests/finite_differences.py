"""Central differences: the numerical check of a gradient, independent of PyTorch and of our formulas."""

from __future__ import annotations

import numpy as np


def central_difference(f, x: np.ndarray, rng: np.random.Generator, n: int = 6, h: float = 1e-6):
    """``(f(x + h e_i) - f(x - h e_i)) / 2h`` at ``n`` random entries ``i`` of ``x`` (changed, then restored).

    ``x`` is changed in place, so ``f`` must read it: pass the very array the computation uses.
    """
    flat = x.reshape(-1)
    assert np.shares_memory(flat, x), "x must be contiguous: its entries are changed through a flat view"
    idx = rng.choice(flat.size, size=min(n, flat.size), replace=False)
    out = []
    for i in idx:
        old = flat[i]
        flat[i] = old + h
        up = f()
        flat[i] = old - h
        down = f()
        flat[i] = old
        out.append((up - down) / (2 * h))
    return idx, np.array(out)


def check_fd(f, x, grad, rng, rtol=1e-6, atol=1e-8):
    """``grad`` (shaped like ``x``) agrees with central differences of ``f`` at a few entries of ``x``."""
    idx, numeric = central_difference(f, x, rng)
    np.testing.assert_allclose(np.ascontiguousarray(grad).reshape(-1)[idx], numeric, rtol=rtol, atol=atol)
