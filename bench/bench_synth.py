"""Synthetic data and precision/recall on real MNIST (t10k: 10,000 labelled digits, 2,000 held out for testing).

- CAS: the `mnist` default (mlp, class-conditional) trained --seconds on the 8,000 digits not held out; a small CNN
  (gan.metrics.classifier's) trained only on 10,000 of its samples, tested on the 2,000 held-out real digits, beside
  the same CNN trained on 8,000 and on 1,000 real digits.
- Augmentation: for K = 100 and 1,000 real labelled digits, the CNN on the K alone against the K plus 10,000
  samples of the default GAN trained --aug-seconds on those same K, over 3 seeds (mean ± sd).
- Precision / recall / density / coverage (k = 3 / 5) in the judge classifier's features: real against real (two
  disjoint halves of 2,000: the ceiling), real digits of one class only (a one-class generator), and the classic
  tutorial settings (mlp, bce, lr 2e-4, batch 64, no EMA, unconditional) trained --seconds against the default; the
  live panel's collapse warning read from each run's history of quality rows (scored every --every s of training,
  500 samples each and 2,000 for precision/recall, as the app's panel).
- Cost: the metrics on 2,000 samples, and the training rate of the default with the live panel's scoring running
  (at its time share, demo/runs/monitors.py) against without, side by side.

    .venv/bin/python bench/bench_synth.py                    # everything (~25 min on 2 quiet cores; hours when shared)
    .venv/bin/python bench/bench_synth.py --reuse            # reuse the GANs saved in checkpoints/bench_synth/
    .venv/bin/python bench/bench_synth.py --sections prdc,cost --seconds 20   # a quick look
    .venv/bin/python bench/bench_synth.py --steps 11750 --sections prdc      # the lesson at a quiet machine's 120 s
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, SHARED, fmt_mean_sd, machine, now, update_results  # noqa: E402

from gan.checkpoint import load_state, save_checkpoint  # noqa: E402
from gan.config import TrainConfig  # noqa: E402
from gan.data.spec import load_dataset  # noqa: E402
from gan.metrics.advice import collapse_warning  # noqa: E402
from gan.metrics.cas import MIN_STEPS, SHIFT, augmented, cas, real_baseline, real_split  # noqa: E402
from gan.metrics.frechet import QualityMeter  # noqa: E402
from gan.metrics.prdc import prdc  # noqa: E402
from gan.metrics.scores import score_images  # noqa: E402
from gan.train.trainer import Trainer  # noqa: E402

OUT = ROOT / "checkpoints" / "bench_synth"
MNIST = str(SHARED / "data" / "mnist")
SCORE_STEPS = 500  # with --steps, a quality row every this many steps (the app scores every ~5 s: ~450 steps)
CLASSIC = dict(model="mlp", loss="bce", lr=2e-4, batch_size=64, ema=0.0, conditional=False)


def train(name: str, data, seconds: float, *, every: float, meter: QualityMeter | None, reuse: bool,
          steps: int = 0, **cfg):
    """A trainer on `data` trained `seconds` (or `steps`, scored every SCORE_STEPS; or loaded from OUT/name.pt with
    --reuse), and its quality rows."""
    path, side = OUT / f"{name}.pt", OUT / f"{name}.json"
    if reuse and path.exists() and side.exists():
        t = Trainer.from_state(load_state(str(path)), device="cpu", data=data)
        saved = json.loads(side.read_text())
        return t, saved["rows"], saved["seconds"]
    t = Trainer(TrainConfig(dataset="mnist", data_dir=MNIST, device="cpu", **cfg), data=data)
    rows, done = [], 0.0
    while (t.step_count < steps) if steps else (done < seconds - 1e-6):
        t0 = time.perf_counter()
        if steps:  # a step budget: the same training whatever the machine's load
            t.train(steps=min(SCORE_STEPS, steps - t.step_count))  # the app's panel: every ~5 s, ~450 steps
        else:
            t.train(seconds=min(every, seconds - done))
        done += time.perf_counter() - t0
        if meter is not None:  # as the live panel: 500 samples of the sampling copy (2,000 for precision/recall)
            rows.append({"step": t.step_count, **score_images(t.sampling_nets(), t.family, meter, n=500)})
    OUT.mkdir(parents=True, exist_ok=True)
    save_checkpoint(t, str(path))
    side.write_text(json.dumps({"rows": rows, "seconds": done}))
    print(f"  {name}: {t.step_count} steps in {done:.0f} s", flush=True)
    return t, rows, done


def warnings(rows: list[dict], cfg) -> dict[int, str]:
    """{step: warning} at each row where the panel, reading the rows so far, would show the collapse warning."""
    out = {}
    for i in range(1, len(rows) + 1):
        w = collapse_warning(rows[:i], loss=cfg.loss, lr=cfg.lr)
        if w:
            out[rows[i - 1]["step"]] = w
    return out


def features(meter: QualityMeter, images: torch.Tensor) -> torch.Tensor:
    return meter._features(images)[0]  # (N, 64) the judge classifier's penultimate features


def sample(t: Trainer, n: int, seed: int = 7) -> torch.Tensor:
    nets = t.sampling_nets()
    k = int(getattr(nets["G"].cfg, "n_classes", 0))
    return t.family.sample(nets, n, seed=seed, y=torch.arange(n) % k if k else None)


def pr_row(name: str, s: dict) -> str:
    return (f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['density']:.3f} | {s['coverage']:.3f} |")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sections", default="cas,aug,prdc,cost")
    p.add_argument("--seconds", type=float, default=120.0, help="training of the default and classic runs")
    p.add_argument("--aug-seconds", type=float, default=60.0, help="training of each augmentation GAN")
    p.add_argument("--every", type=float, default=20.0, help="seconds of training between quality rows")
    p.add_argument("--steps", type=int, default=0,
                   help="train the default and classic runs this many steps instead of --seconds (a quiet 2-core "
                        "machine made ~11,750 steps of the default in 120 s, RESULTS mnist_quality)")
    p.add_argument("--reuse", action="store_true", help="reuse the GANs saved in checkpoints/bench_synth/")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--aug-min-steps", type=int, default=500, help="fewest steps of each augmentation classifier")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    sections = set(a.sections.split(","))
    data = load_dataset("mnist", data_dir=MNIST)
    train_set, test_x, test_y = real_split(data)  # 8,000 / 2,000
    meter = QualityMeter(train_set, n_real=2000)  # the judge classifier (cached), real features of the 8,000
    print(f"judge classifier: held-out accuracy {meter.accuracy:.3f}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    head = (f"{a.threads} torch threads. Each section says when and how it ran, with the load average at its start: "
            "on shared cores timings are pessimistic and training budgets in seconds buy fewer steps, which is why "
            "`--steps 11750` (what a quiet 2-core machine trains of the default in 120 s: section mnist_quality) "
            "trains the default and classic runs to a step count; `--reuse` reuses the GANs saved in "
            "checkpoints/bench_synth/.\n\n")
    order = [x for x in ("prdc", "cost", "cas", "aug") if x in sections]

    def publish(name: str, text: str) -> None:
        """Keep a section's text (OUT/section-NAME.md) and rewrite RESULTS from every section kept so far."""
        (OUT / f"section-{name}.md").write_text(f"_{now()}, {machine()}; `python bench/bench_synth.py "
                                                f"{' '.join(sys.argv[1:])}`_\n\n{text}")
        rewrite()
        print(text, flush=True)

    def rewrite() -> None:
        kept = [(OUT / f"section-{x}.md") for x in ("cas", "aug", "prdc", "cost")]
        update_results("synth", f"## Synthetic data, CAS, precision and recall (MNIST t10k)\n\n{head}"
                       + "\n".join(k.read_text() for k in kept if k.exists()))
    tag = f"-{a.steps}steps" if a.steps else ""
    default, d_rows, d_sec = train("default" + tag, train_set, a.seconds, every=a.every, meter=meter, reuse=a.reuse,
                                   steps=a.steps)

    def do_cas() -> str:
        col = {}
        for shift in (SHIFT, 0):  # the judge as gan.metrics.cas trains it, and without the shifts
            t0 = time.perf_counter()
            got = cas(default.sampling_nets(), default.family, test_x, test_y, n=10_000, shift=shift)["cas"]
            r8 = real_baseline(train_set, test_x, test_y, n=8000, shift=shift)
            r1 = real_baseline(train_set, test_x, test_y, n=1000, shift=shift)
            col[shift] = (got, r8, r1)
            print(f"  shift {shift}: CAS {got:.3f}; real 8000 {r8:.3f}; real 1000 {r1:.3f} "
                  f"({time.perf_counter() - t0:.0f} s)")
        cell = lambda i, bold="": " | ".join(f"{bold}{100 * col[s][i]:.1f}%{bold}" for s in (SHIFT, 0))  # noqa
        return ("### Classification accuracy score\n\n"
                f"The `mnist` default ({default.cfg.model}, conditional, EMA) trained {d_sec:.0f} s "
                f"({default.step_count} steps) on the 8,000 digits not held out; the judge CNN (5 epochs, at least "
                f"{MIN_STEPS} steps of 64) trained on each set, its batches moved by up to {SHIFT} pixels (as "
                "`gan score --cas` trains it: every judge the same, synthetic or real), and without the shifts:\n\n"
                f"| training set | accuracy on 2,000 held-out real digits | without shifts |\n|---|---|---|\n"
                f"| 10,000 synthetic (CAS; goal ≥ 95%) | {cell(0, '**')} |\n"
                f"| 8,000 real | {cell(1)} |\n| 1,000 real | {cell(2)} |\n")

    def do_aug() -> str:
        lines = ["### Augmentation\n", f"K real labelled digits; a default GAN trained {a.aug_seconds:.0f} s on the "
                 f"same K; the CNN (at least {a.aug_min_steps} steps) on the K alone against the K plus 10,000 "
                 "of its samples; 3 seeds (mean ± sd):\n",
                 "| K | real only | real + synthetic |", "|---|---|---|"]
        for k in (100, 1000):
            real, aug = [], []
            for seed in range(3):
                idx = torch.randperm(train_set.x.shape[0], generator=torch.Generator().manual_seed(seed))[:k]
                sub = dataclasses.replace(train_set, x=train_set.x[idx], y=train_set.y[idx])
                g, _, _ = train(f"aug{k}-s{seed}", sub, a.aug_seconds, every=a.aug_seconds, meter=None,
                                reuse=a.reuse, seed=seed)
                r = augmented(sub.x, sub.y, g.sampling_nets(), g.family, test_x, test_y, n_synthetic=10_000,
                              seed=seed, min_steps=a.aug_min_steps)
                real.append(r["real"])
                aug.append(r["augmented"])
                print(f"  K={k} seed {seed}: real {r['real']:.3f}, augmented {r['augmented']:.3f}", flush=True)
            lines.append(f"| {k:,} | {fmt_mean_sd(real, 1, 100, '%')} | {fmt_mean_sd(aug, 1, 100, '%')} |")
        return "\n".join(lines) + "\n"

    def do_prdc() -> str:
        classic, c_rows, c_sec = train("classic" + tag, train_set, a.seconds, every=a.every, meter=meter,
                                       reuse=a.reuse, steps=a.steps, **CLASSIC)
        real = features(meter, train_set.x[:4000])
        one = train_set.x[train_set.y == 1][:2000]
        s_ceiling = prdc(real[:2000], real[2000:])
        s_one = prdc(real[:2000], features(meter, one))
        s_def = prdc(real[:2000], features(meter, sample(default, 2000)))
        s_cla = prdc(real[:2000], features(meter, sample(classic, 2000)))
        w_def, w_cla = warnings(d_rows, default.cfg), warnings(c_rows, classic.cfg)
        print(f"  ceiling {s_ceiling}\n  one class {s_one}\n  default {s_def}\n  classic {s_cla}")
        print(f"  warning default: {w_def}\n  warning classic: {w_cla}", flush=True)
        trail = lambda rows: ", ".join(f"{r['step']:,}: {r.get('precision', 0):.2f}/{r.get('recall', 0):.2f}"  # noqa
                                       for r in rows)
        said = lambda w: (f"**fires** at step {', '.join(f'{s:,}' for s in w)} (in the panel from the first of "  # noqa
                          f"these until recall rises): \"{w[min(w)]}\"") if w else "none, at any reading"
        return ("### Precision, recall, density, coverage\n\n"
                    "In the judge classifier's 64 features, 2,000 against 2,000 real digits (k = 3 for precision and "
                    "recall, k = 5 for density and coverage):\n\n"
                    "| samples | precision | recall | density | coverage |\n|---|---|---|---|---|\n"
                    + "\n".join([pr_row("real, the other half (ceiling)", s_ceiling),
                                 pr_row("real digits of one class only (a one-class generator)", s_one),
                                 pr_row(f"default ({default.cfg.model}, conditional, EMA), {d_sec:.0f} s, "
                                        f"{default.step_count} steps", s_def),
                                 pr_row(f"classic tutorial settings (mlp, bce, lr 2e-4, batch 64, no EMA), "
                                        f"{c_sec:.0f} s, {classic.step_count} steps", s_cla)])
                    + f"\n\nOne class: recall {s_one['recall']:.3f} = {s_one['recall'] / s_ceiling['recall']:.2f} of "
                    f"the ceiling (goal ≤ 0.25). Classic against default: recall lower by "
                    f"{s_def['recall'] - s_cla['recall']:.3f} (goal ≥ 0.3).\n\n"
                    f"Live panel rows (step: precision/recall on 2,000 samples as the app's panel, every "
                    f"{f'{SCORE_STEPS} steps' if a.steps else f'{a.every:.0f} s'}): default {trail(d_rows)}; "
                    f"classic {trail(c_rows)}.\n\n"
                    f"The collapse warning, read after each row as the panel reads it: on the default {said(w_def)}. "
                    f"On the classic run {said(w_cla)}.\n")

    jobs = {"cas": do_cas, "aug": do_aug, "prdc": do_prdc,
            "cost": lambda: cost(meter, default, train_set, a.every)}
    for name in order:
        publish(name, jobs[name]())
    rewrite()  # `--sections none --reuse`: RESULTS rebuilt from the kept sections


