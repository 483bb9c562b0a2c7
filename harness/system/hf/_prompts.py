"""The exact text a model sees for a prompt: its chat template when it has one,
plain text otherwise. Training renders prompts with the same function, so a
fine-tune learns to answer exactly the text it is evaluated on."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from finegate.harness.core import CapabilityError, Prompt
from finegate.harness.system._protocol import render_plain


def uses_chat_template(tokenizer: Any, chat: str = "auto") -> bool:
    """``auto``: the tokenizer's chat template when it has one; ``on``: required; ``off``: never."""
    if chat == "off":
        return False
    has = bool(getattr(tokenizer, "chat_template", None))
    if chat == "on" and not has:
        raise CapabilityError("chat=on but the tokenizer has no chat template")
    return has


def render_prompt(tokenizer: Any, prompt: Prompt, chat: str = "auto") -> str:
    """The exact text a model sees for a prompt, up to where its answer starts.

    Training renders prompts with this same function, so a fine-tune learns to
    answer exactly the text it is evaluated on."""
    if isinstance(prompt, str):
        return prompt
    if uses_chat_template(tokenizer, chat):
        return tokenizer.apply_chat_template(
            [asdict(m) for m in prompt], tokenize=False, add_generation_prompt=True
        )
    return render_plain(prompt)
