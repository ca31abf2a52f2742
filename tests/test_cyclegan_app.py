"""The Translate tab through gradio_client (/translate on held-out images and on an uploaded image, in both
directions, from the frozen published generators while the CycleGAN run keeps training; clear refusals) and in a
real browser (the shipped example when the visitor has no run: a stroke on the sketchpad, the direction switch)."""
import io
import os
import time

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from conftest import poll_status, serve_app
from demo.runs.manager import RunManager
from demo.tabs.translate import sketch_image
from gan.data.spec import DatasetSpec, register_dataset
from gan.data.pairs import digits2colordigits
from gan.registry import DATASETS

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TINY = "tiny-pair-app"


@pytest.fixture(scope="module")
def pair_name():
    pair = digits2colordigits(n=64, n_held=24, seed=0)
    register_dataset(DatasetSpec(TINY, "pair", (1, 28, 28), lambda **_: pair, n_classes=10, shape_b=(3, 28, 28)))
    yield TINY
    DATASETS.unregister(TINY)


@pytest.fixture(scope="module")
def quick_scores(tmp_path_factory):
    """Translation scores every second, from small classifiers cached in a temporary folder."""
    from demo.runs.monitors import METERS

    saved = dict(METERS.settings)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAN_QUALITY_EVERY", "1")
        METERS.settings.update(cache_dir=str(tmp_path_factory.mktemp("classifiers")), epochs=1, max_train=2000)
        yield
    METERS.settings.clear()
    METERS.settings.update(saved)


@pytest.fixture(scope="module")
def served(tmp_path_factory, pair_name, quick_scores):
    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path_factory.mktemp("ckpt"), autosave_every=0,
                         chunk_runner=None)
    with serve_app(manager) as (url, _):
        yield url, manager


