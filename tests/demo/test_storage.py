"""Visitors' files in the app in shared mode (GAN_SHARED=1, conftest.shared_app; srv: no run, default limits),
tried as an attacker or a new user would through gradio_client and raw HTTP (`call`, tests/helpers.py): a path
that enters through a checkpoint is never read, a visitor sees only their own files and no server path, quotas
refuse with a clear message (also while files vanish), retention keeps the newest checkpoints. Image bombs and
bad checkpoint files are covered in depth by tests/gan/data/test_folder_zip.py and tests/gan/test_checkpoint.py;
here they are only driven through the app once."""
import contextlib
import io
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
httpx = pytest.importorskip("httpx")
from gradio_client import handle_file  # noqa: E402

from tests.helpers import OPAQUE, RING, Spy, assert_no_server_path, call, client, craft  # noqa: E402
from tests.helpers import error_of, grey_png, image_zip, make_zip, poll_status, req  # noqa: E402
from tests.helpers import own, train_and_stop, without_files  # noqa: E402
from demo.live import TICK_OUTPUTS  # noqa: E402
from demo.runs.storage import ROOT, Storage  # noqa: E402
from gan.config import TrainConfig  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


# ---- paths that enter through a checkpoint ---------------------------------------------------------------
@pytest.mark.slow
def test_a_checkpoint_naming_a_private_folder_is_explore_only_and_the_folder_is_never_read(srv, tmp_path,
                                                                                             monkeypatch):
    private = tmp_path / "private-images"
    private.mkdir()
    for i in range(6):
        (private / f"secret{i}.png").write_bytes(grey_png(12, 12, 255))  # all white: distinctive
    evil = tmp_path / "evil-data-dir"
    ckpt = craft(tmp_path / "innocent.pt", TrainConfig(dataset=f"folder:{private}", model="mlp", width=8, z_dim=4,
                                                       batch_size=4, image_size=8, device="cpu"),
                 data_dir=str(evil))
    spy = Spy(monkeypatch)
    a = client(srv.url)

    notice = a.predict(handle_file(ckpt), api_name="/upload")
    assert "explore only" in notice and "not among your uploads" in notice, notice
    st = a.predict(api_name="/status")
    assert st["state"] == "stopped" and "explore only" in (st["warning"] or ""), st
    img, _ = a.predict(4, 1, api_name="/sample")  # Explore and Sample work on the checkpoint's own G
    assert Path(img).is_file()
    assert Path(a.predict(3, api_name="/generate")).is_file()
    msg = error_of(a.predict, api_name="/resume")
    assert "not among your uploads" in msg and "explored" in msg, msg
    assert_no_server_path(msg, str(private), "private-images", "evil")
    assert a.predict(api_name="/status")["state"] == "stopped"

    # the Train form: the same refusal whether the folder exists, holds images, or is a system folder
    refusals = {error_of(a.predict, **{**RING, "dataset": f"folder:{p}"}, api_name="/train")
                for p in (private, "/root/.ssh", "/nonexistent/x", "/etc", "../../etc")}
    assert len(refusals) == 1, refusals
    assert "upload" in refusals.pop()

    assert not any(str(private) in p for p in spy.folders), spy.folders
    assert not any(str(private) in str(n) for n, _ in spy.loads), spy.loads
    assert not evil.exists() and sorted(os.listdir(private)) == [f"secret{i}.png" for i in range(6)]
    page_text = [a.predict(api_name="/status"), a.predict(api_name="/quality"), a.predict(api_name="/theory")[2],
                 a.predict(api_name="/checkpoints")]
    assert_no_server_path(page_text, str(private), "private-images")


