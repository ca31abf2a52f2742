"""StyleGAN against dcgan on real MNIST, unconditional, 180 s of training each on this machine's cores.

One command. Each model trains in its own subprocess with the CLI's thread default (1 thread per 2 cores),
one after the other, and saves a checkpoint at each training-time mark (save time not counted). Then, here:
- quality: the project's classifier Fréchet distance and classes covered (gan.metrics.frechet.QualityMeter, as in
  bench/bench_mnist_quality.py) on 2,000 samples of the EMA generator; steps/s and images/s of training;
- style mixing (stylegan): 10x10 mixing grids (gan.stylegan.family.mixing_grid, row seeds 0-9, column seeds
  10-19, psi 1, const noise) at every crossover K; the rate is the share of off-diagonal cells (i != j) whose
  classifier digit is the row source's digit (and, for contrast, the column source's). The headline is that
  grid; the mean over `--grids` grids (seeds shifted by 20 each) shows how stable it is;
- W against Z smoothness, a perceptual-path-length measure: for `--pairs` seed pairs and t ~ U(0, 1),
  PPL = E[ ||f(G(p(t))) - f(G(p(t + eps)))||^2 ] / eps^2, eps = 1e-2, where f is the classifier's 64
  penultimate features and p is slerp between the two z (Z) or lerp between their w (W); the 1% tails are
  trimmed as in the StyleGAN paper. A lower PPL means a path whose images change evenly, without jumps.
  Also the mean pixel L2 distance between neighbouring images of 8-step strips (zw_strips).

    flock /tmp/gan-bench.lock .venv/bin/python bench/bench_stylegan.py      # the benchmark (~7 min)
    .venv/bin/python bench/bench_stylegan.py --marks 10 --models stylegan --set width=8 --no-write   # a try
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from common import ROOT, SHARED, machine, now, update_results

DEFAULT_MARKS = [60.0, 120.0, 180.0]
EPS = 1e-2


def parse_set(text: str) -> dict:
    """'width=8,lr=0.001' -> {'width': 8, 'lr': 0.001}."""
    out = {}
    for item in filter(None, (text or "").split(",")):
        k, v = item.split("=", 1)
        out[k.strip()] = json.loads(v)
    return out


def worker(a: argparse.Namespace) -> int:
    """Train one model on MNIST (unconditional) and save a checkpoint at each training-time mark."""
    from gan.checkpoint import save_checkpoint
    from gan.config import TrainConfig
    from gan.train.threads import default_threads
    from gan.train.trainer import Trainer

    cfg = TrainConfig(dataset="mnist", data_dir=str(a.mnist), model=a.worker, seed=a.seed, device="cpu",
                      conditional=False, **parse_set(a.set if a.worker == "stylegan" else a.dcgan_set))
    t = Trainer(cfg)
    torch.set_num_threads(a.threads or default_threads(t.data.kind))
    trained = 0.0
    for mark in [float(m) for m in a.marks.split(",")]:
        t0 = time.perf_counter()
        t.train(seconds=max(mark - trained, 0.0))
        trained += time.perf_counter() - t0
        save_checkpoint(t, f"{a.out}_{int(mark)}.pt")
        print(json.dumps({"mark": mark, "trained": round(trained, 2), "steps": t.step_count,
                          "batch": t.cfg.batch_size, "width": t.cfg.width, "lr": t.cfg.lr}), flush=True)
    return 0


def classify(meter, x: torch.Tensor) -> torch.Tensor:
    """Classifier digits (N,) of images (N, 1, 28, 28)."""
    with torch.no_grad():
        return meter.classifier(x.float()).argmax(1)


def mixing_rates(g, meter, *, grids: int) -> dict[int, dict[str, float]]:
    """Per crossover K: row-digit and column-digit rates of off-diagonal cells (grid 0, and the mean of all)."""
    from gan.stylegan.family import mixing_grid

    out: dict[int, dict[str, float]] = {}
    off = ~torch.eye(10, dtype=torch.bool)
    for k in range(1, g.num_ws):
        rows_rate, cols_rate = [], []
        for i in range(grids):
            grid = mixing_grid(g, range(20 * i, 20 * i + 10), range(20 * i + 10, 20 * i + 20), crossover=k)
            pred = classify(meter, grid.flatten(0, 1)).view(11, 11)
            cells, row_d, col_d = pred[1:, 1:], pred[1:, :1], pred[:1, 1:]  # (10, 10), (10, 1), (1, 10)
            rows_rate.append(float((cells == row_d)[off].float().mean()))
            cols_rate.append(float((cells == col_d)[off].float().mean()))
        out[k] = {"row": rows_rate[0], "col": cols_rate[0], "row_mean": sum(rows_rate) / grids,
                  "col_mean": sum(cols_rate) / grids}
    return out


@torch.no_grad()
def smoothness(g, meter, *, pairs: int, seed: int = 99) -> dict[str, float]:
    """PPL in classifier-feature space for slerp in Z and lerp in W, and neighbouring-step pixel distances."""
    from gan.latent import slerp
    from gan.stylegan.family import render, zw_strips

    gen = torch.Generator().manual_seed(seed)
    za, zb = torch.randn(pairs, g.z_dim, generator=gen), torch.randn(pairs, g.z_dim, generator=gen)
    t = torch.rand(pairs, 1, generator=gen)
    zs = [torch.stack([slerp(za[i], zb[i], float(t[i]) + off) for i in range(pairs)]) for off in (0.0, EPS)]

    def feats(w: torch.Tensor) -> torch.Tensor:
        return torch.cat([meter.classifier.features(render(g, c)) for c in w.split(250)])

    def ppl(d: torch.Tensor) -> float:
        lo, hi = torch.quantile(d, 0.01), torch.quantile(d, 0.99)
        return float(d[(d >= lo) & (d <= hi)].mean())

    wz = [g.mapping(z) for z in zs]  # Z path: map each slerped z
    dz = (feats(wz[0]) - feats(wz[1])).square().sum(1) / EPS ** 2
    wa, wb = g.mapping(za), g.mapping(zb)
    ww = [torch.lerp(wa, wb, s) for s in (t, t + EPS)]
    dw = (feats(ww[0]) - feats(ww[1])).square().sum(1) / EPS ** 2
    step_z, step_w = [], []
    for i in range(min(pairs, 100)):
        sz, sw = zw_strips(g, 1000 + 2 * i, 1001 + 2 * i, steps=8)
        step_z.append(float((sz[1:] - sz[:-1]).flatten(1).norm(dim=1).mean()))
        step_w.append(float((sw[1:] - sw[:-1]).flatten(1).norm(dim=1).mean()))
    return {"ppl_z": ppl(dz), "ppl_w": ppl(dw), "step_z": sum(step_z) / len(step_z),
            "step_w": sum(step_w) / len(step_w)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", type=Path, default=SHARED / "data" / "mnist", help="folder with t10k idx files")
    ap.add_argument("--marks", default=",".join(f"{m:g}" for m in DEFAULT_MARKS), help="training seconds")
    ap.add_argument("--models", default="dcgan,stylegan")
    ap.add_argument("--set", default="", help="stylegan TrainConfig overrides, e.g. width=8,lr=0.002")
    ap.add_argument("--dcgan-set", default="", help="dcgan TrainConfig overrides")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=2000, help="samples scored per model")
    ap.add_argument("--grids", type=int, default=5, help="10x10 mixing grids per crossover")
    ap.add_argument("--pairs", type=int, default=1000, help="seed pairs for the path-length measure")
    ap.add_argument("--threads", type=int, help="torch threads (default: the CLI's, 1 per 2 cores)")
    ap.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker(a)
    mnist = a.mnist.resolve()
    if not any((mnist / f).exists() for f in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte")):
        sys.exit(f"error: MNIST t10k files not found in {mnist}; pass --mnist DIR")
    info = machine()
    print(info, flush=True)
    from gan.checkpoint import load_sampler, load_state, model_config
    from gan.data.spec import load_dataset
    from gan.family import family_of
    from gan.metrics.frechet import QualityMeter
    from gan.stylegan.family import default_crossover

    if a.threads:
        torch.set_num_threads(a.threads)
    data = load_dataset("mnist", data_dir=str(mnist))
    meter = QualityMeter(data, cache_dir=str(ROOT / "checkpoints" / "classifiers"), n_real=a.n)
    marks = [float(m) for m in a.marks.split(",")]
    rows, extra = [], {}
    with tempfile.TemporaryDirectory(prefix="bench_stylegan_") as tmp:
        for model in a.models.split(","):
            prefix = os.path.join(tmp, model)
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", model, "--out", prefix, "--mnist",
                   str(mnist), "--marks", a.marks, "--seed", str(a.seed), "--set", a.set, "--dcgan-set", a.dcgan_set]
            if a.threads:
                cmd += ["--threads", str(a.threads)]
            print(f"training {model} ...", flush=True)
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT))
            if p.returncode:
                sys.exit(f"error: {model} failed:\n{p.stderr[-2000:]}")
            for ln in (json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")):
                state = load_state(f"{prefix}_{int(ln['mark'])}.pt")
                nets = load_sampler(state)
                s = meter.score(family_of(model).sample(nets, a.n, seed=a.seed + 777))
                row = {"model": model, **ln, "frechet": s["frechet"], "classes": s["classes_covered"],
                       "steps_s": ln["steps"] / ln["trained"], "images_s": ln["steps"] * ln["batch"] / ln["trained"]}
                rows.append(row)
                print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
                if model == "stylegan" and ln["mark"] == marks[-1]:
                    g = nets["G"]
                    extra = {"k0": default_crossover(g), "tc": state["train_config"],
                             "mix": mixing_rates(g, meter, grids=a.grids) if a.grids else {},
                             "smooth": smoothness(g, meter, pairs=a.pairs) if a.pairs else {},
                             "mc": model_config(state)}
                    print(json.dumps({k: extra[k] for k in ("k0", "mix", "smooth")}), flush=True)
    md = report(a, rows, extra, marks, info, meter, argv)
    print("\n" + md)
    if not a.no_write:
        print(f"\nwrote {update_results('stylegan', md)}")
    return 0


def report(a: argparse.Namespace, rows: list[dict], extra: dict, marks: list[float], info: str, meter,
           argv: list[str] | None) -> str:
    """The RESULTS.md section."""
    smoke = marks != DEFAULT_MARKS
    lines = ["## StyleGAN against dcgan on real MNIST (`bench/bench_stylegan.py`)", ""]
    if smoke:
        lines += ["**SMOKE RUN with other budgets than the benchmark's: not the benchmark.**", ""]
    lines += [f"Measured {now()} on {info}. Unconditional, seed {a.seed}, MNIST t10k (10,000 images); models "
              f"trained one after another, threads: {a.threads or '1 per 2 cores (as the CLI)'}. FD: classifier "
              f"Fréchet distance (classifier held-out accuracy {meter.accuracy:.3f}) of {a.n} EMA samples against "
              f"{a.n} real images; classes: of 10 covered (as in bench_mnist_quality).", "",
              "| Model | trained s | steps | steps/s | images/s | FD | classes |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['model']} (width {r['width']}, batch {r['batch']}, lr {r['lr']:g}) | {r['trained']:.0f} | "
                     f"{r['steps']} | {r['steps_s']:.1f} | {r['images_s']:.0f} | {r['frechet']:.2f} | {r['classes']} |")
    last = {r["model"]: r for r in rows if r["mark"] == marks[-1]}
    if "dcgan" in last and "stylegan" in last:
        ratio = last["stylegan"]["frechet"] / last["dcgan"]["frechet"]
        ok = ratio <= 1.5 and last["stylegan"]["classes"] == 10
        lines += ["", f"At {marks[-1]:g} s: stylegan FD / dcgan FD = {ratio:.2f} (target ≤ 1.5), stylegan covers "
                      f"{last['stylegan']['classes']} classes (target 10): **{'met' if ok else 'missed'}**."]
    if extra:
        tc = extra["tc"]
        lines += ["", f"stylegan settings: width {tc['width']}, batch {tc['batch_size']}, lr {tc['lr']:g}, betas "
                      f"({tc['beta1']:g}, {tc['beta2']:g}), loss {tc['loss']}, R1 {tc['r1']:g} every {tc['r1_every']} "
                      f"steps, mixing {tc['mixing']:g}, EMA {tc['ema']:g}, z_dim {tc['z_dim']}, mapping layers "
                      f"{extra['mc'].mapping_layers}.", "",
                  f"Style mixing: share of the 90 off-diagonal cells of the 10x10 grid (rows seeds 0-9, columns "
                  f"10-19) that the classifier reads as the row source's digit (column source's for contrast); "
                  f"in brackets the mean over {a.grids} grids. Default crossover K = {extra['k0']} (target ≥ 80% there).",
                  "", "| K (style inputs from the row) | row digit | column digit |", "| --- | --- | --- |"]
        for k, m in extra["mix"].items():
            mark = " (default)" if k == extra["k0"] else ""
            lines.append(f"| {k}{mark} | {m['row']:.0%} ({m['row_mean']:.0%}) | {m['col']:.0%} ({m['col_mean']:.0%}) |")
        s = extra["smooth"] or {"ppl_z": float("nan"), "ppl_w": float("nan"), "step_z": float("nan"),
                                "step_w": float("nan")}
        lines += ["", f"W against Z ({a.pairs} seed pairs): perceptual path length in classifier-feature space (see "
                      f"the script's docstring) slerp in Z {s['ppl_z']:.1f}, lerp in W {s['ppl_w']:.1f} "
                      f"(W/Z = {s['ppl_w'] / s['ppl_z']:.2f}; lower is smoother); mean pixel L2 between neighbouring "
                      f"images of 8-step strips: Z {s['step_z']:.3f}, W {s['step_w']:.3f}. "
                      f"**W {'is' if s['ppl_w'] < s['ppl_z'] else 'is not'} smoother.**"]
    lines += ["", "Command: `" + " ".join(["python bench/bench_stylegan.py", *(argv if argv is not None else sys.argv[1:])]).strip() + "`"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
