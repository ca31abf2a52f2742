"""Time to quality on real MNIST: Fréchet distance and classes covered after 30, 60 and 120 s of training.

Side by side in one command, one run after another with the same thread settings: the classic tutorial loop
(../shared/reference/classic_gan.py, which dumps 2,000 samples at the marks) and our trainer with the default
image model (dcgan) and with `mlp`, each dumping 2,000 samples (EMA generator) at the same training-time marks;
sampling time is not counted as training time. All dumps are then scored by one `gan.metrics.frechet.QualityMeter`
whose classifier is trained on that same MNIST data (t10k: 10,000 labelled images) and cached in
checkpoints/classifiers/.

    .venv/bin/python bench/bench_mnist_quality.py                          # the full benchmark (~6 min)
    .venv/bin/python bench/bench_mnist_quality.py --marks 2,4 --models dcgan   # a smoke run
    .venv/bin/python bench/bench_mnist_quality.py --dataset digits --no-classic  # another set (own section)
    .venv/bin/python bench/bench_mnist_quality.py --folder colour --models dcgan,mlp,stylegan --jobs 2

`--folder grey|colour` writes MNIST t10k as a folder of PNGs (grey, or each digit over a colour texture as in
mnist2colormnist; one subfolder per class) and trains `folder:PATH` at 32 px, as a user's upload would be; the
judge is a classifier trained on those same images with their classes. A model entry may carry overrides:
`mlp+lr=1e-3+batch_size=64`. `--seeds 0,1,2` repeats every run per seed (mean ± sd in the table).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from common import ROOT, SHARED, fmt_mean_sd, machine, mean_sd, now, thread_env, update_results  # noqa: E402

if TYPE_CHECKING:
    import torch

DEFAULT_MARKS = [30.0, 60.0, 120.0]
FOLDERS = ROOT / "checkpoints" / "bench_folders"


def parse_entry(entry: str) -> tuple[str, bool, dict]:
    """'mlp:uncond+lr=1e-3+batch_size=64' -> ('mlp', False, {'lr': 0.001, 'batch_size': 64})."""
    name, *sets = entry.split("+")
    model, _, variant = name.partition(":")
    over = {}
    for kv in sets:
        k, v = kv.split("=", 1)
        try:
            over[k] = int(v) if v.lstrip("-").isdigit() else float(v)
        except ValueError:
            over[k] = v  # a name: loss=hinge
    return model, variant != "uncond", over


def make_folder(kind: str, mnist: Path) -> Path:
    """MNIST t10k written once as PNGs in one subfolder per class: grey, or over colour textures."""
    out = FOLDERS / f"mnist-{kind}"
    if (out / "done").exists():
        return out
    import torch
    from PIL import Image

    from gan.data.colordigits import colorize
    from gan.data.spec import load_dataset

    data = load_dataset("mnist", data_dir=str(mnist))
    x = colorize(data.x, seed=3) if kind == "colour" else data.x
    img = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
    for i, (a, label) in enumerate(zip(img, data.y.tolist())):
        d = out / str(label)
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a).save(d / f"{i:05d}.png")
    (out / "done").write_text("ok\n")
    return out


def folder_labels(path: Path) -> "torch.Tensor":
    """Labels of a folder written by make_folder, in the loader's order (files sorted by path)."""
    import torch

    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs if f.endswith(".png"))
    return torch.tensor([int(Path(f).parent.name) for f in files])


def worker(a: argparse.Namespace) -> int:
    """Train one model and dump `--n` samples (EMA generator) at each training-time mark (a subprocess)."""
    import numpy as np

    from gan.config import TrainConfig
    from gan.train.trainer import Trainer

    model, conditional, over = parse_entry(a.worker)
    cfg = TrainConfig(dataset=a.dataset, data_dir=str(a.mnist), model=model, seed=a.seed, device="cpu",
                      conditional=None if conditional else False, **over)
    t = Trainer(cfg)
    if not os.environ.get("OMP_NUM_THREADS"):  # as the CLI does (--threads auto)
        from gan.train.threads import set_threads
        set_threads(None, t)
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
                          "conditional": t.conditional, "lr": t.cfg.lr, "width": t.cfg.width,
                          "loss": t.cfg.loss}), flush=True)
    return 0


