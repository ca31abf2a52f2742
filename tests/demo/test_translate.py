"""The Translate tab through gradio_client (/translate on held-out images and on an uploaded image, in both
directions, from the frozen published generators while the CycleGAN run keeps training; clear refusals), a pair
of zips as the visitor's own domains, and what Translate shows while a CycleGAN starts. In a real browser:
tests/browser/test_translate.py."""
import time

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests.helpers import TINY_PAIR as TINY
from tests.helpers import make_zip, pixels, png_bytes, poll_status, quick_meters
from demo.tabs.translate import sketch_image

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


@pytest.fixture(scope="module")
def served_options(tmp_path_factory, pair_name):
    """The module's app (conftest.served) comes up with the tiny pair registered and translation scores every
    second, from small classifiers cached in a temporary folder."""
    with quick_meters(tmp_path_factory.mktemp("classifiers")):
        yield {}


def test_sketch_image_ignores_an_empty_canvas():
    blank = np.zeros((50, 50, 4), np.uint8)
    assert sketch_image(None) is None and sketch_image({"composite": None}) is None
    assert sketch_image({"composite": blank}) is None  # all transparent
    assert sketch_image({"composite": np.full((50, 50, 4), 255, np.uint8)}) is None  # plain white
    blank[10:40, 20:24] = (0, 0, 0, 255)
    assert sketch_image({"composite": blank}) is blank


@pytest.mark.slow
def test_translate_endpoint_while_training(served, tmp_path):
    url, manager, _ = served
    client = Client(url, verbose=False)
    assert "/translate" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    with pytest.raises(Exception, match="No CycleGAN yet"):
        client.predict(None, "a2b", 0, api_name="/translate")

    client.predict(TINY, "cyclegan", "lsgan", 4, None, 0, None, 4, api_name="/train")
    st = poll_status(client, lambda s: s["state"] == "running" and s["step"] >= 2, timeout=60,
                     what="the cyclegan run to train")
    x, y, rec = (pixels(p) for p in client.predict(None, "a2b", 3, api_name="/translate"))
    assert x.shape == y.shape == rec.shape == (224, 224, 3)
    assert np.ptp(x[..., 0] - x[..., 1]) == 0 and np.ptp(y[..., 0] - y[..., 1]) > 0  # grey digit in, colour out
    again = [pixels(p) for p in client.predict(None, "a2b", 3, api_name="/translate")]
    others = {pixels(client.predict(None, "a2b", s, api_name="/translate")[0]).tobytes() for s in range(4)}
    assert np.array_equal(again[0], x) and len(others) >= 3  # the seed picks the held-out image
    bx, by, brec = (pixels(p) for p in client.predict(None, "b2a", 3, api_name="/translate"))
    assert np.ptp(bx[..., 0] - bx[..., 1]) > 0 and np.ptp(by[..., 0] - by[..., 1]) == 0  # colour in, grey out

    # an uploaded image of any size: a dark stroke on white paper becomes a light digit on a dark ground
    paper = np.full((120, 90, 3), 255, np.uint8)
    paper[20:100, 40:52] = 0
    Image.fromarray(paper).save(tmp_path / "one.png")
    ux, uy, urec = (pixels(p) for p in client.predict(handle_file(str(tmp_path / "one.png")), "a2b", 0,
                                                    api_name="/translate"))
    assert ux.shape == (224, 224, 3) and ux[112, 112, 0] > 200 and ux[5, 5, 0] < 60
    assert poll_status(client, lambda s: s["step"] > st["step"], what="training to go on")["state"] == "running"

    # the quality chart's numbers: label kept, domain score and cycle L1 per direction, in the summary too
    q = client.predict(api_name="/quality")
    t0 = time.monotonic()
    while not q["history"] and time.monotonic() - t0 < 120:  # generous: scores come later on a loaded machine
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


# ---- the visitor's own pair: a zip per domain, with the zip upload's checks --------------------------------------
@pytest.mark.slow
def test_pair_of_zips_trains_translates_and_refuses_bad_zips(served, tmp_path):
    import re

    url, manager, _ = served
    dave, eve = Client(url, verbose=False), Client(url, verbose=False)
    zip_a = make_zip(tmp_path / "grey.zip", {f"g{i}.png": png_bytes(30 * i + 40, mode="L", seed=i) for i in range(6)})
    zip_b = make_zip(tmp_path / "colour.zip", {f"c{i}.png": png_bytes((40 * i, 200, 90), seed=i) for i in range(6)})
    assert "now upload domain B" in dave.predict(handle_file(zip_a), None, api_name="/upload_pair")[1]

    folders = lambda: {p for p in manager.storage.uploads.glob("*/*") if p.is_dir()}  # noqa: E731
    before = folders()
    bad = {"noimg.zip": ({"a.txt": b"text"}, "no images found"),
           "escape.zip": ({"ok.png": png_bytes((0, 0, 0)), "../evil.png": png_bytes((1, 1, 1))}, "outside its folder"),
           "bomb.zip": ({"zeros.png": b"\0" * (20 * 2**20)}, "zip bomb"),
           "one.zip": ({"only.png": png_bytes((1, 2, 3))}, "at least 2")}
    for fname, (members, words) in bad.items():
        with pytest.raises(Exception, match=f"domain B: .*{words}"):
            dave.predict(handle_file(zip_a), handle_file(make_zip(tmp_path / fname, members)), api_name="/upload_pair")
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
    x, y, rec = (pixels(p) for p in dave.predict(None, "b2a", 0, api_name="/translate"))
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
