"""Take docs/screenshot.png: the page mid-training on the default `digits` set, in headless Chromium.

    .venv/bin/python demo/screenshot.py [--seconds 90] [--out docs/screenshot.png]
"""
from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo.app import build_app, launch_kwargs  # noqa: E402
from demo.runs import RunManager  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=90.0, help="training time before the shot")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    manager = RunManager(checkpoint_dir=tempfile.mkdtemp(prefix="shot-ckpt-"))
    demo = build_app(manager)
    demo.queue(default_concurrency_limit=4)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kw = launch_kwargs(manager)
    kw.update(server_name="127.0.0.1", server_port=port)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **kw)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, headless=True,
                                        args=["--headless", "--no-sandbox", "--disable-gpu",
                                              "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(url)
            page.locator("#train-btn").click()
            t0 = time.monotonic()
            while time.monotonic() - t0 < args.seconds:
                time.sleep(1)
            status = page.locator("#status-line").inner_text()
            while page.locator("#status-line").inner_text() == status:  # just after a timer tick,
                page.wait_for_timeout(50)
            page.wait_for_timeout(600)  # and after the charts have redrawn
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out, full_page=False, clip={"x": 0, "y": 0, "width": 1280, "height": 1100})
            print(f"saved {args.out}: {page.locator('#status-line').inner_text()}")
            browser.close()
    finally:
        manager.shutdown()
        demo.close()


if __name__ == "__main__":
    main()
