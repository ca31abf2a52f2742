"""How a run computes, not what it learns: bf16 autocast, channels_last and torch.compile.

These are speed settings of one process (like the device and the thread count), so they are not part of
TrainConfig and not stored in checkpoints: a run trained in bf16 on a GPU resumes in float32 on a CPU, and the
other way round. They are meant for CUDA, where they pay (`bench/bench_step_sync.py --device cuda` measures
them); on a CPU they run (so they are tested without a GPU), and whether they pay there depends on the processor.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, ContextManager

import torch
from torch import nn

from ..errors import ConfigError

PRECISIONS = ("fp32", "bf16")
ZEROGPU_ENV = "SPACES_ZERO_GPU"  # set on a ZeroGPU Space (demo/runs/zerogpu.py reads the same variable)


@dataclass(frozen=True)
class Compute:
    """bf16 autocast (`precision`), channels_last memory format for convolutional nets, torch.compile."""

    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False

    def check(self, nets: dict[str, nn.Module], *, device: torch.device) -> None:
        """Refuse, in one line, a setting these nets or this machine cannot take."""
        if self.precision not in PRECISIONS:
            raise ConfigError(f"unknown precision {self.precision!r}; choose from {', '.join(PRECISIONS)}")
        if self.precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError("--precision bf16 needs a GPU with bfloat16 support (Ampere or newer); use fp32")
        if self.channels_last and not any(p.ndim == 4 for net in nets.values() for p in net.parameters()):
            raise ConfigError("--channels-last is for convolutional models (dcgan, stylegan, cyclegan); "
                              "this model has no convolutions")
        if self.compile and os.environ.get(ZEROGPU_ENV):
            raise ConfigError("--compile is off on ZeroGPU, which does not support torch.compile")

    def apply(self, nets: dict[str, nn.Module]) -> None:
        """Put the training nets in channels_last and compile them, in place (state_dict keys unchanged)."""
        for net in nets.values():
            if self.channels_last:
                net.to(memory_format=torch.channels_last)
            if self.compile:
                net.compile()

    def autocast(self, device: torch.device) -> ContextManager[Any]:
        """The context a training step's forward passes run in: bf16 autocast, or nothing."""
        if self.precision == "bf16":
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def full_precision(self, device: torch.device) -> ContextManager[Any]:
        """The context a backward pass runs in: autocast off (its ops follow the forward's dtypes)."""
        if self.precision == "bf16":
            return torch.autocast(device_type=device.type, enabled=False)
        return contextlib.nullcontext()


def check_cuda(device: str, available: bool) -> None:
    """Refuse device 'cuda', in one line, where no CUDA GPU is (the trainer's pick_device and check_launch)."""
    if device == "cuda" and not available:
        raise ConfigError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu")


__all__ = ["PRECISIONS", "Compute", "ZEROGPU_ENV", "check_cuda"]
