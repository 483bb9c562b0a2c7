"""Examples to token ids, with the loss on the answer only.

The prompt is rendered by the same function evaluation uses (``render_prompt``),
so a fine-tune learns to answer exactly the text it will be asked. The answer
is what the chat template puts after that prompt for the assistant's turn, up
to and including its end-of-turn token (for a model without a chat template:
the answer and the end-of-sequence token). Prompt tokens get the label -100.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from finegate.harness.core import Message
from finegate.harness.system.hf import render_prompt, uses_chat_template

IGNORE = -100


def _completion_text(tokenizer: Any, messages: tuple[Message, ...], prompt_text: str) -> str | None:
    full = tokenizer.apply_chat_template([asdict(m) for m in messages], tokenize=False)
    if not full.startswith(prompt_text):
        return None
    completion = full[len(prompt_text) :]
    eos = tokenizer.eos_token
    if eos and eos in completion:
        completion = completion[: completion.index(eos) + len(eos)]
    return completion


def encode_example(
    tokenizer: Any, messages: tuple[Message, ...], *, max_length: int, chat: str = "auto"
) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` for one conversation whose last turn is the answer."""
    *prompt, answer = messages
    if answer.role != "assistant":
        raise ValueError("the last message of a training example must be the assistant's")
    prompt_text = render_prompt(tokenizer, tuple(prompt), chat) if prompt else ""
    prompt_ids = list(tokenizer(prompt_text, add_special_tokens=False)["input_ids"])
    completion = None
    if prompt and uses_chat_template(tokenizer, chat):
        completion = _completion_text(tokenizer, messages, prompt_text)
    if completion is not None:
        completion_ids = list(tokenizer(completion, add_special_tokens=False)["input_ids"])
    else:
        completion_ids = list(tokenizer(answer.content, add_special_tokens=False)["input_ids"])
        if tokenizer.eos_token_id is not None:
            completion_ids.append(tokenizer.eos_token_id)
    completion_ids = completion_ids[: max_length - 1]
    prompt_ids = prompt_ids[-(max_length - len(completion_ids)) :] if prompt_ids else []
    if not prompt_ids:  # something to condition on for the first answer token
        start = (
            tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        )
        prompt_ids = [start if start is not None else 0]
    return prompt_ids + completion_ids, [IGNORE] * len(prompt_ids) + completion_ids


def collate(batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors; padding is masked and never scored."""
    import torch

    width = max((len(ids) for ids, _ in batch), default=1)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, (ids, labs) in enumerate(batch):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, : len(labs)] = torch.tensor(labs)
        mask[i, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


PASS_OVERHEAD_TOKENS = 256
"""What one more forward/backward pass costs, in padded tokens: splitting a batch
pays off only when it saves more padding than this."""


def length_groups(lengths: list[int], overhead: int = PASS_OVERHEAD_TOKENS) -> list[list[int]]:
    """A batch's indices split into micro-batches of similar length.

    A batch is padded to its longest example, so one long answer makes every
    short one pay for its length. Sorted by length and cut where it saves the
    most padded tokens (net of ``overhead`` per pass), the batch does the same
    work with less padding; the gradient is the same sum over examples."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    n = len(order)
    cost = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        longest = lengths[order[j - 1]]
        for i in range(j):
            c = cost[i] + (j - i) * longest + overhead
            if c < cost[j]:
                cost[j], cut[j] = c, i
    groups = []
    j = n
    while j > 0:
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]


def micro_batches(
    examples: list[tuple[list[int], list[int]]], pad_id: int, device: Any
) -> Iterator[dict[str, Any]]:
    """A batch's examples as collated, on-device micro-batches (``length_groups``)."""
    for group in length_groups([len(ids) for ids, _ in examples]):
        data = collate([examples[k] for k in group], pad_id)
        yield {k: v.to(device) for k, v in data.items()}


def sequence_losses(logits: Any, labels: Any) -> Any:
    """Mean token loss of each sequence's answer: one example is one unit, as
    differential privacy needs, and long answers do not outweigh short ones."""
    import torch

    shift_logits = logits[:, :-1, :].float()
    shift_labels = labels[:, 1:]
    token_loss = torch.nn.functional.cross_entropy(
        shift_logits.reshape(-1, shift_logits.size(-1)),
        shift_labels.reshape(-1),
        ignore_index=IGNORE,
        reduction="none",
    ).view(shift_labels.shape)
    counts = (shift_labels != IGNORE).sum(dim=1).clamp(min=1)
    return token_loss.sum(dim=1) / counts


def _body_and_head(model: Any) -> tuple[Any, Any]:
    """The transformer body and the LM head of a (peft, opacus-wrapped) causal LM,
    or (None, None) when the head is not a plain projection of the last hidden state."""
    inner = getattr(model, "_module", model)
    base = inner.get_base_model() if hasattr(inner, "get_base_model") else inner
    config = getattr(base, "config", None)
    if getattr(config, "final_logit_softcapping", None):
        return None, None
    body = getattr(base, getattr(base, "base_model_prefix", ""), None)
    head = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
    return body, head


def answer_losses(model: Any, data: dict[str, Any]) -> Any:
    """``sequence_losses`` computed with the LM head only at the answer's positions.

    A small model's head over a large vocabulary costs as much as its body, and
    its logits for every prompt position dominate the memory of a step; only the
    answer tokens are scored, so only their logits are computed."""
    import torch

    body, head = _body_and_head(model)
    labels = data["labels"]
    if body is None or head is None:
        logits = model(input_ids=data["input_ids"], attention_mask=data["attention_mask"]).logits
        return sequence_losses(logits, labels)
    hidden = body(input_ids=data["input_ids"], attention_mask=data["attention_mask"])[0]
    targets = labels[:, 1:]
    scored = targets != IGNORE
    logits = head(hidden[:, :-1][scored]).float()
    token_loss = torch.nn.functional.cross_entropy(logits, targets[scored], reduction="none")
    rows = scored.nonzero()[:, 0]
    sums = torch.zeros(labels.shape[0], dtype=token_loss.dtype, device=token_loss.device)
    sums = sums.index_add(0, rows, token_loss)
    return sums / scored.sum(dim=1).clamp(min=1)
