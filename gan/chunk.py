"""Training in chunks: the state goes in as CPU tensors, trains for a budget, and comes back as CPU tensors.

This is the unit of work a ZeroGPU Space runs inside a `@spaces.GPU` call (a forked worker with pickled
arguments and results); elsewhere the same function runs in-process. Three chunks of N steps give exactly
the weights of 3N steps in one piece.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import torch

from .checkpoint import check_state, model_config, trainer_from_state
from .config import TrainConfig, from_dict
from .datasets import Dataset, load_dataset
from .trainer import Trainer

_DATA: dict[tuple, Dataset] = {}  # loaded once per process; a forked worker inherits the parent's copy


def cached_dataset(cfg: TrainConfig) -> Dataset:
    """The dataset for `cfg`, loaded at most once per process."""
    key = (cfg.dataset, cfg.data_dir, cfg.seed, cfg.image_size)
    if key not in _DATA:
        _DATA[key] = load_dataset(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed, image_size=cfg.image_size)
    return _DATA[key]


def to_cpu(obj: Any) -> Any:
    """A copy of nested dicts/lists/tuples with every tensor moved to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def trainer_for_state(state: dict[str, Any], *, device: str = "cpu") -> Trainer:
    """Rebuild a Trainer from a state dict, reusing the process's cached dataset."""
    check_state(state)
    cfg = from_dict(TrainConfig, {**dict(state["train_config"]), "device": device})
    trainer = Trainer(cfg, data=cached_dataset(cfg), model_config=model_config(state))
    trainer.load_state_dict(state)
    return trainer


def train_chunk(state: dict[str, Any], *, seconds: float | None = None, steps: int | None = None,
                device: str = "auto", should_stop: Callable[[], bool] | None = None,
                ) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """Train the run in `state` for a wall-clock budget and/or a step count (or until `should_stop()`,
    checked between steps); return (CPU state, per-step stats)."""
    if seconds is None and steps is None:
        raise ValueError("give seconds or steps")
    trainer = trainer_for_state(state, device=device)
    stats: list[dict[str, float]] = []
    trainer.add_callback("on_step", lambda _t, s: stats.append(s))
    t0 = time.perf_counter()
    trainer.train(steps=steps, seconds=seconds, should_stop=should_stop)
    out = to_cpu(trainer.state_dict())
    out["chunk_seconds"] = time.perf_counter() - t0
    out.setdefault("train_config", {})["device"] = state["train_config"].get("device", "auto")
    return out, stats


__all__ = ["train_chunk", "trainer_for_state", "cached_dataset", "to_cpu", "trainer_from_state"]