def run_ours(a: argparse.Namespace, entry: str, seed: int, prefix: str, env: dict) -> dict:
    """One worker subprocess; returns its dump prefix, steps per mark and settings."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", entry, "--out", prefix, "--mnist", str(a.mnist),
           "--dataset", a.dataset, "--marks", a.marks, "--seed", str(seed), "--n", str(a.n)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(ROOT))
    if p.returncode:
        sys.exit(f"error: our trainer ({entry}) failed:\n{p.stderr[-2000:]}")
    lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
    return {"prefix": prefix, "steps": {ln["mark"]: ln["steps"] for ln in lines}, "first": lines[0] if lines else {},
            "entry": entry, "seed": seed}


def label_of(r: dict) -> str:
    """'ours mlp (cond., batch 32, lr 0.0005, width 16, loss bce)' plus any override not shown."""
    f, (model, _, over) = r["first"], parse_entry(r["entry"])
    shown = {"batch_size", "lr", "width", "loss"}
    extra = "".join(f", {k} {v:g}" if not isinstance(v, str) else f", {k} {v}" for k, v in over.items()
                    if k not in shown)
    return (f"ours {model} ({'cond.' if f.get('conditional') else 'uncond.'}, batch {f.get('batch')}, "
            f"lr {f.get('lr'):g}, width {f.get('width')}, loss {f.get('loss')}{extra})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist, digits or folder:PATH "
                                                       "(the classic loop: mnist only)")
    ap.add_argument("--folder", choices=["grey", "colour"], help="train on MNIST t10k written as a 32 px folder")
    ap.add_argument("--mnist", type=Path, default=SHARED / "data" / "mnist", help="folder with t10k idx files")
    ap.add_argument("--classic", type=Path, default=SHARED / "reference" / "classic_gan.py")
    ap.add_argument("--marks", default=",".join(f"{m:g}" for m in DEFAULT_MARKS), help="training seconds")
    ap.add_argument("--models", default="dcgan,mlp",
                    help="our models; MODEL:uncond for an unconditional run (the defaults are class-conditional); "
                         "MODEL+key=value+... for overrides")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", help="comma-separated seeds (default: --seed)")
    ap.add_argument("--jobs", type=int, default=1, help="our runs in parallel (each on its own thread)")
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
    needs_idx = a.dataset in ("mnist", "fashion-mnist") or a.folder
    if needs_idx and not (mnist / "t10k-images-idx3-ubyte.gz").exists() and not (mnist / "t10k-images-idx3-ubyte").exists():
        sys.exit(f"error: {a.dataset} t10k files not found in {mnist}; put t10k-images-idx3-ubyte.gz and "
                 f"t10k-labels-idx1-ubyte.gz there or pass --mnist DIR")
    folder = make_folder(a.folder, mnist) if a.folder else None
    if folder:
        a.dataset = f"folder:{folder}"
    if a.dataset != "mnist":
        a.no_classic = True  # classic_gan.py reads MNIST only
    a.mnist = mnist
    if not a.no_classic and not a.classic.exists():
        sys.exit(f"error: the classic reference loop is not at {a.classic.resolve()}; pass --classic PATH "
                 f"or --no-classic")
    marks = [float(m) for m in a.marks.split(",")]
    seeds = [int(s) for s in (a.seeds or str(a.seed)).split(",")]
    name = f"mnist-{a.folder} folder (32 px)" if folder else a.dataset
    info = machine()
    print(info, flush=True)

    import numpy as np
    import torch

    from gan.data.spec import Dataset, load_dataset
    from gan.metrics.frechet import QualityMeter

    if a.threads:
        torch.set_num_threads(a.threads)
    data = load_dataset(a.dataset, data_dir=str(mnist))
    if folder:  # the judge learns the classes the folder was written from
        data = Dataset(data.name, "image", data.shape, n_classes=10, x=data.x, y=folder_labels(folder))
    t0 = time.perf_counter()
    meter = QualityMeter(data, cache_dir=str(ROOT / "checkpoints" / "classifiers"), epochs=a.classifier_epochs,
                         n_real=a.n)
    print(f"classifier: held-out accuracy {meter.accuracy:.3f} ({'cached' if meter.info.get('cached') else 'trained'} "
          f"in {time.perf_counter() - t0:.1f} s)", flush=True)
    env = thread_env(a.threads or (1 if a.jobs > 1 else None))
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_mnist_") as tmp:
        if not a.no_classic:
            prefix = os.path.join(tmp, "classic")  # classic_gan.py has no seed flag: one run
            cmd = [sys.executable, str(a.classic), "--mnist", str(mnist), "--seconds", f"{max(marks):g}",
                   "--dump-at", ",".join(f"{m:g}" for m in marks), "--out", prefix]
            print("running:", " ".join(cmd[1:]), flush=True)
            p = subprocess.run(cmd, env=thread_env(a.threads), capture_output=True, text=True)
            print(p.stdout.strip(), flush=True)
            if p.returncode:
                sys.exit(f"error: classic_gan.py failed:\n{p.stderr[-2000:]}")
            steps = {float(m.group(1)): int(m.group(2)) for m in re.finditer(r"dump at ([\d.]+)s steps=(\d+)", p.stdout)}
            runs.append({"label": "classic loop (mlp, uncond., batch 64, its own seed)", "prefix": prefix,
                         "steps": steps, "seed": None})
        todo = [(entry, seed) for entry in a.models.split(",") for seed in seeds]
        print(f"running ours: {len(todo)} runs, {a.jobs} at a time", flush=True)
        with cf.ThreadPoolExecutor(max_workers=a.jobs) as ex:
            futs = [ex.submit(run_ours, a, entry, seed, os.path.join(tmp, f"ours{i}_{seed}"), env)
                    for i, (entry, seed) in enumerate(todo)]
            for f in futs:
                r = f.result()
                r["label"] = label_of(r)
                print(f"  {r['label']} seed {r['seed']}: steps {r['steps']}", flush=True)
                runs.append(r)
        for r in runs:
            r["scores"] = {}
            for m in marks:
                f = f"{r['prefix']}_{int(m)}.npy"
                if os.path.exists(f):
                    s = meter.score(torch.from_numpy(np.load(f)).float().reshape(-1, *data.shape))
                    r["scores"][m] = {**s, "steps": r["steps"].get(m)}
    labels = list(dict.fromkeys(r["label"] for r in runs))
    results = {lb: [r for r in runs if r["label"] == lb] for lb in labels}

    def cell(rs: list[dict], m: float) -> str:
        got = [r["scores"][m] for r in rs if m in r["scores"]]
        if not got:
            return "n/a"
        fd = [g["frechet"] for g in got]
        cls = min(g["classes_covered"] for g in got)
        steps = mean_sd([g["steps"] or 0 for g in got])[0]
        return f"{fmt_mean_sd(fd, digits=2) if len(fd) > 1 else f'{fd[0]:.2f}'} / {cls} / {steps:.0f}"

    def mean_fd(lb: str, m: float) -> float:
        return mean_sd([r["scores"][m]["frechet"] for r in results[lb] if m in r["scores"]])[0]

    hdr = "| Run | " + " | ".join(f"{m:g} s: FD / classes / steps" for m in marks) + " |"
    rows = [hdr, "|" + " --- |" * (len(marks) + 1)]
    rows += [f"| {lb} | " + " | ".join(cell(results[lb], m) for m in marks) + " |" for lb in labels]
    ref = meter.score(data.x[torch.randperm(len(data), generator=torch.Generator().manual_seed(5))[:a.n]])
    md = "\n".join(rows)
    from gan.family import train_defaults

    default_model = train_defaults(a.dataset, data=data)["model"]
    ours = [lb for lb in labels if lb.startswith("ours")]
    best = [f"{m:g} s: {min(ours, key=lambda lb: mean_fd(lb, m))} ({min(mean_fd(lb, m) for lb in ours):.2f})"
            for m in marks if ours]
    verdict = f"Lowest FD of ours (mean over seeds {','.join(map(str, seeds))}): {'; '.join(best)}. The {name} default model is {default_model}. "
    classic = next((lb for lb in labels if lb.startswith("classic")), None)
    ours_default = next((lb for lb in ours if lb.startswith(f"ours {default_model} ")), None)
    if classic and ours_default:
        wins = [m for m in marks if mean_fd(ours_default, m) < mean_fd(classic, m)]
        verdict += (f"Our default model ({default_model}) has a lower Fréchet distance than the classic loop at "
                    f"{len(wins)} of {len(marks)} budgets{' (all)' if len(wins) == len(marks) else ''}.")
    print("\n" + md + "\n" + verdict)
    smoke = marks != DEFAULT_MARKS
    body = [
        f"## Time to quality on {'real MNIST' if a.dataset == 'mnist' else name} (`bench/bench_mnist_quality.py`)", "",
        *(["**SMOKE RUN with tiny budgets: these figures only show that the script works; they are not the "
           "benchmark.**", ""] if smoke else []),
        f"Measured {now()} on {info}.",
        f"Data: {'MNIST t10k' if a.dataset == 'mnist' else name} ({len(data)} images), seeds {','.join(map(str, seeds))}"
        f"{' (FD mean ± sd over seeds; classes: the fewest)' if len(seeds) > 1 else ''}. Fréchet distance (FD, lower is better) between the 64 penultimate "
        f"features of our small CNN classifier (trained on the same data, held-out accuracy "
        f"{meter.accuracy:.3f}) for {a.n} generated vs {a.n} real images, and classes covered (of 10: classes "
        f"predicted with confidence ≥ 0.5 for ≥ 1% of the samples). For reference, {a.n} other real images score "
        f"FD {ref['frechet']:.2f} / {ref['classes_covered']} classes. Times are training seconds (sampling "
        f"excluded); {a.jobs} of our runs at a time, threads: {a.threads or ('1 per run' if a.jobs > 1 else 'classic loop torch default, ours as the CLI (auto)')}. Our runs sample the EMA "
        f"generator; a class-conditional G is asked for balanced classes.",
        "", md, "", verdict, "",
        "Command: `" + " ".join(["python bench/bench_mnist_quality.py", *(argv if argv is not None else sys.argv[1:])]).strip() + "`",
    ]
    if not a.no_write:
        section = ("mnist_quality" if a.dataset == "mnist" else f"folder_{a.folder}_quality" if folder
                   else f"{a.dataset}_quality")
        print(f"\nwrote {update_results(section, chr(10).join(body))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
