"""StyleGAN's views in a real browser (headless Chromium): load the StyleGAN example, open the style-mixing grid,
move its crossover slider, and move a W slider on a chosen layer range."""
import pytest

from tests.helpers import img_src, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow,  # Chromium, and every test here takes over 3 s
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]
EXAMPLE = "digits-stylegan.pt"  # conftest.style_app ships it


def test_browser_opens_the_mixing_grid_and_moves_a_layer_range_slider(browser, style_app, tmp_path):
    url, _ = style_app
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    page.goto(url, wait_until="domcontentloaded")
    page.locator("#train-btn").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Checkpoints").click()  # load the StyleGAN example as the visitor's run
    choice = page.get_by_label("Checkpoint", exact=True)
    choice.fill(f"examples/{EXAMPLE}")
    choice.press("Enter")
    page.get_by_role("button", name="Load", exact=True).click()
    status = page.locator("#status-line")
    wait_until(lambda: "stopped" in status.inner_text(), what="the loaded run's status")

    page.get_by_role("tab", name="Explore").click()
    mix = page.locator("#m-go")
    wait_until(lambda: mix.is_visible(), what="the style-mixing views (StyleGAN only)")
    assert page.locator("#x-layers").is_visible()
    mix.click()
    grid1 = wait_until(lambda: img_src(page, "m-grid"), what="the mixing grid")
    page.locator("#m-cross input[type=range]").fill("5")  # the crossover slider redraws on release
    page.locator("#m-cross input[type=range]").dispatch_event("pointerup")
    page.locator("#m-go").click()
    wait_until(lambda: img_src(page, "m-grid") not in (None, grid1), what="the grid to follow the crossover")

    pc1 = page.locator("#pc1 input[type=range]")
    page.locator("#x-layers").get_by_label("coarse").check()  # sliders move only the coarse styles
    pc1.fill("3")
    coarse = wait_until(lambda: img_src(page, "x-image"), what="the explore image")
    page.locator("#x-layers").get_by_label("fine").check()  # same offset, fine styles only
    wait_until(lambda: img_src(page, "x-image") not in (None, coarse), what="the image to follow the layer range")
    page.screenshot(path=str(tmp_path / "style-explore.png"), full_page=True)
    page.close()
