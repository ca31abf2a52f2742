"""StyleGAN in the launched app: the /mix endpoint through gradio_client, and a real browser that opens the
style-mixing grid, moves its crossover slider and moves a W slider on a chosen layer range."""
import os

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from conftest import img_src, poll_status, serve_app, tiny_config, wait_until  # noqa: E402
from demo.runs.manager import RunManager  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
CHROMIUM = "/usr/bin/chromium"
EXAMPLE = "digits-stylegan.pt"


def style_checkpoint(folder, small_digits) -> str:
    """A tiny unconditional stylegan after 3 steps, saved where the app keeps its shipped examples."""
    from gan.checkpoint import save_checkpoint
    from gan.train.trainer import Trainer

    t = Trainer(tiny_config(dataset="digits", model="stylegan", batch_size=8, width=4, z_dim=8, r1_every=2,
                            conditional=False), data=small_digits)
    for _ in range(3):
        t.step()
    os.makedirs(folder / "examples", exist_ok=True)
    return save_checkpoint(t, str(folder / "examples" / EXAMPLE))


@pytest.fixture
def style_app(tmp_path, small_digits):
    style_checkpoint(tmp_path / "ckpt", small_digits)
    from demo.runs.storage import Storage

    storage = Storage(tmp_path / "ckpt", examples_dir=tmp_path / "ckpt" / "examples")  # this tiny example only
    manager = RunManager(max_runs=1, storage=storage, autosave_every=0, chunk_runner=None)
    with serve_app(manager) as (url, _):
        yield url, manager


def picture(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_mix_endpoint_through_gradio_client(style_app):
    url, manager = style_app
    alice = Client(url, verbose=False)
    with pytest.raises(Exception, match="StyleGAN"):  # no StyleGAN run and no example published yet
        alice.predict("1, 2", "3", 1, api_name="/mix")
    assert "Loading" in alice.predict(f"examples/{EXAMPLE}", api_name="/load")
    poll_status(alice, lambda s: s["state"] == "stopped" and s.get("yours"), timeout=40, what="the loaded run")

    from gan.stylegan import family as sg
    from gan.checkpoint import load_sampler, load_state
    from gan.images import image_grid

    G = load_sampler(load_state(str(manager.storage.examples / EXAMPLE)))["G"].eval()
    grid = sg.mixing_grid(G, [1, 2, 3], [4, 5], crossover=2)  # (4, 3, C, H, W)
    want = image_grid(grid.reshape(12, *grid.shape[2:]), nrow=3, upscale=2).astype(np.int16)
    got = picture(alice.predict("1, 2, 3", "4, 5", 2, 1.0, 0, api_name="/mix"))
    assert got.shape == want.shape  # the endpoint draws the library's grid (up to the image codec)
    assert np.abs(got - want).mean() < 4
    n_ws = 2 * 3  # 28 px: 7 -> 14 -> 28, two style inputs per resolution
    ends = [picture(alice.predict("1, 2, 3", "4, 5", k, 1.0, 0, api_name="/mix")) for k in (0, n_ws)]
    assert np.abs(ends[0] - ends[1]).mean() > 1  # the crossover changes the cells
    with pytest.raises(Exception, match="crossover"):
        alice.predict("1, 2", "3", 99, api_name="/mix")
    with pytest.raises(Exception, match="rows"):
        alice.predict("one", "3", 1, api_name="/mix")


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_browser_opens_the_mixing_grid_and_moves_a_layer_range_slider(style_app, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    url, _ = style_app



    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
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
        finally:
            browser.close()
