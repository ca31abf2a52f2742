import math
import os

import pytest
import torch

from gan.data.spec import Dataset
from gan.data.images import digits
from gan.metrics.advice import LOSS_EQUILIBRIUM, collapse_warning, loss_help
from gan.metrics.frechet import QualityMeter, frechet_distance, mean_pairwise
from gan.metrics.classifier import Classifier, _fingerprint, classifier_cache_path, load_or_train_classifier
from gan.metrics.translation import DOMAIN_FORMAT, DOMAIN_VERSION, load_or_train_domain_classifier


@pytest.fixture(scope="module")
def data():
    return digits(n=600, seed=0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("classifiers"))


@pytest.fixture(scope="module")
def meter(data, cache):
    return QualityMeter(data, cache_dir=cache, epochs=6, n_real=600)


@pytest.mark.slow
def test_classifier_learns_the_dataset_and_is_cached_safely(meter, data, cache):
    assert meter.accuracy > 0.8, meter.info
    assert meter.info["cached"] is False and meter.info["path"].startswith(cache)
    state = torch.load(meter.info["path"], weights_only=True)  # plain tensors and numbers only
    assert state["format"] == "gan-lab-classifier" and state["dataset"] == "digits"
    again, info = load_or_train_classifier(data, cache_dir=cache, epochs=6)
    assert info["cached"] is True and info["accuracy"] == pytest.approx(meter.accuracy)
    x = data.x[:50]
    assert torch.allclose(again(x), meter.classifier(x), atol=1e-5)
    # another size or seed of the data gets its own file
    other = digits(n=300, seed=1)
    assert classifier_cache_path(other, cache, epochs=6) != classifier_cache_path(data, cache, epochs=6)


def test_a_corrupt_cache_is_retrained_not_fatal(tmp_path):
    small = digits(n=200, seed=2)
    path = classifier_cache_path(small, str(tmp_path), epochs=1, max_train=10_000, n_test=1000, seed=0, lr=3e-3,
                                 batch_size=64)
    with open(path, "wb") as f:
        f.write(b"not a checkpoint")
    _, info = load_or_train_classifier(small, cache_dir=str(tmp_path), epochs=1)
    assert info["cached"] is False and info["path"] == path
    assert torch.load(path, weights_only=True)["format"] == "gan-lab-classifier"


@pytest.mark.slow
def test_one_repeated_image_covers_one_class_and_varied_images_cover_all(meter, data):
    varied = meter.score(data.x[:500])
    single = meter.score(data.x[:1].repeat(500, 1, 1, 1))
    assert varied["n_classes"] == single["n_classes"] == 10
    assert single["classes_covered"] == 1
    assert varied["classes_covered"] >= 9
    assert single["class_kl"] == pytest.approx(math.log(10), abs=1e-6)  # all mass on one class
    assert varied["class_kl"] < 0.1
    assert single["diversity"] < 0.05 < 0.8 < varied["diversity"]
    assert single["frechet"] > 10 * varied["frechet"]
    assert varied["features"] == "classifier" and varied["seconds"] < 5
    # a conditional generator's requested labels are checked too
    y = data.y[:500]
    assert meter.score(data.x[:500], y=y)["label_accuracy"] > 0.8


def test_unlabelled_images_get_a_diversity_measure():
    x = digits(n=400, seed=3).x
    folder = Dataset("folder:mine", "image", (1, 28, 28), x=x)
    m = QualityMeter(folder, cache_dir=None, n_real=400)
    varied, single = m.score(x[:300]), m.score(x[:1].repeat(300, 1, 1, 1))
    assert varied["features"] == "random-projection" and "classes_covered" not in varied
    assert varied["diversity"] > 0.8 and single["diversity"] < 0.05
    assert single["frechet"] > varied["frechet"]


@pytest.mark.slow
def test_meter_refuses_wrong_input(meter):
    with pytest.raises(ValueError, match="expected images of shape"):
        meter.score(torch.zeros(5, 3, 28, 28))
    with pytest.raises(ValueError, match="image dataset"):
        from gan.data.spec import load_dataset

        QualityMeter(load_dataset("ring8"))


def test_frechet_distance_of_known_gaussians():
    d = 5
    mu, eye = torch.zeros(d), torch.eye(d)
    assert frechet_distance(mu, eye, mu, eye) == pytest.approx(0.0, abs=1e-9)
    m = torch.arange(d, dtype=torch.float64)
    # N(0, I) vs N(m, 4I): |m|^2 + tr(I + 4I - 2 * 2I) = |m|^2 + d
    assert frechet_distance(mu, eye, m, 4 * eye) == pytest.approx(float(m.square().sum()) + d, rel=1e-9)


