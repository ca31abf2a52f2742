"""Issue 29's walk, in headless Chromium, as a learner's first hour goes: open the page with GAN_CHECKPOINT_DIR set to
an empty folder, look at every tab, train digits and watch the Explore image change without touching it, train
ring8 then gaussian1d and watch the game on Theory, and end with no page error in the console (nor Vega's
"Infinite extent" warnings, which empty charts used to cause at each run start).

Three steps depend on work on another branch (learner-a) and are written below as TODO(learner-a) assertions, to
switch on after that merge: an example on every tab with GAN_CHECKPOINT_DIR set, scrubbing gaussian1d's game back to
its start, and loading a CycleGAN export."""
import os

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

try:  # tests/ reorganised: the helpers moved to tests/helpers.py
    from tests.helpers import img_src, serve_app, wait_until
except ImportError:
    from conftest import img_src, serve_app, wait_until

from demo.runs.manager import RunManager  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TABS = ("Train", "Explore", "Theory", "Translate", "Checkpoints")


def test_a_learners_first_hour(tmp_path, monkeypatch):
    empty = tmp_path / "checkpoints"
    empty.mkdir()
    monkeypatch.setenv("GAN_CHECKPOINT_DIR", str(empty))
    manager = RunManager(max_runs=1, autosave_every=0, chunk_runner=None)  # as demo/app.py main() builds it
    assert manager.checkpoint_dir == empty.resolve()
    manager.load_examples()
    with serve_app(manager, defaults={"dataset": "digits", "batch_size": 16, "width": 8}) as (url, _), \
            sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("console", lambda m: errors.append(f"console: {m.text[:200]}")
                    if "Infinite extent" in m.text else None)
            page.goto(url, wait_until="domcontentloaded")
            page.locator("#train-btn").wait_for(timeout=30_000)
            status = page.locator("#status-line")

            def tab(name: str) -> None:
                page.get_by_role("tab", name=name).click()

            def train(dataset: str) -> None:
                tab("Train")
                if dataset != page.get_by_label("Dataset", exact=True).input_value():
                    page.get_by_label("Dataset", exact=True).click()
                    page.get_by_role("option", name=dataset, exact=True).click()
                    page.wait_for_timeout(1000)  # the numbers follow the dataset
                page.locator("#train-btn").click()
                wait_until(lambda: "running" in status.inner_text() and dataset in status.inner_text(),
                           what=f"{dataset} to train")

            def stop() -> None:
                tab("Train")
                page.locator("#stop-btn").click()
                wait_until(lambda: "stopped" in status.inner_text(), timeout=60, what="the stop")

            # every tab opens; TODO(learner-a): with GAN_CHECKPOINT_DIR set, each shows an example at once
            for name in TABS:
                tab(name)
                page.wait_for_timeout(500)
                # TODO(learner-a): assert {"Explore": img_src(page, "x-image"), "Theory": img_src(page, "theory-main"),
                #     "Translate": img_src(page, "tr-y"), "Checkpoints": "examples/" in
                #     page.locator("#c-table").inner_text(), "Train": True}[name]

            # train digits, and watch G(z) on Explore change by itself
            train("digits")
            tab("Explore")
            first = wait_until(lambda: img_src(page, "x-image"), what="the run's first image on Explore")
            wait_until(lambda: img_src(page, "x-image") not in (None, first), timeout=90,
                       what="the Explore image to follow training untouched")
            stop()

            # ring8, then gaussian1d: the game on Theory
            for dataset in ("ring8", "gaussian1d"):
                train(dataset)
                tab("Theory")
                wait_until(lambda: dataset in page.locator("#theory-status").inner_text() and
                           img_src(page, "theory-main"), timeout=90, what=f"{dataset}'s game on Theory")
                page.wait_for_timeout(3000)  # a few snapshots of the game
                stop()
            # TODO(learner-a): scrub gaussian1d's game back to its start, e.g.
            #     tab("Theory"); page.locator("#theory-scrub input[type=range]").fill("0")
            #     wait_until(lambda: "step 0" in page.locator("#theory-status").inner_text(), what="the start")

            # TODO(learner-a): load a CycleGAN export (Checkpoints tab, Hub panel) and see it translate, e.g.
            #     tab("Checkpoints"); <upload the export zip, press "Load export">
            #     tab("Translate"); wait_until(lambda: img_src(page, "tr-y"), what="a translation")

            tab("Train")
            page.wait_for_timeout(2000)
            assert not errors, errors
        finally:
            browser.close()
