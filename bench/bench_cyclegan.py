"""CycleGAN on digits2colordigits: held-out translation quality after 60, 120 and 300 s of training on CPU.

One process, the CLI's thread default for image pairs (half the cores: 1 thread on a 2-core machine). For each
seed, one run trains for the largest budget; it is paused at each smaller budget to score its translations
(scoring time is not counted). Per direction, on all 1,000 held-out images of the source domain:
- label kept: the target domain's digit classifier reads the source image's class in the translation;
- domain score: the A-vs-B classifier puts the translation in the target domain;
- cycle L1: mean |F(G(a)) - a| (and |G(F(b)) - b|) on the [-1, 1] scale, against two baselines: the untrained
  networks (step 0), and the L1 of answering every image with its domain's mean image, the best a
  reconstruction can do that keeps nothing of its particular input. A cycle that keeps content must beat it.

    flock /tmp/gan-bench.lock .venv/bin/python bench/bench_cyclegan.py                  # 2 seeds x 300 s, writes RESULTS.md
    .venv/bin/python bench/bench_cyclegan.py --budgets 20,40 --seeds 0 --no-write       # a quick try
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch

from common import fmt_mean_sd, machine, now, update_results
from gan.config import ModelConfig, TrainConfig
from gan.cyclegan.family import N_BLOCKS
from gan.data.spec import load_dataset
from gan.family import family_of, train_defaults
from gan.images import picture, save_png
from gan.metrics.scores import build_meter
from gan.train.threads import default_threads
from gan.train.trainer import Trainer

COLUMNS = ("label_kept_ab", "label_kept_ba", "domain_ab", "domain_ba", "cycle_aba", "cycle_bab")


def config(args: argparse.Namespace, *, seed: int = 0) -> TrainConfig:
    """The run's TrainConfig: the flags given, the dataset's and family's defaults for the rest."""
    return TrainConfig(dataset="digits2colordigits", seed=seed, device="cpu", width=args.width,
                       batch_size=args.batch_size, lr=args.lr, cycle=args.cycle, identity=args.identity,
                       pool=args.pool, decay_steps=args.decay_steps, loss=args.loss, lr_d_mult=args.lr_d_mult,
                       pac=args.pac, ema=args.ema)


def run_seed(seed: int, budgets: list[float], args: argparse.Namespace) -> list[dict]:
    """Train one run, scoring after each budget (seconds of training); rows of numbers, step 0 first."""
    data = load_dataset("digits2colordigits", seed=seed)
    meter = build_meter(data)
    cfg = config(args, seed=seed)
    fields = family_of("cyclegan").model_config_fields(cfg.resolved(train_defaults("digits2colordigits")), data)
    mc = ModelConfig(**{**fields, "n_blocks": args.n_blocks})
    trainer = Trainer(cfg, data=data, model_config=mc)
    rows = [{"seconds": 0.0, "step": 0, **meter.score(trainer.sampling_nets(), n=args.n)}]
    trained = 0.0
    for budget in budgets:
        t0 = time.perf_counter()
        trainer.train(seconds=budget - trained)
        trained += time.perf_counter() - t0
        row = {"seconds": round(trained, 1), "step": trainer.step_count,
               "steps_per_s": trainer.step_count / trained,
               **meter.score(trainer.sampling_nets(), n=args.n)}
        rows.append(row)
        if args.pictures:
            os.makedirs(args.pictures, exist_ok=True)
            grid = picture(trainer.fixed_samples(), nrow=trainer.family.watch_columns(mc), upscale=2)
            save_png(grid, os.path.join(args.pictures, f"cyclegan-seed{seed}-{budget:g}s.png"))
        print(json.dumps({"seed": seed, **{k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}}),
              flush=True)
    rows[0]["info"] = meter.info
    return rows


