"""The per-step host reads of issue 15, measured: the trainer's step before the change (six float() reads per
step), now with stats read every step (stats_every=1, what the app and chunk runs use) and now read lazily
(stats_every=16, the CLI's CUDA default). Each figure is a fresh subprocess; rounds are interleaved.

CPU (the check that the CPU path is not slower):
    flock /tmp/gan-bench.lock .venv/bin/python bench/bench_step_sync.py
GPU (images/s at the default batch and at the best batch, with bf16 autocast, channels_last and torch.compile
at both, the classic reference loop on the same GPU, and nvidia-smi utilisation while training):
    .venv/bin/python bench/bench_step_sync.py --device cuda
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading

from common import ROOT, machine, now, shared_path, update_results

BEFORE = "cfaad28"  # the trainer before issue 15's change (its commit 982225a did not land; cfaad28 is the last tree without it)
SNIPPET = r"""
import json, sys, time, torch
from gan.config import TrainConfig
try:
    from gan.train.trainer import Trainer
except ImportError:  # the 'before' tree, from before gan/ had subpackages
    from gan.trainer import Trainer
a = json.loads(sys.argv[1])
torch.set_num_threads(a["threads"])
kw = {} if a["every"] is None else {"stats_every": a["every"]}
if a.get("compute"):  # precision / channels_last / compile (gan/train/compute.py; not in the 'before' tree)
    from gan.train.compute import Compute
    kw["compute"] = Compute(**a["compute"])
cfg = TrainConfig(dataset=a["dataset"], model=a["model"], batch_size=a["batch"], device=a["device"], seed=0)
t = Trainer(cfg, **kw)
t.train(steps=a["warmup"])
if a["device"] == "cuda":
    torch.cuda.synchronize()
t0 = time.perf_counter()
t.train(steps=a["steps"])
if a["device"] == "cuda":
    torch.cuda.synchronize()
dt = time.perf_counter() - t0
print(json.dumps({"ms": 1000 * dt / a["steps"], "img_s": a["steps"] * t.cfg.batch_size / dt,
                  "batch": t.cfg.batch_size}))
