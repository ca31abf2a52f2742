"""Training throughput (images/s) on MNIST: our trainer against the classic tutorial loop, side by side.

Four runs per round, one after another in this one command:
  1. ../shared/reference/classic_gan.py --seconds N (MLP GAN, batch 64, torchvision DataLoader) as a user runs
     it, with torch's default thread count (one per core);
  2. the same loop pinned to one thread (OMP_NUM_THREADS=1), its fastest setting on a 2-vCPU machine;
  3. our CLI with the same model and batch: `python -m gan train --dataset mnist --model mlp --loss bce
     --batch-size 64 --lr 2e-4 --no-conditional --seconds N --quiet` (the classic model is unconditional),
     with the CLI's default `--threads auto` (gan/train/threads.py: the faster of half and all the cores, timed
     every 20 s);
  4. the same with `--threads` = half the cores (the previous default, which a busy core cannot stall);
  5. the same with `--threads` = all cores;
  6. our CLI with our defaults for MNIST (its default model and batch size).
With --busy, a process spinning on one core runs through every run: the load a browser, a second job or a
noisy neighbour puts on a small machine. It shows why the ratio to the classic loop moves from one machine
to another (its section in RESULTS is "throughput_busy").
Images/s = images trained / training seconds for every run. Rounds alternate the order so background load
hits all runs alike. Ratios are taken within each round and reported as mean ± sd with their range over the
rounds, against the classic loop as run (1) and against its faster setting in that round (best of 1 and 2).
Prints the figures and replaces the "throughput" section of RESULTS.md.

    .venv/bin/python bench/bench_throughput.py                  # 5 rounds of 20 s per run
    .venv/bin/python bench/bench_throughput.py --busy --rounds 3        # the same with one core kept busy
    .venv/bin/python bench/bench_throughput.py --seconds 3 --rounds 1   # a smoke run
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, SHARED, fmt_mean_sd, machine, now, thread_env, update_results  # noqa: E402

sys.path.insert(0, str(ROOT))
from gan.train.threads import default_threads  # noqa: E402

DEFAULT_SECONDS, DEFAULT_ROUNDS = 20.0, 5


def run_classic(script: Path, mnist: Path, seconds: float, env: dict) -> dict:
    p = subprocess.run([sys.executable, str(script), "--mnist", str(mnist), "--seconds", f"{seconds:g}"],
                       env=env, capture_output=True, text=True)
    m = re.search(r"steps=(\d+) images=(\d+) seconds=([\d.]+) images_per_s=([\d.]+)", p.stdout)
    if p.returncode or not m:
        sys.exit(f"error: classic_gan.py failed:\n{p.stdout[-1000:]}\n{p.stderr[-2000:]}")
    steps, images, secs = int(m.group(1)), int(m.group(2)), float(m.group(3))
    return {"steps": steps, "images": images, "seconds": secs, "images_per_s": images / secs, "batch": 64}


def run_ours(mnist: Path, seconds: float, env: dict, extra: list[str], out: str) -> dict:
    cmd = [sys.executable, "-m", "gan", "train", "--dataset", "mnist", "--data-dir", str(mnist),
           "--seconds", f"{seconds:g}", "--quiet", "--device", "cpu", "--out", out, *extra]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(ROOT))
    line = next((ln for ln in reversed(p.stdout.splitlines()) if ln.startswith("{")), None)
    if p.returncode or line is None:
        sys.exit(f"error: `{' '.join(cmd[2:])}` failed:\n{p.stdout[-1000:]}\n{p.stderr[-2000:]}")
    r = json.loads(line)
    info = subprocess.run([sys.executable, "-m", "gan", "info", "--checkpoint", out], env=env,
                          capture_output=True, text=True, cwd=str(ROOT))
    cfg = json.loads(info.stdout)["train_config"] if info.returncode == 0 else {}
    batch = int(cfg.get("batch_size") or 64)
    return {"steps": r["step"], "images": r["step"] * batch, "seconds": r["seconds"],
            "images_per_s": r["step"] * batch / r["seconds"], "reported_images_per_s": r["images_per_s"],
            "batch": batch, "model": cfg.get("model"), "conditional": cfg.get("conditional")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", type=Path, default=SHARED / "data" / "mnist")
    ap.add_argument("--classic", type=Path, default=SHARED / "reference" / "classic_gan.py")
    ap.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="training seconds per run")
    ap.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    ap.add_argument("--threads", type=int, help="pin OMP/MKL threads for every run (default: the classic loop gets torch's default, ours the CLI's default, 1 per 2 cores)")
    ap.add_argument("--busy", action="store_true", help="keep one core busy with a spinning process throughout")
    ap.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    a = ap.parse_args(argv)
    mnist = a.mnist.resolve()
    if not any((mnist / f).exists() for f in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte")):
        sys.exit(f"error: MNIST t10k files not found in {mnist}; pass --mnist DIR")
    if not a.classic.exists():
        sys.exit(f"error: the classic reference loop is not at {a.classic.resolve()}; pass --classic PATH")
    info = machine()
    print(info, flush=True)
    env = thread_env(a.threads)
    env1 = thread_env(1)
    cores, half = os.cpu_count() or 2, default_threads("image")
    names = ["classic", "classic-1t", "ours-same", "ours-same-half", "ours-same-all", "ours-default"]
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if a.busy else None
    res: dict[str, list[dict]] = {n: [] for n in names}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_tp_") as tmp, contextlib.ExitStack() as stack:
        if busy is not None:
            stack.callback(busy.kill)
        for rnd in range(a.rounds):
            order = names if rnd % 2 == 0 else names[::-1]
            for n in order:
                if n.startswith("classic"):
                    r = run_classic(a.classic, mnist, a.seconds, env1 if n == "classic-1t" else env)
                elif n.startswith("ours-same"):
                    threads = {"ours-same-all": ["--threads", str(cores)],
                               "ours-same-half": ["--threads", str(half)]}.get(n, [])
                    r = run_ours(mnist, a.seconds, env, ["--model", "mlp", "--loss", "bce", "--batch-size", "64",
                                                         "--lr", "2e-4", "--no-conditional", *threads], f"{tmp}/same.pt")
                else:
                    r = run_ours(mnist, a.seconds, env, [], f"{tmp}/default.pt")
                res[n].append(r)
                print(f"round {rnd + 1} {n:12s}: {r['images_per_s']:8.0f} images/s  ({r['steps']} steps of "
                      f"{r['batch']} in {r['seconds']:.1f} s)", flush=True)
    ips = {n: [r["images_per_s"] for r in rs] for n, rs in res.items()}
    best = [max(c, c1) for c, c1 in zip(ips["classic"], ips["classic-1t"])]

    def ratios(n: str) -> str:
        """'mean ± sd (min-max)' of n's per-round ratio to the classic loop as run, then to its best setting."""
        out = []
        for base in (ips["classic"], best):
            r = [o / c for o, c in zip(ips[n], base)]
            out.append(f"{fmt_mean_sd(r, 2)} ({min(r):.2f}-{max(r):.2f})")
        return " | ".join(out)

    d = res["ours-default"][0]
    classic = "MLP 100-256-512-1024 / 512-256, uncond."
    md = "\n".join([
        "| Run | Model | Batch | Threads | Images/s | Ratio to classic as run (range) | Ratio to classic's best (range) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| classic loop (`classic_gan.py`) | {classic} | 64 | torch default | {fmt_mean_sd(ips['classic'], 0)} | 1 | {ratios('classic').split(' | ')[1]} |",
        f"| classic loop, 1 thread | {classic} | 64 | 1 | {fmt_mean_sd(ips['classic-1t'], 0)} | {ratios('classic-1t')} |",
        f"| ours, same model and batch | mlp, uncond., bce, lr 2e-4 | 64 | CLI default (auto) | "
        f"{fmt_mean_sd(ips['ours-same'], 0)} | {ratios('ours-same')} |",
        f"| ours, same model and batch | mlp, uncond., bce, lr 2e-4 | 64 | {half} (half the cores) | "
        f"{fmt_mean_sd(ips['ours-same-half'], 0)} | {ratios('ours-same-half')} |",
        f"| ours, same model and batch | mlp, uncond., bce, lr 2e-4 | 64 | {cores} (all cores) | "
        f"{fmt_mean_sd(ips['ours-same-all'], 0)} | {ratios('ours-same-all')} |",
        f"| ours, defaults | {d['model']}{', cond.' if d['conditional'] else ''} | {d['batch']} | CLI default | "
        f"{fmt_mean_sd(ips['ours-default'], 0)} | {ratios('ours-default')} |",
    ])
    per_round = "\n".join(
        f"round {i + 1}: " + ", ".join(f"{n} {ips[n][i]:.0f}" for n in names)
        + f"; ours-same / classic {ips['ours-same'][i] / ips['classic'][i]:.2f}x, / best classic "
        f"{ips['ours-same'][i] / best[i]:.2f}x" for i in range(a.rounds))
    print("\n" + md + "\n\n" + per_round)
    smoke = a.seconds < DEFAULT_SECONDS or a.rounds < 3
    body = [
        f"## Throughput on MNIST{', one core kept busy' if a.busy else ''} (`bench/bench_throughput.py"
        f"{' --busy' if a.busy else ''}`)", "",
        *(["**One core is kept busy by a spinning process during every run.**", ""] if a.busy else []),
        *(["**SMOKE RUN with tiny budgets: these figures only show that the script works; they are not the "
           "benchmark.**", ""] if smoke else []),
        f"Measured {now()} on {info}.",
        f"{a.rounds} round(s) of {a.seconds:g} s training per run, runs one after another in one command (order "
        f"alternating by round), threads: {a.threads or 'as in the table (ours: the CLI default, auto)'}. Images/s = images trained / training "
        f"seconds; mean ± sd over rounds (range in brackets); ratios are taken within each round. Total {time.perf_counter() - t0:.0f} s.",
        "", md, "", "Images/s per round:", "", "```", per_round, "```", "",
        "Command: `" + " ".join(["python bench/bench_throughput.py", *(argv if argv is not None else sys.argv[1:])]).strip() + "`",
    ]
    if not a.no_write:
        print(f"\nwrote {update_results('throughput_busy' if a.busy else 'throughput', chr(10).join(body))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
