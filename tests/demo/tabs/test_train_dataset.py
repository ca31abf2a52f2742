"""/synthetic_dataset: the published generator's samples as a zip (ImageFolder, README) or an npz, balanced over the
chosen classes, in the visitor's export folder; malformed values and a full quota are refused in words."""
import shutil
import threading
import zipfile

import numpy as np
import pytest

gradio_client = pytest.importorskip("gradio_client")

from tests.helpers import EXAMPLES, client, run_manager, serve_app, wait_for  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    (root / "examples").mkdir()
    for ext in (".pt", ".json"):
        shutil.copy(f"{EXAMPLES}/digits-dcgan{ext}", root / "examples")
    manager = run_manager(root)
    manager.load_examples()
    wait_for(lambda: manager.example("explore"), 120, "the example to publish")
    with serve_app(manager) as (url, _):
        yield url, manager
    for t in threading.enumerate():  # an example's run thread (daemon) still in torch at exit aborts the process
        if t.name.startswith("train-"):
            t.join(60)


def test_zip_holds_one_folder_per_chosen_class_and_a_readme(app, tmp_path):
    url, _ = app
    path = client(url).predict(40, "1, 4", "zip", 3, api_name="/synthetic_dataset")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        about = z.read("README.txt").decode()
    assert sorted({n.split("/")[0] for n in names if "/" in n}) == ["1", "4"]
    assert sum(n.startswith("1/") for n in names) == sum(n.startswith("4/") for n in names) == 20
    assert "seed: 3" in about and "dcgan" in about and "digits" in about


def test_npz_holds_x_in_range_and_balanced_y(app):
    url, _ = app
    z = np.load(client(url).predict(30, "", "npz", 0, api_name="/synthetic_dataset"))
    assert z["x"].shape == (30, 1, 28, 28) and -1 <= z["x"].min() and z["x"].max() <= 1
    assert np.bincount(z["y"]).tolist() == [3] * 10


@pytest.mark.parametrize("args,words", [
    ((0, "", "zip", 0), "n must be >= 1"),
    ((10, "", "tar", 0), "not in the list of choices"),  # Gradio refuses it before the handler
    ((10, "3,a", "zip", 0), "comma-separated class numbers"),
    ((10, "11", "zip", 0), "not among the model's classes"),
])
def test_malformed_values_are_refused_in_words(app, args, words):
    url, _ = app
    with pytest.raises(Exception, match=words):
        client(url).predict(*args, api_name="/synthetic_dataset")


def test_a_dataset_over_the_quota_is_refused(app, monkeypatch):
    url, manager = app
    from demo.runs.storage import QuotaExceeded

    def full(visitor, more=0):
        if more > 10_000:
            raise QuotaExceeded("your disk quota is full")
    monkeypatch.setattr(manager.storage, "check_room", full)
    with pytest.raises(Exception, match="quota"):
        client(url).predict(5000, "", "npz", 0, api_name="/synthetic_dataset")
