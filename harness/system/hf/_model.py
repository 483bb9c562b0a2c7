"""``HFModel``: a transformers causal LM, optionally with a PEFT adapter or in 4-bit.

Batches are sorted by length so padding is small, padded on the left so every
row ends at the same position (the KV cache and the scored positions line up),
and given explicit position ids so a row's numbers do not depend on how much
padding its neighbours forced on it: batch size 1 and 8 give the same answers.
For loglikelihood the LM head runs only at the continuation's positions; on a
small model with a large vocabulary the head otherwise costs more than the body.
Continuations that share a context are scored in one row (``_shared_prefix``);
greedy generation is continuously batched (``_decode``). Generation and scoring
live in their own modules (``_generate``, ``_score``), mixed into this class.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from finegate.harness.core import (
    InputError,
    Problem,
    Prompt,
    sha256_files,
    sha256_json,
)

if TYPE_CHECKING:
    import torch

from finegate.harness.system.hf._generate import Generating
from finegate.harness.system.hf._loading import (
    check_adapter_folder,
    content_files,
    load_causal_lm,
    load_tokenizer,
    pick_device,
    pick_dtype,
    resolve_model_ref,
    weights_hash,
)
from finegate.harness.system.hf._prompts import render_prompt
from finegate.harness.system.hf._score import Scoring

ADAPTER_PROBE = "The committee met on Tuesday to review the budget for the new library."


class HFModel(Generating, Scoring):
    """A transformers causal LM as a finegate ``System``."""

    def __init__(
        self,
        model: str,
        *,
        adapter: str | None = None,
        dtype: str = "auto",
        device: str = "auto",
        load_in_4bit: bool = False,
        batch_size: int = 8,
        max_length: int | None = None,
        chat: str = "auto",
        add_bos_token: bool = False,
        name: str | None = None,
    ):
        if chat not in ("auto", "on", "off"):
            raise InputError(Problem(f"chat must be auto, on or off, not {chat!r}", field="chat"))
        if batch_size < 1:
            raise InputError(Problem("batch size must be at least 1", field="batch_size"))
        self.model_ref = model
        self.model_path = resolve_model_ref(model)
        self.adapter_path = Path(adapter).expanduser().resolve() if adapter else None
        if self.adapter_path is not None:
            problems = check_adapter_folder(self.adapter_path)
            if problems:
                raise InputError(problems)
        self.dtype_name = dtype
        self.device_name = device
        self.load_in_4bit = load_in_4bit
        self.batch_size = batch_size
        self.max_length = max_length
        self.chat = chat
        self.add_bos_token = add_bos_token
        self.name = name or (
            model if self.adapter_path is None else f"{model}+{self.adapter_path.name}"
        )
        self._model: Any = None
        self._tokenizer: Any = None
        self._device: str | None = None
        self._dtype: Any = None
        self._fingerprint: str | None = None
        self._keep_logits: bool | None = None
        self._weights: str | None = None
        self._stoppers: dict[tuple[str, ...], Any] = {}
        self._continuous: bool | None = None
        self.adapter_effect: float | None = None  # max |logit change| on a probe text

    # -- identity -----------------------------------------------------------------------

    def _weights_hash(self) -> str:
        if self._weights is None:
            self._weights = weights_hash(self.model_path)
        return self._weights

    def adapter_hash(self) -> str | None:
        if self.adapter_path is None:
            return None
        return sha256_files(content_files(self.adapter_path), self.adapter_path)

    def fingerprint(self) -> str:
        """The system's identity: the same before and after loading. The dtype is
        the one asked for (``auto`` included), never the one loading chose: the
        device that choice depends on is the execution key's, and a fingerprint
        that changed on loading would lose every run measured after it."""
        if self._fingerprint is None:
            self._fingerprint = sha256_json(
                {
                    "type": "hf",
                    "weights": self._weights_hash(),
                    "adapter": self.adapter_hash(),
                    "dtype": self.dtype_name,
                    "load_in_4bit": self.load_in_4bit,
                    "max_length": self.max_length,
                    "chat": self.chat,
                    "add_bos_token": self.add_bos_token,
                }
            )
        return self._fingerprint

    def execution_key(self) -> str:
        return pick_device(self.device_name).split(":")[0]

    def describe(self) -> dict[str, Any]:
        return {
            "type": "hf",
            "name": self.name,
            "model": self.model_ref,
            "weights_hash": self._weights_hash(),
            "adapter": str(self.adapter_path) if self.adapter_path else None,
            "adapter_hash": self.adapter_hash(),
            "dtype": str(
                self._dtype or pick_dtype(self.dtype_name, self.execution_key())
            ).removeprefix("torch."),
            "device": self._device or pick_device(self.device_name),
            "load_in_4bit": self.load_in_4bit,
            "chat": self.chat,
            "fingerprint": self.fingerprint(),
        }

    # -- loading ------------------------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.model_path)
        return self._tokenizer

    @property
    def model(self) -> Any:
        self._load()
        return self._model

    @property
    def device(self) -> str:
        self._load()
        assert self._device is not None
        return self._device

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch

        device = pick_device(self.device_name)
        dtype = pick_dtype(self.dtype_name, device)
        model = load_causal_lm(
            self.model_path, dtype=dtype, device=device, load_in_4bit=self.load_in_4bit
        )
        if self.adapter_path is not None:
            model = self._attach_adapter(model)
        model.eval()
        self._model, self._device, self._dtype = model, device, dtype
        torch.manual_seed(0)

    def _attach_adapter(self, model: Any) -> Any:
        from peft import PeftModel

        assert self.adapter_path is not None
        try:
            tuned = PeftModel.from_pretrained(model, str(self.adapter_path), is_trainable=False)
        except (RuntimeError, ValueError, KeyError) as e:
            first = str(e).strip().splitlines()[0][:300]
            raise InputError(
                Problem(
                    f"adapter does not fit this base model ({first})",
                    file=str(self.adapter_path / "adapter_config.json"),
                    field="base_model_name_or_path",
                ),
                hint=f"the adapter was trained on another base than {self.model_ref!r}",
            ) from None
        self._check_adapter_effect(tuned)
        return tuned

    def _check_adapter_effect(self, tuned: Any) -> None:
        """An adapter that leaves every logit of a probe text unchanged is untrained
        or targets no module of this base: its scores would silently be the base
        model's. Refuse it rather than report them as the candidate's."""
        import torch

        assert self.adapter_path is not None
        ids = self._encode(ADAPTER_PROBE) or [self.tokenizer.eos_token_id or 0]
        inputs = torch.tensor([ids], device=next(tuned.parameters()).device)
        tuned.eval()
        with torch.inference_mode():
            with_adapter = tuned(input_ids=inputs).logits.float()
            with tuned.disable_adapter():
                without = tuned(input_ids=inputs).logits.float()
        self.adapter_effect = float((with_adapter - without).abs().max())
        if self.adapter_effect == 0.0:
            raise InputError(
                Problem(
                    "the adapter leaves the model's outputs unchanged (every logit of a probe "
                    "text is identical with and without it)",
                    file=str(self.adapter_path / "adapter_config.json"),
                    field="target_modules",
                ),
                hint="it is untrained (LoRA's B matrices are still zero) or its target modules "
                "match nothing in this base model; evaluate the trained adapter",
            )

    # -- prompts ------------------------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        """The exact text the model sees for a prompt."""
        return render_prompt(self.tokenizer, prompt, self.chat)

    def _encode(self, text: str) -> list[int]:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if self.add_bos_token and self.tokenizer.bos_token_id is not None:
            ids = [self.tokenizer.bos_token_id, *ids]
        return list(ids)

    def _max_length(self) -> int:
        if self.max_length:
            return self.max_length
        config = self.model.config
        for attr in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(config, attr, None)
            if isinstance(value, int) and value > 0:
                return min(value, 8192)
        return 2048

    def _left_pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        import torch

        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            if row:
                ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
                mask[i, width - len(row) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        return ids.to(self.device), mask.to(self.device), positions.to(self.device)
