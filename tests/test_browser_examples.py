"""A fresh app with the shipped examples in place, in a real browser (headless Chromium), before anyone
trains: Explore shows an image from the digits example and Theory the ring8 example's picture, each labelled
as an example on the page."""
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from conftest import ROOT, img_src, serve_app, wait_until  # noqa: E402
from demo.runs.manager import EXAMPLE_FOR, RunManager  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EXAMPLES = Path(ROOT) / "checkpoints" / "examples"


def test_a_fresh_app_shows_the_examples_before_any_training(tmp_path):
    for view in ("explore", "theory"):
        assert (EXAMPLES / f"{EXAMPLE_FOR[view]}.pt").is_file(), "make them: python scripts/make_examples.py"
    root = tmp_path / "ckpt"
    shutil.copytree(EXAMPLES, root / "examples")
    manager = RunManager(max_runs=1, checkpoint_dir=root, chunk_runner=None)
    assert {r.example for r in manager.load_examples()} >= {EXAMPLE_FOR["explore"], EXAMPLE_FOR["theory"]}
    wait_until(lambda: manager.example("explore") and manager.example("theory"), what="the examples to publish")
    with serve_app(manager) as (url, _), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(url, wait_until="domcontentloaded")
            page.locator("#train-btn").wait_for(timeout=30_000)

            page.get_by_role("tab", name="Explore").click()
            wait_until(lambda: img_src(page, "x-image"), what="an image on Explore")
            note = page.locator("#x-note")
            wait_until(lambda: "Showing the example" in note.inner_text(), what="the example note on Explore")
            assert EXAMPLE_FOR["explore"] in note.inner_text()

            page.get_by_role("tab", name="Theory").click()
            wait_until(lambda: img_src(page, "theory-main"), what="the ring8 example's picture on Theory")
            status = page.locator("#theory-status").inner_text()
            assert f"Showing the example {EXAMPLE_FOR['theory']}" in status and "ring8" in status
            assert manager.runs() == []  # nobody trained: the page showed the examples alone
            page.close()
        finally:
            browser.close()
