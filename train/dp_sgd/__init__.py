"""DP-SGD: differentially private LoRA training with opacus."""

from finegate.train.dp_sgd.config import DpSgdSettings
from finegate.train.dp_sgd.trainer import DpSgdTrainer

__all__ = ["DpSgdSettings", "DpSgdTrainer"]
