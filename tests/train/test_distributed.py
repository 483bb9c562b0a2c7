"""Training across processes (torchrun, gloo on CPU): two processes, each on its
slice of every batch, take the steps one process takes on the whole batch, and
each rank sees exactly its slice. For DP-SGD that includes the noise: drawn
once, by rank 0, at the scale one process draws it (drawn on both ranks, or
not at all, the weights would differ from the one-process run's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

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


# `finegate train` on every rank, all ranks killed once rank 0 has written the
# second checkpoint (the barrier makes sure it is whole)
KILLED_AFTER_TWO = textwrap.dedent(
    """
    import os, sys
    import torch.distributed as dist
    from finegate.train import _loop
    from finegate.harness.cli import main

    real, written = _loop._Context.checkpoint, []
    def checkpoint(self):
        real(self)
        written.append(1)
        if len(written) == 2:
            dist.barrier()
            os._exit(3)
    _loop._Context.checkpoint = checkpoint
    main(sys.argv[1:])
    """
)


def _weights(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "adapter_model.safetensors"))


def _two_processes(path, out, tmp_path, script_text: str = RECORDING) -> dict:
    script = tmp_path / "recording.py"
    script.write_text(script_text)
    (tmp_path / "seen").mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), "train", "-r", str(path), "-o", str(out), "--json"],
        env={**os.environ, "SEEN": str(tmp_path / "seen"), "FINEGATE_DISTRIBUTED": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)["manifest"]


def _same_run(one: dict, two: dict, folder_one, folder_two, steps: int = 3) -> None:
    assert two["distributed"] == {"world_size": 2, "backend": "gloo"}
    assert one["distributed"] == {"world_size": 1, "backend": None}
    assert two["steps"] == one["steps"] == steps
    a, b = _weights(folder_one), _weights(folder_two)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-6)
    for mine, theirs in zip(one["loss_curve"], two["loss_curve"], strict=True):
        assert abs(mine["loss"] - theirs["loss"]) < 1e-4


def test_dp_sgd_on_two_processes_noises_the_batch_once(recipe_file, tmp_path):
    path = recipe_file(
        "dp-sgd",
        training=", max_steps: 3, batch_size: 6, warmup_steps: 0",
        config=f"{LORA}, target_epsilon: 8, max_grad_norm: 0.5",
    )
    recipe, config = load_recipe(path)
    one, _ = train(recipe, config, output=tmp_path / "one")
    two = _two_processes(path, tmp_path / "two", tmp_path)
    assert one.manifest["dp"]["noise_multiplier"] > 0.3  # real noise, of a real size
    _same_run(one.manifest, two, tmp_path / "one", tmp_path / "two")
    assert two["dp"] == one.manifest["dp"]


def test_two_processes_take_the_one_process_steps_on_their_slices(recipe_file, tmp_path):
    path = recipe_file("lora", training=TRAINING, config=LORA)
    recipe, config = load_recipe(path)
    one, _ = train(recipe, config, output=tmp_path / "one")
    two = _two_processes(path, tmp_path / "two", tmp_path)
    _same_run(one.manifest, two, tmp_path / "one", tmp_path / "two")
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


def test_two_processes_resume_from_rank_0s_checkpoint(recipe_file, tmp_path):
    path = recipe_file(
        "lora", training=", max_steps: 4, batch_size: 4, checkpoint_every: 1", config=LORA
    )
    recipe, config = load_recipe(path)
    one, _ = train(recipe, config, output=tmp_path / "one")
    with pytest.raises(AssertionError):  # killed after its second step
        _two_processes(path, tmp_path / "two", tmp_path, KILLED_AFTER_TWO)
    assert not (tmp_path / "two" / "adapter_model.safetensors").exists()
    two = _two_processes(path, tmp_path / "two", tmp_path)
    assert two["resumed"] and not one.manifest["resumed"]
    _same_run(one.manifest, two, tmp_path / "one", tmp_path / "two", steps=4)
