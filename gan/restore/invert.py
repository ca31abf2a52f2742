"""GAN inversion with a known degradation: the latent whose image, degraded the same way, best explains what
was given. Classic models search z (a class-conditional one every class at once, the best kept); StyleGAN
searches w or w+ from the class means of w. Batched over images and restarts, seeded, deterministic (CPU).

The search (after StyleGAN2's projector): per image, `restarts` starts per class are optimised together with a
hand-rolled Adam whose lr decays on a cosine; after a third of the steps each image keeps its `keep` best
candidates (the loss measured so far), which get the remaining steps. The objective per candidate is the mean
squared error of the degraded image against the input plus `prior` times a latent term: ||z||^2 / z_dim - 1
squared for z (the Gaussian shell where z lives), ||w - w_class||^2 / w_dim for w (w_avg per class).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from ..family import Family, family_of
from .degrade import Task, check_task

Tensor = torch.Tensor
NO_LATENT = "this model has no latent to search: CycleGAN translates images (use translate), it does not draw them"


@dataclass(frozen=True)
class Restored:
    """A restore's answer: images (N, C, H, W) in [-1, 1] (given pixels kept for inpaint), G's own images (the
    projection), the latents (z (N, z_dim), w (N, w_dim) or w+ (N, num_ws, w_dim)), the classes (N,) or None,
    and the final per-image loss (N,)."""

    images: Tensor
    projection: Tensor
    latent: Tensor
    y: Tensor | None
    loss: Tensor
    space: str  # "z", "w" or "w+"


class _Space:
    """One latent space: starts, rendering and the prior term; `G` frozen in eval mode."""

    space = "z"

    def __init__(self, G: nn.Module, *, plus: bool = False) -> None:
        self.G = G
        self.n_classes = int(getattr(G, "n_classes", 0) or getattr(getattr(G, "cfg", None), "n_classes", 0))

    def starts(self, n: int, restarts: int, gen: torch.Generator) -> Tensor:
        """Starting latents (n, K, R, *dims) for n images, K classes (1 if unconditional), R restarts."""
        raise NotImplementedError

    def render(self, lat: Tensor, y: Tensor | None) -> Tensor:
        """Images (B, C, H, W) of latents (B, *dims) and classes (B,)."""
        raise NotImplementedError

    def prior(self, lat: Tensor, y: Tensor | None) -> Tensor:
        """The latent term (B,)."""
        raise NotImplementedError


class _Z(_Space):
    """z of the classic models, drawn from N(0, I)."""

    def starts(self, n: int, restarts: int, gen: torch.Generator) -> Tensor:
        k = max(1, self.n_classes)
        return torch.randn(n, k, restarts, self.G.cfg.z_dim, generator=gen)

    def render(self, lat: Tensor, y: Tensor | None) -> Tensor:
        return self.G(lat, y)

    def prior(self, lat: Tensor, y: Tensor | None) -> Tensor:
        return (lat.square().mean(1) - 1.0).square()


class _W(_Space):
    """StyleGAN's w (one for all style inputs) or w+ (one per style input), from each class's mean w."""

    def __init__(self, G: nn.Module, *, plus: bool = False) -> None:
        super().__init__(G)
        self.plus = plus
        self.space = "w+" if plus else "w"
        with torch.no_grad():  # the mean w of each class (or the tracked w_avg of an unconditional G)
            if self.n_classes:
                z = torch.randn(256, G.z_dim, generator=torch.Generator().manual_seed(0))
                self.centres = torch.stack([G.mapping(z, torch.full((256,), c, dtype=torch.long)).mean(0)
                                            for c in range(self.n_classes)])  # (K, w_dim)
            else:
                self.centres = G.w_avg.float()[None].clone()  # (1, w_dim)
            z = torch.randn(512, G.z_dim, generator=torch.Generator().manual_seed(1))
            y = torch.arange(512) % self.n_classes if self.n_classes else None
            self.spread = float((G.mapping(z, y) - self.centres[y if y is not None else 0]).std())

    def starts(self, n: int, restarts: int, gen: torch.Generator) -> Tensor:
        k, d = self.centres.shape
        jitter = torch.randn(n, k, restarts, d, generator=gen) * (0.5 * self.spread)
        jitter[:, :, 0] = 0  # the first start of each class is its mean w itself
        w = self.centres[None, :, None] + jitter  # (n, K, R, w_dim)
        return w[..., None, :].expand(*w.shape[:3], self.G.num_ws, d).clone() if self.plus else w

    def _ws(self, lat: Tensor) -> Tensor:
        return lat if self.plus else lat[:, None].expand(-1, self.G.num_ws, -1)

    def render(self, lat: Tensor, y: Tensor | None) -> Tensor:
        return self.G.synthesis(self._ws(lat), noise_mode="const")

    def prior(self, lat: Tensor, y: Tensor | None) -> Tensor:
        c = self.centres[y if y is not None else torch.zeros(lat.shape[0], dtype=torch.long)]  # (B, w_dim)
        d = lat - (c[:, None] if self.plus else c)
        return d.square().flatten(1).mean(1) / max(self.spread, 1e-6) ** 2


SPACES: dict[str, type[_Space]] = {"z": _Z, "w": _W}  # Family.latent -> its search space


def _family(nets: dict[str, nn.Module], family: Family | None) -> Family | None:
    if family is not None:
        return family
    cfg = getattr(nets.get("G"), "cfg", None)
    return family_of(cfg.model) if cfg is not None else None


def space_of(nets: dict[str, nn.Module], *, family: Family | None = None, plus: bool = False) -> _Space:
    """The latent space of a model's sampling nets (its family says which), or ConfigError for one with none."""
    fam = _family(nets, family)
    if fam is None or getattr(fam, "latent", None) is None or "G" not in nets:
        raise ConfigError(NO_LATENT)
    cfg = nets["G"].cfg
    if len(tuple(cfg.data_shape)) != 3:
        raise ConfigError(f"restore works on image models; {cfg.model!r} here draws points")
    return SPACES[fam.latent](nets["G"].eval(), plus=plus)


