"""Runs that train in this process take turns on the CPU: each gets an equal share of the training time, a few
at a time (`CpuShare`), and the cap on runs follows the machine's cores. No Gradio.

Free threads would share badly: a run whose steps release the GIL longer (an image model) takes more than its
share, and every run's intra-op threads spin against the others'. So a run steps only while it holds one of
`slots` turns (half the cores, at least one); it keeps its turn while nobody waits, and otherwise hands it on
after QUANTUM seconds to the waiting run that has been served least (`served`, its seconds of turns). Runs that
train elsewhere (ZeroGPU chunks) do not take part. One run alone never waits and pays one lock per step.
"""
from __future__ import annotations

import math
import os
import threading
import time

QUANTUM = 0.05  # seconds of steps per turn when others wait (a ring8 step takes ~5 ms on one core)


def cores() -> int:
    return os.cpu_count() or 2


def default_max_runs() -> int:
    """GAN_MAX_RUNS when unset: 4 runs per core (8 on a 2-vCPU Space), so each gets at least 1/8 of a slot."""
    return 4 * cores()


def default_slots() -> int:
    """Runs that step at the same moment: one per two cores (a points run uses one thread, an image run
    gan.train.threads.default_threads, half the cores), at least one."""
    return max(1, cores() // 2)


class CpuShare:
    """Fair turns on the CPU for the runs training in this process (`join`, `turn` before each step, `leave`)."""

    def __init__(self, slots: int | None = None, quantum: float = QUANTUM) -> None:
        self.slots, self.quantum = max(1, int(slots or default_slots())), quantum
        self._cond = threading.Condition()
        self._served: dict[str, float] = {}  # member -> seconds of turns so far
        self._holding: dict[str, float] = {}  # member -> when its turn began
        self._waiting: set[str] = set()

    # ---- what the page shows ------------------------------------------------------------------------------
    def members(self) -> int:
        """Runs sharing the CPU now."""
        return len(self._served)

    def share(self) -> float:
        """The part of the training time each run gets now (1.0 while there are no more runs than slots)."""
        return min(1.0, self.slots / max(1, self.members()))

    def crowd(self) -> int:
        """Runs per slot: a run's own work between steps (publishing, monitors) is stretched by this factor so
        that it stays the same part of its own turns (demo/runs/run.py, demo/runs/monitors.py)."""
        return max(1, math.ceil(self.members() / self.slots))

    # ---- the training threads ------------------------------------------------------------------------------
    def join(self, member: str) -> None:
        """A run starts training here; it is served from the least-served member's count (no catching up)."""
        with self._cond:
            others = [v for k, v in self._served.items() if k != member]
            self._served.setdefault(member, min(others) if others else 0.0)

    def leave(self, member: str) -> None:
        """The run stopped (any way): its turn, if it holds one, goes to the next."""
        with self._cond:
            if member in self._holding:
                self._release(member, time.monotonic())
            self._served.pop(member, None)
            self._waiting.discard(member)
            self._cond.notify_all()

    def turn(self, member: str, stop: threading.Event | None = None) -> bool:
        """Called before each step: returns at once while the run holds its turn (and keeps it while nobody
        waits or its quantum lasts); else waits for the next turn. False when `stop` is set while waiting."""
        now = time.monotonic()
        with self._cond:
            since = self._holding.get(member)
            if since is not None:
                if not self._waiting or now - since < self.quantum:
                    return True
                self._release(member, now)
            if member not in self._served:
                self._served[member] = min(self._served.values(), default=0.0)
            self._waiting.add(member)
            try:
                while not self._may_take(member):
                    if stop is not None and stop.is_set():
                        return False
                    self._cond.wait(0.1)
            finally:
                self._waiting.discard(member)
            self._holding[member] = time.monotonic()
            return True

    def _may_take(self, member: str) -> bool:
        free = self.slots - len(self._holding)
        if free <= 0:
            return False
        first = sorted(self._waiting, key=lambda m: (self._served.get(m, 0.0), m))[:free]
        return member in first

    def _release(self, member: str, now: float) -> None:
        since = self._holding.pop(member)
        if member in self._served:
            self._served[member] += now - since
        self._cond.notify_all()


__all__ = ["CpuShare", "QUANTUM", "cores", "default_max_runs", "default_slots"]
