"""Take docs/theory.png: the Theory tab on ring8 mid-training, in headless Chromium.

    .venv/bin/python demo/theory_screenshot.py [--seconds 15] [--dataset ring8] [--out docs/theory.png]
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
    ap.add_argument("--seconds", type=float, default=15.0, help="training time before the shot")
    ap.add_argument("--dataset", default="ring8")
    ap.add_argument("--out", default=str(ROOT / "docs" / "theory.png"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    manager = RunManager(checkpoint_dir=tempfile.mkdtemp(prefix="shot-ckpt-"), autosave_every=0)
    demo = build_app(manager, defaults={"dataset": args.dataset})
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
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            page.goto(url)
            page.locator("#train-btn").click()
            time.sleep(args.seconds)
            page.get_by_role("tab", name="Theory").click()
            page.locator("#theory-main img").wait_for(timeout=20_000)
            status = page.locator("#theory-status").inner_text()
            t0 = time.monotonic()
            while page.locator("#theory-status").inner_text() == status and time.monotonic() - t0 < 10:
                page.wait_for_timeout(50)  # just after a fresh snapshot arrived
            page.wait_for_timeout(800)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out, full_page=True)
            print(f"saved {args.out}: {page.locator('#theory-status').inner_text()}")
            browser.close()
    finally:
        manager.shutdown()
        demo.close()


if __name__ == "__main__":
    main()
