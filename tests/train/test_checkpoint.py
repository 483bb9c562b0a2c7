"""Checkpoints survive a kill at any point of their own save."""

from __future__ import annotations

import random

import torch

from finegate.train._checkpoint import CHECKPOINT_DIR, load_checkpoint, save_checkpoint


def _save(output, step: int) -> None:
    weights = {"w": torch.full((2,), float(step))}
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    save_checkpoint(
        output,
        trainable=weights,
        optimizer_state=optimizer.state_dict(),
        generators={"data": torch.Generator().manual_seed(step)},
        state={"global_step": step},
    )


def test_a_save_after_a_kill_during_the_last_clean_up(tmp_path) -> None:
    random.seed(0)
    _save(tmp_path, 1)
    _save(tmp_path, 2)
    # killed after the new checkpoint took its place, before the old one was removed
    stale = tmp_path / f".{CHECKPOINT_DIR}.old"
    stale.mkdir()
    (stale / "state.json").write_text("{}")
    _save(tmp_path, 3)
    loaded = load_checkpoint(tmp_path)
    assert loaded is not None and loaded["state"]["global_step"] == 3
    assert loaded["trainable"]["w"].tolist() == [3.0, 3.0]
    assert not stale.exists()


def test_a_kill_between_the_two_renames_keeps_the_last_checkpoint(tmp_path) -> None:
    _save(tmp_path, 1)
    (tmp_path / CHECKPOINT_DIR).rename(tmp_path / f".{CHECKPOINT_DIR}.old")
    loaded = load_checkpoint(tmp_path)
    assert loaded is not None and loaded["state"]["global_step"] == 1
