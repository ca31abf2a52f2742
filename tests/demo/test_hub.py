"""The app's Hub panel through gradio_client (export, load an export zip / name / repo id, share to the Hub),
and the shipped examples staying read-only through the checkpoint endpoints."""
import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from tests.helpers import EXAMPLES, poll_status, run_manager, serve_app  # noqa: E402
from demo.app import build_app  # noqa: E402
from demo.runs.manager import RunManager  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = dict(dataset="ring8", model="auto", loss="bce", batch_size=32, lr=None, seed=0, z_dim=None, width=32)
EXAMPLES = Path(EXAMPLES)


def share_row_visible(root) -> bool:
    app = build_app(RunManager(chunk_runner=None, checkpoint_dir=root))
    return [c["props"].get("visible") for c in app.config["components"]
            if c["props"].get("elem_id") == "hub-share-row"] == [True]


def test_share_button_shows_only_with_a_token(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert not share_row_visible(tmp_path)
    monkeypatch.setenv("HF_TOKEN", "hf_fake")
    assert share_row_visible(tmp_path)


@pytest.fixture
def hub_app(tmp_path, monkeypatch):
    """The app with the shipped examples, the Hub offline and its cache in tmp_path; yields (url, manager)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    root = tmp_path / "ckpt"
    if EXAMPLES.is_dir():  # the shipped examples (committed; scripts/make_examples.py makes them)
        shutil.copytree(EXAMPLES, root / "examples")
    manager = run_manager(root)
    with serve_app(manager) as (url, _):
        yield url, manager


@pytest.mark.slow
def test_export_load_and_share_through_the_app(hub_app, monkeypatch, tmp_path):
    url, manager = hub_app
    alice = Client(url, verbose=False)
    with pytest.raises(Exception, match="no run to save"):
        alice.predict(api_name="/export_hub")
    alice.predict(**TRAIN, api_name="/train")
    poll_status(alice, lambda s: s["step"] >= 20, timeout=40, what="training")
    alice.predict(api_name="/stop")
    file, notice = alice.predict(api_name="/export_hub")
    name = Path(file).name
    assert name.endswith("-export.zip") and name in notice
    with zipfile.ZipFile(file) as z:
        assert {Path(n).name for n in z.namelist()} == {"model.safetensors", "config.json", "README.md",
                                                         "samples.png"}

    for how in ((handle_file(file),), "/load_export_zip"), ((name,), "/load_export"):
        text = alice.predict(*how[0], api_name=how[1])
        assert "Loaded the export" in text and "cannot resume training" in text
        st = alice.predict(api_name="/status")
        assert st["state"] == "stopped" and st["step"] >= 20 and "cannot resume" in st["warning"]
        assert Path(alice.predict(seed=3, api_name="/generate")).stat().st_size > 0  # explore it
        with pytest.raises(Exception, match="cannot resume training"):
            alice.predict(api_name="/resume")

    with pytest.raises(Exception, match="Hugging Face Hub") as e:  # offline: one clear line, no traceback
        alice.predict("someone/some-gan", api_name="/load_export")
    assert "Traceback" not in str(e.value)
    with pytest.raises(Exception, match="no export named"):
        alice.predict("../../etc/passwd.zip", api_name="/load_export")
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(Exception, match="not an export"):
        alice.predict(handle_file(str(bad)), api_name="/load_export_zip")

    # Share to Hub: refused without a token; with one, pushes the checkpoint (upload monkeypatched)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(Exception, match="Sharing to the Hub is off"):
        alice.predict("my-gan", api_name="/share_hub")
    alice.predict(**TRAIN, api_name="/train")  # the loaded export cannot be shared: give alice a run again
    poll_status(alice, lambda s: s["state"] == "running", timeout=40, what="training")
    alice.predict(api_name="/stop")
    from huggingface_hub import HfApi

    calls = []
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kw: calls.append(("create", repo_id)))
    monkeypatch.setattr(HfApi, "upload_folder", lambda self, *, repo_id, folder_path, **kw: calls.append(
        ("upload", repo_id, sorted(p.name for p in Path(folder_path).iterdir()))))
    monkeypatch.setenv("HF_TOKEN", "hf_fake")
    monkeypatch.setenv("GAN_HUB_NAMESPACE", "tester")
    with pytest.raises(Exception, match="give the repo a name"):
        alice.predict("../x", api_name="/share_hub")
    text = alice.predict("my-gan", api_name="/share_hub")
    assert "tester/my-gan" in text and "huggingface.co/tester/my-gan" in text
    assert calls == [("create", "tester/my-gan"),
                     ("upload", "tester/my-gan", ["README.md", "config.json", "model.safetensors", "samples.png"])]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_examples_are_read_only_through_the_api(hub_app):
    url, manager = hub_app
    before = {p.name: digest(p) for p in manager.storage.examples.iterdir()}
    assert "ring8-toy.pt" in before
    bob = Client(url, verbose=False)
    assert "examples/ring8-toy.pt" in bob.predict(api_name="/checkpoints")
    with pytest.raises(Exception, match="read-only"):
        bob.predict("examples/ring8-toy.pt", api_name="/delete_checkpoint")
    assert "Loading" in bob.predict("examples/ring8-toy.pt", api_name="/load")
    poll_status(bob, lambda s: s["state"] == "stopped", timeout=40, what="the example to load")
    notice, _ = bob.predict(api_name="/save")
    assert "examples" not in notice
    bob.predict("examples/ring8-toy.pt", api_name="/load_resume")
    poll_status(bob, lambda s: s["state"] == "running", timeout=40, what="the example to resume")
    bob.predict(api_name="/stop")
    assert {p.name: digest(p) for p in manager.storage.examples.iterdir()} == before  # nothing overwritten
    saved = [row[0] for row in bob.predict(api_name="/checkpoints")]
    assert any(not n.startswith("examples/") for n in saved)