def test_a_checkpoint_data_dir_is_replaced_by_the_servers_and_creates_nothing(srv, tmp_path, monkeypatch):
    grey = tmp_path / "grey"
    grey.mkdir()
    for i in range(4):
        (grey / f"g{i}.png").write_bytes(grey_png(28, 28, 60 * i, mode="L"))
    evil = tmp_path / "evil" / "deep"
    ckpt = craft(tmp_path / "mnist-like.pt", TrainConfig(dataset=f"folder:{grey}", model="mlp", width=8, z_dim=4,
                                                         batch_size=4, image_size=28, device="cpu"),
                 dataset="mnist", data_dir=str(evil))
    had_data = (ROOT / "data" / "MNIST").exists()
    import torchvision

    def offline_mnist(root, *a, **kw):  # torchvision makes its folders, then fails to download
        os.makedirs(os.path.join(root, "MNIST", "raw"), exist_ok=True)
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline_mnist)
    spy = Spy(monkeypatch)
    a = client(srv.url)
    a.predict(handle_file(ckpt), api_name="/upload")
    st = poll_status(a, lambda s: s["state"] in ("stopped", "error"), what="the load to end")
    with contextlib.suppress(Exception):
        a.predict(api_name="/resume")
    st = poll_status(a, lambda s: s["state"] in ("stopped", "error"), what="the resume to end")
    assert spy.loads and all(d != str(evil) for _, d in spy.loads), spy.loads
    assert all(d in (None, str(srv.base / "server-data")) for _, d in spy.loads), spy.loads
    assert not (tmp_path / "evil").exists()
    assert not (srv.base / "server-data" / "MNIST").exists()
    assert (ROOT / "data" / "MNIST").exists() == had_data, "a download folder was made in the working tree"
    if st["state"] == "error":  # no MNIST on this server: the message names no server folder
        assert "mnist" in st["error"].lower(), st
    assert_no_server_path(st, str(evil), "server-data")


# ---- visitors see only their own files ------------------------------------------------------------------
@pytest.mark.slow
def test_visitor_b_cannot_list_load_download_or_train_on_visitor_as_files(srv, tmp_path):
    a, b = client(srv.url), client(srv.url)
    token, notice = a.predict(handle_file(image_zip(tmp_path / "holiday.zip")), api_name="/upload_zip")
    assert token.startswith("upload:holiday-") and "8 image" in notice, (token, notice)
    name = train_and_stop(a, dataset=token, model="mlp", loss="bce", batch_size=4, width=8, z_dim=4)
    assert name in a.predict(api_name="/checkpoints")
    ckpt = srv.storage.find(a.session_hash, name)
    upload_folder = srv.storage.upload_dir(a.session_hash)

    assert name not in b.predict(api_name="/checkpoints")
    for api in ("/load", "/load_resume", "/download", "/delete_checkpoint"):
        msg = error_of(b.predict, name, api_name=api)
        assert "no checkpoint named" in msg, (api, msg)
    msg = error_of(b.predict, **{**RING, "dataset": token}, api_name="/train")
    assert "no upload named" in msg, msg
    a_folder = next(upload_folder.iterdir())
    assert "upload" in error_of(b.predict, **{**RING, "dataset": f"folder:{a_folder}"}, api_name="/train")
    for path in (ckpt, ckpt.with_suffix(".json"), next(a_folder.iterdir()), srv.storage.root / ".visitor-secret"):
        r = httpx.get(f"{srv.url}gradio_api/file={path}", timeout=10)
        assert r.status_code in (403, 404), (path, r.status_code)
    # a FileData naming A's checkpoint on the server is not an upload
    kind, msg = call(srv.url, "upload", [{"path": str(ckpt), "meta": {"_type": "gradio.FileData"}}],
                     session=b.session_hash)
    assert kind == "error", (kind, msg)
    assert b.predict(api_name="/status")["state"] == "idle"
    assert ckpt.exists() and name in a.predict(api_name="/checkpoints")
    a.predict(name, api_name="/delete_checkpoint")
    assert name not in a.predict(api_name="/checkpoints") and not ckpt.exists()


@pytest.mark.slow
def test_no_server_path_in_status_quality_theory_table_or_page(srv, tmp_path):
    a = client(srv.url)
    token, _ = a.predict(handle_file(image_zip(tmp_path / "cats.zip")), api_name="/upload_zip")
    train_and_stop(a, dataset=token, model="mlp", loss="bce", batch_size=4, width=8, z_dim=4)
    cache = str(Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile_dir()) / "gradio").resolve())
    replies = [a.predict(api_name="/status"), a.predict(api_name="/quality"), a.predict(api_name="/theory")[2],
               a.predict(api_name="/checkpoints")]
    for api in ("status", "quality", "theory", "checkpoints", "save", "stop"):
        kind, out = call(srv.url, api, [], session=a.session_hash)
        assert kind == "complete", (api, out)
        replies.append(without_files(out, cache))
    page, r = srv.page, req(a.session_hash)
    replies.append(page.files.table(r))
    out = page.live.tick({}, r)
    replies += [out[TICK_OUTPUTS.index(k)] for k in ("status_line", "q_summary", "t_status")]
    # refusals that involve paths
    for bad in ("folder:/root/.ssh", f"upload:cats-{'0' * 8}", "folder:../../etc"):
        replies.append(error_of(a.predict, **{**RING, "dataset": bad}, api_name="/train"))
    replies.append(error_of(a.predict, "../../etc/passwd.pt", api_name="/load"))
    text = json.dumps(replies, default=str)
    assert token in text  # the upload is named by its token, never by its folder
    assert_no_server_path(text, str(srv.storage.uploads), str(srv.storage.root))


