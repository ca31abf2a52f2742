"""Memory budget of one training step, checked before any training starts.

The models are built on PyTorch's "meta" device (shapes only, no memory), and one sample is pushed
through G and D there to count the activations a step keeps. A step needs roughly
    4 bytes x (4 x parameters  [weights, grads, two Adam moments]
               + batch_size x 3 x activations per sample  [G on z; D on real and fake, kept for backward])
A config over the budget is refused with a ConfigError saying what it would need and what is allowed.

The budget: GAN_MAX_STEP_MB if set, else half the memory available now (CPU: MemAvailable; CUDA: the
device's total memory).
"""
from __future__ import annotations

import os
from typing import Any

import torch

from .. import settings
from ..config import ModelConfig, TrainConfig
from ..data.spec import dataset_spec
from ..errors import ConfigError
from ..family import build_nets, family_of, train_defaults

STEP_FACTOR = 3  # G's batch, then D on real and on fake, all kept for backward


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def budget_bytes(device: str = "cpu") -> int:
    """The most memory one training step may need on `device`."""
    mb = settings.get("GAN_MAX_STEP_MB")
    if mb:
        return int(mb * 2**20)
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_properties(0).total_memory // 2
    return _available_bytes() // 2


def estimate_step_bytes(mc: ModelConfig, batch_size: int) -> int:
    """Estimated peak bytes of one training step of the models `mc` describes at `batch_size`."""
    with torch.device("meta"):
        nets = build_nets(mc)
    params = sum(p.numel() for net in nets.values() for p in net.parameters())
    g, d = nets.get("G"), nets.get("D")
    acts = [0]

    def hook(_m: Any, _i: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            acts[0] += out.numel()

    handles = [m.register_forward_hook(hook) for net in nets.values() for m in net.modules() if not list(m.children())]
    try:
        if g is None or d is None:
            raise NotImplementedError("no single G and D to push a sample through")
        with torch.no_grad():
            z = torch.zeros(2, mc.z_dim, device="meta")
            y = torch.zeros(2, dtype=torch.long, device="meta") if mc.n_classes else None
            x = g(z, y) if y is not None else g(z)
            d(x, y) if y is not None else d(x)
        per_sample = acts[0] / 2
    except Exception:  # noqa: BLE001 - a model the meta device cannot run: fall back to a rough count
        per_sample = 8 * mc.width * max(1, int(torch.tensor(mc.data_shape).prod()))
    finally:
        for h in handles:
            h.remove()
    return int(4 * (4 * params + batch_size * STEP_FACTOR * per_sample))


def check_step_memory(mc: ModelConfig, batch_size: int, device: str = "cpu", *, limit: int | None = None) -> int:
    """Raise ConfigError when a step would need more than the budget; returns the estimate."""
    need = estimate_step_bytes(mc, batch_size)
    allowed = budget_bytes(device) if limit is None else limit
    if need > allowed:
        raise ConfigError(
            f"batch_size {batch_size} with width {mc.width} on {tuple(mc.data_shape)} data needs about "
            f"{need / 2**20:,.0f} MiB per training step; this server allows {allowed / 2**20:,.0f} MiB. "
            f"Use a smaller batch size or width.")
    return need


def model_bytes(mc: ModelConfig) -> int:
    """Bytes of all of a model's networks (weights and buffers, float32), counted on the meta device."""
    with torch.device("meta"):
        nets = build_nets(mc)
    return 4 * sum(t.numel() for net in nets.values() for t in (*net.parameters(), *net.buffers()))


def check_model_memory(mc: ModelConfig, *, what: str = "this model", limit: int | None = None) -> int:
    """Raise ConfigError when building `mc`'s networks would take more than GAN_MAX_MODEL_MB (default: a
    quarter of the free memory); checked before a checkpoint or an export from outside is built. Returns the
    bytes."""
    need = model_bytes(mc)
    mb = settings.get("GAN_MAX_MODEL_MB")
    allowed = limit if limit is not None else int(mb * 2**20) if mb else _available_bytes() // 4
    if need > allowed:
        raise ConfigError(f"{what} needs about {need / 2**20:,.0f} MiB of weights ({mc.model}, width {mc.width}, "
                          f"data {list(mc.data_shape)}); this server loads at most {allowed / 2**20:,.0f} MiB")
    return need


def check_train_config(cfg: TrainConfig, *, limit: int | None = None) -> int:
    """The memory check for a TrainConfig before its dataset is loaded (the app runs it at Train): shapes
    and defaults come from the dataset's spec (folders: the worst case, colour)."""
    spec = dataset_spec(cfg.dataset, image_size=cfg.image_size)
    resolved = cfg.resolved(train_defaults(spec, cfg.model))
    if not spec.n_classes:
        resolved.conditional = False
    try:
        mc = ModelConfig(**family_of(resolved.model).model_config_fields(resolved, spec))
    except (ConfigError, AttributeError):
        return 0  # a model/data mismatch is reported by the Trainer with its own message
    return check_step_memory(mc, resolved.batch_size, cfg.device, limit=limit)


__all__ = ["budget_bytes", "check_model_memory", "check_step_memory", "check_train_config", "estimate_step_bytes",
           "model_bytes"]
