"""``finegate privacy``: memorisation of the fine-tune's own data (canary exposure,
membership inference, PII extraction) and the privacy-utility table. Results are
stored as runs, like ``finegate contamination``, so gates and reports read them."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from finegate.harness.cli._options import (
    emit_json,
    json_option,
    model_options,
    open_store,
    store_option,
    system_from_options,
)
from finegate.harness.cli._pii import _scanner, _scanner_options


def _model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A local model and its adapter (no template: memorisation is measured on the
    model itself), and the stored run's seed and label."""
    fn = click.option("--label", default=None, help="A name for the stored run.")(fn)
    fn = click.option("--seed", default=0, show_default=True)(fn)
    return model_options(
        template=False,
        load_in_4bit=False,
        endpoint=False,
        model_help="Base model: folder, .gguf file, embedded name or cached hub id.",
        adapter_help="The fine-tune's PEFT adapter folder.",
    )(fn)


def _systems(
    model: str, adapter: str | None, dtype: str, device: str, batch_size: int, reference: bool
) -> tuple[Any, Any]:
    """The candidate and, when asked and there is an adapter, the base model as reference."""
    candidate = system_from_options(model, adapter, None, dtype, device, False, batch_size)
    base = None
    if reference and adapter:
        base = system_from_options(model, None, None, dtype, device, False, batch_size)
    return candidate, base


def _fmt(m: Any) -> str:
    from finegate.harness.privacy import fmt_metric

    return fmt_metric(m)


@click.group("privacy")
def privacy_group() -> None:
    """Memorisation of the fine-tune's own data: exposure, membership, extraction."""


@privacy_group.command("exposure")
@_model_options
@click.option(
    "--manifest",
    default=None,
    help="Training or dataset manifest with the canaries [default: the adapter's].",
)
@click.option("--method", default="auto", type=click.Choice(["auto", "exact", "sampled"]))
@click.option(
    "--samples",
    default=2000,
    show_default=True,
    type=click.IntRange(20),
    help="Candidates scored per canary (sampled method).",
)
@click.option(
    "--exact-limit",
    default=10_000,
    show_default=True,
    help="auto: enumerate every candidate up to this many.",
)
@store_option
@json_option
def privacy_exposure(
    model: str,
    adapter: str | None,
    dtype: str,
    device: str,
    batch_size: int,
    seed: int,
    label: str | None,
    manifest: str | None,
    method: str,
    samples: int,
    exact_limit: int,
    store: str | None,
    as_json: bool,
) -> None:
    """Exposure of each canary planted in training (Carlini et al., The Secret Sharer)."""
    from finegate.harness.core import InputError, progress_bar
    from finegate.harness.privacy import canaries_from_manifest, measure_exposure

    source = manifest or adapter
    if source is None:
        raise InputError("give --manifest (or --adapter, whose training manifest lists canaries)")
    canaries = canaries_from_manifest(source)
    system, _ = _systems(model, adapter, dtype, device, batch_size, reference=False)
    with progress_bar(enabled=not as_json) as update:
        result = measure_exposure(
            system,
            canaries,
            open_store(store),
            method=method,
            samples=samples,
            exact_limit=exact_limit,
            seed=seed,
            label=label,
            manifest=str(source),
            on_progress=update,
        )
    if as_json:
        emit_json(
            {
                "run_id": result.run_id,
                "metrics": [m.to_dict() for m in result.metrics],
                "canaries": [
                    {
                        "index": c.canary.index,
                        "repetitions": c.canary.repetitions,
                        "method": c.method,
                        "exposure": c.exposure,
                        "max_exposure": c.max_exposure,
                        "rank": c.rank,
                        "candidates": c.candidates,
                    }
                    for c in result.canaries
                ],
            }
        )
        return
    click.echo(f"run {result.run_id}  exposure of {len(canaries)} canaries on {system.name}")
    for c in result.canaries:
        rank = f"rank {c.rank}" if c.rank is not None else f"sample rank {c.sample_rank}"
        click.echo(
            f"  canary {c.canary.index} (x{c.canary.repetitions}): {c.exposure:.2f} of "
            f"{c.max_exposure:.2f} bits ({c.method}, {rank} of {c.candidates + 1})"
        )
    for reps, values in result.by_repetitions().items():
        click.echo(
            f"  {reps} repetitions: mean {sum(values) / len(values):.2f} bits, n={len(values)}"
        )
    m = next(x for x in result.metrics if x.name == "exposure")
    click.echo(f"exposure {_fmt(m)}")


def _mia_sets(
    members: str | None, non_members: str | None, data: str | None, data_format: str | None
) -> tuple[list[Any], list[Any]]:
    from finegate.harness.core import InputError
    from finegate.harness.privacy import load_examples

    if data:
        folder = Path(data)
        members = members or str(folder / "train.jsonl")
        if non_members is None:
            held = [folder / n for n in ("test.jsonl", "validation.jsonl")]
            non_members = next((str(p) for p in held if p.is_file() and p.stat().st_size), None)
    if not members or not non_members:
        raise InputError(
            "give --members and --non-members (JSONL), or --data, a prepared folder "
            "(train.jsonl for members, test.jsonl or validation.jsonl for non-members)"
        )
    return load_examples(members, data_format), load_examples(non_members, data_format)


