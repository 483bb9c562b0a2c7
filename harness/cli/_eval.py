"""``finegate eval|baseline|compare|drift|contamination``: evaluating systems and
reading two runs against each other."""

from __future__ import annotations

from typing import Any

import click

from finegate.harness.cli._options import (
    emit_json,
    json_option,
    model_options,
    open_store,
    store_option,
    system_from_options,
    system_spec,
)


def run_and_report(
    system: Any,
    suite_refs: tuple[str, ...],
    store_location: str | None,
    *,
    limit: int | None,
    seed: int,
    label: str | None,
    kind: str,
    no_cache: bool,
    no_resume: bool,
    as_json: bool,
    manifest: str | None = None,
    shard: tuple[int, int] | None = None,
) -> None:
    from finegate.harness.core import progress_bar
    from finegate.harness.run import RunOptions, run_suites
    from finegate.harness.suite import resolve_suite

    suites = [resolve_suite(ref) for ref in suite_refs]
    store = open_store(store_location)
    options = RunOptions(
        seed=seed,
        limit=limit,
        label=label,
        kind=kind,
        use_cache=not no_cache,
        resume=not no_resume,
        manifest=manifest,
        shard=shard,
    )
    with progress_bar(enabled=not as_json) as on_progress:
        result = run_suites(system, suites, store, options, on_progress=on_progress)
    _report(result, system.name, as_json, shard)


def _report(result: Any, name: str, as_json: bool, shard: tuple[int, int] | None = None) -> None:
    """A run's outcome: JSON, a shard's count of cases in, or the metrics."""
    if as_json:
        emit_json(
            {
                "run_id": result.run_id,
                "resumed": result.resumed,
                "complete": result.complete,
                "cases_in": result.cases_in,
                "cases_total": result.cases_total,
                "timings": result.timings,
                "metrics": {s: [m.to_dict() for m in ms] for s, ms in result.metrics.items()},
            }
        )
    elif not result.complete:
        k, n = shard or (1, 1)
        click.echo(
            f"shard {k}/{n} done: run {result.run_id} holds {result.cases_in} of "
            f"{result.cases_total} cases; it completes (metrics computed, status complete) "
            "when the last shard is in"
        )
    else:
        from finegate.harness.cli._display import print_metrics

        print_metrics(result.run_id, name, result.metrics, result.timings)


