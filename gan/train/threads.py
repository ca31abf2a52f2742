"""CPU threads while training: keep the faster of one thread per two cores and all the cores, and re-check.

Intra-op threads spin while they wait. On a machine whose other cores are busy (a browser, a second job, a
noisy neighbour on a VM), using every core makes each step several times slower; on an idle machine it makes
the classic MLP about 1.5x faster (bench/bench_throughput.py). Neither count is right everywhere, so
`ThreadTuner`, an on_step callback, times a few steps at each count, keeps the faster, and times them again
every `every` seconds as the load changes. The CLI uses it for image sets (`--threads auto`, its default).
"""
from __future__ import annotations

import os
import statistics
import time
from typing import Any, Callable

import torch


def default_threads(kind: str) -> int:
    """CPU threads that train fastest when other work shares the machine: 1 for points (tiny ops), half the
    cores (at most 8) for images.

    Intra-op threads spin while they wait, so on a small or shared machine (2 vCPUs, a page to serve)
    more threads make every step several times slower; one thread per two cores avoids that.
    """
    if kind == "points":
        return 1
    return max(1, min((os.cpu_count() or 2) // 2, 8))


def thread_choices(kind: str) -> tuple[int, ...]:
    """The counts the tuner compares: half the cores and all of them (at most 16); just 1 for points."""
    if kind == "points":
        return (1,)
    return tuple(sorted({default_threads(kind), max(1, min(os.cpu_count() or 2, 16))}))


class ThreadTuner:
    """An on_step callback that sets torch's thread count to whichever of `choices` steps fastest.

    It times `trial_steps` steps at each count (after `warm_steps` to settle; the first trial also waits
    `first_steps` for the run's one-off costs), compares their medians, keeps the faster, and repeats the
    trial `every` / 4 seconds after the first pick (a noisy first trial is soon corrected), then every
    `every` seconds. `picks` records (step, threads, {threads: median s/step}) for each decision.
    """

    def __init__(self, choices: tuple[int, ...], *, trial_steps: int = 16, warm_steps: int = 2,
                 first_steps: int = 10, every: float = 20.0, clock: Callable[[], float] = time.perf_counter,
                 set_threads: Callable[[int], None] = torch.set_num_threads) -> None:
        if not choices:
            raise ValueError("ThreadTuner needs at least one thread count")
        self.choices, self.trial_steps, self.warm_steps, self.every = tuple(choices), trial_steps, warm_steps, every
        self.clock, self.set_threads = clock, set_threads
        self.best = self.choices[0]
        self.picks: list[tuple[int, int, dict[int, float]]] = []
        self._start_trial(skip=first_steps)

    def _start_trial(self, skip: int | None = None) -> None:
        """Queue every count, the current best last so that the trial ends where it will stay."""
        self._queue: list[int] = [c for c in self.choices if c != self.best] + [self.best]
        self._timed: dict[int, float] = {}
        self._times: list[float] = []
        self._last: float | None = None
        self._skip = self.warm_steps if skip is None else skip
        self.set_threads(self._queue[0])

    def __call__(self, trainer: Any, stats: dict) -> None:
        now = self.clock()
        if not self._queue:
            if now >= self._next:
                self._start_trial()
            return
        if self._last is not None:
            if self._skip > 0:
                self._skip -= 1
            else:
                self._times.append(now - self._last)
        self._last = now
        if len(self._times) < self.trial_steps:
            return
        self._timed[self._queue.pop(0)] = statistics.median(self._times)
        self._times, self._last, self._skip = [], None, self.warm_steps
        if self._queue:
            self.set_threads(self._queue[0])
            return
        self.best = min(self._timed, key=self._timed.get)
        self.set_threads(self.best)
        self.picks.append((int(getattr(trainer, "step_count", 0)), self.best, dict(self._timed)))
        self._next = now + (self.every if len(self.picks) > 1 else self.every / 4)


def set_threads(threads: int | str | None, trainer: Any, *, distributed: bool = False) -> None:
    """Set torch's CPU threads for a trainer: a given count, or (None, auto) a ThreadTuner on the trainer when
    its data has more than one count to compare (not points), on the CPU and outside a torchrun job;
    otherwise default_threads (1 for points, half the cores for images)."""
    kind = trainer.data.kind
    choices = thread_choices(kind)
    if threads not in (None, "auto"):
        torch.set_num_threads(int(threads))
    elif len(choices) > 1 and trainer.device.type == "cpu" and not distributed:
        trainer.add_callback("on_step", ThreadTuner(choices))
    else:
        torch.set_num_threads(default_threads(kind))


__all__ = ["ThreadTuner", "default_threads", "set_threads", "thread_choices"]
