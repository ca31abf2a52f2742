"""One visitor on a laptop, before and after a change: `bench/bench_app_throughput.py` run from two checkouts in
turn, in one session, so the machine's drifting load hits both alike; plus what the CPU turns cost one run alone.

The other checkout is `git archive REV` into a temporary folder (nothing in this worktree is touched). Each side
runs the same bench (in-app steps/s with one page polling, and its ratio to headless training in a worker thread,
alternating within the run); the sides alternate --pairs times. Then `CpuShare.turn` (demo/runs/sharing.py), the
one call a run alone adds per step, is timed on its own.

    python bench/bench_before_after.py --before 00e836d          # 3 pairs, digits, 2 rounds of 10 s each
    python bench/bench_before_after.py --before HEAD~4 --pairs 1 --seconds 5 --no-write
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import machine, now, update_results  # noqa: E402


def checkout(rev: str) -> str:
    out = tempfile.mkdtemp(prefix="bench-before-")
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", out], input=archive, check=True)
    return out


def run_bench(tree: str, dataset: str, seconds: float, rounds: int, port: int) -> tuple[float, float]:
    """(in-app steps/s, ratio to headless in a worker thread) of bench_app_throughput.py run from `tree`; its own
    RESULTS.md section is written inside `tree` (a copy), never here."""
    out = subprocess.run([sys.executable, os.path.join(tree, "bench", "bench_app_throughput.py"), "--dataset", dataset,
                          "--seconds", str(seconds), "--rounds", str(rounds), "--port", str(port)], cwd=tree,
                         capture_output=True, text=True, timeout=1800)
    app = re.search(r"in app, one page polling: ([\d.]+) steps/s", out.stdout)
    ratio = re.search(r"ratio in-app / headless \(worker thread\): ([\d.]+)", out.stdout)
    if not app or not ratio:
        raise SystemExit(f"bench failed in {tree}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return float(app.group(1)), float(ratio.group(1))


def turn_cost(n: int = 200_000) -> float:
    """Seconds per CpuShare.turn() call of a run that is alone (the fast path every step takes)."""
    from demo.runs.sharing import CpuShare
    share = CpuShare(slots=1)
    share.join("solo")
    share.turn("solo")
    t = time.perf_counter()
    for _ in range(n):
        share.turn("solo")
    return (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="the revision to compare against (e.g. the branch point)")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    start = now()
    trees = {"before": checkout(a.before), "after": checkout("HEAD")}
    got: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    for i in range(a.pairs):
        for side, tree in trees.items():
            got[side].append(run_bench(tree, a.dataset, a.seconds, a.rounds, 7950 + i))
            print(f"pair {i + 1} {side}: in app {got[side][-1][0]:.2f} steps/s, ratio {got[side][-1][1]:.3f}",
                  flush=True)
    cost = turn_cost()
    mean = {s: statistics.fmean(x for x, _ in v) for s, v in got.items()}
    ratio = {s: statistics.fmean(r for _, r in v) for s, v in got.items()}
    pairs = [b[0] / a_[0] for a_, b in zip(got["before"], got["after"])]
    rows = "\n".join(f"| {s} | {', '.join(f'{x:.1f}' for x, _ in v)} | {mean[s]:.1f} | "
                     f"{', '.join(f'{r:.2f}' for _, r in v)} | {ratio[s]:.2f} |" for s, v in got.items())
    body = f"""## One visitor on a laptop, before and after (`bench/bench_before_after.py`)

Measured {start} on {machine()}. `bench/bench_app_throughput.py --dataset {a.dataset} --seconds {a.seconds:g}
--rounds {a.rounds}` run from `{a.before}` (before) and from this commit (after), alternating, {a.pairs} pairs.

| side | in-app steps/s, per run | mean | in-app / headless, per run | mean |
| --- | --- | --- | --- | --- |
{rows}

After / before, in-app steps/s, pair by pair: {', '.join(f'{p:.2f}' for p in pairs)} (mean
{statistics.fmean(pairs):.2f}). What a run alone now adds per step, `CpuShare.turn` on its fast path:
{cost * 1e6:.2f} µs per call.

Command: `python bench/bench_before_after.py --before {a.before} --dataset {a.dataset} --pairs {a.pairs} --seconds {a.seconds:g} --rounds {a.rounds}`
"""
    print(body)
    if not a.no_write:
        update_results("one_visitor_before_after", body)


if __name__ == "__main__":
    main()
