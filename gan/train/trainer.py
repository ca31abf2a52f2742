"""The trainer: one `step()` = one round of the model family's game, returning plain numbers.

It knows nothing of the model family (the family's `step` plays the game, gan/family.py) or of any UI:
side effects are callbacks (`trainer.add_callback("on_step", fn)`), and there are no threads here.
`Trainer.from_state(checkpoint_state)` is the one way to continue a saved run.
"""
from __future__ import annotations

import copy
import math
import time
from collections import defaultdict
from dataclasses import asdict
from typing import Any, Callable, Iterable

import torch
from torch import nn

from ..config import ModelConfig, TrainConfig, from_dict
from ..data.spec import dataset_spec, load_dataset
from ..errors import CheckpointError, ConfigError
from ..family import Family, build_nets, family_of, train_defaults
from ..losses import get_loss
from .budget import check_step_memory
from .compute import Compute, check_cuda
from .distributed import World, sync_batchnorm
from .history import History

CHECKPOINT_FORMAT = "gan-lab-checkpoint"
CHECKPOINT_VERSION = 1


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the weights were left as they were before that step."""


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    check_cuda(name, torch.cuda.is_available())
    return torch.device(name)


def lr_factor(step: int, decay_steps: int | None) -> float:
    """The learning-rate multiplier at `step`: 1, or with decay_steps (CycleGAN's schedule) 1 for the first
    half, then linearly down to 0 at decay_steps."""
    if not decay_steps:
        return 1.0
    half = decay_steps / 2
    return 1.0 if step < half else max(0.0, 1.0 - (step - half) / half)


class Trainer:
    """Owns a run's networks, their EMA copies, optimizers, batch streams, RNG and history.

    `world` (gan/train/distributed.py) makes it one rank of a torchrun job: each rank trains on its shard of the
    global batch and the updated nets' gradients are averaged. `stats_every` > 1 keeps the per-step numbers on
    the device and reads them back every that many steps (one read instead of ~6 per step; see `step`).
    `compute` (gan/train/compute.py) turns on bf16 autocast, channels_last and torch.compile for this process.
    """

    def __init__(self, cfg: TrainConfig, *, data: Any = None, model_config: ModelConfig | None = None,
                 history_points: int = 2000, world: World | None = None, stats_every: int = 1,
                 compute: Compute | None = None) -> None:
        cfg.validate()
        spec = dataset_spec(cfg.dataset, image_size=cfg.image_size)
        self.data = data if data is not None else load_dataset(
            cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed, image_size=cfg.image_size)
        model = cfg.model or (model_config.model if model_config is not None else None)
        cfg = cfg.resolved(train_defaults(spec, model, data=self.data))
        if self.data.n_classes == 0:
            cfg.conditional = False
        self.cfg = cfg
        self.family: Family = family_of(cfg.model)
        mc = model_config or ModelConfig(**self.family.model_config_fields(cfg, self.data))
        self.model_config = mc
        if cfg.batch_size % mc.pac:
            raise ConfigError(f"batch_size ({cfg.batch_size}) must be a multiple of pac ({mc.pac})")
        self.device = pick_device(cfg.device)
        check_step_memory(mc, cfg.batch_size, str(self.device))  # refuse a batch too large before building
        self.loss = get_loss(cfg.loss)
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG
            torch.manual_seed(cfg.seed)
            nets = build_nets(mc)
        self.nets: dict[str, nn.Module] = {k: v.to(self.device) for k, v in nets.items()}
        self.compute = compute or Compute()
        self.compute.check(self.nets, device=self.device)
        self.ema: dict[str, nn.Module] = {
            name: copy.deepcopy(self.nets[name]).eval().requires_grad_(False)
            for name in self.family.generators} if cfg.ema > 0 else {}
        self.world = world or World()
        if self.world.active and self.device.type == "cuda":  # SyncBatchNorm refuses CPU tensors (gloo)
            self.nets = {k: sync_batchnorm(v) for k, v in self.nets.items()}
        self.compute.apply(self.nets)  # after the EMA copies, which sample in float32 and are never compiled
        self._buffers = [b for net in self.nets.values() for b in net.buffers() if b.is_floating_point()]
        self.stats_every = max(1, int(stats_every))
        self._pending: list[tuple[int, dict[str, Any], list[tuple[str, Any, Any]]]] = []
        self._checks: list[tuple[str, Any, Any]] = []
        self._last: dict[str, float] = {}
        self.opts = self.family.optimizers(self)
        self._base_lr = {k: [g["lr"] for g in o.param_groups] for k, o in self.opts.items()}
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.streams = self.family.streams(self)
        self.step_count = 0
        self.history = History(history_points)
        self.metrics: dict[str, float] = {}
        # measured rows ({"step": ..., "js": ..., "frechet": ...}) that whoever scores the run keeps here (the app's
        # quality and theory monitors, scripts/make_examples.py), saved in checkpoints: a loaded run keeps its past
        self.rows: list[dict[str, float]] = []
        self.callbacks: dict[str, list[Callable[..., Any]]] = defaultdict(list)
        self._speed = 0.0
        self.fixed = self.family.fixed_inputs(seed=cfg.seed, mc=mc, kind=self.data.kind, data=self.data)
        self.joint_d = not any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                               for r, net in self.nets.items() if r.startswith("D") for m in net.modules())

    # ---- the classic family's names, kept for scripts written against them -------------------------
    @property
    def G(self) -> nn.Module:
        return self.nets["G"]

    @property
    def D(self) -> nn.Module:
        return self.nets["D"]

    @property
    def G_ema(self) -> nn.Module | None:
        return self.ema.get("G")

    @property
    def opt_g(self) -> torch.optim.Optimizer:
        return self.opts["g"]

    @property
    def opt_d(self) -> torch.optim.Optimizer:
        return self.opts["d"]

    @property
    def conditional(self) -> bool:
        return self.model_config.n_classes > 0

    @property
    def epoch(self) -> int:
        return next(iter(self.streams.values())).epoch

    def add_callback(self, event: str, fn: Callable[..., Any]) -> None:
        """Call `fn(trainer, stats)` on `event` ('on_step')."""
        self.callbacks[event].append(fn)

    # ---- training ----------------------------------------------------------------------------------
    def shard(self, x: torch.Tensor | None) -> torch.Tensor | None:
        """This rank's slice of a global batch (the whole batch in one process): (B, ...) -> (B / ranks, ...)."""
        return self.world.shard(x)

    def update(self, opt: str, loss: torch.Tensor, nets: Iterable[nn.Module], *,
               who: str) -> tuple[float | torch.Tensor, float | torch.Tensor]:
        """Backward `loss`, average the grads of `nets` (and only those) across ranks, refuse NaN/inf before
        any weight changes (TrainingDiverged), step optimizer `opt`; returns (loss, gradient norm of `nets`)
        as plain numbers, or as device scalars when stats are read lazily (stats_every > 1)."""
        o = self.opts[opt]
        o.zero_grad(set_to_none=True)
        with self.compute.full_precision(self.device):
            loss.backward()
        params = [p for net in nets for p in net.parameters() if p.grad is not None]
        value = loss.detach().float().clone()  # ()
        if self.world.active:  # one all-reduce: these grads and the loss, so every rank logs the global loss
            self.world.average([p.grad for p in params] + [value])
        grad = nn.utils.clip_grad_norm_(params, math.inf) if params else torch.zeros((), device=value.device)
        if self.stats_every > 1 and o.defaults.get("fused"):  # no host read: a non-finite step is skipped
            o.found_inf = (~(torch.isfinite(value) & torch.isfinite(grad))).float()  # on the device (fused Adam)
            self._checks.append((who, value, grad))
            o.step()
            return value, grad
        if getattr(o, "found_inf", None) is not None:
            o.found_inf = None
        value_f, grad_f = float(value), float(grad)
        if not math.isfinite(value_f) or not math.isfinite(grad_f):
            raise TrainingDiverged(f"{who} loss became {value_f} at step {self.step_count + 1}")
        o.step()
        return value_f, grad_f

    def step(self) -> dict[str, float]:
        """One round of the family's game; returns plain numbers (step, epoch, losses, images/s, ...)."""
        t0 = time.perf_counter()
        if self.cfg.decay_steps:
            f = lr_factor(self.step_count, self.cfg.decay_steps)
            for k, o in self.opts.items():
                for group, lr in zip(o.param_groups, self._base_lr[k]):
                    group["lr"] = lr * f
        with self.compute.autocast(self.device):
            stats = self.family.step(self)
        if self.world.active and self._buffers:  # batch-norm statistics (and w_avg) identical on every rank
            self.world.average(self._buffers)
        self._update_ema()
        self.step_count += 1
        speed = self.cfg.batch_size / max(time.perf_counter() - t0, 1e-9)
        self._speed = speed if self._speed == 0 else 0.9 * self._speed + 0.1 * speed
        if self.stats_every > 1:
            self._pending.append((self.step_count, {"epoch": self.epoch, **stats, "images_per_s": self._speed},
                                  self._checks))
            self._checks = []
            if len(self._pending) >= self.stats_every:
                self.flush_stats()
            stats = {"step": self.step_count, "epoch": self.epoch, **{k: self._last.get(k, math.nan) for k in stats},
                     "images_per_s": self._speed}  # the numbers of the last read
        else:
            stats = {"step": self.step_count, "epoch": self.epoch, **_numbers(stats), "images_per_s": self._speed}
            self.history.add(self.step_count, {k: v for k, v in stats.items() if k != "step"})
        for fn in self.callbacks["on_step"]:
            fn(self, stats)
        return stats

    def flush_stats(self) -> dict[str, float]:
        """Read the pending per-step numbers back in one transfer, add them to the history and raise
        TrainingDiverged for the first non-finite loss (its update and any later bad one were skipped on the
        device, so the weights are the last good ones); returns the latest numbers."""
        pending, self._pending = self._pending, []
        if not pending:
            return dict(self._last)
        keys = [[k for k, v in row.items() if isinstance(v, torch.Tensor)] for _, row, _ in pending]
        dev, f32 = self.device, torch.float32
        flat = [row[k].to(dev, f32).reshape(()) for (_, row, _), ks in zip(pending, keys) for k in ks]
        flat += [x.to(dev, f32).reshape(()) for _, _, checks in pending for _, v, g in checks for x in (v, g)]
        values = iter(torch.stack(flat).cpu().tolist() if flat else [])  # the one host read
        rows = [(step, {**row, **{k: next(values) for k in ks}}) for (step, row, _), ks in zip(pending, keys)]
        checks = [[(who, next(values), next(values)) for who, _, _ in c] for _, _, c in pending]
        for (step, row), step_checks in zip(rows, checks):
            for who, v, g in step_checks:
                if not math.isfinite(v) or not math.isfinite(g):
                    raise TrainingDiverged(f"{who} loss became {v} at step {step} (every update with non-finite "
                                           f"values was skipped, so the weights are the last good ones)")
            self.history.add(step, {k: float(v) for k, v in row.items()})
            self._last = {k: float(v) for k, v in row.items() if k not in ("epoch", "images_per_s")}
        return dict(self._last)

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.cfg.ema, (1 + self.step_count) / (10 + self.step_count))  # warm-up
        for name, ema in self.ema.items():
            net = self.nets[name]
            torch._foreach_lerp_(list(ema.parameters()), list(net.parameters()), 1.0 - decay)
            for be, b in zip(ema.buffers(), net.buffers()):
                be.copy_(b)

    def train(self, *, steps: int | None = None, seconds: float | None = None,
              should_stop: Callable[[], bool] | None = None, progress: Any = None) -> dict[str, float]:
        """Step until `steps` more steps, `seconds` of wall clock, or `should_stop()`; returns the last stats."""
        if steps is None and seconds is None:
            raise ValueError("give steps or seconds")
        t0, done, stats = time.perf_counter(), 0, {}
        while True:
            elapsed = time.perf_counter() - t0
            if (steps is not None and done >= steps) or (seconds is not None and elapsed >= seconds):
                break
            if should_stop is not None and should_stop():
                break
            stats = self.step()
            done += 1
            if progress is not None:
                progress(done, elapsed, stats)
        if self._pending:
            self.flush_stats()
            stats = {**stats, **self._last}
        return stats

    # ---- sampling ----------------------------------------------------------------------------------
    def sampling_nets(self) -> dict[str, nn.Module]:
        """The nets that sample, by role: the EMA copies when there are some."""
        return {name: self.ema.get(name, self.nets[name]) for name in self.family.generators}

    def sampler_module(self) -> nn.Module:
        """The main sampling generator (the EMA copy of G when there is one)."""
        return self.sampling_nets()[self.family.generators[0]]

    def frozen_nets(self) -> dict[str, nn.Module]:
        """Frozen CPU copies of the sampling nets, safe to use from other threads while training goes on."""
        return {k: copy.deepcopy(v).cpu().eval().requires_grad_(False) for k, v in self.sampling_nets().items()}

    def sample(self, n: int, *, seed: int | None = None, y: torch.Tensor | None = None, **kw: Any) -> torch.Tensor:
        """n samples on the CPU (images in [-1, 1], points in data coordinates); the training RNG is untouched."""
        seed = self.cfg.seed + self.step_count if seed is None else seed
        return self.family.sample(self.sampling_nets(), n, seed=seed, y=y, data=self.data, **kw)

    def fixed_samples(self) -> torch.Tensor:
        """Samples from the fixed inputs, for watching the same cells improve."""
        return self.family.watch(self.sampling_nets(), self.fixed)

    # ---- state -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the run exactly; plain containers of tensors and numbers."""
        self.flush_stats()  # the history is complete up to this step
        s: dict[str, Any] = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                             "model_config": self.model_config.to_dict(), "train_config": asdict(self.cfg)}
        for name, net in self.nets.items():
            s[name] = net.state_dict()
        for name in self.family.generators:
            s[f"{name}_ema"] = self.ema[name].state_dict() if name in self.ema else None
        for name, opt in self.opts.items():
            s[f"opt_{name}"] = opt.state_dict()
        for name, stream in self.streams.items():
            s[name] = stream.state_dict()
        s.update(step=self.step_count, rng=self.gen.get_state(), speed=self._speed,
                 history=self.history.state_dict(), metrics=dict(self.metrics), rows=[dict(r) for r in self.rows],
                 family_state=self.family.state_dict(self))
        return s

    def load_state_dict(self, s: dict[str, Any]) -> None:
        """Restore a state from `state_dict()`; the models must have the same config."""
        for name, net in self.nets.items():
            net.load_state_dict(s[name])
        for name, ema in self.ema.items():
            ema.load_state_dict(s[f"{name}_ema"] if s.get(f"{name}_ema") is not None else s[name])
        for name, opt in self.opts.items():
            if s.get(f"opt_{name}") is not None:  # a slim checkpoint (an example) has none: Adam starts afresh
                opt.load_state_dict(s[f"opt_{name}"])
        for name, stream in self.streams.items():
            if s.get(name) is not None:
                stream.load_state_dict(s[name])
        self.step_count = int(s["step"])
        self.gen.set_state(s["rng"])
        self._speed = float(s.get("speed", 0.0))
        self.history.load_state_dict(s["history"])
        self.metrics = dict(s.get("metrics", {}))
        self.rows[:] = [dict(r) for r in s.get("rows") or [] if isinstance(r, dict)]  # in place: a run may hold it
        self.family.load_state_dict(self, s.get("family_state") or {})

    @classmethod
    def from_state(cls, state: dict[str, Any], *, data: Any = None, world: World | None = None,
                   stats_every: int = 1, compute: Compute | None = None, **overrides: Any) -> "Trainer":
        """A Trainer that continues a checkpointed run exactly: the one way to rebuild one from a state
        (`overrides`, e.g. device, apply to its TrainConfig; `data` reuses an already loaded dataset; `world`
        `stats_every` and `compute` as in Trainer: a checkpoint of any world size or precision resumes in any other)."""
        cfg = from_dict(TrainConfig, {**dict(state["train_config"]), **overrides})
        mc = from_dict(ModelConfig, dict(state["model_config"]))
        trainer = cls(cfg, data=data, model_config=mc, world=world, stats_every=stats_every, compute=compute)
        try:
            trainer.load_state_dict(state)
        except (RuntimeError, KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"the checkpoint does not fit its own config: {str(e)[:200]}") from None
        return trainer


def _numbers(stats: dict[str, Any]) -> dict[str, float]:
    """A family's step stats as plain numbers (device scalars read back here)."""
    return {k: float(v) for k, v in stats.items()}


__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "Trainer", "TrainingDiverged", "lr_factor", "pick_device"]
