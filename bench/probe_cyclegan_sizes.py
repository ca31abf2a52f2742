"""Probe CycleGAN network sizes on CPU: parameter counts and the time of one full training step.

Domains: A = 28x28 procedural digits (1 channel), B = colordigits (3 channels). One torch thread, D width 16,
a few generator widths / block counts, batch sizes 8 and 16. One step = both generators' forward (adversarial
LSGAN + cycle + identity losses), backward, Adam; then both discriminators on real and pooled fakes, backward,
Adam. Prints the median step time over --iters steps (after 2 warm-up steps), and the time of
make_colordigits(20000). Nothing is written.

    .venv/bin/python bench/probe_cyclegan_sizes.py            # about a minute on one core
    .venv/bin/python bench/probe_cyclegan_sizes.py --iters 3  # a smoke run
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gan.data.colordigits import make_colordigits  # noqa: E402
from gan.cyclegan.nets import ImagePool, PatchDiscriminator, ResnetGenerator, generator_losses  # noqa: E402
from gan.data.digits import make_digits  # noqa: E402
from gan.losses import d_least_squares  # noqa: E402

G_SIZES = [(8, 2), (8, 3), (16, 3), (16, 6), (32, 3)]  # (width, n_blocks)
BATCHES = [8, 16]
D_WIDTH = 16


def n_params(m: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in m.parameters())


def time_steps(width: int, n_blocks: int, batch: int, a: torch.Tensor, b: torch.Tensor, iters: int) -> float:
    """Median seconds of one full CycleGAN step (G step then D step) at these sizes."""
    torch.manual_seed(0)
    g_ab, g_ba = ResnetGenerator(1, 3, width=width, n_blocks=n_blocks), ResnetGenerator(3, 1, width=width,
                                                                                         n_blocks=n_blocks)
    d_a, d_b = PatchDiscriminator(1, width=D_WIDTH), PatchDiscriminator(3, width=D_WIDTH)
    opt_g = torch.optim.Adam(itertools.chain(g_ab.parameters(), g_ba.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(itertools.chain(d_a.parameters(), d_b.parameters()), lr=2e-4, betas=(0.5, 0.999))
    pool_a, pool_b = ImagePool(50), ImagePool(50)
    gen = torch.Generator().manual_seed(0)
    times = []
    for i in range(iters + 2):
        real_a = a[torch.randint(0, a.shape[0], (batch,), generator=gen)]
        real_b = b[torch.randint(0, b.shape[0], (batch,), generator=gen)]
        t0 = time.perf_counter()
        d_a.requires_grad_(False), d_b.requires_grad_(False)  # G's step needs no gradients for D
        loss_g, _, fake_a, fake_b = generator_losses(g_ab, g_ba, d_a, d_b, real_a, real_b)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        d_a.requires_grad_(True), d_b.requires_grad_(True)
        loss_d = (d_least_squares(d_a(real_a), d_a(pool_a.query(fake_a, gen)))
                  + d_least_squares(d_b(real_b), d_b(pool_b.query(fake_b, gen))))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=10, help="timed steps per configuration")
    args = ap.parse_args()
    torch.set_num_threads(1)

    t0 = time.perf_counter()
    make_digits(20000, seed=0)
    t_digits = time.perf_counter() - t0
    t0 = time.perf_counter()
    b, _ = make_colordigits(20000, seed=1)
    t_color = time.perf_counter() - t0
    print(f"make_digits(20000): {t_digits:.2f} s; make_colordigits(20000): {t_color:.2f} s "
          f"(of which colorize {t_color - t_digits:.2f} s), 1 thread")
    a, _ = make_digits(2000, seed=0)
    b = b[:2000]

    d_a, d_b = PatchDiscriminator(1, width=D_WIDTH), PatchDiscriminator(3, width=D_WIDTH)
    print(f"D width {D_WIDTH}, n_layers 2 (receptive field {d_a.receptive_field} px, 5x5 patches at 28 px): "
          f"D_a {n_params(d_a):,} + D_b {n_params(d_b):,} params")
    print(f"{'G width':>7} {'blocks':>6} {'G_ab+G_ba params':>16} {'batch':>5} {'step ms':>8} {'img/s':>6}")
    for width, n_blocks in G_SIZES:
        params = n_params(ResnetGenerator(1, 3, width=width, n_blocks=n_blocks)) + n_params(
            ResnetGenerator(3, 1, width=width, n_blocks=n_blocks))
        for batch in BATCHES:
            t = time_steps(width, n_blocks, batch, a, b, args.iters)
            print(f"{width:>7} {n_blocks:>6} {params:>16,} {batch:>5} {t * 1000:>8.0f} {batch / t:>6.0f}", flush=True)


if __name__ == "__main__":
    main()
