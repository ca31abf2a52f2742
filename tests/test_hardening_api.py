"""Hardening through the launched app (gradio_client), as strangers on a public Space would use it:
bad values, bad files, zips of images, an error inside the training thread, and shared use."""
import functools
import io
import pickle
import re
import threading
import zipfile

import pytest
import torch
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from conftest import poll_status, serve_app  # noqa: E402
from demo.app import launch_kwargs  # noqa: E402
from demo.runs.manager import RunManager  # noqa: E402
from demo.page import Page  # noqa: E402
from demo.present import status_line  # noqa: E402
from gan.checkpoint import save_checkpoint  # noqa: E402
from gan.config import TrainConfig  # noqa: E402
from gan.train.trainer import Trainer  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = dict(dataset="ring8", model="auto", loss="bce", batch_size=32, lr=None, seed=0, z_dim=None, width=16)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path_factory.mktemp("ckpt"), autosave_every=0,
                         publish_every=0.3, chunk_runner=None)
    with serve_app(manager) as (url, _):
        yield url, manager


@pytest.fixture
def clean(served):
    """Each test starts with no active run and the cap at 1."""
    url, manager = served
    manager.shutdown()
    manager.max_runs = 1
    yield url, manager
    manager.shutdown()
    manager.max_runs = 1


poll = functools.partial(poll_status, timeout=30.0)  # /status until cond(status)


BAD_VALUES = [
    ("lr", "nan", "lr must be a finite number"),
    ("lr", "inf", "lr must be a finite number"),
    ("lr", -0.01, "lr must be > 0"),
    ("lr", 0, "lr must be > 0"),
    ("lr", 1e300, "lr must be <= 1"),
    ("lr", "fast", "lr must be a number"),
    ("batch_size", 0, "batch_size must be >= 1"),
    ("batch_size", -5, "batch_size must be >= 1"),
    ("batch_size", 1e12, "batch_size must be <= 65536"),
    ("batch_size", 2.5, "batch_size must be a whole number"),
    ("batch_size", "many", "batch_size must be a whole number, got 'many'"),
    ("width", 0, "width must be >= 1"),
    ("width", 10**9, "width must be <= 4096"),
    ("z_dim", "nan", "z_dim must be a finite number"),
    ("seed", -1, "seed must be >= 0"),
    ("seed", "x", "seed must be a whole number, got 'x'"),
    ("dataset", "cifar99", "unknown dataset 'cifar99'"),
    ("dataset", "folder:/etc", "folder datasets come from uploads"),  # a raw folder:PATH is refused from outside
    ("dataset", "upload:etc-0123abcd", "no upload named 'upload:etc-0123abcd' among yours"),
    ("model", "stylegan9", "not in the list of choices"),
    ("loss", "magic", "not in the list of choices"),
    # a batch too large for memory: refused from an estimate, before any thread or allocation
    ("batch_size", 65536, "per training step; this server allows"),
]


def test_bad_values_get_a_clear_message_and_leave_the_running_run_alone(clean):
    url, manager = clean
    alice, bob = Client(url, verbose=False), Client(url, verbose=False)
    alice.predict(**TRAIN, api_name="/train")
    st0 = poll(alice, lambda s: s["state"] == "running" and s["step"] >= 3, what="alice's run")
    runs_before = len(manager.runs())
    for key, value, words in BAD_VALUES:
        args = {**TRAIN, key: value}
        if words.startswith("per training step"):
            args.update(dataset="digits", model="dcgan", width=4096)  # a wide dcgan (the mlp has no width)
        for who in ((bob, alice) if key in ("lr", "dataset") else (bob,)):  # bad values come before "busy"
            with pytest.raises(Exception) as e:
                who.predict(**args, api_name="/train")
            assert words in str(e.value), (key, value, str(e.value))
    assert len(manager.runs()) == runs_before  # no run was created for any of them
    st1 = poll(alice, lambda s: s["step"] > st0["step"], what="alice's run to go on")
    assert st1["run_id"] == st0["run_id"] and st1["state"] == "running" and st1["error"] is None


def test_bad_values_through_the_handler_itself(clean):
    """NaN and inf floats cannot travel as JSON, but a handler called with them refuses them too."""
    url, manager = clean
    h = Page(manager)
    n = len(manager.runs())
    import gradio as gr
    for kw in ({"lr": float("nan")}, {"lr": float("inf")}, {"batch_size": float("nan")}, {"width": -1.0}):
        args = {**TRAIN, **kw}
        with pytest.raises(gr.Error):
            h.train.train(args["dataset"], args["model"], args["loss"], args["batch_size"], args["lr"],
                          args["seed"], args["z_dim"], args["width"])
    assert len(manager.runs()) == n


def _good_checkpoint(tmp_path):
    t = Trainer(TrainConfig(dataset="ring8", batch_size=16, width=16, z_dim=4, device="cpu"))
    t.step()
    return save_checkpoint(t, str(tmp_path / "good.pt"))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_bad_checkpoint_uploads_are_refused_with_a_reason(clean, tmp_path):
    url, manager = clean
    carol = Client(url, verbose=False)
    n = len(manager.runs())
    good = _good_checkpoint(tmp_path)
    data = open(good, "rb").read()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    torch.save({"state_dict": {"w": torch.zeros(2)}}, tmp_path / "foreign.pt")
    state = torch.load(good, weights_only=True)
    state["model_config"]["model"] = "stylegan9"
    torch.save(state, tmp_path / "alien.pt")
    marker = tmp_path / "pwned"
    torch.save({"format": "gan-lab-checkpoint", "payload": _Evil(str(marker))}, tmp_path / "evil.pt")
    (tmp_path / "evil2.pt").write_bytes(pickle.dumps(_Evil(str(marker))))
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
    url, manager = clean
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


