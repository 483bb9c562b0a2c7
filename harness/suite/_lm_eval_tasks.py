"""Regression suites: lm-eval tasks as finegate suites.

A regression suite names lm-eval tasks (local YAML files written in lm-eval's
format, or lm-eval's standard tasks by name). lm-eval builds the requests and
scores each sample with its own metric code; finegate answers the requests
through the system under test and its cache, and stores every sample as a case
record (with lm-eval's doc hash), so regression runs get the same statistics,
comparisons and gates as every other suite.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from finegate.harness.core import CapabilityError, Case, InputError, Problem


class LmEvalSource(BaseModel):
    """The ``lm_eval:`` section of a suite YAML."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[str] = Field(
        min_length=1,
        description="lm-eval task YAML files (relative to the suite) or standard task names",
    )
    num_fewshot: int | None = Field(None, ge=0, description="default: each task's own")
    fewshot_seed: int = 1234
    apply_chat_template: bool | Literal["auto"] = Field(
        "auto", description="auto: on for a bare chat model, off for base and templated systems"
    )


@dataclass(frozen=True)
class LmEvalTasks:
    """lm-eval's loaded tasks for one suite, and what the suite hash needs of them."""

    source: LmEvalSource
    task_dict: Any  # lm-eval's TaskDict: {"tasks": {...}, "groups": {...}, ...}
    identity: dict[str, Any]

    @property
    def tasks(self) -> dict[str, Any]:
        return dict(self.task_dict["tasks"])


