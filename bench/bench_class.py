"""A class on one CPU server: gradio_client visitors press Train on ring8 (the defaults) within one second.

The app runs in its own process in shared mode (GAN_SHARED=1, as on a CPU Space), with the default cap (4 runs per
core). Each visitor is a gradio_client in this process that presses Train, then polls /status once a second as a
page would. Phases, in one session:

1. alone: one visitor trains for --alone seconds, first with no one else, then with 7 more visitors who only
   watch (poll /status), so that the baseline pays for as many polling clients as the class does;
2. eight: 8 visitors press Train within one second. When did each run first step (target: all within 10 s)?
   After 40 s, fewest / most steps (target >= 0.5); steps/s of all 8 together over seconds 10-40 against the
   baseline (target >= 0.8); /status latency p95 (target < 500 ms); failed requests (target 0). They train on
   until each reports 8/8 modes at >= 95% high quality (the app's live Theory score, on the samples it draws), or
   --quality-timeout; then each final checkpoint's EMA generator is scored on 2,500 samples (VEEGAN protocol);
3. alone again, with the 7 watchers (the baseline is the mean of the two with watchers: the machine's load
   drifts);
4. thirty (a fresh app with GAN_TURN_S=--turn so that the line moves within the bench): 30 visitors press
   Train; those past the cap must see their place and a wait, and each run must start by itself; none refused.

    python bench/bench_class.py                       # both, about 25 min on 2 cores
    python bench/bench_class.py --phases thirty       # the queue only, a few minutes
    python bench/bench_class.py --alone 20 --quality-timeout 120 --visitors 12 --no-write   # a quick look

Each part writes its own section of bench/RESULTS.md (`class_hosting`, `class_queue`).
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gradio_client import Client  # noqa: E402

from common import machine, now, update_results  # noqa: E402

RING = dict(dataset="ring8", model="auto", loss="hinge", batch_size=None, lr=None, seed=0, z_dim=None, width=None)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """`python demo/app.py` in a child process, shared mode, checkpoints in a temporary folder."""

    def __init__(self, **env: str) -> None:
        self.port, self.dir = free_port(), tempfile.mkdtemp(prefix="bench-class-")
        # GAN_IDLE_STOP_S=0: these visitors are API clients with no page open, and since polling /status stopped
        # counting as presence (issue 27 item 6) a shared server stops such runs after 120 s; a class has pages open
        full = dict(os.environ, GAN_SHARED="1", GRADIO_SERVER_PORT=str(self.port), GAN_CHECKPOINT_DIR=self.dir,
                    GAN_IDLE_STOP_S="0", **env)
        full.pop("SPACES_ZERO_GPU", None)
        self.log = open(os.path.join(self.dir, "app.log"), "w")
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "demo", "app.py")], env=full,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"
        t0 = time.monotonic()
        while time.monotonic() - t0 < 180:
            try:
                if urllib.request.urlopen(self.url, timeout=2).status == 200:
                    return
            except OSError:
                time.sleep(0.5)
        raise SystemExit("the app did not start: see " + self.log.name)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()


class Visitor:
    """One visitor: presses Train at `at` (monotonic), then polls /status every second until told to stop."""

    def __init__(self, url: str, name: str, trains: bool = True) -> None:
        # ssl_verify=False: an http URL has no certificate, and the default loads the bundle for every call
        # (~50 ms of the bench's CPU each, docs/app.md), which 30 pollers would take from the server's 2 cores
        self.name, self.client, self.trains = name, Client(url, verbose=False, ssl_verify=False), trains
        self.notice: str | None = None
        self.failures: list[str] = []
        self.latencies: list[float] = []
        self.trace: list[tuple[float, dict]] = []  # (time, status)
        self._stop = threading.Event()

    def run(self, at: float, seed: int) -> None:
        time.sleep(max(0.0, at - time.monotonic()))
        try:
            if self.trains:
                self.notice = self.client.predict(**{**RING, "seed": seed}, api_name="/train")
        except Exception as e:  # noqa: BLE001 - a refusal: what this bench must not see
            self.failures.append(f"train: {e}")
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                st = self.client.predict(api_name="/status")
                self.latencies.append(time.monotonic() - t)
                self.trace.append((time.monotonic(), st))
            except Exception as e:  # noqa: BLE001
                self.failures.append(f"status: {e}")
            self._stop.wait(max(0.0, 1.0 - (time.monotonic() - t)))

    def start(self, at: float, seed: int) -> "Visitor":
        self.thread = threading.Thread(target=self.run, args=(at, seed), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(30)
        try:
            if self.trains:
                self.client.predict(api_name="/stop")
        except Exception as e:  # noqa: BLE001
            self.failures.append(f"stop: {e}")

    def last(self) -> dict:
        return self.trace[-1][1] if self.trace else {}

    def step_at(self, t: float) -> int:
        """Steps of this visitor's own run at time t (its last poll before t)."""
        before = [st for tt, st in self.trace if tt <= t and st.get("yours")]
        return int(before[-1]["step"]) if before else 0

    def first(self, cond) -> float | None:
        return next((tt for tt, st in self.trace if st.get("yours") and cond(st)), None)


