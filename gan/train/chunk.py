"""Training in chunks: the state goes in as CPU tensors, trains for a budget, and comes back as CPU tensors.

This is the unit of work a ZeroGPU Space runs inside a `@spaces.GPU` call (a forked worker with pickled
arguments and results); elsewhere the same function runs in-process. Three chunks of N steps give exactly
the weights of 3N steps in one piece. The dataset comes from the process's one dataset cache
(`gan.data.spec.cached_dataset`), which a forked worker inherits from the app.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import torch

from ..checkpoint import check_state
from ..data.spec import cached_dataset
from .trainer import Trainer


def to_cpu(obj: Any) -> Any:
    """A copy of nested dicts/lists/tuples with every tensor moved to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def train_chunk(state: dict[str, Any], *, seconds: float | None = None, steps: int | None = None,
                device: str = "auto", should_stop: Callable[[], bool] | None = None,
                ) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """Train the run in `state` for a wall-clock budget and/or a step count (or until `should_stop()`,
    checked between steps); return (CPU state, per-step stats)."""
    if seconds is None and steps is None:
        raise ValueError("give seconds or steps")
    check_state(state)
    cfg = state["train_config"]
    data = cached_dataset(cfg["dataset"], data_dir=cfg.get("data_dir"), seed=cfg.get("seed", 0),
                          image_size=cfg.get("image_size"))
    trainer = Trainer.from_state(state, data=data, device=device)
    stats: list[dict[str, float]] = []
    trainer.add_callback("on_step", lambda _t, s: stats.append(s))
    t0 = time.perf_counter()
    trainer.train(steps=steps, seconds=seconds, should_stop=should_stop)
    out = to_cpu(trainer.state_dict())
    out["chunk_seconds"] = time.perf_counter() - t0
    out.setdefault("train_config", {})["device"] = state["train_config"].get("device", "auto")
    return out, stats


__all__ = ["train_chunk", "to_cpu"]
