"""``dpo``: TRL's DPOTrainer on a LoRA adapter, through finegate's recipe, data and manifest."""

from __future__ import annotations

from typing import Any

from finegate.train._pref_config import check_preference_recipe
from finegate.train._pref_loop import (
    OBJECTIVE_NOTE,
    PreferenceTrainer,
    Session,
    batches,
    dpo_rows,
    on_device,
    policy_logps,
)
from finegate.train._protocol import Loc
from finegate.train.dpo.config import DpoSettings


class DpoTrainer(PreferenceTrainer):
    name = "dpo"
    config_class = DpoSettings
    trl_kind = "dpo"

    @classmethod
    def check(cls, recipe: Any, config: Any) -> list[tuple[Loc, str]]:
        return check_preference_recipe(
            recipe, config, kl_batch=False, paired_only=True, method="dpo"
        )

    def method_args(self, config: Any) -> dict[str, Any]:
        return {"loss_type": [config.loss_type]}

    def describe(self, config: Any) -> dict[str, Any]:
        return {"loss_type": config.loss_type}

    def rows(
        self, records: list[Any], tokenizer: Any, recipe: Any, config: Any, *, train: bool
    ) -> tuple[list[dict[str, Any]], list[str]]:
        rows = dpo_rows(records, tokenizer, recipe.training.max_length)
        return rows, [r.prompt_key for r in records]

    def objective(
        self, session: Session, rows: list[dict[str, Any]], keys: list[str]
    ) -> dict[str, Any] | None:
        """Per held-out pair, the implicit rewards beta x (log pi - log pi_ref) of both
        answers: how often the chosen one is ahead, and by how much on average."""
        if not rows:
            return None
        trainer, beta = session.trainer, session.args.beta
        model = trainer.model
        model.eval()
        chosen: list[float] = []
        rejected: list[float] = []
        for chunk in batches(rows, session.args.per_device_eval_batch_size):
            batch = on_device(trainer.data_collator(chunk), session.device)
            ref_c, ref_r = trainer.compute_ref_log_probs(model, batch)
            pol_c, pol_r = policy_logps(model, batch).chunk(2)
            chosen += (beta * (pol_c - ref_c)).tolist()
            rejected += (beta * (pol_r - ref_r)).tolist()
        n = len(chosen)
        return {
            "note": OBJECTIVE_NOTE,
            "split": "validation",
            "pairs": n,
            "preference_accuracy": round(
                sum(c > r for c, r in zip(chosen, rejected, strict=True)) / n, 6
            ),
            "reward_margin": round(
                sum(c - r for c, r in zip(chosen, rejected, strict=True)) / n, 6
            ),
            "reward_chosen": round(sum(chosen) / n, 6),
            "reward_rejected": round(sum(rejected) / n, 6),
        }
