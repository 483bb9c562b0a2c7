"""The dpo and kto trainers on a real tiny chat model: what they write, that their
reference and loss are TRL's formulas on log-probabilities computed here, exact
resumption after ``kill -9``, and every refusal located in the recipe."""

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from safetensors.torch import load_file

from finegate.harness import GenerateRequest, GenerationParams, InputError, LoglikelihoodRequest
from finegate.harness.cli import cli
from finegate.harness.core import Message
from finegate.harness.system import SystemSpec, adapter_weights_sha256, build_system
from finegate.harness.system.hf import render_prompt, weights_hash
from finegate.train import load_recipe, train
from finegate.train._prefs_data import MANIFEST_FORMAT as PREFERENCE_MANIFEST_FORMAT
from finegate.train._run import prepare_for_recipe
from finegate.train.dpo import DpoTrainer
from finegate.train.kto import KtoTrainer

from .conftest import arithmetic_rows, write_jsonl

MANIFEST_KEYS = {
    "format",
    "recipe",
    "base_model",
    "dataset",
    "seed",
    "libraries",
    "device",
    "dtype",
    "method",
    "training",
    "steps",
    "epochs_completed",
    "early_stopped",
    "loss_curve",
    "validation_curve",
    "objective",
    "adapter_sha256",
    "wall_time_s",
    "resumed",
    "dp",
    "trained_by",
}
PROVENANCE = {"source": "written for these tests", "licence": "CC0", "consent": "not personal data"}
TRAINING = "{epochs: 1, batch_size: 4, learning_rate: 0.01, checkpoint_every: 2, max_length: 64"


def pairs(n=20):
    return [
        {
            "prompt": f"Q{i}: what is {i} plus {i}?",
            "chosen": f"{2 * i}",
            "rejected": f"{2 * i + 1}, I think",
            **PROVENANCE,
        }
        for i in range(n)
    ]


def unpaired_rows(n=12):
    rows = []
    for p in pairs(n):
        rows.append({"prompt": p["prompt"], "completion": p["chosen"], "label": True, **PROVENANCE})
        rows.append(
            {"prompt": p["prompt"], "completion": p["rejected"], "label": False, **PROVENANCE}
        )
    return rows


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """Module-scoped fixtures write their digest key here, not in the real home."""
    path = tmp_path_factory.mktemp("pref-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINEGATE_HOME", str(path))
        yield path


@pytest.fixture(scope="module")
def folder(tmp_path_factory, tiny_chat_llama, home):
    """Data files and a recipe writer: ``recipe(name, method, ...)``."""
    root = tmp_path_factory.mktemp("prefs")
    write_jsonl(root / "pairs.jsonl", pairs())
    write_jsonl(root / "unpaired.jsonl", unpaired_rows())
    write_jsonl(root / "sft.jsonl", arithmetic_rows(16))

    def recipe(name, method, data="pairs.jsonl", fmt="preference", training="", config=""):
        path = root / f"{name}.yaml"
        path.write_text(
            f"id: {name}\nmethod: {method}\nbase_model: {tiny_chat_llama}\n"
            f"data: {{path: {data}, pii: 'off'"
            + (f", format: {fmt}" if fmt else "")
            + ", splits: [0.75, 0.25, 0.0]}\n"
            f"training: {TRAINING}{training}}}\n" + (f"config: {{{config}}}\n" if config else "")
        )
        return path

    recipe.root = root
    return recipe


@pytest.fixture(scope="module")
def sft_adapter(folder, home):
    """An SFT adapter made by the ``lora`` trainer: the start of a DPO run."""
    path = folder("sft", "lora", data="sft.jsonl", fmt=None, training=", learning_rate: 0.05")
    recipe, config = load_recipe(path)
    run, _ = train(recipe, config, output=folder.root / "sft-adapter", base_dir=folder.root)
    return run.adapter_dir


@pytest.fixture(scope="module")
def dpo_base(folder, home):
    recipe, config = load_recipe(folder("dpo-base", "dpo", training=", epochs: 2"))
    run, data = train(recipe, config, output=folder.root / "dpo-base", base_dir=folder.root)
    return recipe, config, run, data


