"""A fresh app with the shipped examples in place, in a real browser (headless Chromium), before anyone
trains: Explore shows an image from the digits example and Theory the ring8 example's picture, each labelled
as an example on the page."""
import shutil
from pathlib import Path

import pytest

from tests.helpers import EXAMPLES, img_src, serve_app, wait_until
from demo.runs.manager import EXAMPLE_FOR, RunManager

pytestmark = [pytest.mark.browser, pytest.mark.slow,  # Chromium, and every test here takes over 3 s
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]
EXAMPLES = Path(EXAMPLES)


def test_a_fresh_app_shows_the_examples_before_any_training(browser, tmp_path):
    for view in ("explore", "theory"):
        assert (EXAMPLES / f"{EXAMPLE_FOR[view]}.pt").is_file(), "make them: python scripts/make_examples.py"
    root = tmp_path / "ckpt"
    shutil.copytree(EXAMPLES, root / "examples")
    manager = RunManager(max_runs=1, checkpoint_dir=root, chunk_runner=None)
    assert {r.example for r in manager.load_examples()} >= {EXAMPLE_FOR["explore"], EXAMPLE_FOR["theory"]}
    wait_until(lambda: manager.example("explore") and manager.example("theory"), what="the examples to publish")
    with serve_app(manager) as (url, _):
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
