"""Visitors waiting for a training slot, first come first served: each one's place and estimated wait, their run
started by itself when a slot frees, and the bound on a run's turn while others wait. No Gradio.

RunManager (demo/runs/manager.py) puts a run here instead of refusing it when GAN_MAX_RUNS runs train; the run
shows as `queued`, with `queue_place`, `queue_length` and `wait_s` in its status. A pump thread, alive while
anyone waits, admits the first in line whenever a slot is free, drops those whose owner has gone (no page for
GAN_IDLE_STOP_S, or their last page closed), and, while anyone waits, ends each training run GAN_TURN_S after it
started or resumed (it saves, and its owner may queue again).
"""
from __future__ import annotations

import heapq
import logging
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from .state import State

log = logging.getLogger("gan.demo")
TICK = 0.25  # seconds between the pump's looks
WAIT_STEP = 5.0  # waits are shown rounded up to this many seconds (a page is sent a new one only when it moves)
HANDOVER_S = 5.0  # a slot passes on this long after a run's time is up (it saves, the next one builds)


@dataclass
class Entry:
    run: Any
    start: Callable[[], None]
    since: float


def estimate_waits(remaining: list[float | None], free: int, n: int, turn: float | None,
                   handover: float = 0.0) -> list[float | None]:
    """Seconds until each of the first `n` in line gets a slot: slots free after the `remaining` seconds of the
    runs holding them (None: no bound) plus `handover`, or now (`free`), and each admitted run then holds its slot
    for at most `turn` seconds (None: no bound). None where no bound gives an answer."""
    heap = [0.0] * max(0, free) + [max(0.0, r) + handover for r in remaining if r is not None]
    heapq.heapify(heap)
    out: list[float | None] = []
    for _ in range(n):
        if not heap:
            out.append(None)
            continue
        t = heapq.heappop(heap)
        out.append(t)
        if turn:
            heapq.heappush(heap, t + turn + handover)
    return out


def clock(seconds: float) -> str:
    """'45 s', '4 min', '1 h 05 min'."""
    s = int(round(seconds))
    if s < 90:
        return f"{s} s"
    m = int(round(s / 60))
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60:02d} min"


class Waitlist:
    """The queue of one RunManager. `add`, `remove` and `place` are called with the manager's lock held."""

    def __init__(self, manager: Any) -> None:
        self.m = manager
        self._items: list[Entry] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def runs(self) -> list[Any]:
        return [e.run for e in self._items]

    def place(self, run: Any) -> int | None:
        """1-based place in line, or None."""
        return next((i for i, e in enumerate(self._items, 1) if e.run is run), None)

    def add(self, run: Any, start: Callable[[], None]) -> None:
        """Put `run` last in line (it shows as queued); `start()` runs when it reaches a free slot."""
        self._items.append(Entry(run, start, time.monotonic()))
        run._to(State.QUEUED, queue_place=len(self._items), queue_length=len(self._items), wait_s=None,
                error=None, warning=None)
        self._closed = False
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._pump, name="waitlist", daemon=True)
            self._thread.start()

    def remove(self, run: Any, why: str | None = None) -> bool:
        """Take `run` out of the line (it shows as stopped, with `why`); False if it was not in it."""
        before = len(self._items)
        self._items = [e for e in self._items if e.run is not run]
        if len(self._items) == before:
            return False
        if run.state == State.QUEUED:
            run._to(State.STOPPED, queue_place=None, queue_length=None, wait_s=None, warning=why)
        return True

    def close(self) -> None:
        """Everyone leaves the line (the server shuts down)."""
        self._closed = True
        with self.m._lock:
            for e in list(self._items):
                self.remove(e.run, "the server stopped before your turn came")

    # ---- the pump ----------------------------------------------------------------------------------------
    def _pump(self) -> None:
        while not self._closed:
            try:
                waiting = self.tick()
            except Exception:  # noqa: BLE001 - the queue must keep moving
                log.warning("waitlist tick failed: %s", traceback.format_exc())
                waiting = True
            if not waiting:
                return
            time.sleep(TICK)

    def tick(self) -> bool:
        """One look: drop those who left, admit the first in line to free slots, bound the turns of training
        runs while anyone waits, and refresh places and waits. Returns whether anyone still waits."""
        m, now = self.m, time.monotonic()
        with m._lock:
            idle = m.limits.idle
            for e in list(self._items):
                if e.run.state != State.QUEUED:
                    self._items.remove(e)
                elif idle and now - e.run.last_seen > idle:
                    self.remove(e.run, f"left the queue after {idle:.0f} s with no page of yours open")
            holding = [r for r in m._runs.values() if m._holds_slot(r)]
            free = m.max_runs - len(holding)
            ready, self._items = self._items[:max(0, free)], self._items[max(0, free):]
            items = list(self._items)
            for e in ready:  # under the lock: nobody takes the slot meanwhile
                e.run._set(queue_place=None, queue_length=None, wait_s=None)
                self._launch(e)
        self._bound_turns(bool(items), now)
        self._show_places(items, now)
        return bool(items)

    def _launch(self, e: Entry) -> None:
        try:
            self.m.launch(e.run, e.start)
        except Exception as exc:  # noqa: BLE001 - the visitor sees why on the page
            log.warning("queued run %s failed to start: %s", e.run.id, traceback.format_exc())
            if e.run.state == State.QUEUED:
                e.run._to(State.STOPPED, error=f"could not start: {type(exc).__name__}: {exc}")

    def _bound_turns(self, anyone_waits: bool, now: float) -> None:
        turn = self.m.turn_s
        for r in self.m.active_runs():
            if anyone_waits and turn and getattr(r, "example", None) is None:
                if r.turn_until is None:
                    r.turn_until = max(now, getattr(r, "turn_start", now) + turn)
                    r.turn_note = (f"stopped after {clock(turn)} of training so that visitors waiting in the queue "
                                   f"can train (checkpoint saved); press Resume to queue again")
            else:
                r.turn_until = None

    def _show_places(self, items: list[Entry], now: float) -> None:
        m = self.m
        holding = [r for r in m.runs() if m._holds_slot(r)]
        free = m.max_runs - len(holding)
        waits = estimate_waits([self.remaining(r, now) for r in holding], free, len(items), self.turn(), HANDOVER_S)
        for k, (e, w) in enumerate(zip(items, waits), 1):
            shown = {"queue_place": k, "queue_length": len(items),
                     "wait_s": None if w is None else WAIT_STEP * -(-w // WAIT_STEP)}
            st = e.run.status()
            if e.run.state == State.QUEUED and any(st.get(k2) != v for k2, v in shown.items()):
                e.run._to(State.QUEUED, **shown)

    def turn(self) -> float | None:
        """The longest a newly admitted run holds its slot while others wait (None: no bound)."""
        bounds = [b for b in (self.m.turn_s, self.m.limits.seconds) if b]
        return min(bounds) if bounds else None

    def remaining(self, run: Any, now: float) -> float | None:
        """At most how many more seconds `run` trains (None: no bound known)."""
        bounds = []
        if self.m.turn_s and getattr(run, "example", None) is None:
            bounds.append((run.turn_until or getattr(run, "turn_start", now) + self.m.turn_s) - now)
        if self.m.limits.seconds:
            bounds.append(self.m.limits.seconds - float(run.status().get("elapsed") or 0.0))
        return max(0.0, min(bounds)) if bounds else None


__all__ = ["Entry", "Waitlist", "clock", "estimate_waits"]
