"""Time to quality on real MNIST: Fréchet distance and classes covered after 30, 60 and 120 s of training.

Side by side in one command, one run after another with the same thread settings: the classic tutorial loop
(../shared/reference/classic_gan.py, which dumps 2,000 samples at the marks) and our trainer with the default
image model (dcgan) and with `mlp`, each dumping 2,000 samples (EMA generator) at the same training-time marks;
sampling time is not counted as training time. All dumps are then scored by one `gan.quality.QualityMeter`
whose classifier is trained on that same MNIST data (t10k: 10,000 labelled images) and cached in
checkpoints/classifiers/.

    .venv/bin/python bench/bench_mnist_quality.py                          # the full benchmark (~6 min)
    .venv/bin/python bench/bench_mnist_quality.py --marks 2,4 --models dcgan   # a smoke run
    .venv/bin/python bench/bench_mnist_quality.py --dataset digits --no-classic  # another set (own section)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, SHARED, machine, now, thread_env, update_results  # noqa: E402

DEFAULT_MARKS = [30.0, 60.0, 120.0]


def worker(a: argparse.Namespace) -> int:
    """Train our model on MNIST and dump 2,000 samples at each training-time mark (a subprocess)."""
    import numpy as np

    from gan.config import TrainConfig
    from gan.trainer import Trainer

    model, _, variant = a.worker.partition(":")
    cfg = TrainConfig(dataset=a.dataset, data_dir=str(a.mnist), model=model, seed=a.seed, device="cpu",
                      conditional=False if variant == "uncond" else None)
    t = Trainer(cfg)
    if not os.environ.get("OMP_NUM_THREADS"):  # as the CLI and the app do: 1 thread per 2 cores
        import torch

        from gan.trainer import default_threads
        torch.set_num_threads(default_threads(t.data.kind))
    trained = 0.0
    for mark in [float(m) for m in a.marks.split(",")]:
        t0 = time.perf_counter()
        t.train(seconds=max(mark - trained, 0.0))
        trained += time.perf_counter() - t0
        s0 = time.perf_counter()
        x = t.sample(a.n, seed=a.seed + 777).numpy().astype(np.float32)
        np.save(f"{a.out}_{int(mark)}.npy", x)
        print(json.dumps({"mark": mark, "trained": round(trained, 2), "steps": t.step_count,
                          "sample_s": round(time.perf_counter() - s0, 2), "batch": t.cfg.batch_size,
                          "conditional": t.conditional, "lr": t.cfg.lr}), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist or digits (the classic loop: mnist only)")
    ap.add_argument("--mnist", type=Path, default=SHARED / "data" / "mnist", help="folder with t10k idx files")
    ap.add_argument("--classic", type=Path, default=SHARED / "reference" / "classic_gan.py")
    ap.add_argument("--marks", default=",".join(f"{m:g}" for m in DEFAULT_MARKS), help="training seconds")
    ap.add_argument("--models", default="dcgan,mlp",
                    help="our models; MODEL:uncond for an unconditional run (the defaults are class-conditional)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=2000, help="samples per dump (classic_gan.py always dumps 2000)")
    ap.add_argument("--threads", type=int, help="torch threads for every run (default: the classic loop gets torch's default, ours the CLI's default, 1 per 2 cores)")
    ap.add_argument("--no-classic", action="store_true")
    ap.add_argument("--classifier-epochs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker(a)

    mnist = a.mnist.resolve()
    if a.dataset == "fashion-mnist" and a.mnist == SHARED / "data" / "mnist":
        mnist = (SHARED / "data" / "fashion-mnist").resolve()
    if a.dataset != "mnist":
        a.no_classic = True  # classic_gan.py reads MNIST only
    if a.dataset == "digits":
        pass
    elif not (mnist / "t10k-images-idx3-ubyte.gz").exists() and not (mnist / "t10k-images-idx3-ubyte").exists():
        sys.exit(f"error: MNIST t10k files not found in {mnist}; put t10k-images-idx3-ubyte.gz and "
                 f"t10k-labels-idx1-ubyte.gz there or pass --mnist DIR")
    if not a.no_classic and not a.classic.exists():
        sys.exit(f"error: the classic reference loop is not at {a.classic.resolve()}; pass --classic PATH "
                 f"or --no-classic")
    marks = [float(m) for m in a.marks.split(",")]
    info = machine()
    print(info, flush=True)

    import numpy as np
    import torch

    from gan.datasets import load_dataset
    from gan.quality import QualityMeter

    if a.threads:
        torch.set_num_threads(a.threads)
    data = load_dataset(a.dataset, data_dir=str(mnist))
    t0 = time.perf_counter()
    meter = QualityMeter(data, cache_dir=str(ROOT / "checkpoints" / "classifiers"), epochs=a.classifier_epochs,
                         n_real=a.n)
    print(f"classifier: held-out accuracy {meter.accuracy:.3f} ({'cached' if meter.info.get('cached') else 'trained'} "
          f"in {time.perf_counter() - t0:.1f} s)", flush=True)
    env = thread_env(a.threads)
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench_mnist_") as tmp:
        if not a.no_classic:
            prefix = os.path.join(tmp, "classic")
            cmd = [sys.executable, str(a.classic), "--mnist", str(mnist), "--seconds", f"{max(marks):g}",
                   "--dump-at", ",".join(f"{m:g}" for m in marks), "--out", prefix]
            print("running:", " ".join(cmd[1:]), flush=True)
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            print(p.stdout.strip(), flush=True)
            if p.returncode:
                sys.exit(f"error: classic_gan.py failed:\n{p.stderr[-2000:]}")
            steps = {float(m.group(1)): int(m.group(2)) for m in re.finditer(r"dump at ([\d.]+)s steps=(\d+)", p.stdout)}
            runs["classic loop (mlp, uncond., batch 64)"] = {"prefix": prefix, "steps": steps}
        for model in a.models.split(","):
            prefix = os.path.join(tmp, model.replace(":", "_"))
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", model, "--out", prefix,
                   "--mnist", str(mnist), "--dataset", a.dataset, "--marks", a.marks, "--seed", str(a.seed), "--n", str(a.n)]
            print(f"running: ours --model {model}", flush=True)
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(ROOT))
            if p.returncode:
                sys.exit(f"error: our trainer ({model}) failed:\n{p.stderr[-2000:]}")
            lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
            for ln in lines:
                print("  ", ln, flush=True)
            first = lines[0] if lines else {}
            label = (f"ours {model.split(':')[0]} ({'cond.' if first.get('conditional') else 'uncond.'}, "
                     f"batch {first.get('batch')}, lr {first.get('lr')})")
            runs[label] = {"prefix": prefix, "steps": {ln["mark"]: ln["steps"] for ln in lines}}
        results: dict[str, dict[float, dict]] = {}
        for label, r in runs.items():
            results[label] = {}
            for m in marks:
                f = f"{r['prefix']}_{int(m)}.npy"
                if not os.path.exists(f):
                    continue
                x = torch.from_numpy(np.load(f)).float().reshape(-1, 1, 28, 28)
                s = meter.score(x)
                s["steps"] = r["steps"].get(m)
                results[label][m] = s
    hdr = "| Run | " + " | ".join(f"{m:g} s: FD / classes / steps" for m in marks) + " |"
    rows = [hdr, "|" + " --- |" * (len(marks) + 1)]
    for label, res in results.items():
        cells = []
        for m in marks:
            s = res.get(m)
            cells.append("n/a" if s is None else f"{s['frechet']:.2f} / {s['classes_covered']} / {s['steps']}")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    ref = meter.score(data.x[torch.randperm(len(data), generator=torch.Generator().manual_seed(5))[:a.n]])
    md = "\n".join(rows)
    from gan.family import train_defaults

    default_model = train_defaults(a.dataset)["model"]
    best = []
    for m in marks:
        scored = [(res[m]["frechet"], label.split()[1]) for label, res in results.items()
                  if label.startswith("ours") and m in res]
        if scored:
            best.append(f"{m:g} s: {min(scored)[1]} ({min(scored)[0]:.2f})")
    verdict = f"Lowest FD of ours: {'; '.join(best)}. The {a.dataset} default model is {default_model}. "
    classic = next((v for k, v in results.items() if k.startswith("classic")), None)
    ours_default = next((v for k, v in results.items() if k.startswith(f"ours {default_model} ")), None)
    if classic and ours_default:
        wins = [m for m in marks if m in classic and m in ours_default
                and ours_default[m]["frechet"] < classic[m]["frechet"]]
        verdict += (f"Our default model ({default_model}) has the lower Fréchet distance at {len(wins)} of {len(marks)} budgets"
                   f"{' (all)' if len(wins) == len(marks) else ''}.")
    print("\n" + md + "\n" + verdict)
    smoke = marks != DEFAULT_MARKS
    body = [
        f"## Time to quality on {'real MNIST' if a.dataset == 'mnist' else a.dataset} (`bench/bench_mnist_quality.py`)", "",
        *(["**SMOKE RUN with tiny budgets: these figures only show that the script works; they are not the "
           "benchmark.**", ""] if smoke else []),
        f"Measured {now()} on {info}.",
        f"Data: {'MNIST t10k' if a.dataset == 'mnist' else a.dataset} ({len(data)} images), seed {a.seed}. Fréchet distance (FD, lower is better) between the 64 penultimate "
        f"features of our small CNN classifier (trained on the same data, held-out accuracy "
        f"{meter.accuracy:.3f}) for {a.n} generated vs {a.n} real images, and classes covered (of 10: classes "
        f"predicted with confidence ≥ 0.5 for ≥ 1% of the samples). For reference, {a.n} other real images score "
        f"FD {ref['frechet']:.2f} / {ref['classes_covered']} classes. Times are training seconds (sampling "
        f"excluded); runs one after another, threads: {a.threads or 'classic loop torch default, ours 1 per 2 cores (as the CLI)'}. Our runs sample the EMA "
        f"generator; a class-conditional G is asked for balanced classes.",
        "", md, "", verdict, "",
        "Command: `" + " ".join(["python bench/bench_mnist_quality.py", *(argv if argv is not None else sys.argv[1:])]).strip() + "`",
    ]
    if not a.no_write:
        section = "mnist_quality" if a.dataset == "mnist" else f"{a.dataset}_quality"
        print(f"\nwrote {update_results(section, chr(10).join(body))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
