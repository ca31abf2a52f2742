"""10 concurrent viewers polling /status on a launched app while one run trains.

One run trains (ring8 by default) on an app launched in this process. Segments of --seconds each:
no viewers, then --viewers gradio_client viewers (threads in ONE separate process, where browsers
would be) polling /status every --interval s, then no viewers again. Reports whether any request failed,
the training rate with viewers relative to the mean of the two no-viewer segments (side by side, same
run), and the p50/p95 latency of /status. Writes the "viewers" section of bench/RESULTS.md.

    .venv/bin/python bench/bench_viewers.py                 # 60 s segments
    .venv/bin/python bench/bench_viewers.py --seconds 10    # smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import machine, now, update_results  # noqa: E402
from demo.app import build_app, launch_kwargs  # noqa: E402
from demo.runs import RunManager  # noqa: E402
from gan.config import TrainConfig  # noqa: E402

VIEWERS = r"""
import json, sys, threading, time
from gradio_client import Client
url, n, seconds, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
clients = [Client(url, verbose=False) for _ in range(n)]
lat, fails, errors = [], [0], []
lock = threading.Lock()
print("ready", flush=True)
sys.stdin.readline()
end = time.monotonic() + seconds
def view(c):
    while time.monotonic() < end:
        t = time.perf_counter()
        try:
            st = c.predict(api_name="/status")
            ok = isinstance(st, dict) and "state" in st
        except Exception as e:
            ok = False
            errors.append(repr(e)[:200])
        dt = time.perf_counter() - t
        with lock:
            lat.append(dt)
            if not ok:
                fails[0] += 1
        time.sleep(max(0.0, interval - dt))
ts = [threading.Thread(target=view, args=(c,)) for c in clients]
[t.start() for t in ts]
[t.join() for t in ts]
print(json.dumps({"latencies": lat, "failed": fails[0], "errors": errors[:5]}), flush=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rate(run, seconds: float) -> float:
    s0, t0 = run.status()["step"], time.monotonic()
    time.sleep(seconds)
    return (run.status()["step"] - s0) / (time.monotonic() - t0)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="length of each segment")
    ap.add_argument("--viewers", type=int, default=10)
    ap.add_argument("--interval", type=float, default=0.5, help="each viewer's polling period (s)")
    ap.add_argument("--dataset", default="ring8")
    args = ap.parse_args()

    manager = RunManager(max_runs=1, checkpoint_dir=tempfile.mkdtemp(prefix="bench-viewers-"), autosave_every=0)
    app = build_app(manager)
    kw = launch_kwargs(manager)
    kw.update(server_name="127.0.0.1", server_port=free_port())
    app.queue(default_concurrency_limit=4)
    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True, **kw)
    viewers = subprocess.Popen([sys.executable, "-c", VIEWERS, url, str(args.viewers), str(args.seconds),
                                str(args.interval)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert viewers.stdout.readline().strip() == "ready"  # clients connected before anything is timed
        run = manager.start("bench", TrainConfig(dataset=args.dataset, device="cpu"))
        while run.state != "running":
            time.sleep(0.05)
        time.sleep(2.0)  # warm-up
        before = rate(run, args.seconds)
        viewers.stdin.write("go\n")
        viewers.stdin.flush()
        during = rate(run, args.seconds)
        out = json.loads(viewers.stdout.readline())
        after = rate(run, args.seconds)
        viewers.wait(30)
    finally:
        if viewers.poll() is None:
            viewers.kill()
        manager.shutdown()
        app.close()

    lat = out["latencies"]
    base = (before + after) / 2
    rel = during / base if base else float("nan")
    p50, p95 = pct(lat, 0.5) * 1000, pct(lat, 0.95) * 1000
    ok = out["failed"] == 0
    print(f"requests {len(lat)}, failed {out['failed']} {out['errors'] if not ok else ''}")
    print(f"steps/s: no viewers {before:.1f} then {after:.1f}; with {args.viewers} viewers {during:.1f} "
          f"({rel:.0%} of no viewers)")
    print(f"/status latency p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    body = (f"## Viewers: {args.viewers} polling /status while one run trains\n\n{now()} · {machine()} · `bench/bench_viewers.py --seconds {args.seconds:g}` "
            f"({args.viewers} viewers in one process, each polling /status every {args.interval:g} s; "
            f"dataset {args.dataset}, default model; segments no viewers / viewers / no viewers)\n\n"
            f"| requests | failed | steps/s no viewers (before, after) | steps/s with viewers | relative "
            f"| /status p50 | /status p95 |\n|---|---|---|---|---|---|---|\n"
            f"| {len(lat)} | {out['failed']} | {before:.1f}, {after:.1f} | {during:.1f} | {rel:.0%} "
            f"| {p50:.0f} ms | {p95:.0f} ms |\n")
    if args.seconds < 60:
        body += f"\nSmoke run ({args.seconds:g} s segments, not the 60 s of the full bench).\n"
    update_results("viewers", body)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
