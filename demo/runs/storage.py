"""Where the app keeps files, who may see them, and the one check for every path that comes from outside.

Layout (under GAN_CHECKPOINT_DIR, default checkpoints/; the shipped examples are always the repository's
checkpoints/examples/, read-only, offered to every visitor):
- `*.pt` at the top: a laptop's own runs (the app's and the CLI's), listed when the app is not shared;
- `visitors/<key>/`: on a shared Space, each visitor's checkpoints, seen by that visitor only.
Uploaded image zips unpack under the temp folder, `gan-lab-uploads/<key>/<id>/`, one folder per upload.

Paths that enter from outside (the Train form, an uploaded or loaded checkpoint's config, the API) go
through `Storage.safe_config`: a `folder:` dataset (and each folder of a `pair:`) must be the visitor's own
uploads, and a config's `data_dir` is replaced by the server's own (GAN_DATA_DIR). Text that leaves for a page goes
through `Storage.public`, so no absolute server path reaches a visitor.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from gan import settings
from gan.checkpoint import remove_stale_temps, save_checkpoint
from gan.config import TrainConfig
from gan.data.pairs import split_pair_name
from gan.errors import ConfigError, safe_name

ROOT = Path(__file__).resolve().parents[2]  # the repository (this file is demo/runs/storage.py)
EXAMPLES = ROOT / "checkpoints" / "examples"  # shipped with the code, read-only
TMP = Path(tempfile.gettempdir())


class QuotaExceeded(OSError):
    """A visitor's (or the server's) disk quota would be exceeded; the message says which and what to do."""


def visitor_key(visitor: str) -> str:
    """A short, safe folder name for a visitor id."""
    return hashlib.sha256(str(visitor).encode()).hexdigest()[:16]


def gradio_cache() -> Path:
    """Where Gradio keeps its copies of uploaded and returned files (gradio.utils.get_upload_folder, read here so
    that the run layer needs no Gradio)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def _size(path: Path) -> int:
    """Bytes of the files under `path`; files deleted while it counts (an upload being swept) count 0."""
    if path.is_file():
        return _bytes(path)
    total = 0
    for dirpath, _, names in os.walk(path):
        total += sum(_bytes(Path(dirpath, n)) for n in names)
    return total


def _bytes(path: Path) -> int:
    try:
        return path.lstat().st_size if path.is_file() else 0
    except OSError:  # gone meanwhile
        return 0


