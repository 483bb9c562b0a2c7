"""Scoring for ``HFModel``: log-likelihoods split as lm-eval splits them, the LM
head computed only where a token is scored, and continuations that share a
context scored in one row (``_shared_prefix``); texts longer than the context
in lm-eval's rolling windows.

``Scoring`` is mixed into ``HFModel``: it uses the model's tokenizer, its
weights and its encoding helpers (``render``, ``_encode``, ``_max_length``).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from typing import Any

from finegate.harness.core import (
    Loglikelihood,
    LoglikelihoodRequest,
)


class Scoring:
    """``HFModel.loglikelihood``: whole texts or continuations after a context."""

    def _split_tokens(self, request: LoglikelihoodRequest) -> tuple[list[int], list[int]]:
        """Context and continuation tokens, split as lm-eval splits them: trailing
        whitespace moves to the continuation, and the continuation's tokens are
        those of the whole text after the context's, so merges across the seam count."""
        context = self.render(request.context)
        continuation = request.continuation
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces and isinstance(request.context, str):
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self._encode(context + continuation)
        ctx = self._encode(context)
        cont = whole[len(ctx) :]
        if not ctx:
            prefix = self.tokenizer.bos_token_id
            if prefix is None:
                prefix = self.tokenizer.eos_token_id
            ctx = [prefix if prefix is not None else self.tokenizer.pad_token_id]
        return ctx, cont

    def _supports_logits_to_keep(self) -> bool:
        if self._keep_logits is None:
            base = (
                self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
            )
            self._keep_logits = "logits_to_keep" in inspect.signature(base.forward).parameters
        return self._keep_logits

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Loglikelihood]:
        if not requests:
            return []
        max_len = self._max_length()
        items: list[tuple[list[int], list[int]]] = []
        owner: list[int] = []
        for k, r in enumerate(requests):
            ctx, cont = self._split_tokens(r)
            if r.context == "" and len(cont) > max_len:
                windows = rolling_windows(ctx[0], cont, max_len)
            else:
                full = (ctx + cont)[-(max_len + 1) :]
                windows = [(full[:-1], cont)]
            items += windows
            owner += [k] * len(windows)
        by_request: list[list[Loglikelihood]] = [[] for _ in requests]
        for k, part in zip(owner, self._score_items(items), strict=True):
            by_request[k].append(part)
        out: list[Loglikelihood] = []
        for parts in by_request:
            out.append(
                Loglikelihood(
                    sum(p.logprob for p in parts),
                    all(p.is_greedy for p in parts),
                    sum(p.n_tokens for p in parts),
                    max(p.latency_s for p in parts),
                )
            )
        return out

    def _score_items(self, items: list[tuple[list[int], list[int]]]) -> list[Loglikelihood]:
        """Log-probability of each item's continuation tokens, given its input ids
        (the context and all but the last continuation token). Items that share a
        context are scored in one row (``_shared_prefix``): the context runs once."""
        import torch

        from finegate.harness.system.hf import _shared_prefix as sp

        results: list[Loglikelihood | None] = [
            None if cont else Loglikelihood(0.0, True, 0, 0.0) for _, cont in items
        ]
        rows = sp.group_by_prefix(items)
        rows.sort(key=lambda row: -row.length)
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start : start + self.batch_size]
            t0 = time.perf_counter()
            keep = max(row.tail for row in batch) + 1
            ids, positions = sp.pack(batch, self.tokenizer.pad_token_id)
            ids, positions = ids.to(self.device), positions.to(self.device)
            if all(len(row.continuations) == 1 for row in batch):  # plain causal rows
                mask = sp.padding_mask(batch, ids.shape[1]).to(self.device)
            else:
                mask = sp.attention_mask(batch, ids.shape[1], self.model.dtype).to(self.device)
            kwargs: dict[str, Any] = {"use_cache": False}
            if self._supports_logits_to_keep():
                kwargs["logits_to_keep"] = keep
            with torch.inference_mode():
                logits = self.model(
                    input_ids=ids, attention_mask=mask, position_ids=positions, **kwargs
                ).logits[:, -keep:, :]
                logprobs = torch.log_softmax(logits.float(), dim=-1)
                scored = sp.continuation_logprobs(logprobs, batch)
            elapsed = time.perf_counter() - t0
            for owner, logprob, greedy in scored:
                results[owner] = Loglikelihood(logprob, greedy, len(items[owner][1]), elapsed)
        return [r for r in results if r is not None]


def rolling_windows(
    prefix: int, tokens: list[int], max_len: int
) -> list[tuple[list[int], list[int]]]:
    """A text longer than the model's context, as disjoint windows that each
    predict new tokens with as much preceding context as fits: lm-eval's
    ``loglikelihood_rolling`` scheme (``get_rolling_token_windows`` with a context
    length of 1, then ``make_disjoint_window``), so perplexities agree with it.
    Each window is (input ids, predicted tokens)."""
    first = min(max_len, len(tokens))
    windows = [([prefix, *tokens[: first - 1]], tokens[:first])]
    predicted = first
    while predicted < len(tokens):
        n = min(len(tokens) - predicted, max_len)
        end = predicted + n
        context = tokens[max(end - max_len - 1, 0) : end - 1]
        windows.append((context, tokens[end - n : end]))
        predicted += n
    return [(ctx[: len(ctx) - (len(pred) - 1)] + pred[:-1], pred) for ctx, pred in windows]
