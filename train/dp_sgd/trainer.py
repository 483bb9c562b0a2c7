"""``dp-sgd``: differentially private LoRA with opacus.

Only the LoRA parameters train; the base is frozen. opacus computes each
example's gradient, clips it to ``max_grad_norm``, adds Gaussian noise whose
scale it computes from the target epsilon, delta and the number of epochs, and
samples batches by Poisson sampling, as the accountant (PRV by default, RDP on
request) assumes. The loss is the mean over each sequence's answer tokens, so
one example is one privacy unit. A Poisson batch can be empty: then the step
still happens, with noise only, and is accounted for.

Not allowed with DP-SGD, with the reason in the error: gradient accumulation
(a step would mix batches the accountant treats as separate), gradient
checkpointing (opacus then sees no per-example gradients), and a base whose
trainable modules opacus cannot make private (its validator's messages).
"""

from __future__ import annotations

import math
from typing import Any

from finegate.harness.core import InputError
from finegate.train._distributed import World, sum_value
from finegate.train._loop import PeftTrainer, _Context
from finegate.train._tokenize import answer_losses, micro_batches
from finegate.train.dp_sgd.config import DpSgdSettings


class DpSgdTrainer(PeftTrainer):
    name = "dp-sgd"
    config_class = DpSgdSettings

    @classmethod
    def check(cls, recipe: Any, config: Any) -> list[tuple[tuple[Any, ...], str]]:
        problems = []
        if recipe.training.gradient_accumulation != 1:
            problems.append(
                (
                    ("training", "gradient_accumulation"),
                    "DP-SGD takes one Poisson batch per step; use batch_size instead",
                )
            )
        if recipe.training.gradient_checkpointing:
            problems.append(
                (
                    ("training", "gradient_checkpointing"),
                    "opacus gets no per-example gradients under checkpointing",
                )
            )
        return problems

    def describe_method(self, config: Any) -> dict[str, Any]:
        lora = config.model_dump(mode="json", include={"r", "alpha", "dropout", "target_modules"})
        return {"lora": lora, "load_in_4bit": False}

    def setup(self, ctx: _Context) -> None:
        import torch
        from opacus import PrivacyEngine
        from opacus.validators import ModuleValidator

        ctx.model.train()
        errors = ModuleValidator.validate(ctx.model, strict=False)
        if errors:
            raise InputError([f"opacus cannot make this model private: {e}" for e in errors])
        n = len(ctx.train_set)
        cfg = ctx.config
        delta = cfg.delta if cfg.delta is not None else 1.0 / (10 * n)
        # opacus samples indices; the batches are collated by the shared loop
        indices = torch.utils.data.TensorDataset(torch.arange(n))
        loader = torch.utils.data.DataLoader(
            indices, batch_size=ctx.recipe.training.batch_size, generator=ctx.generators["data"]
        )
        try:
            engine = PrivacyEngine(accountant=cfg.accountant, secure_mode=cfg.secure_mode)
        except ImportError as e:
            raise InputError(f"config.secure_mode needs opacus' secure generator: {e}") from None
        try:
            model, optimizer, dp_loader = engine.make_private_with_epsilon(
                module=ctx.model,
                optimizer=ctx.optimizer,
                data_loader=loader,
                target_epsilon=cfg.target_epsilon,
                target_delta=delta,
                epochs=ctx.recipe.training.epochs,
                max_grad_norm=cfg.max_grad_norm,
                poisson_sampling=True,
                grad_sample_mode=cfg.grad_sample_mode,
            )
        except ValueError as e:
            raise InputError(f"opacus cannot reach epsilon {cfg.target_epsilon}: {e}") from None
        ctx.model, ctx.optimizer = model, optimizer
        ctx.dp = {"engine": engine, "loader": dp_loader, "delta": delta}
        if ctx.world.size > 1:
            add_noise_once(optimizer, ctx.world)

    def batches_per_epoch(self, ctx: _Context) -> int:
        return len(ctx.dp["loader"])

    def epoch_batches(self, ctx: _Context, epoch: int) -> list[list[int]]:
        """This epoch's Poisson batches, from a generator seeded by the epoch so a
        resumed run draws the same ones."""
        ctx.generators["data"].manual_seed(ctx.recipe.training.seed * 1000 + epoch)
        return [list(b) for b in ctx.dp["loader"].batch_sampler]

    def step(self, ctx: _Context, batch: list[int], accumulate: int, last: bool) -> float:
        optimizer = ctx.optimizer
        ctx.set_lr()
        # across processes, each clips its slice's per-example gradients; the sums
        # are joined and noised once (add_noise_once) before the step
        examples = [ctx.train_set[i] for i in ctx.world.part(batch)]
        if not examples:  # the batch is empty, or this process's slice of it is
            self._noise_only_step(ctx)
            mine = 0.0
        else:
            mean = private_backward(ctx.model, optimizer, examples, ctx.pad, ctx.device)
            mine = mean * len(examples)
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        ctx.stepped = True
        total = sum_value(mine, ctx.world)
        return total / len(batch) if batch else math.nan

    def _noise_only_step(self, ctx: _Context) -> None:
        """An empty Poisson batch: the release is noise alone, and it is accounted."""
        import torch

        optimizer = ctx.optimizer
        for p in optimizer.params:
            p.summed_grad = torch.zeros_like(p)
        optimizer.add_noise()
        optimizer.scale_grad()
        if optimizer.step_hook:
            optimizer.step_hook(optimizer)
        optimizer.original_optimizer.step()

    def save_extra(self, ctx: _Context) -> None:
        """The accountant's history goes into every checkpoint: a resumed run
        must count the steps taken before the kill."""
        history = ctx.dp["engine"].accountant.history
        ctx.state["extra"]["accountant_history"] = [list(h) for h in history]

    def restore(self, ctx: _Context, saved: dict[str, Any]) -> None:
        history = saved["state"]["extra"].get("accountant_history", [])
        ctx.dp["engine"].accountant.history = [tuple(h) for h in history]

    def dp_summary(self, ctx: _Context) -> dict[str, Any]:
        engine, delta = ctx.dp["engine"], ctx.dp["delta"]
        epsilon = float(engine.get_epsilon(delta))
        group = ctx.group_privacy
        k = max(
            1,
            int(group.get("max_record_repeats") or 1),
            int(group.get("max_pii_value_repeats") or 1),
        )
        return {
            "epsilon": epsilon,
            "delta": delta,
            "target_epsilon": ctx.config.target_epsilon,
            "accountant": ctx.config.accountant,
            "noise_multiplier": float(ctx.optimizer.noise_multiplier),
            "max_grad_norm": ctx.config.max_grad_norm,
            "sample_rate": float(ctx.dp["loader"].sample_rate),
            "expected_batch_size": ctx.optimizer.expected_batch_size,
            "steps": sum(h[2] for h in engine.accountant.history),
            "grad_sample_mode": ctx.config.grad_sample_mode,
            "secure_mode": ctx.config.secure_mode,
            # opacus draws noise from torch's generator unless secure_mode (torchcsprng)
            "noise_generator": "cryptographically secure (torchcsprng)"
            if ctx.config.secure_mode
            else "torch default (not cryptographically secure)",
            # group privacy: k copies of a record get (k eps, k e^((k-1) eps) delta)
            "group_size": k,
            "group_epsilon": k * epsilon,
            "group_delta": min(1.0, k * math.exp((k - 1) * epsilon) * delta),
        }


