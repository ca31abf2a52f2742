"""The CLI's `score` command: a checkpoint's quality numbers (Fréchet distance, precision, recall, density,
coverage...) against its dataset, and with `--cas` its classification accuracy score on held-out real images.

    python -m gan score --checkpoint CKPT [--cas] [--n 10000] [--data-dir DIR]
"""
from __future__ import annotations

import argparse
from typing import Any, Callable

from ..data.spec import load_dataset
from ..family import family_of
from ..hub import open_model
from ..metrics.cas import CAS_SAMPLES, cas, real_split
from ..metrics.scores import build_meter, score


def add_parser(sub: Any, number: Callable[..., Callable[[str], Any]]) -> argparse.ArgumentParser:
    """The `score` subcommand's flags (`number` is the CLI's checked number type)."""
    s = sub.add_parser("score", help="score a checkpoint against its dataset (with --cas: classification accuracy)")
    s.add_argument("--checkpoint", help="checkpoint file or exported folder (default: the newest in checkpoints/)")
    s.add_argument("--cas", action="store_true",
                   help="also the classification accuracy score: a small CNN trained only on --n synthetic labelled "
                        "samples, tested on 2,000 held-out real images (class-conditional models of labelled sets)")
    s.add_argument("--n", type=number("n", integer=True, lo=10), default=CAS_SAMPLES,
                   help="synthetic samples the CAS classifier trains on (default 10000)")
    s.add_argument("--data-dir", help="where the dataset's files are, if not where the checkpoint was trained")
    s.add_argument("--seed", type=number("seed", integer=True, lo=0), default=0)
    return s


def run(a: argparse.Namespace, path: str) -> dict[str, Any]:
    """The JSON report: checkpoint, step, metrics (and cas, with --cas)."""
    nets, mc, meta = open_model(path)
    fam = family_of(mc.model)
    tc = meta["train_config"]
    data = load_dataset(tc["dataset"], data_dir=a.data_dir or tc.get("data_dir"), seed=int(tc.get("seed") or 0),
                        image_size=tc.get("image_size"))
    meter = None if data.kind == "points" else build_meter(data)
    report: dict[str, Any] = {"checkpoint": path, "step": meta["step"],
                              "metrics": {k: round(v, 4) for k, v in score(nets, fam, data, meter=meter).items()}}
    if a.cas:
        _, test_x, test_y = real_split(data, seed=a.seed)
        got = cas(nets, fam, test_x, test_y, n=a.n, seed=a.seed)
        report["cas"] = {"accuracy": round(got["cas"], 4), "n_synthetic": a.n, "n_test": int(test_y.numel()),
                         "seconds": round(got["seconds"], 1),
                         "note": "held-out real images of the dataset; a GAN trained on the whole set has seen them"}
    return report


__all__ = ["add_parser", "run"]
