"""The training loop the PEFT backends share.

One loop serves LoRA, QLoRA and (with its own step) DP-SGD: seeded batch order
per epoch, gradient accumulation, a learning rate with linear warm-up and decay,
evaluation loss after every epoch, early stopping that keeps the best weights,
checkpoints every few optimizer steps, and exact resumption after a kill. The
result is an adapter folder with ``training_manifest.json`` (what was trained,
on what, how, with what result) and ``dataset_manifest.json`` beside it.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from finegate.harness.cli import resolve_actor
from finegate.harness.core import InputError, atomic_write_text
from finegate.harness.run import library_versions
from finegate.harness.system.hf import (
    load_causal_lm,
    load_tokenizer,
    pick_device,
    pick_dtype,
    resolve_model_ref,
    weights_hash,
)
from finegate.train._checkpoint import (
    load_checkpoint,
    remove_checkpoint,
    restore_rng,
    save_checkpoint,
)
from finegate.train._data import PreparedDataset
from finegate.train._distributed import (
    World,
    join_world,
    leave_world,
    sum_gradients,
    sum_value,
    wait_for_all,
)
from finegate.train._protocol import Loc, StepCallback, TrainingRun
from finegate.train._tokenize import answer_losses, collate, encode_example, micro_batches

MANIFEST_FILE = "training_manifest.json"
DATASET_MANIFEST_FILE = "dataset_manifest.json"
MANIFEST_FORMAT = "finegate-training-manifest/1"


class PeftTrainer:
    """LoRA on a transformers causal LM. Subclasses change how the base is loaded
    (4-bit) or how a step is taken (differentially private)."""

    name: ClassVar[str] = "lora"
    data_kind: ClassVar[str] = "sft"  # what it trains on: "sft" or "preference" data
    config_class: ClassVar[type[BaseModel]]
    load_in_4bit: ClassVar[bool] = False
    # trains across processes under torchrun (each takes a slice of every batch)
    data_parallel: ClassVar[bool] = True

    @classmethod
    def check(cls, recipe: Any, config: Any) -> list[tuple[Loc, str]]:
        return []

    # -- pieces a subclass may change ---------------------------------------------------

    def load_base(self, path: Path, device: str, dtype: Any, recipe: Any) -> Any:
        return load_causal_lm(path, dtype=dtype, device=device, load_in_4bit=self.load_in_4bit)

    def wrap(self, model: Any, config: Any, recipe: Any) -> Any:
        from peft import LoraConfig, get_peft_model

        if recipe.training.gradient_checkpointing:
            model.gradient_checkpointing_enable()
            model.enable_input_require_grads()
        lora = LoraConfig(
            r=config.r,
            lora_alpha=config.alpha,
            lora_dropout=config.dropout,
            target_modules=config.target_modules,
            bias="none",
            task_type="CAUSAL_LM",
        )
        try:
            return get_peft_model(model, lora)
        except ValueError as e:
            raise InputError(
                f"LoRA cannot wrap this model: {e}",
                hint="check config.target_modules against the model's layer names",
            ) from None

    def make_optimizer(self, params: list[Any], recipe: Any, config: Any, device: str) -> Any:
        import torch

        return torch.optim.AdamW(
            params, lr=recipe.training.learning_rate, weight_decay=recipe.training.weight_decay
        )

    def describe_method(self, config: Any) -> dict[str, Any]:
        return {"lora": config.model_dump(mode="json"), "load_in_4bit": self.load_in_4bit}

    # -- the run ------------------------------------------------------------------------

    def train(
        self,
        recipe: Any,
        config: Any,
        dataset: PreparedDataset,
        output: Path,
        *,
        resume: bool = True,
        on_step: StepCallback | None = None,
    ) -> TrainingRun:
        import torch

        output = Path(output)
        world = join_world()
        if world.size > 1 and not self.data_parallel:
            raise InputError(
                f"method {self.name} does not train across processes yet: run it in one "
                "process (without --nproc or torchrun)"
            )
        done = _finished(output, recipe.hash(), dataset.hash)
        if done is not None and resume:
            return TrainingRun(output, done, resumed=True)
        if not resume and world.main:
            remove_checkpoint(output)
        wait_for_all(world)
        started = time.perf_counter()
        seed = recipe.training.seed
        torch.manual_seed(seed)
        random.seed(seed)
        base_path = resolve_model_ref(recipe.base_model)
        tokenizer = load_tokenizer(base_path)
        device = pick_device("auto")
        dtype = pick_dtype("auto", device)
        model = self.wrap(self.load_base(base_path, device, dtype, recipe), config, recipe)
        max_length = recipe.training.max_length
        train_set = [
            encode_example(tokenizer, r.messages, max_length=max_length)
            for r in dataset.splits["train"]
        ]
        val_set = [
            encode_example(tokenizer, r.messages, max_length=max_length)
            for r in dataset.splits["validation"]
        ]
        if not train_set:
            raise InputError("the training split is empty")
        pad = tokenizer.pad_token_id
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = self.make_optimizer(trainable, recipe, config, device)
        state = _fresh_state(recipe.hash(), dataset.hash)
        generators = {"data": torch.Generator().manual_seed(seed)}
        # rank 0 first: reading may repair a checkpoint cut off between two renames
        saved = load_checkpoint(output) if resume and world.main else None
        wait_for_all(world)
        if resume and not world.main:
            saved = load_checkpoint(output)
        identity = (recipe.hash(), dataset.hash)
        if (
            saved is not None
            and (saved["state"]["recipe_hash"], saved["state"]["dataset_hash"]) != identity
        ):
            raise InputError(
                f"{output} holds a checkpoint of another recipe or data set",
                hint="use another output folder, or train with --no-resume",
            )
        context = _Context(
            self,
            recipe,
            config,
            model,
            optimizer,
            trainable,
            train_set,
            val_set,
            pad,
            device,
            output,
            generators,
            state,
            on_step,
        )
        context.group_privacy = dataset.manifest["group_privacy"]
        context.world = world
        context.setup()
        if saved is not None:
            _load_trainable(context.model, saved["trainable"])
            getattr(context.optimizer, "original_optimizer", context.optimizer).load_state_dict(
                saved["optimizer"]
            )
            context.restore(saved)
        context.run()
        state = context.state
        if context.best_weights is not None:
            _load_trainable(context.model, context.best_weights)
        if not world.main:  # every process holds the same weights: rank 0 writes them
            wait_for_all(world)
            leave_world(world)
            manifest = json.loads((output / MANIFEST_FILE).read_text())
            return TrainingRun(output, manifest, resumed=saved is not None)
        adapter_sha = _save_adapter(context.model, output)
        manifest = {
            **manifest_head(
                recipe,
                self.name,
                base_path,
                weights_hash(base_path),
                device,
                dtype,
                library_versions(),
            ),
            "dataset": _dataset_summary(dataset),
            "method": self.describe_method(config),
            "training": recipe.training.model_dump(mode="json"),
            "steps": state["global_step"],
            "epochs_completed": state["epochs_completed"],
            "early_stopped": state["early_stopped"],
            "loss_curve": state["loss_curve"],
            "validation_curve": state["validation_curve"],
            "adapter_sha256": adapter_sha,
            "wall_time_s": round(state["elapsed_s"] + time.perf_counter() - started, 3),
            "resumed": saved is not None,
            "dp": context.dp_summary(),
            # who trained it: that person may not approve its release (four eyes)
            "trained_by": resolve_actor(None),
            "distributed": world.describe(),
        }
        atomic_write_text(
            output / DATASET_MANIFEST_FILE,
            json.dumps(dataset.manifest, indent=2, sort_keys=True) + "\n",
        )
        atomic_write_text(
            output / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        )
        remove_checkpoint(output)
        wait_for_all(world)
        leave_world(world)
        return TrainingRun(output, manifest, resumed=saved is not None)

    # -- one step (DP-SGD replaces these) -------------------------------------------------

    def setup(self, ctx: _Context) -> None:
        """Called once the model and optimizer exist (DP-SGD makes them private here)."""

    def batches_per_epoch(self, ctx: _Context) -> int:
        return math.ceil(len(ctx.train_set) / ctx.recipe.training.batch_size)

    def epoch_batches(self, ctx: _Context, epoch: int) -> list[list[int]]:
        import torch

        gen = torch.Generator().manual_seed(ctx.recipe.training.seed * 1000 + epoch)
        order = torch.randperm(len(ctx.train_set), generator=gen).tolist()
        size = ctx.recipe.training.batch_size
        return [order[i : i + size] for i in range(0, len(order), size)]

    def step(self, ctx: _Context, batch: list[int], accumulate: int, last: bool) -> float:
        """Forward and backward for one batch; an optimizer step every ``accumulate``."""
        import torch

        # across processes, this one's slice, scaled by the whole batch: the summed
        # gradients are then the whole batch's
        examples = [ctx.train_set[i] for i in ctx.world.part(batch)]
        total = 0.0
        for data in micro_batches(examples, ctx.pad, ctx.device) if examples else []:
            losses = answer_losses(ctx.model, data)
            (losses.sum() / (len(batch) * accumulate)).backward()
            total += float(losses.detach().sum())
        loss = sum_value(total, ctx.world) / len(batch)
        ctx.micro += 1
        if ctx.micro % accumulate == 0 or last:
            sum_gradients(ctx.trainable, ctx.world)
            if ctx.recipe.training.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(ctx.trainable, ctx.recipe.training.max_grad_norm)
            ctx.set_lr()
            ctx.optimizer.step()
            ctx.optimizer.zero_grad(set_to_none=True)
            ctx.stepped = True
            ctx.micro = 0
        return loss


class _Context:
    """The mutable state of one training run."""

    def __init__(
        self,
        trainer: PeftTrainer,
        recipe: Any,
        config: Any,
        model: Any,
        optimizer: Any,
        trainable: list[Any],
        train_set: list[Any],
        val_set: list[Any],
        pad: int,
        device: str,
        output: Path,
        generators: dict[str, Any],
        state: dict[str, Any],
        on_step: StepCallback | None,
    ):
        self.trainer, self.recipe, self.config = trainer, recipe, config
        self.model, self.optimizer, self.trainable = model, optimizer, trainable
        self.train_set, self.val_set, self.pad, self.device = train_set, val_set, pad, device
        self.output, self.generators, self.state, self.on_step = output, generators, state, on_step
        self.micro = 0
        self.stepped = False
        self.best_weights: dict[str, Any] | None = None
        self.started = time.perf_counter()
        self.total_steps = 0
        self.group_privacy: dict[str, Any] = {}
        self.dp: dict[str, Any] = {}
        self.world = World()

    def setup(self) -> None:
        self.trainer.setup(self)
        self.total_steps = self.count_steps()

    def count_steps(self) -> int:
        per_epoch = math.ceil(
            self.trainer.batches_per_epoch(self) / self.recipe.training.gradient_accumulation
        )
        total = per_epoch * self.recipe.training.epochs
        return min(total, self.recipe.training.max_steps or total)

    def set_lr(self) -> None:
        """Linear warm-up, then linear decay to zero at the last step."""
        t, cfg = self.state["global_step"], self.recipe.training
        warm = min(1.0, (t + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
        decay = max(0.0, 1.0 - t / max(1, self.total_steps))
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.learning_rate * warm * decay

    def restore(self, saved: dict[str, Any]) -> None:
        self.state = saved["state"]
        restore_rng(saved, self.generators)
        hook = getattr(self.trainer, "restore", None)
        if hook is not None:
            hook(self, saved)
        best = {
            k[len("best.") :]: v for k, v in saved["trainable"].items() if k.startswith("best.")
        }
        self.best_weights = best or None

    def checkpoint(self) -> None:
        if not self.world.main:  # the same state as rank 0's, which writes it
            self.state["elapsed_s"] += time.perf_counter() - self.started
            self.started = time.perf_counter()
            return
        hook = getattr(self.trainer, "save_extra", None)
        if hook is not None:
            hook(self)
        weights = _trainable_state(self.model)
        if self.best_weights is not None:
            weights.update({f"best.{k}": v for k, v in self.best_weights.items()})
        self.state["elapsed_s"] += time.perf_counter() - self.started
        self.started = time.perf_counter()
        optimizer = getattr(self.optimizer, "original_optimizer", self.optimizer)
        save_checkpoint(
            self.output,
            trainable=weights,
            optimizer_state=optimizer.state_dict(),
            generators=self.generators,
            state=self.state,
        )

    def validation_loss(self) -> float | None:
        import torch

        if not self.val_set:
            return None
        self.model.eval()
        losses = []
        size = self.recipe.training.batch_size
        by_length = sorted(self.val_set, key=lambda example: len(example[0]))  # less padding
        with torch.no_grad():
            for i in range(0, len(by_length), size):
                data = collate(by_length[i : i + size], self.pad)
                data = {k: v.to(self.device) for k, v in data.items()}
                losses += answer_losses(self.model, data).tolist()
        self.model.train()
        return sum(losses) / len(losses)

    def dp_summary(self) -> dict[str, Any] | None:
        summary = getattr(self.trainer, "dp_summary", None)
        return summary(self) if summary else None

    def run(self) -> None:
        cfg = self.recipe.training
        self.model.train()
        total = self.total_steps
        for epoch in range(self.state["epoch"], cfg.epochs):
            batches = self.trainer.epoch_batches(self, epoch)
            for b in range(self.state["batch"], len(batches)):
                if self.state["global_step"] >= total:
                    break
                self.stepped = False
                loss = self.trainer.step(
                    self, batches[b], cfg.gradient_accumulation, last=b == len(batches) - 1
                )
                self.state["batch"] = b + 1
                self.state["pending_losses"].append(loss)
                if self.stepped:
                    step_loss = sum(self.state["pending_losses"]) / len(
                        self.state["pending_losses"]
                    )
                    self.state["pending_losses"] = []
                    self.state["global_step"] += 1
                    self.state["loss_curve"].append(
                        {
                            "step": self.state["global_step"],
                            "epoch": epoch,
                            "loss": round(step_loss, 6),
                        }
                    )
                    if self.on_step:
                        self.on_step(
                            {
                                "step": self.state["global_step"],
                                "total": total,
                                "epoch": epoch,
                                "loss": step_loss,
                            }
                        )
                    if self.state["global_step"] % cfg.checkpoint_every == 0:
                        self.checkpoint()
            val = self.validation_loss()
            self.state["epoch"], self.state["batch"] = epoch + 1, 0
            self.state["epochs_completed"] = epoch + 1
            if val is not None:
                self.state["validation_curve"].append(
                    {"epoch": epoch, "loss": round(val, 6), "step": self.state["global_step"]}
                )
                if val < self.state["best_val"]:
                    self.state["best_val"], self.state["bad_epochs"] = val, 0
                    if cfg.early_stopping_patience:
                        self.best_weights = {
                            k: v.clone() for k, v in _trainable_state(self.model).items()
                        }
                else:
                    self.state["bad_epochs"] += 1
            self.checkpoint()
            if (
                cfg.early_stopping_patience
                and self.state["bad_epochs"] >= cfg.early_stopping_patience
            ):
                self.state["early_stopped"] = True
                break
            if self.state["global_step"] >= total:
                break
        self.state["elapsed_s"] += time.perf_counter() - self.started
        self.started = time.perf_counter()


def manifest_head(
    recipe: Any,
    method: str,
    base_path: Path,
    base_sha: str,
    device: str,
    dtype: Any,
    libraries: dict[str, str],
) -> dict[str, Any]:
    """What every training manifest opens with, whichever trainer wrote it: the
    recipe, the base model's weights, the seed, the libraries, device and dtype."""
    return {
        "format": MANIFEST_FORMAT,
        "recipe": {
            "id": recipe.id,
            "method": method,
            "sha256": recipe.hash(),
            "content": recipe.model_dump(mode="json", by_alias=True),
        },
        "base_model": {
            "name": recipe.base_model,
            "path": str(base_path),
            "weights_sha256": base_sha,
        },
        "seed": recipe.training.seed,
        "libraries": libraries,
        "device": device,
        "dtype": str(dtype).removeprefix("torch."),
    }


