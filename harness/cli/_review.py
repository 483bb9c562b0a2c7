"""``finegate review``: blind A/B sheets for human raters, and their ratings back."""

from __future__ import annotations

import click

from finegate.harness.cli._options import emit_json, json_option, open_store, store_option


@click.group("review")
def review_group() -> None:
    """Blind human A/B review of two runs' answers."""


@review_group.command("export")
@click.option(
    "--runs",
    nargs=2,
    required=True,
    metavar="BASELINE CANDIDATE",
    help="The two runs whose answers are compared (ids, prefixes, labels).",
)
@click.option("--out", "out_dir", default="review", show_default=True, help="Folder for raters.")
@click.option(
    "--key", "key_path", default=None, help="Where the unblinding key goes [default: OUT.key.json]."
)
@click.option("--seed", default=0, show_default=True, help="Seeds the order and the sides.")
@click.option("--suite", "suites", multiple=True, help="Only these suites (repeatable).")
@click.option(
    "--limit", type=click.IntRange(1), default=None, help="Sample this many items (seeded)."
)
@store_option
@json_option
def review_export(
    runs: tuple[str, str],
    out_dir: str,
    key_path: str | None,
    seed: int,
    suites: tuple[str, ...],
    limit: int | None,
    store: str | None,
    as_json: bool,
) -> None:
    """Write a blind sheet (review.csv and an offline review.html form) and its key."""
    from finegate.harness.review import export_review

    result = export_review(
        open_store(store, create=False),
        runs[0],
        runs[1],
        out_dir,
        key_path=key_path,
        seed=seed,
        suites=suites or None,
        limit=limit,
    )
    if as_json:
        emit_json(
            {
                "sheet": result.sheet,
                "items": len(result.items),
                "csv": str(result.csv_path),
                "html": str(result.html_path),
                "key": str(result.key_path),
            }
        )
        return
    click.echo(f"sheet {result.sheet}: {len(result.items)} items")
    click.echo(f"  for raters: {result.html_path} (or {result.csv_path})")
    click.echo(f"  keep apart: {result.key_path}")
    if len(result.items) < 100:
        click.echo(
            "  note: fewer than 100 pairs give a wide interval on the win rate; "
            "100-200 are usual for a meaningful result"
        )


@review_group.command("judge")
@click.option("--sheet", "sheet_dir", required=True, help="The exported review folder.")
@click.option(
    "--judge", "judge_ref", required=True, help="Judge model: a model ref or openai:NAME@URL."
)
@click.option("--rubric", default=None, help="What makes an answer better.")
@click.option("--rubric-file", default=None, help="The rubric in a text file.")
@click.option("--api-key-env", default=None, help="Environment variable with the judge's key.")
@click.option("--out", "out_path", required=True, help="The judge's ratings CSV to write.")
def review_judge(
    sheet_dir: str,
    judge_ref: str,
    rubric: str | None,
    rubric_file: str | None,
    api_key_env: str | None,
    out_path: str,
) -> None:
    """Let a model rate the blind sheet like a rater (position-swapped)."""
    from pathlib import Path

    from finegate.harness.core import InputError
    from finegate.harness.judge import judge_system
    from finegate.harness.review import review_with_judge

    if (rubric is None) == (rubric_file is None):
        raise InputError("give exactly one of --rubric and --rubric-file")
    text = rubric if rubric is not None else Path(rubric_file or "").read_text("utf-8")
    spec: dict[str, object] = {"model": judge_ref}
    if api_key_env:
        spec["api_key_env"] = api_key_env
    path = review_with_judge(sheet_dir, judge_system(spec), text, out_path)
    click.echo(f"wrote {path}", err=True)


@review_group.command("import")
@click.option("--key", "key_path", required=True, help="The key written by `review export`.")
@click.argument("ratings", nargs=-1, required=True)
@click.option(
    "--judge-ratings",
    multiple=True,
    help="A judge's ratings of the same sheet (from `review judge`), for judge-human agreement.",
)
@click.option("--label", default=None, help="A name for the review run.")
@click.option("--seed", default=0, show_default=True)
@store_option
@json_option
def review_import(
    key_path: str,
    ratings: tuple[str, ...],
    judge_ratings: tuple[str, ...],
    label: str | None,
    seed: int,
    store: str | None,
    as_json: bool,
) -> None:
    """Read raters' CSVs (RATINGS...), store win rate and agreement as a review run."""
    from finegate.harness.review import import_review

    result = import_review(
        open_store(store),
        key_path,
        ratings,
        judge_files=judge_ratings,
        seed=seed,
        label=label,
    )
    if as_json:
        emit_json(
            {
                "run_id": result.run_id,
                "raters": result.raters,
                "rated_items": result.rated_items,
                "unrated_items": result.unrated_items,
                "metrics": [m.to_dict() for m in result.metrics],
            }
        )
        return
    click.echo(
        f"review run {result.run_id}: {result.rated_items} items rated by "
        f"{len(result.raters)} rater(s) ({', '.join(result.raters)}); "
        f"{result.unrated_items} unrated"
    )
    for m in result.metrics:
        click.echo(f"  {m.name:<24} {m.value:.3f}  [{m.ci_low:.3f}, {m.ci_high:.3f}]  n={m.n}")


COMMANDS = [review_group]
