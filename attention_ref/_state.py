"""Parameters: their initial values, and state dicts (dicts of NumPy arrays) read with clear errors.

Internal infrastructure: the modules and layers of the package import these names. Every module with
parameters derives from :class:`Module`, writes its arrays with ``_write(sd, prefix)`` and takes them
back with ``_assign(reader, prefix)``, so that ``state_dict``, ``from_state_dict`` and
``load_state_dict`` share one key layout, PyTorch's.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._validation import check_finite

__all__ = ["Module", "StateReader", "glorot", "prefixed"]


def glorot(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """Weights uniform in +-sqrt(6 / (fan_in + fan_out)), laid out for ``x @ w``: ``(fan_in, fan_out)``."""
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def prefixed(prefix: str, sd: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``sd`` with ``prefix`` put before every key (a submodule's entries in its parent's dict)."""
    return {prefix + key: value for key, value in sd.items()}


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
        """The array stored under ``key`` as float64, checked against ``shape`` (None = any shape)."""
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


class Module:
    """What every module with parameters shares: its state dict, written and read in PyTorch's layout."""

    def _write(self, sd: dict[str, np.ndarray], prefix: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _assign(self, reader: StateReader, prefix: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters as NumPy arrays (copies) keyed like the matching PyTorch module's ``state_dict()``."""
        sd: dict[str, np.ndarray] = {}
        self._write(sd, "")
        return sd

    def load_state_dict(self, params) -> None:
        """Replace every parameter by the array of ``params`` under its key (same keys and shapes).

        A missing, misshapen or unexpected key raises ``ValueError`` naming it, and leaves the
        parameters read so far replaced. The arrays are copied (as float64).
        """
        reader = StateReader(params)
        self._assign(reader, "")
        reader.finish()