def good(st: dict) -> bool:
    m = st.get("metrics") or {}
    return m.get("n_modes") == 8 and (m.get("high_quality") or 0) >= 0.95


def press(url: str, n: int, spread: float = 0.9, watchers: int = 0) -> tuple[list[Visitor], float]:
    """n visitors connect, then press Train at random moments within `spread` seconds; `watchers` more only watch
    (they come last in the list)."""
    visitors = [Visitor(url, f"v{i}", trains=i < n) for i in range(n + watchers)]
    t0 = time.monotonic() + 1.0
    rng = random.Random(0)
    for i, v in enumerate(visitors):
        v.start(t0 + rng.uniform(0, spread), seed=i)
    return visitors, t0


def alone(url: str, seconds: float, watchers: int = 0) -> tuple[float, float]:
    """One visitor's steps/s while `watchers` more poll /status, and the /status p95 latency of them all."""
    (v, *others), t0 = press(url, 1, 0.0, watchers=watchers)
    time.sleep(5.0 + seconds)
    rate = (v.step_at(t0 + 5 + seconds) - v.step_at(t0 + 5)) / seconds
    for w in (v, *others):
        w.stop()
    lat = sorted(x for w in (v, *others) for x in w.latencies)
    p95 = lat[int(0.95 * (len(lat) - 1))]
    print(f"alone ({watchers} watching): {rate:.1f} steps/s, /status p95 {1000 * p95:.0f} ms", flush=True)
    return rate, p95


def score_checkpoint(path: str) -> tuple[int, float]:
    """8-mode count and high-quality share of a checkpoint's EMA generator on 2,500 samples (VEEGAN protocol)."""
    import torch

    from gan.checkpoint import load_state
    from gan.data.spec import cached_dataset
    from gan.metrics.scores import score_points
    from gan.train.trainer import Trainer
    state = load_state(path)
    tr = Trainer.from_state(state, data=cached_dataset("ring8"), device="cpu")
    torch.set_num_threads(1)
    s = score_points(tr.sampling_nets(), tr.family, tr.data)
    return int(s["n_modes"]), float(s["high_quality"])


