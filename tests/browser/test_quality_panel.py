"""A real browser reads the quality panel's four numbers (precision, recall, density, coverage) live while a digits
run trains, with their meaning in plain words, and makes a synthetic dataset from the Train tab."""
import re

import pytest

from tests.helpers import quick_meters, serve_app, wait_until
from demo.runs.manager import RunManager

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]
FOUR = re.compile(r"precision (\d\.\d\d), recall (\d\.\d\d), density (\d+\.\d\d), coverage (\d\.\d\d)")


def four_numbers(page) -> tuple[int, tuple[float, ...]] | None:
    """(step, (precision, recall, density, coverage)) as the panel shows them, or None before the first score."""
    text = page.locator("#quality-summary").inner_text()
    got, step = FOUR.search(text), re.search(r"step ([\d,]+)", text)
    if not got or not step:
        return None
    return int(step.group(1).replace(",", "")), tuple(float(v) for v in got.groups())


def test_the_panel_shows_the_four_numbers_live_and_a_dataset_downloads(browser, tmp_path):
    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path / "ckpt", autosave_every=0)
    with quick_meters(tmp_path / "classifiers", n_real=500), \
            serve_app(manager, defaults={"dataset": "digits"}) as (url, _):
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        page.goto(url, wait_until="domcontentloaded")
        page.locator("#train-btn").wait_for(timeout=30_000)
        page.locator("#train-btn").click()
        first = wait_until(lambda: four_numbers(page), timeout=120, what="the four numbers on the panel")
        p, r, d, c = first[1]
        assert 0 <= p <= 1 and 0 <= r <= 1 and 0 <= c <= 1 and d >= 0
        text = page.locator("#quality-summary").inner_text()
        assert "how many samples fall where real data lives" in text and "Mode collapse is high precision" in text
        later = wait_until(lambda: (n := four_numbers(page)) and n[0] > first[0] and n, timeout=120,
                           what="a later score on the panel")  # live: the panel follows the run
        assert later[0] > first[0]

        page.get_by_text("Download a synthetic dataset").click()
        box = page.locator("#synthetic-n input")

        def holds_20() -> bool:  # under load a click straight after fill() once sent the old 1000: type until 20 holds
            if box.input_value() == "20":
                return True
            box.fill("20")
            box.press("Tab")
            return False

        wait_until(holds_20, timeout=30, what="the number box to hold 20")
        page.locator("#synthetic-btn").click()
        link = page.locator("#synthetic-file a").first
        link.wait_for(timeout=60_000)
        assert re.search(r"synthetic-.*-n20-s0\.zip", link.inner_text() + (link.get_attribute("href") or ""))
        page.locator("#stop-btn").click()
        page.close()