def quiet_lm_eval() -> None:
    """finegate shows its own progress; lm-eval's and datasets' logs and bars go."""
    import datasets

    datasets.disable_progress_bars()
    for name in ("lm_eval", "lm-eval", "datasets"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _absolute_data_files(cfg: dict[str, Any], folder: Path) -> None:
    """lm-eval resolves local data files against the working directory; a suite's
    task files name them relative to themselves."""
    kwargs = cfg.get("dataset_kwargs") or {}
    files = kwargs.get("data_files")

    def fix(p: Any) -> Any:
        return str((folder / p).resolve()) if isinstance(p, str) and "://" not in p else p

    if isinstance(files, str):
        kwargs["data_files"] = fix(files)
    elif isinstance(files, list):
        kwargs["data_files"] = [fix(f) for f in files]
    elif isinstance(files, dict):
        kwargs["data_files"] = {
            k: [fix(x) for x in v] if isinstance(v, list) else fix(v) for k, v in files.items()
        }


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _local_task(path: Path, suite_file: Path, field: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from lm_eval.tasks._yaml_loader import load_yaml

    if not path.is_file():
        raise InputError(
            Problem(f"lm-eval task file not found: {path}", file=str(suite_file), field=field)
        )
    try:
        cfg = load_yaml(path, resolve_func=True)
    except Exception as e:  # lm-eval raises plain errors for bad YAML and !function
        raise InputError(
            Problem(f"cannot load lm-eval task: {e}", file=str(path), field="task")
        ) from None
    if "task" not in cfg:
        raise InputError(
            Problem("an lm-eval task file needs a task name", file=str(path), field="task")
        )
    _absolute_data_files(cfg, path.parent)
    code = {p.name: _file_digest(p) for p in sorted(path.parent.glob("*.py"))}
    return cfg, {"file": path.name, "yaml": _file_digest(path), "code": code}


def _standard_dataset(manager: Any, name: str) -> str:
    entry = getattr(manager, "_index", {}).get(name)
    cfg = getattr(entry, "cfg", None) or {}
    dataset = cfg.get("dataset_path", "?")
    if cfg.get("dataset_name"):
        dataset += f" (config {cfg['dataset_name']!r})"
    return dataset


def load_lm_eval_tasks(source: LmEvalSource, suite_file: Path) -> LmEvalTasks:
    """Load the suite's tasks through lm-eval's own ``TaskManager``.

    Local task files are read with lm-eval's YAML loader (so ``!function`` and
    ``include`` work as in lm-eval) and indexed alone: lm-eval's 14,000 bundled
    tasks are indexed only when a standard task is named."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    quiet_lm_eval()
    specs: list[Any] = []
    identity: list[dict[str, Any]] = []
    problems: list[Problem] = []
    standard: list[str] = []
    for i, ref in enumerate(source.tasks):
        field = f"lm_eval.tasks[{i}]"
        if ref.endswith((".yaml", ".yml")):
            try:
                cfg, ident = _local_task((suite_file.parent / ref).resolve(), suite_file, field)
            except InputError as e:
                problems.extend(e.problems)
                continue
            specs.append(cfg)
            identity.append(ident)
        else:
            specs.append(ref)
            standard.append(ref)
            identity.append({"standard": ref})
    if problems:
        raise InputError(problems)
    manager = TaskManager(include_defaults=bool(standard))
    for name in standard:
        if name not in manager.all_tasks:
            raise InputError(
                Problem(
                    f"lm-eval has no task {name!r}", file=str(suite_file), field="lm_eval.tasks"
                )
            )
    try:
        task_dict = manager.load(specs)
    except (ConnectionError, OSError, FileNotFoundError) as e:
        named = ", ".join(f"{n} needs {_standard_dataset(manager, n)}" for n in standard)
        raise CapabilityError(
            f"lm-eval could not load its dataset offline ({named or 'local task'}): "
            f"{str(e).splitlines()[0][:200]}. Pre-cache it on a machine with network access "
            "(HF_DATASETS_OFFLINE=0 python -c \"import datasets; datasets.load_dataset('PATH', "
            "'CONFIG')\") and copy ~/.cache/huggingface/datasets here, or point the suite at a "
            "local copy of the data with an lm-eval task file."
        ) from None
    for task in task_dict["tasks"].values():
        if source.num_fewshot is not None:
            task.set_config(key="num_fewshot", value=source.num_fewshot)
        elif task.get_config("num_fewshot") is None:
            task.set_config(key="num_fewshot", value=0)
        task.set_fewshot_seed(seed=source.fewshot_seed)
    return LmEvalTasks(
        source=source,
        task_dict=task_dict,
        identity={
            "lm_eval": lm_eval.__version__ if hasattr(lm_eval, "__version__") else "?",
            "tasks": identity,
            "num_fewshot": source.num_fewshot,
            "fewshot_seed": source.fewshot_seed,
            "apply_chat_template": source.apply_chat_template,
        },
    )


def _doc_hash(doc: Any) -> str:
    import json

    from lm_eval.utils import handle_non_serializable, hash_string

    return hash_string(
        json.dumps(doc, indent=2, default=handle_non_serializable, ensure_ascii=False)
    )


def lm_eval_cases(tasks: LmEvalTasks) -> list[Case]:
    """One case per evaluated document, ``<task>/<doc index>``, carrying the prompt
    lm-eval builds (zero-shot text), the target and lm-eval's doc hash."""
    cases: list[Case] = []
    for name, task in tasks.tasks.items():
        for doc_id, doc in enumerate(task.eval_docs):
            target = task.doc_to_target(doc)
            cases.append(
                Case(
                    id=f"{name}/{doc_id}",
                    input=str(task.doc_to_text(doc)),
                    references=(str(target),),
                    tags=(name,),
                    metadata={"task": name, "doc_id": doc_id, "doc_hash": _doc_hash(doc)},
                )
            )
    return cases


def use_chat_template(setting: bool | str, system: Any) -> bool:
    """``auto``: a bare HF chat model gets its template, as lm-eval users ask with
    ``--apply_chat_template``; a prompt-templated system formats prompts itself."""
    if setting != "auto":
        return bool(setting)
    from finegate.harness.suite._finegate_lm import has_chat_template

    return getattr(system, "inner", None) is None and has_chat_template(system)