def eight(url: str, ckpt_dir: str, quality_timeout: float) -> dict:
    visitors, t0 = press(url, 8)
    time.sleep(41.0)
    out: dict = {}
    firsts = [v.first(lambda s: s["step"] > 0) for v in visitors]
    out["first_step_s"] = [None if f is None else f - t0 for f in firsts]
    steps40 = [v.step_at(t0 + 40) for v in visitors]
    out["steps40"] = steps40
    out["fair"] = min(steps40) / max(1, max(steps40))
    out["together"] = sum(v.step_at(t0 + 40) - v.step_at(t0 + 10) for v in visitors) / 30.0
    out["share_shown"] = sorted({v.last().get("cpu_share") for v in visitors}, key=str)
    print(f"eight: first steps after {[round(f or -1, 1) for f in out['first_step_s']]} s; steps at 40 s {steps40} "
          f"(fewest/most {out['fair']:.2f}); together {out['together']:.1f} steps/s", flush=True)
    deadline = t0 + 41 + quality_timeout
    while time.monotonic() < deadline and not all(v.first(good) for v in visitors):
        time.sleep(2.0)
    out["good_s"] = [None if v.first(good) is None else v.first(good) - t0 for v in visitors]
    out["good_steps"] = [next((int(st["step"]) for tt, st in v.trace if st.get("yours") and good(st)), None)
                         for v in visitors]
    lat = sorted(x for v in visitors for x in v.latencies)
    out["p50"], out["p95"] = lat[len(lat) // 2], lat[int(0.95 * (len(lat) - 1))]
    out["polls"] = len(lat)
    ids = [v.last().get("run_id") for v in visitors]
    for v in visitors:
        v.stop()
    out["failures"] = [f for v in visitors for f in v.failures]
    out["final"] = []
    for run_id in ids:
        found = [os.path.join(d, f) for d, _, fs in os.walk(ckpt_dir) for f in fs if f == f"{run_id}.pt"]
        out["final"].append(score_checkpoint(found[0]) if found else None)
    print(f"eight: 8/8 at >= 95% HQ after {out['good_s']} s ({out['good_steps']} steps); final checkpoints "
          f"{out['final']}; /status p50 {1000 * out['p50']:.0f} ms, p95 {1000 * out['p95']:.0f} ms over "
          f"{out['polls']} polls; failures {len(out['failures'])}", flush=True)
    return out


def thirty(n: int, turn: float, timeout: float) -> dict:
    app = App(GAN_TURN_S=str(turn))
    try:
        visitors, t0 = press(app.url, n, spread=0.9)
        deadline = t0 + timeout
        while time.monotonic() < deadline and not all(v.first(lambda s: s["step"] > 0) for v in visitors):
            time.sleep(2.0)
        out: dict = {"n": n, "turn": turn}
        queued = [v for v in visitors if (v.notice or "").startswith("Queued")]
        out["started_at_once"] = sum(1 for v in visitors if (v.notice or "").startswith("Started"))
        out["queued"] = len(queued)
        out["saw_place"] = sum(1 for v in queued if v.first(lambda s: s.get("queue_place")))
        out["saw_wait"] = sum(1 for v in queued if v.first(lambda s: s.get("wait_s") is not None))
        waits = [(v.first(lambda s: s["step"] > 0), next((s["wait_s"] for _, s in v.trace if s.get("wait_s")), None))
                 for v in queued]
        out["started"] = sum(1 for v in visitors if v.first(lambda s: s["step"] > 0))
        out["waited"] = [round(f - t0) for f, _ in waits if f is not None]
        out["estimated"] = [w for _, w in waits]
        out["max_place"] = max((s.get("queue_place") or 0 for v in visitors for _, s in v.trace), default=0)
        lat = sorted(x for v in visitors for x in v.latencies)
        out["p95"] = lat[int(0.95 * (len(lat) - 1))] if lat else float("nan")
        for v in visitors:
            v.stop()
        out["failures"] = [f for v in visitors for f in v.failures]
        print(f"thirty: {out['started_at_once']} started at once, {out['queued']} queued ({out['saw_place']} saw "
              f"their place, {out['saw_wait']} a wait; places up to {out['max_place']}); {out['started']}/{n} "
              f"started; waited {out['waited']} s; first estimates {out['estimated']}; /status p95 "
              f"{1000 * out['p95']:.0f} ms; failures {len(out['failures'])}", flush=True)
        return out
    finally:
        app.close()


def eight_section(start: str, solo: float, lat0: float, base1: float, lat1: float, base2: float, lat2: float,
                  e: dict, a: argparse.Namespace) -> str:
    base = (base1 + base2) / 2
    ok = lambda c: "yes" if c else "**no**"  # noqa: E731
    good_s = [g for g in e["good_s"] if g is not None]
    return f"""## A class on one CPU: 8 visitors press Train at once (`bench/bench_class.py`)

Measured {start} on {machine()}. The app in its own process in shared mode (`GAN_SHARED=1`, default cap
4 per core = 8 here), ring8 on the defaults; each visitor a gradio_client in the bench's process that presses Train
within one second of the others, then polls /status once a second.

| figure | value | target | met |
| --- | --- | --- | --- |
| one run alone, nobody else | {solo:.1f} steps/s, /status p95 {1000 * lat0:.0f} ms | | |
| one run alone, 7 more visitors watching (before and after the 8) | {base:.1f} steps/s ({base1:.1f}, {base2:.1f}); /status p95 {1000 * lat1:.0f}, {1000 * lat2:.0f} ms | | |
| 8 runs: each first stepped after | {max(x for x in e['first_step_s'] if x is not None):.1f} s at most | 10 s | {ok(all(x is not None and x <= 10 for x in e['first_step_s']))} |
| 8 runs: steps at 40 s | {', '.join(map(str, e['steps40']))} | | |
| fewest / most steps at 40 s | {e['fair']:.2f} | >= 0.5 | {ok(e['fair'] >= 0.5)} |
| 8 runs together, seconds 10-40 | {e['together']:.1f} steps/s = {e['together'] / base:.2f} of one alone with 7 watching ({e['together'] / solo:.2f} of one alone, nobody else) | >= 0.8 | {ok(e['together'] / base >= 0.8)} |
| /status latency, 8 visitors | p50 {1000 * e['p50']:.0f} ms, p95 {1000 * e['p95']:.0f} ms ({e['polls']} polls) | p95 < 500 ms | {ok(e['p95'] < 0.5)} |
| failed requests, 8 visitors | {len(e['failures'])} | 0 | {ok(not e['failures'])} |
| 8/8 modes at >= 95% HQ (live Theory score), wall time after Train | {', '.join('–' if g is None else f'{g:.0f} s' for g in e['good_s'])} | at least one | {ok(len(good_s) >= 1)} |
| the same, steps | {', '.join('–' if g is None else str(g) for g in e['good_steps'])} | | |
| final checkpoints (after {a.quality_timeout:g} s at most), EMA G on 2,500 samples: modes, HQ | {', '.join('–' if f is None else f'{f[0]}/8 {100 * f[1]:.1f}%' for f in e['final'])} | | |

Command: `python bench/bench_class.py --phases eight --alone {a.alone:g} --quality-timeout {a.quality_timeout:g}`
"""


def thirty_section(start: str, t: dict) -> str:
    ok = lambda c: "yes" if c else "**no**"  # noqa: E731
    return f"""## A class on one CPU: {t['n']} visitors press Train at once (`bench/bench_class.py`)

Measured {start} on {machine()}. As above, with {t['n']} visitors and `GAN_TURN_S={t['turn']:g}` (so that the line
moves within the bench); 8 slots.

| figure | value | target | met |
| --- | --- | --- | --- |
| started at once / queued | {t['started_at_once']} / {t['queued']} (places up to {t['max_place']}) | | |
| queued visitors who saw their place / a wait | {t['saw_place']} / {t['saw_wait']} of {t['queued']} | all | {ok(t['saw_place'] == t['saw_wait'] == t['queued'])} |
| runs that started by themselves | {t['started']} of {t['n']} | all | {ok(t['started'] == t['n'])} |
| failed or refused requests | {len(t['failures'])} (/status p95 {1000 * t['p95']:.0f} ms) | 0 | {ok(not t['failures'])} |

Queued visitors' first estimated waits {t['estimated']} s; their runs started after {t['waited']} s.

Command: `python bench/bench_class.py --phases thirty --visitors {t['n']} --turn {t['turn']:g}`
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phases", default="eight,thirty", help="eight (phases 1-3), thirty (phase 4), or both")
    ap.add_argument("--alone", type=float, default=30.0, help="seconds of each one-visitor baseline")
    ap.add_argument("--quality-timeout", type=float, default=900.0)
    ap.add_argument("--visitors", type=int, default=30, help="visitors of the last phase")
    ap.add_argument("--turn", type=float, default=20.0, help="GAN_TURN_S of the last phase")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    phases = set(a.phases.split(","))
    if "eight" in phases:
        start = now()
        app = App()
        try:
            solo, lat0 = alone(app.url, a.alone)
            base1, lat1 = alone(app.url, a.alone, watchers=7)
            e = eight(app.url, app.dir, a.quality_timeout)
            base2, lat2 = alone(app.url, a.alone, watchers=7)
        finally:
            app.close()
        body = eight_section(start, solo, lat0, base1, lat1, base2, lat2, e, a)
        print(body, flush=True)
        if e["failures"]:
            print("failures:", e["failures"][:10])
        if not a.no_write:
            update_results("class_hosting", body)
    if "thirty" in phases:
        start = now()
        t = thirty(a.visitors, a.turn, timeout=900.0)
        body = thirty_section(start, t)
        print(body, flush=True)
        if t["failures"]:
            print("failures:", t["failures"][:10])
        if not a.no_write:
            update_results("class_queue", body)


if __name__ == "__main__":
    main()
