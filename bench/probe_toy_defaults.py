"""Probe toy-set settings: train ring8 / grid25 open-ended and score 2,500 EMA samples at CPU-time checkpoints.

Each run trains one config (the defaults plus `--set key=value` overrides) on one torch thread and, at each
checkpoint of process CPU seconds, scores `trainer.sample(2500)` with `gan.metrics.modes.mode_score` (sampling is
not counted). Prints one line per run: modes / HQ % / reverse KL at every checkpoint. No RESULTS.md section.

    .venv/bin/python bench/probe_toy_defaults.py --dataset ring8 --at 10,20,30,60 --set decay_steps=8000
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import sys
import time


def parse_value(v: str):
    """'1e-3' -> 0.001, '4' -> 4, 'true' -> True, else the string."""
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def ramp(step: int, steps: int, start: float, end: float) -> float:
    """`start` moving linearly to `end` over `steps` steps, then `end` (at once when steps <= 0)."""
    frac = 1.0 if steps <= 0 else min(1.0, step / steps)
    return start + frac * (end - start)


def run_one(dataset: str, seed: int, at: list[float], overrides: dict) -> dict:
    """Train open-ended, scoring at each CPU-time checkpoint (runs in a worker process)."""
    import torch

    torch.set_num_threads(1)
    import gan.train.trainer
    from gan.config import TrainConfig
    from gan.metrics.modes import mode_score
    from gan.train.trainer import Trainer

    overrides = dict(overrides)
    floor = overrides.pop("floor", None)
    if floor is not None:  # probe only: decay to a floor instead of to 0
        base = gan.train.trainer.lr_factor
        gan.train.trainer.lr_factor = lambda step, d: max(float(floor), base(step, d))

    d_width, g_layers = overrides.pop("d_width", None), overrides.pop("g_layers", None)
    if d_width is not None or g_layers is not None:  # probe only: another D width, or G depth, than the toy's
        import dataclasses

        import gan.classic.nets as gm
        from gan.registry import MODELS

        def build(cfg):
            nets = gm._build_toy(cfg)
            if d_width is not None:
                nets["D"] = gm.MLPDiscriminator(cfg, [int(d_width)] * 3, act=gm._leaky)
            if g_layers is not None:
                nets["G"] = gm.MLPGenerator(cfg, [cfg.width] * int(g_layers), act=torch.nn.ReLU, tanh=False)
            return nets
        MODELS.register("toy", dataclasses.replace(MODELS.get("toy"), build=build), replace=True)

    la_k, la_a = int(overrides.pop("lookahead", 0)), float(overrides.pop("la_alpha", 0.5))
    topk, topk_steps = overrides.pop("topk", None), int(overrides.pop("topk_steps", 0))
    nu = [1.0]
    if topk is not None:  # probe only: top-k G updates (Sinha et al. 2020) on the hinge loss's G side
        from gan.losses import Loss, d_hinge
        from gan.registry import LOSSES

        def g_topk(fake):
            k = max(1, int(round(nu[0] * fake.shape[0])))
            return -fake.reshape(fake.shape[0], -1).mean(1).topk(k).values.mean()
        LOSSES.register("hinge-topk", Loss(d_hinge, g_topk, doc="probe"), replace=True)
        overrides["loss"] = "hinge-topk"
    bw_start, bw_steps = overrides.pop("bw_start", None), int(overrides.pop("bw_steps", 0))
    dataset = overrides.pop("dataset", dataset)
    t = Trainer(TrainConfig(dataset=dataset, seed=seed, device="cpu", **overrides))
    if bw_start is not None:  # probe only: batch-size warm-up, bw_start rising linearly to the config's batch
        full = t.cfg.batch_size

        def warm(tr, _stats):
            tr.streams["stream"].batch_size = int(round(ramp(tr.step_count, bw_steps, bw_start, full)))
        warm(t, None)
        t.add_callback("on_step", warm)
    if topk is not None:  # nu falls linearly from 1 to `topk` over `topk_steps` steps (0: at once)
        def anneal(tr, _stats):
            nu[0] = ramp(tr.step_count, topk_steps, 1.0, float(topk))
        anneal(t, None)
        t.add_callback("on_step", anneal)
    if la_k:  # probe only: Lookahead-minmax (Chavdarova et al. 2021) over G and D together
        slow = {k: [p.detach().clone() for p in net.parameters()] for k, net in t.nets.items()}

        def lookahead(tr, _stats):
            if tr.step_count % la_k:
                return
            with torch.no_grad():
                for k, net in tr.nets.items():
                    for s, p in zip(slow[k], net.parameters()):
                        s.add_(p - s, alpha=la_a)
                        p.copy_(s)
        t.add_callback("on_step", lookahead)
    used, points = 0.0, []
    for cp in at:
        c0 = time.process_time()
        t.train(steps=None, seconds=1e9, should_stop=lambda: used + time.process_time() - c0 >= cp)
        used += time.process_time() - c0
        s = mode_score(t.sample(2500, seed=10_000 + seed), t.data.modes, t.data.std)
        raw = t.family.sample({"G": t.nets["G"]}, 2500, seed=10_000 + seed)  # without EMA, for comparison
        r = mode_score(raw, t.data.modes, t.data.std)
        points.append((cp, t.step_count, s["modes"], s["n_modes"], s["high_quality"], s["reverse_kl"],
                       r["high_quality"]))
    return {"seed": seed, "points": points}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ring8")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--at", default="10,20,30,45,60", help="CPU-second checkpoints")
    ap.add_argument("--try", dest="tries", action="append", default=[],
                    help="a variant: comma-separated TrainConfig overrides key=value (floor=F: lr decays to F; d_width=W: D's hidden width; g_layers=N: G's hidden layers; lookahead=K, la_alpha=A: Lookahead-minmax; topk=NU, topk_steps=S: top-k G updates, NU falling from 1 over S steps; bw_start=B, bw_steps=S: batch rising from B over S steps)")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    at = [float(x) for x in a.at.split(",")]
    variants = [{k: parse_value(v) for k, v in (kv.split("=", 1) for kv in t.split(",") if kv)}
                for t in (a.tries or [""])]
    seeds = [int(s) for s in a.seeds.split(",")]
    jobs = [(v, s) for v in variants for s in seeds]
    # a fresh process per run: a probe-only patch (floor, d_width) must not leak into the next run
    with cf.ProcessPoolExecutor(max_workers=a.jobs, mp_context=mp.get_context("spawn"), max_tasks_per_child=1) as ex:
        futs = [ex.submit(run_one, a.dataset, s, at, v) for v, s in jobs]
        rows = [f.result() for f in futs]
    for i, v in enumerate(variants):
        print(f"{a.dataset} {v}")
        for (_, s), r in zip(jobs, rows):
            if _ is not v:
                continue
            cells = [f"{cp:g}s:{m}/{k} {100 * hq:.1f}% {kl:.3f} ({st}; raw G {100 * rh:.1f}%)"
                     for cp, st, m, k, hq, kl, rh in r["points"]]
            print(f"  seed {r['seed']}: " + " | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
