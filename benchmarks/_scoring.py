"""Log-likelihood scoring: finegate against lm-eval's ``hf`` class on the built-in
multiple-choice task, with proof that every document gets the same score."""

from __future__ import annotations

from typing import Any

from benchmarks._lm_eval_run import best_of, finegate_lm, lm_eval_hf, run_task
from benchmarks._model import BenchModel
from benchmarks._report import Result

TASK = "general_commonsense_mc"


def _token_work(model: BenchModel, system: Any, samples: list[dict[str, Any]]) -> dict[str, int]:
    """Tokens each engine pushes through the model for these requests.

    lm-eval's ``hf`` runs every (context, answer) pair as its own sequence with
    the LM head at every position; finegate runs each context once with all its
    answers beside it, and the head only where a token is scored."""
    from finegate.harness.core import LoglikelihoodRequest
    from finegate.harness.system.hf import group_by_prefix

    items = []
    for sample in samples:
        for context, continuation in sample["arguments"]:
            ctx, cont = system._split_tokens(LoglikelihoodRequest(context, continuation))
            items.append((ctx + cont[:-1], cont))
    rows = group_by_prefix(items)
    requested = sum(len(inputs) for inputs, _ in items)
    return {
        "requests": len(items),
        "request_tokens": requested,
        "finegate_tokens": sum(row.length for row in rows),
        "finegate_head_positions": sum(row.tail + 1 for row in rows),
        "lm_eval_tokens": requested,
        "lm_eval_head_positions": requested,
    }


def _compare_samples(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> dict[str, Any]:
    same_metrics = 0
    diffs = []
    for a, b in zip(ours, theirs, strict=True):
        assert a["doc_id"] == b["doc_id"]
        if all(a[m] == b[m] for m in ("acc", "acc_norm")):
            same_metrics += 1
        for resp_a, resp_b in zip(a["resps"], b["resps"], strict=True):
            assert len(resp_a) == len(resp_b) == 1, "one answer per request"
            diffs.append(abs(float(resp_a[0][0]) - float(resp_b[0][0])))
    return {
        "documents": len(ours),
        "same_acc_and_acc_norm": same_metrics,
        "answers": len(diffs),
        "answers_with_any_logprob_difference": sum(d > 0 for d in diffs),
        "max_abs_logprob_diff": max(diffs, default=0.0),
    }


def run(
    model: BenchModel, *, limit: int, batch_size: int, repeats: int, peak: float
) -> list[Result]:
    fg = finegate_lm(model.path, batch_size)
    hf = lm_eval_hf(model.path, batch_size)
    for lm in (fg, hf):  # load weights outside the timing
        run_task(lm, TASK, 2)
    ours, theirs = [], []
    for _ in range(repeats):  # interleaved, so a noisy neighbour hits both
        ours.append(run_task(fg, TASK, limit))
        theirs.append(run_task(hf, TASK, limit))
    a, b = best_of(ours), best_of(theirs)
    work = _token_work(model, fg.system, a.samples)
    same = _compare_samples(a.samples, b.samples)
    n_docs = same["documents"]
    ratio = b.seconds / a.seconds
    body, head = model.body_parameters, model.head_parameters
    fg_flops = 2 * body * work["finegate_tokens"] + 2 * head * work["finegate_head_positions"]
    hf_flops = 2 * body * work["lm_eval_tokens"] + 2 * head * work["lm_eval_head_positions"]
    common = {"task": TASK, "documents": n_docs, "batch_size": batch_size, "repeats": repeats}
    identical = same["same_acc_and_acc_norm"] == n_docs and a.metrics == b.metrics
    return [
        Result(
            "scoring",
            "finegate vs lm-eval hf (time ratio)",
            ratio,
            "x",
            ">= 1.2",
            ratio >= 1.2,
            {
                **common,
                "finegate_s": a.seconds,
                "lm_eval_hf_s": b.seconds,
                "all_runs_finegate_s": [r.seconds for r in ours],
                "all_runs_lm_eval_hf_s": [r.seconds for r in theirs],
                **work,
            },
        ),
        Result(
            "scoring",
            "finegate request tokens/s",
            work["request_tokens"] / a.seconds,
            "tok/s",
            detail={"lm_eval_hf_request_tokens_per_s": work["request_tokens"] / b.seconds},
        ),
        Result(
            "scoring",
            "lm-eval hf request tokens/s",
            work["request_tokens"] / b.seconds,
            "tok/s",
        ),
        Result(
            "scoring",
            "identical per-document acc and acc_norm",
            same["same_acc_and_acc_norm"],
            f"of {n_docs}",
            "all",
            identical,
            {**same, "finegate_metrics": a.metrics, "lm_eval_hf_metrics": b.metrics},
        ),
        Result(
            "efficiency",
            "scoring FLOP/s over matmul peak (finegate)",
            fg_flops / a.seconds / peak,
            "of peak",
            ">= 0.60",
            fg_flops / a.seconds / peak >= 0.60,
            {"achieved_gflops": fg_flops / a.seconds / 1e9, "peak_gflops": peak / 1e9},
        ),
        Result(
            "efficiency",
            "scoring FLOP/s over matmul peak (lm-eval hf)",
            hf_flops / b.seconds / peak,
            "of peak",
            detail={"achieved_gflops": hf_flops / b.seconds / 1e9},
        ),
    ]
