"""The page's handlers for files: checkpoints (save, list, load, resume, upload, download, delete), uploads
of image zips, and time-lapse GIFs. What a visitor may see and where files go is demo/storage.py's rule;
downloads are copies in the visitor's export folder, so Gradio never serves the checkpoint folder itself.
"""
from __future__ import annotations

import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import gradio as gr

from gan import settings
from gan.errors import DatasetError
from gan.data.folder import IMAGE_EXTS, load_zip

from .. import present
from ..runs.storage import QuotaExceeded


class Files:
    """File handlers of one page, sharing its manager, storage and visitor identity."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.manager = page.manager
        self.storage = page.storage

    def _refuse(self, e: BaseException, duration: float = 8) -> gr.Error:
        return gr.Error(self.storage.public(str(e)), duration=duration)

    # ---- exports ----------------------------------------------------------------------------------------
    def export_path(self, visitor: str, name: str) -> Path:
        """A path in the visitor's export folder (their last few downloads are kept; Gradio serves a copy)."""
        folder = self.storage.export_dir(visitor)
        old = sorted(folder.glob("*"), key=lambda p: p.stat().st_mtime)
        for p in old[:-12]:
            p.unlink(missing_ok=True)
        return folder / name

    def _copy_out(self, path: Path, visitor: str) -> str:
        dest = self.export_path(visitor, path.name)
        dest.unlink(missing_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copyfile(path, dest)
        return str(dest)

    def timelapse(self, request: gr.Request = None) -> str:
        """The watched run's fixed-noise grid over time, as a GIF."""
        visitor = self.page.visitor(request)
        run = self.manager.watched(visitor)
        if run is None:
            raise gr.Error("No run yet.")
        try:
            path = self.export_path(visitor, f"timelapse-{run.id}-{int(time.time())}.gif")
            return str(present.write_gif(list(run.frames), path))
        except ValueError as e:
            raise self._refuse(e) from None

    # ---- checkpoints ------------------------------------------------------------------------------------
    def _own_run(self, request: gr.Request | None) -> Any:
        run = self.manager.own_run(self.page.visitor(request))
        if run is None or (run.trainer is None and run.checkpoint is None):
            raise gr.Error("You have no run to save: train or load one first.")
        return run

    def save_now(self, request: gr.Request = None) -> tuple[str, list]:
        """Save your run's checkpoint now."""
        try:
            path = self._own_run(request).save()
        except (OSError, TimeoutError, RuntimeError) as e:
            raise self._refuse(f"could not save: {e}") from None
        return f"Saved `{path.name}`.", self.table(request)

    def download_current(self, request: gr.Request = None) -> str:
        """Your run's checkpoint, saved now, as a file to download."""
        try:
            return self._copy_out(self._own_run(request).save(), self.page.visitor(request))
        except (OSError, TimeoutError, RuntimeError) as e:
            raise self._refuse(f"could not save: {e}") from None

    def download(self, name: str, request: gr.Request = None) -> str:
        """One of your checkpoints (or an example) by name, as a file to download."""
        visitor = self.page.visitor(request)
        try:
            return self._copy_out(self.storage.find(visitor, name), visitor)
        except (ValueError, OSError) as e:
            raise self._refuse(e) from None

    def table(self, request: gr.Request = None) -> list:
        """Your checkpoints and the examples: file, dataset, model, loss, step, saved."""
        return self.storage.table(self.page.visitor(request))

    def names(self, request: gr.Request = None) -> list[str]:
        """The checkpoint names you can load, newest first (yours, then the examples)."""
        return [row[0] for row in self.table(request)]

    def choices(self, request: gr.Request = None) -> Any:
        names = self.names(request)
        return gr.Dropdown(choices=names, value=names[0] if names else None)

    def _load(self, path: str, resume: bool, request: gr.Request | None, label: str) -> str:
        try:
            run = self.manager.load(self.page.visitor(request), path, resume=resume)
        except (ValueError, OSError, RuntimeError) as e:
            raise self._refuse(e, duration=10) from None
        if run.status().get("warning", "") and "explore only" in str(run.status().get("warning")):
            return f"Loaded `{label}` as `{run.id}` to explore only: {run.status()['warning']}."
        return f"Loading `{label}` as `{run.id}`" + (" and resuming." if resume else
                                                      ": explore it now, or press Resume on the Train tab.")

    def load(self, name: str, request: gr.Request = None) -> str:
        """Load one of your checkpoints (or an example) by name, to explore it."""
        try:
            path = self.storage.find(self.page.visitor(request), name)
        except ValueError as e:
            raise self._refuse(e) from None
        return self._load(str(path), False, request, name)

    def load_resume(self, name: str, request: gr.Request = None) -> str:
        """Load one of your checkpoints (or an example) by name and train it further."""
        try:
            path = self.storage.find(self.page.visitor(request), name)
        except ValueError as e:
            raise self._refuse(e) from None
        return self._load(str(path), True, request, name)

    def delete(self, name: str, request: gr.Request = None) -> tuple[str, list]:
        """Delete one of your checkpoints (examples are read-only)."""
        try:
            self.storage.delete(self.page.visitor(request), name)
        except (ValueError, OSError) as e:
            raise self._refuse(e) from None
        return f"Deleted `{name}`.", self.table(request)

    def upload(self, file: str | None, request: gr.Request = None) -> str:
        """Load an uploaded checkpoint (size-capped, weights only: a file holding code is refused)."""
        try:
            path = present.check_upload(file, int(settings.get("GAN_MAX_UPLOAD_MB") * 2**20))
        except (ValueError, OSError) as e:
            raise self._refuse(e) from None
        return self._load(path, False, request, Path(path).name)

    def _unpack(self, file: str | None, request: gr.Request | None, *, what: str = "") -> tuple[Path, Any]:
        """Check an uploaded zip (size cap, quota) and unpack its images safely into a fresh upload folder of the
        visitor; returns (folder, its dataset) or raises gr.Error (prefixed with `what`)."""
        try:
            path = present.check_upload(file, int(settings.get("GAN_MAX_UPLOAD_MB") * 2**20))
            need = max(os.path.getsize(path), _unpacked_size(path))  # quotas count what the zip unpacks to
            dest = self.storage.new_upload(self.page.visitor(request), need, name=Path(path).name)
        except (ValueError, OSError, QuotaExceeded) as e:
            raise self._refuse(f"{what}{e}") from None
        try:
            return dest, load_zip(path, str(dest), image_size=32)
        except (DatasetError, OSError, ValueError) as e:
            shutil.rmtree(dest, ignore_errors=True)
            raise self._refuse(f"{what}{e}", duration=10) from None

    def upload_zip(self, file: str | None, request: gr.Request = None) -> tuple[str, str]:
        """Unpack an uploaded zip of images (size-capped, safely) into your own upload folder and select it as
        the dataset; returns (dataset name, notice)."""
        dest, data = self._unpack(file, request)
        name = self.storage.display_dataset(f"folder:{dest}")
        info = data.info
        refused = info.get("refused") or []
        note = (f"Unpacked {info['images']} image(s) as dataset `{name}`"
                + (f"; {info['skipped']} other file(s) skipped" if info.get("skipped") else "")
                + (f"; refused as too large: {', '.join(refused[:5])}" if refused else "")
                + ". Press **Train** to train on them.")
        return name, note

    def upload_pair(self, file_a: str | None, file_b: str | None, request: gr.Request = None) -> tuple[Any, str]:
        """Two zips, domain A and domain B, each checked and unpacked as upload_zip's, selected as a CycleGAN pair
        dataset (pair:upload:...,upload:...); until both are there, a notice asks for the other."""
        if not file_a and not file_b:
            return gr.skip(), gr.skip()
        if not file_a or not file_b:
            have, need = ("A", "B") if file_a else ("B", "A")
            return gr.skip(), f"Domain {have} is in; now upload domain {need}'s zip."
        folders: list[Path] = []
        try:
            for tag, file in (("A", file_a), ("B", file_b)):
                dest, data = self._unpack(file, request, what=f"domain {tag}: ")
                folders.append(dest)
                if data.x.shape[0] < 2:
                    raise gr.Error(f"domain {tag}: the zip has {data.x.shape[0]} image; a domain needs at least 2 "
                                   f"(one is held out for the Translate tab)", duration=10)
        except gr.Error:
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        name = self.storage.display_dataset(f"pair:{folders[0]},{folders[1]}")
        return name, (f"Unpacked both domains as dataset `{name}` (model cyclegan). Press **Train** to train on "
                      f"them; the Translate tab then shows their translations.")


def _unpacked_size(path: str) -> int:
    """The bytes of images a zip declares (what unpacking writes); 0 if it is not a readable zip (load_zip then
    says why). A zip cannot unpack to more than it declares: extraction stops at the declared sizes."""
    try:
        with zipfile.ZipFile(path) as z:
            return sum(m.file_size for m in z.infolist()
                       if not m.is_dir() and os.path.splitext(m.filename)[1].lower() in IMAGE_EXTS)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return 0


__all__ = ["Files"]
