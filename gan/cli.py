"""Headless CLI: `python -m gan train|sample|info`. Bad flags or values exit 2 with one clear line."""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from dataclasses import asdict

import numpy as np

EXIT_USAGE = 2


class UsageError(Exception):
    """A bad flag or value: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(message)


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {s}")
    return v


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all three commands."""
    p = _Parser(prog="python -m gan", description="Train and sample GANs headless.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a GAN and write a checkpoint")
    t.add_argument("--dataset", required=True, help="gaussian1d, ring8, grid25, spiral, digits, mnist, "
                                                   "fashion-mnist or folder:PATH")
    t.add_argument("--data-dir", help="folder with MNIST-format idx files (.gz or raw)")
    t.add_argument("--model", help="toy, mlp or dcgan (default: toy for points, dcgan for images)")
    t.add_argument("--loss", help="bce, minimax, wgan, wgan-gp, hinge or lsgan (default: the dataset's: "
                                        "hinge for 2-D point sets, else bce)")
    budget = t.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=_positive_int, help="number of training steps")
    budget.add_argument("--seconds", type=_positive_float, help="wall-clock training budget (default 60)")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--lr-d", type=float, help="discriminator learning rate (default: --lr-d-mult x --lr)")
    t.add_argument("--lr-d-mult", type=float, help="D's learning rate as a multiple of --lr (default: the dataset's, "
                                                   "2 for 2-D point sets, else 1)")
    t.add_argument("--r1", type=float, help="R1 penalty weight on D's gradient at real data (default 0: off)")
    t.add_argument("--z-dim", type=int)
    t.add_argument("--width", type=int, help="hidden units / base channels")
    t.add_argument("--ema", type=float, help="EMA decay of the sampling copy of G (0 disables)")
    t.add_argument("--conditional", action=argparse.BooleanOptionalAction, default=None,
                   help="class-conditional G and D on labelled datasets")
    t.add_argument("--pac", type=int, help="PacGAN: D judges packs of N samples (toy and mlp models)")
    t.add_argument("--image-size", type=int, help="image size for folder datasets (default 32)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu or cuda")
    t.add_argument("--threads", type=_positive_int, help="CPU threads (default: 1 for points, half the cores "
                                                          "for images)")
    t.add_argument("--out", help="checkpoint to write (default checkpoints/<dataset>.pt)")
    t.add_argument("--resume", help="checkpoint to continue from (its config is kept)")
    t.add_argument("--save-every", type=int, default=0, help="also save every N steps (0: only at the end)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("sample", help="draw samples from a checkpoint")
    s.add_argument("--checkpoint", help="checkpoint file (default: the newest in checkpoints/)")
    s.add_argument("--n", type=_positive_int, default=64)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", help="FILE.npy (raw samples) or FILE.png (a picture); default <checkpoint>_samples.png")

    i = sub.add_parser("info", help="print a checkpoint's config, step and metrics as JSON")
    i.add_argument("--checkpoint", help="checkpoint file (default: the newest in checkpoints/)")
    return p


def _default_out(dataset: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset.replace("folder:", "folder_")).strip("_") or "run"
    return os.path.join("checkpoints", f"{name}.pt")


def _find_checkpoint(path: str | None) -> str:
    from .checkpoint import latest_checkpoint

    if path:
        return path
    found = latest_checkpoint("checkpoints")
    if not found:
        raise UsageError("no checkpoint given and none in checkpoints/; pass --checkpoint FILE")
    return found


def cmd_train(a: argparse.Namespace) -> int:
    from .checkpoint import load_trainer, save_checkpoint
    from .config import TrainConfig
    import torch

    from .trainer import Trainer, TrainingDiverged, default_threads

    if a.resume:
        trainer = load_trainer(a.resume, device=a.device)
        print(f"resuming {a.resume} at step {trainer.step_count}", file=sys.stderr)
    else:
        cfg = TrainConfig(dataset=a.dataset, data_dir=a.data_dir, model=a.model, loss=a.loss,
                          batch_size=a.batch_size, lr=a.lr, lr_d=a.lr_d, lr_d_mult=a.lr_d_mult, r1=a.r1, z_dim=a.z_dim, width=a.width,
                          ema=a.ema, pac=a.pac, conditional=a.conditional, image_size=a.image_size, seed=a.seed,
                          device=a.device)
        cfg.validate()
        trainer = Trainer(cfg)
    torch.set_num_threads(a.threads or default_threads(trainer.data.kind))
    out = a.out or (a.resume if a.resume else _default_out(a.dataset))
    steps, seconds = a.steps, a.seconds if a.seconds else (None if a.steps else 60.0)
    bar = None
    if not a.quiet:
        from tqdm import tqdm

        bar = tqdm(total=steps if steps else seconds, unit="step" if steps else "s", dynamic_ncols=True,
                   bar_format=None if steps else "{l_bar}{bar}| {n:.0f}/{total:.0f}s [{postfix}]")
    state = {"last": 0.0, "saved_step": -1}

    def progress(done: int, elapsed: float, st: dict) -> None:
        if a.save_every and trainer.step_count % a.save_every == 0:
            save_checkpoint(trainer, out)
            state["saved_step"] = trainer.step_count
        if bar is None or elapsed - state["last"] < 0.25:
            return
        bar.n = done if steps else min(elapsed, seconds)
        bar.set_postfix_str(f"step {st['step']} D {st['d_loss']:.3f} G {st['g_loss']:.3f} "
                            f"{st['images_per_s']:.0f} img/s", refresh=False)
        bar.refresh()
        state["last"] = elapsed

    t0 = time.perf_counter()
    try:
        trainer.train(steps=steps, seconds=seconds, progress=progress)
    except TrainingDiverged as e:
        if bar:
            bar.close()
        kept = f"the last good checkpoint (step {state['saved_step']}) is kept at {out}" \
            if state["saved_step"] >= 0 or (a.resume and out == a.resume) else "no checkpoint was written"
        print(f"training stopped: {e}; {kept}. Try a lower --lr or another --loss.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: saving", file=sys.stderr)
    if bar:
        bar.n = bar.total
        bar.refresh()
        bar.close()
    save_checkpoint(trainer, out)
    h = trainer.history
    print(json.dumps({"checkpoint": out, "step": trainer.step_count, "seconds": round(time.perf_counter() - t0, 2),
                      "images_per_s": round(h.last("images_per_s"), 1), "d_loss": round(h.last("d_loss"), 4),
                      "g_loss": round(h.last("g_loss"), 4)}))
    return 0


def cmd_sample(a: argparse.Namespace) -> int:
    import torch

    from .checkpoint import load_generator, load_state, model_config
    from .datasets import DATASETS
    from .images import picture, save_png
    from .metrics import mode_score
    from .trainer import generate

    path = _find_checkpoint(a.checkpoint)
    state = load_state(path)
    mc = model_config(state)
    g = load_generator(state)
    gen = torch.Generator().manual_seed(a.seed)
    z = torch.randn(a.n, mc.z_dim, generator=gen)
    y = torch.arange(a.n) % mc.n_classes if mc.n_classes else None
    x = generate(g, z, y)
    out = a.out or os.path.splitext(path)[0] + "_samples.png"
    if out.endswith(".npy"):
        np.save(out, x.numpy().astype(np.float32))
    elif out.endswith(".png"):
        nrow = 10 if mc.n_classes == 10 else None
        save_png(picture(x, nrow=nrow) if x.dim() == 4 else picture(x), out)
    else:
        raise UsageError(f"--out must end in .npy or .png, got {out!r}")
    report = {"out": out, "n": a.n, "shape": list(x.shape)}
    name = state["train_config"]["dataset"]
    if name in ("ring8", "grid25"):
        data = DATASETS[name]()
        report["score"] = mode_score(x, data.modes, data.std)
    print(json.dumps(report))
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    from .checkpoint import load_state

    path = _find_checkpoint(a.checkpoint)
    s = load_state(path)
    hist = s.get("history", {}).get("data", {})
    last = {k: v[-1] for k, v in hist.items() if v}
    print(json.dumps({"checkpoint": path, "step": s["step"], "model_config": s["model_config"],
                      "train_config": s["train_config"], "metrics": s.get("metrics", {}), "last": last},
                     indent=2, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    from .checkpoint import CheckpointError
    from .config import ConfigError
    from .datasets import DatasetError

    try:
        a = build_parser().parse_args(argv)
        return {"train": cmd_train, "sample": cmd_sample, "info": cmd_info}[a.command](a)
    except UsageError as e:
        print(f"gan: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, DatasetError, CheckpointError, ValueError) as e:
        print(f"gan: error: {e}", file=sys.stderr)
        return EXIT_USAGE


__all__ = ["main", "build_parser", "asdict"]
