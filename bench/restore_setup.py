"""Setup for bench/bench_restore.py: the MNIST split (8,000 t10k images to train on, 2,000 held out), the GANs
trained on the 8,000 for a wall-clock budget, and the judge CNN trained on the same 8,000 real images.

    .venv/bin/python bench/restore_setup.py --models mlp,stylegan --seconds 120   # train and save, then exit
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, SHARED  # noqa: E402

from gan.checkpoint import load_sampler, load_state, save_checkpoint  # noqa: E402
from gan.config import TrainConfig  # noqa: E402
from gan.data.images import idx_images, to_unit  # noqa: E402
from gan.data.spec import Dataset  # noqa: E402
from gan.metrics.classifier import Classifier, train_classifier  # noqa: E402
from gan.train.trainer import Trainer  # noqa: E402

OUT = ROOT / "checkpoints" / "bench_restore"
N_TRAIN = 8000


def split(data_dir: str | None = None, *, seed: int = 0) -> tuple[Dataset, torch.Tensor, torch.Tensor]:
    """(the 8,000 training images as a Dataset, the 2,000 held-out images (N, 1, 28, 28), their labels)."""
    x, y = idx_images("mnist", data_dir or str(SHARED / "data" / "mnist"))
    x = to_unit(x)
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
    tr, te = perm[:N_TRAIN], perm[N_TRAIN:]
    train = Dataset("mnist", "image", (1, 28, 28), n_classes=10, x=x[tr].contiguous(), y=y[tr].contiguous())
    return train, x[te].contiguous(), y[te].contiguous()


def train_gan(data: Dataset, model: str | None, seconds: float, *, seed: int = 0) -> tuple[str, dict]:
    """Train `model` (None: the dataset's default) on `data` for `seconds`; save it under OUT; (path, record)."""
    cfg = TrainConfig(dataset="mnist", seed=seed, **({"model": model} if model else {}))
    trainer = Trainer(cfg, data=data)
    t0 = time.perf_counter()
    trainer.train(seconds=seconds)
    took = time.perf_counter() - t0
    name = trainer.cfg.model
    path = str(OUT / f"mnist8k_{name}.pt")
    OUT.mkdir(parents=True, exist_ok=True)
    save_checkpoint(trainer, path, extra={"bench_seconds": took})
    return path, {"model": name, "steps": trainer.step_count, "seconds": round(took, 1),
                  "conditional": bool(trainer.model_config.n_classes)}


def judge(data: Dataset, *, seed: int = 0) -> Classifier:
    """The judge CNN, trained on the 8,000 real training images (cached under OUT)."""
    path = OUT / "judge.pt"
    model = Classifier(1, 10, size=28)
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval().requires_grad_(False)
    model, _ = train_classifier(data, epochs=6, max_train=N_TRAIN, n_test=1, seed=seed)
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model


def load_gan(path: str) -> tuple[dict, dict]:
    """(sampling nets, the saved state) of a bench checkpoint."""
    state = load_state(path)
    return load_sampler(state), state


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mlp,stylegan")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    train, _, _ = split()
    for m in a.models.split(","):
        print(json.dumps(train_gan(train, m, a.seconds)[1]), flush=True)
    judge(train)
