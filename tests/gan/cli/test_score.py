"""`gan score [--cas]` and `gan info`: precision, recall, density and coverage of a checkpoint, said in words, and
its classification accuracy score on held-out real images."""
import json
import os
import shutil

import pytest

from tests.helpers import EXAMPLES, run_cli

COND = os.path.join(EXAMPLES, "digits-dcgan.pt")


@pytest.fixture
def quick(monkeypatch, tmp_path):
    """A one-epoch judge classifier cached in tmp_path, and a short CAS classifier training."""
    import gan.cli.score as score
    import gan.metrics.cas as cas
    from gan.metrics.scores import build_meter

    monkeypatch.setattr(score, "build_meter", lambda data: build_meter(data, cache_dir=str(tmp_path), epochs=1,
                                                                        max_train=2000))
    monkeypatch.setattr(cas, "MIN_STEPS", 30)


def test_score_reports_precision_recall_and_cas(quick, capsys):
    code, out, err = run_cli(capsys, "score", "--checkpoint", COND, "--cas", "--n", 300)
    assert code == 0, err
    r = json.loads(out)
    for key in ("precision", "recall", "density", "coverage", "frechet"):
        assert key in r["metrics"]
    assert 0 <= r["metrics"]["precision"] <= 1 and 0 <= r["metrics"]["recall"] <= 1
    assert r["cas"]["n_synthetic"] == 300 and r["cas"]["n_test"] == 2000 and 0.1 < r["cas"]["accuracy"] <= 1


def test_cas_refuses_an_unconditional_model(quick, capsys, tmp_path):
    code, _, err = run_cli(capsys, "score", "--checkpoint", os.path.join(EXAMPLES, "ring8-toy.pt"), "--cas")
    assert code == 2 and "labels" in err


def test_info_shows_the_four_numbers_in_words(tmp_path, capsys):
    import torch

    path = str(tmp_path / "c.pt")
    shutil.copy(COND, path)
    state = torch.load(path, weights_only=True)
    state["metrics"] = {**state.get("metrics", {}), "precision": 0.8, "recall": 0.1, "density": 0.9,
                        "coverage": 0.2}
    torch.save(state, path)
    code, out, err = run_cli(capsys, "info", "--checkpoint", path)
    assert code == 0, err
    pr = json.loads(out)["precision_recall"]
    assert pr["recall"] == 0.1 and pr["coverage"] == 0.2 and "Mode collapse is high precision" in pr["meaning"]
