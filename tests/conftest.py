"""Shared fixtures: a seeded generator, and the thread counts attention's tiles run on.

The PyTorch references are in tests/torch_ref.py; importing it here sets torch to float64 on one CPU
thread for the whole session, before any test builds a torch module.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

from attention_ref import _parallel

from . import torch_ref  # noqa: F401 - float64 torch for every test

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


@pytest.fixture(params=[1, 2], ids=["serial", "threads"])
def threads(request, monkeypatch):
    """Run the test with the tiles in one thread, then spread over two."""
    monkeypatch.setattr(_parallel, "MAX_THREADS", request.param)
    return request.param
