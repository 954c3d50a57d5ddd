"""Reading PyTorch-style state dicts (dicts of NumPy arrays) with clear errors."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._validation import check_finite

__all__ = ["StateReader"]


class StateReader:
    """Hands out the arrays of a state dict by key and reports missing, misshapen and extra keys."""

    def __init__(self, params):
        if not isinstance(params, Mapping):
            msg = f"params must be a dict of arrays keyed like a PyTorch state_dict, got {type(params).__name__}"
            raise TypeError(msg)
        self.params = params
        self.used: set[str] = set()

    def has(self, key: str) -> bool:
        return key in self.params

    def take(self, key: str, shape: tuple[int, ...] | None) -> np.ndarray:
        """The array stored under ``key`` as float64, checked against ``shape`` (None = any 2-D)."""
        if key not in self.params:
            msg = f"params is missing the key {key!r}"
            raise ValueError(msg)
        value = self.params[key]
        if hasattr(value, "detach"):  # a torch tensor slipped in
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            msg = f"params[{key!r}] must be a numeric array, got dtype {arr.dtype}"
            raise TypeError(msg)
        arr = arr.astype(np.float64)
        if shape is not None and arr.shape != tuple(shape):
            msg = f"params[{key!r}] has shape {arr.shape} but needs shape {tuple(shape)}"
            raise ValueError(msg)
        check_finite(arr, f"params[{key!r}]")
        self.used.add(key)
        return arr

    def finish(self) -> None:
        """Raise if the dict holds keys that nothing used."""
        extra = sorted(set(self.params) - self.used)
        if extra:
            msg = f"params has unexpected keys {extra}"
            raise ValueError(msg)