def _fresh_state(recipe_hash: str, dataset_hash: str) -> dict[str, Any]:
    return {
        "recipe_hash": recipe_hash,
        "dataset_hash": dataset_hash,
        "epoch": 0,
        "batch": 0,
        "global_step": 0,
        "epochs_completed": 0,
        "loss_curve": [],
        "validation_curve": [],
        "pending_losses": [],
        "best_val": math.inf,
        "bad_epochs": 0,
        "early_stopped": False,
        "elapsed_s": 0.0,
        "extra": {},
    }


def _trainable_state(model: Any) -> dict[str, Any]:
    """Trainable weights by their name in the peft model (whatever wraps it)."""
    return {n: p.detach().clone() for n, p in _unwrap(model).named_parameters() if p.requires_grad}


def _load_trainable(model: Any, weights: dict[str, Any]) -> None:
    import torch

    params = dict(_unwrap(model).named_parameters())
    with torch.no_grad():
        for name, value in weights.items():
            if name in params:
                params[name].copy_(value)


def _unwrap(model: Any) -> Any:
    return getattr(model, "_module", model)  # opacus wraps the peft model


def _save_adapter(model: Any, output: Path) -> str:
    """Save the adapter; its hash is the one every run that evaluates it checks the
    training manifest against (``adapter_sha256``)."""
    from finegate.harness.system import adapter_weights_sha256

    _unwrap(model).save_pretrained(str(output))
    return adapter_weights_sha256(output)


def _dataset_summary(dataset: PreparedDataset) -> dict[str, Any]:
    m = dataset.manifest
    return {
        "sha256": dataset.hash,
        "counts": m["counts"],
        "files": m["files"],
        "splits_sha256": m["splits_sha256"],
        "pii": {k: m["pii"].get(k) for k in ("total", "by_type", "scrubbed", "scanner")},
        "provenance": m["provenance"],
        "group_privacy": m["group_privacy"],
        "canaries": m["canaries"],
    }


def _finished(output: Path, recipe_hash: str, dataset_hash: str) -> dict[str, Any] | None:
    path = output / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except ValueError:
        return None
    if (
        manifest.get("recipe", {}).get("sha256") == recipe_hash
        and manifest.get("dataset", {}).get("sha256") == dataset_hash
    ):
        return manifest
    return None
