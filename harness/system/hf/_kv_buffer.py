"""A KV cache that grows in place.

transformers' ``DynamicLayer`` concatenates every step's keys and values onto
the whole cache, so each decode step copies the cache twice per layer (once
to rebuild it, once to grow it) and allocates fresh memory for it: on a CPU,
up to a third of a decode step in the profiler, 8% of its wall time. Here
each layer keeps room on the right and a step writes its few new columns
into it; the model sees views.

Imported only where decoding runs (it needs torch and transformers).
"""

from __future__ import annotations

from typing import Any

from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

ROOM = 32

"""Columns reserved past the end whenever a layer's storage is (re)allocated."""


class ReservedLayer(DynamicLayer):
    """One layer's keys and values, ``[batch, heads, columns, dim]``, stored
    with spare columns after the used ones."""

    def __init__(self, keys: Any, values: Any, room: int = ROOM):
        super().__init__()
        self.dtype, self.device = keys.dtype, keys.device
        self.is_initialized = True
        self._room = room
        self._allocate(keys, values, room)

    def _allocate(self, keys: Any, values: Any, room: int) -> None:
        used = keys.shape[-2]
        self._keys = keys.new_empty((*keys.shape[:-2], used + room, keys.shape[-1]))
        self._values = values.new_empty((*values.shape[:-2], used + room, values.shape[-1]))
        self._keys[..., :used, :] = keys
        self._values[..., :used, :] = values
        self.keys, self.values = self._keys[..., :used, :], self._values[..., :used, :]

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
        if self.keys is None:  # after reset()
            self._allocate(key_states[..., :0, :], value_states[..., :0, :], self._room)
            self.is_initialized = True
        used, new = self.keys.shape[-2], key_states.shape[-2]
        if (
            used + new > self._keys.shape[-2]
            # replaced by an inherited method (batch selection): no longer a view
            or self.keys.data_ptr() != self._keys.data_ptr()
            or self.keys.shape[:-2] != self._keys.shape[:-2]
        ):
            self._allocate(self.keys, self.values, max(self._room, new))
        self._keys[..., used : used + new, :] = key_states
        self._values[..., used : used + new, :] = value_states
        self.keys = self._keys[..., : used + new, :]
        self.values = self._values[..., : used + new, :]
        return self.keys, self.values


def reserved_cache(kv: list[tuple[Any, Any]], room: int = ROOM) -> Any:
    """A ``DynamicCache`` over copies of ``kv`` (one ``(keys, values)`` per layer)."""
    cache = DynamicCache()
    cache.layers = [ReservedLayer(k, v, room) for k, v in kv]
    return cache


def layer_tensors(cache: Any) -> list[tuple[Any, Any]]:
    """Each layer's ``(keys, values)``, the form rows are merged and selected in."""
    return [(layer.keys, layer.values) for layer in cache.layers]
