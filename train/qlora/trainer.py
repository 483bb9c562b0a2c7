"""``qlora``: LoRA on a base loaded in 4-bit NF4 with double quantisation.

bitsandbytes has a CPU backend: on CPU the compute dtype is fp32 (bf16 compute
is several times slower without bf16 instructions); on CUDA it is bf16 and the
optimiser is bitsandbytes' paged 8-bit AdamW.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finegate.train._loop import PeftTrainer
from finegate.train.qlora.config import QLoraSettings


class QLoraTrainer(PeftTrainer):
    name = "qlora"
    config_class = QLoraSettings
    load_in_4bit = True

    def load_base(self, path: Path, device: str, dtype: Any, recipe: Any) -> Any:
        from peft import prepare_model_for_kbit_training

        model = super().load_base(path, device, dtype, recipe)
        return prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=recipe.training.gradient_checkpointing
        )

    def make_optimizer(self, params: list[Any], recipe: Any, config: Any, device: str) -> Any:
        if device.startswith("cuda") and config.paged_optimizer:
            import bitsandbytes as bnb

            return bnb.optim.PagedAdamW8bit(
                params, lr=recipe.training.learning_rate, weight_decay=recipe.training.weight_decay
            )
        return super().make_optimizer(params, recipe, config, device)
