"""What open pages cost the server: real Chromium pages watch one training run, the app pinned to one core and
the browsers to the other; CPU is read per thread of the app process (/proc/PID/task/TID/stat).

    python bench/bench_viewers.py                       # this checkout
    python bench/bench_viewers.py --root /tmp/before --label before   # another checkout (e.g. a git worktree)

Phases of --seconds each: 0 pages, 1, 5, (10), then 0 again. For each: training steps/s (from /status at the
start and end), the training thread's CPU share, and the app's CPU outside the training thread; the cost of a
viewer is (outside-training CPU with k pages - with 0 pages) / k, per second. Results go to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, now, update_results

TICK = os.sysconf("SC_CLK_TCK")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of every thread of a process."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError, ValueError):
            pass
    return out


def start_app(root: Path, port: int, core: int, ckpt: str) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GAN_CHECKPOINT_DIR": ckpt, "GAN_AUTOSAVE_EVERY": "0",
           "GAN_IDLE_STOP_S": "0", "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    return subprocess.Popen(["taskset", "-c", str(core), sys.executable, str(root / "demo" / "app.py")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_up(url: str, timeout: float = 90.0) -> None:
    import httpx

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the app at {url} did not come up")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(ROOT), help="checkout whose demo/app.py to run")
    ap.add_argument("--label", default="after")
    ap.add_argument("--pages", default="0,1,5,0")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--port", type=int, default=7870)
    a = ap.parse_args()
    from gradio_client import Client
    from playwright.sync_api import sync_playwright

    root, url = Path(a.root).resolve(), f"http://127.0.0.1:{a.port}/"
    ckpt = tempfile.mkdtemp(prefix="viewers-ckpt-")
    app = start_app(root, a.port, 0, ckpt)
    os.sched_setaffinity(0, {1})  # this process, its client and every browser it starts: the other core
    rows, phases = [], [int(k) for k in a.pages.split(",")]
    try:
        wait_up(url)
        client = Client(url, verbose=False, ssl_verify=False)
        client.predict(a.dataset, "auto", "bce", None, None, 0, None, None, api_name="/train")
        while client.predict(api_name="/status").get("state") != "running":
            time.sleep(0.5)
        time.sleep(8)  # past loading, the first publishes and the quality classifier
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            for k in phases:
                pages = [browser.new_page(viewport={"width": 1280, "height": 1000}) for _ in range(k)]
                for page in pages:
                    page.goto(url, wait_until="domcontentloaded")
                for page in pages:  # steady state: every page loaded and showing the run live (10 take >6 s)
                    page.locator("#status-line").filter(has_text="running").wait_for(timeout=120_000)
                time.sleep(4)
                s0 = client.predict(api_name="/status")["step"]
                c0, t0 = thread_cpu(app.pid), time.monotonic()
                time.sleep(a.seconds)
                c1, t1 = thread_cpu(app.pid), time.monotonic()
                s1 = client.predict(api_name="/status")["step"]
                dt = t1 - t0
                total = sum(c1.values()) - sum(c0.get(t, 0.0) for t in c1)
                # the training thread: the busiest of the phase (the quality classifier and scores now train in
                # threads of their own, and one of them was the busiest in a 3 s look before the phases)
                train = max(c1[t] - c0.get(t, 0.0) for t in c1)
                rows.append({"pages": k, "steps_per_s": (s1 - s0) / dt, "train_cpu": train / dt,
                             "other_cpu_ms_per_s": 1000 * (total - train) / dt})
                print(json.dumps({**rows[-1], "seconds": round(dt, 1)}), flush=True)
                for page in pages:
                    page.close()
            browser.close()
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(10)
    base = [r for r in rows if r["pages"] == 0]
    idle_other = sum(r["other_cpu_ms_per_s"] for r in base) / len(base)
    idle_rate = sum(r["steps_per_s"] for r in base) / len(base)
    lines = [f"## Viewers: real Chromium pages watching one run ({a.label}, `bench/bench_viewers.py`)", "",
             f"Measured {now()} on {machine()}.",
             f"Checkout: `{a.label}`; dataset {a.dataset}, default model; app pinned to core 0, browsers to core 1; "
             f"{a.seconds:.0f} s per phase; CPU per thread of the app process.", "",
             "| pages | steps/s | of the no-page rate | training thread CPU | app CPU outside training | per viewer-second |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        per = (r["other_cpu_ms_per_s"] - idle_other) / r["pages"] if r["pages"] else float("nan")
        lines.append(f"| {r['pages']} | {r['steps_per_s']:.1f} | {100 * r['steps_per_s'] / idle_rate:.0f}% | "
                     f"{100 * r['train_cpu']:.0f}% | {r['other_cpu_ms_per_s']:.1f} ms/s | "
                     + ("–" if r["pages"] == 0 else f"{per:.1f} ms") + " |")
    lines += ["", f"Command: `python bench/bench_viewers.py --label {a.label} --pages {a.pages} --seconds {a.seconds:g}"
                  + (f" --root {a.root}" if a.root != str(ROOT) else "") + "`"]
    print("\n".join(lines))
    update_results(f"viewers_{a.label}", "\n".join(lines))


if __name__ == "__main__":
    main()
