"""Generation for ``HFModel``: greedy requests by continuous batching (``_decode``),
the rest (sampling, caches that are not plain per-layer ones) through
transformers' ``generate`` in length-sorted, left-padded batches.

``Generating`` is mixed into ``HFModel``: it uses the model's tokenizer, its
weights and its encoding helpers (``render``, ``_encode``, ``_max_length``,
``_left_pad``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from finegate.harness.core import (
    GenerateRequest,
    Generation,
    GenerationParams,
)

STOP_WINDOW = 64
"""Tokens at the end of an answer decoded to look for a stop string."""


class Generating:
    """``HFModel.generate``, and the stop and end-of-sequence handling it needs."""

    def _eos_ids(self) -> list[int]:
        ids: set[int] = set()
        for source in (
            self.tokenizer.eos_token_id,
            getattr(self.model.generation_config, "eos_token_id", None),
        ):
            if isinstance(source, int):
                ids.add(source)
            elif isinstance(source, list | tuple):
                ids.update(int(i) for i in source)
        return sorted(ids)

    def _stop_criteria(self, stops: tuple[str, ...]) -> Any:
        """transformers' stop-string matcher, built once per set of stop strings:
        building it embeds the whole vocabulary (about a second per batch here)."""
        if stops not in self._stoppers:
            from transformers import StoppingCriteriaList, StopStringCriteria

            self._stoppers[stops] = StoppingCriteriaList(
                [StopStringCriteria(self.tokenizer, list(stops))]
            )
        return self._stoppers[stops]

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Generation]:
        if not requests:
            return []
        encoded = [self._encode(self.render(r.prompt)) for r in requests]
        order = sorted(
            range(len(requests)),
            key=lambda i: (_params_key(requests[i].params), -len(encoded[i]), i),
        )
        results: list[Generation | None] = [None] * len(requests)
        if self._continuous_batching():
            groups: dict[str, list[int]] = {}
            for i in order:
                if requests[i].params.greedy:
                    groups.setdefault(_params_key(requests[i].params), []).append(i)
            for group in groups.values():
                self._decode_greedy(group, requests, encoded, results)
            order = [i for i in order if results[i] is None]
        batch: list[int] = []
        for i in order:
            if batch and (
                len(batch) == self.batch_size or requests[batch[0]].params != requests[i].params
            ):
                self._generate_batch(batch, requests, encoded, results)
                batch = []
            batch.append(i)
        if batch:
            self._generate_batch(batch, requests, encoded, results)
        return [r for r in results if r is not None]

    def _continuous_batching(self) -> bool:
        if self._continuous is None:
            from finegate.harness.system.hf._decode import supports_continuous_batching

            self._continuous = supports_continuous_batching(self.model)
        return self._continuous

    def _decode_greedy(
        self,
        group: list[int],
        requests: Sequence[GenerateRequest],
        encoded: list[list[int]],
        results: list[Generation | None],
    ) -> None:
        """Greedy requests with the same settings, by continuous batching."""
        from finegate.harness.system.hf._decode import greedy_decode

        params = requests[group[0]].params
        budget = max(1, self._max_length() - params.max_new_tokens)
        start = self.tokenizer.bos_token_id
        start = self.tokenizer.eos_token_id if start is None else start
        # an empty prompt still needs one token to condition on
        rows = [encoded[i][-budget:] or [start or 0] for i in group]
        stops = params.stop

        def stopped(tokens: list[int]) -> bool:
            if not stops:
                return False
            text = self.tokenizer.decode(tokens[-STOP_WINDOW:], skip_special_tokens=True)
            return any(stop in text for stop in stops)

        decoded = greedy_decode(
            self.model,
            rows,
            max_new_tokens=params.max_new_tokens,
            batch_size=self.batch_size,
            eos_ids=self._eos_ids(),
            pad_id=self.tokenizer.pad_token_id,
            stopped=stopped,
        )
        for i, row, answer in zip(group, rows, decoded, strict=True):
            results[i] = self._generation(
                answer.tokens, answer.finish, stops, len(row), answer.seconds
            )

    def _generation(
        self,
        tokens: list[int],
        finish: str,
        stops: tuple[str, ...],
        prompt_tokens: int,
        seconds: float,
    ) -> Generation:
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        for stop in stops:
            cut = text.find(stop)
            if cut != -1:
                text, finish = text[:cut], "stop"
        return Generation(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(tokens),
            finish_reason=finish,
            latency_s=seconds,
        )

    def _generate_batch(
        self,
        batch: list[int],
        requests: Sequence[GenerateRequest],
        encoded: list[list[int]],
        results: list[Generation | None],
    ) -> None:
        import torch
        from transformers import GenerationConfig

        params = requests[batch[0]].params
        budget = max(1, self._max_length() - params.max_new_tokens)
        rows = [encoded[i][-budget:] for i in batch]
        ids, mask, _ = self._left_pad(rows)
        eos = self._eos_ids()
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=not params.greedy,
            temperature=params.temperature if not params.greedy else None,
            top_p=params.top_p if not params.greedy else None,
            top_k=None,
            eos_token_id=eos or None,
            pad_token_id=self.tokenizer.pad_token_id,
            use_cache=True,
        )
        extra: dict[str, Any] = {}
        if params.stop:
            extra = {"stopping_criteria": self._stop_criteria(params.stop)}
        if not params.greedy:
            torch.manual_seed(params.seed)
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids, attention_mask=mask, generation_config=config, **extra
            )
        elapsed = time.perf_counter() - start
        new_tokens = out[:, ids.shape[1] :].tolist()
        for row, i in enumerate(batch):
            tokens = new_tokens[row]
            finish = "length"
            for j, t in enumerate(tokens):
                if t in eos:
                    tokens, finish = tokens[:j], "stop"
                    break
            results[i] = self._generation(tokens, finish, params.stop, len(rows[row]), elapsed)


def _params_key(params: GenerationParams) -> str:
    return json.dumps(params.to_dict(), sort_keys=True)
