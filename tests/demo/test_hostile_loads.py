"""Hardening round 3 against a launched shared-mode app: a checkpoint or export that fails to load leaves nothing
behind, a crafted config never becomes a path, and an export's oversized or lying files are refused in one line."""
import io
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

gradio_client = pytest.importorskip("gradio_client")
from tests.helpers import serve_app, tiny_config  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402

from demo.runs.manager import RunManager  # noqa: E402
from demo.runs.state import Limits  # noqa: E402
from demo.runs.storage import Storage  # noqa: E402
from gan.checkpoint import save_checkpoint  # noqa: E402
from gan.hub import export  # noqa: E402
from gan.train.trainer import Trainer  # noqa: E402

pytestmark = pytest.mark.slow  # launches apps and trains
RING = ("ring8", "auto", "hinge", 64, None, 0, None, 16)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAN_SHARED", "1")
        (base / "server-data").mkdir()
        mp.setenv("GAN_DATA_DIR", str(base / "server-data"))  # holds no MNIST files
        storage = Storage(base / "checkpoints", shared=True, upload_dir=base / "uploads")
        storage.exports = base / "exports"
        manager = RunManager(storage=storage, max_runs=1, chunk_runner=None,
                             limits=Limits(autosave_every=0, publish_every=0.2))
        with serve_app(manager) as (url, app):
            yield SimpleNamespace(url=url, manager=manager, base=base, app=app)


@pytest.fixture
def srv(served):
    served.manager.shutdown()
    yield served
    served.manager.shutdown()


@pytest.fixture(scope="module")
def ring_ckpt(tmp_path_factory):
    t = Trainer(tiny_config(dataset="ring8"))
    t.train(steps=2)
    return save_checkpoint(t, str(tmp_path_factory.mktemp("ck") / "ring8.pt"))


def _error(fn, *args, **kw) -> str:
    with pytest.raises(Exception) as e:
        fn(*args, **kw)
    return str(e.value)


def test_a_checkpoint_that_fails_to_load_holds_no_training_slot(srv, ring_ckpt, tmp_path):
    # the weights no longer fit the config, and the dataset is one the model cannot train: the load is refused...
    state = torch.load(ring_ckpt, weights_only=True)
    state["model_config"]["width"] += 1
    state["train_config"]["dataset"] = "mnist"
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    a, b = Client(srv.url, verbose=False), Client(srv.url, verbose=False)
    assert "cannot train 'mnist'" in _error(a.predict, handle_file(str(bad)), api_name="/upload")
    # ...and leaves nothing that counts as training: another visitor trains at once, and so does the first
    assert not [r.id for r in srv.manager.runs() if r.active]
    assert "Started run" in b.predict(*RING, api_name="/train")
    b.predict(api_name="/stop")
    assert "Started run" in a.predict(*RING, api_name="/train")
    a.predict(api_name="/stop")


def _export_zip(ring_ckpt, tmp_path, *, train_config=None, config_pad=0, safetensors=None) -> str:
    folder = export(ring_ckpt, tmp_path / "exp")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["train_config"].update(train_config or {})
    text = json.dumps(cfg) + " " * config_pad
    path = tmp_path / "crafted-export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", text)
        z.writestr("model.safetensors", safetensors if safetensors is not None
                   else (folder / "model.safetensors").read_bytes())
    return str(path)


def test_an_exports_loss_never_becomes_a_path(srv, ring_ckpt, tmp_path):
    target = tmp_path / "outside"
    target.mkdir()
    a = Client(srv.url, verbose=False)
    before = {r.id for r in srv.manager.runs()}
    zip_path = _export_zip(ring_ckpt, tmp_path, train_config={"loss": f"/../../../../{target}/b"})
    message = _error(a.predict, handle_file(zip_path), api_name="/load_export_zip")
    assert "train config" in message and "unknown loss" in message
    assert list(target.iterdir()) == []  # nothing was created outside the app's folders
    assert {r.id for r in srv.manager.runs()} == before


def test_a_huge_config_json_is_refused_unread(srv, ring_ckpt, tmp_path):
    a = Client(srv.url, verbose=False)
    zip_path = _export_zip(ring_ckpt, tmp_path, config_pad=5 * 2**20)  # 5 MB of spaces: a small zip
    assert Path(zip_path).stat().st_size < 200_000
    assert "config.json is larger than 1 MiB" in _error(a.predict, handle_file(zip_path), api_name="/load_export_zip")


@pytest.mark.parametrize("header", [json.dumps({"nets.G.net.0.weight": {"dtype": "F32", "shape": [50000, 50000],
                                                                         "data_offsets": [0, 10_000_000_000]}}),
                                    None])
def test_a_lying_safetensors_header_gets_a_one_line_refusal(srv, ring_ckpt, tmp_path, header):
    if header is None:  # a header length of 2**62
        blob = (2**62).to_bytes(8, "little") + b"{}"
    else:
        raw = header.encode()
        blob = len(raw).to_bytes(8, "little") + raw
    a = Client(srv.url, verbose=False)
    message = _error(a.predict, handle_file(_export_zip(ring_ckpt, tmp_path, safetensors=blob)),
                     api_name="/load_export_zip")
    assert "could not be loaded" in message and "upstream" not in message.lower()


def _bomb_png(path: Path, side: int = 13000) -> str:
    """A small PNG that declares side x side px (one row's worth of compressed zeros repeated)."""
    from PIL import Image

    Image.new("L", (side, side)).save(path, "PNG", optimize=False)
    return str(path)


def _wide_png(path: Path) -> str:
    from PIL import Image

    Image.new("L", (5000, 64)).save(path, "PNG")
    return str(path)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = _bomb_png(tmp_path_factory.mktemp("bomb") / "bomb.png")
    assert Path(path).stat().st_size < 400_000
    return path