class Storage:
    """Checkpoint folders, uploads, quotas and retention, and the path policy; thread-safe."""

    def __init__(self, checkpoint_dir: str | Path | None = None, *, shared: bool | None = None,
                 upload_dir: str | Path | None = None, examples_dir: str | Path | None = None) -> None:
        self.root = Path(checkpoint_dir or settings.get("GAN_CHECKPOINT_DIR") or ROOT / "checkpoints").resolve()
        self._examples = Path(examples_dir or EXAMPLES).resolve()  # another folder only for tests
        self.shared = settings.shared() if shared is None else shared
        self.uploads = Path(upload_dir or TMP / "gan-lab-uploads").resolve()
        self.exports = TMP / "gan-lab-exports"
        self._lock = threading.Lock()
        self._upload_names: OrderedDict[str, str] = OrderedDict()  # upload folder -> zip's name (the last 10,000)
        self.in_use: Callable[[], set[str]] = set  # upload folders that runs use (the manager sets this)
        try:  # an unwritable folder must not stop the app: saves then warn on the page and training goes on
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
        remove_stale_temps(str(self.root))  # left by a process killed mid-save

    # ---- folders --------------------------------------------------------------------------------------
    @property
    def examples(self) -> Path:
        """The shipped examples: they come with the code (checkpoints/examples/ in the repository), wherever
        GAN_CHECKPOINT_DIR puts the runs."""
        return self._examples

    def own_dir(self, visitor: str) -> Path:
        """Where this visitor's checkpoints go: their own folder on a shared Space, else the top folder."""
        return self.root / "visitors" / visitor_key(visitor) if self.shared else self.root

    def upload_dir(self, visitor: str) -> Path:
        return self.uploads / visitor_key(visitor)

    def export_dir(self, visitor: str) -> Path:
        d = self.exports / visitor_key(visitor)
        d.mkdir(parents=True, exist_ok=True)
        return d

    # ---- checkpoints ----------------------------------------------------------------------------------
    def visible(self, visitor: str) -> list[Path]:
        """The checkpoints this visitor may list, load and download: their own, then the examples."""
        own = self.own_dir(visitor)
        files = sorted((p for p in own.glob("*.pt") if not p.name.startswith(".")),
                       key=lambda p: p.stat().st_mtime, reverse=True) if own.is_dir() else []
        ex = sorted(self.examples.glob("*.pt")) if self.examples.is_dir() else []
        return files + ex

    def find(self, visitor: str, name: str) -> Path:
        """The visible checkpoint called `name` (a plain file name, or examples/NAME); ValueError otherwise."""
        if not isinstance(name, str) or not name.endswith(".pt") or "\\" in name or name.startswith("."):
            raise ValueError(f"not a checkpoint name: {str(name)[:80]!r}")
        for p in self.visible(visitor):
            if self.label(p) == name:
                return p
        raise ValueError(f"no checkpoint named {name!r} among yours or the examples "
                         f"(list them with the /checkpoints endpoint)")

    def label(self, path: Path) -> str:
        """How a checkpoint is named to visitors: its file name, examples/NAME for the examples."""
        return f"examples/{path.name}" if path.parent == self.examples else path.name

    def is_example(self, path: Path) -> bool:
        return Path(path).resolve().parent == self.examples.resolve()

    def table(self, visitor: str) -> list[list[Any]]:
        """Rows (file, dataset, model, loss, step, saved) of the visible checkpoints, newest first."""
        rows = []
        for p in self.visible(visitor):
            meta: dict[str, Any] = {}
            side = p.with_suffix(".json")
            if side.is_file():
                try:
                    meta = json.loads(side.read_text())
                except (OSError, ValueError):
                    meta = {}
            rows.append([self.label(p), self.public(str(meta.get("dataset", "?"))), meta.get("model", "?"),
                         meta.get("loss", "?"), meta.get("step", "?"), meta.get("saved_at", "")])
        return rows

    def save(self, visitor: str, run_id: str, trainer: Any, *, display: dict[str, Any]) -> Path:
        """Write the run's checkpoint (and its small JSON card) in the visitor's folder, within quotas;
        the oldest of their other checkpoints beyond GAN_KEEP_CHECKPOINTS are deleted first."""
        folder = self.own_dir(visitor)
        path = folder / f"{safe_name(run_id, max_len=80)}.pt"
        with self._lock:
            need = max(path.stat().st_size if path.exists() else 0, self._estimate(trainer))
            self._prune(folder, keep=path)
            self._check_quota(visitor, need - (path.stat().st_size if path.exists() else 0))
        save_checkpoint(trainer, str(path), extra={"run_id": run_id})
        meta = {"run_id": run_id, **{k: display.get(k) for k in ("dataset", "model", "loss")},
                "step": trainer.step_count, "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"),
                "d_loss": trainer.history.last("d_loss"), "g_loss": trainer.history.last("g_loss")}
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, path.with_suffix(".json"))
        return path

    @staticmethod
    def _estimate(trainer: Any) -> int:
        params = sum(p.numel() for net in trainer.nets.values() for p in net.parameters())
        return 4 * params * 5  # weights, EMA, two Adam moments, a margin

    def _prune(self, folder: Path, *, keep: Path) -> None:
        limit = settings.get("GAN_KEEP_CHECKPOINTS")
        if not limit or not folder.is_dir():
            return
        others = sorted((p for p in folder.glob("*.pt") if p != keep and not p.name.startswith(".")),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[max(0, limit - 1):]:
            for f in (old, old.with_suffix(".json")):
                f.unlink(missing_ok=True)

    def _check_quota(self, visitor: str, more: int) -> None:
        mine, total = settings.get("GAN_VISITOR_DISK_MB"), settings.get("GAN_TOTAL_DISK_MB")
        if mine and self.usage(visitor) + more > mine * 2**20:
            raise QuotaExceeded(f"your disk quota ({mine:g} MB for checkpoints, uploads and downloads) is full: "
                                f"delete a checkpoint or an upload, or download and start afresh")
        if total and self.usage(None) + more > total * 2**20:
            raise QuotaExceeded(f"this server's disk quota ({total:g} MB) is full; try again later")

    def usage(self, visitor: str | None) -> int:
        """Bytes used by a visitor's checkpoints, uploads and downloads (None: by everyone's; on a shared server
        with Gradio's cache, which keeps a copy of every file uploaded or handed out, for GAN_UPLOAD_TTL_S)."""
        if visitor is None:
            return (_size(self.root / "visitors") + _size(self.uploads) + _size(self.exports)
                    + (_size(gradio_cache()) if self.shared else _size_top(self.root)))
        own = self.own_dir(visitor)
        return ((_size(own) if self.shared else _size_top(own)) + _size(self.upload_dir(visitor))
                + _size(self.exports / visitor_key(visitor)))

    def check_room(self, visitor: str, more: int = 0) -> None:
        """Raise QuotaExceeded unless `more` bytes fit the visitor's and the server's disk quotas."""
        with self._lock:
            self._check_quota(visitor, more)

    def delete(self, visitor: str, name: str) -> None:
        """Delete one of the visitor's own checkpoints (examples are read-only)."""
        path = self.find(visitor, name)
        if self.is_example(path):
            raise ValueError("examples are read-only")
        for f in (path, path.with_suffix(".json")):
            f.unlink(missing_ok=True)

    # ---- uploads --------------------------------------------------------------------------------------
    def new_upload(self, visitor: str, size: int, *, name: str = "") -> Path:
        """A fresh folder for an upload of `size` bytes (refused over quota); old unused uploads are swept."""
        self.sweep_uploads(in_use=self.in_use())
        with self._lock:
            self._check_quota(visitor, size)
            folder = self.upload_dir(visitor) / uuid.uuid4().hex
            folder.mkdir(parents=True)
            self._upload_names[str(folder)] = safe_name(Path(name).stem, max_len=30, fallback="images")
            while len(self._upload_names) > 10_000:
                self._upload_names.popitem(last=False)
        return folder

    def sweep_uploads(self, *, in_use: set[str] | None = None) -> int:
        """Delete upload folders older than GAN_UPLOAD_TTL_S that no run uses; returns how many."""
        ttl = settings.get("GAN_UPLOAD_TTL_S")
        if not ttl or not self.uploads.is_dir():
            return 0
        cutoff, removed = time.time() - ttl, 0
        for folder in self.uploads.glob("*/*"):
            try:
                old = folder.is_dir() and folder.stat().st_mtime < cutoff
            except OSError:  # swept by another request meanwhile
                continue
            if old and str(folder) not in (in_use or set()):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    # ---- the path policy -------------------------------------------------------------------------------
    def safe_config(self, cfg: TrainConfig, visitor: str) -> TrainConfig:
        """`cfg` with every path checked: a folder dataset (and both folders of a pair:A,B dataset) must be this
        visitor's uploads, and the data folder is the server's own. Raises ConfigError naming no server path."""
        folders = ([cfg.dataset[len("folder:"):]] if cfg.dataset.startswith("folder:") else
                   list(split_pair_name(cfg.dataset[len("pair:"):])) if cfg.dataset.startswith("pair:") else [])
        mine = os.path.realpath(self.upload_dir(visitor))
        for folder in folders:
            path = os.path.realpath(folder)
            if not path.startswith(mine + os.sep) or not os.path.isdir(path):
                raise ConfigError("this dataset is a folder of images that is not one of your uploads: upload the "
                                  "images as a zip (Train tab, 'Your own images') to train on them")
        return dataclasses.replace(cfg, data_dir=settings.get("GAN_DATA_DIR") or None)

    def display_dataset(self, dataset: str) -> str:
        """A dataset name as pages show it: an upload as upload:NAME-ID (a pair of uploads as
        pair:upload:NAME-ID,upload:NAME-ID), never by its server path."""
        if dataset.startswith("pair:"):
            return "pair:" + ",".join(self.display_dataset(f"folder:{d}") for d in split_pair_name(dataset[5:]))
        if not dataset.startswith("folder:"):
            return dataset
        folder = dataset[len("folder:"):]
        name = self._upload_names.get(folder) or self._upload_names.get(os.path.realpath(folder)) or "images"
        return f"upload:{name}-{Path(folder).name[:8]}"

    def resolve(self, dataset: str, visitor: str) -> str:
        """The dataset a page or API caller names: upload:NAME-ID becomes that visitor's upload folder;
        a raw folder:PATH is not accepted from outside."""
        dataset = str(dataset or "").strip()
        if dataset.startswith("folder:"):
            raise ConfigError("folder datasets come from uploads: upload a zip of images (Train tab, "
                              "'Your own images') and pick the upload:... name it gets")
        if dataset.startswith("pair:"):  # a CycleGAN pair of two uploads, one per domain
            sides = dataset[len("pair:"):].split(",")
            if len(sides) != 2 or not all(side.strip().startswith("upload:") for side in sides):
                raise ConfigError("pair datasets come from two uploads: upload a zip per domain (Train tab, "
                                  "'Your own pair') and use the pair:upload:...,upload:... name they get")
            return "pair:" + ",".join(self.resolve(side, visitor)[len("folder:"):] for side in sides)
        if not dataset.startswith("upload:"):
            return dataset
        ident = dataset.rsplit("-", 1)[-1]
        mine = self.upload_dir(visitor)
        hits = [p for p in mine.glob(f"{ident}*") if p.is_dir()] if re.fullmatch(r"[0-9a-f]{4,32}", ident) else []
        if len(hits) != 1:
            raise ConfigError(f"no upload named {dataset!r} among yours (uploads are kept for a while, then "
                              f"deleted): upload the zip again")
        return f"folder:{hits[0]}"

    def public(self, text: str) -> str:
        """`text` with every server path this app uses cut down to what a visitor may see."""
        out = re.sub("folder:" + re.escape(str(self.uploads)) + r"/[0-9a-f]{16}/[0-9a-f]{32}",
                     lambda m: self.display_dataset(m.group(0)), str(text))
        data_dir = settings.get("GAN_DATA_DIR")  # the server's, named in "no mnist files found in ..."
        data = ((Path(data_dir), "the server's data folder"),) if data_dir and os.path.isabs(data_dir) else ()
        for root, shown in (*data, (self.uploads, "your upload"), (self.root, "checkpoints"),
                            (self.exports, "exports"), (TMP, "tmp"), (ROOT, ".")):
            out = re.sub(re.escape(str(root)) + r"(/[0-9a-f]{16})?(/[0-9a-f]{32})?", shown, out)
        return out


def _size_top(folder: Path) -> int:
    """Bytes of the files directly in `folder` (a laptop's top checkpoint folder)."""
    return sum(_bytes(p) for p in folder.glob("*")) if folder.is_dir() else 0


__all__ = ["EXAMPLES", "QuotaExceeded", "ROOT", "Storage", "visitor_key"]
