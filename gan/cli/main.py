"""Headless CLI: `python -m gan train|sample|score|info|translate|mix|restore|export|push` (also the `gan`
console script).

Dataset, model and loss names come from their registries. A bad flag or value exits 2 with one clear line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable


from ..checkpoint import latest_checkpoint, load_state, save_checkpoint
from ..config import TrainConfig
from ..data.spec import dataset_names
from ..errors import CheckpointError, ConfigError, DatasetError, parse_number, safe_name
from ..metrics.prdc import PLAIN_WORDS, PRDC_KEYS
from ..metrics.scores import run_scores
from ..registry import LOSSES, MODELS
from ..train.distributed import shutdown
from ..train.threads import set_threads
from ..train.trainer import Trainer, TrainingDiverged
from . import dist, hub, mix, restore, sample, score, translate

EXIT_USAGE = 2


class UsageError(Exception):
    """A bad flag or value: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(message)


def number(name: str, *, integer: bool = False, lo: float | None = None, lo_open: bool = False) -> Callable[[str], Any]:
    """An argparse type built on the one number parser (gan.errors.parse_number)."""
    def parse(text: str) -> Any:
        try:
            return parse_number(name, text, integer=integer, lo=lo, lo_open=lo_open)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    parse.__name__ = name
    return parse


def threads_arg(text: str) -> int | str:
    """--threads: a count of at least 1, or auto."""
    return "auto" if text.strip().lower() == "auto" else number("threads", integer=True, lo=1)(text)


def _choices(registry: Any) -> str:
    return "; ".join(f"{k}: {getattr(v, 'doc', '')}" for k, v in registry.items())


