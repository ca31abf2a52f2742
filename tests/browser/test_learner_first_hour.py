"""Issue 29, "A learner's first hour", on the page itself (headless Chromium): the Train tab opens on the shipped
example, the Model box follows the dataset (no leftover stylegan on a pair of domains), the learning-rate box steps
by a learning rate's step, and a one-point chart labels its axes as numbers read."""
import re

import pytest

from tests.helpers import free_port, img_src, serve_app, wait_until  # noqa: E402
from demo.runs.manager import RunManager  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]



def _pick(page, elem_id: str, value: str) -> None:
    """Choose `value` in the dropdown `elem_id` as a visitor does: open it, click the option."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=value, exact=True).click()


def test_the_first_screen_the_model_box_and_the_number_boxes(browser, tmp_path):
    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path, chunk_runner=None, autosave_every=0)
    manager.load_examples()
    wait_until(lambda: manager.example("explore"), what="the examples to publish")
    with serve_app(manager) as (url, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(url, wait_until="domcontentloaded")
        page.locator("#train-btn").wait_for(timeout=30_000)

        # the first screen: the example, labelled, instead of empty boxes
        status = page.locator("#status-line")
        wait_until(lambda: "example" in status.inner_text(), what="the example on the Train tab")
        assert "digits-dcgan" in status.inner_text() and "until you train" in status.inner_text()
        wait_until(lambda: img_src(page, "grid"), what="the example's grid")

        # a leftover model choice: stylegan, then a pair of domains -> the Model box goes back to auto
        _pick(page, "model", "stylegan")
        wait_until(lambda: page.locator("#model input").input_value() == "stylegan", what="stylegan picked")
        _pick(page, "dataset", "digits2colordigits")
        wait_until(lambda: page.locator("#model input").input_value() == "auto", what="the Model box back to auto")
        wait_until(lambda: page.locator("#batch-size input").input_value() == "8", what="the pair's numbers")

        # the learning rate steps by a learning rate's step (ArrowUp once turned 0.0005 into 1)
        _pick(page, "dataset", "digits")
        wait_until(lambda: page.locator("#lr input").input_value() == "0.0005", what="digits' learning rate")
        box = page.locator("#lr input")
        box.focus()
        box.press("ArrowUp")
        assert abs(float(box.input_value()) - 0.0006) < 1e-9, box.input_value()
        page.close()
    assert manager.runs() == []  # nothing trained: the page showed the example alone


def test_opening_the_penalties_shows_the_defaults_and_train_still_starts(browser, tmp_path):
    """Gradio shows a blank Number as 0 once its accordion opens: a blank packing then refused the run and a blank
    R1 dropped StyleGAN's penalty. The boxes show the dataset's and model's own numbers instead."""
    from gan.family import train_defaults

    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path, chunk_runner=None, autosave_every=0)
    with serve_app(manager) as (url, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(url, wait_until="domcontentloaded")
        page.locator("#train-btn").wait_for(timeout=30_000)
        page.get_by_text("Penalties and packing").click()
        shown = lambda: [float(page.locator(f"#{k} input").input_value() or "nan") for k in ("r1", "r2", "pac")]
        wanted = lambda model: [float(train_defaults("digits", model)[k]) for k in ("r1", "r2", "pac")]
        wait_until(lambda: page.locator("#pac input").count() and shown() == wanted(None), what="digits' penalties")
        _pick(page, "model", "stylegan")
        wait_until(lambda: shown() == wanted("stylegan"), what="StyleGAN's R1 in the box")
        assert shown()[0] > 0
        _pick(page, "model", "mlp")
        wait_until(lambda: shown() == wanted("mlp"), what="mlp's penalties")
        page.locator("#train-btn").click()
        wait_until(lambda: manager.runs() and manager.runs()[0].state.value == "running", timeout=60,
                   what="the run to start with the accordion open")
        assert manager.runs()[0].trainer.cfg.pac == 1
        page.close()


def test_a_one_point_chart_labels_its_axes_as_numbers_read(browser):
    import gradio as gr

    from demo.present import long_frame
    from demo.tabs import PLOT

    with gr.Blocks() as demo:
        gr.LinePlot(long_frame({"step": [8000.0], "V": [0.5]}), **PLOT, elem_id="one")
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_port=free_port())
    try:
        page = browser.new_page()
        page.goto(url)
        labels = page.locator("#one g.role-axis-label text")
        wait_until(lambda: labels.count() >= 2, what="the chart's axis labels")
        texts = labels.evaluate_all("els => els.map(e => e.textContent)")
        assert "8,000" in texts and not [t for t in texts if re.search(r"\.\d{4,}", t)], texts
        page.close()
    finally:
        demo.close()
