"""A real browser (headless Chromium via Playwright) drives the page: Train, watch, explore, Stop."""
import os
import time

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from conftest import serve_app  # noqa: E402
from demo.runs import RunManager  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path_factory.mktemp("ckpt"), autosave_every=0)
    with serve_app(manager, defaults={"dataset": "ring8", "batch_size": 64, "width": 32}) as (local_url, _):
        yield local_url


def wait_until(fn, timeout=40.0, what="condition"):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def img_src(page, elem_id):
    loc = page.locator(f"#{elem_id} img")
    return loc.first.get_attribute("src") if loc.count() else None


def test_train_watch_explore_stop(url, tmp_path):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(url, wait_until="domcontentloaded")
            page.locator("#train-btn").wait_for(timeout=30_000)
            page.screenshot(path=str(tmp_path / "0-opened.png"), full_page=True)
            assert page.locator("#loss input").input_value() == "hinge"  # ring8's default loss is shown

            page.locator("#train-btn").click()
            status = page.locator("#status-line")
            wait_until(lambda: "running" in status.inner_text(), what="the status line to say running")
            grid1 = wait_until(lambda: img_src(page, "grid"), what="the fixed-noise grid")
            plot = page.locator("#loss-plot")
            wait_until(lambda: plot.locator("canvas, svg").count() > 0, what="the loss chart")
            chart1 = plot.screenshot()
            page.screenshot(path=str(tmp_path / "1-training.png"), full_page=True)
            wait_until(lambda: img_src(page, "grid") not in (None, grid1), what="the grid to change")
            wait_until(lambda: plot.screenshot() != chart1, what="the loss chart to change")
            page.screenshot(path=str(tmp_path / "2-later.png"), full_page=True)

            page.get_by_role("tab", name="Explore").click()
            pc1 = page.locator("#pc1 input[type=range]")
            pc1.wait_for(timeout=10_000)
            pc1.fill("2")
            first = wait_until(lambda: img_src(page, "x-image"), what="the explore image")
            pc1.fill("-3")
            wait_until(lambda: img_src(page, "x-image") not in (None, first), what="the image to follow the slider")
            page.screenshot(path=str(tmp_path / "3-explore.png"), full_page=True)

            page.get_by_role("tab", name="Train").click()
            page.locator("#stop-btn").click()
            wait_until(lambda: "stopped" in status.inner_text(), what="the status line to say stopped")
            page.screenshot(path=str(tmp_path / "4-stopped.png"), full_page=True)
            assert len(list(tmp_path.glob("*.png"))) == 5
        finally:
            browser.close()
