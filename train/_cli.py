"""``finegate train`` and ``finegate data prepare``, contributed through ``finegate.commands``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from finegate.harness.cli import emit_json, json_option


@click.command("train")
@click.option("--recipe", "-r", "recipe_path", required=True, help="Recipe YAML.")
@click.option("--output", "-o", default=None, help="Adapter folder (default: the recipe's).")
@click.option("--no-resume", is_flag=True, help="Start over even if a checkpoint exists.")
@click.option(
    "--nproc",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Processes on this machine (torchrun; gloo on CPU, NCCL with one GPU each), "
    "each taking a slice of every batch.",
)
@json_option
def train_command(
    recipe_path: str, output: str | None, no_resume: bool, nproc: int, as_json: bool
) -> None:
    """Train an adapter from a recipe; resumes from its checkpoint after a kill."""
    import os
    import sys

    from finegate.train._distributed import LAUNCHED, launch
    from finegate.train._protocol import trainers
    from finegate.train._recipe import load_recipe
    from finegate.train._run import train

    recipe, config = load_recipe(recipe_path)
    if nproc > 1 and not os.environ.get(LAUNCHED):
        if not getattr(trainers.get(recipe.method), "data_parallel", False):
            raise click.BadParameter(
                f"method {recipe.method} does not train across processes yet",
                param_hint="--nproc",
            )
        argv = ["train", "-r", recipe_path, *(["-o", output] if output else [])]
        argv += [*(["--no-resume"] if no_resume else []), *(["--json"] if as_json else [])]
        sys.exit(launch(nproc, argv))
    from finegate.harness.core import progress_bar

    base = Path(recipe_path).resolve().parent
    quiet = os.environ.get("RANK", "0") != "0"  # under torchrun, rank 0 speaks for all
    with progress_bar(enabled=not (as_json or quiet)) as update:

        def on_step(info: dict[str, Any]) -> None:
            if update is not None:
                update(f"training {recipe.id}", info["step"], info["total"], loss=info["loss"])

        run, dataset = train(
            recipe, config, output=output, base_dir=base, resume=not no_resume, on_step=on_step
        )
    m = run.manifest
    if quiet:
        return
    if as_json:
        emit_json({"adapter": str(run.adapter_dir), "resumed": run.resumed, "manifest": m})
        return
    last = m["loss_curve"][-1]["loss"] if m["loss_curve"] else float("nan")
    click.echo(
        f"adapter {run.adapter_dir}  ({m['recipe']['method']}, {m['steps']} steps, "
        f"{m['wall_time_s']:.0f} s{', resumed' if run.resumed else ''})"
    )
    click.echo(
        f"final train loss {last:.4f}; validation "
        + ", ".join(f"{v['loss']:.4f}" for v in m["validation_curve"])
    )
    if m.get("dp"):
        dp = m["dp"]
        click.echo(
            f"DP: epsilon {dp['epsilon']:.3f} at delta {dp['delta']:.2e} ({dp['accountant']}"
            f"), noise {dp['noise_multiplier']:.3f}, clip {dp['max_grad_norm']}, "
            f"sample rate {dp['sample_rate']:.4f}, {dp['steps']} steps"
        )
    click.echo(f"data {dataset.hash[:12]}: {m['dataset']['counts']}")


@click.group("data")
def data_group() -> None:
    """Training data: prepare (validate, dedup, PII census, split, manifest)."""


@data_group.command("prepare")
@click.argument("data")
@click.option("--output", "-o", required=True, help="Folder for the splits and the manifest.")
@click.option(
    "--format",
    "data_format",
    default=None,
    type=click.Choice(
        ["chat", "alpaca", "prompt_completion", "text", "preference", "unpaired_preference"]
    ),
    help="preference: {prompt, chosen, rejected}; unpaired_preference: {prompt, completion, "
    "label} (split by prompt)",
)
@click.option("--splits", default="0.8,0.1,0.1", show_default=True)
@click.option(
    "--near",
    default=0.9,
    show_default=True,
    type=click.FloatRange(0.01, 1.0),
    help="Jaccard similarity (word 5-grams) that makes a near duplicate.",
)
@click.option(
    "--pii", default="pattern", show_default=True, type=click.Choice(["spacy", "pattern", "off"])
)
@click.option("--scrub-pii", is_flag=True, help="Replace PII by <ENTITY_TYPE> before training.")
@click.option("--require-provenance", is_flag=True)
@click.option("--canaries", default=0, show_default=True, type=click.IntRange(0))
@click.option("--canary-repeats", default=1, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=0, show_default=True)
@json_option
def data_prepare(
    data: str,
    output: str,
    data_format: str | None,
    splits: str,
    near: float,
    pii: str,
    scrub_pii: bool,
    require_provenance: bool,
    canaries: int,
    canary_repeats: int,
    seed: int,
    as_json: bool,
) -> None:
    """Validate DATA (chat, alpaca, prompt/completion, or preference JSONL) and write
    its splits."""
    from pydantic import ValidationError

    from finegate.harness.core import InputError
    from finegate.train._data import prepare
    from finegate.train._recipe import CanaryConfig, DataConfig

    try:
        ratios = tuple(float(x) for x in splits.split(","))
        config = DataConfig(
            path=data,
            format=data_format,
            splits=ratios,
            near_duplicate=near,
            pii=pii,
            scrub_pii=scrub_pii,
            require_provenance=require_provenance,
            canaries=CanaryConfig(count=canaries, repetitions=canary_repeats),
        )
    except (ValueError, ValidationError) as e:
        raise InputError(f"bad option: {str(e).splitlines()[-1] if str(e) else e}") from None
    if config.preference:
        from finegate.train._prefs_data import prepare_preferences

        dataset: Any = prepare_preferences(config)
    else:
        dataset = prepare(config, seed=seed)
    folder = dataset.write(output)
    m = dataset.manifest
    if as_json:
        emit_json({"output": str(folder), "manifest": m})
        return
    c = m["counts"]
    if config.preference:
        click.echo(
            f"{data}: {c['read']} {m['form']} preference examples on {c['prompts']} prompts, "
            f"{c['dropped_exact']} exact and {c['dropped_near']} near duplicates dropped; "
            f"split by prompt: {c['train']} train, {c['validation']} validation, {c['test']} test"
        )
        click.echo(f"dataset {m['sha256'][:12]} written to {folder}")
        return
    click.echo(
        f"{data}: {c['read']} examples read, {c['dropped_exact']} exact and "
        f"{c['dropped_near']} near duplicates dropped (see dropped.jsonl)"
    )
    click.echo(
        f"split: {c['train']} train, {c['validation']} validation, {c['test']} test"
        + (f"; {c['canary_copies']} canary copies in train" if c["canary_copies"] else "")
    )
    click.echo(
        f"PII: {m['pii'].get('total', 0)} values {m['pii'].get('by_type', {})}"
        + (" (scrubbed)" if m["pii"].get("scrubbed") else "")
    )
    click.echo(
        f"provenance missing for {m['provenance']['missing']} examples; largest repeat "
        f"count {m['group_privacy']['max_record_repeats']}"
    )
    click.echo(f"dataset {m['sha256'][:12]} written to {folder}")
