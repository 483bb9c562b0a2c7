"""Each backend on a real tiny model: manifests, determinism, resumption, DP accounting."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from finegate.harness import HFModel, InputError, LoglikelihoodRequest
from finegate.train import load_recipe, train

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
    "adapter_sha256",
    "wall_time_s",
    "resumed",
    "dp",
    "trained_by",
    "distributed",
}


class Kill(Exception):
    pass


def _kill_at(step):
    def on_step(info):
        if info["step"] == step:
            raise Kill

    return on_step


@pytest.mark.parametrize("method", ["lora", "qlora", "dp-sgd"])
def test_each_backend_trains_and_writes_its_manifest(
    recipe_file, tmp_path, tiny_llama, method, monkeypatch
):
    monkeypatch.setenv("FINEGATE_ACTOR", "ana")
    recipe, config = load_recipe(recipe_file(method))
    run, data = train(recipe, config, output=tmp_path / "out")
    m = run.manifest
    assert set(m) == MANIFEST_KEYS and m["trained_by"] == "ana"
    assert m["recipe"] == {
        "id": f"tiny-{method}",
        "method": method,
        "sha256": recipe.hash(),
        "content": recipe.model_dump(mode="json", by_alias=True),
    }
    assert m["base_model"]["weights_sha256"] == HFModel(str(tiny_llama)).describe()["weights_hash"]
    assert m["dataset"]["sha256"] == data.hash and m["dataset"]["counts"]["read"] == 48
    per_epoch = -(-data.manifest["counts"]["train"] // 8)
    if method != "dp-sgd":
        assert m["steps"] == 2 * per_epoch == len(m["loss_curve"])
    assert len(m["validation_curve"]) == 2 and m["libraries"]["torch"].startswith("2.13")
    assert (m["method"]["load_in_4bit"]) == (method == "qlora")
    written = json.loads((tmp_path / "out" / "training_manifest.json").read_text())
    assert written["adapter_sha256"] == m["adapter_sha256"]
    assert (
        json.loads((tmp_path / "out" / "dataset_manifest.json").read_text())["sha256"] == data.hash
    )
    assert not (tmp_path / "out" / "checkpoint").exists()
    # the adapter is a real peft adapter that changes the model's scores
    req = [LoglikelihoodRequest("Q3: what is 3 plus 3?", " 6")]
    base = HFModel(str(tiny_llama)).loglikelihood(req)[0].logprob
    tuned = HFModel(str(tiny_llama), adapter=str(tmp_path / "out")).loglikelihood(req)[0].logprob
    assert abs(base - tuned) > 1e-3
    if method == "dp-sgd":
        dp = m["dp"]
        assert dp["epsilon"] == pytest.approx(8.0, abs=0.05) and dp["accountant"] == "prv"
        assert dp["delta"] == pytest.approx(1 / (10 * data.manifest["counts"]["train"]))
        assert dp["secure_mode"] is False and "not cryptographically" in dp["noise_generator"]
        assert dp["noise_multiplier"] > 0 and dp["max_grad_norm"] == 1.0
        assert dp["steps"] == len(m["loss_curve"]) and 0 < dp["sample_rate"] < 1
    else:
        assert m["dp"] is None


def test_same_recipe_and_data_give_the_same_adapter(recipe_file, tmp_path):
    recipe, config = load_recipe(recipe_file("lora"))
    a, _ = train(recipe, config, output=tmp_path / "a")
    b, _ = train(recipe, config, output=tmp_path / "b")
    assert a.manifest["adapter_sha256"] == b.manifest["adapter_sha256"]
    again, _ = train(recipe, config, output=tmp_path / "a")  # finished: answered from disk
    assert again.resumed and again.manifest == a.manifest


@pytest.mark.parametrize("method", ["lora", "dp-sgd"])
def test_an_interrupted_run_resumes_to_the_same_adapter(recipe_file, tmp_path, method):
    recipe, config = load_recipe(recipe_file(method))
    clean, _ = train(recipe, config, output=tmp_path / "clean")
    with pytest.raises(Kill):
        train(recipe, config, output=tmp_path / "cut", on_step=_kill_at(5))
    assert (tmp_path / "cut" / "checkpoint" / "state.json").is_file()
    resumed, _ = train(recipe, config, output=tmp_path / "cut")
    assert resumed.resumed and resumed.manifest["resumed"] is True
    assert resumed.manifest["adapter_sha256"] == clean.manifest["adapter_sha256"]
    assert resumed.manifest["loss_curve"] == clean.manifest["loss_curve"]
    if method == "dp-sgd":  # the accountant counted the steps before the cut too
        assert resumed.manifest["dp"]["epsilon"] == clean.manifest["dp"]["epsilon"]
        assert resumed.manifest["dp"]["steps"] == clean.manifest["dp"]["steps"]


def test_a_checkpoint_of_another_recipe_is_not_resumed(recipe_file, tmp_path):
    recipe, config = load_recipe(recipe_file("lora"))
    with pytest.raises(Kill):
        train(recipe, config, output=tmp_path / "out", on_step=_kill_at(3))
    other, other_config = load_recipe(recipe_file("lora", training=", seed: 1", name="o.yaml"))
    with pytest.raises(InputError, match="holds a checkpoint of another recipe"):
        train(other, other_config, output=tmp_path / "out")
    fresh, _ = train(other, other_config, output=tmp_path / "out", resume=False)
    assert fresh.manifest["resumed"] is False


def test_early_stopping_keeps_the_best_weights(recipe_file, tmp_path):
    # a learning rate this high makes the validation loss climb after the first epoch
    recipe, config = load_recipe(
        recipe_file("lora", training=", epochs: 6, learning_rate: 0.5, early_stopping_patience: 1")
    )
    run, _ = train(recipe, config, output=tmp_path / "out")
    curve = [v["loss"] for v in run.manifest["validation_curve"]]
    assert run.manifest["early_stopped"] is True and len(curve) < 6
    assert curve[-1] > min(curve)


def test_dp_sgd_validator_refuses_an_unsupported_model(recipe_file, tmp_path, monkeypatch):
    from opacus.validators import ModuleValidator

    recipe, config = load_recipe(recipe_file("dp-sgd"))
    monkeypatch.setattr(
        ModuleValidator,
        "validate",
        classmethod(lambda cls, model, strict=False: ["BatchNorm cannot be made private"]),
    )
    with pytest.raises(InputError, match="opacus cannot make this model private: BatchNorm"):
        train(recipe, config, output=tmp_path / "out")


def test_kill_9_during_finegate_train_then_resume(recipe_file, tmp_path):
    path = recipe_file("lora", training=", epochs: 40, checkpoint_every: 3")
    env = {**os.environ, "FINEGATE_HOME": str(tmp_path / "home")}
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "finegate.harness.cli",
        "train",
        "--recipe",
        str(path),
        "-o",
        str(out),
        "--json",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state = out / "checkpoint" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not state.exists():
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    step_at_kill = json.loads(state.read_text())["state"]["global_step"]
    assert step_at_kill >= 3
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["manifest"]["resumed"] is True
    assert result["manifest"]["steps"] == len(result["manifest"]["loss_curve"]) > step_at_kill


def test_secure_mode_without_its_generator_is_a_clear_error(recipe_file, tmp_path):
    recipe, config = load_recipe(recipe_file("dp-sgd", config="secure_mode: true"))
    with pytest.raises(InputError, match=r"config\.secure_mode needs opacus' secure generator"):
        train(recipe, config, output=tmp_path / "out")
