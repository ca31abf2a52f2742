"""The family seam: how a kind of GAN plugs into the trainer, checkpoints, CLI and app.

A model family declares
- its networks: the roles its models build (`roles`), which of them sample (`generators`, with EMA copies)
  and their optimizers (`optimizers`);
- its training step, the game (`step`), which gets the Trainer and returns plain numbers;
- what "sample" means for it (`sample`, `watch` for the fixed-noise grid);
- which Explore views the app offers for it (`explore`) and which loss charts it draws (`charts`).

The trainer, checkpoints, CLI and app only ever talk to a model through its family. Here: the base class, the
model specs and `build_nets`; each family (gan/classic/, gan/stylegan/, gan/cyclegan/) registers its own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

import torch
from torch import nn

from .config import ModelConfig, TrainConfig
from .data.spec import BatchStream, DatasetSpec, dataset_spec, spec_defaults
from .errors import ConfigError, DatasetError
from .losses import Loss, r1_penalty
from .registry import FAMILIES, MODELS

Tensor = torch.Tensor


class StepContext(Protocol):
    """What a family's step may use of the trainer (gan/train/trainer.py implements it)."""

    cfg: TrainConfig
    model_config: ModelConfig
    data: Any
    device: torch.device
    nets: dict[str, nn.Module]
    opts: dict[str, torch.optim.Optimizer]
    streams: dict[str, BatchStream]
    loss: Loss
    gen: torch.Generator
    step_count: int
    joint_d: bool

    def update(self, opt: str, loss: Tensor, nets: Iterable[nn.Module], *,
               who: str) -> tuple[float | Tensor, float | Tensor]:
        """Backward, average `nets`' grads across ranks, check for NaN/inf (raising before any weight changes),
        step `opt`; (loss, grad norm) as numbers or device scalars."""
        ...

    def shard(self, x: Tensor | None) -> Tensor | None:
        """This rank's slice of a global batch along dim 0 (the whole batch in one process)."""
        ...
R1_SAMPLES = 128  # real samples per step that the R1 / R2 penalties look at


