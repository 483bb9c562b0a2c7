import pytest

from finegate.harness import InputError
from finegate.train import load_recipe
from finegate.train.dp_sgd import DpSgdSettings
from finegate.train.lora import LoraSettings


def test_a_valid_recipe_and_its_method_config(recipe_file):
    recipe, config = load_recipe(recipe_file("lora", config="r: 4, alpha: 8"))
    assert recipe.method == "lora" and isinstance(config, LoraSettings) and config.r == 4
    assert config.target_modules == "all-linear"
    _, dp = load_recipe(recipe_file("dp-sgd", config="target_epsilon: 3", name="dp.yaml"))
    assert isinstance(dp, DpSgdSettings) and dp.target_epsilon == 3 and dp.accountant == "prv"
    assert recipe.hash() == load_recipe(recipe_file("lora", config="r: 4, alpha: 8"))[0].hash()


def test_errors_are_located_in_the_recipe(recipe_file):
    path = recipe_file("lroa")
    with pytest.raises(
        InputError, match=r":2: method: unknown trainer 'lroa'; did you mean 'lora'"
    ):
        load_recipe(path)
    path = recipe_file("lora", config="r: 0, colour: red")
    with pytest.raises(InputError) as err:
        load_recipe(path)
    text = str(err.value)
    assert f"{path}:6: config.r: Input should be greater than or equal to 1" in text
    assert f"{path}:6: config.colour: unknown field" in text


def test_dp_sgd_refuses_what_opacus_cannot_account(recipe_file):
    path = recipe_file(
        "dp-sgd", training=", gradient_accumulation: 2, gradient_checkpointing: true"
    )
    with pytest.raises(InputError) as err:
        load_recipe(path)
    text = str(err.value)
    assert "training.gradient_accumulation: DP-SGD takes one Poisson batch per step" in text
    assert "training.gradient_checkpointing: opacus gets no per-example gradients" in text


def test_data_needs_exactly_one_source(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("id: x\nmethod: lora\ndata: {suite: task/support_triage, path: d.jsonl}\n")
    with pytest.raises(InputError, match=r":3: data: Value error, give exactly one of 'suite'"):
        load_recipe(path)
