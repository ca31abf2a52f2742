"""Configs that arrive from outside (a checkpoint, an export's config.json): validated as /train validates, bounded
in shape, and checked for the memory their networks would take before anything is built."""
import json
import resource

import pytest
import torch
from tests.helpers import tiny_config

from gan.checkpoint import load_sampler, load_state, save_checkpoint
from gan.config import ModelConfig
from gan.errors import CheckpointError, ConfigError
from gan.hub import export, load_pretrained, public_dataset
from gan.train.budget import check_model_memory, model_bytes
from gan.train.trainer import Trainer


@pytest.fixture(scope="module")
def ring_ckpt(tmp_path_factory):
    t = Trainer(tiny_config(dataset="ring8"))
    t.train(steps=2)
    return save_checkpoint(t, str(tmp_path_factory.mktemp("ck") / "ring8.pt"))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("shape", [[1, 700, 700], [3, 257, 257], [5, 28, 28], [4096]])
def test_a_data_shape_larger_than_the_library_builds_is_refused(shape):
    with pytest.raises(ConfigError, match="larger than this library builds"):
        ModelConfig(model="mlp" if len(shape) == 3 else "toy", data_shape=tuple(shape))


def test_the_largest_allowed_shapes_still_build():
    assert ModelConfig(model="dcgan", data_shape=(3, 256, 256)).data_shape == (3, 256, 256)
    assert ModelConfig(model="toy", data_shape=(2,)).data_shape == (2,)


def test_model_bytes_counts_the_weights_without_allocating_them():
    mc = ModelConfig(model="mlp", data_shape=(1, 256, 256))  # G's last layer alone: 1024 x 65,536 weights
    before = _peak_rss_mb()
    need = model_bytes(mc)
    assert need > 4 * 1024 * 65_536
    assert _peak_rss_mb() - before < 100
    with pytest.raises(ConfigError, match="this server loads at most 256 MiB"):
        check_model_memory(mc, limit=256 * 2**20)


def test_a_checkpoint_whose_model_is_too_big_is_refused_before_building(ring_ckpt, tmp_path, monkeypatch):
    state = load_state(ring_ckpt)
    state["model_config"] = dict(state["model_config"], model="mlp", data_shape=[1, 256, 256])
    monkeypatch.setenv("GAN_MAX_MODEL_MB", "64")
    before = _peak_rss_mb()
    with pytest.raises(ConfigError, match="needs about .* MiB of weights"):
        load_sampler(state)
    assert _peak_rss_mb() - before < 100  # nothing was built


def _tampered_export(ring_ckpt, tmp_path, **changes):
    folder = export(ring_ckpt, tmp_path / "exp")
    cfg = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        cfg[key] = dict(cfg[key], **value)
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


def test_an_export_whose_model_is_too_big_is_refused_before_building(ring_ckpt, tmp_path, monkeypatch):
    folder = _tampered_export(ring_ckpt, tmp_path, model_config={"model": "mlp", "data_shape": [1, 256, 256]})
    monkeypatch.setenv("GAN_MAX_MODEL_MB", "64")
    before = _peak_rss_mb()
    with pytest.raises((CheckpointError, ConfigError), match="MiB of weights"):
        load_pretrained(folder)
    assert _peak_rss_mb() - before < 100


@pytest.mark.parametrize("field,value", [("loss", "/../../../../tmp/b"), ("dataset", ""), ("batch_size", -1),
                                         ("unknown_field", 1)])
def test_an_exports_train_config_is_validated_as_train_validates_it(ring_ckpt, tmp_path, field, value):
    folder = _tampered_export(ring_ckpt, tmp_path, train_config={field: value})
    with pytest.raises(CheckpointError, match="train config"):
        load_pretrained(folder)


def test_an_export_of_your_own_images_carries_no_server_path(ring_ckpt, tmp_path):
    state = load_state(ring_ckpt)
    state["train_config"]["dataset"] = "folder:/tmp/gan-lab-uploads/abc123/my-photos"
    state["train_config"]["model"] = None  # the toy model cannot train images (refused); the path is the point here
    path = tmp_path / "own.pt"
    torch.save(state, path)
    folder = export(str(path), tmp_path / "exp")
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["train_config"]["dataset"] == "folder:my-photos"
    assert "gan-lab-uploads" not in (folder / "config.json").read_text() + (folder / "README.md").read_text()
    assert load_pretrained(folder).train_config["dataset"] == "folder:my-photos"


def test_public_dataset_keeps_built_in_names_and_last_folder_names_only():
    assert public_dataset("ring8") == "ring8"
    assert public_dataset("pair:/srv/u/a-zip|/srv/u/b-zip") == "pair:a-zip|b-zip"
    assert public_dataset("folder:/") == "folder"


def _fake_hub(monkeypatch, files: dict[str, bytes]):
    """Stand in for the Hub's two network calls: file metadata (size) and download, from `files` by name."""
    import huggingface_hub

    downloads = []

    def metadata(url, token=None):
        name = url.rsplit("/", 1)[-1]
        if name not in files:
            raise OSError(f"404 Client Error: Entry Not Found for url: {url}")
        return type("Meta", (), {"size": len(files[name])})()

    def download(repo, name, revision=None, token=None, local_dir=None):
        downloads.append(name)
        path = f"{local_dir}/{name}"
        with open(path, "wb") as f:
            f.write(files[name])
        return path

    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", metadata)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    return downloads


def test_a_hub_repo_is_loaded_from_the_hub_only_with_sizes_checked_before_download(ring_ckpt, tmp_path, monkeypatch):
    from gan.hub import load_from_hub

    folder = export(ring_ckpt, tmp_path / "exp")
    files = {n: (folder / n).read_bytes() for n in ("config.json", "model.safetensors")}
    downloads = _fake_hub(monkeypatch, files)
    model = load_from_hub("someone/ring", max_bytes=10 * 2**20)
    assert model.model_config.model == "toy" and downloads == ["config.json", "model.safetensors"]
    downloads.clear()
    with pytest.raises(CheckpointError, match="model.safetensors is .* bytes; this server loads at most 1,000 bytes"):
        load_from_hub("someone/ring", max_bytes=1000)
    assert downloads == ["config.json"]  # the weights were never fetched


def test_a_local_folder_named_like_a_repo_is_never_loaded_or_revealed(ring_ckpt, tmp_path, monkeypatch):
    from gan.hub import load_from_hub

    export(ring_ckpt, tmp_path / "someone" / "ring")  # a real export in a folder named like the repo id
    monkeypatch.chdir(tmp_path)
    _fake_hub(monkeypatch, {})  # the Hub has no such repo
    messages = []
    for repo in ("someone/ring", "nobody/none"):
        with pytest.raises(CheckpointError) as e:
            load_from_hub(repo, max_bytes=10 * 2**20)
        messages.append(str(e.value).replace(repo, "REPO").replace(repo.split("/")[1], "NAME"))
    assert messages[0] == messages[1] and "Hugging Face Hub" in messages[0]
