"""``finegate prefs build``: preference data from reviews, judges and scored
answers, contributed through ``finegate.commands``."""

from __future__ import annotations

import sys

import click

from finegate.harness.cli import emit_json, json_option, open_store, store_option


@click.group("prefs")
def prefs_group() -> None:
    """Preference data for the dpo and kto trainers, from finegate's own evidence."""


@prefs_group.command("build")
@click.option("--review", "reviews", multiple=True, help="A review run (review import).")
@click.option(
    "--judge-sheet",
    "judge_sheets",
    multiple=True,
    help="KEY.json:RATINGS.csv, a judge's ratings of a blind sheet (review judge).",
)
@click.option("--scored", "scored", multiple=True, help="A run whose answers were scored.")
@click.option("--metric", default=None, help="With --scored: the per-case 0/1 score to use.")
@click.option("--unpaired", is_flag=True, help="With --scored: KTO rows, not pairs.")
@click.option(
    "--pairs-per-case",
    type=int,
    default=1,
    show_default=True,
    help="With --scored: up to this many distinct right/wrong pairs per case.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--out", required=True, help="The JSONL file to write.")
@store_option
@json_option
def prefs_build(
    reviews: tuple[str, ...],
    judge_sheets: tuple[str, ...],
    scored: tuple[str, ...],
    metric: str | None,
    unpaired: bool,
    pairs_per_case: int,
    seed: int,
    out: str,
    store: str | None,
    as_json: bool,
) -> None:
    """Write preference rows ({prompt, chosen, rejected}, or with --unpaired
    {prompt, completion, label}), each with its origin as provenance."""
    from finegate.harness.core import FinegateError
    from finegate.train._prefs_build import (
        from_judge_sheet,
        from_review,
        from_scores,
        write_preferences,
    )

    if not (reviews or judge_sheets or scored):
        raise click.UsageError("give at least one of --review, --judge-sheet, --scored")
    if scored and not metric:
        raise click.UsageError(
            "--scored needs --metric: the per-case 0/1 score against the reference"
        )
    st = open_store(store, create=False)
    try:
        rows = []
        for run in reviews:
            rows += from_review(st, run)
        for pair in judge_sheets:
            key, sep, ratings = pair.partition(":")
            if not sep:
                raise click.UsageError(f"--judge-sheet {pair!r}: give KEY.json:RATINGS.csv")
            rows += from_judge_sheet(st, key, ratings)
        if scored:
            rows += from_scores(
                st,
                scored,
                str(metric),
                unpaired=unpaired,
                seed=seed,
                pairs_per_case=pairs_per_case,
            )
        written = write_preferences(rows, out)
    except FinegateError as e:
        click.echo(f"finegate: {e}", err=True)
        sys.exit(2)
    if as_json:
        emit_json(written)
        return
    origins = ", ".join(f"{n} from {k}" for k, n in sorted(written["origins"].items()))
    click.echo(f"{written['rows']} {written['form']} preference rows ({origins}) in {out}")
