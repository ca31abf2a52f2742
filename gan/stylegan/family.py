"""The `stylegan` model and family, and the latent tools that explore it (CPU, no UI).

Training (`StyleGanFamily`): the classic G-vs-D step of `GanFamily` (non-saturating loss, lazy R1 from
`gan.family.zero_centred_penalties`), except that the fake batch is drawn StyleGAN's way: a share `cfg.mixing`
of the batch switches from w(z1) to w(z2) at a random style index (style-mixing regularisation), w_avg tracks
the mean w for truncation, and the noise inputs are drawn from the trainer's generator, so a resumed run is
bit-identical. The trainer's EMA copy of G copies the buffers, so w_avg travels with it.

Latent tools (the app's Explore views and `gan mix` use them). `G` is a `gan.stylegan.nets.StyleGenerator` (e.g. the
frozen EMA copy); images are CPU float32 in [-1, 1]. A seed names z = gan.latent.latent_for(seed, z_dim).
For a class-conditional G, `y` is None (each seed's class is seed % n_classes), one class for all, or one per
seed. Rendering uses the constant noise buffers (noise_mode "const") unless told otherwise.

Layer ranges (`layer_range`), by the resolution each style index drives (`G.ws_res`): fine = the full
resolution, coarse = the lowest ceil((L - 1) / 2) of the L resolutions, middle = those between.
  28 px (ws_res 7, 14, 14, 28, 28, 28):          coarse 0 | middle 1-2 | fine 3-5
  32 px (ws_res 8, 16, 16, 32, 32, 32):          coarse 0 | middle 1-2 | fine 3-5
  64 px (ws_res 8, 16, 16, 32, 32, 64, 64, 64):  coarse 0-2 | middle 3-4 | fine 5-7
The default crossover of a mixing grid (`default_crossover`) is the first fine index: every style input below
full resolution comes from the row, the full-resolution ones from the column (3 at 28/32 px, 5 at 64 px); on
MNIST it keeps the row's digit in most cells while the column sets the stroke (bench/bench_stylegan.py).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn

from ..classic.family import GanFamily
from ..config import ModelConfig
from ..data.spec import BatchStream
from ..errors import ConfigError
from ..family import ModelSpec, StepContext
from ..latent import latent_for, slerp
from ..registry import FAMILIES, MODELS
from .nets import StyleDiscriminator, StyleGenerator

Tensor = torch.Tensor
Labels = int | Sequence[int] | Tensor | None
LAYER_RANGES = ("all", "coarse", "middle", "fine")
MBSTD_GROUP = 4  # D's minibatch-stddev group: the batch must be a multiple of it


# ---- the model ---------------------------------------------------------------------------------------

def build_stylegan(mc: ModelConfig) -> dict[str, nn.Module]:
    """G (StyleGenerator) and D (StyleDiscriminator) for `mc`."""
    return {"G": StyleGenerator(mc), "D": StyleDiscriminator(mc, mbstd_group=MBSTD_GROUP)}


def check_stylegan(mc: ModelConfig) -> None:
    """Square images of 16-128 px whose size halves down to 4-8 px (28, 32, 64, ...); no PacGAN packing."""
    _, h, w = mc.data_shape
    s = h
    while s > 8 and s % 2 == 0:
        s //= 2
    if h != w or not 16 <= h <= 128 or not 4 <= s <= 8:
        raise ConfigError(f"model 'stylegan' needs square images of 16-128 px whose size halves down to 4-8 px "
                          f"(e.g. 28, 32, 64), got {h}x{w}")
    if mc.pac > 1:
        raise ConfigError("pac (PacGAN packing) is not supported by model 'stylegan'; use pac 1")


class StyleGanFamily(GanFamily):
    """GanFamily's game with StyleGAN's fake batch: style mixing, w_avg tracking, noise from the run's RNG."""

    name = "stylegan"
    explore = ("w_latent", "mixing", "noise", "interpolate_zw")
    latent = "w"  # gan.restore searches w (or w+), from the class means of w
    # bench/bench_stylegan.py: these reach the best MNIST quality in 3 minutes on 2 cores (see the module notes)
    defaults = {"image": {"loss": "bce", "batch_size": 32, "lr": 2e-3, "lr_d_mult": 1.0, "beta1": 0.0,
                          "beta2": 0.99, "width": 8, "z_dim": 64, "ema": 0.999, "r1": 0.2, "r1_every": 8,
                          "mixing": 0.9}}

    def streams(self, t: StepContext) -> dict[str, BatchStream]:
        if t.cfg.batch_size % MBSTD_GROUP:
            raise ConfigError(f"batch_size ({t.cfg.batch_size}) must be a multiple of {MBSTD_GROUP} for model "
                              f"'stylegan' (D's minibatch-stddev groups)")
        return super().streams(t)

    def fake_batch(self, t: StepContext, z: Tensor, y: Tensor | None) -> Tensor:
        G = t.nets["G"]
        mixing = 0.9 if t.cfg.mixing is None else float(t.cfg.mixing)
        ws = G.mixing_regularised_ws(z, y, prob=mixing, generator=t.gen)  # (B, num_ws, w_dim)
        G.update_w_avg(ws[:, 0])
        return G.synthesis(ws, noise_mode="random", noise_generator=t.gen)  # (B, C, H, W)

    def sample(self, nets: dict[str, nn.Module], n: int, *, seed: int, y: Tensor | None = None,
               psi: float = 1.0, **_: Any) -> Tensor:
        """n samples (const noise), truncated about w_avg by psi."""
        g = nets["G"]
        z = torch.randn(n, g.z_dim, generator=torch.Generator().manual_seed(int(seed)))
        if g.n_classes and y is None:
            y = torch.arange(n) % g.n_classes
        return _render(g, _map(g, z, None if y is None else torch.as_tensor(y), psi))

    def model_config_fields(self, cfg: Any, data: Any) -> dict[str, Any]:
        return {**super().model_config_fields(cfg, data), "w_dim": 0, "mapping_layers": 2}


