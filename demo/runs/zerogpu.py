"""ZeroGPU: training in `@spaces.GPU` chunks, and what the page says when the GPU is refused.

On a ZeroGPU Space (`SPACES_ZERO_GPU` set) the main process has no GPU. A GPU exists only inside a call of a
function decorated with `@spaces.GPU`, which runs in a forked worker for a bounded `duration`, with its
arguments and result pickled across, and is charged to the visitor's daily quota. So a run's thread
(demo/runs/run.py) keeps its trainer on the CPU and advances it by calling `gpu_chunk(state, seconds, ...)`:
the state goes out as CPU tensors, trains on CUDA for `seconds`, and comes back with the chunk's per-step
stats (`advancer` builds the run's step function around it). Off ZeroGPU none of this is used: the thread
steps its own trainer (CUDA when present). No Gradio here.

`spaces` is imported optionally: without it (or off a Space, where its decorator returns the function
unchanged) `gpu_chunk` is a plain function. ZeroGPU refuses to start an app with no decorated function,
so demo/app.py imports this module at import time; `DECORATED` records what was decorated here.

Settings (gan/settings.py): GAN_CHUNK_SECONDS, GAN_FIRST_CHUNK_SECONDS (a run's first chunk is shorter, so the
page shows progress sooner) and GAN_CHUNK_MARGIN_S (added to the budget in the `duration` asked of ZeroGPU:
fork, CUDA start-up, state in and out).
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from gan import settings
from gan.data.spec import remember_dataset
from gan.train.chunk import train_chunk
from gan.train.compute import ZEROGPU_ENV
from gan.train.trainer import TrainingDiverged

from .lending import NoLender

ENV = ZEROGPU_ENV

try:  # on a Space this must come before anything initialises CUDA (we never do in the main process)
    import spaces
except Exception as _e:  # noqa: BLE001 - not installed or broken: train without ZeroGPU
    spaces = None
    SPACES_IMPORT_ERROR: Exception | None = _e
else:
    SPACES_IMPORT_ERROR = None

DECORATED: list[Callable[..., Any]] = []  # every function decorated here (ZeroGPU needs at least one)


def enabled() -> bool:
    """True on a ZeroGPU Space (the `spaces` package reads the same variable)."""
    return os.environ.get(ENV, "").strip().lower() in ("1", "t", "true")


def gpu(*, duration: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`@spaces.GPU(duration=...)` when `spaces` imports, else a no-op; records the result in DECORATED."""
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        out = spaces.GPU(fn, duration=duration) if spaces is not None else fn
        DECORATED.append(out)
        return out
    return wrap


def chunk_duration(state: dict[str, Any], seconds: float, steps: int | None = None,
                   stop_file: str | None = None) -> int:
    """The GPU time asked of ZeroGPU for one chunk: the budget plus a margin (called with the chunk's args)."""
    return int(round(seconds + settings.get("GAN_CHUNK_MARGIN_S")))


@gpu(duration=chunk_duration)
def gpu_chunk(state: dict[str, Any], seconds: float, steps: int | None = None,
              stop_file: str | None = None) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """One training chunk on the GPU (in ZeroGPU's forked worker): CPU state in, CPU state and the chunk's
    per-step stats out. Ends early when `stop_file` exists (the run's Stop button creates it)."""
    should_stop = (lambda: os.path.exists(stop_file)) if stop_file else None
    return train_chunk(state, seconds=seconds, steps=steps, device="auto", should_stop=should_stop)


def default_runner() -> Callable[..., tuple[dict[str, Any], list[dict[str, float]]]] | None:
    """The chunk runner a RunManager uses: `gpu_chunk` on ZeroGPU, else None (train in-process)."""
    return gpu_chunk if enabled() else None


class ChunkRefused(RuntimeError):
    """A GPU chunk was refused or failed; the message is meant for the page. The run is unchanged."""


def stop_file(run_id: str) -> Path:
    """The file whose existence tells a run's GPU chunk (in its forked worker) to stop between steps."""
    return Path(tempfile.gettempdir()) / f"gan-lab-stop-{run_id}"


