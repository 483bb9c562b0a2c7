"""Greedy decoding with continuous batching.

On a CPU a decode step reads every weight once whatever the batch holds, so its
cost barely grows with the batch: what matters is how many rows are busy at
each step. A fixed batch keeps stepping until its longest answer ends, its
finished rows idling; here a finished row leaves at once and the next prompts
take its place, so the steps work for nearly ``batch_size`` answers until the
queue runs dry.

Prompts are admitted a few at a time: a prefill is a matrix product over the
admitted prompts' tokens, and on a CPU one short prompt alone runs it at half
the speed of four together, which costs more than a slot left idle for a few
steps. Waiting prompts join once half the batch is free (``refill``), or once
the free slots' prompts hold ``PREFILL_TOKENS`` tokens, or when they are the
last.

Each row keeps its own position ids and its own stretch of the KV cache (rows
are left-padded to a common width and the padding is masked), so a row's
answer does not depend on which rows it shared steps with. The cache grows in
place (``_kv_buffer``) instead of being copied at every step.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Row:
    index: int
    prompt_len: int
    started: float
    tokens: list[int] = field(default_factory=list)
    finish: str | None = None


@dataclass(frozen=True)
class Decoded:
    tokens: list[int]
    finish: str  # "stop" (end of sequence or a stop string) or "length"
    seconds: float  # from the row's admission to its last token


def supports_continuous_batching(model: Any) -> bool:
    """Only plain per-layer caches can be re-packed row by row (no sliding
    windows, no hybrid or recurrent state)."""
    from transformers import DynamicCache

    try:
        cache = DynamicCache(config=model.config)
    except Exception:
        return False
    return all(type(layer).__name__ == "DynamicLayer" for layer in cache.layers)


PREFILL_TOKENS = 256

"""Prompt tokens that make a prefill efficient whatever the number of rows."""


def default_refill(batch_size: int) -> int:
    """Free slots to wait for before admitting short prompts: half the batch."""
    return max(1, batch_size // 2)


def greedy_decode(
    model: Any,
    prompts: Sequence[list[int]],
    *,
    max_new_tokens: int,
    batch_size: int,
    eos_ids: Sequence[int],
    pad_id: int,
    stopped: Callable[[list[int]], bool],
    min_shared_prefix: int = 16,
    refill: int | None = None,
) -> list[Decoded]:
    """Greedy answers to ``prompts`` (token ids, in the order they are admitted).

    ``stopped`` says whether a row's tokens so far contain a stop string. When
    all prompts start with the same ``min_shared_prefix`` tokens or more (one
    template), that start runs once and every row's cache begins with it.
    Waiting prompts join once ``refill`` slots are free, or once the free
    slots' prompts hold ``PREFILL_TOKENS`` tokens, or when all that are left
    fit."""
    import torch

    from finegate.harness.system.hf._kv_buffer import layer_tensors, reserved_cache
    from finegate.harness.system.hf._shared_prefix import common_prefix_length

    eos = set(eos_ids)
    refill = default_refill(batch_size) if refill is None else max(1, refill)
    shared = common_prefix_length(list(prompts)) if len(prompts) > 1 else 0
    prefix = _prefix_cache(model, prompts[0][:shared]) if shared >= min_shared_prefix else None
    shared = shared if prefix is not None else 0
    queue = list(range(len(prompts)))[::-1]
    active: list[_Row] = []
    cache: Any = None  # the active rows' keys and values, grown in place
    mask = torch.zeros((0, 0), dtype=torch.long, device=next(model.parameters()).device)
    done: dict[int, Decoded] = {}

    def emit(row: _Row, token: int) -> None:
        if token in eos:
            row.finish = "stop"
            return
        row.tokens.append(token)
        if stopped(row.tokens):
            row.finish = "stop"
        elif len(row.tokens) >= max_new_tokens:
            row.finish = "length"

    def admitting() -> bool:
        free = batch_size - len(active)
        if not queue or free == 0:
            return False
        if not active or free >= min(refill, len(queue)):
            return True
        return sum(len(prompts[i]) - shared for i in queue[-free:]) >= PREFILL_TOKENS

    with _weight_first_head(model):
        while queue or active:
            if admitting():
                admitted = []
                while queue and len(active) + len(admitted) < batch_size:
                    i = queue.pop()
                    admitted.append(_Row(i, len(prompts[i]), time.perf_counter()))
                new_kv, new_mask, first = _prefill(
                    model, [prompts[r.index][shared:] for r in admitted], pad_id, prefix
                )
                for row, token in zip(admitted, first, strict=True):
                    emit(row, token)
                kv, mask = _merge(layer_tensors(cache) if active else [], mask, new_kv, new_mask)
                cache = reserved_cache(kv)
                active += admitted
            keep = [k for k, row in enumerate(active) if row.finish is None]
            for row in active:
                if row.finish is not None:
                    done[row.index] = Decoded(
                        row.tokens, row.finish, time.perf_counter() - row.started
                    )
            if len(keep) < len(active):
                kv, mask = _select(layer_tensors(cache), mask, keep)
                cache = reserved_cache(kv)
                active = [active[k] for k in keep]
            if not active or admitting():
                continue  # admit before stepping, so the step is as full as it will get
            next_tokens, mask = _step(model, cache, mask, active)
            for row, token in zip(active, next_tokens, strict=True):
                emit(row, token)
    return [done[i] for i in range(len(prompts))]


@contextmanager
def _weight_first_head(model: Any) -> Iterator[None]:
    """While decoding on a CPU, compute the output projection as
    ``weight @ hidden.T``. ``F.linear`` repacks the whole vocabulary-sized
    weight on every call, which for the few rows of a decode step costs twice
    the product itself; the model's own forward (and any scaling it applies to
    the logits) is left as it is."""
    import torch

    head = model.get_output_embeddings()
    if type(head) is not torch.nn.Linear or head.bias is not None or head.weight.is_cuda:
        yield
        return

    class WeightFirstLinear(torch.nn.Module):
        def __init__(self, weight: Any):
            super().__init__()
            self.weight = weight

        def forward(self, hidden: Any) -> Any:
            flat = hidden.reshape(-1, hidden.shape[-1])
            return (self.weight @ flat.T).T.reshape(*hidden.shape[:-1], -1)

    model.set_output_embeddings(WeightFirstLinear(head.weight))
    try:
        yield
    finally:
        model.set_output_embeddings(head)


def _cache(kv: list[tuple[Any, Any]]) -> Any:
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=kv)


def _prefix_cache(model: Any, prefix: list[int]) -> list[tuple[Any, Any]] | None:
    """The KV cache of a prompt start shared by every row (batch of one)."""
    import torch

    from finegate.harness.system.hf._kv_buffer import layer_tensors

    if not prefix:
        return None
    device = next(model.parameters()).device
    cache = _cache([])
    with torch.inference_mode():
        model(
            input_ids=torch.tensor([prefix], device=device),
            use_cache=True,
            logits_to_keep=1,
            **cache_argument(model, cache),
        )
    return layer_tensors(cache)


def _prefill(
    model: Any, rows: list[list[int]], pad_id: int, prefix: list[tuple[Any, Any]] | None
) -> tuple[list[tuple[Any, Any]], Any, list[int]]:
    """Run the rows' prompts (after the shared start, if any) and give their
    cache, mask and first answer token."""
    import torch

    from finegate.harness.system.hf._kv_buffer import layer_tensors

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    device = next(model.parameters()).device
    ids, mask, positions = ids.to(device), mask.to(device), positions.to(device)
    cache = _cache([])
    if prefix is not None:
        shared = prefix[0][0].shape[-2]
        n = len(rows)
        cache = _cache([(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in prefix])
        mask = torch.cat([mask.new_ones((n, shared)), mask], dim=1)
        positions = positions + shared
    first = _next_tokens(model, ids, mask, positions, cache)
    return layer_tensors(cache), mask, first


def _merge(
    kv: list[tuple[Any, Any]], mask: Any, new_kv: list[tuple[Any, Any]], new_mask: Any
) -> tuple[list[tuple[Any, Any]], Any]:
    """Stack two groups of rows, left-padding the narrower one's cache and mask."""
    import torch

    if mask.shape[0] == 0:
        return new_kv, new_mask
    width = max(mask.shape[1], new_mask.shape[1])

    def widen(t: Any, w: int) -> Any:
        if t.shape[-2] == w:
            return t
        pad = t.new_zeros((*t.shape[:-2], w - t.shape[-2], t.shape[-1]))
        return torch.cat([pad, t], dim=-2)

    def widen_mask(m: Any, w: int) -> Any:
        if m.shape[1] == w:
            return m
        return torch.cat([m.new_zeros((m.shape[0], w - m.shape[1])), m], dim=1)

    merged = [
        (
            torch.cat([widen(k, width), widen(nk, width)], dim=0),
            torch.cat([widen(v, width), widen(nv, width)], dim=0),
        )
        for (k, v), (nk, nv) in zip(kv, new_kv, strict=True)
    ]
    return merged, torch.cat([widen_mask(mask, width), widen_mask(new_mask, width)], dim=0)


