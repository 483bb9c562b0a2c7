"""One record per case: the request, the system's output and the scores, for a
case-file suite (the runner asks the system) or an lm-eval suite (lm-eval builds
the requests and scores the samples, the system answers through the cache)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from finegate.harness.core import (
    Case,
    GenerateRequest,
    LoglikelihoodRequest,
    Message,
    Output,
    Prompt,
)
from finegate.harness.run._answering import _Cached
from finegate.harness.scorer import score_chunk
from finegate.harness.suite import Suite


def _case_prompt(suite: Suite, case: Case) -> Prompt:
    if case.messages is not None:
        return tuple(case.messages)
    return (Message("user", suite.render_prompt(case)),)


def _outputs(suite: Suite, cases: Sequence[Case], answerer: _Cached) -> list[tuple[Any, Output]]:
    """(request as JSON, output) for each case."""
    if suite.config.task == "multiple_choice":
        requests = []
        for case in cases:
            prompt = _case_prompt(suite, case)
            requests += [
                LoglikelihoodRequest(prompt, suite.config.choice_prefix + choice)
                for choice in case.choices
            ]
        answers = answerer.loglikelihood(requests)
        out = []
        at = 0
        for case in cases:
            mine = answers[at : at + len(case.choices)]
            at += len(case.choices)
            lps = tuple(a.logprob for a in mine)
            best = max(range(len(lps)), key=lambda j: (lps[j], -j))
            out.append(
                (
                    {
                        "context": requests[at - 1].to_dict()["context"],
                        "choices": list(case.choices),
                    },
                    Output(
                        text=case.choices[best],
                        choice=best,
                        choice_logprobs=lps,
                        prompt_tokens=0,
                        completion_tokens=0,
                        latency_s=max(a.latency_s for a in mine),
                    ),
                )
            )
        return out
    params = suite.config.generation.params()
    gen_requests = [GenerateRequest(_case_prompt(suite, c), params) for c in cases]
    generations = answerer.generate(gen_requests)
    return [
        (
            r.to_dict(),
            Output(
                text=g.text,
                prompt_tokens=g.prompt_tokens,
                completion_tokens=g.completion_tokens,
                latency_s=g.latency_s,
            ),
        )
        for r, g in zip(gen_requests, generations, strict=True)
    ]


def _output_json(output: Output) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": output.text,
        "prompt_tokens": output.prompt_tokens,
        "completion_tokens": output.completion_tokens,
        "latency_s": output.latency_s,
    }
    if output.choice is not None:
        data["choice"] = output.choice
        data["choice_logprobs"] = list(output.choice_logprobs)
    return data


def _records_of_cases(
    suite: Suite,
    chunk: Sequence[Case],
    position: dict[str, int],
    answerer: _Cached,
    run_id: Callable[[], str],
) -> list[dict[str, Any]]:
    outputs = _outputs(suite, chunk, answerer)
    scored = score_chunk(suite.scorers, chunk, [o for _, o in outputs])
    return [
        {
            "suite_id": suite.id,
            "suite_hash": suite.hash,
            "case_id": case.id,
            "position": position[case.id],
            "request": request,
            "output": _output_json(output),
            "scores": scores,
            "facts": facts,
        }
        for case, (request, output), (scores, facts) in zip(chunk, outputs, scored, strict=True)
    ]


def _records_of_lm_eval(
    suite: Suite,
    chunk: Sequence[Case],
    position: dict[str, int],
    answerer: _Cached,
    run_id: Callable[[], str],
) -> list[dict[str, Any]]:
    """lm-eval builds the requests and scores the samples; answers come from the
    system through the cache, committed as lm-eval's batches complete."""
    from finegate.harness.suite import FinegateLM, run_lm_eval_chunk, use_chat_template

    chat = use_chat_template(suite.lm_eval.source.apply_chat_template, answerer.system)
    lm = FinegateLM(
        answerer.system,
        answerer=answerer,
        on_chunk=lambda: answerer.store.add_records(run_id(), [], answerer.take_pending()),
    )
    return run_lm_eval_chunk(suite.id, suite.hash, suite.lm_eval, chunk, position, lm, chat)
