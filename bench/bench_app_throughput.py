"""Training throughput inside the app vs headless, measured side by side in one process.

Headless: `Trainer.train(seconds=...)` on the digits set with the default model, run in a worker
thread (as the app runs it), and for reference in the main thread (as the CLI runs it).
In the app: the same config started through `/train` on a launched app, while one gradio_client in
another process (where a browser would be) polls `/status` once a second; the run publishes snapshots.
They alternate in rounds so that load from other processes hits all of them alike.

The headline ratio is in-app / headless-in-a-worker-thread: it isolates what the app costs (polling,
snapshots, the server sharing the GIL). torch's intra-op threading behaves differently in the main
thread and in other threads (on a busy 2-core machine the main thread can be several times slower),
so the main-thread figure is printed for reference, not used as the baseline.

    .venv/bin/python bench/bench_app_throughput.py                # 3 rounds of 20 s each
    .venv/bin/python bench/bench_app_throughput.py --seconds 5 --rounds 1
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from gradio_client import Client  # noqa: E402

from demo.app import build_app, launch_kwargs  # noqa: E402
from demo.runs.manager import RunManager  # noqa: E402
from demo.runs.monitors import lower_priority  # noqa: E402
from gan.config import TrainConfig  # noqa: E402
from gan.train.threads import default_threads  # noqa: E402
from gan.train.trainer import Trainer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine, now, update_results  # noqa: E402


POLLER = """
import sys, time, signal
from gradio_client import Client
c = Client(sys.argv[1], verbose=False)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    t = time.perf_counter()
    c.predict(api_name="/status")
    print(time.perf_counter() - t, flush=True)
    time.sleep(max(0.0, 1.0 - (time.perf_counter() - t)))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each measured segment")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--port", type=int, default=7890)
    args = ap.parse_args()

    cfg = TrainConfig(dataset=args.dataset, seed=0)
    manager = RunManager(max_runs=1, checkpoint_dir=tempfile.mkdtemp(prefix="bench-ckpt-"))
    t0 = time.perf_counter()
    data = manager.dataset(cfg)  # loaded once, shared by both sides
    torch.set_num_threads(default_threads(data.kind))  # as the CLI and the app's run thread set it
    print(f"dataset {args.dataset}: {len(data)} items in {time.perf_counter() - t0:.1f} s; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores")

    demo = build_app(manager)
    demo.queue(default_concurrency_limit=4)
    kw = launch_kwargs(manager)
    kw.update(server_name="127.0.0.1", server_port=args.port)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **kw)
    client = Client(url, verbose=False)
    # one open page, in its own process as a browser would be: a /status request every second
    poller = subprocess.Popen([sys.executable, "-c", POLLER, url], stdout=subprocess.PIPE, text=True)

    headless = Trainer(cfg, data=data)
    for _ in range(3):
        headless.step()
    client.predict(args.dataset, "auto", cfg.loss, None, None, 0, None, None, api_name="/train")
    while client.predict(api_name="/status")["state"] in ("starting", "loading"):
        time.sleep(0.2)
    time.sleep(2.0)  # past the first steps and the first snapshot
    client.predict(api_name="/stop")

    def headless_rate(in_thread: bool) -> float:
        n0, t = headless.step_count, time.perf_counter()
        if in_thread:  # the same thread setting as a run in the app, priority included
            worker = threading.Thread(target=lambda: (lower_priority(), headless.train(seconds=args.seconds)))
            worker.start()
            worker.join()
        else:
            headless.train(seconds=args.seconds)
        return (headless.step_count - n0) / (time.perf_counter() - t)

    rates_h, rates_a, rates_m = [], [], []
    for r in range(args.rounds):
        rates_h.append(headless_rate(True))

        client.predict(api_name="/resume")
        while client.predict(api_name="/status")["state"] != "running":
            time.sleep(0.05)
        time.sleep(1.0)  # let it settle into the loop
        s0, t = client.predict(api_name="/status")["step"], time.perf_counter()
        time.sleep(args.seconds)
        s1, t1 = client.predict(api_name="/status")["step"], time.perf_counter()
        client.predict(api_name="/stop")
        rates_a.append((s1 - s0) / (t1 - t))
        rates_m.append(headless_rate(False))
        print(f"round {r + 1}: headless (worker thread) {rates_h[-1]:.2f} steps/s, in app {rates_a[-1]:.2f} "
              f"steps/s, ratio {rates_a[-1] / rates_h[-1]:.3f}; headless (main thread) {rates_m[-1]:.2f} steps/s")

    poller.terminate()
    polls = [float(x) for x in poller.communicate(timeout=30)[0].split()]
    manager.shutdown()
    demo.close()
    h, a, m = statistics.mean(rates_h), statistics.mean(rates_a), statistics.mean(rates_m)
    bs = headless.cfg.batch_size
    print(f"\nheadless, worker thread: {h:.2f} steps/s ({h * bs:.0f} images/s)")
    print(f"in app, one page polling: {a:.2f} steps/s ({a * bs:.0f} images/s)")
    print(f"headless, main thread (reference): {m:.2f} steps/s ({m * bs:.0f} images/s)")
    print(f"ratio in-app / headless (worker thread): {a / h:.3f}  (target >= 0.9); vs main thread: {a / m:.3f}")
    print(f"/status polls: {len(polls)}, median {1000 * statistics.median(polls):.0f} ms")
    ratios = [x / y for x, y in zip(rates_a, rates_h)]
    update_results("app_throughput", "\n".join([
        "## Training inside the app vs headless (`bench/bench_app_throughput.py`)", "",
        f"Measured {now()} on {machine()}. {args.dataset}, default model, batch {bs}; {args.rounds} rounds of "
        f"{args.seconds:g} s, alternating; one page (a gradio_client process) polls /status every second.", "",
        "| run | steps/s | images/s |", "| --- | --- | --- |",
        f"| headless, worker thread (as the app runs it) | {h:.2f} | {h * bs:.0f} |",
        f"| headless, main thread (as the CLI runs it) | {m:.2f} | {m * bs:.0f} |",
        f"| in the app, one page open | {a:.2f} | {a * bs:.0f} |", "",
        f"Ratio in-app / headless: {a / h:.3f} against the worker thread (rounds "
        f"{', '.join(f'{x:.2f}' for x in ratios)}), {a / m:.3f} against the CLI-style run; target >= 0.9.", "",
        f"Command: `python bench/bench_app_throughput.py --seconds {args.seconds:g} --rounds {args.rounds}`"]))


if __name__ == "__main__":
    main()
