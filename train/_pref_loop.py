"""Preference tuning (DPO, KTO) through TRL, kept to finegate's conventions.

The ``dpo`` and ``kto`` trainers share everything here; each names its TRL
classes, its config and how its rows and held-out metrics are built.

- **Data**: the prepared preference splits (``PreparedPreferences``), rendered
  with the same function evaluation and the SFT trainers use (``encode_example``),
  handed to TRL already tokenized. A sequence longer than ``max_length`` loses
  the end of each answer and then the start of its prompt, as in SFT: no row is
  dropped.
- **Reference**: no second copy of the model. From the base, the reference is the
  model with the adapter switched off; from an SFT adapter (``from_adapter``),
  the adapter is trained further under the name ``default`` and TRL keeps a
  frozen copy of it (``ref``) as the reference.
- **CPU settings**: TRL's defaults are for GPUs (bf16 autocast, gradient
  checkpointing, lr 1e-6, max_length 1024); every one is set from the recipe.
  Telemetry is off: the offline variables are set before TRL is imported and the
  trainers send nothing.
- **Checkpoints**: ``<output>/checkpoint/`` holds TRL's ``checkpoint-N`` folders
  and the identity of the run (recipe and data hashes); a rerun of the same
  recipe on the same data resumes from the newest complete one, and the folder is
  removed when the adapter is written.
- **Output**: the trained adapter only, ``training_manifest.json`` (the SFT
  trainers' format plus the preference method, the reference and the held-out
  objective) and ``dataset_manifest.json`` (the preference data's manifest).
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from finegate.harness.core import InputError, Message, Problem, atomic_write_text, sha256_file
from finegate.train._checkpoint import CHECKPOINT_DIR, remove_checkpoint
from finegate.train._loop import (
    DATASET_MANIFEST_FILE,
    MANIFEST_FILE,
    _finished,
    manifest_head,
)
from finegate.train._protocol import Loc, StepCallback, TrainingRun

RUN_FILE = "finegate-run.json"
OBJECTIVE_NOTE = (
    "the training objective measured on the held-out validation split: how far the "
    "adapter moved towards the chosen answers relative to its reference. Not evidence "
    "of quality: evaluate the adapter with suites and gates"
)
LR_SCHEDULE = (
    "transformers' linear schedule: warm-up from 0 over warmup_steps, then linear decay to 0 "
    "at the last step"
)
CURVE_KEYS = (
    "loss",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracies",
    "kl",
)


# -- tokenized rows -----------------------------------------------------------------------


def _split(tokenizer: Any, prompt: tuple[Message, ...], answer: str) -> tuple[list[int], list[int]]:
    """Prompt and answer ids exactly as the SFT trainers encode them, untruncated."""
    from finegate.train._tokenize import IGNORE, encode_example

    ids, labels = encode_example(
        tokenizer, (*prompt, Message("assistant", answer)), max_length=10**9
    )
    n = next((i for i, label in enumerate(labels) if label != IGNORE), len(labels))
    return ids[:n], ids[n:]


def _fit(
    prompt: list[int], answers: list[list[int]], max_length: int
) -> tuple[list[int], list[list[int]]]:
    """Every answer cut to leave room for one prompt token, then the prompt cut from
    the left to fit beside the longest answer (the SFT trainers' rule)."""
    answers = [a[: max_length - 1] for a in answers]
    room = max_length - max(len(a) for a in answers)
    return prompt[-room:], answers


def dpo_rows(records: list[Any], tokenizer: Any, max_length: int) -> list[dict[str, Any]]:
    rows = []
    for r in records:
        prompt, chosen = _split(tokenizer, r.prompt, r.chosen)
        again, rejected = _split(tokenizer, r.prompt, r.rejected)
        if again != prompt:  # pragma: no cover - the prompt renders the same way twice
            raise InputError(
                Problem("the prompt renders differently for its two answers", file=r.origin)
            )
        prompt, (chosen, rejected) = _fit(prompt, [chosen, rejected], max_length)
        rows.append({"prompt_ids": prompt, "chosen_ids": chosen, "rejected_ids": rejected})
    return rows


def unpaired(records: list[Any]) -> list[tuple[Any, str, bool]]:
    """(record, completion, desirable): a pair gives one of each."""
    out = []
    for r in records:
        if r.form == "paired":
            out += [(r, r.chosen, True), (r, r.rejected, False)]
        else:
            out.append((r, r.completion, bool(r.label)))
    return out


def interleave(items: list[Any], desirable: list[bool], seed: int) -> list[Any]:
    """Shuffled with the seed, desirable and undesirable spread evenly through the
    order: TRL's KTO reads the rows in order, and each batch should hold both."""
    rng = random.Random(seed)
    groups: dict[bool, list[Any]] = {True: [], False: []}
    for item, good in zip(items, desirable, strict=True):
        groups[good].append(item)
    keyed = []
    for good, group in groups.items():
        rng.shuffle(group)
        keyed += [((i + 0.5) / len(group), not good, item) for i, item in enumerate(group)]
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [item for _, _, item in keyed]


def kto_rows(
    items: list[tuple[Any, str, bool]], tokenizer: Any, max_length: int, kl_batch: int | None
) -> list[dict[str, Any]]:
    rows = []
    for r, completion, good in items:
        prompt, answer = _split(tokenizer, r.prompt, completion)
        prompt, (answer,) = _fit(prompt, [answer], max_length)
        rows.append({"prompt_ids": prompt, "completion_ids": answer, "label": good})
    if kl_batch:  # TRL's KL pairs: answers rotated by one inside each batch
        for start in range(0, len(rows), kl_batch):
            chunk = rows[start : start + kl_batch]
            answers = [row["completion_ids"] for row in chunk]
            for row, other in zip(chunk, [answers[-1], *answers[:-1]], strict=True):
                row["KL_completion_ids"] = other
    return rows


# -- TRL ----------------------------------------------------------------------------------


def _offline_env() -> None:
    """Before TRL (and the hub client under it) is first imported: no network, no telemetry."""
    for name in (
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_DATASETS_OFFLINE",
        "HF_HUB_DISABLE_TELEMETRY",
    ):
        os.environ.setdefault(name, "1")


@functools.cache
def trl_classes(kind: str) -> tuple[type, type]:
    """TRL's config class and a trainer subclass that takes finegate's tokenized rows
    as they are and sends no telemetry."""
    _offline_env()
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer

    config_cls, base = (DPOConfig, DPOTrainer) if kind == "dpo" else (KTOConfig, KTOTrainer)

    class Finegate(base):  # type: ignore[misc, valid-type]
        def _prepare_dataset(
            self, dataset: Any, processing_class: Any, args: Any, name: str
        ) -> Any:
            return dataset  # tokenized, truncated and (KTO) KL-paired by finegate

        def _send_telemetry(self) -> None:
            return None

    Finegate.__name__ = Finegate.__qualname__ = f"Finegate{base.__name__}"
    return config_cls, Finegate


def policy_logps(model: Any, batch: dict[str, Any], prefix: str = "") -> Any:
    """Summed log-probabilities of each row's answer under the active adapter,
    computed the way TRL computes them (its fused head)."""
    import torch

    ids = batch[f"{prefix}input_ids"]
    labels = ids.masked_fill(batch[f"{prefix}completion_mask"] == 0, -100)
    with torch.no_grad():
        out = model(
            input_ids=ids,
            attention_mask=batch[f"{prefix}attention_mask"],
            labels=labels,
            fused_lm_head=True,
            use_cache=False,
        )
    return out.log_probs[:, -(ids.size(1) - 1) :].sum(dim=1)


class _Progress:
    """TRL's log entries as finegate's loss curve, ``on_step`` calls and the run's
    elapsed time (kept with each checkpoint)."""

    def __init__(
        self, on_step: StepCallback | None, run_file: Path, started: float, elapsed: float
    ):
        from transformers import TrainerCallback

        progress = self

        class Callback(TrainerCallback):  # type: ignore[misc]
            def on_log(
                self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any
            ) -> None:
                if logs and "loss" in logs and "eval_loss" not in logs and on_step:
                    on_step(
                        {
                            "step": state.global_step,
                            "total": state.max_steps,
                            "epoch": max(0, math.ceil(state.epoch or 0) - 1),
                            **{k: logs[k] for k in CURVE_KEYS if k in logs},
                        }
                    )

            def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                # the newest checkpoint is complete: the older ones can go
                newest = f"checkpoint-{state.global_step}"
                for old in Path(args.output_dir).glob("checkpoint-*"):
                    if old.name != newest:
                        shutil.rmtree(old, ignore_errors=True)
                progress.save_elapsed()

        self.callback = Callback()
        self.run_file, self.started, self.elapsed = run_file, started, elapsed

    def total(self) -> float:
        return self.elapsed + time.perf_counter() - self.started

    def save_elapsed(self) -> None:
        data = json.loads(self.run_file.read_text("utf-8"))
        data["elapsed_s"] = self.total()
        atomic_write_text(self.run_file, json.dumps(data, sort_keys=True))


def _epoch_eval() -> Any:
    """Evaluation on the validation split at the end of each epoch (and at the last
    step), run before that step's checkpoint is written so that the checkpoint's
    log holds it: a run resumed from there keeps every point of its validation curve."""
    from transformers import TrainerCallback

    class EpochEval(TrainerCallback):  # type: ignore[misc]
        trainer: Any = None

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> Any:
            trainer = self.trainer
            if trainer is None or trainer.eval_dataset is None:
                return None
            epoch_end = abs((state.epoch or 0) - round(state.epoch or 0)) < 1e-6
            if epoch_end or state.global_step >= state.max_steps:
                # evaluate() resets the flags that log and save this step: keep them
                flags = {k: v for k, v in vars(control).items() if k.startswith("should_")}
                trainer.evaluate()
                trainer.model.train()  # TRL logs the step's metrics by the model's mode
                for k, v in flags.items():
                    setattr(control, k, v)
                return control
            return None

    return EpochEval()


def curves(log_history: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    loss, validation = [], []
    for entry in log_history:
        if "loss" in entry and "eval_loss" not in entry:
            point = {"step": entry["step"], "epoch": math.ceil(entry.get("epoch", 0)) - 1}
            point.update({k: round(float(entry[k]), 6) for k in CURVE_KEYS if k in entry})
            loss.append(point)
        elif "eval_loss" in entry:
            point = {"step": entry["step"], "epoch": math.ceil(entry.get("epoch", 0)) - 1}
            point.update(
                {k: round(float(entry[f"eval_{k}"]), 6) for k in CURVE_KEYS if f"eval_{k}" in entry}
            )
            validation.append(point)
    return loss, validation


# -- the run ------------------------------------------------------------------------------


@dataclass
class Session:
    """One TRL trainer built from a recipe, ready to train (or to be inspected)."""

    trainer: Any  # TRL's DPOTrainer or KTOTrainer (finegate's subclass)
    model: Any  # the peft model: adapter "default" (and "ref" from an SFT adapter)
    tokenizer: Any
    args: Any  # TRL's DPOConfig or KTOConfig
    base_path: Path
    base_sha: str
    reference: dict[str, Any]
    device: str
    dtype: Any
    train_rows: list[dict[str, Any]]
    val_rows: list[dict[str, Any]]
    val_keys: list[str]  # each validation row's prompt key
    lora: dict[str, Any]


class PreferenceTrainer:
    """DPO or KTO on a LoRA adapter through TRL. Subclasses name the method."""

    name: ClassVar[str]
    config_class: ClassVar[type[Any]]
    data_kind: ClassVar[str] = "preference"
    trl_kind: ClassVar[str]

    # -- what a method changes ------------------------------------------------------------

    @classmethod
    def check(cls, recipe: Any, config: Any) -> list[tuple[Loc, str]]:
        raise NotImplementedError

    def method_args(self, config: Any) -> dict[str, Any]:
        """The method's own TRL config fields."""
        raise NotImplementedError

    def describe(self, config: Any) -> dict[str, Any]:
        raise NotImplementedError

    def rows(
        self, records: list[Any], tokenizer: Any, recipe: Any, config: Any, *, train: bool
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """TRL rows and each row's prompt key."""
        raise NotImplementedError

    def objective(
        self, session: Session, rows: list[dict[str, Any]], keys: list[str]
    ) -> dict[str, Any]:
        raise NotImplementedError

    # -- building -------------------------------------------------------------------------

    def reference(self, config: Any, base_sha: str) -> dict[str, Any]:
        if not config.from_adapter:
            return {"kind": "base_adapter_off"}
        from finegate.harness.system import adapter_weights_sha256
        from finegate.harness.system.hf import check_adapter_folder

        folder = Path(config.from_adapter).expanduser().resolve()
        problems = check_adapter_folder(folder)
        if problems:
            raise InputError(problems, hint="config.from_adapter names an SFT adapter folder")
        ref: dict[str, Any] = {
            "kind": "sft_adapter",
            "path": str(folder),
            "adapter_sha256": adapter_weights_sha256(folder),
            "base_weights_sha256": base_sha,
        }
        if (folder / MANIFEST_FILE).is_file():
            ref["training_manifest_sha256"] = sha256_file(folder / MANIFEST_FILE, use_cache=False)
        return ref

    def _check_data(self, dataset: Any) -> None:
        if not hasattr(dataset, "form") or not hasattr(dataset, "splits"):
            raise InputError(
                f"method {self.name} trains on preference data (data.format: preference or "
                "unpaired_preference)"
            )
        if self.name == "dpo" and dataset.form != "paired":
            raise InputError(
                "dpo trains on pairs (prompt, chosen, rejected); this data is unpaired: use kto"
            )
        if not dataset.splits.get("train"):
            raise InputError("the training split is empty")

    def build(
        self,
        recipe: Any,
        config: Any,
        dataset: Any,
        output: Path,
        *,
        callbacks: list[Any] | None = None,
    ) -> Session:
        """Load the base (and the SFT adapter), tokenize, and build TRL's trainer."""
        import dataclasses

        import torch

        from finegate.harness.system.hf import (
            load_causal_lm,
            load_tokenizer,
            pick_device,
            pick_dtype,
            resolve_model_ref,
            weights_hash,
        )

        self._check_data(dataset)
        config_cls, trainer_cls = trl_classes(self.trl_kind)
        from transformers import PrinterCallback, ProgressCallback

        t = recipe.training
        base_path = resolve_model_ref(recipe.base_model)
        base_sha = weights_hash(base_path)
        reference = self.reference(config, base_sha)
        if reference["kind"] == "sft_adapter":
            self._check_sft_base(Path(reference["path"]), base_sha)
        tokenizer = load_tokenizer(base_path)
        device = pick_device("auto")
        dtype = pick_dtype("auto", device)
        train_rows, _ = self.rows(dataset.splits["train"], tokenizer, recipe, config, train=True)
        val_rows, val_keys = self.rows(
            dataset.splits.get("validation") or [], tokenizer, recipe, config, train=False
        )
        fields = {f.name for f in dataclasses.fields(config_cls)}
        checkpointing = (
            "activation_checkpointing"
            if "activation_checkpointing" in fields
            else "gradient_checkpointing"
        )
        args = config_cls(
            output_dir=str(output / CHECKPOINT_DIR),
            per_device_train_batch_size=t.batch_size,
            per_device_eval_batch_size=t.batch_size,
            gradient_accumulation_steps=t.gradient_accumulation,
            num_train_epochs=t.epochs,
            max_steps=t.max_steps or -1,
            learning_rate=t.learning_rate,
            lr_scheduler_type="linear",
            warmup_steps=t.warmup_steps,
            weight_decay=t.weight_decay,
            max_grad_norm=t.max_grad_norm or 0.0,
            max_length=t.max_length,
            bf16=False,
            fp16=False,
            use_cpu=device == "cpu",
            report_to="none",
            logging_steps=1,
            save_strategy="steps",
            save_steps=t.checkpoint_every,
            eval_strategy="no",  # at each epoch's end, before its checkpoint (_epoch_eval)
            seed=t.seed,
            data_seed=t.seed,
            dataloader_num_workers=0,
            disable_tqdm=True,
            disable_dropout=config.dropout == 0.0 or bool(config.from_adapter),
            beta=config.beta,
            **{checkpointing: t.gradient_checkpointing},
            **self.method_args(config),
        )
        from datasets import Dataset
        from peft import LoraConfig, PeftModel

        torch.manual_seed(t.seed)
        model = load_causal_lm(base_path, dtype=dtype, device=device)
        peft_config = None
        if config.from_adapter:
            model = PeftModel.from_pretrained(model, reference["path"], is_trainable=True)
        else:
            peft_config = LoraConfig(
                r=config.r,
                lora_alpha=config.alpha,
                lora_dropout=config.dropout,
                target_modules=config.target_modules,
                bias="none",
                task_type="CAUSAL_LM",
            )
        epoch_eval = _epoch_eval()
        try:
            trainer = trainer_cls(
                model=model,
                args=args,
                train_dataset=Dataset.from_list(train_rows),
                eval_dataset=Dataset.from_list(val_rows) if val_rows else None,
                processing_class=tokenizer,
                peft_config=peft_config,
                callbacks=[*(callbacks or []), epoch_eval],
            )
        except ValueError as e:
            raise InputError(f"{self.name} cannot train this model: {e}") from None
        epoch_eval.trainer = trainer
        for quiet in (PrinterCallback, ProgressCallback):  # logs go to on_step, not stdout
            trainer.remove_callback(quiet)
        return Session(
            trainer=trainer,
            model=trainer.model,
            tokenizer=tokenizer,
            args=args,
            base_path=base_path,
            base_sha=base_sha,
            reference=reference,
            device=device,
            dtype=dtype,
            train_rows=train_rows,
            val_rows=val_rows,
            val_keys=val_keys,
            lora=self._lora(config, args),
        )

    def _lora(self, config: Any, args: Any) -> dict[str, Any]:
        """The adapter's LoRA settings as trained: the recipe's, or the SFT adapter's."""
        if not config.from_adapter:
            return {k: getattr(config, k) for k in ("r", "alpha", "dropout", "target_modules")}
        folder = Path(config.from_adapter).expanduser()
        saved = json.loads((folder / "adapter_config.json").read_text("utf-8"))
        return {
            "r": saved.get("r"),
            "alpha": saved.get("lora_alpha"),
            "dropout": 0.0,  # switched off (disable_dropout)
            "target_modules": saved.get("target_modules"),
            "from": "the SFT adapter's adapter_config.json",
        }

    def _check_sft_base(self, folder: Path, base_sha: str) -> None:
        path = folder / MANIFEST_FILE
        if not path.is_file():
            return
        try:
            recorded = (json.loads(path.read_text("utf-8")).get("base_model") or {}).get(
                "weights_sha256"
            )
        except ValueError:
            return
        if recorded and recorded != base_sha:
            raise InputError(
                Problem(
                    f"the SFT adapter was trained on base weights {recorded[:12]}, not on the "
                    f"recipe's base model ({base_sha[:12]})",
                    file=str(path),
                    field="base_model.weights_sha256",
                )
            )

    # -- the run --------------------------------------------------------------------------

    def train(
        self,
        recipe: Any,
        config: Any,
        dataset: Any,
        output: Path,
        *,
        resume: bool = True,
        on_step: StepCallback | None = None,
    ) -> TrainingRun:
        from finegate.harness.cli import resolve_actor
        from finegate.harness.run import library_versions
        from finegate.harness.system import adapter_weights_sha256

        output = Path(output)
        self._check_data(dataset)
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise InputError(
                f"method {self.name} does not train across processes yet: run it in one "
                "process (without --nproc or torchrun)"
            )
        done = _finished(output, recipe.hash(), dataset.hash)
        if done is not None and resume and self._same_reference(done, config):
            return TrainingRun(output, done, resumed=True)
        if not resume:
            remove_checkpoint(output)
        started = time.perf_counter()
        identity = {"recipe_hash": recipe.hash(), "dataset_hash": dataset.hash}
        checkpoint, elapsed = _resume_point(output, identity)
        run_file = output / CHECKPOINT_DIR / RUN_FILE
        run_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_file, json.dumps({**identity, "elapsed_s": elapsed}, sort_keys=True))
        progress = _Progress(on_step, run_file, started, elapsed)
        session = self.build(recipe, config, dataset, output, callbacks=[progress.callback])
        trainer = session.trainer
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        state = trainer.state
        objective = self.objective(session, session.val_rows, session.val_keys)
        trainer.model.save_pretrained(str(output), selected_adapters=["default"])
        adapter_sha = adapter_weights_sha256(output)
        loss_curve, validation_curve = curves(state.log_history)
        import trl

        manifest = {
            **manifest_head(
                recipe,
                self.name,
                session.base_path,
                session.base_sha,
                session.device,
                session.dtype,
                {**library_versions(), "trl": trl.__version__},
            ),
            "dataset": dataset_summary(dataset),
            "method": {
                "name": self.name,
                "lora": session.lora,
                "load_in_4bit": False,
                "beta": config.beta,
                "reference": session.reference,
                "trl": trl.__version__,
                "lr_schedule": LR_SCHEDULE,
                **self.describe(config),
            },
            "training": recipe.training.model_dump(mode="json"),
            "steps": state.global_step,
            "epochs_completed": math.floor((state.epoch or 0) + 1e-9),
            "early_stopped": False,
            "loss_curve": loss_curve,
            "validation_curve": validation_curve,
            "objective": objective,
            "adapter_sha256": adapter_sha,
            "wall_time_s": round(progress.total(), 3),
            "resumed": checkpoint is not None,
            "dp": None,
            # who trained it: that person may not approve its release (four eyes)
            "trained_by": resolve_actor(None),
        }
        atomic_write_text(
            output / DATASET_MANIFEST_FILE,
            json.dumps(dataset.manifest, indent=2, sort_keys=True) + "\n",
        )
        atomic_write_text(
            output / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        )
        remove_checkpoint(output)
        return TrainingRun(output, manifest, resumed=checkpoint is not None)

    def _same_reference(self, manifest: dict[str, Any], config: Any) -> bool:
        """A finished run is reused only if its SFT adapter is still the same."""
        recorded = (manifest.get("method") or {}).get("reference") or {}
        if not config.from_adapter:
            return recorded.get("kind") == "base_adapter_off"
        from finegate.harness.system import adapter_weights_sha256

        folder = Path(config.from_adapter).expanduser()
        return folder.is_dir() and recorded.get("adapter_sha256") == adapter_weights_sha256(folder)


def _resume_point(output: Path, identity: dict[str, Any]) -> tuple[Path | None, float]:
    """The newest complete checkpoint of this recipe and data, and the time spent so
    far; incomplete ones (killed while writing) are removed."""
    folder = output / CHECKPOINT_DIR
    if not folder.is_dir():
        return None, 0.0
    run_file = folder / RUN_FILE
    recorded: dict[str, Any] = {}
    if run_file.is_file():
        try:
            recorded = json.loads(run_file.read_text("utf-8"))
        except ValueError:
            recorded = {}
    complete = []
    for sub in folder.glob("checkpoint-*"):
        if (sub / "trainer_state.json").is_file() and sub.name.removeprefix(
            "checkpoint-"
        ).isdigit():
            complete.append((int(sub.name.removeprefix("checkpoint-")), sub))
    holds_something = bool(complete) or any(p.name != RUN_FILE for p in folder.iterdir())
    if holds_something and {k: recorded.get(k) for k in identity} != identity:
        raise InputError(
            f"{output} holds a checkpoint of another recipe or data set",
            hint="use another output folder, or train with --no-resume",
        )
    if not complete:
        return None, 0.0
    newest = max(complete)[1]
    for sub in folder.glob("checkpoint-*"):
        if sub != newest:
            shutil.rmtree(sub, ignore_errors=True)
    return newest, float(recorded.get("elapsed_s") or 0.0)


def dataset_summary(dataset: Any) -> dict[str, Any]:
    """The preference data as the training manifest records it: its manifest's
    SHA-256 and the parts gates and reports read (counts, input files, split
    digests, PII census, provenance, group privacy)."""
    m = dataset.manifest
    pii = m.get("pii") or {}
    return {
        "sha256": dataset.hash,
        "format": m.get("format"),
        "form": dataset.form,
        "counts": m.get("counts"),
        "splits": m.get("splits"),
        "files": m.get("files"),
        "splits_sha256": m.get("splits_sha256"),
        "pii": {k: pii.get(k) for k in ("total", "by_type", "scrubbed", "scanner")},
        "provenance": m.get("provenance"),
        "group_privacy": m.get("group_privacy"),
        "canaries": m.get("canaries") or [],
    }


def batches(rows: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def on_device(batch: dict[str, Any], device: str) -> dict[str, Any]:
    return {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}


def same_prompt_accuracy(
    rewards: list[float], desirable: list[bool], keys: list[str]
) -> tuple[float | None, int]:
    """Over every (desirable, undesirable) pair of answers to the same prompt: how
    often the desirable one has the higher reward."""
    by_prompt: dict[str, dict[bool, list[float]]] = defaultdict(lambda: {True: [], False: []})
    for reward, good, key in zip(rewards, desirable, keys, strict=True):
        by_prompt[key][good].append(reward)
    wins = total = 0
    for group in by_prompt.values():
        for good in group[True]:
            for bad in group[False]:
                total += 1
                wins += good > bad
    return (wins / total if total else None), total