def test_an_image_is_refused_by_its_declared_size_before_it_is_decoded(srv, bomb, monkeypatch):
    from PIL import ImageFile

    decoded = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or original(self))
    a = Client(srv.url, verbose=False)
    message = _error(a.predict, handle_file(bomb), "a2b", 0, api_name="/translate")
    assert "169,000,000 pixels" in message and "at most 4096 px" in message, message
    assert (13000, 13000) not in decoded


def test_every_file_in_an_image_editor_value_is_checked(bomb, tmp_path):
    import gradio as gr

    from demo.inputs import _files, check_image_size

    small = _bomb_png(tmp_path / "small.png", side=64)
    value = {"background": {"path": small}, "layers": [{"path": small}], "composite": {"path": bomb}}
    assert _files(value) == [small, small, bomb]
    check_image_size("sketch", small)
    with pytest.raises(gr.Error, match="169,000,000 pixels"):
        check_image_size("sketch", bomb)
    with pytest.raises(gr.Error, match="5000 x 64 px"):
        check_image_size("sketch", _wide_png(tmp_path / "wide.png"))
    with pytest.raises(gr.Error, match="169,000,000 pixels"):
        check_image_size("sketch", bomb)


def _image_zip(path: Path, n: int = 8) -> str:
    import numpy as np
    from PIL import Image

    with zipfile.ZipFile(path, "w") as z:
        for i in range(n):
            buf = io.BytesIO()
            Image.fromarray(np.full((12, 12, 3), 20 * i, np.uint8)).save(buf, "PNG")
            z.writestr(f"img{i}.png", buf.getvalue())
    return str(path)


def test_a_run_on_someones_own_images_is_not_watched_by_anyone_else(srv, tmp_path):
    a, b = Client(srv.url, verbose=False), Client(srv.url, verbose=False)
    token, _ = a.predict(handle_file(_image_zip(tmp_path / "my-holiday.zip")), api_name="/upload_zip")
    assert "Started run" in a.predict(token, "mlp", "bce", 4, None, 0, 4, 8, api_name="/train")
    try:
        run = srv.manager.own_run(a.session_hash)
        assert run.private_data and run.active
        status = b.predict(api_name="/status")  # B has no run: B watches nobody's own images
        assert status["state"] == "idle" and "holiday" not in json.dumps(status)
        assert "No run yet" in _error(b.predict, api_name="/timelapse")
        quality = b.predict(api_name="/quality")
        assert quality["run_id"] is None and "holiday" not in json.dumps(quality)
        assert a.predict(api_name="/status")["run_id"] == run.id  # the owner still watches it
    finally:
        a.predict(api_name="/stop")


def test_a_huge_text_is_refused_without_being_echoed(srv):
    b = Client(srv.url, verbose=False)
    message = _error(b.predict, "x" * 50_000 + ".pt", api_name="/load")
    assert "50,003 characters long" in message and len(message) < 300


def test_gradio_keeps_a_bounded_number_of_sessions_on_a_shared_space(srv):
    from demo.app import launch_kwargs

    assert launch_kwargs(srv.manager)["state_session_capacity"] == 1000  # the shared default (10,000 on a laptop)


def test_exports_in_a_burst_are_one_file_not_one_copy_each(srv, tmp_path):
    a = Client(srv.url, verbose=False, download_files=str(tmp_path / "downloads"))  # not in the server's cache
    a.predict(*RING, api_name="/train")
    try:  # while the run trains, every export would be a new file (a new checkpoint each time)
        for _ in range(50):
            if a.predict(api_name="/status")["step"] > 0:
                break
        names = {Path(a.predict(api_name="/export_hub")[0]).name for _ in range(5)}
    finally:
        a.predict(api_name="/stop")
    assert len(names) == 1
    copies = list(Path(srv.app.GRADIO_CACHE).rglob(names.pop()))
    assert len(copies) == 1  # Gradio keeps one copy, not five
    exports = list(srv.manager.storage.export_dir(a.session_hash).glob("*-export.zip"))
    assert len(exports) == 1


def test_a_visitors_own_images_leave_no_classifier_in_the_shared_cache(monkeypatch):
    import demo.runs.monitors as monitors

    seen = {}
    monkeypatch.setattr(monitors, "build_meter", lambda data, **kw: seen.setdefault(data.name, kw))
    meters = monitors.Meters(cache_dir="/shared/cache")
    for name in ("folder:/tmp/gan-lab-uploads/abc/1", "pair:/u/a|/u/b", "digits"):
        data = SimpleNamespace(name=name)
        meters.future(data).result(timeout=10)
    assert seen["folder:/tmp/gan-lab-uploads/abc/1"]["cache_dir"] is None
    assert seen["pair:/u/a|/u/b"]["cache_dir"] is None
    assert seen["digits"]["cache_dir"] == "/shared/cache"


def test_a_request_body_over_the_cap_is_refused_before_any_handler(srv, ring_ckpt):
    import httpx

    big = json.dumps({"data": ["x" * (5 * 2**20)], "session_hash": "flood"})
    r = httpx.post(f"{srv.url}gradio_api/call/load", content=big, headers={"content-type": "application/json"},
                   timeout=60)
    assert r.status_code == 413 and len(r.text) < 200
    a = Client(srv.url, verbose=False)  # uploads (their own route, their own cap) and small calls still work
    assert "Loading" in a.predict(handle_file(ring_ckpt), api_name="/upload")
    many = [("files", (f"f{i}.bin", b"\0" * (70 * 2**20))) for i in range(3)]  # 210 MB in one upload request
    r = httpx.post(f"{srv.url}gradio_api/upload", files=many, timeout=120)
    assert r.status_code == 413
