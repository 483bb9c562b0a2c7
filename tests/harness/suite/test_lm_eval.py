"""Regression suites through lm-eval: the same scores as lm-eval's own ``hf`` class.

The tiny model here is a real (random) 2-layer Llama with SmolLM2's real
tokenizer: lm-eval's ``hf`` class encodes with the tokenizer's default special
tokens, and a byte tokenizer that appends ``</s>`` would measure something else.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from finegate.harness import HFModel, Store
from finegate.harness.core import (
    CapabilityError,
    InputError,
    LoglikelihoodRequest,
    quiet_library_noise,
)
from finegate.harness.run import RunOptions, run_suites
from finegate.harness.suite import load_suite, resolve_suite

TASKS = ("general_commonsense_mc", "general_arithmetic", "general_reading", "general_instructions")


@pytest.fixture(scope="module")
def tiny_smol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from finegate.harness.system.hf import resolve_model_ref

    smol = resolve_model_ref("smollm2-135m-instruct")
    folder = tmp_path_factory.mktemp("tiny-smol")
    tokenizer = AutoTokenizer.from_pretrained(smol)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(7)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def _lm_eval_hf(model_path: Path, suite, limit: int, chat: bool, **model_args):
    from lm_eval.evaluator import simple_evaluate
    from lm_eval.tasks import TaskManager

    from finegate.harness.suite import load_lm_eval_tasks

    tasks = load_lm_eval_tasks(suite.lm_eval.source, suite.path)
    return simple_evaluate(
        model="hf",
        model_args={"pretrained": str(model_path), "dtype": "float32", **model_args},
        device="cpu",
        tasks=list(tasks.tasks.values()),
        limit=limit,
        apply_chat_template=chat,
        fewshot_as_multiturn=chat,
        log_samples=True,
        bootstrap_iters=0,
        batch_size=1,
        task_manager=TaskManager(include_defaults=False),
    )


def _assert_same_samples(reference: dict, records: dict[str, dict]) -> int:
    compared = 0
    for task, samples in reference["samples"].items():
        for sample in samples:
            record = records[f"{task}/{sample['doc_id']}"]
            assert record["request"]["doc_hash"] == sample["doc_hash"]
            for metric in sample["metrics"]:
                assert record["scores"][f"{task}.{metric}"] == pytest.approx(sample[metric]), (
                    task,
                    sample["doc_id"],
                    metric,
                )
                compared += 1
            if task == "general_commonsense_mc":
                theirs = [lp for lp, _ in sample["filtered_resps"]]
                assert record["output"]["choice_logprobs"] == pytest.approx(theirs, abs=1e-4)
            else:
                assert record["output"]["text"] == sample["filtered_resps"][0]
    return compared


def test_general_suite_is_four_lm_eval_tasks_over_committed_data():
    suite = resolve_suite("regression/general")
    assert suite.config.kind == "regression"
    counts = {t: sum(1 for c in suite.cases if c.metadata["task"] == t) for t in TASKS}
    assert counts == {
        "general_commonsense_mc": 131,
        "general_arithmetic": 150,
        "general_reading": 130,
        "general_instructions": 109,
    }
    first = suite.cases[0]
    assert first.id == "general_commonsense_mc/0"
    assert first.input.startswith("Question: Sofia leaves a glass of water in the freezer")
    assert first.references == ("0",) and len(first.metadata["doc_hash"]) == 64
    assert resolve_suite("regression/general").hash == suite.hash


def test_scores_equal_lm_eval_hf_class_on_a_tiny_model(tiny_smol, tmp_path):
    suite = resolve_suite("regression/general")
    store = Store(tmp_path / "fg.db")
    system = HFModel(str(tiny_smol), dtype="float32")
    result = run_suites(system, [suite], store, RunOptions(limit=3, progress=False))
    records = {r["case_id"]: r for r in store.records(result.run_id)}
    assert len(records) == 12
    reference = _lm_eval_hf(tiny_smol, suite, limit=3, chat=True)
    assert _assert_same_samples(reference, records) == 3 * 7
    ours = {m.name: m for m in result.metrics["regression/general"]}
    theirs = reference["results"]["general_instructions"]["instruction_rate,none"]
    assert ours["general_instructions.instruction_rate"].value == pytest.approx(theirs)
    assert ours["general_commonsense_mc.acc"].n == 3


def test_rerun_is_answered_from_the_cache_and_resumes(tiny_smol, tmp_path):
    suite = resolve_suite("regression/general")
    store = Store(tmp_path / "fg.db")
    system = HFModel(str(tiny_smol), dtype="float32")
    first = run_suites(system, [suite], store, RunOptions(limit=2, progress=False))
    again = run_suites(system, [suite], store, RunOptions(limit=2, progress=False, resume=False))
    assert first.timings["computed"] == 2 * 4 + 3 * 2 and first.timings["cache_hits"] == 0
    assert again.timings["computed"] == 0 and again.timings["cache_hits"] == 14
    assert again.metrics == first.metrics


def _random_lora(base: Path, out: Path) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    quiet_library_noise()  # as finegate's own loading does
    torch.manual_seed(3)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    model.save_pretrained(out)
    return out


def test_an_adapter_changes_regression_scores(tiny_smol, tmp_path):
    suite = resolve_suite("regression/general")
    store = Store(tmp_path / "fg.db")
    adapter = _random_lora(tiny_smol, tmp_path / "adapter")
    base = run_suites(HFModel(str(tiny_smol)), [suite], store, RunOptions(limit=4, progress=False))
    tuned_system = HFModel(str(tiny_smol), adapter=str(adapter))
    tuned = run_suites(tuned_system, [suite], store, RunOptions(limit=4, progress=False))
    assert tuned_system.adapter_effect is not None and tuned_system.adapter_effect > 1e-3
    lps = {
        run: {
            r["case_id"]: r["output"]["choice_logprobs"]
            for r in store.records(run)
            if r["request"]["task"] == "general_commonsense_mc"
        }
        for run in (base.run_id, tuned.run_id)
    }
    for case_id, base_lps in lps[base.run_id].items():
        assert (
            max(abs(a - b) for a, b in zip(base_lps, lps[tuned.run_id][case_id], strict=True))
            > 1e-3
        )
    texts = [
        {r["case_id"]: r["output"]["text"] for r in store.records(run)}
        for run in (base.run_id, tuned.run_id)
    ]
    assert sum(texts[0][k] != texts[1][k] for k in texts[0]) >= 8


def test_an_untrained_adapter_is_refused_not_silently_the_base(tiny_smol, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    inert = tmp_path / "inert"
    quiet_library_noise()  # as finegate's own loading does
    get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_smol), LoraConfig(r=4, target_modules=["q_proj"])
    ).save_pretrained(inert)
    model = HFModel(str(tiny_smol), adapter=str(inert))
    with pytest.raises(InputError) as err:
        model.loglikelihood([LoglikelihoodRequest("a", " b")])
    assert "unchanged" in str(err.value) and "adapter_config.json" in str(err.value)


def test_rolling_loglikelihood_equals_lm_eval_hf_past_the_context(tiny_smol):
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from finegate.harness.suite import FinegateLM

    text = (
        "The river rose through the night, and by morning the lower road was under water. "
        "Farmers moved their sheep to the hill, and the school stayed closed until Friday."
    )
    reqs = [
        Instance("loglikelihood_rolling", {}, (text,), 0),
        Instance("loglikelihood_rolling", {}, ("Short.",), 1),
    ]
    theirs = HFLM(pretrained=str(tiny_smol), max_length=16, device="cpu", batch_size=1)
    ours = FinegateLM(HFModel(str(tiny_smol), max_length=16))
    expected = theirs.loglikelihood_rolling(reqs, disable_tqdm=True)
    got = ours.loglikelihood_rolling(reqs)
    assert got == pytest.approx(expected, abs=1e-3)
    assert len(ours.system.tokenizer(text)["input_ids"]) > 2 * 16  # several windows


def test_task_file_problems_are_located(tmp_path):
    (tmp_path / "suite.yaml").write_text(
        "id: regression/mine\nversion: 1\nkind: regression\n"
        "lm_eval:\n  tasks: [missing.yaml, also_missing.yaml]\n"
    )
    with pytest.raises(InputError) as err:
        load_suite(tmp_path / "suite.yaml")
    text = str(err.value)
    assert "lm_eval.tasks[0]" in text and "lm_eval.tasks[1]" in text and "missing.yaml" in text
    (tmp_path / "suite.yaml").write_text(
        "id: regression/mine\nversion: 1\nkind: regression\n"
        "source: {path: cases.jsonl}\nlm_eval:\n  tasks: [a.yaml]\n"
    )
    with pytest.raises(InputError, match="exactly one of 'source'"):
        load_suite(tmp_path / "suite.yaml")


def test_a_standard_task_offline_names_its_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    (tmp_path / "suite.yaml").write_text(
        "id: regression/std\nversion: 1\nkind: regression\nlm_eval:\n  tasks: [arc_easy]\n"
    )
    with pytest.raises(CapabilityError) as err:
        load_suite(tmp_path / "suite.yaml")
    text = str(err.value)
    assert "arc_easy needs allenai/ai2_arc (config 'ARC-Easy')" in text
    assert "load_dataset" in text


@pytest.mark.slow
def test_scores_equal_lm_eval_hf_class_on_smollm2(tmp_path):
    from finegate.harness.system.hf import resolve_model_ref

    suite = resolve_suite("regression/general")
    store = Store(tmp_path / "fg.db")
    result = run_suites(
        HFModel("smollm2-135m-instruct", dtype="float32"),
        [suite],
        store,
        RunOptions(limit=2, progress=False),
    )
    records = {r["case_id"]: r for r in store.records(result.run_id)}
    reference = _lm_eval_hf(resolve_model_ref("smollm2-135m-instruct"), suite, limit=2, chat=True)
    assert _assert_same_samples(reference, records) == 2 * 7


def test_tasks_dir_is_self_contained(tmp_path):
    """A user can copy the task folder and its data and load it from anywhere."""
    src = resolve_suite("regression/general").path.parent
    shutil.copytree(src, tmp_path / "general")
    copied = load_suite(tmp_path / "general" / "suite.yaml")
    assert len(copied.cases) == 520


EVALUATE = """
import json, sys
from lm_eval.evaluator import simple_evaluate
from lm_eval.tasks import TaskManager
from finegate.harness.suite import FinegateLM, load_lm_eval_tasks, resolve_suite

