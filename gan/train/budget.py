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
import time
from typing import Any

import torch

from .. import settings
from ..config import ModelConfig, TrainConfig
from ..data.spec import dataset_spec
from ..errors import ConfigError
from ..family import build_nets, family_of, train_defaults

STEP_FACTOR = 3  # G's batch, then D on real and on fake, all kept for backward
STEP_PASSES = 1.5  # a step's cost in forward-and-backward passes of G and D (measured: 1-2 on CPU)


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


def estimate_step_seconds(mc: ModelConfig, batch_size: int, *, probe: int = 256) -> float:
    """Roughly how long one training step of `mc` at `batch_size` takes on this machine's CPU: a forward and
    backward pass of the nets on random inputs at a small batch (at most `probe`), timed after a warm-up and
    scaled to the batch (a step runs about STEP_PASSES such passes: D's update, then G's). For a notice before a run
    that would crawl, not a benchmark."""
    n = max(mc.pac, min(int(batch_size), probe) // mc.pac * mc.pac)
    nets = build_nets(mc)

    def once() -> None:
        if "G" in nets and "D" in nets:
            y = torch.randint(0, mc.n_classes, (n,)) if mc.n_classes else None
            z = torch.randn(n, mc.z_dim)
            x = nets["G"](z, y) if y is not None else nets["G"](z)
            out = nets["D"](x, y) if y is not None else nets["D"](x)
        else:  # CycleGAN: both translations and both judges
            a, b = torch.randn(n, *mc.data_shape), torch.randn(n, *mc.data_shape_b)
            fb, fa = nets["G_ab"](a), nets["G_ba"](b)
            out = torch.cat([nets["D_b"](fb.reshape(n // mc.pac, -1, *fb.shape[2:])).flatten(),
                             nets["D_a"](fa.reshape(n // mc.pac, -1, *fa.shape[2:])).flatten()])
        out.float().mean().backward()

    once()  # warm-up: first-call allocations
    took = []
    for _ in range(2):  # the faster of two: a busy machine's hiccups only ever add time
        t0 = time.perf_counter()
        once()
        took.append(time.perf_counter() - t0)
    return STEP_PASSES * min(took) * batch_size / n


def check_train_config(cfg: TrainConfig, *, limit: int | None = None) -> int:
    """The memory check for a TrainConfig before its dataset is loaded (the app runs it at Train): shapes
    and defaults come from the dataset's spec (folders: the worst case, colour)."""
    planned = planned_model(cfg)
    if planned is None:
        return 0  # a model/data mismatch is reported by the Trainer with its own message
    mc, resolved = planned
    return check_step_memory(mc, resolved.batch_size, cfg.device, limit=limit)


def planned_model(cfg: TrainConfig) -> tuple[ModelConfig, TrainConfig] | None:
    """The ModelConfig and resolved TrainConfig a run of `cfg` will build, from the dataset's spec alone (no data
    loaded; folders: the worst case, colour), or None when they cannot be told before the data is loaded."""
    spec = dataset_spec(cfg.dataset, image_size=cfg.image_size)
    resolved = cfg.resolved(train_defaults(spec, cfg.model))
    if not spec.n_classes:
        resolved.conditional = False
    try:
        return ModelConfig(**family_of(resolved.model).model_config_fields(resolved, spec)), resolved
    except (ConfigError, AttributeError):
        return None


__all__ = ["budget_bytes", "check_model_memory", "check_step_memory", "check_train_config", "estimate_step_bytes",
           "estimate_step_seconds", "planned_model",
           "model_bytes"]
