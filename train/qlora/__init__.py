"""QLoRA: LoRA on a 4-bit NF4 base (bitsandbytes)."""

from finegate.train.qlora.config import QLoraSettings
from finegate.train.qlora.trainer import QLoraTrainer

__all__ = ["QLoraSettings", "QLoraTrainer"]