"""


def _before_tree() -> str:
    """The library as it was before the change, unpacked into a temporary folder."""
    out = tempfile.mkdtemp(prefix="gan-before-")
    archive = subprocess.run(["git", "archive", BEFORE, "gan"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", out], input=archive, check=True)
    return out


def measure(code_root: str, **a: object) -> dict:
    """One subprocess: build a Trainer from `code_root`'s gan/, warm up, time the steps."""
    env = {**os.environ, "PYTHONPATH": code_root, "OMP_NUM_THREADS": str(a["threads"])}
    r = subprocess.run([sys.executable, "-c", SNIPPET, json.dumps(a)], env=env, capture_output=True, text=True,
                       cwd=code_root, timeout=600)
    if r.returncode:
        raise RuntimeError(r.stderr[-800:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def gpu_utilisation(stop: threading.Event, out: list[float]) -> None:
    """Sample nvidia-smi's GPU utilisation every 0.5 s until `stop`."""
    while not stop.is_set():
        r = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                           capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            out.append(float(r.stdout.split()[0]))
        stop.wait(0.5)


def run_cpu(rounds: int) -> str:
    before = _before_tree()
    cases = [("ring8", None, None, 1, 400), ("digits", "dcgan", None, 1, 60)]
    rows = []
    for dataset, model, batch, threads, steps in cases:
        ms: dict[str, list[float]] = {"before": [], "now, stats every step": [], "now, stats every 16": []}
        for _ in range(rounds):
            common = dict(dataset=dataset, model=model, batch=batch, device="cpu", threads=threads,
                          warmup=20, steps=steps)
            ms["before"].append(measure(before, every=None, **common)["ms"])
            ms["now, stats every step"].append(measure(str(ROOT), every=1, **common)["ms"])
            ms["now, stats every 16"].append(measure(str(ROOT), every=16, **common)["ms"])
        base = statistics.median(ms["before"])
        for name, v in ms.items():
            med = statistics.median(v)
            rows.append(f"| {dataset} {model or '(default model)'} | {name} | {med:.3f} | "
                        f"{' '.join(f'{x:.3f}' for x in v)} | {100 * (med / base - 1):+.1f}% |")
            print(rows[-1], flush=True)
    return ("## Step with lazy statistics, CPU (issue 15)\n\n"
            f"{now()}, {machine()}; `flock /tmp/gan-bench.lock .venv/bin/python bench/bench_step_sync.py "
            f"--rounds {rounds}`. ms per step (default batch, 1 thread), median of {rounds} interleaved fresh "
            f"processes; 'before' is the trainer at `{BEFORE}`.\n\n"
            "| run | step | median ms | each round | vs before |\n| --- | --- | --- | --- | --- |\n"
            + "\n".join(rows))


def run_gpu(rounds: int) -> str:
    before = _before_tree()
    lines = []
    util: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=gpu_utilisation, args=(stop, util), daemon=True)
    sampler.start()
    common = dict(dataset="digits", model="dcgan", device="cuda", threads=4, warmup=50, steps=300)
    for every, root, name in ((None, before, "before"), (1, str(ROOT), "now, every step"),
                              (16, str(ROOT), "now, every 16")):
        r = [measure(root, every=every, batch=None, **common) for _ in range(rounds)]
        lines.append(f"| default batch ({r[0]['batch']}) | {name} | {statistics.median(x['img_s'] for x in r):.0f} |")
        print(lines[-1], flush=True)
    best = (0.0, 0)
    for batch in (64, 128, 256, 512, 1024, 2048, 4096):
        r = measure(str(ROOT), every=16, batch=batch, **common)
        lines.append(f"| batch {batch} | now, every 16 | {r['img_s']:.0f} |")
        print(lines[-1], flush=True)
        best = max(best, (r["img_s"], batch))
    for name, compute in (("bf16", {"precision": "bf16"}), ("channels_last", {"channels_last": True}),
                          ("bf16 + channels_last", {"precision": "bf16", "channels_last": True}),
                          ("bf16 + channels_last + compile", {"precision": "bf16", "channels_last": True,
                                                              "compile": True})):
        for batch in sorted({None, best[1]}, key=lambda b: b or 0):
            r = measure(str(ROOT), every=16, batch=batch, compute=compute, **{**common, "warmup": 100})
            lines.append(f"| {'default batch' if batch is None else f'batch {batch}'} | now, every 16, {name} | "
                         f"{r['img_s']:.0f} |")
            print(lines[-1], flush=True)
    stop.set()
    ref = shared_path("reference", "classic_gan.py")
    mnist = shared_path("data", "mnist", what="folder")
    r = subprocess.run([sys.executable, str(ref), "--device", "cuda", "--seconds", "20", "--mnist", str(mnist)],
                       capture_output=True, text=True, timeout=300)
    said = (r.stdout.strip() or f"failed: {r.stderr.strip()[-300:]}").splitlines()[-1]
    lines.append(f"| classic_gan.py --device cuda (batch 64) | reference | {said} |")
    print(lines[-1], flush=True)
    return ("## Step with lazy statistics, GPU (issue 15)\n\n"
            f"{now()}, {machine()}; `.venv/bin/python bench/bench_step_sync.py --device cuda`. images/s on digits "
            f"with dcgan, median of {rounds}; best batch {best[1]} ({best[0]:.0f} images/s); nvidia-smi GPU "
            f"utilisation while our runs trained: median {statistics.median(util) if util else float('nan'):.0f}%, "
            f"max {max(util) if util else float('nan'):.0f}%.\n\n"
            "| batch | step | images/s |\n| --- | --- | --- |\n" + "\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    a = p.parse_args()
    body = run_cpu(a.rounds) if a.device == "cpu" else run_gpu(a.rounds)
    if not a.no_write:
        update_results(f"step_sync_{a.device}", body)


if __name__ == "__main__":
    main()
