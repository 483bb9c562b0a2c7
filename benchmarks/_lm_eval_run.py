"""One built-in regression task evaluated through lm-eval with any lm-eval model.

finegate and lm-eval's own ``hf`` class both answer through
``lm_eval.evaluator.evaluate`` on the same task object, documents and chat
template, so the only thing that differs between two timings is the model class."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskRun:
    seconds: float
    samples: list[dict[str, Any]]
    metrics: dict[str, float]


def _task_dict(task: str) -> dict[str, Any]:
    from finegate.harness.suite import load_lm_eval_tasks, resolve_suite

    suite = resolve_suite("regression/general")
    assert suite.lm_eval is not None
    tasks = load_lm_eval_tasks(suite.lm_eval.source, suite.path)
    return {**tasks.task_dict, "tasks": {task: tasks.tasks[task]}, "groups": {}}


def run_task(lm: Any, task: str, limit: int) -> TaskRun:
    from lm_eval.evaluator import evaluate

    from finegate.harness.suite import quiet_lm_eval

    quiet_lm_eval()
    task_dict = _task_dict(task)  # built outside the timing, as a fresh copy per run
    start = time.perf_counter()
    results = evaluate(
        lm=lm,
        task_dict=task_dict,
        samples={task: list(range(limit))},
        log_samples=True,
        bootstrap_iters=0,
        apply_chat_template=True,
        fewshot_as_multiturn=True,
        verbosity="ERROR",
    )
    seconds = time.perf_counter() - start
    # a copy: lm-eval's sample dicts hold its live request objects
    samples = copy.deepcopy(sorted(results["samples"][task], key=lambda s: s["doc_id"]))
    metrics = {
        k.split(",")[0]: float(v)
        for k, v in results["results"][task].items()
        if isinstance(v, int | float) and not k.endswith("_stderr,none") and k != "alias"
    }
    return TaskRun(seconds, samples, metrics)


def finegate_lm(path: Any, batch_size: int) -> Any:
    from finegate.harness.suite import FinegateLM
    from finegate.harness.system import SystemSpec, build_system

    spec = SystemSpec(model=str(path), dtype="float32", device="cpu", batch_size=batch_size)
    return FinegateLM(build_system(spec))


def lm_eval_hf(path: Any, batch_size: int) -> Any:
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(path), dtype="float32", device="cpu", batch_size=batch_size)


def best_of(runs: list[TaskRun]) -> TaskRun:
    return min(runs, key=lambda r: r.seconds)