def _png(colour, size=(20, 20), mode="RGB"):
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, "PNG")
    return buf.getvalue()


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


def test_zip_of_images_through_the_page(clean, tmp_path, monkeypatch):
    url, manager = clean
    manager.max_runs = 2
    dave, eve = Client(url, verbose=False), Client(url, verbose=False)
    good = _zip(tmp_path / "pics.zip", {"a/red.png": _png((255, 0, 0)), "grey.png": _png(90, (30, 12), "L"),
                                        "rgba.png": _png((0, 0, 255, 128), (16, 40), "RGBA"),
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
        "escape.zip": ({"ok.png": _png((0, 0, 0)), "../evil.png": _png((1, 1, 1))}, "outside its folder"),
        "abs.zip": ({"/tmp/evil.png": _png((1, 1, 1))}, "outside its folder"),
        "bomb.zip": ({"zeros.png": b"\0" * (20 * 2**20)}, "zip bomb"),
    }
    for fname, (members, words) in bad.items():
        with pytest.raises(Exception, match=words):
            dave.predict(handle_file(_zip(tmp_path / fname, members)), api_name="/upload_zip")
    (tmp_path / "notzip.zip").write_bytes(b"plain text")
    with pytest.raises(Exception, match="not a readable zip"):
        dave.predict(handle_file(str(tmp_path / "notzip.zip")), api_name="/upload_zip")
    assert not (tmp_path / "evil.png").exists()


def test_error_in_the_training_thread_shows_and_a_new_run_starts(clean, monkeypatch):
    url, manager = clean
    erin = Client(url, verbose=False)
    real = manager.dataset

    def flaky(cfg):
        if cfg.seed == 13:
            raise RuntimeError("disk on fire")
        return real(cfg)

    monkeypatch.setattr(manager, "dataset", flaky)
    erin.predict(**{**TRAIN, "seed": 13}, api_name="/train")
    st = poll(erin, lambda s: s["state"] == "error", what="the error state")
    assert "disk on fire" in st["error"]
    assert "**Error:** RuntimeError: disk on fire" in status_line(st, yours=True)
    assert not any(r.thread_alive() for r in manager.runs())
    erin.predict(**TRAIN, api_name="/train")  # the app still serves, and a new run starts
    st = poll(erin, lambda s: s["state"] == "running" and s["step"] >= 2, what="a new run")
    assert st["error"] is None


def test_two_presses_at_once_and_a_burst_of_twenty(clean):
    url, manager = clean
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(10) as pool:
        clients = list(pool.map(lambda _: Client(url, verbose=False), range(20)))

    def burst(n):
        go, out = threading.Barrier(n), [None] * n

        def press(i):
            go.wait()
            try:
                out[i] = clients[i].predict(**{**TRAIN, "seed": i}, api_name="/train")
            except Exception as e:  # noqa: BLE001
                out[i] = e
        ts = [threading.Thread(target=press, args=(i,)) for i in range(n)]
        [t.start() for t in ts]
        [t.join(60) for t in ts]
        return out

    out = burst(2)  # cap 1: one starts, the other waits in line (nobody is refused)
    started = [o for o in out if isinstance(o, str) and o.startswith("Started")]
    queued = [o for o in out if isinstance(o, str) and o.startswith("Queued")]
    assert len(started) == 1 and len(queued) == 1, out
    assert len(manager.active_runs()) == 1
    manager.shutdown()

    manager.max_runs = 3
    out = burst(20)
    started = [o for o in out if isinstance(o, str) and o.startswith("Started")]
    queued = [o for o in out if isinstance(o, str) and o.startswith("Queued")]
    assert len(started) == 3 and len(queued) == 17, out
    assert len(manager.active_runs()) == 3 and len(manager.waitlist) == 17


def test_a_visitor_cannot_stop_or_overwrite_another_visitors_run(clean, tmp_path):
    url, manager = clean
    manager.max_runs = 2
    alice, mallory = Client(url, verbose=False), Client(url, verbose=False)
    alice.predict(**TRAIN, api_name="/train")
    st = poll(alice, lambda s: s["state"] == "running" and s["step"] >= 2, what="alice's run")
    run = manager.runs()[-1]
    assert mallory.predict(api_name="/status")["yours"] is False  # may watch
    with pytest.raises(Exception, match="another visitor"):
        mallory.predict(api_name="/stop")
    with pytest.raises(Exception, match="nothing to resume"):
        mallory.predict(api_name="/resume")
    with pytest.raises(Exception, match="no run to save"):
        mallory.predict(api_name="/save")
    mallory.predict(api_name="/reset")  # resets only mallory's (none)
    # mallory loads a checkpoint and trains her own run: a new run, alice's is untouched
    good = _good_checkpoint(tmp_path)
    mallory.predict(handle_file(good), api_name="/upload")
    poll(mallory, lambda s: s["yours"] and s["state"] == "stopped", what="mallory's loaded run")
    mallory.predict(api_name="/resume")
    poll(mallory, lambda s: s["yours"] and s["state"] == "running", what="mallory's own run")
    mallory.predict(api_name="/stop")
    after = poll(alice, lambda s: s["step"] > st["step"], what="alice's run to go on")
    assert after["run_id"] == st["run_id"] == run.id and after["state"] == "running" and run.owner != "mallory"
    assert run.thread_alive()