FAMILIES.register("stylegan", StyleGanFamily())
MODELS.register("stylegan", ModelSpec(
    "stylegan", build_stylegan, ("image",),
    "StyleGAN2-lite for 16-128 px: mapping z->w, style-modulated convs with noise, style mixing, truncation",
    extra_check=check_stylegan))


# ---- latent tools --------------------------------------------------------------------------------------

def _device(g: nn.Module) -> torch.device:
    return next(g.parameters()).device


def _labels(g: StyleGenerator, seeds: Sequence[int], y: Labels) -> Tensor | None:
    """Class labels (n,) for the seeds of a conditional G; None for an unconditional one."""
    n = len(seeds)
    if not g.n_classes:
        if y is not None:
            raise ValueError("this model is unconditional: pass y=None")
        return None
    if y is None:
        out = torch.tensor([int(s) % g.n_classes for s in seeds], dtype=torch.long)
    else:
        out = torch.as_tensor(y, dtype=torch.long).reshape(-1)
        out = out.expand(n).clone() if out.numel() == 1 else out
    if out.numel() != n or out.min() < 0 or out.max() >= g.n_classes:
        raise ValueError(f"y must be one class or {n} classes in 0..{g.n_classes - 1}, got {y!r}")
    return out


@torch.no_grad()
def _map(g: StyleGenerator, z: Tensor, y: Tensor | None, psi: float = 1.0) -> Tensor:
    """Truncated w for z (B, z_dim), (B, w_dim) on the CPU."""
    dev = _device(g)
    return _truncate(g, g.mapping(z.to(dev), None if y is None else y.to(dev)).float().cpu(), psi)


def _truncate(g: StyleGenerator, w: Tensor, psi: float) -> Tensor:
    """CPU w (..., w_dim) pulled toward w_avg by psi; unchanged at psi = 1."""
    return w if float(psi) == 1.0 else torch.lerp(g.w_avg.float().cpu(), w, float(psi))


@torch.no_grad()
def _render(g: StyleGenerator, ws: Tensor, *, noise_mode: str = "const", noise_seed: int = 0) -> Tensor:
    """Images (B, C, H, W) for ws (B, num_ws, w_dim) or w (B, w_dim)."""
    if ws.ndim == 2:
        ws = ws[:, None].expand(-1, g.num_ws, -1)
    gen = torch.Generator().manual_seed(int(noise_seed)) if noise_mode == "random" else None
    return g.synthesis(ws.to(_device(g)), noise_mode=noise_mode, noise_generator=gen).float().cpu()


