"""StyleGAN in the launched app: the /mix endpoint through gradio_client draws the library's mixing grid and
refuses bad rows and crossovers. In a real browser: tests/browser/test_mix.py."""
import numpy as np
import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from tests.helpers import pixels, poll_status  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
EXAMPLE = "digits-stylegan.pt"  # conftest.style_app ships it


@pytest.mark.slow
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
    got = pixels(alice.predict("1, 2, 3", "4, 5", 2, 1.0, 0, api_name="/mix"))
    assert got.shape == want.shape  # the endpoint draws the library's grid (up to the image codec)
    assert np.abs(got - want).mean() < 4
    n_ws = 2 * 3  # 28 px: 7 -> 14 -> 28, two style inputs per resolution
    ends = [pixels(alice.predict("1, 2, 3", "4, 5", k, 1.0, 0, api_name="/mix")) for k in (0, n_ws)]
    assert np.abs(ends[0] - ends[1]).mean() > 1  # the crossover changes the cells
    with pytest.raises(Exception, match="crossover"):
        alice.predict("1, 2", "3", 99, api_name="/mix")
    with pytest.raises(Exception, match="rows"):
        alice.predict("one", "3", 1, api_name="/mix")


