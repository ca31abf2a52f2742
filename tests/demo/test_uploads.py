"""Uploads through the launched app: checkpoints (bad, empty, too big) and zips of images (mixed images, escaping
paths, bombs) are refused with a reason or unpacked into the visitor's own folder; an upload's form defaults
follow its images; abandoned uploads and Gradio's cached copies go after the upload TTL."""
import os
import pickle
import re
import time

import pytest
import torch

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from tests.helpers import RING, TRAIN_FORM, client, error_of, grey_png, image_zip, make_zip, png_bytes  # noqa: E402
from tests.helpers import Evil, good_checkpoint, poll_status, req  # noqa: E402
from demo.app import launch_kwargs  # noqa: E402
from demo.runs.manager import RunManager  # noqa: E402
from demo.page import Page  # noqa: E402
from demo.runs.storage import Storage  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = TRAIN_FORM  # the /train form's values: a small ring8 run with BCE
poll = poll_status  # /status until cond(status)



# ---- checkpoints and zips, one module-wide app (conftest.clean) ------------------------------------------
def test_bad_checkpoint_uploads_are_refused_with_a_reason(clean, tmp_path):
    url, manager, _ = clean
    carol = Client(url, verbose=False)
    n = len(manager.runs())
    good = good_checkpoint(tmp_path)
    data = open(good, "rb").read()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    torch.save({"state_dict": {"w": torch.zeros(2)}}, tmp_path / "foreign.pt")
    state = torch.load(good, weights_only=True)
    state["model_config"]["model"] = "stylegan9"
    torch.save(state, tmp_path / "alien.pt")
    marker = tmp_path / "pwned"
    torch.save({"format": "gan-lab-checkpoint", "payload": Evil(str(marker))}, tmp_path / "evil.pt")
    (tmp_path / "evil2.pt").write_bytes(pickle.dumps(Evil(str(marker))))
    cases = {"trunc.pt": "truncated or corrupt", "foreign.pt": "not a checkpoint of this app",
             "alien.pt": "unknown model 'stylegan9'", "evil.pt": "refused", "evil2.pt": "not"}
    for name, words in cases.items():
        with pytest.raises(Exception, match=words):
            carol.predict(handle_file(str(tmp_path / name)), api_name="/upload")
    assert not marker.exists(), "the pickle's code ran"
    assert len(manager.runs()) == n
    # the good one loads
    assert "Loading" in carol.predict(handle_file(good), api_name="/upload")


def test_empty_and_oversized_uploads(clean, tmp_path, monkeypatch):
    url, manager, _ = clean
    h = Page(manager).files
    n = len(manager.runs())
    import gradio as gr
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(gr.Error, match="empty"):
        h.upload(str(tmp_path / "empty.pt"))
    with pytest.raises(gr.Error, match="no file"):
        h.upload(None)
    monkeypatch.setenv("GAN_MAX_UPLOAD_MB", "1")
    (tmp_path / "big.pt").write_bytes(b"\0" * (2 * 2**20))
    with pytest.raises(gr.Error, match="limit is 1 MiB"):
        h.upload(str(tmp_path / "big.pt"))
    (tmp_path / "big.zip").write_bytes(b"\0" * (2 * 2**20))
    with pytest.raises(gr.Error, match="limit is 1 MiB"):
        h.page.train.upload_zip(str(tmp_path / "big.zip"))
    assert len(manager.runs()) == n
    # the server itself also caps uploads before any handler runs, from the same setting
    assert launch_kwargs(manager)["max_file_size"] == "1mb"
    monkeypatch.delenv("GAN_MAX_UPLOAD_MB")
    assert launch_kwargs(manager)["max_file_size"] == "200mb"
    carol = Client(url, verbose=False)
    with pytest.raises(Exception, match="empty"):
        carol.predict(handle_file(str(tmp_path / "empty.pt")), api_name="/upload")