def tempfile_dir() -> str:
    import tempfile
    return tempfile.gettempdir()


# ---- quotas and retention ------------------------------------------------------------------------------
@pytest.mark.slow
def test_quotas_refuse_uploads_and_checkpoints_with_clear_messages(srv, tmp_path, monkeypatch):
    a = client(srv.url)
    big = make_zip(tmp_path / "big.zip", {f"n{i}.png": os.urandom(40_000) for i in range(4)})  # ~160 KB
    monkeypatch.setenv("GAN_VISITOR_DISK_MB", "0.1")
    msg = error_of(a.predict, handle_file(big), api_name="/upload_zip")
    assert "your disk quota (0 MB" in msg or "your disk quota" in msg, msg
    assert not any(srv.storage.upload_dir(a.session_hash).glob("*/*")), "a refused upload left files"
    # an upload that fits as a zip but unpacks past the quota (BMPs compress ~100x)
    bmps = {}
    for i in range(4):
        bmp = io.BytesIO()
        Image.fromarray(np.random.default_rng(i).integers(0, 2, (256, 256, 3), dtype=np.uint8)).save(bmp, "BMP")
        bmps[f"b{i}.bmp"] = bmp.getvalue()
    small = make_zip(tmp_path / "bmps.zip", bmps)  # ~790 KB unpacked, within the zip-bomb ratio
    assert os.path.getsize(small) < 0.3 * 2**20
    monkeypatch.setenv("GAN_VISITOR_DISK_MB", "0.5")
    msg = error_of(a.predict, handle_file(small), api_name="/upload_zip")
    assert "quota" in msg, msg
    assert srv.storage.usage(a.session_hash) <= 0.5 * 2**20
    # checkpoints: the run trains, its save is refused on the page with the reason, the run still ends cleanly
    monkeypatch.setenv("GAN_VISITOR_DISK_MB", "0.001")
    a.predict(**RING, api_name="/train")
    poll_status(a, lambda s: s["step"] > 2, what="training")
    a.predict(api_name="/stop")
    st = a.predict(api_name="/status")
    assert st["state"] == "stopped" and "your disk quota" in (st["warning"] or ""), st
    assert own(a.predict(api_name="/checkpoints")) == []
    monkeypatch.setenv("GAN_VISITOR_DISK_MB", "0")
    monkeypatch.setenv("GAN_TOTAL_DISK_MB", "0.001")
    msg = error_of(a.predict, handle_file(image_zip(tmp_path / "ok.zip")), api_name="/upload_zip")
    assert "server's disk quota" in msg, msg
    # a corrupt zip: a clear message and no half-made folder
    monkeypatch.setenv("GAN_TOTAL_DISK_MB", "0")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(Path(image_zip(tmp_path / "whole.zip")).read_bytes()[:300])
    msg = error_of(a.predict, handle_file(str(broken)), api_name="/upload_zip")
    assert "zip" in msg.lower() and OPAQUE not in msg, msg
    assert not any(srv.storage.upload_dir(a.session_hash).glob("*")), "a failed upload left a folder"
    # an image bomb inside a zip is refused by name (through the app)
    monkeypatch.setenv("GAN_MAX_IMAGE_PIXELS", "10000")
    bomb = make_zip(tmp_path / "bomb.zip", {"huge.png": grey_png(400, 400), **{f"s{i}.png": grey_png(12, 12, i)
                                                                                 for i in range(3)}})
    token, notice = a.predict(handle_file(bomb), api_name="/upload_zip")
    assert "3 image" in notice and "huge.png" in notice, notice


