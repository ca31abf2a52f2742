"""A dataset described once, in its registry entry, works everywhere: the CLI trains and samples it, the app
offers it, trains it through its API and draws its Theory view, with nothing else changed."""
import json

import numpy as np
import pytest
import torch

from tests.helpers import poll_status, serve_app, wait_for
from gan.cli.main import main
from gan.data.spec import Mixture, dataset_names, dataset_spec, register_dataset
from gan.registry import DATASETS
from gan.data.toy import toy_spec

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


@pytest.fixture
def square4():
    """Four Gaussians on the corners of a square: a new benchmark-style toy set, registered for one test."""
    corners = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    register_dataset(toy_spec("square4", Mixture(corners, 0.05), benchmark=True, doc="4 Gaussians on a square"))
    try:
        yield "square4"
    finally:
        DATASETS.unregister("square4")


def test_registered_toy_set_trains_and_samples_through_the_cli(square4, tmp_path, capsys):
    assert square4 in dataset_names() and dataset_spec(square4).modes.means.shape == (4, 2)
    ckpt, npy = str(tmp_path / "sq.pt"), str(tmp_path / "sq.npy")
    assert main(["train", "--dataset", square4, "--steps", "40", "--batch-size", "64", "--out", ckpt, "--quiet"]) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert trained["step"] == 40 and trained["metrics"]["n_modes"] == 4  # scored against the spec's modes
    assert main(["sample", "--checkpoint", ckpt, "--n", "100", "--out", npy]) == 0
    report = json.loads(capsys.readouterr().out)
    x = np.load(npy)
    assert x.shape == (100, 2) and np.isfinite(x).all() and report["score"]["n_modes"] == 4


@pytest.mark.slow
def test_registered_toy_set_trains_in_the_app_with_its_theory_view(square4, tmp_path):
    from gradio_client import Client

    from demo.runs.manager import RunManager

    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path / "ckpt", autosave_every=0)
    with serve_app(manager, defaults={"dataset": square4}) as (url, app):
        client = Client(url, verbose=False, ssl_verify=False)
        client.predict(square4, "auto", "hinge", 64, None, 0, None, 16, api_name="/train")
        st = poll_status(client, lambda s: s["state"] == "running" and s["step"] >= 50, timeout=60,
                         what="square4 to train")
        assert st["dataset"] == square4 and st["model"] == "toy"  # the points defaults came from the spec's kind
        picture = client.predict(seed=3, d1=1.0, api_name="/generate")
        assert picture and str(picture).endswith((".png", ".webp"))

        def theory_numbers():  # the Theory view once its numbers are in (it refreshes every few publishes)
            info = client.predict(api_name="/theory")[2]
            return info if info.get("numbers", {}).get("n_modes") else None
        info = wait_for(theory_numbers, timeout=120, every=0.2, what="the Theory view's numbers")
        assert info["dim"] == 2 and info["numbers"]["n_modes"] == 4  # Theory view from the spec's density
        client.predict(api_name="/stop")
        assert client.predict(api_name="/status")["state"] == "stopped"