def _select(
    kv: list[tuple[Any, Any]], mask: Any, keep: list[int]
) -> tuple[list[tuple[Any, Any]], Any]:
    """The rows in ``keep``, with columns no remaining row attends to cut away."""
    import torch

    index = torch.tensor(keep, dtype=torch.long, device=mask.device)
    mask = mask.index_select(0, index)
    used = mask.any(dim=0).nonzero()
    start = int(used[0]) if len(used) else mask.shape[1]
    mask = mask[:, start:]
    kv = [
        (k.index_select(0, index)[..., start:, :], v.index_select(0, index)[..., start:, :])
        for k, v in kv
    ]
    return kv, mask


def _step(model: Any, cache: Any, mask: Any, rows: list[_Row]) -> tuple[list[int], Any]:
    """Each row's next token, growing ``cache``; and the grown mask."""
    import torch

    ids = torch.tensor([[row.tokens[-1]] for row in rows], dtype=torch.long, device=mask.device)
    positions = torch.tensor(
        [[row.prompt_len + len(row.tokens) - 1] for row in rows],
        dtype=torch.long,
        device=mask.device,
    )
    mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
    return _next_tokens(model, ids, mask, positions, cache), mask


def _next_tokens(model: Any, ids: Any, mask: Any, positions: Any, cache: Any) -> list[int]:
    """One forward pass, growing ``cache``: each row's greedy next token."""
    import torch

    with torch.inference_mode():
        out = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **cache_argument(model, cache),
        )
    return out.logits[:, -1, :].argmax(-1).tolist()


@functools.cache
def _cache_keyword(model_class: type) -> str:
    parameters = inspect.signature(model_class.forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"


def cache_argument(model: Any, cache: Any) -> dict[str, Any]:
    """The KV cache as the model's forward names it: ``cache`` in current
    transformers, ``past_key_values`` before (passing the old name now earns a
    deprecation warning per call site)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return {_cache_keyword(type(base)): cache}