@pytest.mark.slow
def test_downloads_and_gradios_copies_count_toward_the_quotas(srv, monkeypatch):
    """Issue 27 item 8: every export, time-lapse and sample a visitor downloads stays in their export folder and
    as a copy in Gradio's cache (for GAN_UPLOAD_TTL_S); both count, so downloads cannot fill the disk unseen."""
    from demo.runs.storage import _size, gradio_cache

    a = client(srv.url)
    train_and_stop(a)
    path, note = a.predict(api_name="/export_hub")
    export = next(srv.storage.export_dir(a.session_hash).glob("*-export.zip"))
    assert Path(path).is_file() and str(path).startswith(str(gradio_cache())), path  # Gradio handed out a copy
    mine = srv.storage.usage(a.session_hash)
    assert mine >= export.stat().st_size + _size(srv.storage.own_dir(a.session_hash))  # the export counts
    everyone = srv.storage.usage(None)
    assert everyone >= _size(gradio_cache()) + _size(srv.storage.exports) > 0  # and so does Gradio's copy
    monkeypatch.setenv("GAN_VISITOR_DISK_MB", f"{mine / 2**20 * 0.99}")  # the export filled the visitor's quota
    msg = error_of(a.predict, api_name="/timelapse")
    assert "your disk quota" in msg, msg
    assert not list(srv.storage.export_dir(a.session_hash).glob("timelapse-*")), "a refused download was written"
    monkeypatch.setenv("GAN_VISITOR_DISK_MB", "0")  # the server's total, full only with Gradio's copies counted
    without_cache = everyone - _size(gradio_cache())
    monkeypatch.setenv("GAN_TOTAL_DISK_MB", f"{(without_cache + everyone) / 2 / 2**20}")
    msg = error_of(a.predict, api_name="/timelapse")
    assert "server's disk quota" in msg, msg


@pytest.mark.slow
def test_retention_keeps_the_newest_checkpoints(srv, monkeypatch):
    monkeypatch.setenv("GAN_KEEP_CHECKPOINTS", "2")
    a = client(srv.url)
    names, t0 = [], time.time()
    for i in range(3):
        names.append(train_and_stop(a))
        ckpt = srv.storage.find(a.session_hash, names[-1])
        os.utime(ckpt, (t0 - 100 + i, t0 - 100 + i))  # distinct modification times, oldest first, at any resolution
    assert sorted(own(a.predict(api_name="/checkpoints"))) == sorted(names[1:]), names
    assert len(list(srv.storage.own_dir(a.session_hash).glob("*.json"))) == 2  # their cards go too


@pytest.mark.slow
def test_quota_and_sweep_survive_files_vanishing_while_they_count(tmp_path, monkeypatch):
    """Found by bench/bench_soak.py: a save counts everyone's uploads for the total quota while another
    visitor's upload is swept; a file deleted between listing and stat made the save fail ("could not save a
    checkpoint: No such file or directory") and the run lost its checkpoint."""
    storage = Storage(tmp_path / "c", shared=True, upload_dir=tmp_path / "u")
    monkeypatch.setenv("GAN_TOTAL_DISK_MB", "1000")
    monkeypatch.setenv("GAN_UPLOAD_TTL_S", "60")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))  # the total counts Gradio's cache: this one
    stop, errors, rounds = threading.Event(), [], [0, 0]

    def churn(j: int) -> None:  # uploads appear and are swept, as on a busy Space
        while not stop.is_set():
            try:
                folders = [storage.new_upload(f"v{k}", 0) for k in range(4)]  # sweeps, as every upload does
            except OSError as e:
                errors.append(e)
                return
            for folder in folders:
                with contextlib.suppress(OSError):  # the other thread may have swept it already
                    for i in range(60):
                        (folder / f"{i}.png").write_bytes(b"x")
                    os.utime(folder, (0, 0))
            rounds[j] += 1
    threads = [threading.Thread(target=churn, args=(j,)) for j in range(2)]
    for t in threads:
        t.start()
    try:  # a number of rounds, not a number of seconds: as much contention on a fast machine as on a slow one
        counts, deadline = 0, time.monotonic() + 300
        while (min(rounds) < 15 or counts < 300) and not errors:
            try:
                storage.usage(None), storage.usage("v1"), storage._check_quota("v1", 0)
            except OSError as e:
                errors.append(e)
            counts += 1
            assert all(t.is_alive() for t in threads) or errors, "a churn thread died"
            assert time.monotonic() < deadline, f"only {rounds} churn rounds in 300 s"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
