"""Many alike ring8 runs on one CPU: time-sliced Trainer steps against one batched step (torch.func.vmap).

A class on the ring8 defaults trains N runs with the same shapes. Two ways to advance all N by one step:

- sliced: N real `Trainer.step()` calls one after another (what the app's CPU share does, one run per turn);
- batched: the N runs' G and D stacked with `torch.func.stack_module_state` and one `vmap`ped functional GAN
  step (hinge loss, joint D pass, Adam by hand on the stacked tensors, G's EMA): the same arithmetic per run,
  without the trainer's history, checks and bookkeeping;
- and, to tell the two effects apart, the batched code unbatched: the functional step looped over the N runs.

Rounds alternate so that load from other processes hits every variant alike. Prints steps/s per run-step.

    python bench/bench_vmap_class.py                  # N = 8, 5 rounds of 3 s each
    python bench/bench_vmap_class.py --runs 8 --rounds 3 --seconds 2 --no-write
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from torch.func import functional_call, grad_and_value, stack_module_state, vmap  # noqa: E402

from common import fmt_mean_sd, machine, now, update_results  # noqa: E402
from gan.config import TrainConfig  # noqa: E402
from gan.train.trainer import Trainer  # noqa: E402


def functional_step(trainers: list[Trainer], batched: bool):
    """A step function over N runs: (params, adam state, batch) -> new state, stacked (vmap) or per run."""
    G0, D0 = trainers[0].nets["G"], trainers[0].nets["D"]
    cfg = trainers[0].cfg
    lr_g, lr_d = cfg.lr, cfg.lr * cfg.lr_d_mult
    b1, b2, eps = cfg.beta1, cfg.beta2, 1e-8

    def d_loss(pd, pg, x, z):
        fake = functional_call(G0, pg, (z,)).detach()
        both = functional_call(D0, pd, (torch.cat([x, fake]),))
        real, fk = both.chunk(2)
        return torch.relu(1 - real).mean() + torch.relu(1 + fk).mean()

    def g_loss(pg, pd, z):
        return -functional_call(D0, pd, (functional_call(G0, pg, (z,)),)).mean()

    gd, gg = grad_and_value(d_loss), grad_and_value(g_loss)
    if batched:
        gd, gg = vmap(gd), vmap(gg)

    def adam(p, g, m, v, t, lr):
        for k in p:
            m[k].mul_(b1).add_(g[k], alpha=1 - b1)
            v[k].mul_(b2).addcmul_(g[k], g[k], value=1 - b2)
            denom = (v[k] / (1 - b2 ** t)).sqrt_().add_(eps)
            p[k] = p[k] - lr * (m[k] / (1 - b1 ** t)) / denom

    def step(s, x, z, t):
        g, _ = gd(s["d"], s["g"], x, z)
        adam(s["d"], g, s["dm"], s["dv"], t, lr_d)
        g, _ = gg(s["g"], s["d"], z)
        adam(s["g"], g, s["gm"], s["gv"], t, lr_g)
        for k in s["ema"]:
            s["ema"][k].lerp_(s["g"][k], 1 - cfg.ema)
    return step


def state_of(trainers: list[Trainer], batched: bool) -> list[dict] | dict:
    def one(ts):
        if batched:
            g, _ = stack_module_state([t.nets["G"] for t in ts])
            d, _ = stack_module_state([t.nets["D"] for t in ts])
        else:
            g = {k: v.detach().clone() for k, v in ts[0].nets["G"].named_parameters()}
            d = {k: v.detach().clone() for k, v in ts[0].nets["D"].named_parameters()}
        g = {k: v.detach() for k, v in g.items()}
        d = {k: v.detach() for k, v in d.items()}
        zeros = lambda p: {k: torch.zeros_like(v) for k, v in p.items()}  # noqa: E731
        return {"g": g, "d": d, "gm": zeros(g), "gv": zeros(g), "dm": zeros(d), "dv": zeros(d),
                "ema": {k: v.clone() for k, v in g.items()}}
    return one(trainers) if batched else [one([t]) for t in trainers]


def verdict(rates: dict[str, list[float]], base: float) -> str:
    """Which way the app keeps, in words."""
    batched = rates["batched vmap step"]
    gain = sum(batched) / len(batched) / base
    spread = (max(batched) - min(batched)) / base
    if gain >= 1.5:
        return (f"The batched step is {gain:.2f}x the sliced one: worth a batched trainer for classes of alike "
                f"runs.")
    return (f"Kept: the time-sliced steps (demo/runs/sharing.py). The batched step makes {gain:.2f}x the sliced "
            f"steps, less than its own spread across rounds ({spread:.2f}x): a ring8 step at batch 512 is "
            f"arithmetic, not overhead, so stacking 8 runs saves little, and it would need a batched trainer "
            f"(stacked optimizers, one RNG stream per run, per-run histories, checkpoints, stop and resume).")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)  # what the app gives a points run (gan.train.threads.default_threads)
    n = a.runs
    trainers = [Trainer(TrainConfig(dataset="ring8", device="cpu", seed=i)) for i in range(n)]
    cfg = trainers[0].cfg
    B, zd = cfg.batch_size, trainers[0].model_config.z_dim
    gen = torch.Generator().manual_seed(0)
    xs = [t.data.sample_real(B, gen)[0] for t in trainers]
    batched_state, looped_state = state_of(trainers, True), state_of(trainers, False)
    f_batched, f_looped = functional_step(trainers, True), functional_step(trainers, False)
    x_stack = torch.stack(xs)

    def sliced():
        for t in trainers:
            t.step()

    def batched(k=[0]):
        k[0] += 1
        f_batched(batched_state, x_stack, torch.randn(n, B, zd, generator=gen), k[0])

    def looped(k=[0]):
        k[0] += 1
        for i in range(n):
            f_looped(looped_state[i], xs[i], torch.randn(B, zd, generator=gen), k[0])

    variants = {"sliced Trainer.step (the app)": sliced, "batched vmap step": batched,
                "functional step, looped": looped}
    rates: dict[str, list[float]] = {k: [] for k in variants}
    for fn in variants.values():  # warm-up
        for _ in range(3):
            fn()
    for r in range(a.rounds):
        for name, fn in variants.items():
            t0, k = time.perf_counter(), 0
            while time.perf_counter() - t0 < a.seconds:
                fn()
                k += 1
            rates[name].append(k * n / (time.perf_counter() - t0))  # run-steps per second, all runs together
        print(f"round {r + 1}: " + ", ".join(f"{k}: {v[-1]:.0f}" for k, v in rates.items()), flush=True)
    base = sum(rates["sliced Trainer.step (the app)"]) / a.rounds
    rows = "\n".join(f"| {k} | {fmt_mean_sd(v, 0)} | {sum(v) / len(v) / base:.2f} |" for k, v in rates.items())
    body = f"""## Many alike ring8 runs: time-sliced steps vs one batched vmap step (`bench/bench_vmap_class.py`)

Measured {now()} on {machine()}.
{n} ring8 runs on the defaults ({cfg.model}, batch {B}, width {cfg.width}, loss {cfg.loss}), one thread; run-steps per
second of all {n} runs together, mean ± sd over {a.rounds} alternating rounds of {a.seconds:.0f} s.

| variant | run-steps/s | vs sliced |
| --- | --- | --- |
{rows}

{verdict(rates, base)}

Command: `python bench/bench_vmap_class.py --runs {n} --rounds {a.rounds} --seconds {a.seconds:g}`
"""
    print(body)
    if not a.no_write:
        update_results("vmap_class", body)


if __name__ == "__main__":
    main()
