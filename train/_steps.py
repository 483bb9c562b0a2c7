"""The pipeline steps the training package owns: ``prepare`` and ``train``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from finegate.harness.pipeline import PipelineContext, step

RECIPES = Path(__file__).parent / "recipes"


def resolve_recipe(ref: str) -> Path:
    """A recipe file, or a built-in recipe by name (``triage-lora``)."""
    path = Path(ref)
    if path.exists():
        return path
    builtin = RECIPES / f"{ref}.yaml"
    if builtin.exists():
        return builtin
    from finegate.harness.core import InputError

    known = ", ".join(sorted(p.stem for p in RECIPES.glob("*.yaml")))
    raise InputError(f"no recipe {ref!r}: not a file, nor a built-in recipe ({known})")


def _recipes(context: PipelineContext, *, trained: bool = False) -> Iterator[tuple[Path, Any, Any]]:
    """The pipeline's recipes in order, each validated. A recipe may start from
    an earlier one's adapter (``from_adapter: recipe:<id>``): with ``trained``
    that adapter is checked (the caller trains the recipes as they come), else
    it is taken on trust that it will be there."""
    from finegate.train._recipe import load_recipe

    adapters: dict[str, Path] = {}
    for ref in context.get("recipes"):
        path = resolve_recipe(ref)
        recipe, config = load_recipe(path, adapters=dict(adapters), pending=not trained)
        yield path, recipe, config
        adapters[recipe.id] = adapter_folder(context, recipe.id)


def adapter_folder(context: PipelineContext, recipe_id: str) -> Path:
    """Where the pipeline writes a recipe's adapter."""
    return Path(context.get("workdir")) / "adapters" / recipe_id


def recipes_content(context: PipelineContext) -> dict[str, Any]:
    """What the recipes read: each recipe's validated content, its data file (or
    the suite it draws on) and its template file, by content."""
    from finegate.harness.core import sha256_file
    from finegate.harness.suite import resolve_suite

    def digest(ref: str | None, base: Path) -> str | None:
        if not ref:
            return None
        file = Path(ref) if Path(ref).is_absolute() else base / ref
        return sha256_file(file, use_cache=False) if file.is_file() else None

    out = {}
    for path, recipe, _ in _recipes(context):
        base = path.resolve().parent
        out[recipe.id] = {
            "recipe": recipe.hash(),
            "data": digest(recipe.data.path, base),
            "suite": resolve_suite(recipe.data.suite).hash if recipe.data.suite else None,
            "template": digest(recipe.template, base),
        }
    return out


@step("prepare", content=recipes_content)
def prepare_step(context: PipelineContext) -> dict[str, Any]:
    """Validate every recipe, prepare its data (dedup, PII census, split, manifest)
    into the work folder, and check the evaluation suites for contamination by it:
    the check the contamination gate links to the fine-tune through its manifest."""
    from finegate.harness.data import check_contamination
    from finegate.harness.store import Store
    from finegate.harness.suite import resolve_suite
    from finegate.train._run import prepare_for_recipe

    store = Store(context.get("store"))
    suites = [resolve_suite(ref) for ref in context.get("suites") or []]
    datasets = {}
    for path, recipe, _ in _recipes(context):
        data = prepare_for_recipe(recipe, path.resolve().parent)
        folder = data.write(Path(context.get("workdir")) / "data" / recipe.id)
        training_text = _conversations(data, folder)
        checks = {
            suite.id: check_contamination(training_text, suite, store).run_id for suite in suites
        }
        datasets[recipe.id] = {
            "sha256": data.hash,
            "counts": data.manifest["counts"],
            "pii_total": data.manifest["pii"].get("total", 0),
            "folder": str(folder),
            "contamination_runs": checks,
        }
    return {"datasets": datasets}


def _conversations(data: Any, folder: Path) -> Path:
    """The training split as chat JSONL, which the contamination check reads: as
    written for SFT data; for preference data, each prompt with its answers."""
    if getattr(data, "form", None) is None:
        return folder / "train.jsonl"
    import json

    from finegate.harness.core import atomic_write_text

    rows = [
        {"messages": [{"role": m.role, "content": m.content} for m in r.conversation]}
        for r in data.splits["train"]
    ]
    path = folder / "train.conversations.jsonl"
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


@step("train", content=recipes_content)
def train_step(context: PipelineContext) -> dict[str, Any]:
    """Train each recipe into the work folder; a finished adapter is reused."""
    from finegate.harness.core import progress_bar
    from finegate.train._run import train

    adapters, summaries = {}, {}
    with progress_bar(enabled=context.get("progress") is not False) as update:
        for path, recipe, config in _recipes(context, trained=True):

            def on_step(info: dict[str, Any], rid: str = recipe.id) -> None:
                if update is not None:
                    update(f"training {rid}", info["step"], info["total"], loss=info["loss"])

            run, _ = train(
                recipe,
                config,
                output=adapter_folder(context, recipe.id),
                base_dir=path.resolve().parent,
                on_step=on_step,
            )
            adapters[recipe.id] = str(run.adapter_dir)
            m = run.manifest
            summaries[recipe.id] = {
                "steps": m["steps"],
                "wall_time_s": m["wall_time_s"],
                "epsilon": (m["dp"] or {}).get("epsilon"),
            }
    return {"adapters": adapters, "training": summaries, "base_model": _base(context)}


def _base(context: PipelineContext) -> str:
    bases = {recipe.base_model for _, recipe, _ in _recipes(context)}
    if len(bases) != 1:
        from finegate.harness.core import InputError

        raise InputError(f"the recipes of one pipeline must share a base model, not {bases}")
    return bases.pop()
