"""Scoring several continuations of one context in a single forward pass.

A multiple-choice question asks for the log-likelihood of each answer after the
same context, and the context is most of the tokens: four answers of six tokens
after a sixty-token prompt cost 264 token positions one by one, but 84 when the
answers share the prompt. Each row here is one context followed by the input
tokens of all its continuations side by side; a 4-D attention mask lets every
continuation see the context and its own earlier tokens only, and position ids
restart after the context for each continuation. Every continuation thus sees
exactly what it would see alone, so its log-likelihood is the same number (to
float rounding) as with one sequence per request.

Rows are padded on the left, so the positions that are scored (the context's
last token and each continuation's inputs) sit at the end of every row and the
LM head runs only there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class SharedRow:
    """One context and the continuations scored after it.

    ``prefix`` is the context's token ids; ``continuations`` the predicted tokens
    of each continuation; ``owners`` the index of the item each one answers."""

    prefix: tuple[int, ...]
    continuations: tuple[tuple[int, ...], ...]
    owners: tuple[int, ...]

    @property
    def tail(self) -> int:
        """Input positions after the context: each continuation but its last token."""
        return sum(len(c) - 1 for c in self.continuations)

    @property
    def length(self) -> int:
        return len(self.prefix) + self.tail

    def tokens(self) -> list[int]:
        out = list(self.prefix)
        for cont in self.continuations:
            out += cont[:-1]
        return out

    def positions(self) -> list[int]:
        start = len(self.prefix)
        out = list(range(start))
        for cont in self.continuations:
            out += range(start, start + len(cont) - 1)
        return out

    def scored_positions(self) -> list[list[int]]:
        """For each continuation, the row-local positions whose logits predict its tokens."""
        last = len(self.prefix) - 1
        out = []
        start = len(self.prefix)
        for cont in self.continuations:
            n = len(cont) - 1
            out.append([last, *range(start, start + n)])
            start += n
        return out


def group_by_prefix(items: list[tuple[list[int], list[int]]]) -> list[SharedRow]:
    """Items ``(input ids, predicted tokens)`` gathered into rows by their context.

    An item's context is its input ids without the continuation's own inputs;
    items with an empty continuation are left out (they score 0 without a pass)."""
    rows: dict[tuple[int, ...], list[tuple[tuple[int, ...], int]]] = {}
    for index, (inputs, cont) in enumerate(items):
        if not cont:
            continue
        prefix = tuple(inputs[: len(inputs) - (len(cont) - 1)])
        rows.setdefault(prefix, []).append((tuple(cont), index))
    return [
        SharedRow(prefix, tuple(c for c, _ in members), tuple(i for _, i in members))
        for prefix, members in rows.items()
    ]


def attention_mask(rows: list[SharedRow], width: int, dtype: torch.dtype) -> torch.Tensor:
    """An additive ``(batch, 1, width, width)`` mask for left-padded rows: the
    context is causal, and each continuation sees the context and itself."""
    import torch

    allowed = torch.zeros((len(rows), width, width), dtype=torch.bool)
    for r, row in enumerate(rows):
        offset = width - row.length
        p = len(row.prefix)
        block = torch.tril(torch.ones((p, p), dtype=torch.bool))
        allowed[r, offset : offset + p, offset : offset + p] = block
        start = offset + p
        for cont in row.continuations:
            n = len(cont) - 1
            if n:
                allowed[r, start : start + n, offset : offset + p] = True
                own = torch.tril(torch.ones((n, n), dtype=torch.bool))
                allowed[r, start : start + n, start : start + n] = own
            start += n
        # padding queries attend to themselves: no row of the softmax is empty
        pads = torch.arange(offset)
        allowed[r, pads, pads] = True
    mask = torch.zeros((len(rows), 1, width, width), dtype=dtype)
    return mask.masked_fill(~allowed[:, None], torch.finfo(dtype).min)


def padding_mask(rows: list[SharedRow], width: int) -> torch.Tensor:
    """The ordinary 2-D mask, for a batch where every row has one continuation."""
    import torch

    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        mask[r, width - row.length :] = 1
    return mask


def pack(rows: list[SharedRow], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded token ids and position ids for a batch of rows."""
    import torch

    width = max(row.length for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, width - row.length :] = torch.tensor(row.tokens(), dtype=torch.long)
        positions[r, width - row.length :] = torch.tensor(row.positions(), dtype=torch.long)
    return ids, positions


def common_prefix_length(rows: list[list[int]]) -> int:
    """How many leading tokens every row shares, leaving each row at least one of its own."""
    if not rows:
        return 0
    n = min(len(r) for r in rows) - 1
    first = rows[0]
    for k in range(max(n, 0)):
        if any(r[k] != first[k] for r in rows[1:]):
            return k
    return max(n, 0)


def continuation_logprobs(
    logprobs: torch.Tensor, rows: list[SharedRow]
) -> list[tuple[int, float, bool]]:
    """``(item index, log-likelihood, greedy)`` for every continuation of a batch.

    ``logprobs`` holds the last ``keep`` positions of each left-padded row."""
    import torch

    keep = logprobs.shape[1]
    out = []
    for r, row in enumerate(rows):
        base = keep - row.length  # row-local position 0 in the kept window
        for cont, owner, where in zip(
            row.continuations, row.owners, row.scored_positions(), strict=True
        ):
            index = torch.tensor([base + w for w in where], device=logprobs.device)
            lp = logprobs[r, index, :]
            target = torch.tensor(cont, device=logprobs.device)
            token_lp = lp.gather(-1, target[:, None]).squeeze(-1)
            greedy = bool((lp.argmax(-1) == target).all())
            out.append((owner, float(token_lp.sum()), greedy))
    return out