def add_noise_once(optimizer: Any, world: World) -> None:
    """Make opacus' optimizer noise the whole batch once, across processes.

    Each process holds the clipped sum of its own slice's per-example gradients.
    The sums are added up over the processes; rank 0 alone draws the noise
    (standard deviation noise_multiplier x max_grad_norm, as in one process) and
    its noised gradient is sent to every process, so all take the same step. A
    noise draw on every rank would add the noise N times over: the accountant's
    epsilon would not see it, since it comes from the schedule alone."""
    import torch.distributed as dist

    noise = optimizer.add_noise

    def once() -> None:
        for p in optimizer.params:
            dist.all_reduce(p.summed_grad, op=dist.ReduceOp.SUM)
        if world.main:
            noise()
        else:
            for p in optimizer.params:
                p.grad = p.summed_grad.clone().view_as(p)
        for p in optimizer.params:
            p.grad = p.grad.contiguous()
            dist.broadcast(p.grad, src=0)

    optimizer.add_noise = once


def private_backward(
    model: Any, optimizer: Any, examples: list[Any], pad: int, device: str
) -> float:
    """Per-example gradients of one Poisson batch, in length-sorted micro-batches.

    opacus refuses a second backward pass before a step under Poisson sampling
    (it would be a second batch to the accountant), so accumulation is allowed
    only here, and the micro-batches' per-example gradients are joined into one
    tensor per parameter before the step: opacus then clips each example's
    gradient once, adds noise once and divides by the expected batch size once,
    as for a single pass. Returns the batch's mean loss."""
    import torch

    total = 0.0
    model.allow_grad_accumulation()
    try:
        for data in micro_batches(examples, pad, device):
            losses = answer_losses(model, data)
            losses.mean().backward()  # opacus rescales "mean" to per-example gradients
            total += float(losses.detach().sum())
    finally:
        model.forbid_grad_accumulation()
    for p in optimizer.params:
        if isinstance(getattr(p, "grad_sample", None), list):
            p.grad_sample = torch.cat(p.grad_sample, dim=0)
    return total / len(examples)
