"""Running a chunk of an lm-eval suite: lm-eval builds the requests for the
chunk's documents and scores them with the task's own metric code; each logged
sample becomes a record."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from typing import Any

from finegate.harness.core import CapabilityError, Case
from finegate.harness.suite._lm_eval_tasks import LmEvalTasks, quiet_lm_eval


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


def _sample_record(task: Any, sample: dict[str, Any], chat: bool) -> tuple[dict, dict, dict]:
    """(request, output, scores) of one lm-eval sample."""
    name = task.config.task
    target = sample["target"]
    context = sample["arguments"][0][0] if sample["arguments"] else ""
    request = {
        "task": name,
        "doc_id": sample["doc_id"],
        "doc_hash": sample["doc_hash"],
        "prompt_hash": sample["prompt_hash"],
        "context": context,
        "target": target if isinstance(target, int | str) else str(target),
        "apply_chat_template": chat,
    }
    resps = sample["filtered_resps"]
    output: dict[str, Any] = {"prompt_tokens": 0, "completion_tokens": 0, "latency_s": 0.0}
    if task.OUTPUT_TYPE == "multiple_choice":
        lps = [float(r[0]) if isinstance(r, list | tuple) else float(r) for r in resps]
        choices = task.doc_to_choice(sample["doc"])
        best = max(range(len(lps)), key=lambda j: (lps[j], -j))
        output.update(text=str(choices[best]), choice=best, choice_logprobs=lps)
    else:
        first = resps[0] if resps else ""
        output["text"] = first if isinstance(first, str) else str(first)
    scores = {f"{name}.{m}": _number(sample.get(m)) for m in sample["metrics"]}
    return request, output, scores


@contextlib.contextmanager
def _no_request_bars() -> Iterator[None]:
    """lm-eval draws a bar per task each time it builds requests; finegate's own
    progress line counts the cases instead."""
    import lm_eval.api.task as task_module

    original = task_module.tqdm
    task_module.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        task_module.tqdm = original


def run_lm_eval_chunk(
    suite_id: str,
    suite_hash: str,
    tasks: LmEvalTasks,
    cases: Sequence[Case],
    positions: dict[str, int],
    lm: Any,
    chat: bool,
) -> list[dict[str, Any]]:
    """Evaluate the documents behind ``cases`` with lm-eval; one record per case."""
    from lm_eval.evaluator import evaluate

    quiet_lm_eval()
    wanted: dict[str, list[int]] = {}
    by_key: dict[tuple[str, int], Case] = {}
    for case in cases:
        task, doc_id = case.metadata["task"], int(case.metadata["doc_id"])
        wanted.setdefault(task, []).append(doc_id)
        by_key[(task, doc_id)] = case
    subset = {
        **tasks.task_dict,
        "tasks": {k: v for k, v in tasks.tasks.items() if k in wanted},
        "groups": {},
    }
    with _no_request_bars():
        results = evaluate(
            lm=lm,
            task_dict=subset,
            samples=wanted,
            log_samples=True,
            bootstrap_iters=0,
            apply_chat_template=chat,
            fewshot_as_multiturn=chat,
            verbosity="ERROR",
        )
    records: list[dict[str, Any]] = []
    for name, samples in (results or {}).get("samples", {}).items():
        task = tasks.tasks[name]
        for sample in samples:
            case = by_key[(name, int(sample["doc_id"]))]
            request, output, scores = _sample_record(task, sample, chat)
            records.append(
                {
                    "suite_id": suite_id,
                    "suite_hash": suite_hash,
                    "case_id": case.id,
                    "position": positions[case.id],
                    "request": request,
                    "output": output,
                    "scores": scores,
                    "facts": {},
                }
            )
    missing = {c.id for c in cases} - {r["case_id"] for r in records}
    if missing:
        raise CapabilityError(f"lm-eval returned no sample for {sorted(missing)[:5]}")
    return records
