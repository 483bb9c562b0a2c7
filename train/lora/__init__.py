"""LoRA: low-rank adapters on a frozen full-precision base."""

from finegate.train.lora.config import LoraSettings
from finegate.train.lora.trainer import LoraTrainer

__all__ = ["LoraSettings", "LoraTrainer"]