# flag -> TrainConfig field, for the training flags (also used to refuse flags that contradict --resume)
TRAIN_FLAGS: dict[str, tuple[str, Any, str]] = {
    "--model": ("model", str, "model"),
    "--loss": ("loss", str, "loss (default: the dataset's)"),
    "--batch-size": ("batch_size", number("batch_size", integer=True), "batch size (the global batch)"),
    "--lr": ("lr", number("lr"), "learning rate of G (and of D unless --lr-d / --lr-d-mult)"),
    "--lr-d": ("lr_d", number("lr_d"), "D's learning rate (default: --lr-d-mult x --lr)"),
    "--lr-d-mult": ("lr_d_mult", number("lr_d_mult"), "D's learning rate as a multiple of --lr"),
    "--r1": ("r1", number("r1"), "R1 penalty weight on D's gradient at real data (0: off)"),
    "--r2": ("r2", number("r2"), "R2 penalty weight on D's gradient at generated data (0: off)"),
    "--r1-every": ("r1_every", number("r1_every", integer=True), "apply R1/R2 every N steps (lazy)"),
    "--z-dim": ("z_dim", number("z_dim", integer=True), "latent size"),
    "--width": ("width", number("width", integer=True), "hidden units / base channels"),
    "--ema": ("ema", number("ema"), "EMA decay of the sampling copy of G (0 disables)"),
    "--pac": ("pac", number("pac", integer=True), "PacGAN: D judges packs of N samples"),
    "--image-size": ("image_size", number("image_size", integer=True), "image size for folders (default 32)"),
    "--cycle": ("cycle", number("cycle"), "cyclegan: cycle-consistency weight lambda (default 10)"),
    "--identity": ("identity", number("identity"),
                   "cyclegan: identity weight, a multiple of --cycle (default 0.5; 0 on the digit pairs)"),
    "--pool": ("pool", number("pool", integer=True), "cyclegan: past fakes kept for D (default 50; 0: none)"),
    "--mixing": ("mixing", number("mixing"), "stylegan: share of batches trained with two mixed styles (default 0.9)"),
    "--decay-steps": ("decay_steps", number("decay_steps", integer=True),
                      "linear learning-rate decay to 0 over the second half of this many steps"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    p = _Parser(prog="gan", description="Train and sample GANs headless (python -m gan, or the gan script).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a GAN and write a checkpoint")
    t.add_argument("--dataset", help="dataset (required unless --resume): " + ", ".join(dataset_names())
                                     + " or folder:PATH or pair:DIR_A,DIR_B")
    t.add_argument("--data-dir", help="folder with the dataset's files (MNIST: idx files, .gz or raw)")
    budget = t.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=number("steps", integer=True, lo=1),
                        help="training steps (with --resume: this many MORE steps)")
    budget.add_argument("--seconds", type=number("seconds", lo=0, lo_open=True),
                        help="wall-clock training budget (default 60)")
    for flag, (_, kind, text) in TRAIN_FLAGS.items():
        extra = {"model": _choices(MODELS), "loss": _choices(LOSSES)}.get(TRAIN_FLAGS[flag][0], "")
        t.add_argument(flag, type=kind, help=text + (f" ({extra})" if extra else ""))
    t.add_argument("--conditional", action=argparse.BooleanOptionalAction, default=None,
                   help="class-conditional G and D on labelled datasets")
    t.add_argument("--seed", type=number("seed", integer=True), default=0)
    t.add_argument("--device", default="auto", help="auto, cpu or cuda")
    t.add_argument("--threads", type=threads_arg,
                   help="CPU threads, or auto: the faster of half and all the cores, re-checked as the load "
                        "changes (default: 1 for points, auto for images)")
    t.add_argument("--out", help="checkpoint to write (default checkpoints/<dataset>.pt; with --resume, that file)")
    t.add_argument("--resume", help="checkpoint to continue from; its config is kept, and a flag that "
                                    "contradicts it is refused")
    t.add_argument("--save-every", type=number("save_every", integer=True, lo=0), default=0,
                   help="also save every N steps (0: only at the end)")
    t.add_argument("--no-score", action="store_true", help="skip the quality score stored at the end")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    dist.add_flags(t, number)

    sample.add_parser(sub, number)
    score.add_parser(sub, number)
    translate.add_parser(sub, number)
    mix.add_parser(sub, number)
    restore.add_parser(sub, number)
    hub.add_parsers(sub, number)

    i = sub.add_parser("info", help="print a checkpoint's config, step and metrics as JSON")
    i.add_argument("--checkpoint", help="checkpoint file (default: the newest in checkpoints/)")
    return p


def _default_out(dataset: str) -> str:
    return os.path.join("checkpoints", f"{safe_name(dataset.replace('folder:', 'folder_'))}.pt")


def _shipped(path: str) -> bool:
    """A shipped example (checkpoints/examples/): resuming one writes a new file, never over the example."""
    return os.path.basename(os.path.dirname(os.path.abspath(path))) == "examples"


def _find_checkpoint(path: str | None) -> str:
    if path:
        return path
    found = latest_checkpoint("checkpoints")
    if not found:
        raise UsageError("no checkpoint given and none in checkpoints/; pass --checkpoint FILE")
    return found


def _resume(a: argparse.Namespace, state: dict[str, Any], **kw: Any) -> Trainer:
    """The run in --resume, refusing any flag that contradicts its saved config."""
    saved = dict(state["train_config"])
    given = {"dataset": a.dataset, "data_dir": a.data_dir, "conditional": a.conditional,
             **{field: getattr(a, field) for field, _, _ in TRAIN_FLAGS.values()}}
    if a.seed:
        given["seed"] = a.seed
    for field, value in given.items():
        if value is not None and value != saved.get(field):
            flag = "--" + field.replace("_", "-")
            raise UsageError(f"{flag} {value} contradicts the checkpoint being resumed ({field} = "
                             f"{saved.get(field)!r}); drop {flag}, or start a new run without --resume")
    return Trainer.from_state(state, device=a.device, **kw)


def cmd_train(a: argparse.Namespace) -> int:
    ckpt = load_state(a.resume) if a.resume else None
    world = dist.setup(a, None if ckpt is None else dict(ckpt["train_config"]))  # torchrun: join the job
    kw = {"world": world, "stats_every": a.stats_every or 1, "compute": dist.compute(a)}
    if not world.main:
        a.quiet, a.no_score, a.save_every = True, True, 0  # rank 0 alone saves, prints and logs
    if a.resume:
        trainer = _resume(a, ckpt, **kw)
        if world.main:
            print(f"resuming {a.resume} at step {trainer.step_count}", file=sys.stderr)
    else:
        if not a.dataset:
            raise UsageError("the following arguments are required: --dataset (or --resume CKPT)")
        values = {field: getattr(a, field) for field, _, _ in TRAIN_FLAGS.values()}
        cfg = TrainConfig(dataset=a.dataset, data_dir=a.data_dir, conditional=a.conditional, seed=a.seed,
                          device=a.device, **values)
        cfg.validate()
        trainer = Trainer(cfg, **kw)
    set_threads(a.threads, trainer, distributed=world.active)
    out = a.out or (a.resume if a.resume and not _shipped(a.resume) else _default_out(trainer.cfg.dataset))
    steps, seconds = a.steps, a.seconds if a.seconds else (None if a.steps else 60.0)
    bar = None
    if not a.quiet:
        from tqdm import tqdm

        bar = tqdm(total=steps if steps else seconds, unit="step" if steps else "s", dynamic_ncols=True,
                   bar_format=None if steps else "{l_bar}{bar}| {n:.0f}/{total:.0f} s{postfix}")
    state = {"last": 0.0, "saved_step": -1}

    def show(done: int, elapsed: float, st: dict) -> None:
        bar.n = done if steps else min(elapsed, seconds)
        bar.set_postfix_str(f"step {st['step']}, D {st['d_loss']:.3f}, G {st['g_loss']:.3f}, "
                            f"{st['images_per_s']:.0f} img/s", refresh=False)
        bar.refresh()

    def progress(done: int, elapsed: float, st: dict) -> None:
        if a.save_every and trainer.step_count % a.save_every == 0:
            save_checkpoint(trainer, out)
            state["saved_step"] = trainer.step_count
        if bar is not None and elapsed - state["last"] >= 0.25:
            show(done, elapsed, st)
            state["last"] = elapsed

    t0 = time.perf_counter()
    last: dict[str, Any] = {}
    agreed = dist.stop_rule(world, seconds)  # ranks stop at the same step on a --seconds budget
    try:
        last = trainer.train(steps=steps, seconds=float("inf") if agreed else seconds, progress=progress,
                             should_stop=agreed)
    except TrainingDiverged as e:
        if bar:
            bar.close()
        kept = f"the last good checkpoint (step {state['saved_step']}) is kept at {out}" \
            if state["saved_step"] >= 0 or (a.resume and out == a.resume) else "no checkpoint was written"
        if world.main:
            print(f"training stopped: {e}; {kept}. Try a lower --lr or another --loss.", file=sys.stderr)
        return 1
    except dist.lost_errors(world) as e:  # after TrainingDiverged, itself a RuntimeError
        if bar:
            bar.close()
        if world.main:
            saved = state["saved_step"] if state["saved_step"] >= 0 or not (a.resume and out == a.resume) \
                else int(ckpt["step"])
            print(dist.lost_message(e, out, saved), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: saving", file=sys.stderr)
    seconds_trained = time.perf_counter() - t0
    if bar:
        if last:
            show(0, 0.0, last)
        bar.n = bar.total
        bar.refresh()
        bar.close()
    if not world.main:
        return 0
    if not a.no_score:
        trainer.metrics.update(run_scores(trainer, log=None if a.quiet else sys.stderr))
    save_checkpoint(trainer, out)
    h = trainer.history
    print(json.dumps({"checkpoint": out, "step": trainer.step_count, "seconds": round(seconds_trained, 2),
                      "images_per_s": round(h.last("images_per_s"), 1), "d_loss": round(h.last("d_loss"), 4),
                      "g_loss": round(h.last("g_loss"), 4),
                      "metrics": {k: round(v, 4) for k, v in trainer.metrics.items()}}))
    return 0


def cmd_sample(a: argparse.Namespace) -> int:
    print(json.dumps(sample.run(a, _find_checkpoint(a.checkpoint))))
    return 0


def cmd_score(a: argparse.Namespace) -> int:
    print(json.dumps(score.run(a, _find_checkpoint(a.checkpoint))))
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    path = _find_checkpoint(a.checkpoint)
    s = load_state(path)
    hist = s.get("history", {}).get("data", {})
    last = {k: v[-1] for k, v in hist.items() if v}
    metrics = s.get("metrics", {})
    pr = {k: round(float(metrics[k]), 4) for k in PRDC_KEYS if k in metrics}  # also in "metrics", said in words
    print(json.dumps({"checkpoint": path, "step": s["step"], "model_config": s["model_config"],
                      "train_config": s["train_config"], "metrics": metrics, "last": last,
                      **({"precision_recall": {**pr, "meaning": PLAIN_WORDS}} if pr else {})},
                     indent=2, default=str))
    return 0


def cmd_translate(a: argparse.Namespace) -> int:
    print(json.dumps(translate.run(a, _find_checkpoint(a.checkpoint))))
    return 0


def cmd_mix(a: argparse.Namespace) -> int:
    print(json.dumps(mix.run(a, _find_checkpoint(a.checkpoint))))
    return 0


def cmd_restore(a: argparse.Namespace) -> int:
    print(json.dumps(restore.run(a, _find_checkpoint(a.checkpoint))))
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    print(json.dumps(hub.run_export(a)))
    return 0


def cmd_push(a: argparse.Namespace) -> int:
    print(json.dumps(hub.run_push(a)))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"train": cmd_train, "sample": cmd_sample,
                                                             "info": cmd_info, "score": cmd_score,
                                                             "translate": cmd_translate, "mix": cmd_mix,
                                                             "restore": cmd_restore, "export": cmd_export,
                                                             "push": cmd_push}


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    try:
        a = build_parser().parse_args(argv)
        try:
            return COMMANDS[a.command](a)
        finally:
            shutdown()  # leave a torchrun job's process group, if this process joined one
    except UsageError as e:
        print(f"gan: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, DatasetError, CheckpointError, ValueError) as e:
        print(f"gan: error: {e}", file=sys.stderr)
        return EXIT_USAGE


def entry() -> None:
    """The `gan` console script."""
    sys.exit(main())


__all__ = ["COMMANDS", "build_parser", "entry", "main"]
