"""Configs for models and training: plain dataclasses, validated with messages that name the field."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any


class ConfigError(ValueError):
    """A config value is out of range or unknown; the message names the field."""


def _num(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, integer: bool = False) -> None:
    """Check that `value` is a finite number in range, or raise ConfigError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):  # before the whole-number test: int(nan) itself raises
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if integer and int(value) != value:
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ConfigError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(f"{name} must be <= {hi:g}, got {value!r}")


def _choice(name: str, value: Any, choices: list[str]) -> None:
    """Check that `value` is one of `choices`, or raise ConfigError listing them."""
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose from {', '.join(choices)}")


@dataclass
class ModelConfig:
    """Everything needed to rebuild G and D: stored in every checkpoint."""

    model: str = "dcgan"
    data_shape: tuple[int, ...] = (1, 28, 28)  # (C, H, W) for images, (D,) for points
    z_dim: int = 64
    n_classes: int = 0  # > 0 makes G and D class-conditional
    width: int = 64  # hidden units (MLPs) or base channels (DCGAN)
    out_scale: float = 1.0  # multiplies the toy generator's output (data coordinates)
    pac: int = 1  # PacGAN: D judges packs of `pac` samples at once, which penalises mode collapse

    def __post_init__(self) -> None:
        self.data_shape = tuple(int(s) for s in self.data_shape)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError on the first bad field."""
        from .models import MODELS

        _choice("model", self.model, sorted(MODELS))
        if not 1 <= len(self.data_shape) <= 3 or any(s < 1 for s in self.data_shape):
            raise ConfigError(f"data_shape must be (D,) or (C, H, W) with positive sizes, got {self.data_shape}")
        _num("z_dim", self.z_dim, lo=1, hi=4096, integer=True)
        _num("n_classes", self.n_classes, lo=0, hi=1000, integer=True)
        _num("width", self.width, lo=1, hi=4096, integer=True)
        _num("out_scale", self.out_scale, lo=0, lo_open=True, hi=1e6)
        _num("pac", self.pac, lo=1, hi=16, integer=True)
        MODELS[self.model].check(self)


@dataclass
class TrainConfig:
    """How to train: dataset, loss and optimiser settings. None means 'the dataset's default'."""

    dataset: str = "digits"
    data_dir: str | None = None
    model: str | None = None
    loss: str | None = None  # None: the dataset's default (hinge for 2-D point sets, else bce)
    batch_size: int | None = None
    lr: float | None = None
    lr_d: float | None = None  # D's learning rate; None: lr_d_mult x lr
    lr_d_mult: float | None = None  # D's rate as a multiple of lr when lr_d is not given; None: dataset default
    beta1: float | None = None  # Adam betas; None: the dataset's default
    beta2: float | None = None
    z_dim: int | None = None
    width: int | None = None
    conditional: bool | None = None  # None: conditional when the dataset has labels and the model allows it
    ema: float | None = None  # decay of the EMA copy of G used for sampling; 0 disables it
    gp_weight: float = 10.0
    r1: float | None = None  # R1 penalty weight gamma on D's gradient at real data; 0 disables; None: dataset default
    clip: float = 0.01
    pac: int | None = None  # PacGAN packing for MLP discriminators; None: the dataset's default
    seed: int = 0
    device: str = "auto"
    image_size: int | None = None  # for folder datasets

    def validate(self) -> None:
        """Raise ConfigError on the first bad field (None fields are checked once resolved)."""
        from .datasets import dataset_names
        from .losses import LOSSES
        from .models import MODELS

        if not self.dataset.startswith("folder:"):
            _choice("dataset", self.dataset, dataset_names())
        if self.model is not None:
            _choice("model", self.model, sorted(MODELS))
        if self.loss is not None:
            _choice("loss", self.loss, sorted(LOSSES))
        _choice("device", self.device, ["auto", "cpu", "cuda"])
        if self.batch_size is not None:
            _num("batch_size", self.batch_size, lo=1, hi=65536, integer=True)
        for name in ("lr", "lr_d"):
            if getattr(self, name) is not None:
                _num(name, getattr(self, name), lo=0, lo_open=True, hi=1.0)
        if self.lr_d_mult is not None:
            _num("lr_d_mult", self.lr_d_mult, lo=0, lo_open=True, hi=100)
        if self.beta1 is not None:
            _num("beta1", self.beta1, lo=0, hi=0.9999)
        if self.beta2 is not None:
            _num("beta2", self.beta2, lo=0, hi=0.99999)
        if self.z_dim is not None:
            _num("z_dim", self.z_dim, lo=1, hi=4096, integer=True)
        if self.width is not None:
            _num("width", self.width, lo=1, hi=4096, integer=True)
        if self.ema is not None:
            _num("ema", self.ema, lo=0, hi=0.99999)
        _num("gp_weight", self.gp_weight, lo=0, hi=1e4)
        if self.r1 is not None:
            _num("r1", self.r1, lo=0, hi=1e4)
        _num("clip", self.clip, lo=0, lo_open=True, hi=100)
        if self.pac is not None:
            _num("pac", self.pac, lo=1, hi=16, integer=True)
        _num("seed", self.seed, lo=0, hi=2**63 - 1, integer=True)
        if self.image_size is not None:
            _num("image_size", self.image_size, lo=8, hi=256, integer=True)

    def resolved(self, defaults: dict[str, Any]) -> "TrainConfig":
        """A copy with every None field taken from `defaults` (the dataset's defaults)."""
        values = asdict(self)
        for k, v in defaults.items():
            if values.get(k) is None:
                values[k] = v
        out = TrainConfig(**values)
        out.validate()
        return out


def from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Build `cls` from a dict, refusing unknown keys with a clear message."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    obj = cls(**values)
    if hasattr(obj, "validate"):
        obj.validate()
    return obj


__all__ = ["ConfigError", "ModelConfig", "TrainConfig", "from_dict", "asdict", "field"]
