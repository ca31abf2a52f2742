"""Per-chunk overhead of ZeroGPU-style training: the trainer state pickled out to a forked worker, the
trainer rebuilt there, and the new state pickled back, for the default image model (digits, dcgan).

The overhead is the time of a zero-step chunk through a fork (what every chunk pays on top of training),
reported as a fraction of a 30 s chunk. The same zero-step chunk in-process is shown beside it.

    python bench/bench_chunk_overhead.py [--repeats 5] [--chunk-seconds 30]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import pickle
import statistics
import time

from common import machine, now, update_results

import torch

from gan.train.chunk import cached_dataset, train_chunk
from gan.config import TrainConfig
from gan.train.trainer import Trainer


def _worker(conn, payload: bytes) -> None:
    state = pickle.loads(payload)
    out, _ = train_chunk(state, steps=0, device="cpu")
    conn.send_bytes(pickle.dumps(out))
    conn.close()


def forked_chunk(state: dict) -> tuple[dict, float, int]:
    """One zero-step chunk through a fork, as ZeroGPU runs it; returns (state, seconds, bytes pickled)."""
    t0 = time.perf_counter()
    payload = pickle.dumps(state)
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_worker, args=(child, payload))
    p.start()
    out = pickle.loads(parent.recv_bytes())
    p.join()
    return out, time.perf_counter() - t0, len(payload)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chunk-seconds", type=float, default=30.0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = TrainConfig(dataset="digits")
    data = cached_dataset(cfg)  # the parent loads it once; forked workers inherit it
    trainer = Trainer(cfg, data=data)
    trainer.train(steps=3)
    state = trainer.state_dict()
    forked, inproc, size = [], [], 0
    for _ in range(a.repeats):
        state, dt, size = forked_chunk(state)
        forked.append(dt)
        t0 = time.perf_counter()
        train_chunk(state, steps=0, device="cpu")
        inproc.append(time.perf_counter() - t0)
    med_f, med_i = statistics.median(forked), statistics.median(inproc)
    frac = med_f / a.chunk_seconds
    print(f"state size {size / 2**20:.2f} MiB; zero-step chunk through a fork: median {med_f * 1000:.0f} ms "
          f"(in-process {med_i * 1000:.0f} ms); overhead = {100 * frac:.2f}% of a {a.chunk_seconds:.0f} s chunk")
    body = (f"Measured {now()} on {machine()}.\n\n"
            f"| model | state pickled | fork + rebuild + back (median of {a.repeats}) | same in-process | "
            f"share of a {a.chunk_seconds:.0f} s chunk |\n| --- | --- | --- | --- | --- |\n"
            f"| digits, dcgan (default) | {size / 2**20:.2f} MiB | {med_f * 1000:.0f} ms | {med_i * 1000:.0f} ms | "
            f"{100 * frac:.2f}% |\n")
    update_results("chunk_overhead", "## ZeroGPU chunk overhead\n\n" + body)


if __name__ == "__main__":
    main()