def adam(params: Any, *, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Adam with the fused kernel on CPU/CUDA (one op per step instead of dozens: what a CPU step lacks)."""
    impl = {"fused": True} if device.type in ("cpu", "cuda") else {"foreach": True}
    return torch.optim.Adam(params, lr=lr, betas=betas, **impl)


class Family:
    """Base class of a model family; subclasses override what differs from the classic G-vs-D game."""

    name = ""
    roles: tuple[str, ...] = ("G", "D")
    generators: tuple[str, ...] = ("G",)  # the nets that sample; each gets an EMA copy when cfg.ema > 0
    explore: tuple[str, ...] = ()  # Explore views the app offers: "latent", "interpolate", "mixing", ...
    charts: dict[str, dict[str, str]] = {}  # chart title -> {stats key: series name}
    defaults: dict[str, dict[str, Any]] = {}  # data kind -> training defaults over the dataset's
    latent: str | None = "z"  # the space gan.restore searches to invert G: "z", "w" (StyleGAN), None (no latent)

    # ---- networks and optimizers ------------------------------------------------------------------
    def optimizers(self, t: StepContext) -> dict[str, torch.optim.Optimizer]:
        """One Adam per role group: "g" for the generators, "d" for the discriminators."""
        cfg = t.cfg
        lr_d = cfg.lr_d if cfg.lr_d is not None else cfg.lr * cfg.lr_d_mult
        gens = [p for r in self.roles if r.startswith("G") for p in t.nets[r].parameters()]
        discs = [p for r in self.roles if r.startswith("D") for p in t.nets[r].parameters()]
        betas = (cfg.beta1, cfg.beta2)
        return {"g": adam(gens, lr=cfg.lr, betas=betas, device=t.device),
                "d": adam(discs, lr=lr_d, betas=betas, device=t.device)}

    def streams(self, t: StepContext) -> dict[str, BatchStream]:
        """The batch streams a step draws from (their positions are checkpointed)."""
        return {"stream": BatchStream(t.data, t.cfg.batch_size)}

    # ---- the game ---------------------------------------------------------------------------------
    def step(self, t: StepContext) -> dict[str, float | Tensor]:
        """One round of the game on this rank's shard of the global batch (`t.shard`); returns plain numbers
        or 0-dim device tensors (at least d_loss and g_loss), which the trainer reads back."""
        raise NotImplementedError

    def state_dict(self, t: StepContext) -> dict[str, Any]:
        """Extra state the family keeps between steps (e.g. CycleGAN's pools), for checkpoints."""
        return {}

    def load_state_dict(self, t: StepContext, state: dict[str, Any]) -> None:
        """Restore `state_dict`'s result."""

    # ---- sampling -----------------------------------------------------------------------------------
    def fixed_inputs(self, *, seed: int, mc: ModelConfig, kind: str, data: Any = None) -> dict[str, Tensor | None]:
        """The inputs of the watched grid, drawn once per run from its seed (`data` only if a family needs it)."""
        g = torch.Generator().manual_seed(seed + 12345)
        if mc.n_classes:
            per = 10 if mc.n_classes <= 10 else 1
            y = torch.arange(mc.n_classes).repeat_interleave(per)  # row r = class r
            return {"z": torch.randn(len(y), mc.z_dim, generator=g), "y": y}
        n = 64 if kind == "image" else 1000
        return {"z": torch.randn(n, mc.z_dim, generator=g), "y": None}

    def watch(self, nets: dict[str, nn.Module], fixed: dict[str, Tensor | None]) -> Tensor:
        """The watched samples from the fixed inputs: images (N, C, H, W) or points (N, D)."""
        return generate(nets["G"], fixed["z"], fixed.get("y"))

    def watch_columns(self, mc: Any) -> int:
        """Columns of the watched grid."""
        return 10 if mc.n_classes else 8

    def sample(self, nets: dict[str, nn.Module], n: int, *, seed: int, y: Tensor | None = None,
               **_: Any) -> Tensor:
        """n samples from the sampling nets: images in [-1, 1] or points in data coordinates (CPU)."""
        g = nets["G"]
        mc = g.cfg
        z = torch.randn(n, mc.z_dim, generator=torch.Generator().manual_seed(int(seed)))
        if mc.n_classes and y is None:
            y = torch.arange(n) % mc.n_classes
        return generate(g, z, y)

    def model_config_fields(self, cfg: Any, data: Any) -> dict[str, Any]:
        """ModelConfig fields implied by a resolved TrainConfig and its dataset."""
        return dict(model=cfg.model, data_shape=data.shape, z_dim=cfg.z_dim,
                    n_classes=data.n_classes if cfg.conditional else 0, width=cfg.width,
                    out_scale=data.scale if data.kind == "points" else 1.0, pac=cfg.pac)


@torch.no_grad()
def generate(g: nn.Module, z: Tensor, y: Tensor | None = None, **kw: Any) -> Tensor:
    """Run generator `g` in eval mode on z (and labels y) and return CPU float32 samples."""
    was_training = g.training
    g.eval()
    dev = next(g.parameters()).device
    out = g(z.to(dev), None if y is None else y.to(dev), **kw).float().cpu()
    g.train(was_training)
    return out


def zero_centred_penalties(t: StepContext, judge: Any, real: Tensor, fake: Tensor, y: Tensor | None) -> Tensor:
    """R1 (at real data) and R2 (at generated data), on at most R1_SAMPLES samples, applied lazily every
    cfg.r1_every steps with their weight scaled up by that interval; 0 when both are off."""
    cfg = t.cfg
    every = cfg.r1_every or 1
    total = real.new_zeros(())
    if (t.step_count + 1) % every:
        return total
    n = min(real.shape[0], R1_SAMPLES * t.model_config.pac)
    yy = None if y is None else y[:n]
    if cfg.r1 > 0:
        total = total + 0.5 * cfg.r1 * every * r1_penalty(judge, real[:n], yy)
    if cfg.r2 > 0:
        total = total + 0.5 * cfg.r2 * every * r1_penalty(judge, fake[:n], yy)
    return total


def family_of(model: str) -> Family:
    """The family that trains `model`."""
    return FAMILIES.get(MODELS.get(model).family)


def train_defaults(dataset: str | DatasetSpec, model: str | None = None, *, data: Any = None) -> dict[str, Any]:
    """Training defaults for a dataset (by name or spec) and a model (None: the dataset's default model):
    its kind's, the dataset's own (with `data`, the loaded set, also those that depend on it), the model
    family's for that kind, then the dataset's for that model."""
    spec = dataset if isinstance(dataset, DatasetSpec) else dataset_spec(dataset)
    base, by_model = spec_defaults(spec), {}
    if data is not None and spec.data_defaults is not None:
        extra, by_model = spec.data_defaults(data)
        base = {**base, **extra}
    model = model or base["model"]
    fam = family_of(model)
    return {**base, **fam.defaults.get(spec.kind, {}), **spec.model_defaults.get(model, {}),
            **by_model.get(model, {}), "model": model}


def default_model(dataset: str) -> str | None:
    """The model `dataset` trains when none is named; None for a dataset this install does not know."""
    try:
        return str(train_defaults(dataset)["model"])
    except (ConfigError, DatasetError):
        return None


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: the family whose game trains it, a builder of its networks by role, the data
    kinds it suits, a one-line description, and any extra check of the config."""

    family: str
    build: Callable[[ModelConfig], dict[str, nn.Module]]
    kinds: tuple[str, ...]  # "points", "image", "pair"
    doc: str
    extra_check: Callable[[ModelConfig], None] | None = None

    def check(self, cfg: ModelConfig) -> None:
        """Raise ConfigError when `cfg` does not suit this model."""
        kind = "pair" if cfg.data_shape_b else ("image" if len(cfg.data_shape) == 3 else "points")
        if kind not in self.kinds:
            raise ConfigError(f"model {cfg.model!r} does not handle {kind} data of shape {cfg.data_shape}; "
                              f"it trains {' or '.join(self.kinds)} data")
        if cfg.pac > 1 and cfg.n_classes:
            raise ConfigError("pac (PacGAN packing) cannot be combined with a class-conditional model")
        if self.extra_check is not None:
            self.extra_check(cfg)


def init_weights(module: nn.Module) -> None:
    """DCGAN-style init: N(0, 0.02) convs, N(1, 0.02) norms; Kaiming-uniform (PyTorch default) linears."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 1.0 / math.sqrt(m.embedding_dim))


def build_nets(cfg: ModelConfig) -> dict[str, nn.Module]:
    """Build a model's networks by role ({"G": ..., "D": ...}, or CycleGAN's four) with initialised weights."""
    nets = MODELS.get(cfg.model).build(cfg)
    for net in nets.values():
        init_weights(net)
    return nets


def build_models(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """(G, D) for a model with one generator and one discriminator."""
    nets = build_nets(cfg)
    return nets["G"], nets["D"]

__all__ = ["Family", "ModelSpec", "R1_SAMPLES", "StepContext", "adam", "default_model", "family_of", "generate",
           "train_defaults", "build_models", "build_nets", "init_weights", "zero_centred_penalties"]
