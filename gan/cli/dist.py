"""`gan train` under torchrun: join the job, refuse bad combinations up front, agree on when to stop, and
turn a lost rank into one clear message on rank 0 (gan/train/distributed.py does the training side); and the flags
of how a process computes (lazy statistics, bf16, channels_last, torch.compile: gan/train/compute.py)."""
from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any, Callable

from ..config import TrainConfig
from ..errors import ConfigError
from ..family import train_defaults
from ..train import distributed
from ..train.compute import PRECISIONS, Compute
from ..train.distributed import World

STOP_CHECK_EVERY = 8  # steps between the ranks' agreements on a --seconds budget (one broadcast each)


class RankLost(RuntimeError):
    """Another rank of the job ended (or torchrun stopped this one) while training."""


def add_flags(t: argparse.ArgumentParser, number: Callable[..., Any]) -> None:
    """The train flags for torchrun, the lazy per-step statistics and the compute settings."""
    t.add_argument("--backend", choices=distributed.BACKENDS, default="auto",
                   help="under torchrun: nccl (CUDA) or gloo (CPU); auto picks by device")
    t.add_argument("--stats-every", type=number("stats_every", integer=True, lo=1),
                   help="read the per-step losses back every N steps (default: 1 on CPU, 16 on CUDA)")
    t.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="bf16: autocast the forward passes to bfloat16 (for CUDA; not stored in the checkpoint)")
    t.add_argument("--channels-last", action="store_true",
                   help="channels_last memory format for the convolutional models (for CUDA)")
    t.add_argument("--compile", action="store_true",
                   help="torch.compile the training nets (slow first steps; not on ZeroGPU)")


def compute(a: argparse.Namespace) -> Compute:
    """The Compute settings the flags ask for."""
    return Compute(precision=a.precision, channels_last=a.channels_last, compile=a.compile)


def setup(a: argparse.Namespace, saved: dict[str, Any] | None) -> World:
    """This process's World: rank 0 of 1, or a joined torchrun job after the up-front checks (the global batch
    divides into whole shards, nccl only with GPUs). `saved` is the resumed checkpoint's train_config."""
    world = distributed.world_from_env()
    if not world.active:
        return world
    try:
        if saved is not None:
            batch, pac = int(saved["batch_size"]), int(saved.get("pac") or 1)
        elif not a.dataset:
            raise ConfigError("the following arguments are required: --dataset (or --resume CKPT)")
        else:
            cfg = TrainConfig(dataset=a.dataset, model=a.model, batch_size=a.batch_size, pac=a.pac)
            cfg = cfg.resolved(train_defaults(a.dataset, a.model))
            batch, pac = int(cfg.batch_size), int(cfg.pac or 1)
        backend, a.device = distributed.check_launch(world, backend=a.backend, device=a.device,
                                                     batch_size=batch, pac=pac)
    except ConfigError:
        if not world.main:
            time.sleep(2.0)  # let rank 0 say it, once, before torchrun stops the job
            sys.exit(2)
        raise
    world = distributed.init(world, backend=backend)
    if world.main:
        signal.signal(signal.SIGTERM, _lost)  # torchrun stops the others when one rank dies
        print(f"torchrun: {world.size} ranks on {backend}, global batch {batch} = {world.size} x {batch // world.size}",
              file=sys.stderr)
    if a.stats_every is None and a.device == "cuda":
        a.stats_every = 16
    return world


def _lost(signum: int, _frame: Any) -> None:
    raise RankLost(f"torchrun stopped this rank (signal {signum})")


def stop_rule(world: World, seconds: float | None) -> Callable[[], bool] | None:
    """A `should_stop` that ends every rank at the same step once rank 0 has spent `seconds`."""
    if not world.active or not seconds:
        return None
    t0, calls = time.perf_counter(), [0]

    def should_stop() -> bool:
        calls[0] += 1
        if calls[0] % STOP_CHECK_EVERY:
            return False
        return world.agree(time.perf_counter() - t0 >= seconds)
    return should_stop


def lost_errors(world: World) -> tuple[type[BaseException], ...]:
    """What a lost rank looks like here: torchrun's SIGTERM (RankLost) or a failed collective (gloo and nccl
    raise RuntimeError) when there are other ranks."""
    return (RankLost, RuntimeError) if world.active else (RankLost,)


def lost_message(e: BaseException, out: str, saved_step: int) -> str:
    """The one line rank 0 prints when another rank died: what happened and how to resume."""
    kept = f"the last checkpoint (step {saved_step}) is {out}; resume with --resume {out} (any number of processes)" \
        if saved_step >= 0 else "no checkpoint was written in this run (use --save-every N)"
    return f"training stopped: another rank of the job ended ({type(e).__name__}: {str(e).splitlines()[0][:160]}); {kept}"


__all__ = ["RankLost", "STOP_CHECK_EVERY", "add_flags", "compute", "lost_errors", "lost_message", "setup", "stop_rule"]
