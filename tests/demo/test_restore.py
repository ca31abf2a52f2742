"""Explore's "Your image" through gradio_client: /restore takes a picture and a mask picture, gives back what
G was given, the restored image (the known pixels kept) and G's projection; a bad task is refused in one line;
/generate afterwards edits the projected latent of that visitor only."""
import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import handle_file  # noqa: E402

from tests.helpers import client, error_of, pixels  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]


def test_restore_endpoint_inpaints_and_the_sliders_edit_the_projection(digits_app, tmp_path):
    digit = np.zeros((28, 28, 3), np.uint8)
    digit[4:24, 12:16] = 255  # a "1"
    Image.fromarray(digit).save(tmp_path / "one.png")
    mask = np.full((28, 28), 255, np.uint8)
    mask[14:] = 0  # the bottom half missing
    Image.fromarray(mask).save(tmp_path / "mask.png")
    alice, bob = client(digits_app), client(digits_app)
    assert "/restore" in alice.view_api(print_info=False, return_format="dict")["named_endpoints"]
    before = pixels(alice.predict(seed=0, api_name="/generate"))
    given, restored, proj = alice.predict(handle_file(str(tmp_path / "one.png")), handle_file(str(tmp_path /
                                          "mask.png")), "inpaint", 0, api_name="/restore")
    given, restored, proj = pixels(given), pixels(restored), pixels(proj)
    assert given.shape == restored.shape == proj.shape and given.shape[0] >= 28
    h = given.shape[0]
    assert np.array_equal(given[: h // 2 - 8], restored[: h // 2 - 8])  # the known top half, kept
    assert given[h * 3 // 4:].max() == 0  # what was missing is shown black
    after = pixels(alice.predict(seed=0, api_name="/generate"))  # seed 0 now edits the projected latent
    assert np.abs(after - before).sum() > 0
    assert np.array_equal(pixels(bob.predict(seed=0, api_name="/generate")), before)  # bob's is G's own
    moved = pixels(alice.predict(seed=0, d1=3.0, api_name="/generate"))
    assert np.abs(moved - after).sum() > 0
    err = error_of(alice.predict, handle_file(str(tmp_path / "one.png")), None, "blur", 0, api_name="/restore")
    assert "blur" in err and "project" in err and "\n" not in err