def render(g: StyleGenerator, ws: Tensor, *, noise_mode: str = "const", noise_seed: int = 0) -> Tensor:
    """Images (B, C, H, W) in [-1, 1] for ws (B, num_ws, w_dim) or w (B, w_dim); random noise is seeded."""
    return _render(g, ws, noise_mode=noise_mode, noise_seed=noise_seed)


def w_of(g: StyleGenerator, seeds: Sequence[int], y: Labels = None) -> Tensor:
    """The untruncated w (n, w_dim) of each seed's z."""
    z = torch.stack([latent_for(int(s), g.z_dim) for s in seeds])  # (n, z_dim)
    return _map(g, z, _labels(g, list(seeds), y))


@torch.no_grad()
def w_directions(g: StyleGenerator, *, n: int = 2000, k: int = 10, seed: int = 0,
                 y: Labels = None) -> tuple[Tensor, Tensor]:
    """GANSpace in W: PCA of n sampled w; (directions (k', w_dim) orthonormal, explained variance share (k',)).

    k' = min(k, w_dim, n - 1); each direction's sign makes its largest component positive; random labels for a
    conditional G unless y is given."""
    if n < 2 or k < 1:
        raise ValueError(f"w_directions needs n >= 2 and k >= 1, got n={n}, k={k}")
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(n, g.z_dim, generator=gen)
    if g.n_classes and y is None:
        labels = torch.randint(0, g.n_classes, (n,), generator=gen)
    else:
        labels = _labels(g, range(n), y)
    w = _map(g, z, labels).double()  # (n, w_dim)
    w = w - w.mean(0, keepdim=True)
    _, s, vh = torch.linalg.svd(w, full_matrices=False)  # vh: (min(n, w_dim), w_dim)
    k = min(k, vh.shape[0], n - 1)
    d = vh[:k]
    sign = torch.sign(d.gather(1, d.abs().argmax(1, keepdim=True)))  # (k, 1)
    var = s.square()
    return (d * sign).float(), (var[:k] / var.sum().clamp_min(1e-30)).float()


@torch.no_grad()
def direction_std(g: StyleGenerator, directions: Tensor, *, n: int = 2000, seed: int = 0,
                  y: Labels = None) -> Tensor:
    """The spread (std, (k,)) of sampled w along each direction: a natural slider unit for edit_ws offsets."""
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(n, g.z_dim, generator=gen)
    labels = torch.randint(0, g.n_classes, (n,), generator=gen) if g.n_classes and y is None \
        else _labels(g, range(n), y)
    return (_map(g, z, labels) @ directions.float().T).std(0)


def layer_range(g: StyleGenerator, name: str) -> range:
    """Style indices of a named range: 'all', 'coarse', 'middle' or 'fine' (by resolution; module notes)."""
    levels = sorted(set(g.ws_res))
    n_coarse = math.ceil((len(levels) - 1) / 2)
    groups = {"all": levels, "coarse": levels[:n_coarse], "middle": levels[n_coarse:-1], "fine": levels[-1:]}
    if name not in groups:
        raise ValueError(f"unknown layer range {name!r}; choose from {', '.join(LAYER_RANGES)}")
    idx = [j for j, r in enumerate(g.ws_res) if r in groups[name]]
    return range(idx[0], idx[-1] + 1) if idx else range(0)


def default_crossover(g: StyleGenerator) -> int:
    """The mixing grid's default K: the first full-resolution style index (rows give every coarser style)."""
    return layer_range(g, "fine").start


def edit_ws(g: StyleGenerator, w: Tensor, directions: Tensor, offsets: Sequence[float] | Tensor, *,
            layers: range | None = None, psi: float = 1.0) -> Tensor:
    """ws (1, num_ws, w_dim): w (w_dim,) truncated about w_avg by psi, then moved by sum_i offsets[i] *
    directions[i] on the style indices `layers` only (None: all). Fewer offsets than directions leave the
    rest at 0; offsets are in W units (direction_std gives the data's spread)."""
    w = w.detach().float().cpu().reshape(-1)
    off = torch.as_tensor(offsets, dtype=torch.float32).reshape(-1)
    if off.numel() > directions.shape[0]:
        raise ValueError(f"{off.numel()} offsets given for {directions.shape[0]} directions")
    idx = range(g.num_ws) if layers is None else layers
    if len(idx) and (min(idx) < 0 or max(idx) >= g.num_ws):
        raise ValueError(f"layers must lie in 0..{g.num_ws - 1}, got {layers!r}")
    wt = _truncate(g, w, psi)  # (w_dim,)
    ws = wt.expand(g.num_ws, -1).clone()  # (num_ws, w_dim)
    delta = off @ directions[:off.numel()].float().cpu()  # (w_dim,)
    ws[list(idx)] += delta
    return ws[None]