@pytest.mark.slow
def test_zip_of_images_through_the_page(clean, tmp_path, monkeypatch):
    url, manager, _ = clean
    manager.max_runs = 2
    dave, eve = Client(url, verbose=False), Client(url, verbose=False)
    good = make_zip(tmp_path / "pics.zip", {"a/red.png": png_bytes((255, 0, 0)),
                                            "grey.png": png_bytes(90, (30, 12), "L"),
                                            "rgba.png": png_bytes((0, 0, 255, 128), (16, 40), "RGBA"),
                                            "notes.txt": b"hello", "data.csv": b"1,2"})
    name, note = dave.predict(handle_file(good), api_name="/upload_zip")
    # the page gets a token for the upload, never the server folder it was unpacked to
    assert re.fullmatch(r"upload:pics-[0-9a-f]{8}", name), name
    assert "3 image(s)" in note and "2 other file(s) skipped" in note and name in note
    assert str(manager.storage.uploads) not in note and "/tmp" not in note
    dave.predict(**{**TRAIN, "dataset": name, "batch_size": 2, "width": 8}, api_name="/train")
    st = poll(dave, lambda s: s["state"] == "running" and s["step"] >= 2, what="training on the zip")
    assert st["error"] is None and st["dataset"] == name
    # another visitor cannot train on dave's upload, by its token or by a folder path
    with pytest.raises(Exception, match="no upload named") as e:
        eve.predict(**{**TRAIN, "dataset": name, "batch_size": 2, "width": 8}, api_name="/train")
    assert str(manager.storage.uploads) not in str(e.value)
    folder = next(manager.storage.uploads.rglob(name.rsplit("-", 1)[1] + "*"))
    with pytest.raises(Exception, match="folder datasets come from uploads") as e:
        eve.predict(**{**TRAIN, "dataset": f"folder:{folder}"}, api_name="/train")
    assert str(folder) not in str(e.value)
    dave.predict(api_name="/stop")
    ckpt = poll(dave, lambda s: s["state"] == "stopped" and s["checkpoint"], what="dave's checkpoint")["checkpoint"]

    # eve may load dave's checkpoint (this laptop server shares one folder) to explore only: its dataset is a
    # folder that is not her upload, so it is never read, and Resume is refused
    reads = []
    real_data = manager.dataset
    monkeypatch.setattr(manager, "dataset", lambda cfg: reads.append(cfg.dataset) or real_data(cfg))
    note = eve.predict(ckpt, api_name="/load")
    assert "explore only" in note and str(folder) not in note
    st = poll(eve, lambda s: s["yours"] and s["state"] == "stopped", what="eve's explore-only run")
    assert "explore only" in st["warning"] and st["dataset"].startswith("upload:")
    assert eve.predict(seed=1, api_name="/generate")  # Explore works from the checkpoint's own weights
    for endpoint, args in (("/resume", ()), ("/load_resume", (ckpt,))):
        with pytest.raises(Exception, match="not among your uploads|not one of your uploads") as e:
            eve.predict(*args, api_name=endpoint)
        assert str(folder) not in str(e.value)
    assert reads == [] and not any(r.active for r in manager.runs())
    # dave, whose upload it is, resumes it
    assert "resuming" in dave.predict(ckpt, api_name="/load_resume")
    poll(dave, lambda s: s["yours"] and s["state"] == "running" and s["step"] > st["step"], what="dave resumes")
    assert reads == [f"folder:{folder}"]
    dave.predict(api_name="/stop")

    bad = {
        "noimg.zip": ({"a.txt": b"text"}, "no images found"),
        "escape.zip": ({"ok.png": png_bytes((0, 0, 0)), "../evil.png": png_bytes((1, 1, 1))}, "outside its folder"),
        "abs.zip": ({"/tmp/evil.png": png_bytes((1, 1, 1))}, "outside its folder"),
        "bomb.zip": ({"zeros.png": b"\0" * (20 * 2**20)}, "zip bomb"),
    }
    for fname, (members, words) in bad.items():
        with pytest.raises(Exception, match=words):
            dave.predict(handle_file(make_zip(tmp_path / fname, members)), api_name="/upload_zip")
    (tmp_path / "notzip.zip").write_bytes(b"plain text")
    with pytest.raises(Exception, match="not a readable zip"):
        dave.predict(handle_file(str(tmp_path / "notzip.zip")), api_name="/upload_zip")
    assert not (tmp_path / "evil.png").exists()