def seq_logps(model, ids, mask, completion):
    """Summed log-probabilities of each row's answer, from the full logits."""
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return (lp * completion[:, 1:]).sum(-1)


def fresh_model(path, adapter=None):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return (PeftModel.from_pretrained(model, str(adapter)) if adapter else model).eval()


def session(folder, trainer_cls, name, *, data="pairs.jsonl", fmt="preference", **kw):
    recipe, config = load_recipe(folder(name, trainer_cls.name, data=data, fmt=fmt, **kw))
    dataset = prepare_for_recipe(recipe, folder.root)
    return trainer_cls().build(recipe, config, dataset, folder.root / f"{name}-out")


# -- dpo ---------------------------------------------------------------------------------


def test_dpo_from_the_base_records_its_manifest_and_the_adapter_answers(
    dpo_base, folder, tiny_chat_llama, home, monkeypatch
):
    import trl

    recipe, config, run, data = dpo_base
    out = run.adapter_dir
    m = run.manifest
    assert set(m) == MANIFEST_KEYS and m["format"] == "finegate-training-manifest/1"
    assert m["recipe"] == {
        "id": "dpo-base",
        "method": "dpo",
        "sha256": recipe.hash(),
        "content": recipe.model_dump(mode="json", by_alias=True),
    }
    assert m["base_model"]["weights_sha256"] == weights_hash(tiny_chat_llama)
    method = m["method"]
    assert method["name"] == "dpo" and method["beta"] == 0.1 and method["loss_type"] == "sigmoid"
    assert method["reference"] == {"kind": "base_adapter_off"}
    assert method["trl"] == trl.__version__ == m["libraries"]["trl"] and trl.__version__ >= "1.16"
    assert method["lora"] == {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": "all-linear"}
    assert m["dataset"]["sha256"] == data.hash and m["dataset"]["form"] == "paired"
    assert m["dataset"]["format"] == PREFERENCE_MANIFEST_FORMAT
    assert m["dataset"]["counts"]["read"] == 20 and m["dp"] is None and m["seed"] == 0
    written = json.loads((out / "dataset_manifest.json").read_text())
    assert written == data.manifest
    n_train, n_val = data.manifest["counts"]["train"], data.manifest["counts"]["validation"]
    assert n_val > 0
    assert m["steps"] == 2 * math.ceil(n_train / 4) == len(m["loss_curve"])
    assert m["epochs_completed"] == 2 and m["resumed"] is False
    assert m["loss_curve"][0]["loss"] == pytest.approx(math.log(2), abs=1e-6)  # policy == ref
    assert {"rewards/margins", "rewards/accuracies"} <= set(m["loss_curve"][-1])
    assert [v["epoch"] for v in m["validation_curve"]] == [0, 1]
    objective = m["objective"]
    assert "Not evidence" in objective["note"] and objective["split"] == "validation"
    assert objective["pairs"] == n_val and 0 <= objective["preference_accuracy"] <= 1
    assert objective["reward_margin"] == pytest.approx(
        objective["reward_chosen"] - objective["reward_rejected"], abs=1e-5
    )
    # the last validation point is the same objective, averaged per batch by TRL
    assert m["validation_curve"][-1]["rewards/margins"] == pytest.approx(
        objective["reward_margin"], abs=1e-4
    )
    # only the trained adapter: no "ref" copy, no checkpoints, no TRL files
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "adapter_config.json",
        "adapter_model.safetensors",
        "dataset_manifest.json",
        "training_manifest.json",
    ]
    assert adapter_weights_sha256(out) == m["adapter_sha256"]
    assert json.loads((out / "training_manifest.json").read_text()) == m
    # finegate's HFModel loads it and it answers; it prefers the chosen answer more than the base
    spec = SystemSpec(model=str(tiny_chat_llama), adapter=str(out))
    tuned, base = build_system(spec), build_system(SystemSpec(model=str(tiny_chat_llama)))
    params = GenerationParams(max_new_tokens=4)
    prompt = (Message("user", "Q3: what is 3 plus 3?"),)
    (answer,) = tuned.generate([GenerateRequest(prompt, params)])
    assert answer.completion_tokens > 0 and tuned.adapter_effect > 0

    def margin(system):
        good, bad = system.loglikelihood(
            [LoglikelihoodRequest(prompt, "6\n"), LoglikelihoodRequest(prompt, "7, I think\n")]
        )
        return good.logprob - bad.logprob

    assert margin(tuned) > margin(base)
    # a finished run of the same recipe and data is answered from disk (the same data
    # gives the same hash under the digest key it was prepared with)
    monkeypatch.setenv("FINEGATE_HOME", str(home))
    again, _ = train(recipe, config, output=out, base_dir=folder.root)
    assert again.resumed and again.manifest == m


