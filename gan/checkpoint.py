"""Self-describing checkpoints: one file holding configs, weights, optimizer states, step, RNG and history.

Written atomically (temp file + fsync + rename) and read only with `torch.load(..., weights_only=True)`,
so a file that smuggles code is refused and its code never runs.
"""
from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from typing import Any

import torch
from torch import nn

from .config import ModelConfig, TrainConfig, from_dict
from .errors import CheckpointError, ConfigError
from .family import build_nets, family_of
from .train.budget import check_model_memory
from .train.trainer import CHECKPOINT_FORMAT, Trainer


def save_checkpoint(trainer: Trainer, path: str, *, extra: dict[str, Any] | None = None) -> str:
    """Write the trainer's full state to `path` atomically; returns the path."""
    state = trainer.state_dict()
    if extra:
        state["extra"] = extra
    return save_state(state, path)


def save_state(state: dict[str, Any], path: str) -> str:
    """Atomically write a state dict: the old file stays intact until the new one is complete."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def remove_stale_temps(folder: str, *, older_than_s: float = 600.0) -> list[str]:
    """Delete half-written files that a process killed mid-save left in `folder` (`.tmp-*.pt`, `*.json.tmp`),
    once they are older than `older_than_s` (so a save in progress elsewhere is never touched); returns them."""
    import time

    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    cutoff = time.time() - older_than_s
    for name in names:
        if not ((name.startswith(".tmp-") and name.endswith(".pt")) or name.endswith(".json.tmp")):
            continue
        path = os.path.join(folder, name)
        try:
            if os.path.isfile(path) and os.path.getmtime(path) < cutoff:
                os.unlink(path)
                removed.append(path)
        except OSError:
            pass
    return removed


def load_state(path: str) -> dict[str, Any]:
    """Read and check a checkpoint file safely (weights only); raises CheckpointError with the reason."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"checkpoint {path!r} is empty")
    name = os.path.basename(path)
    kind = _file_kind(path, name)  # refuses what is not a PyTorch file before torch.load sees it
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch's own text suggests turning the safety off: never shown, only classified
        raise CheckpointError(_load_failure(path, name, kind, e)) from None
    return check_state(state, name=name)


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default format is a zip archive
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of torch.save's legacy format


def _file_kind(path: str, name: str) -> str:
    """'zip' (torch's format) or 'pickle' (its legacy one) from the first bytes; CheckpointError for anything
    else, saying what the file seems to be."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise CheckpointError(f"{name!r} could not be read: {e.strerror or e}") from None
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise CheckpointError(f"{name!r} is truncated or corrupt (its zip directory is missing or "
                                  f"damaged)") from None
        if not any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
            raise CheckpointError(f"{name!r} is not a checkpoint: it is a zip archive, not a PyTorch file")
        return "zip"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    raise CheckpointError(f"{name!r} is not a checkpoint: it is not a PyTorch file{_looks_like(head)}")


def _looks_like(head: bytes) -> str:
    """' (it is a PNG image)' and the like for a file's first bytes, or '' if they say nothing clear."""
    for magic, what in ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                        (b"%PDF", "a PDF document"), (b"\x1f\x8b", "gzip data")):
        if head.startswith(magic):
            return f" (it is {what})"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:  # a multi-byte character cut at the end of the 512 bytes is still text
        text = head[: e.start].decode("utf-8") if e.start >= len(head) - 3 else "\0"
    return " (it is text)" if text and all(c.isprintable() or c in "\t\r\n" for c in text) else ""


def _load_failure(path: str, name: str, kind: str, e: Exception) -> str:
    """The one-line reason torch.load failed on `path`, without torch's advice to load it unsafely."""
    import re

    text = str(e)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        glob = found.group(1) if "." in found.group(1) else f"builtins.{found.group(1)}"  # torch drops builtins.
        return _refused(name, glob)
    if kind == "pickle":  # a bare pickle fails on its first opcodes: read them (safely) to say what it is
        parsed, magic, glob = _scan_first_pickle(path)
        if glob is not None:
            return _refused(name, glob or None)
        if not parsed:
            return f"{name!r} is not a checkpoint: it is not a PyTorch file"
        if not magic:
            return f"{name!r} is not a checkpoint: it is a plain Python pickle, not a PyTorch file"
    if isinstance(e, pickle.UnpicklingError):
        return _refused(name, None)
    if isinstance(e, EOFError):
        return f"{name!r} is truncated or corrupt (it ends early)"
    reason = re.sub(r"^\[enforce fail at [^\]]*\]\s*\.?\s*", "", text.strip())
    reason = re.sub(r"^PytorchStreamReader\s+", "", reason).split(". ")[0].strip().rstrip(".")
    reason = " ".join(reason.split())[:120]
    if not reason or "weights_only" in reason:
        reason = type(e).__name__
    return f"{name!r} is truncated or corrupt ({reason})"


def _refused(name: str, glob: str | None) -> str:
    """The message for a file whose pickle needs code or objects that weights-only loading refuses."""
    example = f" (e.g. `{glob}`)" if glob else ""
    return (f"refused {name!r}: it carries Python code or objects{example} that a checkpoint never needs; "
            f"it was not loaded")


