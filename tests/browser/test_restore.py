"""Explore's "Your image" in a real browser (headless Chromium): draw part of a digit, paint over the missing
part, restore, see the restored image, then move a slider and see the edited projection change."""
import time

import pytest

from tests.helpers import img_src, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]


def _stroke(page, elem_id: str, points: list[tuple[float, float]], *, pick: bool = True) -> None:
    """A brush stroke through `points` (fractions of the canvas) on the editor `elem_id` (`pick`: choose the
    brush first; an editor with a background starts with it)."""
    if pick:
        page.locator(f"#{elem_id} button[aria-label='Brush']").first.click()
    box = page.locator(f"#{elem_id} canvas").first.bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


def _settled(page, elem_id: str, quiet: float = 1.5) -> str:
    """The image `elem_id` shows once it has not changed for `quiet` seconds (a chain of events has finished)."""
    last, since = img_src(page, elem_id), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.1)
        now = img_src(page, elem_id)
        if now != last:
            last, since = now, time.monotonic()
    return last


def test_browser_restores_a_drawn_digit_and_edits_it(browser, digits_app, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    page.goto(digits_app, wait_until="domcontentloaded")
    page.get_by_role("tab", name="Explore").click()
    first = wait_until(lambda: img_src(page, "x-image"), what="the explore image")

    _stroke(page, "r-draw", [(0.5, 0.2), (0.5, 0.35), (0.5, 0.5)])  # the top of a "1"
    wait_until(lambda: img_src(page, "r-given"), what="the drawing, converted, as what G is given")
    _stroke(page, "r-mask", [(0.3, 0.6), (0.7, 0.6), (0.7, 0.7), (0.3, 0.7), (0.3, 0.8), (0.7, 0.8)])  # the bottom
    page.locator("#r-task").get_by_label("inpaint").check()
    page.locator("#r-go").click()
    wait_until(lambda: img_src(page, "r-restored"), what="the restored image")
    assert img_src(page, "r-proj")
    wait_until(lambda: img_src(page, "x-image") not in (None, first), what="the explore image to show the projection")
    mine = _settled(page, "x-image")  # Restore's chain (class, sliders to 0, redraw) has run to its end
    page.locator("#pc1 input[type=range]").fill("3")
    wait_until(lambda: img_src(page, "x-image") not in (None, mine), what="the slider to edit the projection")
    page.screenshot(path=str(tmp_path / "restore.png"), full_page=True)
    page.close()