def test_dpo_from_an_sft_adapter_records_its_reference(folder, sft_adapter, tiny_chat_llama):
    path = folder("dpo-sft", "dpo", config=f"from_adapter: {sft_adapter}, beta: 0.2")
    recipe, config = load_recipe(path)
    run, _ = train(recipe, config, output=folder.root / "dpo-sft", base_dir=folder.root)
    m = run.manifest
    sft_manifest = sft_adapter / "training_manifest.json"
    assert m["method"]["reference"] == {
        "kind": "sft_adapter",
        "path": str(sft_adapter.resolve()),
        "adapter_sha256": adapter_weights_sha256(sft_adapter),
        "base_weights_sha256": weights_hash(tiny_chat_llama),
        "training_manifest_sha256": hashlib.sha256(sft_manifest.read_bytes()).hexdigest(),
    }
    assert m["method"]["beta"] == 0.2
    sft_config = json.loads((sft_adapter / "adapter_config.json").read_text())
    assert m["method"]["lora"]["r"] == sft_config["r"] and m["method"]["lora"]["dropout"] == 0.0
    saved = load_file(str(run.adapter_dir / "adapter_model.safetensors"))
    assert not any(".ref." in k for k in saved) and not (run.adapter_dir / "ref").exists()
    sft_weights = load_file(str(sft_adapter / "adapter_model.safetensors"))
    assert saved.keys() == sft_weights.keys()  # the SFT adapter, trained further
    assert any(not torch.equal(saved[k], sft_weights[k]) for k in saved)
    tuned = build_system(SystemSpec(model=str(tiny_chat_llama), adapter=str(run.adapter_dir)))
    (answer,) = tuned.generate([GenerateRequest("Q1: what is 1 plus 1?", GenerationParams(4))])
    assert answer.completion_tokens > 0


def test_a_pipeline_trains_dpo_on_the_sft_adapter_it_trained_first(folder, tmp_path):
    """``from_adapter: recipe:<id>`` in a pipeline: the recipes are validated
    before the SFT adapter exists, then DPO starts from the one just trained."""
    from finegate.harness.pipeline import PipelineContext
    from finegate.train._steps import prepare_step, train_step

    sft = folder("chain-sft", "lora", data="sft.jsonl", fmt=None, training=", max_steps: 2")
    dpo = folder(
        "chain-dpo", "dpo", training=", max_steps: 2", config="from_adapter: recipe:chain-sft"
    )
    work = tmp_path / "work"
    inputs = {"recipes": [str(sft), str(dpo)], "workdir": str(work), "progress": False}
    context = PipelineContext(inputs={**inputs, "store": str(tmp_path / "fg.db")})
    context.results["prepare"] = prepare_step(context)
    assert set(context.results["prepare"]["datasets"]) == {"chain-sft", "chain-dpo"}
    trained = train_step(context)
    sft_folder = work / "adapters" / "chain-sft"
    assert trained["adapters"] == {
        "chain-sft": str(sft_folder),
        "chain-dpo": str(work / "adapters" / "chain-dpo"),
    }
    manifest = json.loads((work / "adapters" / "chain-dpo" / "training_manifest.json").read_text())
    reference = manifest["method"]["reference"]
    assert reference["path"] == str(sft_folder.resolve())
    assert reference["adapter_sha256"] == adapter_weights_sha256(sft_folder)
    # the order matters: DPO before the recipe it starts from is refused, located
    backwards = PipelineContext(
        inputs={**inputs, "store": str(tmp_path / "fg.db"), "recipes": [str(dpo), str(sft)]}
    )
    with pytest.raises(InputError) as err:
        prepare_step(backwards)
    assert f"{dpo}:" in str(err.value) and "config.from_adapter" in str(err.value)
    assert "names recipe 'chain-sft', which this pipeline does not train before" in str(err.value)
    # outside a pipeline the reference is where `finegate train` writes that recipe
    _, standalone = load_recipe(dpo, pending=True)
    assert standalone.from_adapter == str(Path("runs") / "chain-sft")


