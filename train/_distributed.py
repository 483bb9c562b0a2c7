"""Data-parallel training across processes started by ``torchrun``.

Every process computes the same global batches (they come from the seed), and
takes its own slice of each: rank r the examples ``batch[r::world]``. Its loss is
scaled by the size of the global batch, and before each optimizer step the
gradients of the trainable weights are summed across processes with
``torch.distributed.all_reduce``, the collective DDP itself uses. So every
process takes the step one process would take on the combined batch (equal
within float rounding), and holds the same weights after it. Only rank 0
writes checkpoints, the adapter and the manifest; the others wait for it.

Gloo on CPU, NCCL where each process has a GPU (``LOCAL_RANK`` picks it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

LAUNCHED = "FINEGATE_DISTRIBUTED"
"""Set in the processes ``launch`` starts, so they do not launch again."""


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    backend: str | None = None

    @property
    def main(self) -> bool:
        return self.rank == 0

    def part(self, batch: Sequence[T]) -> list[T]:
        """This process's slice of a global batch."""
        return list(batch[self.rank :: self.size])

    def describe(self) -> dict[str, Any]:
        return {"world_size": self.size, "backend": self.backend}


def join_world() -> World:
    """The process group ``torchrun`` set up for this process (joined on first
    call), or a world of one."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
    return World(dist.get_rank(), dist.get_world_size(), dist.get_backend())


def sum_gradients(params: Sequence[Any], world: World) -> None:
    """Sum each trainable weight's gradient over the processes, in place. A
    process whose slice was empty contributes zeros."""
    if world.size <= 1:
        return
    import torch
    import torch.distributed as dist

    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)


def sum_value(value: float, world: World) -> float:
    """A number summed over the processes (each one's share of a batch's loss)."""
    if world.size <= 1:
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item())


def wait_for_all(world: World) -> None:
    if world.size > 1:
        import torch.distributed as dist

        dist.barrier()


def leave_world(world: World) -> None:
    if world.size > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def launch(nproc: int, argv: Sequence[str]) -> int:
    """Run ``finegate`` with ``argv`` in ``nproc`` processes under torchrun (on this
    machine; for several machines call torchrun yourself with the same command)."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "finegate.harness.cli",
        *argv,
    ]
    return subprocess.run(command, env={**os.environ, LAUNCHED: "1"}).returncode