@privacy_group.command("mia")
@_model_options
@click.option("--members", default=None, help="Training examples (JSONL).")
@click.option("--non-members", default=None, help="Held-out examples never trained on (JSONL).")
@click.option("--data", default=None, help="A folder written by `finegate data prepare`.")
@click.option("--format", "data_format", default=None)
@click.option("--limit", default=None, type=click.IntRange(2), help="At most N of each set.")
@click.option("--k", "k", default=0.2, show_default=True, help="Min-K% fraction of tokens.")
@click.option("--no-reference", is_flag=True, help="Skip the base model (no 'ref' attack).")
@store_option
@json_option
def privacy_mia(
    model: str,
    adapter: str | None,
    dtype: str,
    device: str,
    batch_size: int,
    seed: int,
    label: str | None,
    members: str | None,
    non_members: str | None,
    data: str | None,
    data_format: str | None,
    limit: int | None,
    k: float,
    no_reference: bool,
    store: str | None,
    as_json: bool,
) -> None:
    """Membership inference on training members against held-out non-members."""
    from finegate.harness.core import progress_bar
    from finegate.harness.privacy import membership_inference

    mem, non = _mia_sets(members, non_members, data, data_format)
    if limit:
        mem, non = mem[:limit], non[:limit]
    system, base = _systems(model, adapter, dtype, device, batch_size, not no_reference)
    with progress_bar(enabled=not as_json) as update:
        result = membership_inference(
            system,
            mem,
            non,
            reference=base,
            k=k,
            store=open_store(store),
            seed=seed,
            label=label,
            options={"members_file": members, "non_members_file": non_members, "data": data},
            on_progress=update,
        )
    if as_json:
        emit_json({"run_id": result.run_id, "metrics": [m.to_dict() for m in result.metrics]})
        return
    click.echo(
        f"run {result.run_id}  membership inference on {system.name}: "
        f"{len(mem)} members, {len(non)} non-members"
    )
    for m in result.metrics:
        click.echo(f"  {m.name:<24} {_fmt(m)}")


@privacy_group.command("extraction")
@_model_options
@click.option("--data", required=True, help="The training data (JSONL) whose PII is probed.")
@click.option("--format", "data_format", default=None)
@click.option("--max-new-tokens", default=24, show_default=True, type=click.IntRange(1))
@click.option("--limit", default=None, type=click.IntRange(1), help="At most N PII values.")
@click.option("--no-reference", is_flag=True, help="Do not compare with the base model.")
@_scanner_options("pattern")
@store_option
@json_option
def privacy_extraction(
    model: str,
    adapter: str | None,
    dtype: str,
    device: str,
    batch_size: int,
    seed: int,
    label: str | None,
    data: str,
    data_format: str | None,
    max_new_tokens: int,
    limit: int | None,
    no_reference: bool,
    mode: str,
    entities: str | None,
    threshold: float,
    allow_list_file: str | None,
    store: str | None,
    as_json: bool,
) -> None:
    """How often the fine-tune completes a training PII value from its prefix, verbatim,
    where the base model does not."""
    from finegate.harness.core import progress_bar
    from finegate.harness.data import read_examples
    from finegate.harness.privacy import measure_extraction

    examples = read_examples(data, data_format)
    system, base = _systems(model, adapter, dtype, device, batch_size, not no_reference)
    with progress_bar(enabled=not as_json) as update:
        result = measure_extraction(
            system,
            examples,
            _scanner(mode, entities, threshold, allow_list_file),
            reference=base,
            max_new_tokens=max_new_tokens,
            limit=limit,
            store=open_store(store),
            seed=seed,
            label=label,
            options={"data": data},
            on_progress=update,
        )
    if as_json:
        emit_json({"run_id": result.run_id, "metrics": [m.to_dict() for m in result.metrics]})
        return
    click.echo(f"run {result.run_id}  extraction of {result.targets} PII values on {system.name}")
    for m in result.metrics:
        click.echo(f"  {m.name:<28} {_fmt(m)}")


@privacy_group.command("tradeoff")
@click.option("--run", "-r", "runs", multiple=True, required=True, help="Evaluation runs.")
@click.option("--metric", required=True, help="The task metric, as SUITE:METRIC.")
@store_option
@json_option
def privacy_tradeoff(runs: tuple[str, ...], metric: str, store: str | None, as_json: bool) -> None:
    """Privacy next to utility: per candidate, the task metric, epsilon, and the latest
    exposure, membership-inference AUC and extraction leak rate of the same model."""
    from finegate.harness.privacy import tradeoff

    rows = tradeoff(open_store(store, create=False), runs, metric)
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"privacy and utility ({metric})")
    for col in ("candidate", "epsilon", "utility", "exposure (bits)", "MIA AUC (loss)", "leak"):
        table.add_column(col)
    for r in rows:
        eps = "none (no DP)" if r.epsilon is None else f"{r.epsilon:.2f}"
        table.add_row(
            f"{r.name} ({r.run_id})",
            eps,
            _fmt(r.utility),
            *(_fmt(r.privacy.get(k)) for k in ("exposure", "mia", "extraction")),
        )
    Console().print(table)
    if any(math.isnan(getattr(r.utility, "value", math.nan)) for r in rows):
        click.echo(f"(a candidate without {metric} shows 'not measured')")


COMMANDS = [privacy_group]
