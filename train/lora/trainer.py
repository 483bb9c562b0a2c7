"""``lora``: peft LoRA on a full-precision base model."""

from __future__ import annotations

from finegate.train._loop import PeftTrainer
from finegate.train.lora.config import LoraSettings


class LoraTrainer(PeftTrainer):
    name = "lora"
    config_class = LoraSettings
