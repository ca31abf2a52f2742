"""Slider-to-image latency through gradio_client while a run trains, against a trivial endpoint.

Launches the app and starts training (digits, default model). A separate client process (where a
user's script or browser would be) then times, interleaved round-robin so that changing load from
other processes hits every kind alike:
- `/status`: returns a small dict, the trivial round trip of gradio_client and this server;
- `/generate` with a new slider offset each call, the image downloaded as a gradio_client user gets it;
- `/generate` with download_files=False (the reply alone);
- the same two through a client made with `ssl_verify=False`: gradio_client opens a fresh httpx client
  for the request, the event stream and the file download, and each one with certificate checking on
  loads the CA bundle (~50 ms each on this machine) even for a plain-http URL, where there is nothing
  to verify; that load, not our server, is most of the default client's round trip here;
- `/status` and `/generate` over Gradio's plain REST API (POST /gradio_api/call/NAME, then read the
  event stream) with httpx: the same server without gradio_client's own polling (it sleeps 50 ms
  between checks for a message, which is most of its round trip).
Finally the handler itself is timed in the server process (server time to redraw: latent edit,
G forward, picture), still while training.

    .venv/bin/python bench/bench_slider_latency.py              # 60 calls of each kind
    .venv/bin/python bench/bench_slider_latency.py --calls 15
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine, now, update_results  # noqa: E402


def summary(name: str, seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return (f"{name:<46} median {np.median(ms):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms   "
            f"(n={len(ms)})")


def client_side(url: str, calls: int) -> dict[str, list[float]]:
    """Run in the child process: time each kind of request, interleaved."""
    import httpx
    from gradio_client import Client

    client = Client(url, verbose=False)
    raw = Client(url, verbose=False, download_files=False)
    plain = Client(url, verbose=False, ssl_verify=False)  # http:// on localhost: no certificate to check
    http = httpx.Client(base_url=url, timeout=30)
    rng = np.random.default_rng(0)

    def rest(name: str, data: list) -> None:
        event = http.post(f"gradio_api/call/{name}", json={"data": data}).json()["event_id"]
        body = http.get(f"gradio_api/call/{name}/{event}").text
        if "event: complete" not in body:
            raise RuntimeError(f"/{name} failed: {body[:200]}")

    kinds = {
        "status": lambda: client.predict(api_name="/status"),
        "generate": lambda: client.predict(seed=7, d1=float(rng.uniform(-3, 3)), d2=float(rng.uniform(-3, 3)),
                                           api_name="/generate"),
        "status_plain": lambda: plain.predict(api_name="/status"),
        "generate_plain": lambda: plain.predict(seed=7, d1=float(rng.uniform(-3, 3)), d2=float(rng.uniform(-3, 3)),
                                                api_name="/generate"),
        "generate_reply": lambda: raw.predict(seed=7, d1=float(rng.uniform(-3, 3)), api_name="/generate"),
        "rest_status": lambda: rest("status", []),
        "rest_generate": lambda: rest("generate", [7, float(rng.uniform(-3, 3))] + [0] * 7 + [1.0, 0, "principal"]),
    }
    for fn in kinds.values():  # warm connections
        fn()
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(calls):
        for name, fn in kinds.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--calls", type=int, default=60)
    ap.add_argument("--port", type=int, default=7891)
    ap.add_argument("--client", help=argparse.SUPPRESS)  # internal: run the client side against this URL
    args = ap.parse_args()
    if args.client:
        print(json.dumps(client_side(args.client, args.calls)))
        return

    from gradio_client import Client

    from demo.app import build_app, launch_kwargs
    from demo.runs.manager import RunManager

    manager = RunManager(max_runs=1, checkpoint_dir=tempfile.mkdtemp(prefix="bench-ckpt-"))
    demo = build_app(manager)
    demo.queue(default_concurrency_limit=4)
    kw = launch_kwargs(manager)
    kw.update(server_name="127.0.0.1", server_port=args.port)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **kw)
    try:
        starter = Client(url, verbose=False)
        starter.predict(args.dataset, "auto", "bce", None, None, 0, None, None, api_name="/train")
        while starter.predict(api_name="/status")["state"] in ("starting", "loading"):
            time.sleep(0.2)
        starter.predict(seed=0, api_name="/generate")  # computes the principal directions once
        child = subprocess.run([sys.executable, os.path.abspath(__file__), "--client", url, "--calls", str(args.calls)],
                               capture_output=True, text=True, timeout=3000)
        if child.returncode != 0:
            raise SystemExit(f"client process failed:\n{child.stderr[-2000:]}")
        times = json.loads(child.stdout.strip().splitlines()[-1])
        rng = np.random.default_rng(1)
        server = []
        for _ in range(args.calls):
            t = time.perf_counter()
            demo.page.explore.generate(7, float(rng.uniform(-3, 3)), request=None)
            server.append(time.perf_counter() - t)
        st = manager.runs()[-1].status()
    finally:
        manager.shutdown()
        demo.close()

    rows = [
        ("/status via gradio_client (trivial endpoint)", times["status"]),
        ("/generate via gradio_client, image downloaded", times["generate"]),
        ("/status via gradio_client, ssl_verify=False", times["status_plain"]),
        ("/generate via gradio_client, ssl_verify=False", times["generate_plain"]),
        ("/generate via gradio_client, reply only", times["generate_reply"]),
        ("/status via REST (httpx)", times["rest_status"]),
        ("/generate via REST (httpx), reply only", times["rest_generate"]),
        ("generate handler, server time", server),
    ]
    head = (f"while training {args.dataset}: state {st['state']}, step {st['step']}, "
            f"{st['images_per_s']:.0f} images/s, {os.cpu_count()} cores")
    print(head)
    for name, secs in rows:
        print(summary(name, secs))
    verdicts = []
    for label, trivial, gen in (("default client", "status", "generate"),
                                ("client with ssl_verify=False", "status_plain", "generate_plain")):
        med, p95 = 1000 * np.median(times[gen]), 1000 * np.percentile(times[gen], 95)
        ok = med < 150 and p95 < 300
        verdicts.append(f"{label}: trivial round trip {1000 * np.median(times[trivial]):.0f} ms; /generate median "
                        f"{med:.0f} ms, p95 {p95:.0f} ms -> target (median < 150, p95 < 300) {'met' if ok else 'missed'}")
    print("\n".join(verdicts))
    table = "\n".join(f"| {name} | {1000 * np.median(s):.1f} | {1000 * np.percentile(s, 95):.1f} | {len(s)} |"
                      for name, s in rows)
    update_results("slider_latency", (
        "## Slider-to-image latency while training (`bench/bench_slider_latency.py`)\n\n"
        f"Measured {now()} on {machine()}; {head}. Client in its own process, calls interleaved round-robin.\n\n"
        "| Request | Median ms | p95 ms | Calls |\n| --- | --- | --- | --- |\n" + table + "\n\n"
        + "\n".join(f"- {v}" for v in verdicts) + "\n\n"
        "gradio_client opens a new httpx client for the request, the event stream and the image download; with "
        "certificate checking on (its default) each one loads the CA bundle, ~50 ms on this machine, even for an "
        "http:// URL. `ssl_verify=False` skips that load and is safe only for plain http on your own machine.\n\n"
        f"Command: `python bench/bench_slider_latency.py --calls {args.calls}`"))

if __name__ == "__main__":
    main()
