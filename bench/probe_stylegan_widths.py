"""Speed probe: parameter counts and the time of one GAN step for StyleGAN widths against the dcgan baseline.

28x28 grey, batch 32, one torch thread. One step = G forward, D on real+fake (one joint pass) + backward + fused
Adam step, then D on the fake (D frozen) + G backward + Adam step, with the non-saturating loss. The StyleGAN
step draws its ws with style mixing (prob 0.9) and updates w_avg, as a training step would. The models take
their steps in turn (round robin), so load from other processes hits all alike; prints the median of `--iters`
steps after 3 warm-up steps.

    .venv/bin/python bench/probe_stylegan_widths.py
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gan.stylegan.nets import StyleDiscriminator, StyleGenerator  # noqa: E402

SHAPE, BATCH, Z_DIM, WARMUP = (1, 28, 28), 32, 64, 3


def n_params(m: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


class Stepper:
    """One model pair with its optimisers; `step()` runs one D + G step (see the module docstring) and times it."""

    def __init__(self, name: str, g: nn.Module, d: nn.Module, make_fake: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.name, self.g, self.d, self.make_fake = name, g, d, make_fake
        self.params = (n_params(g), n_params(d))
        self.opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.0, 0.99), fused=True)
        self.opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.0, 0.99), fused=True)
        self.gen = torch.Generator().manual_seed(0)
        self.real = torch.rand(BATCH, *SHAPE, generator=self.gen) * 2 - 1
        self.times: list[float] = []

    def step(self) -> None:
        t0 = time.perf_counter()
        z = torch.randn(BATCH, Z_DIM, generator=self.gen)
        fake = self.make_fake(z)  # (B, 1, 28, 28)
        self.d.requires_grad_(True)
        d_real, d_fake = self.d(torch.cat([self.real, fake.detach()])).chunk(2)  # (B,), (B,)
        d_loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        self.d.requires_grad_(False)
        g_loss = F.softplus(-self.d(fake)).mean()
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.times.append(time.perf_counter() - t0)


def stylegan_stepper(width: int, mapping_layers: int) -> Stepper:
    """A StyleGAN pair whose fake batch uses style mixing and updates w_avg, as a training step would."""
    cfg = types.SimpleNamespace(data_shape=SHAPE, z_dim=Z_DIM, n_classes=0, width=width, w_dim=0,
                                mapping_layers=mapping_layers)
    g, d = StyleGenerator(cfg).train(), StyleDiscriminator(cfg)
    mix_gen = torch.Generator().manual_seed(1)

    def make_fake(z: torch.Tensor) -> torch.Tensor:
        ws = g.mixing_regularised_ws(z, None, prob=0.9, generator=mix_gen)  # (B, num_ws, w_dim)
        g.update_w_avg(ws[:, 0])
        return g.synthesis(ws)  # (B, 1, 28, 28), fresh noise

    return Stepper(f"stylegan width {width}", g, d, make_fake)


def main() -> None:
    """Print one row per model: parameters of G and D and the median step time."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--widths", type=int, nargs="+", default=[8, 16, 24, 32])
    ap.add_argument("--mapping-layers", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    from gan.config import ModelConfig
    from gan.family import build_models

    g, d = build_models(ModelConfig(model="dcgan", data_shape=SHAPE, z_dim=Z_DIM, width=16))
    steppers = [Stepper("dcgan width 16", g.train(), d, lambda z: g(z))]
    steppers += [stylegan_stepper(w, args.mapping_layers) for w in args.widths]
    for i in range(WARMUP + args.iters):  # round robin, so load from other processes hits every model alike
        for s in steppers:
            s.step()
    print(f"28x28 grey, batch {BATCH}, z_dim {Z_DIM}, mapping_layers {args.mapping_layers}, 1 thread; median of "
          f"{args.iters} steps (D on real+fake, G through D, fused Adam steps for both), models interleaved")
    print(f"{'model':<22}{'G params':>10}{'D params':>10}{'step ms':>10}{'x dcgan':>9}")
    base = statistics.median(steppers[0].times[WARMUP:])
    for s in steppers:
        t = statistics.median(s.times[WARMUP:])
        print(f"{s.name:<22}{s.params[0]:>10,}{s.params[1]:>10,}{t * 1e3:>10.1f}{t / base:>9.2f}")


if __name__ == "__main__":
    main()
