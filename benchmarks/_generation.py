"""Greedy generation: finegate against lm-eval's ``hf`` class (``generate_until``)
at the same batch size and at lm-eval's default batch size of 1, and against a
plain transformers ``generate`` loop at batch 1; the answers must be identical.
Then the decode step alone, against this machine's memory bandwidth."""

from __future__ import annotations

import time
from typing import Any

from benchmarks._lm_eval_run import best_of, finegate_lm, lm_eval_hf, run_task
from benchmarks._model import BenchModel
from benchmarks._report import Result

TASK = "general_reading"


def _answers(samples: list[dict[str, Any]]) -> list[str]:
    return [s["resps"][0][0] for s in samples]


def plain_generate_loop(
    model: BenchModel, samples: list[dict[str, Any]]
) -> tuple[float, list[str]]:
    """What a user writes with transformers alone: one prompt at a time, greedy,
    the task's stop strings (the matcher built once, as a careful user would)."""
    import torch
    from transformers import StoppingCriteriaList, StopStringCriteria

    tok = model.tokenizer
    lm = model.causal_lm
    stoppers: dict[tuple[str, ...], Any] = {}
    answers = []
    start = time.perf_counter()
    for sample in samples:
        context, kwargs = sample["arguments"][0]
        until = tuple(kwargs.get("until") or ())
        if until not in stoppers:
            stoppers[until] = StoppingCriteriaList([StopStringCriteria(tok, list(until))])
        enc = tok(context, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            out = lm.generate(
                **enc,
                max_new_tokens=kwargs.get("max_gen_toks", 256),
                do_sample=False,
                stopping_criteria=stoppers[until] if until else None,
                pad_token_id=tok.pad_token_id,
            )
        text = tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        for stop in until:
            text = text.split(stop)[0]
        answers.append(text)
    return time.perf_counter() - start, answers


def decode_step_seconds(model: BenchModel, new_tokens: int = 64) -> float:
    """Seconds per decoded token at batch 1 (generation of ``new_tokens`` minus
    the prefill and first token), best of three."""
    import torch

    tok = model.tokenizer
    lm = model.causal_lm
    enc = tok("Tell me a long story about a lighthouse keeper.", return_tensors="pt")

    def timed(n: int) -> float:
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            with torch.inference_mode():
                lm.generate(
                    **enc,
                    max_new_tokens=n,
                    min_new_tokens=n,
                    do_sample=False,
                    pad_token_id=tok.pad_token_id,
                )
            best = min(best, time.perf_counter() - t)
        return best

    return (timed(new_tokens + 1) - timed(1)) / new_tokens


def run(
    model: BenchModel,
    *,
    limit: int,
    batch_size: int,
    repeats: int,
    bandwidth: float,
) -> list[Result]:
    fg = finegate_lm(model.path, batch_size)
    hf = lm_eval_hf(model.path, batch_size)
    hf_one = lm_eval_hf(model.path, 1)
    for lm in (fg, hf, hf_one):
        run_task(lm, TASK, 2)
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(run_task(fg, TASK, limit))
        theirs.append(run_task(hf, TASK, limit))
    a, b = best_of(ours), best_of(theirs)
    one = run_task(hf_one, TASK, limit)
    plain_s, plain_answers = plain_generate_loop(model, a.samples)
    answers = _answers(a.samples)
    tokens = sum(model.count_tokens(t) for t in answers)
    same = {
        "lm_eval_hf": sum(x == y for x, y in zip(answers, _answers(b.samples), strict=True)),
        "lm_eval_hf_batch_1": sum(
            x == y for x, y in zip(answers, _answers(one.samples), strict=True)
        ),
        "plain_transformers": sum(x == y for x, y in zip(answers, plain_answers, strict=True)),
    }
    n = len(answers)
    detail = {
        "task": TASK,
        "documents": n,
        "answer_tokens": tokens,
        "batch_size": batch_size,
        "finegate_s": a.seconds,
        "lm_eval_hf_s": b.seconds,
        "lm_eval_hf_batch_1_s": one.seconds,
        "plain_transformers_batch_1_s": plain_s,
        "all_runs_finegate_s": [r.seconds for r in ours],
        "all_runs_lm_eval_hf_s": [r.seconds for r in theirs],
    }
    step = decode_step_seconds(model)
    achieved = model.weight_bytes / step
    return [
        Result(
            "generation",
            f"finegate vs lm-eval hf, both batch {batch_size} (time ratio)",
            b.seconds / a.seconds,
            "x",
            ">= 1.2",
            b.seconds / a.seconds >= 1.2,
            detail,
        ),
        Result(
            "generation",
            "finegate vs lm-eval hf at its default batch 1",
            one.seconds / a.seconds,
            "x",
        ),
        Result(
            "generation",
            "finegate vs plain transformers generate, batch 1",
            plain_s / a.seconds,
            "x",
        ),
        Result("generation", "finegate answer tokens/s", tokens / a.seconds, "tok/s"),
        Result(
            "generation",
            "identical answers (lm-eval hf, hf batch 1, plain)",
            min(same.values()),
            f"of {n}",
            "all",
            min(same.values()) == n,
            same,
        ),
        Result(
            "efficiency",
            "decode weight bytes/s over copy bandwidth (batch 1)",
            achieved / bandwidth,
            "of bandwidth",
            detail={
                "seconds_per_token": step,
                "weight_bytes": model.weight_bytes,
                "achieved_gb_s": achieved / 1e9,
                "copy_bandwidth_gb_s": bandwidth / 1e9,
            },
        ),
    ]