def image(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_sketch_image_ignores_an_empty_canvas():
    blank = np.zeros((50, 50, 4), np.uint8)
    assert sketch_image(None) is None and sketch_image({"composite": None}) is None
    assert sketch_image({"composite": blank}) is None  # all transparent
    assert sketch_image({"composite": np.full((50, 50, 4), 255, np.uint8)}) is None  # plain white
    blank[10:40, 20:24] = (0, 0, 0, 255)
    assert sketch_image({"composite": blank}) is blank


def test_translate_endpoint_while_training(served, tmp_path):
    url, manager = served
    client = Client(url, verbose=False)
    assert "/translate" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    with pytest.raises(Exception, match="No CycleGAN yet"):
        client.predict(None, "a2b", 0, api_name="/translate")

    client.predict(TINY, "cyclegan", "lsgan", 4, None, 0, None, 4, api_name="/train")
    st = poll_status(client, lambda s: s["state"] == "running" and s["step"] >= 2, timeout=60,
                     what="the cyclegan run to train")
    x, y, rec = (image(p) for p in client.predict(None, "a2b", 3, api_name="/translate"))
    assert x.shape == y.shape == rec.shape == (224, 224, 3)
    assert np.ptp(x[..., 0] - x[..., 1]) == 0 and np.ptp(y[..., 0] - y[..., 1]) > 0  # grey digit in, colour out
    again = [image(p) for p in client.predict(None, "a2b", 3, api_name="/translate")]
    others = {image(client.predict(None, "a2b", s, api_name="/translate")[0]).tobytes() for s in range(4)}
    assert np.array_equal(again[0], x) and len(others) >= 3  # the seed picks the held-out image
    bx, by, brec = (image(p) for p in client.predict(None, "b2a", 3, api_name="/translate"))
    assert np.ptp(bx[..., 0] - bx[..., 1]) > 0 and np.ptp(by[..., 0] - by[..., 1]) == 0  # colour in, grey out

    # an uploaded image of any size: a dark stroke on white paper becomes a light digit on a dark ground
    paper = np.full((120, 90, 3), 255, np.uint8)
    paper[20:100, 40:52] = 0
    Image.fromarray(paper).save(tmp_path / "one.png")
    ux, uy, urec = (image(p) for p in client.predict(handle_file(str(tmp_path / "one.png")), "a2b", 0,
                                                   api_name="/translate"))
    assert ux.shape == (224, 224, 3) and ux[112, 112, 0] > 200 and ux[5, 5, 0] < 60
    assert poll_status(client, lambda s: s["step"] > st["step"], what="training to go on")["state"] == "running"

    # the quality chart's numbers: label kept, domain score and cycle L1 per direction, in the summary too
    q = client.predict(api_name="/quality")
    t0 = time.monotonic()
    while not q["history"] and time.monotonic() - t0 < 60:
        time.sleep(0.5)
        q = client.predict(api_name="/quality")
    assert {"label_kept_ab", "label_kept_ba", "domain_ab", "domain_ba", "cycle_aba", "cycle_bab"} <= set(q["numbers"])
    assert q["error"] is None and q["warning"] is None
    summary = manager.watched(manager.runs()[0].owner).snapshot().quality
    from demo.present import quality_frames, quality_summary

    assert "A→B: label kept" in quality_summary(summary) and "B→A: label kept" in quality_summary(summary)
    assert {"label kept A→B (%)", "in the target domain B→A (%)"} <= set(quality_frames(q["history"])[0]["series"])
    assert {"cycle L1 A→B→A", "cycle L1 B→A→B"} <= set(quality_frames(q["history"])[1]["series"])

    for bad, match in (((None, "sideways", 0), "a2b"), ((None, "a2b", -1), "seed")):
        with pytest.raises(Exception, match=match):
            client.predict(*bad, api_name="/translate")
    client.predict(api_name="/stop")
    time.sleep(0.1)


# ---- a real browser: the shipped example, a stroke on the sketchpad, the direction switch ---------------------
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def example_app(tmp_path, pair_name):
    """No run of the visitor's own: a tiny CycleGAN (3 steps) shipped as the cyclegan example."""
    from conftest import wait_for
    from gan.checkpoint import save_checkpoint
    from gan.config import TrainConfig
    from gan.data.spec import load_dataset
    from gan.train.trainer import Trainer

    t = Trainer(TrainConfig(dataset=pair_name, model="cyclegan", width=4, batch_size=4, seed=0, device="cpu", pool=3),
                data=load_dataset(pair_name))
    for _ in range(3):
        t.step()
    (tmp_path / "ckpt" / "examples").mkdir(parents=True)
    save_checkpoint(t, str(tmp_path / "ckpt" / "examples" / "digits2colordigits-cyclegan.pt"))
    from demo.runs.storage import Storage

    storage = Storage(tmp_path / "ckpt", examples_dir=tmp_path / "ckpt" / "examples")  # this tiny example only
    manager = RunManager(max_runs=1, storage=storage, autosave_every=0, chunk_runner=None)
    manager.load_examples()
    wait_for(lambda: manager.example("translate") is not None, what="the cyclegan example to publish")
    with serve_app(manager) as (url, _):
        yield url


def test_browser_draws_a_digit_and_switches_direction(example_app, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")

    def src(page, elem_id):
        loc = page.locator(f"#{elem_id} img")
        return loc.first.get_attribute("src") if loc.count() else None

    def shown(page, elem_id) -> np.ndarray:  # the picture an output shows, as the browser fetched it
        data = page.request.get(src(page, elem_id)).body()
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)

    def until(fn, what, timeout=30.0):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            value = fn()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(example_app, wait_until="domcontentloaded")
            page.get_by_role("tab", name="Translate").click()
            until(lambda: "example" in page.locator("#tr-note").inner_text(), "the note naming the example")
            held_x = until(lambda: src(page, "tr-x"), "a held-out translation when the tab opens")

            page.locator("#tr-draw button[aria-label='Brush']").first.click()
            box = page.locator("#tr-draw canvas").first.bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(cx, cy - 80)
            page.mouse.down()
            for k in range(20):  # a vertical stroke: a "1"
                page.mouse.move(cx + 2, cy - 80 + 8 * k)
            page.mouse.up()
            until(lambda: src(page, "tr-x") not in (None, held_x), "the sketch to be translated")
            x, y = shown(page, "tr-x"), shown(page, "tr-y")
            assert x.shape == y.shape == (224, 224, 3)
            assert np.abs(x[..., 0] - x[..., 2]).max() <= 2 and x[112, 112, 0] > 200 and x[5, 5, 0] < 60  # grey A
            assert np.abs(y[..., 0] - y[..., 2]).max() > 2  # a colour translation
            page.screenshot(path=str(tmp_path / "translate-a2b.png"))

            y_a2b = src(page, "tr-y")
            page.get_by_label("B → A").check()
            until(lambda: src(page, "tr-y") not in (None, y_a2b), "the translation to follow the direction switch")
            assert np.abs(shown(page, "tr-y")[..., 0] - shown(page, "tr-y")[..., 2]).max() <= 2  # F gives grey A
            page.screenshot(path=str(tmp_path / "translate-b2a.png"))
            page.close()
        finally:
            browser.close()


# ---- the visitor's own pair: a zip per domain, with the zip upload's checks --------------------------------------
def _png(colour, size=(20, 20), mode="RGB", *, seed: int | None = None) -> bytes:
    """A PNG of one colour, or with a seed a random pattern around that colour (what training needs: images of
    one flat colour give instance norm zero variance, and CycleGAN's gradients explode on them)."""
    img = Image.new(mode, size, colour)
    if seed is not None:
        a = np.asarray(img, dtype=np.int16)
        a = a + np.random.default_rng(seed).integers(-40, 40, a.shape)
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), mode)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _zip(path, members) -> str:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


