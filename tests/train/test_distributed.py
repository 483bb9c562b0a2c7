"""Training across processes (torchrun, gloo on CPU): two processes, each on its
slice of every batch, take the steps one process takes on the whole batch, and
each rank sees exactly its slice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from finegate.harness.cli import cli
from finegate.train import load_recipe, train
from finegate.train._run import prepare_for_recipe
from finegate.train._tokenize import encode_example

TRAINING = ", max_steps: 3, batch_size: 5, gradient_accumulation: 2, warmup_steps: 0"
LORA = "r: 4, alpha: 8, dropout: 0.0"  # no dropout: its masks are drawn per process

# the same command as `finegate train`, with each rank's examples written down: the
# batches reach the model through micro_batches, so they are read there
RECORDING = textwrap.dedent(
    """
    import json, os, sys
    from finegate.train import _loop
    from finegate.harness.cli import main

    seen, real = [], _loop.micro_batches
    def recording(examples, *args, **kwargs):
        seen.append([list(e[0]) for e in examples])
        return real(examples, *args, **kwargs)
    _loop.micro_batches = recording
    try:
        main(sys.argv[1:])
    except SystemExit as e:
        code = e.code
    else:
        code = 0
    with open(os.path.join(os.environ["SEEN"], f"rank{os.environ['RANK']}.json"), "w") as f:
        json.dump(seen, f)
    sys.exit(code)
    """
)


def _weights(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "adapter_model.safetensors"))


def test_two_processes_take_the_one_process_steps_on_their_slices(recipe_file, tmp_path):
    path = recipe_file("lora", training=TRAINING, config=LORA)
    recipe, config = load_recipe(path)
    one, _ = train(recipe, config, output=tmp_path / "one")
    script = tmp_path / "recording.py"
    script.write_text(RECORDING)
    (tmp_path / "seen").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), "train", "-r", str(path), "-o", str(tmp_path / "two"), "--json"],
        env={**os.environ, "SEEN": str(tmp_path / "seen"), "FINEGATE_DISTRIBUTED": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    two = json.loads(done.stdout)["manifest"]
    assert two["distributed"] == {"world_size": 2, "backend": "gloo"}
    assert one.manifest["distributed"] == {"world_size": 1, "backend": None}
    assert two["steps"] == one.manifest["steps"] == 3
    a, b = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-6)
    for mine, theirs in zip(one.manifest["loss_curve"], two["loss_curve"], strict=True):
        assert abs(mine["loss"] - theirs["loss"]) < 1e-4
    # which examples each rank saw: batch[rank::2] of every global batch, in order
    data = prepare_for_recipe(recipe, path.parent)
    tokenizer = _tok(recipe)
    encoded = [
        encode_example(tokenizer, r.messages, max_length=512)[0] for r in data.splits["train"]
    ]
    order = torch.randperm(len(encoded), generator=torch.Generator().manual_seed(0)).tolist()
    batches = [order[i : i + 5] for i in range(0, len(order), 5)][:6]  # 3 steps x 2 batches
    for rank in (0, 1):
        seen = json.loads((tmp_path / "seen" / f"rank{rank}.json").read_text())
        expected = [[encoded[i] for i in batch[rank::2]] for batch in batches]
        assert [sorted(map(tuple, s)) for s in seen] == [sorted(map(tuple, e)) for e in expected]


def _tok(recipe):
    from finegate.harness.system.hf import load_tokenizer, resolve_model_ref

    return load_tokenizer(resolve_model_ref(recipe.base_model))


def test_a_method_that_cannot_yet_is_refused_before_any_process_starts(recipe_file):
    result = CliRunner().invoke(cli, ["train", "-r", str(recipe_file("dp-sgd")), "--nproc", "2"])
    assert result.exit_code == 2
    assert "method dp-sgd does not train across processes yet" in result.output
