"""Mode coverage on ring8 and grid25 (the VEEGAN / PacGAN protocol) for each loss x seed, under a time budget.

Each run: `Trainer(TrainConfig(dataset=..., loss=..., seed=...))` with the default toy model, trained for a
fixed budget (wall clock by default, `--clock cpu` for process CPU time), then 2,500 samples from
`trainer.sample` scored with `gan.metrics.mode_score`. Runs go in parallel processes, one torch thread each,
`--jobs` at a time. Prints a table and replaces the "modes" section of bench/RESULTS.md.

    .venv/bin/python bench/bench_modes.py                                   # the full benchmark
    .venv/bin/python bench/bench_modes.py --seconds 3 --seeds 0 --losses bce,hinge   # a smoke run
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import sys
import time

from common import fmt_mean_sd, machine, mean_sd, now, update_results  # noqa: E402

DEFAULT_SECONDS = {"ring8": 60.0, "grid25": 120.0}
LOSSES = ["bce", "wgan-gp", "hinge", "lsgan"]
PUBLISHED = [  # (source, method, ring modes, ring HQ %, grid modes, grid HQ %), from the brief
    ("VEEGAN", "GAN", "1", "99.3", "3.3", "0.5"),
    ("VEEGAN", "VEEGAN", "8", "52.9", "24.6", "40"),
    ("PacGAN", "GAN", "6.3", "98.2", "17.3", "94.8"),
    ("PacGAN", "PacGAN4", "7.8", "95.9", "24.8", "93.6"),
]


def run_one(dataset: str, loss: str, seed: int, seconds: float, clock: str, samples: int) -> dict:
    """Train one config for the budget and score 2,500 samples (runs in a worker process)."""
    import torch

    torch.set_num_threads(1)
    from gan.config import TrainConfig
    from gan.datasets import default_train_settings
    from gan.metrics import mode_score
    from gan.trainer import Trainer

    t = Trainer(TrainConfig(dataset=dataset, loss=loss, seed=seed, device="cpu"))
    w0, c0 = time.perf_counter(), time.process_time()
    error = None
    try:
        if clock == "cpu":
            t.train(steps=None, seconds=seconds * 100, should_stop=lambda: time.process_time() - c0 >= seconds)
        else:
            t.train(seconds=seconds)
    except Exception as e:  # a diverged run is a result too
        error = f"{type(e).__name__}: {e}"
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    x = t.sample(samples, seed=10_000 + seed)
    s = mode_score(x, t.data.modes, t.data.std)
    return {"dataset": dataset, "loss": loss, "seed": seed, "budget": seconds, "clock": clock,
            "wall": wall, "cpu": cpu, "steps": t.step_count, "batch": t.cfg.batch_size, "error": error,
            "model": t.cfg.model, "width": t.cfg.width, "lr": t.cfg.lr, "lr_d": t.opt_d.param_groups[0]["lr"],
            "default_loss": default_train_settings(t.data)["loss"], **s}


def table(rows: list[dict], datasets: list[str], losses: list[str]) -> str:
    """Markdown: per dataset x loss, mean ± sd over seeds; then the published rows."""
    out = ["| Dataset | Loss | Modes | High quality % | Reverse KL | Steps | Seeds | All modes ≥95% HQ |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for ds in datasets:
        for loss in losses:
            r = [x for x in rows if x["dataset"] == ds and x["loss"] == loss]
            if not r:
                continue
            k = r[0]["n_modes"]
            ok = sum(1 for x in r if x["modes"] == k and x["high_quality"] >= 0.95)
            errs = sum(1 for x in r if x["error"])
            name = f"**{loss}** (default)" if loss == r[0]["default_loss"] else loss
            out.append(f"| {ds} | {name} | {fmt_mean_sd([x['modes'] for x in r])} / {k} | "
                       f"{fmt_mean_sd([x['high_quality'] for x in r], scale=100)} | "
                       f"{fmt_mean_sd([x['reverse_kl'] for x in r], digits=3)} | "
                       f"{mean_sd([x['steps'] for x in r])[0]:.0f} | {len(r)} | "
                       f"{ok}/{len(r)}{f' ({errs} diverged)' if errs else ''} |")
    out += ["", "Published (modes / high quality %):", "",
            "| Source | Method | Ring modes | Ring HQ % | Grid modes | Grid HQ % |", "| --- | --- | --- | --- | --- | --- |"]
    out += [f"| {a} | {b} | {c} | {d} | {e} | {f} |" for a, b, c, d, e, f in PUBLISHED]
    return "\n".join(out)


def verdict(rows: list[dict], datasets: list[str]) -> str:
    """Whether the default loss captured every mode with >= 95% high quality, on average over the seeds."""
    lines = []
    for ds in datasets:
        r = [x for x in rows if x["dataset"] == ds and x["loss"] == x["default_loss"]]
        if not r:
            continue
        k = r[0]["n_modes"]
        modes, hq = mean_sd([x["modes"] for x in r])[0], mean_sd([x["high_quality"] for x in r])[0]
        ok = modes == k and hq >= 0.95
        lines.append(f"Defaults ({r[0]['default_loss']}) on {ds}: {modes:.1f} / {k} modes, {100 * hq:.1f}% high quality "
                     f"over {len(r)} seeds: target (all modes, >= 95%) {'met' if ok else 'missed'}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="ring8,grid25")
    ap.add_argument("--losses", default=",".join(LOSSES))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--seconds", type=float, help="budget per run for every dataset (default: ring8 60, grid25 120)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="budget in wall-clock seconds (trainer.train(seconds=)) or process CPU seconds")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel, one torch thread each")
    ap.add_argument("--samples", type=int, default=2500)
    ap.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    a = ap.parse_args(argv)
    datasets, losses = a.datasets.split(","), a.losses.split(",")
    seeds = [int(s) for s in a.seeds.split(",")]
    budget = {ds: a.seconds if a.seconds else DEFAULT_SECONDS.get(ds, 60.0) for ds in datasets}
    configs = [(ds, loss, seed) for ds in datasets for loss in losses for seed in seeds]
    info = machine()
    total = sum(budget[ds] for ds, _, _ in configs) / max(a.jobs, 1)
    print(f"{info}\n{len(configs)} runs, {a.jobs} at a time: about {total:.0f} s", flush=True)
    t0 = time.perf_counter()
    rows = []
    with cf.ProcessPoolExecutor(max_workers=a.jobs, mp_context=mp.get_context("spawn")) as ex:
        futs = {ex.submit(run_one, ds, loss, seed, budget[ds], a.clock, a.samples): (ds, loss, seed)
                for ds, loss, seed in configs}
        for f in cf.as_completed(futs):
            r = f.result()
            rows.append(r)
            print(f"{r['dataset']:7s} {r['loss']:8s} seed {r['seed']}: modes {r['modes']}/{r['n_modes']} "
                  f"HQ {100 * r['high_quality']:.1f}% rKL {r['reverse_kl']:.3f}  {r['steps']} steps in "
                  f"{r['wall']:.1f} s wall / {r['cpu']:.1f} s CPU{'  ' + r['error'] if r['error'] else ''}", flush=True)
    rows.sort(key=lambda r: (datasets.index(r["dataset"]), losses.index(r["loss"]), r["seed"]))
    md = table(rows, datasets, losses)
    verdicts = verdict(rows, datasets)
    print("\n" + md + "\n\n" + verdicts)
    smoke = any(budget[ds] < DEFAULT_SECONDS.get(ds, 60.0) for ds in datasets) or len(seeds) < 3
    r0 = rows[0]
    body = [
        "## Mode coverage on ring8 and grid25 (`bench/bench_modes.py`)", "",
        *(["**SMOKE RUN with tiny budgets: these figures only show that the script works; they are not the "
           "benchmark.**", ""] if smoke else []),
        f"Measured {now()} on {info}.",
        f"Default toy model ({r0['model']}, width {r0['width']}, batch {r0['batch']}, lr {r0['lr']:g} for G and "
        f"{r0['lr_d']:g} for D); budget per run "
        f"{', '.join(f'{ds} {budget[ds]:g} s' for ds in datasets)} of {a.clock} clock; {a.jobs} runs in parallel, "
        f"one torch thread each; {a.samples} samples per run from the EMA generator (`trainer.sample`), scored by "
        f"`gan.metrics.mode_score`. Mean ± sd over seeds {a.seeds}. Total {time.perf_counter() - t0:.0f} s.",
        "", md, "", *[f"- {v}" for v in verdicts.splitlines()], "",
        "Command: `" + " ".join(["python bench/bench_modes.py", *(argv if argv is not None else sys.argv[1:])]).strip() + "`",
    ]
    if not a.no_write:
        print(f"\nwrote {update_results('modes', chr(10).join(body))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