def _adam(p: Tensor, g: Tensor, m: Tensor, v: Tensor, t: int, lr: float) -> None:
    """One Adam step on p in place (betas 0.9, 0.999), per element."""
    m.mul_(0.9).add_(g, alpha=0.1)
    v.mul_(0.999).addcmul_(g, g, value=0.001)
    p.sub_(lr * (m / (1 - 0.9 ** t)) / ((v / (1 - 0.999 ** t)).sqrt() + 1e-8))


def _search(sp: _Space, task: Task, lat: Tensor, y: Tensor | None, *, steps: int, lr: float, prior: float,
            keep: int) -> tuple[Tensor, Tensor | None, Tensor]:
    """Optimise candidates lat (n, M, *dims) for the n images of `task`; (best latent (n, *dims), class (n,),
    loss (n,))."""
    n, m = lat.shape[:2]
    dims = lat.shape[2:]
    target = task.x[:, None].expand(-1, m, *task.x.shape[1:])
    mask = None if task.mask is None else task.mask[:, None].expand(-1, m, *task.mask.shape[1:])
    lat = lat.reshape(n * m, *dims).clone()
    mom, vel = torch.zeros_like(lat), torch.zeros_like(lat)
    prune = max(1, steps // 3) if keep < m else steps + 1
    score = torch.full((n, m), math.inf)

    def objective(p: Tensor) -> Tensor:
        yy = None if y is None else y.reshape(-1)
        img = sp.render(p, yy)
        tm = None if mask is None else mask.reshape(-1, *mask.shape[2:])
        return task.loss(img, target.reshape(-1, *target.shape[2:]), tm) + prior * sp.prior(p, yy)

    for t in range(1, steps + 1):
        if t == prune:  # each image keeps its `keep` best candidates for the rest of the steps
            idx = score.topk(keep, dim=1, largest=False).indices  # (n, keep)
            pick = (idx + torch.arange(n)[:, None] * m).reshape(-1)
            lat, mom, vel = lat[pick], mom[pick], vel[pick]
            y = None if y is None else y.reshape(-1)[pick].reshape(n, keep)
            target, mask = target[:, :keep], None if mask is None else mask[:, :keep]
            m = keep
        lat.requires_grad_(True)
        f = objective(lat)
        grad, = torch.autograd.grad(f.sum(), lat)
        score = f.detach().reshape(n, m)
        with torch.no_grad():
            lat = lat.detach()
            _adam(lat, grad, mom, vel, t, lr * 0.5 * (1 + math.cos(math.pi * (t - 1) / steps)))
    with torch.no_grad():
        score = objective(lat).reshape(n, m)
    best = score.argmin(1)  # (n,)
    rows = torch.arange(n) * m + best
    return lat[rows], None if y is None else y.reshape(-1)[rows], score[torch.arange(n), best]


def restore(nets: dict[str, nn.Module], x: Tensor, *, task: str, mask: Tensor | None = None, steps: int = 100,
            seed: int = 0, restarts: int = 2, keep: int = 2, lr: float = 0.1, prior: float | None = None,
            plus: bool = False, family: Family | None = None, chunk: int = 256) -> Restored:
    """Restore images x (N, C, h, w) in [-1, 1] with a model's sampling nets: `task` project, inpaint (with `mask`
    (N or 1, 1, H, W), 1 = known), superres (x the model's size over a whole factor) or denoise. `plus`: StyleGAN
    searches w+ rather than w. `prior` None: the space's measured default. ConfigError for bad inputs, or a
    model with no latent (CycleGAN)."""
    sp = space_of(nets, family=family, plus=plus)
    checked = check_task(task, x, tuple(nets["G"].cfg.data_shape), mask)
    if steps < 1 or restarts < 1 or keep < 1:
        raise ConfigError(f"steps, restarts and keep must be at least 1, got {steps}, {restarts}, {keep}")
    weight = PRIOR[sp.space] if prior is None else float(prior)
    gen = torch.Generator().manual_seed(int(seed))
    n = checked.x.shape[0]
    k = max(1, sp.n_classes)
    starts = sp.starts(n, restarts, gen)  # (n, K, R, *dims)
    ys = (torch.arange(k)[None, :, None].expand(n, k, restarts) if sp.n_classes else None)
    per = max(1, chunk // (k * restarts))
    out_lat, out_y, out_loss = [], [], []
    for i in range(0, n, per):
        part = Task(checked.name, checked.x[i:i + per], None if checked.mask is None else checked.mask[i:i + per],
                    checked.factor)
        lat = starts[i:i + per].flatten(1, 2)  # (b, K * R, *dims)
        yy = None if ys is None else ys[i:i + per].flatten(1, 2)
        best, by, loss = _search(sp, part, lat, yy, steps=steps, lr=lr, prior=weight, keep=min(keep, k * restarts))
        out_lat.append(best)
        out_y.append(by)
        out_loss.append(loss)
    lat = torch.cat(out_lat)
    y = None if ys is None else torch.cat(out_y)
    with torch.no_grad():
        proj = torch.cat([sp.render(lat[i:i + chunk], None if y is None else y[i:i + chunk])
                          for i in range(0, n, chunk)]).float().clamp(-1, 1)
    return Restored(checked.finish(proj), proj, lat, y, torch.cat(out_loss), sp.space)


PRIOR = {"z": 0.01, "w": 0.001, "w+": 0.001}  # the prior weights (bench/bench_restore.py --priors measures them)


__all__ = ["NO_LATENT", "PRIOR", "Restored", "SPACES", "restore", "space_of"]
