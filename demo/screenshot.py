"""Take the README's screenshots in headless Chromium: the Train tab mid-training on `digits`
(docs/screenshot.png), or the Theory tab on ring8 (docs/theory.png).

    .venv/bin/python demo/screenshot.py [--seconds 90] [--out docs/screenshot.png]
    .venv/bin/python demo/screenshot.py --tab theory [--seconds 30] [--dataset ring8]
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
    ap.add_argument("--tab", choices=["train", "theory"], default="train")
    ap.add_argument("--seconds", type=float, help="training time before the shot (default 90; theory 30)")
    ap.add_argument("--dataset", help="default digits; theory ring8")
    ap.add_argument("--out", help="default docs/screenshot.png; theory docs/theory.png")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    theory = args.tab == "theory"
    seconds = args.seconds if args.seconds is not None else (30.0 if theory else 90.0)
    out = args.out or str(ROOT / "docs" / ("theory.png" if theory else "screenshot.png"))
    from playwright.sync_api import sync_playwright

    manager = RunManager(checkpoint_dir=tempfile.mkdtemp(prefix="shot-ckpt-"), autosave_every=0)
    demo = build_app(manager, defaults={"dataset": args.dataset or ("ring8" if theory else "digits")})
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
            page = browser.new_page(viewport={"width": 1280, "height": 1200 if theory else 1100})
            page.goto(url)
            page.locator("#train-btn").click()
            time.sleep(seconds)
            if theory:
                page.get_by_role("tab", name="Theory").click()
                page.locator("#theory-main img").wait_for(timeout=20_000)
            line = "#theory-status" if theory else "#status-line"
            status = page.locator(line).inner_text()
            t0 = time.monotonic()
            while page.locator(line).inner_text() == status and time.monotonic() - t0 < 10:
                page.wait_for_timeout(50)  # just after a fresh snapshot arrived
            page.wait_for_timeout(800)  # and after the charts have redrawn
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            if theory:
                page.screenshot(path=out, full_page=True)
            else:
                page.screenshot(path=out, full_page=False, clip={"x": 0, "y": 0, "width": 1280, "height": 1100})
            print(f"saved {out}: {page.locator(line).inner_text()}")
            browser.close()
    finally:
        manager.shutdown()
        demo.close()


if __name__ == "__main__":
    main()
