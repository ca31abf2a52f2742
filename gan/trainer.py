"""The trainer: one `step()` = one D update and one G update, returning plain numbers.

It knows nothing of the model family or of any UI: side effects are callbacks
(`trainer.add_callback("on_step", fn)`), and there are no threads here.
"""
from __future__ import annotations

import copy
import math
import os
import time
from collections import defaultdict
from dataclasses import asdict
from typing import Any, Callable

import torch
from torch import nn

from .config import ConfigError, ModelConfig, TrainConfig
from .datasets import BatchStream, Dataset, default_train_settings, load_dataset
from .history import History
from .losses import get_loss, gradient_penalty, r1_penalty
from .models import build_models

CHECKPOINT_FORMAT = "gan-lab-checkpoint"
CHECKPOINT_VERSION = 1


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the weights were left as they were before that step."""


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu")
    return torch.device(name)


R1_SAMPLES = 128  # real samples per step that the R1 penalty looks at


def default_threads(kind: str) -> int:
    """CPU threads that train fastest: 1 for points (tiny ops), half the cores (at most 8) for images.

    Intra-op threads spin while they wait, so on a small or shared machine (2 vCPUs, a page to serve)
    more threads make every step several times slower; one thread per two cores avoids that.
    """
    if kind != "image":
        return 1
    return max(1, min((os.cpu_count() or 2) // 2, 8))


def _adam_impl(device: torch.device) -> dict[str, bool]:
    """The fused Adam kernel (one op per step instead of dozens): fewer tiny ops is what a CPU step lacks."""
    return {"fused": True} if device.type in ("cpu", "cuda") else {"foreach": True}


def model_config_for(cfg: TrainConfig, data: Dataset) -> ModelConfig:
    """The ModelConfig that a resolved TrainConfig implies for `data`."""
    return ModelConfig(model=cfg.model, data_shape=data.shape, z_dim=cfg.z_dim,
                       n_classes=data.n_classes if cfg.conditional else 0, width=cfg.width,
                       out_scale=data.scale if data.kind != "image" else 1.0,
                       pac=cfg.pac if cfg.model != "dcgan" else 1)


class Trainer:
    """Owns G, D, the EMA copy of G, both optimizers, the batch stream and the RNG of one run."""

    def __init__(self, cfg: TrainConfig, *, data: Dataset | None = None,
                 model_config: ModelConfig | None = None, history_points: int = 2000) -> None:
        cfg.validate()
        self.data = data if data is not None else load_dataset(
            cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed, image_size=cfg.image_size)
        cfg = cfg.resolved(default_train_settings(self.data))
        if self.data.n_classes == 0:
            cfg.conditional = False
        self.cfg = cfg
        self.model_config = model_config or model_config_for(cfg, self.data)
        if cfg.batch_size % self.model_config.pac:
            raise ConfigError(f"batch_size ({cfg.batch_size}) must be a multiple of pac ({self.model_config.pac})")
        self.device = pick_device(cfg.device)
        from .budget import check_step_memory  # refuse a batch too large for memory before building

        check_step_memory(self.model_config, cfg.batch_size, str(self.device))
        self.loss = get_loss(cfg.loss)
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG
            torch.manual_seed(cfg.seed)
            g, d = build_models(self.model_config)
        self.G, self.D = g.to(self.device), d.to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if cfg.ema > 0 else None
        lr_d = cfg.lr_d if cfg.lr_d is not None else cfg.lr * cfg.lr_d_mult
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **_adam_impl(self.device))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr_d, betas=(cfg.beta1, cfg.beta2), **_adam_impl(self.device))
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.stream = BatchStream(self.data, cfg.batch_size)
        self.step_count = 0
        self.history = History(history_points)
        self.metrics: dict[str, float] = {}
        self.callbacks: dict[str, list[Callable[..., Any]]] = defaultdict(list)
        self._speed = 0.0
        self.fixed_z, self.fixed_y = self._fixed_noise(cfg.seed)
        self._d_packed = (lambda x, y: self.D(x, y, packed=True)) if self.model_config.pac > 1 else self.D
        self._joint_d = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.D.modules())

    # ---- set-up helpers --------------------------------------------------------------------
    @property
    def conditional(self) -> bool:
        return self.model_config.n_classes > 0

    def _fixed_noise(self, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Noise for the watched grid: 10 per class for conditional models, else 64 (1000 for points)."""
        g = torch.Generator().manual_seed(seed + 12345)
        if self.conditional:
            k = self.model_config.n_classes
            per = 10 if k <= 10 else 1
            y = torch.arange(k).repeat_interleave(per)  # row r = class r
            return torch.randn(len(y), self.model_config.z_dim, generator=g), y
        n = 64 if self.data.kind == "image" else 1000
        return torch.randn(n, self.model_config.z_dim, generator=g), None

    def add_callback(self, event: str, fn: Callable[..., Any]) -> None:
        """Call `fn(trainer, stats)` on `event` ('on_step')."""
        self.callbacks[event].append(fn)

    def _fire(self, event: str, *args: Any) -> None:
        for fn in self.callbacks[event]:
            fn(self, *args)

    # ---- training ----------------------------------------------------------------------------
    def step(self) -> dict[str, float]:
        """One D update then one G update on the same G(z); returns plain numbers."""
        t0 = time.perf_counter()
        dev, cfg = self.device, self.cfg
        x, y = self.stream.next(self.gen)
        x = x.to(dev, non_blocking=True)
        y = y.to(dev) if (y is not None and self.conditional) else None
        z = torch.randn(x.shape[0], self.model_config.z_dim, generator=self.gen).to(dev)
        fake = self.G(z, y)  # (B, *shape); reused for the G step, never generated twice
        D = self._d_packed

        self.D.requires_grad_(True)
        if self._joint_d:  # one D pass over real and fake: fewer ops, same result (D has no batch norm)
            both = D(torch.cat([x, fake.detach()]), None if y is None else torch.cat([y, y]))
            d_real, d_fake = both.chunk(2)  # (B,), (B,) (or B // pac each)
        else:
            d_real, d_fake = D(x, y), D(fake.detach(), y)
        d_loss = self.loss.d(d_real, d_fake)
        if self.loss.penalty:
            d_loss = d_loss + cfg.gp_weight * gradient_penalty(D, x, fake.detach(), y, generator=self.gen)
        if cfg.r1 > 0:  # on at most R1_SAMPLES real samples: the double backward is the costly part
            n = min(x.shape[0], R1_SAMPLES * self.model_config.pac)
            d_loss = d_loss + 0.5 * cfg.r1 * r1_penalty(D, x[:n], None if y is None else y[:n])
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        d_grad = float(nn.utils.clip_grad_norm_(self.D.parameters(), math.inf))
        d_loss_v = float(d_loss.detach())
        if not math.isfinite(d_loss_v) or not math.isfinite(d_grad):
            raise TrainingDiverged(f"D loss became {d_loss_v} at step {self.step_count + 1}")
        self.opt_d.step()
        if self.loss.clip:
            with torch.no_grad():
                for p in self.D.parameters():
                    p.clamp_(-cfg.clip, cfg.clip)

        self.D.requires_grad_(False)  # no weight grads for D during G's step
        g_loss = self.loss.g(D(fake, y))
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.D.requires_grad_(True)
        g_grad = float(nn.utils.clip_grad_norm_(self.G.parameters(), math.inf))
        g_loss_v = float(g_loss.detach())
        if not math.isfinite(g_loss_v) or not math.isfinite(g_grad):
            raise TrainingDiverged(f"G loss became {g_loss_v} at step {self.step_count + 1}")
        self.opt_g.step()
        self._update_ema()
        self.step_count += 1

        dt = max(time.perf_counter() - t0, 1e-9)
        speed = x.shape[0] / dt
        self._speed = speed if self._speed == 0 else 0.9 * self._speed + 0.1 * speed
        stats = {
            "step": self.step_count, "epoch": self.stream.epoch,
            "d_loss": d_loss_v, "g_loss": g_loss_v,
            "d_real": float(torch.sigmoid(d_real.detach()).mean()),
            "d_fake": float(torch.sigmoid(d_fake.detach()).mean()),
            "d_grad_norm": d_grad, "g_grad_norm": g_grad, "images_per_s": self._speed,
        }
        self.history.add(self.step_count, {k: v for k, v in stats.items() if k not in ("step",)})
        self._fire("on_step", stats)
        return stats

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.G_ema is None:
            return
        decay = min(self.cfg.ema, (1 + self.step_count) / (10 + self.step_count))  # warm-up
        ema_p, p = list(self.G_ema.parameters()), list(self.G.parameters())
        torch._foreach_lerp_(ema_p, p, 1.0 - decay)
        for be, b in zip(self.G_ema.buffers(), self.G.buffers()):
            be.copy_(b)

    def train(self, *, steps: int | None = None, seconds: float | None = None,
              should_stop: Callable[[], bool] | None = None, progress: Any = None,
              anneal: float = 0.0) -> dict[str, float]:
        """Step until `steps` more steps, `seconds` of wall clock, or `should_stop()`; returns the last stats.

        anneal > 0 lowers both learning rates linearly to 10% over the last `anneal` fraction of the budget
        (steps or seconds), which sharpens the final samples; the base rates are restored afterwards.
        """
        if steps is None and seconds is None:
            raise ValueError("give steps or seconds")
        base = [[g["lr"] for g in opt.param_groups] for opt in (self.opt_g, self.opt_d)]
        t0, done, stats = time.perf_counter(), 0, {}
        try:
            while True:
                if steps is not None and done >= steps:
                    break
                elapsed = time.perf_counter() - t0
                if seconds is not None and elapsed >= seconds:
                    break
                if should_stop is not None and should_stop():
                    break
                if anneal > 0:
                    frac = done / steps if steps is not None else elapsed / seconds  # budget used, 0..1
                    self._scale_lr(base, lr_factor(frac, anneal))
                stats = self.step()
                done += 1
                if progress is not None:
                    progress(done, elapsed, stats)
        finally:
            self._scale_lr(base, 1.0)
        return stats

    def _scale_lr(self, base: list[list[float]], factor: float) -> None:
        for opt, lrs in zip((self.opt_g, self.opt_d), base):
            for group, lr in zip(opt.param_groups, lrs):
                group["lr"] = lr * factor

    # ---- sampling ---------------------------------------------------------------------------
    def sampler_module(self) -> nn.Module:
        """The generator used for samples: the EMA copy when there is one."""
        return self.G_ema if self.G_ema is not None else self.G

    def snapshot_generator(self) -> nn.Module:
        """A frozen CPU copy of the sampling generator, safe to use while training goes on."""
        g = copy.deepcopy(self.sampler_module()).cpu().eval().requires_grad_(False)
        return g

    @torch.no_grad()
    def sample(self, n: int, *, seed: int | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        """n samples in data coordinates on the CPU, (n, *shape); balanced classes for conditional models."""
        g = torch.Generator().manual_seed(seed) if seed is not None else self.gen
        z = torch.randn(n, self.model_config.z_dim, generator=g)
        if self.conditional and y is None:
            y = torch.arange(n) % self.model_config.n_classes
        return generate(self.sampler_module(), z, y)

    @torch.no_grad()
    def fixed_samples(self) -> torch.Tensor:
        """Samples from the fixed noise, for watching the same cells improve."""
        return generate(self.sampler_module(), self.fixed_z, self.fixed_y)

    # ---- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the run exactly; plain containers of tensors and numbers."""
        return {
            "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
            "model_config": {**asdict(self.model_config), "data_shape": list(self.model_config.data_shape)},
            "train_config": asdict(self.cfg),
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "step": self.step_count, "stream": self.stream.state_dict(),
            "rng": self.gen.get_state(), "speed": self._speed,
            "history": self.history.state_dict(), "metrics": dict(self.metrics),
        }

    def load_state_dict(self, s: dict[str, Any]) -> None:
        """Restore a state from `state_dict()`; the models must have the same config."""
        self.G.load_state_dict(s["G"])
        self.D.load_state_dict(s["D"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(s["G_ema"] if s.get("G_ema") is not None else s["G"])
        self.opt_g.load_state_dict(s["opt_g"])
        self.opt_d.load_state_dict(s["opt_d"])
        self.step_count = int(s["step"])
        self.stream.load_state_dict(s["stream"])
        self.gen.set_state(s["rng"])
        self._speed = float(s.get("speed", 0.0))
        self.history.load_state_dict(s["history"])
        self.metrics = dict(s.get("metrics", {}))


def lr_factor(frac: float, anneal: float, *, floor: float = 0.1) -> float:
    """1 until the last `anneal` fraction of the budget, then linearly down to `floor` at the end."""
    start = 1.0 - anneal
    if frac <= start:
        return 1.0
    return max(floor, 1.0 - (1.0 - floor) * (frac - start) / anneal)


@torch.no_grad()
def generate(g: nn.Module, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Run generator `g` in eval mode on z (and labels y) and return CPU float32 samples."""
    was_training = g.training
    g.eval()
    dev = next(g.parameters()).device
    out = g(z.to(dev), None if y is None else y.to(dev)).float().cpu()
    g.train(was_training)
    return out
