"""Does the learned D approach D* = 1/2 on gaussian1d? JS(p_data, p_g), mean |D - D*| and mean D(x) every
250 steps for our defaults, side by side with the shared toy settings (Adam(0.5, 0.999) at 1e-3, batch 512).

    python bench/bench_gaussian1d.py [--steps 3000] [--every 250]
"""
from __future__ import annotations

import argparse
import statistics

from common import machine, now, update_results

import torch

from gan.config import TrainConfig
from gan.theory.state import theory_state
from gan.train.trainer import Trainer

RUNS = {"defaults (Adam(0, 0.9), lr 2e-4, batch 128)": {},
        "toy settings (Adam(0.5, 0.999), lr 1e-3, batch 512)": {"lr": 1e-3, "batch_size": 512, "beta1": 0.5,
                                                               "beta2": 0.999}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    for label, kw in RUNS.items():
        t = Trainer(TrainConfig(dataset="gaussian1d", seed=a.seed, device="cpu", **kw))
        trace = []
        while t.step_count < a.steps:
            t.train(steps=a.every)
            s = theory_state(t.G, t.D, t.data, seed=t.step_count)
            trace.append((t.step_count, float(s["js"]), float(s["d_gap"]), float(s["d_real"])))
            print(f"{label}: step {t.step_count} JS {trace[-1][1]:.3f} |D-D*| {trace[-1][2]:.3f} "
                  f"D(x) {trace[-1][3]:.3f}", flush=True)
        last = trace[len(trace) // 2:]  # the second half of the run
        rows.append((label, statistics.fmean(r[1] for r in last), max(r[1] for r in last),
                     statistics.fmean(r[2] for r in last), statistics.fmean(r[3] for r in last)))
    body = (f"Measured {now()} on {machine()}.\n\nEvery {a.every} steps up to {a.steps}, seed {a.seed}; figures "
            f"are over the second half of the run. JS in nats (0 = p_g matches p_data, log 2 = 0.693 = disjoint); "
            f"|D - D*| is the mean gap on real data; D(x) should approach 1/2.\n\n"
            "| settings | mean JS | max JS | mean abs(D - D*) | mean D(x) |\n| --- | --- | --- | --- | --- |\n")
    body += "".join(f"| {r[0]} | {r[1]:.3f} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.3f} |\n" for r in rows)
    body += f"\nCommand: `python bench/bench_gaussian1d.py --steps {a.steps} --every {a.every}`\n"
    print(body)
    update_results("gaussian1d", "## gaussian1d: D against D* (`bench/bench_gaussian1d.py`)\n\n" + body)


if __name__ == "__main__":
    main()
