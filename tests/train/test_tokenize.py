"""Length-sorted micro-batches: less padding, the same gradient."""

from __future__ import annotations

import torch

from finegate.harness.core import quiet_library_noise
from finegate.train._tokenize import answer_losses, collate, length_groups


def test_a_batch_splits_where_it_saves_padding():
    lengths = [10, 400, 12, 390, 15, 11, 405, 380]
    # one pass: 8 x 405 + 256 = 3496 padded tokens; short four and long four:
    # (4 x 15 + 256) + (4 x 405 + 256) = 2192; no further cut saves more than 256
    assert length_groups(lengths) == [[0, 5, 2, 4], [7, 3, 1, 6]]
    assert length_groups([100, 101, 99]) == [[2, 0, 1]]  # nothing worth a second pass
    assert length_groups([]) == []


def test_micro_batches_give_the_gradient_of_one_pass(tiny_chat_llama):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    quiet_library_noise()  # as finegate's own loading does
    base = AutoModelForCausalLM.from_pretrained(tiny_chat_llama, dtype=torch.float32)
    lora = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    model = get_peft_model(base, lora)
    gen = torch.Generator().manual_seed(1)
    examples = []
    for n_prompt, n_answer in [(5, 3), (300, 20), (7, 2), (280, 40), (6, 4)]:
        ids = torch.randint(3, 300, (n_prompt + n_answer,), generator=gen).tolist()
        examples.append((ids, [-100] * n_prompt + ids[n_prompt:]))

    def grads() -> list[torch.Tensor]:
        return [p.grad.clone() for p in model.parameters() if p.requires_grad]

    answer_losses(model, collate(examples, 0)).mean().backward()
    whole = grads()
    model.zero_grad()
    groups = length_groups([len(ids) for ids, _ in examples])
    assert len(groups) == 2
    for group in groups:
        losses = answer_losses(model, collate([examples[k] for k in group], 0))
        (losses.sum() / len(examples)).backward()
    for a, b in zip(whole, grads(), strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_dp_micro_batches_clip_each_example_once(tiny_chat_llama):
    """opacus sees one batch of per-example gradients, not several: the update
    equals the one-pass update (clipping active, noise off)."""
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from finegate.train.dp_sgd.trainer import private_backward

    gen = torch.Generator().manual_seed(2)
    examples = []
    for n_prompt, n_answer in [(5, 3), (300, 20), (7, 2), (280, 40)]:
        ids = torch.randint(3, 300, (n_prompt + n_answer,), generator=gen).tolist()
        examples.append((ids, [-100] * n_prompt + ids[n_prompt:]))

    def updated(split: bool) -> list[torch.Tensor]:
        torch.manual_seed(0)
        quiet_library_noise()  # as finegate's own loading does
        base = AutoModelForCausalLM.from_pretrained(tiny_chat_llama, dtype=torch.float32)
        lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
        model = GradSampleModule(get_peft_model(base, lora))
        model.forbid_grad_accumulation()  # as opacus' engine sets it under Poisson sampling
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = DPOptimizer(
            torch.optim.SGD(params, lr=1.0),
            noise_multiplier=0.0,
            max_grad_norm=1e-3,  # every example's gradient is clipped
            expected_batch_size=len(examples),
        )
        if split:
            assert len(length_groups([len(i) for i, _ in examples])) == 2
            private_backward(model, optimizer, examples, 0, "cpu")
        else:
            answer_losses(model, collate(examples, 0)).mean().backward()
        optimizer.step()
        return [p.detach().clone() for p in params]

    for a, b in zip(updated(False), updated(True), strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)
