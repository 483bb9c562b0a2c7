"""Checkpoints that a killed training run resumes from, bit for bit.

A checkpoint holds the adapter's trainable weights, the optimizer's state, the
random number generators and the position in the data (epoch, next batch), so
the resumed run takes exactly the steps the uninterrupted one would have taken
and ends with the same adapter. Tensors go to safetensors and everything else
to JSON: nothing is pickled. A checkpoint is written into a temporary folder
and renamed into place, so a kill while writing leaves the previous one intact.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

CHECKPOINT_DIR = "checkpoint"


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    tensors: dict[str, Any] = {}
    meta: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for idx, entry in state["state"].items():
        meta["state"][str(idx)] = {}
        for key, value in entry.items():
            if hasattr(value, "shape"):
                tensors[f"optimizer.{idx}.{key}"] = value.contiguous()
                meta["state"][str(idx)][key] = {"tensor": f"optimizer.{idx}.{key}"}
            else:
                meta["state"][str(idx)][key] = {"value": value}
    return tensors, meta


def _unflatten_optimizer(meta: dict[str, Any], tensors: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for idx, entry in meta["state"].items():
        state[int(idx)] = {
            k: tensors[v["tensor"]] if "tensor" in v else v["value"] for k, v in entry.items()
        }
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    output: Path,
    *,
    trainable: dict[str, Any],
    optimizer_state: dict[str, Any],
    generators: dict[str, Any],
    state: dict[str, Any],
) -> None:
    import torch
    from safetensors.torch import save_file

    opt_tensors, opt_meta = _flatten_optimizer(optimizer_state)
    tensors = {f"weights.{k}": v.detach().contiguous().cpu() for k, v in trainable.items()}
    tensors.update(opt_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    for name, gen in generators.items():
        tensors[f"rng.{name}"] = gen.get_state()
    output.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".checkpoint.", dir=output))
    try:
        save_file(tensors, str(tmp / "state.safetensors"))
        payload = {
            "state": state,
            "optimizer": opt_meta,
            "python_random": random.getstate(),
            "generators": sorted(generators),
        }
        (tmp / "state.json").write_text(json.dumps(payload, sort_keys=True))
        final = output / CHECKPOINT_DIR
        old = output / f".{CHECKPOINT_DIR}.old"
        if final.exists():
            # a kill during the last save's clean-up leaves its old copy behind
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_checkpoint(output: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is no complete checkpoint."""
    from safetensors.torch import load_file

    folder = output / CHECKPOINT_DIR
    if not (folder / "state.json").is_file():
        old = output / f".{CHECKPOINT_DIR}.old"  # killed between the two renames
        if (old / "state.json").is_file():
            old.rename(folder)
        else:
            return None
    payload = json.loads((folder / "state.json").read_text("utf-8"))
    tensors = load_file(str(folder / "state.safetensors"))
    py_state = payload["python_random"]
    return {
        "state": payload["state"],
        "trainable": {
            k[len("weights.") :]: v for k, v in tensors.items() if k.startswith("weights.")
        },
        "optimizer": _unflatten_optimizer(payload["optimizer"], tensors),
        "rng_torch": tensors["rng.torch"],
        "generators": {name: tensors[f"rng.{name}"] for name in payload["generators"]},
        "python_random": (py_state[0], tuple(py_state[1]), py_state[2]),
    }


def restore_rng(saved: dict[str, Any], generators: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(saved["rng_torch"])
    random.setstate(saved["python_random"])
    for name, gen in generators.items():
        if name in saved["generators"]:
            gen.set_state(saved["generators"][name])


def remove_checkpoint(output: Path) -> None:
    shutil.rmtree(output / CHECKPOINT_DIR, ignore_errors=True)
