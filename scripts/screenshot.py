"""Take the README's screenshots in headless Chromium, one per tab, while a run trains:

    python scripts/screenshot.py                      # docs/train.png, docs/explore.png, docs/checkpoints.png (digits)
    python scripts/screenshot.py --dataset ring8 --tabs theory --seconds 30     # docs/theory.png
    python scripts/screenshot.py --tabs translate --seconds 0                   # docs/translate.png (the example)
    python scripts/screenshot.py --width 390          # a phone: docs/train-390.png, ... (each tab's whole page)
    python scripts/screenshot.py --locale zh-CN --out docs/zh --tabs train,explore,theory,translate,checkpoints
                                                      # the page as a Chinese browser sees it: docs/zh/<tab>.png

At the default width (1400 px) the Train shot is the first screen and the others the whole page; at any other width
the files are named <tab>-<width>.png and every shot is the whole page.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python scripts/screenshot.py`: this checkout's demo and gan
    sys.path.insert(0, str(ROOT))

from demo import words  # noqa: E402
from demo.app import build_app, launch_kwargs, queue  # noqa: E402
from demo.runs.manager import RunManager  # noqa: E402

TABS = ("train", "explore", "translate", "theory", "checkpoints")
WIDTH = 1400  # the default shots' width (docs/<tab>.png)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--tabs", default="train,explore,checkpoints", help=f"comma-separated, from {', '.join(TABS)}")
    ap.add_argument("--seconds", type=float, default=90.0, help="training time before the first shot (0: no "
                    "training; the tabs show the shipped examples)")
    ap.add_argument("--out", default=str(ROOT / "docs"), help="folder for <tab>.png")
    ap.add_argument("--width", type=int, default=WIDTH, help=f"viewport width in px (default {WIDTH}; 390 for a phone)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--locale", default="en-US", help="the browser's language (zh-CN: the page in Chinese)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="shot-ckpt-"))
    if (ROOT / "checkpoints" / "examples").is_dir():  # the shipped examples, as a fresh app shows them
        shutil.copytree(ROOT / "checkpoints" / "examples", root / "examples")
    manager = RunManager(checkpoint_dir=root, autosave_every=300)
    manager.load_examples()
    demo = queue(build_app(manager, defaults={"dataset": args.dataset}))
    kw = launch_kwargs(manager)
    kw.update(server_name="127.0.0.1", server_port=7899)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **kw)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=ARGS)
            height = 844 if args.width < 800 else 1000  # a phone's screen, or a laptop's
            page = browser.new_page(viewport={"width": args.width, "height": height}, locale=args.locale)
            lang = words.pick(args.locale)
            say = lambda key: words.t(key, lang)  # noqa: E731 - the page's words in the browser's language
            page.goto(url)
            if args.seconds > 0:
                page.locator("#train-btn").click()
                time.sleep(args.seconds)
            else:
                page.wait_for_timeout(3000)
            for tab in args.tabs.split(","):
                page.get_by_role("tab", name=say(f"tab.{tab}")).click()
                if tab == "explore":
                    page.locator("#pc1 input[type=range]").fill("1.5")
                if tab == "translate":
                    page.get_by_text(say("live.translating").split("{who}")[0]).first.wait_for(timeout=60_000)
                    page.locator("#tr-pick").click()
                if tab == "checkpoints":
                    page.get_by_role("button", name=say("ckpt.save")).click()
                    page.get_by_role("button", name=say("ckpt.refresh")).click()
                page.wait_for_timeout(2500)  # a fresh snapshot and the charts redrawn
                path = out / (f"{tab}.png" if args.width == WIDTH else f"{tab}-{args.width}.png")
                first_screen = tab == "train" and args.width == WIDTH
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=str(path), full_page=not first_screen,
                                clip={"x": 0, "y": 0, "width": args.width, "height": height} if first_screen else None)
                print(f"saved {path}")
            browser.close()
    finally:
        manager.shutdown()
        demo.close()


if __name__ == "__main__":
    main()