# ---- the shared-mode app (conftest.srv) ------------------------------------------------------------------
def test_an_uploads_form_defaults_follow_its_images_and_only_for_its_owner(srv, tmp_path):
    """The Train form shows a loaded upload's own defaults (colour: dcgan with R3GAN's recipe; grey: the mlp),
    and /train with those numbers and blank penalties gets the same run the CLI would; nobody else's upload loads."""
    from demo.present import NUMBERS

    a, b = client(srv.url), client(srv.url)
    colour, _ = a.predict(handle_file(image_zip(tmp_path / "paint.zip")), api_name="/upload_zip")
    grey_zip = make_zip(tmp_path / "ink.zip", {f"g{i}.png": grey_png(12, 12, 30 * i, mode="L") for i in range(8)})
    grey, _ = a.predict(handle_file(grey_zip), api_name="/upload_zip")
    page = srv.page
    shown = dict(zip(NUMBERS, page.train.defaults(colour, "auto", req(a.session_hash))))
    assert (shown["loss"], shown["width"]) == ("rpgan", 32), shown
    assert dict(zip(NUMBERS, page.train.defaults(colour, "mlp", req(a.session_hash))))["loss"] == "bce"  # recipe is dcgan's
    assert dict(zip(NUMBERS, page.train.defaults(grey, "auto", req(a.session_hash))))["loss"] == "bce"
    skipped = page.train.defaults("nope", "auto", None)  # an unknown dataset leaves the form as it is
    assert page.train.defaults(colour, "auto", req(b.session_hash)) == skipped, "B was shown A's upload's numbers"
    a.predict(**{**RING, **shown, "dataset": colour, "seed": 0}, api_name="/train")
    poll_status(a, lambda s: s["state"] == "running" and s["step"] >= 1, what="the colour upload's run")
    cfg = srv.manager.active_runs()[0].trainer.cfg
    assert (cfg.model, cfg.loss, cfg.width, cfg.r1, cfg.r2, cfg.r1_every) == ("dcgan", "rpgan", 32, 1.0, 1.0, 4)
    a.predict(api_name="/stop")


def test_abandoned_uploads_are_swept_after_the_ttl(srv, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_UPLOAD_TTL_S", "60")
    a, b = client(srv.url), client(srv.url)
    old_a, _ = a.predict(handle_file(image_zip(tmp_path / "old.zip")), api_name="/upload_zip")
    old_b, _ = b.predict(handle_file(image_zip(tmp_path / "other.zip")), api_name="/upload_zip")
    aged = [f for v in (a, b) for f in srv.storage.upload_dir(v.session_hash).iterdir()]
    for folder in aged:
        os.utime(folder, (time.time() - 3600, time.time() - 3600))
    new_a, _ = a.predict(handle_file(image_zip(tmp_path / "new.zip")), api_name="/upload_zip")
    assert not any(f.exists() for f in aged), "abandoned uploads were kept"
    assert "no upload named" in error_of(a.predict, **{**RING, "dataset": old_a}, api_name="/train")
    assert len(list(srv.storage.upload_dir(a.session_hash).iterdir())) == 1
    a.predict(**{**RING, "dataset": new_a, "model": "mlp", "loss": "bce", "batch_size": 4, "width": 8, "z_dim": 4},
              api_name="/train")
    a.predict(api_name="/stop")


def test_gradio_cache_copies_of_uploads_expire_with_the_upload_ttl(tmp_path, monkeypatch):
    """Gradio keeps every uploaded zip or checkpoint (and every returned file) in its cache unless told; the
    app tells it to delete them after GAN_UPLOAD_TTL_S (bench/bench_soak.py shows the cache staying flat)."""
    from demo.app import build_app

    manager = RunManager(storage=Storage(tmp_path / "c", shared=True, upload_dir=tmp_path / "u"), chunk_runner=None)
    monkeypatch.setenv("GAN_UPLOAD_TTL_S", "7200")
    assert build_app(manager).delete_cache == (600, 7200)
    monkeypatch.setenv("GAN_UPLOAD_TTL_S", "20")
    assert build_app(manager).delete_cache == (20, 20)
    monkeypatch.setenv("GAN_UPLOAD_TTL_S", "0")  # a laptop: kept
    assert build_app(manager).delete_cache is None