def test_pair_of_zips_trains_translates_and_refuses_bad_zips(served, tmp_path):
    import re

    url, manager = served
    dave, eve = Client(url, verbose=False), Client(url, verbose=False)
    zip_a = _zip(tmp_path / "grey.zip", {f"g{i}.png": _png(30 * i + 40, mode="L", seed=i) for i in range(6)})
    zip_b = _zip(tmp_path / "colour.zip", {f"c{i}.png": _png((40 * i, 200, 90), seed=i) for i in range(6)})
    assert "now upload domain B" in dave.predict(handle_file(zip_a), None, api_name="/upload_pair")[1]

    folders = lambda: {p for p in manager.storage.uploads.glob("*/*") if p.is_dir()}  # noqa: E731
    before = folders()
    bad = {"noimg.zip": ({"a.txt": b"text"}, "no images found"),
           "escape.zip": ({"ok.png": _png((0, 0, 0)), "../evil.png": _png((1, 1, 1))}, "outside its folder"),
           "bomb.zip": ({"zeros.png": b"\0" * (20 * 2**20)}, "zip bomb"),
           "one.zip": ({"only.png": _png((1, 2, 3))}, "at least 2")}
    for fname, (members, words) in bad.items():
        with pytest.raises(Exception, match=f"domain B: .*{words}"):
            dave.predict(handle_file(zip_a), handle_file(_zip(tmp_path / fname, members)), api_name="/upload_pair")
    (tmp_path / "notzip.zip").write_bytes(b"plain text")
    with pytest.raises(Exception, match="domain A: .*not a readable zip"):
        dave.predict(handle_file(str(tmp_path / "notzip.zip")), handle_file(zip_b), api_name="/upload_pair")
    assert folders() == before and not (tmp_path / "evil.png").exists()  # a refused pair leaves nothing behind

    name, note = dave.predict(handle_file(zip_a), handle_file(zip_b), api_name="/upload_pair")
    assert re.fullmatch(r"pair:upload:grey-[0-9a-f]{8},upload:colour-[0-9a-f]{8}", name), name
    assert name in note and str(manager.storage.uploads) not in note and "/tmp" not in note
    dave.predict(name, "auto", "lsgan", 2, None, 0, None, 4, api_name="/train")
    st = poll_status(dave, lambda s: s["state"] == "running" and s["step"] >= 2, timeout=60, what="the pair to train")
    assert st["error"] is None and st["dataset"] == name and st["model"] == "cyclegan"
    x, y, rec = (image(p) for p in dave.predict(None, "b2a", 0, api_name="/translate"))
    assert x.shape == y.shape == (256, 256, 3)  # 32 px domains: the held-out colour image, translated to grey
    assert np.abs(y[..., 0] - y[..., 2]).max() <= 2 < np.abs(x[..., 0] - x[..., 2]).max()

    # nobody trains on dave's uploads or on server folders by naming them
    for dataset, words in ((name, "no upload named"), ("pair:/etc,/tmp", "pair datasets come from two uploads"),
                           (f"pair:upload:x-{'0' * 8},/tmp", "pair datasets come from two uploads")):
        with pytest.raises(Exception, match=words) as e:
            eve.predict(dataset, "auto", "lsgan", 2, None, 0, None, 4, api_name="/train")
        assert str(manager.storage.uploads) not in str(e.value)
    dave.predict(api_name="/stop")


def test_a_starting_cyclegan_leaves_the_example_on_translate_and_says_it_is_starting():
    """In a CycleGAN run's first seconds (no published nets yet) Translate keeps showing the shipped example,
    and with no example the refusal says the run is starting instead of 'No CycleGAN yet'."""
    from types import SimpleNamespace

    import gradio as gr

    from demo.page import Page
    from demo.runs.snapshot import Snapshot

    def run(sampler):
        snap = Snapshot("r", 1, {"step": 0}, sampler=sampler, model={"explore": ["translate"]})
        return SimpleNamespace(id="r", example=None, snapshot=lambda: snap)

    starting, example = run(None), run(object())
    examples = {"translate": example}
    manager = SimpleNamespace(storage=None, watched=lambda visitor: starting, example=examples.get)
    page = Page(manager)
    assert page.subject(starting, "translate") is example
    assert page.subject(starting, "explore") is starting  # no explore example: the run itself
    examples.clear()
    assert page.subject(starting, "translate") is starting
    with pytest.raises(gr.Error, match="starting"):
        page.translate._need(None)
    manager.watched = lambda visitor: None
    with pytest.raises(gr.Error, match="No CycleGAN yet"):
        page.translate._need(None)
