"""KTO: Kahneman-Tversky optimisation of a LoRA adapter (TRL) on good and bad answers."""

from finegate.train.kto.config import KtoSettings
from finegate.train.kto.trainer import KtoTrainer

__all__ = ["KtoSettings", "KtoTrainer"]
