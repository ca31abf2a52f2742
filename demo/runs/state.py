"""A run's states and the moves between them, and the limits at which a run stops by itself. No Gradio."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class State(str, enum.Enum):
    """A run's state; `TRANSITIONS` says which may follow which."""

    STARTING = "starting"
    LOADING = "loading"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    ERROR = "error"
    DIVERGED = "diverged"
    QUOTA = "quota"  # a ZeroGPU chunk was refused; resumable
    QUEUED = "queued"  # waiting for a training slot (demo/runs/waitlist.py); starts by itself


ENDED = {State.STOPPED, State.ERROR, State.DIVERGED, State.QUOTA}
ACTIVE = {State.STARTING, State.LOADING, State.RUNNING, State.STOPPING}
TRANSITIONS: dict[State, set[State]] = {
    State.STARTING: {State.LOADING, State.RUNNING, State.STOPPED, State.ERROR, State.QUEUED},
    State.LOADING: {State.RUNNING, State.STOPPING, State.STOPPED, State.ERROR},
    State.RUNNING: {State.STOPPING, State.ERROR, State.DIVERGED, State.QUOTA},
    State.STOPPING: {State.STOPPED, State.ERROR, State.DIVERGED, State.QUOTA},
    State.QUEUED: {State.STARTING, State.STOPPED},
    **{s: {State.STARTING, State.QUEUED} for s in ENDED},
}


class BadTransition(RuntimeError):
    """A state change that TRANSITIONS does not allow (a bug, never a user error)."""


@dataclass
class Limits:
    """When a run stops by itself (0: never): training seconds, steps, and seconds without its owner's page."""

    seconds: float = 0.0
    steps: int = 0
    idle: float = 0.0
    autosave_every: int = 500
    publish_every: float = 1.0


__all__ = ["ACTIVE", "ENDED", "TRANSITIONS", "BadTransition", "Limits", "State"]