def advancer(runner: Callable[..., tuple[dict[str, Any], list[dict[str, float]]]] | None
             ) -> Callable[[Any, Any], dict[str, Any]] | None:
    """A run's step function under ZeroGPU: one `runner` call (one GPU chunk) with the trainer's state as
    CPU tensors, whose result is loaded back into the trainer; None when there is no runner."""
    if runner is None:
        return None

    def advance(run: Any, tr: Any) -> dict[str, Any]:
        seconds = settings.get("GAN_FIRST_CHUNK_SECONDS" if run.chunks == 0 else "GAN_CHUNK_SECONDS")
        steps = max(0, run.limits.steps - tr.step_count) if run.limits.steps else None
        cfg = tr.cfg  # a forked worker inherits the process's dataset cache instead of loading the set again
        remember_dataset(tr.data, cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed, image_size=cfg.image_size)
        t0 = time.monotonic()
        try:
            out = runner(tr.state_dict(), seconds, steps, str(stop_file(run.id)))
        except TrainingDiverged:
            raise
        except NoLender as e:
            raise ChunkRefused(f"{e} It is saved at step {tr.step_count:,}; press Resume to go on.") from e
        except Exception as e:  # noqa: BLE001 - quota, queue, token, worker: all leave `tr` as it was
            if "TrainingDiverged" in str(getattr(e, "message", e)):
                raise TrainingDiverged("a loss became NaN or infinite during a GPU chunk") from e
            run.gpu_left_s = quota_left(e)
            raise ChunkRefused(refusal_message(e, tr.step_count)) from e
        if out is None:  # stopped before any GPU was asked for (demo/runs/lending.py)
            return {"step": tr.step_count, "epoch": tr.epoch}
        state, stats = out
        run.gpu_seconds = getattr(run, "gpu_seconds", 0.0) + time.monotonic() - t0
        tr.load_state_dict(state)
        run.chunks += 1
        return stats[-1] if stats else {"step": tr.step_count, "epoch": tr.epoch}
    return advance


def _parts(exc: BaseException) -> tuple[str, str]:
    title = str(getattr(exc, "title", "") or "")
    message = getattr(exc, "message", None)
    return title, str(message if message is not None else exc)


def quota_left(exc: BaseException) -> float | None:
    """The seconds of quota left, when ZeroGPU's refusal says ("... (45s requested vs. 12s left) ...", the text
    of spaces/zero/client.py `schedule`); `spaces` reports the remaining quota nowhere else."""
    found = re.search(r"vs\.\s*(\d+)\s*s left", _parts(exc)[1])
    return float(found.group(1)) if found else None


def refusal_message(exc: BaseException, step: int) -> str:
    """Plain words for a GPU refusal (quota, queue, token, duration, worker failure) of a chunk at `step`."""
    title, detail = _parts(exc)
    text = f"{title} {detail}".lower()
    saved = f"Your run is saved at step {step:,}"
    if "quota" in text or "gpu limit" in text or "runs limit" in text:
        head = "The free GPU quota for this visitor is used up (ZeroGPU)."
        tail = f"{saved}; resume later (the quota refills daily), or continue on the CPU."
    elif "no gpu was available" in text or "queue" in text:
        head = "No GPU was free on this Space just now (ZeroGPU queue)."
        tail = f"{saved}; press Resume to try again, or continue on the CPU."
    elif "token" in text:
        head = "This page's GPU pass expired (ZeroGPU)."
        tail = f"{saved}; press Resume to get a fresh one, or continue on the CPU."
    elif "duration" in text:
        head = (f"A GPU chunk of {settings.get('GAN_CHUNK_SECONDS'):.0f} s (+{settings.get('GAN_CHUNK_MARGIN_S'):.0f} s "
                f"margin) is longer than this Space allows; lower GAN_CHUNK_SECONDS.")
        tail = f"{saved}; continue on the CPU meanwhile."
    else:
        head = f"The GPU chunk failed ({type(exc).__name__}: {detail[:200]})."
        tail = f"{saved}; press Resume to try again, or continue on the CPU."
    reason = f" ZeroGPU said: {detail[:300]}" if detail and head.startswith(("The free", "No GPU", "This page")) else ""
    return f"{head} {tail}{reason}"


__all__ = ["ChunkRefused", "DECORATED", "advancer", "chunk_duration", "default_runner", "enabled", "gpu",
           "gpu_chunk", "quota_left", "refusal_message", "stop_file"]
