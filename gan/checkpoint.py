"""Self-describing checkpoints: one file holding configs, weights, optimizer states, step, RNG and history.

Written atomically (temp file + fsync + rename) and read only with `torch.load(..., weights_only=True)`,
so a file that smuggles code is refused and its code never runs.
"""
from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from typing import Any

import torch
from torch import nn

from .config import ConfigError, ModelConfig, TrainConfig, from_dict
from .models import build_models
from .trainer import CHECKPOINT_FORMAT, Trainer


class CheckpointError(ValueError):
    """The file is not a checkpoint we can use; the message says why."""


def save_checkpoint(trainer: Trainer, path: str, *, extra: dict[str, Any] | None = None) -> str:
    """Write the trainer's full state to `path` atomically; returns the path."""
    state = trainer.state_dict()
    if extra:
        state["extra"] = extra
    return save_state(state, path)


def save_state(state: dict[str, Any], path: str) -> str:
    """Atomically write a state dict: the old file stays intact until the new one is complete."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def remove_stale_temps(folder: str, *, older_than_s: float = 600.0) -> list[str]:
    """Delete half-written files that a process killed mid-save left in `folder` (`.tmp-*.pt`, `*.json.tmp`),
    once they are older than `older_than_s` (so a save in progress elsewhere is never touched); returns them."""
    import time

    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    cutoff = time.time() - older_than_s
    for name in names:
        if not ((name.startswith(".tmp-") and name.endswith(".pt")) or name.endswith(".json.tmp")):
            continue
        path = os.path.join(folder, name)
        try:
            if os.path.isfile(path) and os.path.getmtime(path) < cutoff:
                os.unlink(path)
                removed.append(path)
        except OSError:
            pass
    return removed


def load_state(path: str) -> dict[str, Any]:
    """Read and check a checkpoint file safely (weights only); raises CheckpointError with the reason."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"checkpoint {path!r} is empty")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"refused {os.path.basename(path)!r}: it holds objects that are not plain weights "
            f"(possibly code); it was not loaded. ({str(e).splitlines()[0][:200]})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(f"{os.path.basename(path)!r} is not a readable checkpoint (truncated or "
                              f"corrupt): {str(e).splitlines()[0][:200]}") from None
    return check_state(state, name=os.path.basename(path))


def check_state(state: Any, *, name: str = "checkpoint") -> dict[str, Any]:
    """Check that a loaded object is one of our checkpoints with a usable config."""
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{name!r} is not a checkpoint of this app (no {CHECKPOINT_FORMAT!r} marker)")
    for key in ("model_config", "train_config", "G", "step"):
        if key not in state:
            raise CheckpointError(f"{name!r} is incomplete: it has no {key!r}")
    try:
        model_config(state)
        from_dict(TrainConfig, dict(state["train_config"]))
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"{name!r} has a config this app cannot use: {e}") from None
    return state


def model_config(state: dict[str, Any]) -> ModelConfig:
    """Rebuild the ModelConfig stored in a checkpoint."""
    return from_dict(ModelConfig, dict(state["model_config"]))


def load_generator(state: dict[str, Any], *, ema: bool = True) -> nn.Module:
    """Rebuild G from a checkpoint alone (no dataset needed), in eval mode on the CPU."""
    g, _ = build_models(model_config(state))
    weights = state.get("G_ema") if ema and state.get("G_ema") is not None else state["G"]
    try:
        g.load_state_dict(weights)
    except (RuntimeError, KeyError, TypeError) as e:
        raise CheckpointError(f"the checkpoint's weights do not fit its model config: {str(e)[:200]}") from None
    return g.eval().requires_grad_(False)


def trainer_from_state(state: dict[str, Any], **overrides: Any) -> Trainer:
    """A Trainer that continues the checkpointed run exactly (overrides, e.g. device, apply to the config)."""
    values = {**dict(state["train_config"]), **overrides}
    cfg = from_dict(TrainConfig, values)
    trainer = Trainer(cfg, model_config=model_config(state))
    try:
        trainer.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"the checkpoint does not fit its own config: {str(e)[:200]}") from None
    return trainer


def load_trainer(path: str, **overrides: Any) -> Trainer:
    """Load a checkpoint file and return a Trainer ready to resume."""
    return trainer_from_state(load_state(path), **overrides)


def latest_checkpoint(folder: str) -> str | None:
    """The most recently modified .pt file in `folder`, or None."""
    if not os.path.isdir(folder):
        return None
    files = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".pt") and not f.startswith(".")]
    return max(files, key=os.path.getmtime) if files else None
