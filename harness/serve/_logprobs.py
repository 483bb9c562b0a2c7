"""Prompt log-probabilities (``echo`` with ``logprobs``), as the OpenAI
completions API returns them, for a served transformers model."""

from __future__ import annotations

from typing import Any

from finegate.harness.system import System


def _scoring_model(system: System) -> Any:
    """The transformers model behind ``system`` when its prompts reach the model
    unchanged (no template in between), else ``None``."""
    from finegate.harness.system import HFModel

    return system if isinstance(system, HFModel) else None


def prompt_logprobs(model: Any, text: str, top: int) -> dict[str, Any]:
    """The OpenAI ``logprobs`` object of a prompt scored by itself: each token's
    log-probability given the tokens before it (``None`` for the first)."""
    import torch

    ids = model._encode(text)
    tokenizer = model.tokenizer
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = [start for start, _ in enc["offset_mapping"]]
        if len(offsets) != len(ids):  # a BOS token was added in front
            offsets = [0] * (len(ids) - len(offsets)) + offsets
    else:
        offsets = [
            len(tokenizer.decode(ids[:i], skip_special_tokens=True)) for i in range(len(ids))
        ]
    tokens = [tokenizer.decode([t]) for t in ids]
    token_lps: list[float | None] = [None]
    tops: list[dict[str, float] | None] = [None]
    if len(ids) > 1:
        with torch.inference_mode():
            input_ids = torch.tensor([ids[:-1]], device=model.device)
            logits = model.model(input_ids=input_ids, use_cache=False).logits[0]
            lp = torch.log_softmax(logits.float(), dim=-1)
        target = torch.tensor(ids[1:], device=lp.device)
        token_lps += [float(x) for x in lp.gather(-1, target[:, None]).squeeze(-1)]
        k = max(1, min(int(top), 20))
        values, indices = lp.topk(k, dim=-1)
        for vs, ix in zip(values.tolist(), indices.tolist(), strict=True):
            row: dict[str, float] = {}
            for v, i in zip(vs, ix, strict=True):
                row.setdefault(tokenizer.decode([i]), v)
            tops.append(row)
    return {
        "tokens": tokens,
        "token_logprobs": token_lps,
        "text_offset": offsets,
        "top_logprobs": tops,
    }