class _NoPRDC:
    def score(self, fake):
        return {}


def without_prdc(meter: QualityMeter, fn):
    """fn() with the meter's precision/recall switched off."""
    saved, meter.prdc = meter.prdc, _NoPRDC()
    try:
        return fn()
    finally:
        meter.prdc = saved


def cost(meter: QualityMeter, default: Trainer, train_set, every: float) -> str:
    """The metrics' time on 2,000 samples, and the training rate with the live panel's scoring against without."""
    from demo.runs.monitors import BUDGET, Background, _interval

    images = sample(default, 2000)
    f = features(meter, images)
    real = features(meter, train_set.x[:2000])
    times = {}
    for name, fn in (("features of 2,000 images (classifier)", lambda: features(meter, images)),
                     ("precision/recall/density/coverage, 2,000 vs 2,000", lambda: prdc(real, f)),
                     ("the whole image score on 2,000 (QualityMeter.score)", lambda: meter.score(images)),
                     ("the live score: 500 samples for the Fréchet distance, 2,000 for precision/recall, "
                      "drawn and scored (score_images)",
                      lambda: score_images(default.sampling_nets(), default.family, meter, n=500)),
                     ("the same without precision/recall/density/coverage (the live score before them)",
                      lambda: without_prdc(meter, lambda: score_images(default.sampling_nets(), default.family,
                                                                        meter, n=500, n_pr=0)))):
        fn()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one thread: its CPU time is the cost, whatever else the machine runs
        cpu, wall = [], []
        for _ in range(5):
            c0, t0 = time.thread_time(), time.perf_counter()
            fn()
            cpu.append(time.thread_time() - c0)
            wall.append(time.perf_counter() - t0)
        torch.set_num_threads(threads)
        times[name] = (min(cpu), min(wall))
    rate, cpu_step = {}, {}
    for live in (False, True) * 3:  # alternated, so a change in the machine's load hits both
        t = Trainer(TrainConfig(dataset="mnist", data_dir=MNIST, device="cpu"), data=train_set)
        job, state = Background("quality"), {"due": 0.0, "count": 0, "cost": 0.0}

        def progress(done, elapsed, st):
            got = job.take() if job.busy else None
            if got is not None:
                state["due"] = elapsed + _interval(5.0, got[1], state["count"] == 0)
                state["count"] += 1
            if live and not job.busy and elapsed >= state["due"]:
                nets = copy.deepcopy(t.sampling_nets())  # frozen, as the monitor scores
                job.start(lambda: score_images(nets, t.family, meter))
        t0, c0 = time.perf_counter(), time.process_time()
        t.train(seconds=20.0, progress=progress)
        job.take(wait=True) if job.busy else None
        rate.setdefault(live, []).append(t.step_count / (time.perf_counter() - t0))
        cpu_step.setdefault(live, []).append((time.process_time() - c0) / max(t.step_count, 1))
        print(f"  rate live={live}: {rate[live][-1]:.1f} steps/s, {1000 * cpu_step[live][-1]:.1f} CPU ms/step, "
              f"{state['count']} scores", flush=True)
    off, on = sum(rate[False]) / 3, sum(rate[True]) / 3
    ratios = sorted(b / a for a, b in zip(rate[False], rate[True]))  # each live run against the run just before
    c_off, c_on = (sorted(cpu_step[k])[1] for k in (False, True))
    rows = "\n".join(f"| {k} | {1000 * c:.0f} ms | {1000 * w:.0f} ms |" for k, (c, w) in times.items())
    return ("### Cost\n\n| metric | CPU time, one thread (best of 5) | wall time |\n"
            "|---|---|---|\n" + rows +
            f"\n\nProcess CPU time per training step of the default (median of 3 × 20 s): {1000 * c_off:.1f} ms "
            f"without the live panel, {1000 * c_on:.1f} ms with it (the scoring thread's CPU included): the panel "
            f"costs "
            f"{100 * (c_on / c_off - 1):+.1f}% CPU. Wall-clock rate, alternated: {off:.1f} steps/s without, "
            f"{on:.1f} with; per pair, live/without = {', '.join(f'{r:.2f}' for r in ratios)} (median "
            f"{ratios[1]:.2f}; the load of the shared machine moves single runs by more than this, and a 20 s window "
            f"holds the first two scores, which are not budgeted: monitors.py holds only later ones to the share). "
            f"The panel's scoring thread is budgeted at "
            f"{100 * BUDGET:.0f}% of the training thread's time, stretched from every 5 s).\n")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