def _hist(key, values, n_key, n):
    return [{key: v, n_key: n, "step": 100 * i} for i, v in enumerate(values)]


def test_collapse_warning_in_plain_words_with_remedies():
    drop = _hist("classes_covered", [2, 7, 10, 10, 9, 3], "n_classes", 10)
    msg = collapse_warning(drop, loss="bce", lr=2e-4)
    assert msg.startswith("Only 3 of 10 classes appear: the generator is collapsing")
    assert "wgan-gp" in msg and "hinge" in msg and "0.0001" in msg
    assert "wgan-gp" not in collapse_warning(drop, loss="wgan-gp")  # suggests something else
    assert collapse_warning(_hist("classes_covered", [1, 4, 8, 10], "n_classes", 10)) is None  # healthy
    assert collapse_warning(_hist("classes_covered", [1, 1, 2], "n_classes", 10)) is None  # warming up
    stalled = _hist("classes_covered", [1, 3, 4, 4, 4, 4, 3], "n_classes", 10)
    assert "Only 3 of 10" in collapse_warning(stalled)
    # the toy benchmarks' mode coverage, as a dict of lists
    modes = {"modes": [0, 4, 8, 8, 2], "n_modes": [8] * 5}
    assert collapse_warning(modes).startswith("Only 2 of 8 modes are covered")
    assert collapse_warning({"modes": [0, 3, 6, 8], "n_modes": [8] * 4}) is None
    # unlabelled: diversity
    div = [{"diversity": v} for v in (0.4, 0.9, 1.0, 0.95, 0.2)]
    assert "look alike" in collapse_warning(div) and "20%" in collapse_warning(div)
    assert collapse_warning([]) is None and collapse_warning(None) is None


def test_loss_help_explains_the_equilibrium():
    text = loss_help("bce")
    assert "1.386" in text and "0.693" in text and "D(G(z))" in text and "0.5" in text
    assert LOSS_EQUILIBRIUM["bce"] == pytest.approx((2 * math.log(2), math.log(2)))
    for name in ("minimax", "wgan", "wgan-gp", "hinge", "lsgan"):
        assert f"**{name}" in loss_help(name)
    assert all(f"**{name}" in loss_help() for name in LOSS_EQUILIBRIUM)


def _synth(name: str, c: int, n: int = 300, k: int = 10) -> Dataset:
    x = ((torch.arange(n * c * 8 * 8) * 7919 % 251).float() / 125 - 1).reshape(n, c, 8, 8)
    return Dataset(name, "image", (c, 8, 8), n_classes=k, x=x, y=torch.arange(n) % k)


def test_one_fingerprint_keeps_the_cache_names_of_both_classifiers():
    # the hashes that the image and the domain classifier caches were named by when each had its own fingerprint
    a, b = _synth("p:a", 1), _synth("p:b", 3, n=200)
    assert _fingerprint(a) == "60b3b79ebb27"
    assert _fingerprint(a, b, labels=False) == "03e0d30489df"
    assert os.path.basename(classifier_cache_path(a, "/c", epochs=1)) == "classifier-p-a-37a60bf9db.pt"


def test_a_domain_classifier_file_that_stores_only_its_size_still_loads(tmp_path):
    a, b = _synth("p:a", 1), _synth("p:b", 3, n=200)
    path = tmp_path / f"domains-p-{_fingerprint(a, b, labels=False)}-{DOMAIN_VERSION}-0.pt"
    torch.save({"format": DOMAIN_FORMAT, "size": 8, "state_dict": Classifier(3, 2, size=8).state_dict(),
                "accuracy": 0.75}, path)
    model, info = load_or_train_domain_classifier(a, b, cache_dir=str(tmp_path))
    assert info == {"accuracy": 0.75, "cached": True}
    assert (model.in_channels, model.n_classes, model.size) == (3, 2, 8)


def test_one_mean_pairwise_distance_keeps_both_figures():
    # the figures of the feature spread (500 rows) and the translations' pixel spread (300 images) before they met
    feats = torch.randn(800, 64, generator=torch.Generator().manual_seed(0))
    images = torch.randn(400, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    assert mean_pairwise(feats, 500) == pytest.approx(11.278148651123047, rel=1e-6)
    assert mean_pairwise(images, 300) == pytest.approx(19.595252990722656, rel=1e-6)
    assert mean_pairwise(_synth("p:b", 3, n=200).x, 300) == pytest.approx(10.968451499938965, rel=1e-6)
    assert mean_pairwise(feats[:1], 500) == 0.0