@click.command("eval")
@model_options()
@click.option(
    "--suite",
    "-s",
    "suites",
    multiple=True,
    required=True,
    help="Suite name (see `finegate suites list`) or suite.yaml path; repeatable.",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N cases.")
@click.option("--seed", default=0, show_default=True)
@click.option("--label", default=None, help="A name for the run.")
@click.option("--no-cache", is_flag=True, help="Recompute every response.")
@click.option(
    "--no-resume", is_flag=True, help="Start a new run even if an identical one was cut off."
)
@click.option(
    "--manifest",
    default=None,
    help="Bind this training manifest (file, or its folder) to the run: for a fine-tune "
    "with no adapter folder (an endpoint, a merged model), so governance gates can read "
    "what it was trained on.",
)
@click.option(
    "--shard",
    default=None,
    callback=lambda ctx, param, value: parse_shard(value),
    help="K/N: evaluate the K-th of N slices of the cases into the shared store; the run "
    "is complete when all N are in (run them anywhere: a Slurm array, a Kubernetes job).",
)
@click.option(
    "--executor",
    default="local",
    show_default=True,
    help="local, or ray[:ADDRESS]: --replicas model replicas as Ray actors, each one shard, "
    "on a new local Ray instance or the cluster at ADDRESS (pip install 'finegate[ray]').",
)
@click.option(
    "--replicas",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="With --executor ray: the replicas (and shards).",
)
@store_option
@json_option
def eval_command(
    model: str,
    adapter: str | None,
    template: str | None,
    dtype: str,
    device: str,
    load_in_4bit: bool,
    batch_size: int,
    suites: tuple[str, ...],
    limit: int | None,
    seed: int,
    label: str | None,
    no_cache: bool,
    no_resume: bool,
    manifest: str | None,
    shard: tuple[int, int] | None,
    executor: str,
    replicas: int,
    store: str | None,
    as_json: bool,
) -> None:
    """Evaluate a model (with optional adapter and prompt template) on suites."""
    if (shard or executor != "local") and no_resume:
        raise click.BadParameter(
            "the shards of an evaluation join one run: --shard and --executor ray cannot go "
            "with --no-resume",
            param_hint="--shard",
        )
    if executor != "local":
        kind, _, address = executor.partition(":")
        if kind != "ray" or shard:
            raise click.BadParameter(
                f"{executor!r}: give local or ray[:ADDRESS], without --shard (each replica "
                "is a shard)",
                param_hint="--executor",
            )
        spec = system_spec(model, adapter, template, dtype, device, load_in_4bit, batch_size)
        options = {"seed": seed, "limit": limit, "label": label, "use_cache": not no_cache}
        _eval_on_ray(spec, suites, store, options, replicas, address or None, manifest, as_json)
        return
    system = system_from_options(model, adapter, template, dtype, device, load_in_4bit, batch_size)
    run_and_report(
        system,
        suites,
        store,
        limit=limit,
        seed=seed,
        label=label,
        kind="eval",
        no_cache=no_cache,
        no_resume=no_resume,
        as_json=as_json,
        manifest=manifest,
        shard=shard,
    )


def _eval_on_ray(
    spec: Any,
    suite_refs: tuple[str, ...],
    store_location: str | None,
    options: dict[str, Any],
    replicas: int,
    address: str | None,
    manifest: str | None,
    as_json: bool,
) -> None:
    from finegate.harness.run import RunOptions, run_on_ray

    st = open_store(store_location)

    def on_shard(done: int, total: int) -> None:
        if not as_json:
            click.echo(f"  {done}/{total} replicas done", err=True)

    result = run_on_ray(
        spec,
        suite_refs,
        st,
        RunOptions(**options, manifest=manifest),
        replicas=replicas,
        address=address,
        on_shard=on_shard,
    )
    _report(result, spec.model or "model", as_json)


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``K/N`` with 1 <= K <= N."""
    if value is None:
        return None
    k, sep, n = value.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise click.BadParameter(f"{value!r}: give K/N with 1 <= K <= N, e.g. 2/4")
    return int(k), int(n)


@click.command("baseline")
@model_options()
@click.option("--suite", "-s", "suite_ref", required=True, help="Suite name or suite.yaml path.")
@click.option(
    "--shots",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Examples drawn (seeded) from the suite's train split.",
)
@click.option("--shot-split", default="train", show_default=True)
@click.option(
    "--no-suite-template", is_flag=True, help="Do not use the suite's own baseline template."
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N cases.")
@click.option("--seed", default=0, show_default=True)
@click.option("--label", default=None, help="A name for the run.")
@click.option("--no-cache", is_flag=True)
@click.option("--no-resume", is_flag=True)
@store_option
@json_option
def baseline_command(
    model: str,
    adapter: str | None,
    template: str | None,
    dtype: str,
    device: str,
    load_in_4bit: bool,
    batch_size: int,
    suite_ref: str,
    shots: int,
    shot_split: str,
    no_suite_template: bool,
    limit: int | None,
    seed: int,
    label: str | None,
    no_cache: bool,
    no_resume: bool,
    store: str | None,
    as_json: bool,
) -> None:
    """Run a prompted baseline (zero- or k-shot) and store it as a baseline run."""
    from finegate.harness.suite import prompted_baseline, resolve_suite
    from finegate.harness.system import PromptTemplate

    suite = resolve_suite(suite_ref)
    system = system_from_options(model, adapter, None, dtype, device, load_in_4bit, batch_size)
    chosen = PromptTemplate.from_yaml(template) if template else None
    if chosen is None and no_suite_template:
        chosen = PromptTemplate(id="plain")
    system = prompted_baseline(
        system, suite, template=chosen, shots=shots, split=shot_split, seed=seed
    )
    run_and_report(
        system,
        (suite_ref,),
        store,
        limit=limit,
        seed=seed,
        label=label or f"baseline-{shots}shot",
        kind="baseline",
        no_cache=no_cache,
        no_resume=no_resume,
        as_json=as_json,
    )


@click.command("compare")
@click.argument("baseline_run")
@click.argument("candidate_run")
@click.option(
    "--prompt-price",
    default=0.0,
    show_default=True,
    help="Price per million prompt tokens, for the cost per 1,000 requests.",
)
@click.option(
    "--completion-price",
    default=0.0,
    show_default=True,
    help="Price per million completion tokens.",
)
@click.option(
    "--flipped",
    "flipped_limit",
    default=10,
    show_default=True,
    help="Flipped cases to print (all of them with --json).",
)
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--save",
    is_flag=True,
    help="Store the comparison (deltas and relative changes with CIs) as a run.",
)
@store_option
@json_option
def compare_command(
    baseline_run: str,
    candidate_run: str,
    prompt_price: float,
    completion_price: float,
    flipped_limit: int,
    seed: int,
    save: bool,
    store: str | None,
    as_json: bool,
) -> None:
    """Paired comparison of CANDIDATE_RUN against BASELINE_RUN on their shared suites."""
    from finegate.harness.compare import compare_runs, save_comparison

    results = open_store(store, create=False)
    comparison = compare_runs(results, baseline_run, candidate_run, seed=seed)
    saved = save_comparison(results, comparison) if save else None
    if as_json:
        data = comparison.to_dict()
        data["saved_run"] = saved
        data["cost_per_1000_requests"] = {
            run_id: u.cost_per_1000(prompt_price, completion_price)
            for run_id, u in comparison.usage.items()
        }
        emit_json(data)
        return
    from finegate.harness.cli._display import print_comparison

    print_comparison(comparison, prompt_price, completion_price, flipped_limit)
    if saved:
        click.echo(f"stored as run {saved}")


@click.command("drift")
@click.argument("baseline_run")
@click.argument("candidate_run")
@click.option("--show", default=10, show_default=True, help="Changed answers to print.")
@click.option("--seed", default=0, show_default=True)
@click.option("--save", is_flag=True, help="Store the drift (rates with CIs, answers) as a run.")
@store_option
@json_option
def drift_command(
    baseline_run: str,
    candidate_run: str,
    show: int,
    seed: int,
    save: bool,
    store: str | None,
    as_json: bool,
) -> None:
    """Which of BASELINE_RUN's known-good answers CANDIDATE_RUN changed, and how:
    longer, shorter, a refusal, another format, or reworded."""
    from finegate.harness.compare import answer_drift, save_drift

    results = open_store(store, create=False)
    drift = answer_drift(results, baseline_run, candidate_run, seed=seed)
    saved = save_drift(results, drift) if save else None
    if as_json:
        emit_json({**drift.to_dict(), "saved_run": saved})
        return
    from finegate.harness.cli._display import print_drift

    print_drift(drift, show)
    if saved:
        click.echo(f"stored as run {saved}")


@click.command("contamination")
@click.option(
    "--train",
    "train_path",
    required=True,
    help="Training data JSONL (chat, alpaca, prompt/completion or text).",
)
@click.option("--suite", "-s", "suite_ref", required=True)
@click.option("--ngram", default=13, show_default=True, type=click.IntRange(1))
@click.option(
    "--near",
    default=0.8,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Jaccard similarity of word 5-grams that makes a near duplicate.",
)
@click.option("--format", "data_format", default=None, help="Force the data format.")
@store_option
@json_option
def contamination_command(
    train_path: str,
    suite_ref: str,
    ngram: int,
    near: float,
    data_format: str | None,
    store: str | None,
    as_json: bool,
) -> None:
    """Which evaluation cases the training data already holds, stored as a run."""
    from dataclasses import asdict

    from finegate.harness.data import check_contamination
    from finegate.harness.suite import resolve_suite

    suite = resolve_suite(suite_ref)
    result = check_contamination(
        train_path, suite, open_store(store), n=ngram, near=near, data_format=data_format
    )
    if as_json:
        emit_json(
            {
                "run_id": result.run_id,
                "metrics": [m.to_dict() for m in result.metrics],
                "cases": [asdict(c) | {"contaminated": c.contaminated} for c in result.cases],
            }
        )
        return
    from finegate.harness.cli._display import print_contamination

    print_contamination(result, suite.id)


COMMANDS = [eval_command, baseline_command, compare_command, drift_command, contamination_command]