def table(results: dict[int, list[dict]], budgets: list[float]) -> str:
    """Markdown: one line per budget (mean ± sd over seeds), plus the step-0 and mean-image baselines."""
    head = ("| training | steps/s | label kept A→B | label kept B→A | domain A→B | domain B→A | cycle L1 A→B→A "
            "| cycle L1 B→A→B |\n|---|---|---|---|---|---|---|---|\n")
    pct = lambda key, i: fmt_mean_sd([r[i][key] for r in results.values()], 1, 100, "%")  # noqa: E731
    l1 = lambda key, i: fmt_mean_sd([r[i][key] for r in results.values()], 3)  # noqa: E731
    lines = [f"| untrained (step 0) | – | {pct('label_kept_ab', 0)} | {pct('label_kept_ba', 0)} | "
             f"{pct('domain_ab', 0)} | {pct('domain_ba', 0)} | {l1('cycle_aba', 0)} | {l1('cycle_bab', 0)} |"]
    for i, b in enumerate(budgets, start=1):
        sps = fmt_mean_sd([r[i]["steps_per_s"] for r in results.values()], 1)
        lines.append(f"| {b:g} s | {sps} | {pct('label_kept_ab', i)} | {pct('label_kept_ba', i)} | "
                     f"{pct('domain_ab', i)} | {pct('domain_ba', i)} | {l1('cycle_aba', i)} | {l1('cycle_bab', i)} |")
    info = next(iter(results.values()))[0]["info"]
    lines.append(f"| mean image (keeps no content) | – | – | – | – | – | {info['cycle_baseline_a']:.3f} | "
                 f"{info['cycle_baseline_b']:.3f} |")
    return head + "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="60,120,300", help="training seconds at which to score")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--n-blocks", type=int, default=N_BLOCKS)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--lr-d-mult", type=float, default=None)
    ap.add_argument("--loss", default=None)
    ap.add_argument("--cycle", type=float, default=None)
    ap.add_argument("--identity", type=float, default=None)
    ap.add_argument("--pool", type=int, default=None)
    ap.add_argument("--pac", type=int, default=None, help="PacGAN packing of the discriminators")
    ap.add_argument("--ema", type=float, default=None, help="EMA decay of the generators' sampling copies (0: off)")
    ap.add_argument("--decay-steps", type=int, default=None)
    ap.add_argument("--n", type=int, default=1000, help="held-out images scored per direction")
    ap.add_argument("--threads", type=int, default=None, help="default: the CLI's for image pairs")
    ap.add_argument("--pictures", help="also save the watched A→B→A | B→A→B grid at each budget in this folder")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args()
    budgets = sorted(float(b) for b in args.budgets.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    threads = args.threads or default_threads("pair")
    torch.set_num_threads(threads)
    start = machine()
    results = {s: run_seed(s, budgets, args) for s in seeds}
    r = config(args).resolved(train_defaults("digits2colordigits"))
    settings = (f"width {r.width}, {args.n_blocks} residual blocks, batch {r.batch_size}, loss {r.loss}, lr {r.lr:g} "
                f"(D x{r.lr_d_mult:g}), cycle λ {r.cycle:g}, identity {r.identity:g}λ, pool {r.pool}, "
                f"decay_steps {r.decay_steps}, pac {r.pac}, EMA {r.ema:g}")
    body = (f"## CycleGAN: digits2colordigits, held-out translations vs training time\n\n"
            f"`flock /tmp/gan-bench.lock .venv/bin/python bench/bench_cyclegan.py` ({now()}; {start}; {threads} "
            f"thread(s), one process). Seeds {', '.join(map(str, seeds))}; mean ± sd over seeds; 1,000 held-out "
            f"images per direction, never trained on. Settings: {settings}.\n\n{table(results, budgets)}\n\n"
            f"Label kept: the target domain's digit classifier (held-out accuracy on real images: "
            f"{results[seeds[0]][0]['info']['classifier_a']['held_out_accuracy']:.1%} A, "
            f"{results[seeds[0]][0]['info']['classifier_b']['held_out_accuracy']:.1%} B) reads the source's class "
            f"in the translation. Domain score: an A-vs-B classifier (real held-out images put in their own domain: "
            f"{results[seeds[0]][0]['info']['domain_classifier']['held_out_a']:.1%} A, "
            f"{results[seeds[0]][0]['info']['domain_classifier']['held_out_b']:.1%} B) puts the translation in "
            f"the target domain. Cycle L1 baseline: answering every image with its domain's mean image (the best "
            f"constant reconstruction under L1 is the median; the mean is within a few % here), i.e. a cycle that "
            f"keeps no content; the target is below half of it.")
    print(body)
    if not args.no_write:
        update_results("cyclegan", body)


if __name__ == "__main__":
    main()
