"""Shared fixtures: a seeded generator and torch in float64 on the CPU."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import settings

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

# tests/browser checks the built site in Chromium: `nox -s browser` runs it (and sets ATTN_BROWSER)
if not os.environ.get("ATTN_BROWSER"):
    collect_ignore = ["browser"]

# Hypothesis (tests/test_properties.py): "ci", the default, is deterministic (the same examples on every
# run, no example database) and short; HYPOTHESIS_PROFILE=long tries 5000 fresh examples per property on
# each run (a few minutes; a failure prints the seed that reproduces it).
settings.register_profile("ci", derandomize=True, max_examples=300, deadline=None, database=None)
settings.register_profile("long", max_examples=5000, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240725)


def to_torch(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))
