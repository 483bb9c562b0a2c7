"""DPO: direct preference optimisation of a LoRA adapter (TRL), from the base or an SFT adapter."""

from finegate.train.dpo.config import DpoSettings
from finegate.train.dpo.trainer import DpoTrainer

__all__ = ["DpoSettings", "DpoTrainer"]
