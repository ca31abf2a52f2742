"""Configs for models and training: plain dataclasses, validated with messages that name the field.

`ModelConfig` is everything that rebuilds the networks (stored in every checkpoint); `TrainConfig` is how
to train them. None in a TrainConfig means "the default for this dataset and model"
(`gan.family.train_defaults`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .data.spec import KIND_WORDS, dataset_kind
from .errors import ConfigError, check_choice, check_number
from .registry import DATASETS, LOSSES, MODELS

# The largest data a model may be built for: the image sets and folders train at 8-256 px (image_size), the toy
# sets are 1-D and 2-D. A config from outside (a checkpoint, an export) asking for more is refused before any
# network is built, so a few bytes of JSON cannot ask for gigabytes of weights.
MAX_IMAGE_SIZE, MAX_CHANNELS, MAX_POINT_DIM = 256, 4, 1024


@dataclass
class ModelConfig:
    """Everything needed to rebuild the networks: stored in every checkpoint."""

    model: str = "dcgan"
    data_shape: tuple[int, ...] = (1, 28, 28)  # (C, H, W) for images, (D,) for points; domain A for pairs
    z_dim: int = 64
    n_classes: int = 0  # > 0 makes G and D class-conditional
    width: int = 64  # hidden units (MLPs) or base channels (convolutional models)
    out_scale: float = 1.0  # multiplies the toy generator's output (data coordinates)
    pac: int = 1  # PacGAN: D judges packs of `pac` samples at once, which penalises mode collapse
    w_dim: int = 0  # stylegan: size of the intermediate latent w (0: same as z_dim)
    mapping_layers: int = 2  # stylegan: layers of the mapping network z -> w
    n_blocks: int = 3  # cyclegan: residual blocks in each generator
    data_shape_b: tuple[int, ...] = ()  # cyclegan: the shape of domain B (domain A is data_shape)

    def __post_init__(self) -> None:
        self.data_shape = tuple(int(s) for s in self.data_shape)
        self.data_shape_b = tuple(int(s) for s in self.data_shape_b)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError on the first bad field."""
        spec = MODELS.get(self.model)
        for name, shape in (("data_shape", self.data_shape), ("data_shape_b", self.data_shape_b)):
            if name == "data_shape_b" and not shape:
                continue
            if not 1 <= len(shape) <= 3 or any(s < 1 for s in shape):
                raise ConfigError(f"{name} must be (D,) or (C, H, W) with positive sizes, got {list(shape)[:4]}")
            if len(shape) == 1 and shape[0] > MAX_POINT_DIM or len(shape) > 1 and (
                    shape[0] > MAX_CHANNELS or max(shape[1:]) > MAX_IMAGE_SIZE):
                raise ConfigError(f"{name} {list(shape)} is larger than this library builds: points of at most "
                                  f"{MAX_POINT_DIM} dimensions, images of at most {MAX_CHANNELS} channels and "
                                  f"{MAX_IMAGE_SIZE}x{MAX_IMAGE_SIZE} px")
        check_number("z_dim", self.z_dim, lo=1, hi=4096, integer=True)
        check_number("n_classes", self.n_classes, lo=0, hi=1000, integer=True)
        check_number("width", self.width, lo=1, hi=4096, integer=True)
        check_number("out_scale", self.out_scale, lo=0, lo_open=True, hi=1e6)
        check_number("pac", self.pac, lo=1, hi=16, integer=True)
        check_number("w_dim", self.w_dim, lo=0, hi=4096, integer=True)
        check_number("mapping_layers", self.mapping_layers, lo=1, hi=8, integer=True)
        check_number("n_blocks", self.n_blocks, lo=0, hi=16, integer=True)
        spec.check(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists for shapes) as stored in checkpoints and config.json."""
        d = asdict(self)
        d["data_shape"], d["data_shape_b"] = list(self.data_shape), list(self.data_shape_b)
        return d


@dataclass
class TrainConfig:
    """How to train: dataset, loss and optimiser settings. None means 'the default for this dataset and model'."""

    dataset: str = "digits"
    data_dir: str | None = None
    model: str | None = None
    loss: str | None = None
    batch_size: int | None = None
    lr: float | None = None
    lr_d: float | None = None  # D's learning rate; None: lr_d_mult x lr
    lr_d_mult: float | None = None  # D's rate as a multiple of lr when lr_d is not given
    beta1: float | None = None  # Adam betas
    beta2: float | None = None
    z_dim: int | None = None
    width: int | None = None
    conditional: bool | None = None  # None: conditional when the dataset has labels and the model allows it
    ema: float | None = None  # decay of the EMA copy of G used for sampling; 0 disables it
    gp_weight: float = 10.0
    r1: float | None = None  # R1 penalty weight gamma on D's gradient at real data; 0 disables
    r2: float | None = None  # R2 penalty weight on D's gradient at generated data; 0 disables
    r1_every: int | None = None  # lazy regularisation: apply R1/R2 every N steps (weight scaled by N)
    clip: float = 0.01
    pac: int | None = None  # PacGAN packing: D judges packs of N samples
    mixing: float | None = None  # stylegan: share of batches trained with two mixed styles
    cycle: float | None = None  # cyclegan: weight of the cycle-consistency loss (lambda)
    identity: float | None = None  # cyclegan: weight of the identity loss, as a multiple of `cycle`
    pool: int | None = None  # cyclegan: past fakes kept for D (0 disables the pool)
    decay_steps: int | None = None  # linear learning-rate decay to 0 over the second half of this many steps
    seed: int = 0
    device: str = "auto"
    image_size: int | None = None  # for folder datasets

    def validate(self) -> None:
        """Raise ConfigError on the first bad field (None fields are checked once resolved)."""
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ConfigError(f"dataset must be a name, got {self.dataset!r}")
        if ":" not in self.dataset:  # "folder:PATH" and other prefixes are checked when loaded
            DATASETS.get(self.dataset)
        if self.model is not None:
            check_model_fits(self.model, self.dataset, image_size=self.image_size)
        if self.loss is not None:
            LOSSES.get(self.loss)
        check_choice("device", self.device, ["auto", "cpu", "cuda"])
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ConfigError(f"data_dir must be a folder path, got {self.data_dir!r}")
        optional = {
            "batch_size": dict(lo=1, hi=65536, integer=True), "lr": dict(lo=0, lo_open=True, hi=1.0),
            "lr_d": dict(lo=0, lo_open=True, hi=1.0), "lr_d_mult": dict(lo=0, lo_open=True, hi=100),
            "beta1": dict(lo=0, hi=0.9999), "beta2": dict(lo=0, hi=0.99999),
            "z_dim": dict(lo=1, hi=4096, integer=True), "width": dict(lo=1, hi=4096, integer=True),
            "ema": dict(lo=0, hi=0.99999), "r1": dict(lo=0, hi=1e4), "r2": dict(lo=0, hi=1e4),
            "r1_every": dict(lo=1, hi=1000, integer=True), "pac": dict(lo=1, hi=16, integer=True),
            "mixing": dict(lo=0, hi=1), "cycle": dict(lo=0, hi=1e4), "identity": dict(lo=0, hi=100),
            "pool": dict(lo=0, hi=10_000, integer=True), "decay_steps": dict(lo=2, hi=10**9, integer=True),
            "image_size": dict(lo=8, hi=256, integer=True),
        }
        for name, limits in optional.items():
            if getattr(self, name) is not None:
                check_number(name, getattr(self, name), **limits)
        check_number("gp_weight", self.gp_weight, lo=0, hi=1e4)
        check_number("clip", self.clip, lo=0, lo_open=True, hi=100)
        check_number("seed", self.seed, lo=0, hi=2**63 - 1, integer=True)
        if self.conditional is not None and not isinstance(self.conditional, bool):
            raise ConfigError(f"conditional must be true or false, got {self.conditional!r}")

    def resolved(self, defaults: dict[str, Any]) -> "TrainConfig":
        """A copy with every None field taken from `defaults` (the dataset's and model's defaults)."""
        values = asdict(self)
        for k, v in defaults.items():
            if k in values and values[k] is None:
                values[k] = v
        out = TrainConfig(**values)
        out.validate()
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def models_for(kind: str) -> list[str]:
    """The registered models that train data of `kind` ("points", "image" or "pair")."""
    return [name for name, spec in MODELS.items() if kind in spec.kinds]


def check_model_fits(model: str, dataset: str, *, image_size: int | None = None) -> None:
    """ConfigError, in one line, when `model` is unknown or cannot train `dataset`'s kind of data (stylegan on a
    pair of domains, cyclegan on images, toy on images...): checked before any data is loaded or thread started.
    A dataset name that does not resolve is left to the loader, which says why."""
    spec = MODELS.get(model)
    kind = dataset_kind(dataset, image_size=image_size)
    if kind is None or kind in spec.kinds:
        return
    fits = models_for(kind)
    name = "this dataset" if ":" in dataset else repr(dataset)
    pick = ", ".join(fits[:-1]) + f" or {fits[-1]}" if len(fits) > 1 else "".join(fits) or "another model"
    raise ConfigError(f"model {model!r} cannot train {name}, which is {KIND_WORDS[kind]}: {model} trains "
                      f"{' or '.join(KIND_WORDS[k] for k in spec.kinds)}. Pick {pick}, or auto (the dataset's "
                      f"default)")


def from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Build `cls` from a dict, refusing unknown keys with a clear message."""
    if not isinstance(values, dict):
        raise ConfigError(f"a {cls.__name__} must be a mapping, got {type(values).__name__}")
    names = {f.name for f in fields(cls)}
    unknown_keys = sorted(set(values) - names)
    if unknown_keys:
        raise ConfigError(f"unknown {cls.__name__} field(s): {', '.join(map(str, unknown_keys))}")
    try:
        obj = cls(**values)
    except TypeError as e:
        raise ConfigError(f"bad {cls.__name__}: {e}") from None
    if hasattr(obj, "validate"):
        obj.validate()
    return obj


__all__ = ["ConfigError", "ModelConfig", "TrainConfig", "asdict", "check_model_fits", "from_dict", "models_for",
           "replace"]