def _scan_first_pickle(path: str) -> tuple[bool, bool, str | None]:
    """Read the opcodes of the file's first pickle without running any of them: (parsed to its end, is torch's
    legacy magic number, the first global it would import ('' if its name is unclear) or None)."""
    import io
    import pickletools

    with open(path, "rb") as f:
        data = f.read(1 << 20)
    strings: list[str] = []  # recent string pushes, for STACK_GLOBAL's module and name
    memo: dict[int, Any] = {}
    last: Any = None
    magic = False
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            if op.name == "GLOBAL":
                return True, False, str(arg).replace(" ", ".")
            if op.name == "STACK_GLOBAL":
                return True, False, ".".join(strings[-2:]) if len(strings) >= 2 else ""
            if op.name in ("LONG1", "LONG4") and arg == _LEGACY_MAGIC:
                magic = True
            if isinstance(arg, str) and ("UNICODE" in op.name or "STRING" in op.name):
                strings.append(str(arg))
            if op.name == "MEMOIZE":
                memo[len(memo)] = last
            elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[int(arg)] = last
            elif op.name in ("BINGET", "LONG_BINGET", "GET") and isinstance(memo.get(int(arg)), str):
                strings.append(memo[int(arg)])
            last = arg if op.name not in ("MEMOIZE", "BINPUT", "LONG_BINPUT", "PUT", "FRAME") else last
            if op.name == "STOP":
                return True, magic, None
    except (ValueError, KeyError, IndexError, EOFError, UnicodeDecodeError):
        pass
    return False, magic, None


def check_state(state: Any, *, name: str = "checkpoint") -> dict[str, Any]:
    """Check that a loaded object is one of our checkpoints with a usable config."""
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{name!r} is not a checkpoint of this app (no {CHECKPOINT_FORMAT!r} marker)")
    for key in ("model_config", "train_config", "step"):
        if key not in state:
            raise CheckpointError(f"{name!r} is incomplete: it has no {key!r}")
    try:
        mc = model_config(state)
        from_dict(TrainConfig, dict(state["train_config"]))
    except (ConfigError, TypeError, ValueError) as e:
        raise CheckpointError(f"{name!r} has a config this app cannot use: {e}") from None
    for role in family_of(mc.model).generators:
        if role not in state:
            raise CheckpointError(f"{name!r} is incomplete: it has no {role!r}")
    return state


def model_config(state: dict[str, Any]) -> ModelConfig:
    """Rebuild the ModelConfig stored in a checkpoint."""
    return from_dict(ModelConfig, dict(state["model_config"]))


def load_sampler(state: dict[str, Any], *, ema: bool = True) -> dict[str, nn.Module]:
    """Rebuild a checkpoint's sampling nets by role (no dataset needed), in eval mode on the CPU: the EMA
    weights when there are some."""
    mc = model_config(state)
    check_model_memory(mc, what="the checkpoint's model")
    nets = build_nets(mc)
    out = {}
    for name in family_of(mc.model).generators:
        weights = state.get(f"{name}_ema") if ema and state.get(f"{name}_ema") is not None else state.get(name)
        try:
            nets[name].load_state_dict(weights)
        except (RuntimeError, KeyError, TypeError, AttributeError) as e:
            raise CheckpointError(f"the checkpoint's weights do not fit its model config: {str(e)[:200]}") from None
        out[name] = nets[name].eval().requires_grad_(False)
    return out


def load_generator(state: dict[str, Any], *, ema: bool = True) -> nn.Module:
    """The main generator of a checkpoint (G, or CycleGAN's A->B), rebuilt from its config alone."""
    nets = load_sampler(state, ema=ema)
    return next(iter(nets.values()))


def slim_state(state: dict[str, Any], *, half: bool = False) -> dict[str, Any]:
    """A small checkpoint for shipping (the app's examples): configs, step, history, metrics, measured rows and
    every net, the generators holding their EMA weights; no optimizer states, batch streams or family extras. It loads
    and explores like any checkpoint, and resuming it starts the optimizers afresh. half=True stores the
    weights as float16 (they load back as float32)."""
    mc = model_config(state)
    fam = family_of(mc.model)
    out = {k: state[k] for k in ("format", "version", "model_config", "train_config", "step", "rng", "history",
                                 "metrics", "rows") if k in state}
    for role in build_nets_roles(mc):
        weights = state.get(f"{role}_ema") if role in fam.generators and state.get(f"{role}_ema") is not None \
            else state[role]
        out[role] = {k: (v.half() if half and v.is_floating_point() else v) for k, v in weights.items()}
    for role in fam.generators:
        out[f"{role}_ema"] = None
    return out


def build_nets_roles(mc: ModelConfig) -> list[str]:
    """The roles of a model's networks (built on the meta device: no memory)."""
    with torch.device("meta"):
        return list(build_nets(mc))


def load_trainer(path: str, **overrides: Any) -> Trainer:
    """Load a checkpoint file and return a Trainer ready to resume (Trainer.from_state)."""
    return Trainer.from_state(load_state(path), **overrides)


def latest_checkpoint(folder: str) -> str | None:
    """The most recently modified .pt file in `folder`, or None."""
    if not os.path.isdir(folder):
        return None
    files = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".pt") and not f.startswith(".")]
    return max(files, key=os.path.getmtime) if files else None