def test_the_reference_of_an_sft_start_is_the_sft_model(folder, sft_adapter, tiny_chat_llama):
    s = session(folder, DpoTrainer, "dpo-ref", config=f"from_adapter: {sft_adapter}")
    trainer, model = s.trainer, s.model
    assert trainer.ref_model is None and list(model.peft_config) == ["default", "ref"]
    assert not any(p.requires_grad for n, p in model.named_parameters() if ".ref." in n)
    batch = trainer.data_collator(s.train_rows[:4])
    args = (batch["input_ids"], batch["attention_mask"], batch["completion_mask"])
    sft = seq_logps(fresh_model(tiny_chat_llama, sft_adapter), *args)
    bare = seq_logps(fresh_model(tiny_chat_llama), *args)
    for _ in range(2):  # before training, and after it (the "ref" copy stays frozen)
        model.eval()
        ref = torch.cat(trainer.compute_ref_log_probs(model, batch))
        assert (ref - sft).abs().max() < 1e-5
        assert (ref - bare).abs().max() > 1e-2
        trainer.train()
    assert trainer.state.global_step > 0


def test_the_dpo_loss_of_a_hand_built_batch_is_the_sigmoid_formula(folder):
    s = session(folder, DpoTrainer, "dpo-loss", training=", max_steps: 3")
    s.trainer.train()  # policy != reference from here
    tok, model, beta = s.tokenizer, s.model, s.args.beta

    def ids(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    rows = []
    for q, good, bad in [
        ("What is 2 plus 2?", "4", "5"),
        ("Name a colour.", "Blue", "Lunch, I think"),
    ]:
        prompt = render_prompt(tok, (Message("user", q),))
        rows.append(
            {
                "prompt_ids": ids(prompt),
                "chosen_ids": ids(good + "\n"),
                "rejected_ids": ids(bad + "\n"),
            }
        )
    batch = s.trainer.data_collator(rows)
    args = (batch["input_ids"], batch["attention_mask"], batch["completion_mask"])
    model.eval()
    policy_c, policy_r = seq_logps(model, *args).chunk(2)
    with model.disable_adapter():
        ref_c, ref_r = seq_logps(model, *args).chunk(2)
    assert (policy_c - ref_c).abs().max() > 1e-3  # the adapter moved
    hand = (-F.logsigmoid(beta * ((policy_c - ref_c) - (policy_r - ref_r)))).mean()
    with torch.no_grad():
        loss = s.trainer.compute_loss(model, batch)
    assert float(loss) == pytest.approx(float(hand), abs=1e-5)


# -- kto ---------------------------------------------------------------------------------


def test_kto_trains_and_its_loss_is_the_formula(folder, tiny_chat_llama):
    weights = "desirable_weight: 1.0, undesirable_weight: 1.33"
    recipe, config = load_recipe(
        folder("kto", "kto", data="unpaired.jsonl", fmt="unpaired_preference", config=weights)
    )
    run, data = train(recipe, config, output=folder.root / "kto", base_dir=folder.root)
    m = run.manifest
    assert set(m) == MANIFEST_KEYS and m["dataset"]["form"] == "unpaired"
    assert m["method"]["name"] == "kto" and m["method"]["loss_type"] == "kto"
    assert (m["method"]["desirable_weight"], m["method"]["undesirable_weight"]) == (1.0, 1.33)
    assert m["method"]["reference"] == {"kind": "base_adapter_off"}
    # a fresh adapter starts at the weighted mean of 0.5 over the batch's answers
    assert 0.5 <= m["loss_curve"][0]["loss"] <= 0.5 * 1.33
    objective = m["objective"]
    assert objective["answers"] == data.manifest["counts"]["validation"]
    assert objective["same_prompt_pairs"] > 0 and "Not evidence" in objective["note"]
    build_system(SystemSpec(model=str(tiny_chat_llama), adapter=str(run.adapter_dir)))

    s = session(
        folder,
        KtoTrainer,
        "kto-loss",
        data="unpaired.jsonl",
        fmt="unpaired_preference",
        config=weights,
        training=", max_steps: 3",
    )
    labels = [row["label"] for row in s.train_rows]
    assert all(len(set(labels[i : i + 4])) == 2 for i in range(0, len(labels) - 3, 4))
    s.trainer.train()
    model, beta = s.model, s.args.beta
    batch = s.trainer.data_collator(s.train_rows[:4])
    model.eval()
    main = (batch["input_ids"], batch["attention_mask"], batch["completion_mask"])
    kl_args = (batch["KL_input_ids"], batch["KL_attention_mask"], batch["KL_completion_mask"])
    policy, policy_kl = seq_logps(model, *main), seq_logps(model, *kl_args)
    with model.disable_adapter():
        ref, ref_kl = seq_logps(model, *main), seq_logps(model, *kl_args)
    trl_ref, trl_ref_kl = s.trainer.compute_ref_log_probs(model, batch)
    assert (trl_ref - ref).abs().max() < 1e-5 and (trl_ref_kl - ref_kl).abs().max() < 1e-5
    kl = (policy_kl - ref_kl).mean().clamp(min=0)
    good = batch["label"].bool()
    ratio = policy - ref
    hand = torch.cat(
        [
            1.0 * (1 - torch.sigmoid(beta * (ratio[good] - kl))),
            1.33 * (1 - torch.sigmoid(beta * (kl - ratio[~good]))),
        ]
    ).nanmean()
    with torch.no_grad():
        loss = s.trainer.compute_loss(model, batch)
    assert float(loss) == pytest.approx(float(hand), abs=1e-5)


# -- resumption --------------------------------------------------------------------------


def test_kill_9_then_resume_gives_the_same_adapter_bit_for_bit(folder, tmp_path):
    path = folder("dpo-resume", "dpo", training=", epochs: 6, checkpoint_every: 3")
    cut, clean = tmp_path / "cut", tmp_path / "clean"
    cmd = [sys.executable, "-m", "finegate.harness.cli", "train", "-r", str(path), "-o", str(cut)]
    proc = subprocess.Popen([*cmd, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    states: list = []
    while time.time() < deadline and proc.poll() is None and not states:
        states = list((cut / "checkpoint").glob("checkpoint-*/trainer_state.json"))
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = max(
        json.loads(p.read_text())["global_step"] for p in cut.glob("*/*/trainer_state.json")
    )
    recipe, config = load_recipe(path)
    resumed, data = train(recipe, config, output=cut, base_dir=folder.root)
    straight, _ = train(recipe, config, output=clean, base_dir=folder.root)
    assert resumed.manifest["resumed"] is True and straight.manifest["resumed"] is False
    steps = 6 * math.ceil(data.manifest["counts"]["train"] / 4)
    assert 0 < killed_at < straight.manifest["steps"] == resumed.manifest["steps"] == steps
    a = load_file(str(cut / "adapter_model.safetensors"))
    b = load_file(str(clean / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.manifest["adapter_sha256"] == straight.manifest["adapter_sha256"]
    assert resumed.manifest["loss_curve"] == straight.manifest["loss_curve"]
    assert resumed.manifest["validation_curve"] == straight.manifest["validation_curve"]
    assert resumed.manifest["objective"] == straight.manifest["objective"]
    assert not (cut / "checkpoint").exists()


def test_a_checkpoint_of_another_recipe_is_not_resumed(folder, tmp_path):
    recipe, config = load_recipe(folder("dpo-a", "dpo", training=", max_steps: 4"))
    out = tmp_path / "out"

    class Stop(Exception):
        pass

    def stop(info):  # after the checkpoint of step 2
        if info["step"] == 3:
            raise Stop

    with pytest.raises(Stop):
        train(recipe, config, output=out, base_dir=folder.root, on_step=stop)
    other, other_config = load_recipe(folder("dpo-b", "dpo", training=", max_steps: 4, seed: 1"))
    with pytest.raises(InputError, match="holds a checkpoint of another recipe"):
        train(other, other_config, output=out, base_dir=folder.root)
    fresh, _ = train(other, other_config, output=out, base_dir=folder.root, resume=False)
    assert fresh.manifest["resumed"] is False


# -- refusals ----------------------------------------------------------------------------


def problems(path):
    with pytest.raises(InputError) as err:
        load_recipe(path)
    return [str(p) for p in err.value.problems]


def test_dp_settings_kto_batch_of_one_and_bad_adapters_are_refused_in_the_recipe(
    folder, sft_adapter, tmp_path
):
    found = problems(folder("dp", "dpo", config="noise_multiplier: 1.0, epsilon: 8, r: 0"))
    assert any("config.noise_multiplier: DP-SGD with DPO/KTO is not supported" in p for p in found)
    assert any("config.epsilon: DP-SGD with DPO/KTO is not supported" in p for p in found)
    assert any("config.r: Input should be greater than or equal to 1" in p for p in found)
    unpaired = dict(data="unpaired.jsonl", fmt="unpaired_preference")
    found = problems(folder("kto1", "kto", training=", batch_size: 1", **unpaired))
    assert any(":5: training.batch_size: kto needs at least 2 examples" in p for p in found)
    # apo_zero_unpaired has no KL estimate, and takes batches of one
    load_recipe(
        folder(
            "kto1apo",
            "kto",
            training=", batch_size: 1",
            config="loss_type: apo_zero_unpaired",
            **unpaired,
        )
    )
    found = problems(folder("dpo-unpaired", "dpo", **unpaired))
    assert any("data.format: dpo trains on pairs" in p for p in found)
    (tmp_path / "empty").mkdir()
    found = problems(
        folder("no-adapter", "dpo", config=f"from_adapter: {tmp_path / 'empty'}, r: 4")
    )
    assert any(
        "config.from_adapter: adapter folder has no adapter_config.json: "
        f"{tmp_path / 'empty'} (adapter_config.json)" in p
        for p in found
    )
    assert any("config.r: cannot be set with from_adapter" in p for p in found)
    found = problems(folder("gone", "dpo", config=f"from_adapter: {tmp_path / 'gone'}"))
    assert any("config.from_adapter: adapter folder not found" in p for p in found)
    other = folder("other-base", "dpo", config=f"from_adapter: {sft_adapter}")
    other.write_text(other.read_text().replace("base_model: ", "base_model: /elsewhere"))
    found = problems(other)
    assert any(
        "config.from_adapter: the adapter in" in p and "not on the recipe's base_model" in p
        for p in found
    )


def test_preference_tuning_across_processes_is_refused_before_any_starts(folder):
    result = CliRunner().invoke(
        cli, ["train", "-r", str(folder("dpo-nproc", "dpo")), "--nproc", "2"]
    )
    assert result.exit_code == 2
    assert "method dpo does not train across processes yet" in result.output


def test_data_errors_and_dp_sgd_on_preferences_reach_the_command_line(folder):
    bad = folder.root / "bad-pairs.jsonl"
    write_jsonl(bad, [pairs(1)[0], {"prompt": "Q: two?", "chosen": 2, "rejected": "3"}])
    result = CliRunner().invoke(cli, ["train", "-r", str(folder("bad", "dpo", data=bad.name))])
    assert result.exit_code == 2 and f"{bad}:2: chosen:" in result.output, result.output
    result = CliRunner().invoke(cli, ["train", "-r", str(folder("dp-prefs", "dp-sgd"))])
    assert result.exit_code == 2 and "DP-SGD with DPO or KTO is not supported" in result.output
