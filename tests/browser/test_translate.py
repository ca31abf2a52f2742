"""The Translate tab in a real browser (headless Chromium): with the shipped CycleGAN example and no run of the
visitor's own, a stroke on the sketchpad is translated from grey digits to colour, and the direction switch
turns it round."""
import io

import numpy as np
import pytest
from PIL import Image

from tests.helpers import img_src, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow,  # Chromium, and every test here takes over 3 s
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]


def test_browser_draws_a_digit_and_switches_direction(browser, cyclegan_example_app, tmp_path):
    def shown(page, elem_id) -> np.ndarray:  # the picture an output shows, as the browser fetched it
        data = page.request.get(img_src(page, elem_id)).body()
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)

    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(cyclegan_example_app, wait_until="domcontentloaded")
    page.get_by_role("tab", name="Translate").click()
    wait_until(lambda: "example" in page.locator("#tr-note").inner_text(), what="the note naming the example")
    held_x = wait_until(lambda: img_src(page, "tr-x"), what="a held-out translation when the tab opens")

    page.locator("#tr-draw button[aria-label='Brush']").first.click()
    box = page.locator("#tr-draw canvas").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy - 80)
    page.mouse.down()
    for k in range(20):  # a vertical stroke: a "1"
        page.mouse.move(cx + 2, cy - 80 + 8 * k)
    page.mouse.up()
    wait_until(lambda: img_src(page, "tr-x") not in (None, held_x), what="the sketch to be translated")
    x, y = shown(page, "tr-x"), shown(page, "tr-y")
    assert x.shape == y.shape == (224, 224, 3)
    assert np.abs(x[..., 0] - x[..., 2]).max() <= 2 and x[112, 112, 0] > 200 and x[5, 5, 0] < 60  # grey A
    assert np.abs(y[..., 0] - y[..., 2]).max() > 2  # a colour translation
    page.screenshot(path=str(tmp_path / "translate-a2b.png"))

    y_a2b = img_src(page, "tr-y")
    page.get_by_label("B → A").check()
    wait_until(lambda: img_src(page, "tr-y") not in (None, y_a2b),
               what="the translation to follow the direction switch")
    assert np.abs(shown(page, "tr-y")[..., 0] - shown(page, "tr-y")[..., 2]).max() <= 2  # F gives grey A
    page.screenshot(path=str(tmp_path / "translate-b2a.png"))
    page.close()
