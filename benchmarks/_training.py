"""Training steps: finegate's ``lora`` backend against a plain peft + transformers
loop on the same recipe, batches and tokens; then ``dp-sgd`` (opacus) against
``lora`` at the same expected batch size."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks._model import BenchModel
from benchmarks._report import Result

RECIPES = Path(__file__).resolve().parent.parent / "train" / "recipes"


def _recipe(name: str, steps: int, batch_size: int) -> tuple[Any, Any]:
    from finegate.train import load_recipe

    recipe, config = load_recipe(RECIPES / f"{name}.yaml")
    training = recipe.training.model_copy(
        update={
            "max_steps": steps,
            "epochs": 1,
            "batch_size": batch_size,
            "checkpoint_every": 10**6,
        }
    )
    return recipe.model_copy(update={"training": training}), config


class _StepClock:
    """Wraps a trainer's ``step`` to time it and record what it trained on."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.batches: list[list[int]] = []
        self.tokens: list[int] = []
        self.answer_tokens: list[int] = []

    def timed(self, cls: type) -> type:
        clock = self

        class Timed(cls):  # type: ignore[misc, valid-type]
            def step(self, ctx: Any, batch: list[int], accumulate: int, last: bool) -> float:
                start = time.perf_counter()
                loss = super().step(ctx, batch, accumulate, last)
                clock.seconds.append(time.perf_counter() - start)
                clock.batches.append(list(batch))
                clock.tokens.append(sum(len(ctx.train_set[i][0]) for i in batch))
                clock.answer_tokens.append(
                    sum(sum(1 for t in ctx.train_set[i][1] if t != -100) for i in batch)
                )
                return loss

        return Timed

    def steady(self) -> list[float]:
        return self.seconds[1:]  # the first step warms allocators and kernels


def _train(cls: type, recipe: Any, config: Any, dataset: Any, out: Path) -> _StepClock:
    clock = _StepClock()
    clock.timed(cls)().train(recipe, config, dataset, out, resume=False)
    return clock


def plain_peft_loop(
    model: BenchModel, recipe: Any, config: Any, dataset: Any, batches: list[list[int]]
) -> list[float]:
    """The loop a user writes with peft and transformers alone: the model's own
    loss from ``labels`` (logits at every position), AdamW, gradient clipping."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from finegate.train import collate, encode_example

    torch.manual_seed(recipe.training.seed)
    tok = model.tokenizer
    examples = [
        encode_example(tok, r.messages, max_length=recipe.training.max_length)
        for r in dataset.splits["train"]
    ]
    base = AutoModelForCausalLM.from_pretrained(model.path, dtype=torch.float32)
    lora = LoraConfig(
        r=config.r,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=config.target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(base, lora)
    peft_model.train()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=recipe.training.learning_rate, weight_decay=recipe.training.weight_decay
    )
    seconds = []
    for batch in batches:
        start = time.perf_counter()
        data = collate([examples[i] for i in batch], tok.pad_token_id)
        loss = peft_model(**data).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, recipe.training.max_grad_norm or 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - start)
    return seconds[1:]


def run(
    model: BenchModel, *, steps: int, batch_size: int, workdir: Path, peak: float
) -> list[Result]:
    from finegate.train import prepare_for_recipe
    from finegate.train.dp_sgd import DpSgdTrainer
    from finegate.train.lora import LoraTrainer

    recipe, config = _recipe("demo-lora", steps, batch_size)
    dp_recipe, dp_config = _recipe("demo-dp", steps, batch_size)
    # the same adapter for both: DP's recipe has no LoRA dropout, which alone
    # costs about a quarter of a step here
    config = config.model_copy(update={"dropout": dp_config.dropout})
    dataset = prepare_for_recipe(recipe)
    lora = _train(LoraTrainer, recipe, config, dataset, workdir / "lora")
    plain = plain_peft_loop(model, recipe, config, dataset, lora.batches)
    dp = _train(DpSgdTrainer, dp_recipe, dp_config, prepare_for_recipe(dp_recipe), workdir / "dp")

    lora_step = statistics.median(lora.steady())
    plain_step = statistics.median(plain)
    dp_step = statistics.median(dp.steady())
    # Poisson batches vary in size: compare the cost of a trained token
    per_token = {
        "lora": sum(lora.steady()) / sum(lora.tokens[1:]),
        "dp_sgd": sum(dp.steady()) / max(1, sum(dp.tokens[1:])),
    }
    tokens = statistics.mean(lora.tokens[1:])
    answers = statistics.mean(lora.answer_tokens[1:])
    flops = 4 * model.body_parameters * tokens + 4 * model.head_parameters * answers
    detail = {
        "recipe": "demo-lora",
        "lora": config.model_dump(mode="json"),
        "batch_size": batch_size,
        "timed_steps": len(lora.steady()),
        "finegate_lora_step_s": lora_step,
        "plain_peft_step_s": plain_step,
        "lora_steps_s": lora.steady(),
        "plain_steps_s": plain,
        "mean_tokens_per_step": tokens,
        "mean_answer_tokens_per_step": answers,
    }
    dp_detail = {
        "recipe": "demo-dp",
        "expected_batch_size": batch_size,
        "dp_step_s": dp_step,
        "lora_step_s": lora_step,
        "dp_steps_s": dp.steady(),
        "dp_batch_sizes": [len(b) for b in dp.batches[1:]],
        "seconds_per_token": per_token,
        "dp_tokens_per_step": dp.tokens[1:],
    }
    dp_ratio = per_token["dp_sgd"] / per_token["lora"]
    return [
        Result(
            "training",
            "plain peft step / finegate lora step",
            plain_step / lora_step,
            "x",
            detail=detail,
        ),
        Result(
            "training",
            "dp-sgd / lora, time per trained token",
            dp_ratio,
            "x",
            "<= 1.3",
            dp_ratio <= 1.3,
            dp_detail,
        ),
        Result(
            "efficiency",
            "lora training FLOP/s over matmul peak",
            flops / lora_step / peak,
            "of peak",
            detail={"achieved_gflops": flops / lora_step / 1e9, "flops_per_step": flops},
        ),
    ]
