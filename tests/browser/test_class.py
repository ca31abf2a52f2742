"""Two visitors (two browser profiles, so two visitor ids) train at once on one server; each page shows its own
run as "your run" and sees that run's live grid change while the other run trains too."""
import re

import pytest

from tests.helpers import img_src, serve_app, wait_until  # noqa: E402
from demo.runs.manager import RunManager  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]


def test_two_visitors_train_at_once_and_each_sees_their_own_grid_change(browser, tmp_path):
    manager = RunManager(max_runs=2, checkpoint_dir=tmp_path / "ckpt", autosave_every=0, chunk_runner=None)
    with serve_app(manager, defaults={"dataset": "ring8", "batch_size": 64, "width": 32}) as (url, _):
        pages = []
        try:
            for _ in range(2):  # two profiles: two visitor ids kept in two browsers' storage
                page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
                page.goto(url, wait_until="domcontentloaded")
                page.locator("#train-btn").wait_for(timeout=30_000)
                pages.append(page)
            for page in pages:
                page.locator("#train-btn").click()
            wait_until(lambda: len(manager.active_runs()) == 2, what="both runs to start")
            shown = []
            for page in pages:
                status = page.locator("#status-line")
                wait_until(lambda: "running" in status.inner_text() and "your run" in status.inner_text(),
                           what="the page to show its own run running")
                shown.append(re.search(r"ring8-[\w-]+", status.inner_text()).group(0))
            owners = {r.id: r.owner for r in manager.active_runs()}
            assert set(shown) == set(owners) and len(set(owners.values())) == 2, (shown, owners)
            for page, run_id in zip(pages, shown):  # each grid changes while both train
                first = wait_until(lambda: img_src(page, "grid"), what="the grid")
                wait_until(lambda: img_src(page, "grid") not in (None, first), what=f"{run_id}'s grid to change")
                assert run_id in page.locator("#status-line").inner_text()
            assert all(r.state == "running" for r in manager.active_runs())
            assert "2 runs share this server's CPU" in pages[0].locator("#status-line").inner_text()
        finally:
            for page in pages:
                page.context.close()
