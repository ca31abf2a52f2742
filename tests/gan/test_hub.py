"""Exports in the Hub's conventions: safetensors + config.json + a model card, loaded back without pickle."""
import json

import pytest
import torch
import yaml

from tests.helpers import tiny_config
from gan.checkpoint import load_sampler, load_state, save_checkpoint
from gan.errors import CheckpointError
from gan.hub import ExportedGAN, export, load_pretrained, open_model, push
from gan.train.trainer import Trainer


@pytest.fixture(scope="module")
def digits_ckpt(tmp_path_factory, small_digits):
    t = Trainer(tiny_config(dataset="digits", model="dcgan"), data=small_digits)  # a convolutional export
    t.train(steps=3)
    t.metrics.update(frechet=12.5, classes_covered=10, precision=0.75, recall=0.5, density=0.9, coverage=0.6)
    return save_checkpoint(t, str(tmp_path_factory.mktemp("ck") / "digits.pt"))


def test_export_loads_back_and_samples_exactly_like_the_checkpoint(digits_ckpt, tmp_path):
    folder = export(digits_ckpt, tmp_path / "exp")
    assert {p.name for p in folder.iterdir()} >= {"model.safetensors", "config.json", "README.md", "samples.png"}
    assert not any(p.suffix in (".pt", ".pkl", ".bin") for p in folder.iterdir())  # nothing to unpickle
    G = load_pretrained(folder)
    state = load_state(digits_ckpt)
    from gan.family import family_of

    fam = family_of(state["model_config"]["model"])
    expected = fam.sample(load_sampler(state), 16, seed=7)
    assert torch.equal(G.sample(16, seed=7), expected)  # the EMA weights, exactly
    nets, mc, meta = open_model(folder)  # what sample / mix / translate accept
    assert mc.model == "dcgan" and meta["export"] and meta["step"] == 3 and set(nets) == {"G"}
    z = torch.randn(2, mc.z_dim)
    assert G(z, torch.tensor([0, 1])).shape == (2, 1, 28, 28)


def test_model_card_front_matter_parses_and_its_image_exists(digits_ckpt, tmp_path):
    folder = export(digits_ckpt, tmp_path / "exp")
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["library_name"] == "gan-lab-live" and "dcgan" in meta["tags"] and meta["datasets"] == ["digits"]
    assert "frechet: 12.5" in text and "recall: 0.5" in text and "coverage: 0.6" in text
    assert "Mode collapse is high precision with low recall" in text  # the four numbers in plain words
    assert "![Samples from this generator](samples.png)" in text
    assert (folder / "samples.png").read_bytes()[:4] == b"\x89PNG"
    config = json.loads((folder / "config.json").read_text())
    assert config["model_config"]["model"] == "dcgan" and config["step"] == 3
    assert "data_dir" not in config["train_config"]  # a path on the training machine is not exported


@pytest.mark.parametrize("tamper,words", [
    (lambda c: c["model_config"].update(model="transformer"), "unknown model 'transformer'"),
    (lambda c: c["model_config"].update(width=64), "does not fit its weights"),
    (lambda c: c.update(export_format="something-else"), "not an export of this library"),
])
def test_a_tampered_config_is_refused(digits_ckpt, tmp_path, tamper, words):
    folder = export(digits_ckpt, tmp_path / "exp")
    config = json.loads((folder / "config.json").read_text())
    tamper(config)
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=words):
        load_pretrained(folder)


def test_a_folder_that_is_not_an_export_is_refused(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="is not an export"):
        load_pretrained(tmp_path / "junk")


@pytest.mark.slow
def test_push_and_hub_loading_offline_give_one_clear_line(digits_ckpt, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads the variable once, at import (an earlier test imported it): without this the call
    # below tries the network and its retries (~23 s) before failing the same way
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(CheckpointError) as e:
        load_pretrained("someone/some-gan")
    assert "Hugging Face Hub" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(CheckpointError, match="no Hugging Face token: set HF_TOKEN"):
        push(digits_ckpt, "someone/some-gan")
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    with pytest.raises(CheckpointError) as e:
        push(digits_ckpt, "someone/some-gan")
    assert "Hugging Face Hub" in str(e.value) and "\n" not in str(e.value)


def test_the_mixin_wrapper_refuses_an_unknown_model_before_building():
    with pytest.raises(CheckpointError, match="unknown model"):
        ExportedGAN({"model": "nope", "data_shape": [2]})
