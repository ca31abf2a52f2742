"""Stacked MNIST (1,000 modes) on real MNIST under a fixed CPU budget, scored by the VEEGAN / PacGAN protocol.

Each run: `Trainer(TrainConfig(dataset="stacked-mnist", ...))` with one torch thread (what the CLI uses on a
2-core machine), trained until its process has used each budget mark of CPU time (2, 5 and 10 minutes by
default; the clock pauses while it scores), and at each mark 26,000 samples of the sampling (EMA) generator
are read by `gan.metrics.modes.StackedMeter`: modes covered (of 1,000) and KL of the mode histogram from uniform.
Runs go in parallel processes, `--jobs` at a time. Every run appends a JSON line to `--log`; the table is
built from that log, so a grid can be run in pieces (`--table-only` rebuilds it). Replaces the "stacked"
section of bench/RESULTS.md.

    flock /tmp/gan-bench.lock .venv/bin/python bench/bench_stacked.py               # the full grid (~1 h)
    .venv/bin/python bench/bench_stacked.py --configs default --seeds 0 --minutes 0.2 --no-write   # a smoke run
    .venv/bin/python bench/bench_stacked.py --try "w32:width=32,lr=1e-3" --minutes 2 --no-write    # tuning
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import math
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

from common import fmt_mean_sd, machine, mean_sd, now, shared_path, update_results

# The bench's configurations, as TrainConfig overrides of the stacked-mnist defaults.
CLASSIC = {"loss": "bce", "r1": 0.0, "r2": 0.0, "r1_every": 1, "pac": 1, "ema": 0.0, "lr": 2e-4, "lr_d_mult": 1.0,
           "beta1": 0.5, "beta2": 0.999, "batch_size": 64, "width": 16}  # DCGAN's recipe (Radford et al.), no tricks
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "bce": dict(CLASSIC),
    "rpgan-r1-r2": {"loss": "rpgan", "r1": 1.0, "r2": 1.0, "r1_every": 1, "pac": 1, "width": 16},
    "pacgan2": {**CLASSIC, "pac": 2},
    "classic-mlp": {**CLASSIC, "model": "mlp", "width": None},
}
DESCRIBE = {
    "default": "the stacked-mnist defaults",
    "bce": "bce, no tricks (DCGAN recipe: lr 2e-4, β1 0.5, batch 64, no EMA, no penalty, no packing), width 16",
    "rpgan-r1-r2": "rpgan + R1 + R2 (γ 1 each, every step), width 16, other settings the defaults",
    "pacgan2": "PacGAN2: the bce row with D judging packs of 2",
    "classic-mlp": "the classic tutorial GAN: the bce row's recipe on the MLP (the collapse row)",
}
PUBLISHED = [("DCGAN", "99", "3.40"), ("Unrolled GAN", "48.7", "4.32"), ("VEEGAN", "150", "2.95"),
             ("PacDCGAN2", "1000", "0.06")]  # PacGAN's Table 2 (first rows from VEEGAN)
LOG = Path("/tmp/bench_stacked_runs.jsonl")


def _value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_try(spec: str) -> tuple[str, dict[str, Any]]:
    """'name:key=value,key=value' -> (name, overrides)."""
    name, _, rest = spec.partition(":")
    pairs = [p.split("=", 1) for p in rest.split(",") if p]
    if not name or any(len(p) != 2 for p in pairs):
        raise SystemExit(f"error: --try wants NAME:key=value,key=value, got {spec!r}")
    return name, {k.strip(): _value(v.strip()) for k, v in pairs}


def score_modes(meter: Any, nets: dict[str, Any], family: Any, *, n: int, seed: int) -> dict[str, Any]:
    """StackedMeter.score_nets's modes and KL, plus the KL of each channel's digit histogram from uniform
    (their sum is the whole KL when the channels are independent: the rest is dependence between them)."""
    import torch

    from gan.metrics.modes import class_kl
    from gan.metrics.modes import SCORE_CHUNK, mode_stats
    from gan.data.stacked import triples

    modes = torch.cat([meter.read(family.sample(nets, min(SCORE_CHUNK, n - start), seed=seed + i))[0]
                       for i, start in enumerate(range(0, n, SCORE_CHUNK))])
    s = mode_stats(modes)
    d = triples(modes)
    return {"modes": int(s["modes"]), "kl": s["mode_kl"], "kl_channels": [class_kl(d[:, c], 10) for c in range(3)]}


def run_one(name: str, overrides: dict[str, Any], seed: int, marks: list[float], data_dir: str,
            samples: int, log: str) -> dict[str, Any]:
    """Train one config, scoring at each CPU-time mark (minutes); runs in a worker process."""
    import torch

    torch.set_num_threads(1)
    from gan.config import TrainConfig
    from gan.metrics.modes import StackedMeter
    from gan.train.trainer import Trainer

    t = Trainer(TrainConfig(dataset="stacked-mnist", data_dir=data_dir, seed=seed, device="cpu", **overrides))
    meter = StackedMeter(t.data)
    cfg = t.cfg
    row: dict[str, Any] = {"config": name, "seed": seed, "overrides": overrides, "marks": [], "error": None,
                           "settings": {k: getattr(cfg, k) for k in (
                               "model", "loss", "width", "z_dim", "batch_size", "lr", "lr_d_mult", "beta1",
                               "beta2", "ema", "r1", "r2", "r1_every", "pac")}}
    used, w0 = 0.0, time.perf_counter()
    for mark in marks:
        c0 = time.process_time()
        try:
            t.train(steps=None, seconds=1e9, should_stop=lambda: used + time.process_time() - c0 >= 60 * mark)
        except Exception as e:  # a diverged run is a result too
            row["error"] = f"{type(e).__name__}: {e}"
        used += time.process_time() - c0
        s = score_modes(meter, t.sampling_nets(), t.family, n=samples, seed=10_000 + seed)
        row["marks"].append({"minutes": mark, "cpu_s": used, "wall_s": time.perf_counter() - w0,
                             "steps": t.step_count, "images": t.step_count * cfg.batch_size, **s})
        if row["error"]:
            break
    with open(log, "a") as f:
        f.write(json.dumps({**row, "time": now()}) + "\n")
    return row


def load_rows(log: Path, names: list[str], seeds: list[int]) -> list[dict[str, Any]]:
    """The latest logged run of every (config, seed) asked for."""
    latest: dict[tuple[str, int], dict] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            r = json.loads(line)
            if r["config"] in names and r["seed"] in seeds:
                latest[(r["config"], r["seed"])] = r
    return [latest[k] for k in sorted(latest, key=lambda k: (names.index(k[0]), k[1]))]


def _at(r: dict[str, Any], minutes: float) -> dict[str, Any] | None:
    return next((m for m in r["marks"] if m["minutes"] == minutes), None)


def table(rows: list[dict[str, Any]], names: list[str], marks: list[float]) -> str:
    """Markdown: per config, modes and KL (mean ± sd over seeds) at each mark."""
    head = " | ".join(f"{m:g} min: modes / KL" for m in marks)
    out = [f"| Config | Seeds | {head} | Steps at {marks[-1]:g} min | All 1,000 & KL ≤ 0.1 at {marks[-1]:g} min |",
           "| --- | --- | " + " | ".join("---" for _ in marks) + " | --- | --- |"]
    for name in names:
        rs = [r for r in rows if r["config"] == name]
        if not rs:
            continue
        cells = []
        for m in marks:
            got = [x for x in (_at(r, m) for r in rs) if x]
            cells.append(f"{fmt_mean_sd([x['modes'] for x in got])} / {fmt_mean_sd([x['kl'] for x in got], 2)}"
                         if got else "n/a")
        last = [x for x in (_at(r, marks[-1]) for r in rs) if x]
        ok = sum(1 for x in last if x["modes"] == 1000 and x["kl"] <= 0.1)
        errs = sum(1 for r in rs if r["error"])
        out.append(f"| {name} | {','.join(str(r['seed']) for r in rs)} | {' | '.join(cells)} | "
                   f"{mean_sd([x['steps'] for x in last])[0]:.0f} | {ok}/{len(last)}"
                   f"{f' ({errs} diverged)' if errs else ''} |")
    return "\n".join(out)


def per_seed(rows: list[dict[str, Any]], marks: list[float]) -> str:
    """Markdown: every run's modes / KL (and the sum of its channels' KLs) at every mark."""
    out = ["| Config | Seed | " + " | ".join(f"{m:g} min" for m in marks) + " |",
           "| --- | --- | " + " | ".join("---" for _ in marks) + " |"]
    for r in rows:
        cells = [(f"{x['modes']} / {x['kl']:.3f} (channels {sum(x.get('kl_channels', [math.nan])):.3f}; "
                  f"{x['steps']} steps)" if (x := _at(r, m)) else "n/a") for m in marks]
        out.append(f"| {r['config']} | {r['seed']} | {' | '.join(cells)} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"of {', '.join(CONFIGS)} (and --try names)")
    ap.add_argument("--try", dest="tries", action="append", default=[], metavar="NAME:k=v,...",
                    help="an extra config of TrainConfig overrides (tuning); repeatable")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--minutes", default="2,5,10", help="CPU-time marks per run, in minutes (the last is the budget)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel, one torch thread each")
    ap.add_argument("--samples", type=int, default=26_000, help="generated samples per score (the protocol: 26,000)")
    ap.add_argument("--data-dir", help="MNIST idx files (default: ../shared/data/mnist)")
    ap.add_argument("--log", type=Path, default=LOG, help="JSON lines, one per run (appended)")
    ap.add_argument("--table-only", action="store_true", help="rebuild the table from --log without training")
    ap.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    a = ap.parse_args(argv)
    configs = dict(CONFIGS)
    configs.update(parse_try(s) for s in a.tries)
    names = [n for n in a.configs.split(",") if n] + [parse_try(s)[0] for s in a.tries if
                                                       parse_try(s)[0] not in a.configs.split(",")]
    unknown = [n for n in names if n not in configs]
    if unknown:
        raise SystemExit(f"error: unknown config(s) {', '.join(unknown)}; choose from {', '.join(configs)}")
    seeds = [int(s) for s in a.seeds.split(",")]
    marks = sorted(float(m) for m in a.minutes.split(","))
    data_dir = a.data_dir or str(shared_path("data", "mnist", what="MNIST folder"))
    info = machine()
    t0 = time.perf_counter()
    if not a.table_only:
        from gan.data.spec import load_dataset
        from gan.metrics.modes import StackedMeter

        acc = StackedMeter(load_dataset("stacked-mnist", data_dir=data_dir)).accuracy  # train/cache it once
        runs = [(n, s) for n in names for s in seeds]
        print(f"{info}\nclassifier accuracy {acc:.4f}; {len(runs)} runs, {a.jobs} at a time: about "
              f"{len(runs) * marks[-1] / max(a.jobs, 1):.0f} min of training", flush=True)
        with cf.ProcessPoolExecutor(max_workers=a.jobs, mp_context=mp.get_context("spawn")) as ex:
            futs = [ex.submit(run_one, n, configs[n], s, marks, data_dir, a.samples, str(a.log)) for n, s in runs]
            for f in cf.as_completed(futs):
                r = f.result()
                figs = "; ".join(f"{m['minutes']:g} min {m['modes']} / {m['kl']:.3f} ({m['steps']} steps, "
                                 f"{m['wall_s']:.0f} s wall)" for m in r["marks"])
                print(f"{r['config']} seed {r['seed']}: {figs}{'  ' + r['error'] if r['error'] else ''}", flush=True)
    rows = load_rows(a.log, names, seeds)
    if not rows:
        raise SystemExit(f"error: no runs of {', '.join(names)} in {a.log}")
    md, seeds_md = table(rows, names, marks), per_seed(rows, marks)
    print("\n" + md + "\n\n" + seeds_md)
    full = marks[-1] >= 10 and len(seeds) >= 3
    settings = "\n".join(f"- `{n}`: {DESCRIBE.get(n, json.dumps(configs[n]))}; resolved: "
                         + ", ".join(f"{k} {v}" for k, v in r0["settings"].items())
                         for n in names if (r0 := next((r for r in rows if r["config"] == n), None)))
    body = [
        "## Stacked MNIST: 1,000 modes on real MNIST (`bench/bench_stacked.py`)", "",
        *([] if full else ["**A partial run (short budget or fewer than 3 seeds): see the command.**", ""]),
        f"Measured {now()} on {info}.",
        "Data: `stacked-mnist` from the MNIST t10k files (10,000 digits; 20,000 training triples per seed). "
        f"Each run trains with one torch thread (the CLI's default on 2 cores) until its process has used the "
        f"mark's CPU time (scoring excluded); {a.jobs} run(s) at a time. At each mark, {a.samples:,} samples of the "
        "sampling generator (EMA copy when EMA is on) are read channel by channel by the project's MNIST "
        "classifier (`gan.metrics.modes.StackedMeter`): modes covered of 1,000 and KL(mode histogram ‖ uniform) in "
        "nats. Real stacked data reads 1000 / 0.025 at 26,000 samples. Mean ± sd over seeds.", "",
        settings, "", md, "", "<details><summary>Every run</summary>", "", seeds_md, "", "</details>", "",
        "Published (PacGAN Table 2; the first rows from VEEGAN), trained on a GPU for many epochs:", "",
        "| Method | Modes (of 1000) | KL |", "| --- | --- | --- |",
        *[f"| {m} | {k} | {kl} |" for m, k, kl in PUBLISHED], "",
        "Command: `" + " ".join(["python bench/bench_stacked.py", *(argv if argv is not None else sys.argv[1:])]) + "`"
        + (f" (this invocation took {time.perf_counter() - t0:.0f} s)" if not a.table_only else ""),
    ]
    if not a.no_write:
        print(f"\nwrote {update_results('stacked', chr(10).join(body))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
