"""Continuations that share a context are scored in one row, with the same numbers
as one plain forward pass per request."""

from __future__ import annotations

import pytest
import torch

from finegate.harness.system.hf import _shared_prefix as sp


def test_rows_group_by_context_and_lay_out_tokens_positions_and_scored_slots():
    items = [
        ([5, 6, 7, 20], [20, 21]),  # context 5 6 7, continuation 20 21
        ([5, 6, 7], [30]),
        ([5, 6, 7, 40, 41], [40, 41, 42]),
        ([9, 9], [9]),
        ([5, 6], []),  # empty continuation: no pass
    ]
    rows = sp.group_by_prefix(items)
    assert [(r.prefix, r.owners) for r in rows] == [((5, 6, 7), (0, 1, 2)), ((9, 9), (3,))]
    row = rows[0]
    assert row.tokens() == [5, 6, 7, 20, 40, 41]
    assert row.positions() == [0, 1, 2, 3, 3, 4]
    assert row.scored_positions() == [[2, 3], [2], [2, 4, 5]]
    assert (row.tail, row.length) == (3, 6)


def test_mask_lets_each_continuation_see_the_context_and_itself_only():
    row = sp.group_by_prefix([([1, 2, 3], [3, 4]), ([1, 2, 5, 6], [5, 6, 7])])[0]
    mask = sp.attention_mask([row], width=6, dtype=torch.float32)
    allowed = (mask[0, 0] == 0).int().tolist()
    assert allowed == [
        [1, 0, 0, 0, 0, 0],  # padding sees itself
        [0, 1, 0, 0, 0, 0],  # context token 1
        [0, 1, 1, 0, 0, 0],  # context token 2
        [0, 1, 1, 1, 0, 0],  # first continuation: context + itself
        [0, 1, 1, 0, 1, 0],  # second continuation, token 1: not the first continuation
        [0, 1, 1, 0, 1, 1],
    ]


def _tiny_llama(seed: int = 3):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    return LlamaForCausalLM(config).eval()


def _alone(model, inputs: list[int], cont: list[int]) -> float:
    """The reference: one unpadded sequence, full logits, no shared anything."""
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([inputs])).logits[0].float()
    lp = torch.log_softmax(logits, dim=-1)[-len(cont) :]
    return float(lp.gather(-1, torch.tensor(cont)[:, None]).sum())


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_shared_rows_give_the_log_likelihoods_of_separate_passes(attn):
    model = _tiny_llama()
    model.config._attn_implementation = attn
    gen = torch.Generator().manual_seed(0)
    items = []
    for q in range(3):
        context = torch.randint(1, 64, (4 + 3 * q,), generator=gen).tolist()
        for n in (1, 2, 4):
            cont = torch.randint(1, 64, (n,), generator=gen).tolist()
            items.append((context + cont[:-1], cont))
    rows = sorted(sp.group_by_prefix(items), key=lambda r: -r.length)
    ids, positions = sp.pack(rows, pad_id=0)
    mask = sp.attention_mask(rows, ids.shape[1], torch.float32)
    keep = max(r.tail for r in rows) + 1
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
    logprobs = torch.log_softmax(logits[:, -keep:].float(), dim=-1)
    got = {owner: lp for owner, lp, _ in sp.continuation_logprobs(logprobs, rows)}
    assert sorted(got) == list(range(9))
    for k, (inputs, cont) in enumerate(items):
        assert got[k] == pytest.approx(_alone(model, inputs, cont), abs=1e-5), k


def test_common_prefix_leaves_every_row_a_token_of_its_own():
    assert sp.common_prefix_length([[1, 2, 3, 4], [1, 2, 3, 9, 9]]) == 3
    assert sp.common_prefix_length([[1, 2, 3], [1, 2, 3, 4]]) == 2
    assert sp.common_prefix_length([[7, 2], [1, 2]]) == 0


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_gpt2"])
def test_prompts_sharing_a_start_generate_as_they_do_one_by_one(arch, request):
    from finegate.harness import HFModel
    from finegate.harness.core import GenerateRequest, GenerationParams

    path = request.getfixturevalue(arch)
    start = "You are a careful assistant for the town library. Answer briefly. "
    prompts = [start + q for q in ("Opening hours?", "Can I renew a loan online?", "Fines", "?")]
    params = GenerationParams(max_new_tokens=12, stop=("zz",))
    asks = [GenerateRequest(p, params) for p in prompts]
    batched = HFModel(str(path), batch_size=4)
    rows = [batched._encode(p) for p in prompts]
    assert sp.common_prefix_length(rows) >= 16  # the shared-start path is taken
    together = [g.text for g in batched.generate(asks)]
    alone = [g.text for g in HFModel(str(path), batch_size=1).generate(asks)]
    assert together == alone
    assert len(set(together)) > 1
