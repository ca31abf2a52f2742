"""Classification accuracy score (Ravuri & Vinyals 2019): the judge CNN of gan.metrics.classifier trained only on
synthetic labelled samples and tested on held-out real images, beside the same CNN trained on as many real images;
and the augmentation question (K real images, against the same K plus synthetic ones)."""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import torch

from ..data.spec import Dataset
from ..data.synthetic import synthesize
from .classifier import _split, accuracy, fit_classifier

Tensor = torch.Tensor
HELD_OUT = 2000  # real images kept for testing (never trained on, by the GAN in the bench or by any classifier)
CAS_SAMPLES = 10_000
CAS_EPOCHS = 5
MIN_STEPS = 1500  # small training sets get more epochs, so K = 100 real images are not judged on 10 steps
BATCH = 64
SHIFT = 2  # every judge (synthetic, real, augmented) sees its images moved by up to 2 px: bench/RESULTS.md, CAS


def real_split(data: Dataset, *, n_test: int = HELD_OUT, seed: int = 0) -> tuple[Dataset, Tensor, Tensor]:
    """(the dataset less its held-out images, held-out x (n_test, C, H, W), held-out y (n_test,)), seeded."""
    if data.x is None or data.y is None or data.n_classes < 2:
        raise ValueError(f"dataset {data.name!r} has no class labels: a classification score needs them")
    keep, test = _split(data.x.shape[0], n_test, seed)
    return dataclasses.replace(data, x=data.x[keep], y=data.y[keep]), data.x[test], data.y[test]


def train_and_test(x: Tensor, y: Tensor, test_x: Tensor, test_y: Tensor, n_classes: int, *,
                   epochs: int = CAS_EPOCHS, seed: int = 0, min_steps: int | None = None,
                   shift: int = SHIFT) -> float:
    """Accuracy on (test_x, test_y) of the judge CNN trained on (x, y), its batches moved by up to `shift`
    pixels: `epochs`, or as many as make min_steps (default MIN_STEPS)."""
    min_steps = MIN_STEPS if min_steps is None else min_steps
    epochs = max(epochs, math.ceil(min_steps / max(1, math.ceil(x.shape[0] / BATCH))))
    return accuracy(fit_classifier(x, y, n_classes, epochs=epochs, batch_size=BATCH, seed=seed, shift=shift),
                    test_x, test_y)


def cas(nets: dict[str, Any], family: Any, test_x: Tensor, test_y: Tensor, *, n: int = CAS_SAMPLES,
        epochs: int = CAS_EPOCHS, seed: int = 0, shift: int = SHIFT) -> dict[str, float]:
    """The classification accuracy score of a class-conditional G: the CNN trained on n balanced synthetic samples
    (labels: the classes they were drawn for) and tested on real (test_x, test_y); keys cas, n, seconds."""
    k = int(getattr(next(iter(nets.values())).cfg, "n_classes", 0) or 0)
    if k < 2:
        raise ValueError("a classification accuracy score needs a class-conditional generator (train with "
                         "--conditional on a labelled dataset)")
    t0 = time.perf_counter()
    x, y = synthesize(nets, family, n, seed=seed)
    acc = train_and_test(x, y, test_x, test_y, k, epochs=epochs, seed=seed, shift=shift)
    return {"cas": acc, "n": float(n), "seconds": time.perf_counter() - t0}


def real_baseline(train: Dataset, test_x: Tensor, test_y: Tensor, *, n: int, epochs: int = CAS_EPOCHS,
                  seed: int = 0, shift: int = SHIFT) -> float:
    """Accuracy of the same CNN trained on the first n real images of `train` (CAS's yardstick)."""
    return train_and_test(train.x[:n], train.y[:n], test_x, test_y, train.n_classes, epochs=epochs, seed=seed,
                          shift=shift)


def augmented(real_x: Tensor, real_y: Tensor, nets: dict[str, Any], family: Any, test_x: Tensor, test_y: Tensor,
              *, n_synthetic: int, epochs: int = CAS_EPOCHS, seed: int = 0,
              min_steps: int | None = None) -> dict[str, float]:
    """The augmentation question: accuracy of the CNN on K real images alone, and on the same K plus n_synthetic
    samples of a G trained on those K; keys real, augmented."""
    k = int(real_y.max()) + 1
    x, y = synthesize(nets, family, n_synthetic, seed=seed + 1)
    return {"real": train_and_test(real_x, real_y, test_x, test_y, k, epochs=epochs, seed=seed, min_steps=min_steps),
            "augmented": train_and_test(torch.cat([real_x, x]), torch.cat([real_y, y]), test_x, test_y, k,
                                        epochs=epochs, seed=seed, min_steps=min_steps)}


__all__ = ["CAS_EPOCHS", "CAS_SAMPLES", "HELD_OUT", "MIN_STEPS", "SHIFT", "augmented", "cas", "real_baseline",
           "real_split", "train_and_test"]
