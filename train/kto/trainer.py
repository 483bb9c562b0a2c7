"""``kto``: TRL's KTOTrainer on a LoRA adapter, through finegate's recipe, data and manifest."""

from __future__ import annotations

from typing import Any

from finegate.train._pref_config import check_preference_recipe
from finegate.train._pref_loop import (
    OBJECTIVE_NOTE,
    PreferenceTrainer,
    Session,
    batches,
    interleave,
    kto_rows,
    on_device,
    policy_logps,
    same_prompt_accuracy,
    unpaired,
)
from finegate.train._protocol import Loc
from finegate.train.kto.config import KtoSettings

ORDER = (
    "shuffled once with the recipe seed, desirable and undesirable answers spread evenly "
    "(TRL's KTO reads its rows in order: every epoch sees the same order)"
)


class KtoTrainer(PreferenceTrainer):
    name = "kto"
    config_class = KtoSettings
    trl_kind = "kto"

    @classmethod
    def check(cls, recipe: Any, config: Any) -> list[tuple[Loc, str]]:
        return check_preference_recipe(
            recipe, config, kl_batch=config.loss_type == "kto", paired_only=False, method="kto"
        )

    def method_args(self, config: Any) -> dict[str, Any]:
        return {
            "loss_type": config.loss_type,
            "desirable_weight": config.desirable_weight,
            "undesirable_weight": config.undesirable_weight,
        }

    def describe(self, config: Any) -> dict[str, Any]:
        return {
            "loss_type": config.loss_type,
            "desirable_weight": config.desirable_weight,
            "undesirable_weight": config.undesirable_weight,
            "order": ORDER,
        }

    def rows(
        self, records: list[Any], tokenizer: Any, recipe: Any, config: Any, *, train: bool
    ) -> tuple[list[dict[str, Any]], list[str]]:
        items = unpaired(records)
        if train:
            items = interleave(items, [good for _, _, good in items], recipe.training.seed)
        kl_batch = recipe.training.batch_size if config.loss_type == "kto" else None
        rows = kto_rows(items, tokenizer, recipe.training.max_length, kl_batch)
        return rows, [r.prompt_key for r, _, _ in items]

    def objective(
        self, session: Session, rows: list[dict[str, Any]], keys: list[str]
    ) -> dict[str, Any] | None:
        """Per held-out answer, the implicit reward beta x (log pi - log pi_ref): the
        mean for desirable and undesirable answers, their difference, and how often a
        desirable answer is ahead of an undesirable one to the same prompt."""
        if not rows:
            return None
        trainer, beta = session.trainer, session.args.beta
        model = trainer.model
        model.eval()
        rewards: list[float] = []
        for chunk in batches(rows, session.args.per_device_eval_batch_size):
            batch = on_device(trainer.data_collator(chunk), session.device)
            ref, _ = trainer.compute_ref_log_probs(model, batch)
            rewards += (beta * (policy_logps(model, batch) - ref)).tolist()
        labels = [bool(row["label"]) for row in rows]
        good = [r for r, g in zip(rewards, labels, strict=True) if g]
        bad = [r for r, g in zip(rewards, labels, strict=True) if not g]
        accuracy, pairs = same_prompt_accuracy(rewards, labels, keys)
        mean_good = sum(good) / len(good) if good else None
        mean_bad = sum(bad) / len(bad) if bad else None
        return {
            "note": OBJECTIVE_NOTE,
            "split": "validation",
            "answers": len(rows),
            "same_prompt_pairs": pairs,
            "preference_accuracy": None if accuracy is None else round(accuracy, 6),
            "reward_margin": None
            if mean_good is None or mean_bad is None
            else round(mean_good - mean_bad, 6),
            "reward_desirable": None if mean_good is None else round(mean_good, 6),
            "reward_undesirable": None if mean_bad is None else round(mean_bad, 6),
        }
