"""Issue 29's walk, in headless Chromium, as a learner's first hour goes: open the page with GAN_CHECKPOINT_DIR set to
an empty folder, look at every tab, train digits and watch the Explore image change without touching it, train
ring8 then gaussian1d and watch the game on Theory, and end with no page error in the console (nor Vega's
"Infinite extent" warnings, which empty charts used to cause at each run start). On the way: every tab shows a
shipped example at once, gaussian1d's game is scrubbed back to its start, and a CycleGAN export loads and translates."""

import re

import pytest

from tests.browser import numbers_follow
from tests.helpers import cyclegan_export_zip, img_src, serve_app, wait_until

from demo.runs.manager import RunManager  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]
TABS = ("Train", "Explore", "Theory", "Translate", "Checkpoints")


def test_a_learners_first_hour(browser, tmp_path, monkeypatch):
    empty = tmp_path / "checkpoints"
    empty.mkdir()
    monkeypatch.setenv("GAN_CHECKPOINT_DIR", str(empty))
    manager = RunManager(max_runs=1, autosave_every=0, chunk_runner=None)  # as demo/app.py main() builds it
    assert manager.checkpoint_dir == empty.resolve()
    manager.load_examples()
    with serve_app(manager, defaults={"dataset": "digits", "batch_size": 16, "width": 8}) as (url, _):
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
                    wait_until(lambda: numbers_follow(page, dataset), what=f"the numbers to follow {dataset}")
                page.locator("#train-btn").click()
                wait_until(lambda: "running" in status.inner_text() and dataset in status.inner_text(),
                           what=f"{dataset} to train")

            def stop() -> None:
                tab("Train")
                page.locator("#stop-btn").click()
                wait_until(lambda: "stopped" in status.inner_text(), timeout=60, what="the stop")

            # every tab opens on a shipped example, though GAN_CHECKPOINT_DIR is an empty folder
            shows = {"Train": lambda: "example" in status.inner_text(), "Explore": lambda: img_src(page, "x-image"),
                     "Theory": lambda: img_src(page, "theory-main"),
                     "Translate": lambda: "example" in page.locator("#tr-note").inner_text().lower(),
                     "Checkpoints": lambda: "examples/" in page.locator("#c-table").inner_text()}
            for name in TABS:
                tab(name)
                wait_until(shows[name], timeout=30, what=f"an example on the {name} tab")

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
            # scrub gaussian1d's game back to its start
            tab("Theory")
            page.locator("#theory-replay").get_by_text("Replay the game").click()
            caption = page.locator("#theory-replay-caption")

            def scrubbed_to_start() -> bool:  # fill again until it takes: the replay's range may still be loading
                if "picture 1 of" not in caption.inner_text():
                    page.locator("#theory-replay-pos input[type=range]").fill("0")
                    page.wait_for_timeout(500)
                return "picture 1 of" in caption.inner_text() and bool(img_src(page, "theory-replay-picture"))

            wait_until(scrubbed_to_start, timeout=30, what="the game's first kept picture")

            def shown_step() -> int:
                return int(re.search(r"Step ([\d,]+)", caption.inner_text()).group(1).replace(",", ""))

            first_step = shown_step()
            page.locator("#theory-replay-pos input[type=range]").fill("100")
            wait_until(lambda: "picture 1 of" not in caption.inner_text(), timeout=30, what="the last picture")
            assert shown_step() > first_step

            # load a CycleGAN export (Checkpoints tab, Hub panel) and see it translate
            tab("Checkpoints")
            page.locator("#hub-upload input[type=file]").set_input_files(cyclegan_export_zip(tmp_path))
            wait_until(lambda: "Loaded the export" in page.locator("#hub-notice").inner_text(), timeout=60,
                       what="the export to load")
            tab("Translate")
            page.locator("#tr-pick").click()
            wait_until(lambda: img_src(page, "tr-y"), timeout=30, what="a translation")

            tab("Train")
            page.wait_for_timeout(2000)
            assert not errors, errors
        finally:
            page.close()
