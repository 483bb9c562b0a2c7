"""A KV cache that grows in place.

transformers' ``DynamicLayer`` concatenates every step's keys and values onto
the whole cache, so each decode step copies the cache twice per layer (once
to rebuild it, once to grow it) and allocates fresh memory for it. On a CPU
that copying cost a third of a decode step. Here each layer keeps room on the
right and a step writes its few new columns into it; the model sees views.

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
        self._used = used
        self.keys, self.values = self._keys[..., :used, :], self._values[..., :used, :]

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
        used, new = self._used, key_states.shape[-2]
        if used + new > self._keys.shape[-2]:
            self._allocate(self.keys, self.values, max(self._room, new))
        self._keys[..., used : used + new, :] = key_states
        self._values[..., used : used + new, :] = value_states
        self._used = used + new
        self.keys = self._keys[..., : self._used, :]
        self.values = self._values[..., : self._used, :]
        return self.keys, self.values


def reserved_cache(kv: list[tuple[Any, Any]], room: int = ROOM) -> Any:
    """A ``DynamicCache`` over copies of ``kv`` (one ``(keys, values)`` per layer)."""
    cache = DynamicCache()
    cache.layers = [ReservedLayer(k, v, room) for k, v in kv]
    return cache


def layer_tensors(cache: Any) -> list[tuple[Any, Any]]:
    return [(layer.keys, layer.values) for layer in cache.layers]


__all__ = ["ROOM", "ReservedLayer", "layer_tensors", "reserved_cache"]