def mixing_grid(g: StyleGenerator, row_seeds: Sequence[int], col_seeds: Sequence[int], *,
                crossover: int | None = None, psi: float = 1.0, y: Labels = None,
                noise_mode: str = "const") -> Tensor:
    """The style-mixing grid (R+1, C+1, C_img, H, W): [0, 0] zeros, [i+1, 0] row source i, [0, j+1] column
    source j, [i+1, j+1] row i's first `crossover` style inputs with column j's others (None: default_crossover).
    `y` labels the row seeds then the column seeds (one class, R + C classes, or None)."""
    k = default_crossover(g) if crossover is None else int(crossover)
    if not 0 <= k <= g.num_ws:
        raise ValueError(f"crossover must be in 0..{g.num_ws}, got {crossover}")
    rows, cols = list(row_seeds), list(col_seeds)
    if not rows or not cols:
        raise ValueError("mixing_grid needs at least one row seed and one column seed")
    w = w_of(g, rows + cols, y)
    w = _truncate(g, w, psi)
    wr, wc = w[:len(rows)], w[len(rows):]  # (R, w_dim), (C, w_dim)
    r, c = len(rows), len(cols)
    mixed = g.mix(wr.repeat_interleave(c, 0), wc.repeat(r, 1), k)  # (R*C, num_ws, w_dim), row-major
    plain = torch.cat([wr, wc])[:, None].expand(-1, g.num_ws, -1)  # (R+C, num_ws, w_dim)
    imgs = _render(g, torch.cat([plain, mixed]), noise_mode=noise_mode)  # (R+C+R*C, C_img, H, W)
    out = torch.zeros(r + 1, c + 1, *imgs.shape[1:])
    out[1:, 0], out[0, 1:] = imgs[:r], imgs[r:r + c]
    out[1:, 1:] = imgs[r + c:].reshape(r, c, *imgs.shape[1:])
    return out


def noise_variation(g: StyleGenerator, seed: int, *, n: int = 8, psi: float = 1.0,
                    y: Labels = None) -> tuple[Tensor, Tensor]:
    """One w with n random noise draws (seeded by `seed`): (images (n, C, H, W), per-pixel std map (H, W))."""
    if n < 2:
        raise ValueError(f"noise_variation needs n >= 2 noise draws, got {n}")
    w = _truncate(g, w_of(g, [seed], y), psi)  # (1, w_dim)
    imgs = _render(g, w.expand(n, -1), noise_mode="random", noise_seed=seed)  # (n, C, H, W)
    return imgs, imgs.std(dim=0, correction=0).mean(dim=0)  # (H, W)


def zw_strips(g: StyleGenerator, seed_a: int, seed_b: int, *, steps: int = 8, psi: float = 1.0,
              y: Labels = None) -> tuple[Tensor, Tensor]:
    """(slerp-in-Z images, lerp-in-W images), each (steps, C, H, W) from seed_a to seed_b; a conditional G keeps
    one class (y, default seed_a's)."""
    if steps < 2:
        raise ValueError(f"zw_strips needs steps >= 2, got {steps}")
    ts = torch.linspace(0.0, 1.0, steps)
    label = _labels(g, [seed_a], y)
    labels = None if label is None else label.expand(steps)
    za, zb = latent_for(int(seed_a), g.z_dim), latent_for(int(seed_b), g.z_dim)
    z_path = _map(g, slerp(za, zb, ts), labels, psi)  # (steps, w_dim)
    wa, wb = _map(g, torch.stack([za, zb]), None if label is None else label.expand(2), psi)
    w_path = wa + ts[:, None] * (wb - wa)  # (steps, w_dim)
    return _render(g, z_path), _render(g, w_path)


__all__ = ["LAYER_RANGES", "StyleGanFamily", "build_stylegan", "check_stylegan", "default_crossover",
           "direction_std", "edit_ws", "layer_range", "mixing_grid", "noise_variation", "render", "w_directions",
           "w_of", "zw_strips"]
