"""Bounded histories: per-step numbers kept at a stride that doubles whenever the buffer fills (`History`),
any items thinned the same way (`Thinned`), and chart downsampling: memory stays flat over any run while
the whole run stays visible."""
from __future__ import annotations

import math


class History:
    """Series of plain numbers keyed by name, sharing one `step` axis, at most `max_points` long."""

    def __init__(self, max_points: int = 2000) -> None:
        self.max_points = max(4, int(max_points))
        self.stride = 1
        self.data: dict[str, list[float]] = {"step": []}

    def add(self, step: int, values: dict[str, float]) -> None:
        """Record `values` at `step` if the step falls on the current stride."""
        if step % self.stride:
            return
        n = len(self.data["step"])
        for k in values:
            if k not in self.data:
                self.data[k] = [math.nan] * n
        self.data["step"].append(float(step))
        for k, col in self.data.items():
            if k != "step":
                v = values.get(k, math.nan)
                col.append(float(v) if v is not None else math.nan)
        if len(self.data["step"]) >= self.max_points:
            self.stride *= 2
            keep = [i for i, s in enumerate(self.data["step"]) if int(s) % self.stride == 0]
            self.data = {k: [col[i] for i in keep] for k, col in self.data.items()}

    def __len__(self) -> int:
        return len(self.data["step"])

    def last(self, key: str, default: float = math.nan) -> float:
        """The latest value of `key`."""
        col = self.data.get(key)
        return col[-1] if col else default

    def columns(self) -> dict[str, list[float]]:
        """A copy of every series."""
        return {k: list(v) for k, v in self.data.items()}

    def state_dict(self) -> dict:
        return {"max_points": self.max_points, "stride": self.stride, "data": self.columns()}

    def load_state_dict(self, s: dict) -> None:
        self.max_points, self.stride = int(s["max_points"]), int(s["stride"])
        self.data = {k: [float(x) for x in v] for k, v in s["data"].items()}


def downsample(columns: dict[str, list[float]], points: int = 300) -> dict[str, list[float]]:
    """The rows whose step is a multiple of the smallest power-of-two stride that leaves fewer than `points` of
    them, and always the last row. The stride only ever doubles as a series grows, so the same rows stay chosen
    from one call to the next: successive charts of a growing run differ only at their end (small diffs)."""
    steps = columns.get("step", [])
    n = len(steps)
    if n <= points:
        return {k: list(v) for k, v in columns.items()}
    stride = 1
    while True:
        idx = [i for i, s in enumerate(steps) if int(s) % stride == 0]
        if len(idx) < points:
            break
        stride *= 2
    if not idx or idx[-1] != n - 1:
        idx.append(n - 1)
    return {k: [v[i] for i in idx] for k, v in columns.items()}


class Thinned(list):
    """A list that keeps at most `max_len` items by dropping every other one when full, so the whole run
    stays represented (time-lapse frames, metric rows). `every` is the current spacing of kept items."""

    def __init__(self, max_len: int) -> None:
        super().__init__()
        self.max_len, self.every, self._offered = max(2, int(max_len)), 1, 0

    def offer(self, item: object, *, force: bool = False) -> bool:
        """Append `item` if it falls on the current spacing (or `force`); returns whether it was kept."""
        self._offered += 1
        if not force and (self._offered - 1) % self.every:
            return False
        self.append(item)
        if len(self) > self.max_len:
            self[:] = self[::2]
            self.every *= 2
        return True


__all__ = ["History", "Thinned", "downsample"]