suite = resolve_suite("regression/general")
lm = FinegateLM(model=sys.argv[1])
result = simple_evaluate(
    model=lm,
    tasks=list(load_lm_eval_tasks(suite.lm_eval.source, suite.path).tasks.values()),
    limit=5,
    log_samples=True,
    bootstrap_iters=0,
    task_manager=TaskManager(include_defaults=False),
)
if lm.rank == 0:
    samples = {t: sorted(s["doc_id"] for s in ss) for t, ss in result["samples"].items()}
    with open(sys.argv[2], "w") as f:
        json.dump({"results": result["results"], "samples": samples, "world": lm.world_size}, f)
"""


def test_lm_evals_own_data_parallel_path_runs_on_finegate_lm(tiny_smol, tmp_path):
    """Under torchrun, lm-eval splits the documents by FinegateLM's rank and
    gathers the results through its hooks: the same numbers as one process."""
    script = tmp_path / "evaluate.py"
    script.write_text(EVALUATE)
    outputs = {}
    for n in (1, 2):
        out = tmp_path / f"world{n}.json"
        done = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone",
             f"--nproc_per_node={n}", str(script), str(tiny_smol), str(out)],
            capture_output=True,
            text=True,
            timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        outputs[n] = json.loads(out.read_text())
    one, two = outputs[1], outputs[2]
    assert (one["world"], two["world"]) == (1, 2)
    assert two["samples"] == one["samples"] and len(two["samples"]) == 4
    assert all(ids == [0, 1, 2, 3, 4] for ids in two["samples"].values())
    assert two["results"] == one["results"]
