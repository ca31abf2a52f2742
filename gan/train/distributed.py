"""Data-parallel training under torchrun (torch.distributed): one process per rank, same seed on every rank.

How it keeps N ranks exact and interchangeable with one process:
- every rank draws the *global* batch from the seeded streams (identical RNG on every rank) and keeps its
  slice (`World.shard`), so the RNG, stream positions and checkpoints are the same as a 1-process run;
- after each backward, the gradients of the nets being updated (and only those: G's update never touches
  D's grads and vice versa), plus the loss itself, are averaged in one all-reduce (`World.average`), the
  same bucketed all-reduce DistributedDataParallel does. It happens in `Trainer.update` rather than in DDP's
  forward hooks because the families call their nets through methods (StyleGAN's mapping/synthesis),
  several forwards per update and double-backward penalties (R1, WGAN-GP), which DDP's hooks do not see;
- the nets' floating-point buffers (batch-norm running statistics, StyleGAN's w_avg) are averaged after each
  step (`Trainer.step`, with `World.average`), so the weights, the buffers and the EMA copies stay identical on
  every rank; on CUDA, dcgan's batch norm is SyncBatchNorm;
- nets are never wrapped, so state dicts carry no 'module.' prefix and rank 0's checkpoint is a plain one.
"""
from __future__ import annotations

import datetime
import importlib
import os
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.distributed as dist
from torch import nn

from ..errors import ConfigError
from .compute import check_cuda

BACKENDS = ("auto", "nccl", "gloo")


@dataclass(frozen=True)
class World:
    """This process's place in a torchrun job (rank 0 of 1 when not launched by torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def main(self) -> bool:
        """True on the rank that saves checkpoints, prints progress and writes logs."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """True when there is more than one rank to talk to."""
        return self.size > 1

    def shard(self, x: torch.Tensor | None) -> torch.Tensor | None:
        """This rank's contiguous slice of a global batch along dim 0: (B, ...) -> (B / size, ...)."""
        if x is None or not self.active:
            return x
        n = x.shape[0] // self.size
        return x[self.rank * n:(self.rank + 1) * n]

    def average(self, tensors: list[torch.Tensor]) -> None:
        """Average `tensors` in place across ranks with one all-reduce of their flattened copy."""
        if not self.active or not tensors:
            return
        flat = torch.cat([t.reshape(-1).float() for t in tensors])  # (sum of numels,)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat.div_(self.size)
        i = 0
        for t in tensors:
            t.copy_(flat[i:i + t.numel()].view_as(t))
            i += t.numel()

    def agree(self, flag: bool) -> bool:
        """Rank 0's `flag`, on every rank (one broadcast)."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=_collective_device(self.backend))
        dist.broadcast(t, src=0)
        return bool(t.item())


def _collective_device(backend: str) -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")


def launched(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process was started by torchrun (WORLD_SIZE and RANK set)."""
    env = os.environ if env is None else env
    return "WORLD_SIZE" in env and "RANK" in env


def world_from_env(env: Mapping[str, str] | None = None) -> World:
    """The World that torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) describes; rank 0 of 1 otherwise."""
    env = os.environ if env is None else env
    if not launched(env):
        return World()
    try:
        return World(rank=int(env["RANK"]), size=int(env["WORLD_SIZE"]), local_rank=int(env.get("LOCAL_RANK", 0)))
    except ValueError:
        raise ConfigError(f"torchrun's RANK/WORLD_SIZE/LOCAL_RANK must be whole numbers, got "
                          f"{env.get('RANK')!r}/{env.get('WORLD_SIZE')!r}/{env.get('LOCAL_RANK')!r}") from None


def check_launch(world: World, *, backend: str = "auto", device: str = "auto", batch_size: int | None = None,
                 pac: int = 1, cuda_devices: int | None = None) -> tuple[str, str]:
    """Refuse bad combinations up front with one line; returns the (backend, device) to use.

    nccl needs a CUDA GPU per local rank; the global batch must split evenly into shards that are whole packs.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    gpus = torch.cuda.device_count() if cuda_devices is None else cuda_devices
    if device == "auto":
        device = "cuda" if gpus > 0 and backend != "gloo" else "cpu"
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"under torchrun the device must be cpu or cuda, got {device!r}")
    if backend == "auto":
        backend = "nccl" if device == "cuda" else "gloo"
    if backend == "nccl" and gpus == 0:
        raise ConfigError("backend nccl needs CUDA GPUs and this machine has none; use --backend gloo (CPU)")
    if backend == "nccl" and device != "cuda":
        raise ConfigError("backend nccl works on CUDA tensors only; use --device cuda, or --backend gloo for cpu")
    check_cuda(device, gpus > 0)
    if device == "cuda" and world.local_rank >= gpus:
        raise ConfigError(f"local rank {world.local_rank} has no GPU of its own (this machine has {gpus}); "
                          f"use --nproc_per_node={gpus} or fewer")
    if batch_size is not None:
        if batch_size % world.size:
            raise ConfigError(f"the global batch size ({batch_size}) must be divisible by the number of "
                              f"processes ({world.size}); each rank trains on batch_size / {world.size}")
        if (batch_size // world.size) % pac:
            raise ConfigError(f"each rank's batch ({batch_size} / {world.size} = {batch_size // world.size}) "
                              f"must be a multiple of pac ({pac})")
    return backend, device


def init(world: World, *, backend: str, timeout_s: float = 120.0) -> World:
    """Join the process group (rank and rendezvous from torchrun's env); returns the World with its backend."""
    if not world.active:
        return World(backend=backend)
    if backend == "nccl":
        torch.cuda.set_device(world.local_rank)
    if not dist.is_initialized():
        # Measured on torch 2.10 and 2.14: when torch._dynamo is first imported after the group exists (the
        # first optimizer imports it lazily), destroy_process_group no longer frees the group, so gloo's
        # worker threads live on into interpreter exit, where one that frees a tensor aborts the rank
        # ("terminate called without an active exception", about 1 torchrun run in 8). Imported first,
        # shutdown() joins them (tests/gan/train/test_distributed.py counts the threads).
        importlib.import_module("torch._dynamo")  # not `import torch._dynamo`: that makes `torch` local here
        dist.init_process_group(backend=backend, rank=world.rank, world_size=world.size,
                                timeout=datetime.timedelta(seconds=timeout_s))
    return World(rank=world.rank, size=world.size, local_rank=world.local_rank, backend=backend)


def shutdown() -> None:
    """Leave the process group, if any."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def sync_batchnorm(net: nn.Module) -> nn.Module:
    """`net` with its batch norms synchronised across ranks (CUDA only: SyncBatchNorm refuses CPU tensors)."""
    return nn.SyncBatchNorm.convert_sync_batchnorm(net)


__all__ = ["BACKENDS", "World", "check_launch", "init", "launched", "shutdown", "sync_batchnorm",
           "world_from_env"]
