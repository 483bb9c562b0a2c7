"""Continuous batching gives each prompt the answer plain ``generate`` gives it alone."""

from __future__ import annotations

import pytest
import torch

from finegate.harness.system.hf import greedy_decode, supports_continuous_batching


def _stop_at_multiple_of_five(tokens: list[int]) -> bool:
    return tokens[-1] % 5 == 0


def _alone(model, prompt: list[int], max_new: int, eos: int) -> list[int]:
    """The reference: transformers' own greedy ``generate``, one prompt, then the
    same cut (at end of sequence, or after the first token that stops)."""
    with torch.inference_mode():
        out = model.generate(
            input_ids=torch.tensor([prompt]),
            attention_mask=torch.ones((1, len(prompt)), dtype=torch.long),
            max_new_tokens=max_new,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=0,
        )
    tokens = []
    for t in out[0, len(prompt) :].tolist():
        if t == eos:
            break
        tokens.append(t)
        if _stop_at_multiple_of_five(tokens):
            break
    return tokens


@pytest.mark.parametrize(
    ("shared", "batch_size", "refill"),
    [(0, 2, 1), (20, 2, 1), (20, 4, None)],  # None: wait for half the batch to be free
)
def test_refilled_batches_answer_as_each_prompt_alone(tiny_llama, shared, batch_size, refill):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32).eval()
    with torch.no_grad():  # sharp attention: a wrong position or cache column shows
        for layer in model.model.layers:
            layer.self_attn.q_proj.weight.mul_(8.0)
            layer.self_attn.k_proj.weight.mul_(8.0)
    assert supports_continuous_batching(model)
    gen = torch.Generator().manual_seed(5)
    start = torch.randint(3, 380, (shared,), generator=gen).tolist()
    prompts = [
        start + torch.randint(3, 380, (n,), generator=gen).tolist() for n in (9, 30, 4, 17, 12, 25)
    ]
    head = model.get_output_embeddings()
    got = greedy_decode(
        model,
        prompts,
        max_new_tokens=14,
        batch_size=batch_size,  # six prompts through fewer slots: rows leave and join mid-way
        eos_ids=[1],
        pad_id=0,
        stopped=_stop_at_multiple_of_five,
        min_shared_prefix=16,
        refill=refill,
    )
    assert model.get_output_embeddings() is head  # the decoding head is put back
    want = [_alone(model, p, 14, eos=1) for p in prompts]
    assert [g.tokens for g in got] == want
    lengths = {len(w) for w in want}
    assert len(lengths) > 2  # rows really finish at different steps
    assert [g.finish for g in got] == ["length" if len(w) == 14 else "stop" for w in want]


def test_an_empty_prompt_is_answered_after_a_start_token(tiny_llama):
    from finegate.harness import HFModel
    from finegate.harness.core import GenerateRequest, GenerationParams

    params = GenerationParams(max_new_tokens=5)
    model = HFModel(str(tiny_llama), batch_size=2)
    empty, other = model.generate([GenerateRequest("", params), GenerateRequest("Hello", params)])
    assert empty.prompt_tokens == 1 and other.prompt_tokens == 5
    assert empty.completion_tokens + other.completion_tokens > 0


def test_short_prompts_wait_for_half_the_batch(tiny_llama, monkeypatch):
    """One short prompt alone makes a slow prefill: admissions come in groups
    of at least half the batch, except for the last prompt."""
    from transformers import AutoModelForCausalLM

    import finegate.harness.system.hf._decode as decode

    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32).eval()
    groups: list[int] = []
    real_prefill = decode._prefill

    def counting_prefill(model, rows, pad_id, prefix):
        groups.append(len(rows))
        return real_prefill(model, rows, pad_id, prefix)

    monkeypatch.setattr(decode, "_prefill", counting_prefill)
    gen = torch.Generator().manual_seed(11)
    prompts = [torch.randint(3, 380, (6,), generator=gen).tolist() for _ in range(13)]
    got = greedy_decode(
        model,
        prompts,
        max_new_tokens=12,
        batch_size=4,
        eos_ids=[],
        pad_id=0,
        stopped=lambda tokens: tokens[-1] % 7 == 0,
    )
    assert len({len(g.tokens) for g in got}) > 3  # rows finish at many different steps
    assert groups[0] == 4 and sum(groups) == 13
    assert all(n >= 2 for n in groups[:-1]), groups
    assert len(groups) < 13 - 4 + 1  # fewer prefills than one per later prompt
