"""``finegate train`` and ``finegate data prepare`` from the command line."""

import json

from click.testing import CliRunner

from finegate.harness.cli import cli

from .conftest import arithmetic_rows, write_jsonl


def test_data_prepare_writes_splits_and_manifest(tmp_path):
    rows = [*arithmetic_rows(30), arithmetic_rows(1)[0]]
    rows[3] = {**rows[3], "prompt": rows[3]["prompt"] + " Mail me: ana.lima@example.org"}
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    out = tmp_path / "prepared"
    result = CliRunner().invoke(
        cli,
        [
            "data",
            "prepare",
            str(data),
            "-o",
            str(out),
            "--canaries",
            "2",
            "--canary-repeats",
            "3",
            "--scrub-pii",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "31 examples read, 1 exact and 0 near duplicates dropped" in result.output
    assert "PII: 1 values {'EMAIL_ADDRESS': 1} (scrubbed)" in result.output
    manifest = json.loads((out / "dataset_manifest.json").read_text())
    assert manifest["counts"]["canary_copies"] == 6
    assert "ana.lima" not in "".join(p.read_text() for p in out.glob("*.jsonl"))
    assert json.loads((out / "dropped.jsonl").read_text())["reason"] == "exact duplicate"


def test_bad_data_and_recipes_exit_2(tmp_path, recipe_file):
    bad = write_jsonl(tmp_path / "bad.jsonl", ['{"prompt": 3, "completion": "x"}'])
    result = CliRunner().invoke(cli, ["data", "prepare", str(bad), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and f"{bad}:1: prompt: must be text" in result.output
    assert not (tmp_path / "o").exists()
    recipe = recipe_file("lora", config="r: -1")
    result = CliRunner().invoke(cli, ["train", "--recipe", str(recipe)])
    assert (
        result.exit_code == 2
        and "config.r: Input should be greater than or equal to 1" in result.output
    )


def test_train_command_reports_the_run(recipe_file, tmp_path):
    recipe = recipe_file("dp-sgd")
    result = CliRunner().invoke(
        cli, ["train", "--recipe", str(recipe), "-o", str(tmp_path / "adapter")]
    )
    assert result.exit_code == 0, result.output
    assert "adapter " + str(tmp_path / "adapter") in result.output
    assert "DP: epsilon 7.9" in result.output and "(prv)" in result.output
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
