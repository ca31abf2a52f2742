"""The Checkpoints tab: save, list, load, resume, upload, download and delete checkpoints, time-lapse GIFs, and the
Hub panel (demo/tabs/hub.py); built, wired and handled here (`page.files`)."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import gradio as gr

from gan import settings

from .. import present, words
from ..runs.state import State
from ..speak import L
from . import FAST, hub
from .refusals import notes

HEADERS = ["file", "dataset", "model", "loss", "step", "saved"]
GIF_SIDE = 480  # the time-lapse is scaled up (whole pixels) until its shorter side is at least this


class Files:
    """File handlers of one page, sharing its manager, storage and visitor identity. What a visitor may see and
    where files go is demo/runs/storage.py's rule; downloads are copies in the visitor's export folder, so Gradio
    never serves the checkpoint folder itself."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.manager = page.manager
        self.storage = page.storage

    def _refuse(self, e: BaseException, duration: float = 8) -> gr.Error:
        return gr.Error(self.storage.public(str(e)), duration=duration)

    # ---- exports ----------------------------------------------------------------------------------------
    def recent(self, visitor: str, pattern: str, within: float = 30.0) -> Path | None:
        """The visitor's newest export-folder file matching `pattern` if it is under `within` seconds old: handed
        out again instead of a new one, since Gradio keeps a copy of every file a handler returns (for hours)."""
        files = [p for p in self.storage.export_dir(visitor).glob(pattern) if p.is_file()]
        newest = max(files, key=lambda p: p.stat().st_mtime, default=None)
        return newest if newest is not None and time.time() - newest.stat().st_mtime < within else None

    def export_path(self, visitor: str, name: str) -> Path:
        """A path in the visitor's export folder (their last few downloads are kept; Gradio serves a copy).
        Refused (QuotaExceeded) while the visitor's or the server's disk quota is full: downloads count too."""
        self.storage.check_room(visitor)
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
        """The watched run's fixed-noise grid over time, as a GIF (one frame per publish, at most 60, scaled up
        to at least GIF_SIDE pixels)."""
        visitor = self.page.visitor(request)
        run = self.manager.watched(visitor)
        if run is None:
            raise gr.Error(words.t("n.no_run"))
        recent = self.recent(visitor, f"timelapse-{run.id}-*.gif", within=hub.EXPORT_EVERY_S)
        if recent is not None:
            return str(recent)
        try:
            path = self.export_path(visitor, f"timelapse-{run.id}-{int(time.time())}.gif")
            return str(present.write_gif(list(run.frames), path, min_side=GIF_SIDE))
        except (ValueError, OSError) as e:  # no frames yet, or the disk quota is full
            raise self._refuse(e) from None

    # ---- checkpoints ------------------------------------------------------------------------------------
    def _own_run(self, request: gr.Request | None) -> Any:
        run = self.manager.own_run(self.page.visitor(request))
        if run is None or (run.trainer is None and run.checkpoint is None):
            still_loading = run is not None and run.state in (State.STARTING, State.LOADING)
            raise gr.Error(words.t("n.still_loading" if still_loading else "n.nothing_to_save"))
        return run

    def save_now(self, request: gr.Request = None) -> tuple[str, list]:
        """Save your run's checkpoint now."""
        try:
            path = self._own_run(request).save()
        except (OSError, TimeoutError, RuntimeError) as e:
            raise self._refuse(words.t("n.could_not_save", e=e)) from None
        return words.t("n.saved", name=path.name), self.table(request)

    def download_current(self, request: gr.Request = None) -> str:
        """Your run's checkpoint, saved now, as a file to download."""
        try:
            return self._copy_out(self._own_run(request).save(), self.page.visitor(request))
        except (OSError, TimeoutError, RuntimeError) as e:
            raise self._refuse(words.t("n.could_not_save", e=e)) from None

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

    def choices(self, current: str | None = None, request: gr.Request = None) -> Any:
        """The picker's names, keeping `current` picked while it is still there (else the newest)."""
        names = self.names(request)
        return gr.Dropdown(choices=names, value=current if current in names else (names[0] if names else None))

    @staticmethod
    def pick(evt: gr.SelectData) -> Any:
        """A click on a row of the list picks that row's checkpoint."""
        row = evt.row_value or []
        return gr.Dropdown(value=row[0]) if row and row[0] else gr.skip()

    def ask_delete(self, name: str | None) -> tuple[Any, str]:
        """Delete asks first: the question and its Yes / Cancel buttons."""
        if not name:
            return gr.Row(visible=False), ""
        return gr.Row(visible=True), words.t("n.ask_delete", name=name)

    def _load(self, path: str, resume: bool, request: gr.Request | None, label: str) -> str:
        try:
            run = self.manager.load(self.page.visitor(request), path, resume=resume)
        except (ValueError, OSError, RuntimeError) as e:
            raise self._refuse(e, duration=10) from None
        if run.status().get("warning", "") and "explore only" in str(run.status().get("warning")):
            return words.t("n.loaded_explore", label=label, run=run.id, warning=words.say(run.status()["warning"]))
        return words.t("n.loading", label=label, run=run.id) + words.t("n.and_resuming" if resume else "n.explore_now")

    def load(self, name: str, request: gr.Request = None) -> str:
        """Load one of your checkpoints (or an example) by name, to explore it."""
        return self._load(self._find(name, request), False, request, name)

    def load_resume(self, name: str, request: gr.Request = None) -> str:
        """Load one of your checkpoints (or an example) by name and train it further."""
        return self._load(self._find(name, request), True, request, name)

    def _find(self, name: str, request: gr.Request | None) -> str:
        """The path of the visible checkpoint `name`; gr.Error when there is none."""
        try:
            return str(self.storage.find(self.page.visitor(request), name))
        except ValueError as e:
            raise self._refuse(e) from None

    def delete(self, name: str, request: gr.Request = None) -> tuple[str, list]:
        """Delete one of your checkpoints (examples are read-only)."""
        try:
            self.storage.delete(self.page.visitor(request), name)
        except (ValueError, OSError) as e:
            raise self._refuse(e) from None
        return words.t("n.deleted", name=name), self.table(request)

    def upload(self, file: str | None, request: gr.Request = None) -> str:
        """Load an uploaded checkpoint (size-capped, weights only: a file holding code is refused)."""
        try:
            path = present.check_upload(file, int(settings.get("GAN_MAX_UPLOAD_MB") * 2**20))
        except (ValueError, OSError) as e:
            raise self._refuse(e) from None
        return self._load(path, False, request, Path(path).name)


def build(page: Any, c: dict[str, Any]) -> None:
    """The tab, with its events: /save, /download_checkpoint, /timelapse, /load, /load_resume, /delete_checkpoint,
    /upload, the Hub panel's, and the API-only /checkpoints and /download. `c` gets the list and the picker, which
    the page refreshes at load. The list refreshes too when the tab is opened and after every action; a click on a
    row picks that checkpoint; Delete asks first; Stop is here too (a run that trains cannot load another)."""
    f = page.files
    with gr.Tab(L("tab.checkpoints"), id="checkpoints") as tab:
        gr.Markdown(L("ckpt.intro"))
        c["c_table"] = table = gr.Dataframe(headers=HEADERS, interactive=False, elem_id="c-table",
                                            label=L("ckpt.table"))
        with gr.Row(equal_height=True):
            c["c_choice"] = choice = gr.Dropdown([], label=L("ckpt.choice"), allow_custom_value=True, scale=4,
                                                 min_width=320, elem_id="c-choice")
            refresh = gr.Button(L("ckpt.refresh"), size="sm", scale=0, min_width=120)
        with gr.Row():
            load = gr.Button(L("ckpt.load"), elem_id="c-load")
            load_resume = gr.Button(L("ckpt.load_resume"), elem_id="c-resume")
            delete = gr.Button(L("ckpt.delete"), variant="stop", elem_id="c-delete")
            stop = gr.Button(L("ckpt.stop"), elem_id="c-stop")
        with gr.Row(visible=False, elem_id="c-confirm") as confirm:
            question = gr.Markdown()
            yes = gr.Button(L("ckpt.yes"), variant="stop", elem_id="c-yes")
            no = gr.Button(L("ckpt.no"), elem_id="c-no")
        notice = gr.Markdown(elem_id="c-notice")  # here, below the buttons, where the eyes are
        relay = gr.Dataframe(headers=HEADERS, visible=False)  # /save's and /delete_checkpoint's list (refusals.py)
        gr.Markdown(L("ckpt.current"))
        with gr.Row():
            save = gr.Button(L("ckpt.save"))
            download = gr.Button(L("ckpt.download"))
            gif = gr.Button(L("ckpt.gif"))
        with gr.Row():
            file = gr.File(label=L("ckpt.file"), interactive=False, elem_id="c-file")
            gif_file = gr.File(label=L("ckpt.gif_file"), interactive=False, elem_id="c-gif-file")
            gif_view = gr.Image(label=L("ckpt.gif_view"), interactive=False, type="filepath", elem_id="c-gif")
        mb = settings.get("GAN_MAX_UPLOAD_MB")
        upload = gr.File(label=L("ckpt.upload", mb=f"{mb:.0f}"), file_types=[".pt"],
                         type="filepath")

        def listed(event: Any) -> None:  # the list and the picker, fresh after `event` (the picker keeps its pick)
            event.then(f.table, None, table, api_visibility="private", **FAST).then(
                f.choices, choice, choice, api_visibility="private", **FAST)

        def noted(event: Any) -> Any:  # a refusal in the notice, not as an error badge (demo/tabs/refusals.py)
            event.failure(notes.show, None, notice, api_visibility="private", **FAST)
            return event

        gr.on([tab.select, refresh.click], f.table, None, table, api_visibility="private", **FAST).then(
            f.choices, choice, choice, api_visibility="private", **FAST)
        table.select(f.pick, None, choice, api_visibility="private", **FAST)
        listed(noted(save.click(notes.noted(f.save_now), None, [notice, relay], api_name="save")))
        download.click(f.download_current, None, file, api_name="download_checkpoint")
        gif.click(f.timelapse, None, gif_file, api_name="timelapse").success(
            lambda path: path, gif_file, gif_view, api_visibility="private")
        listed(noted(load.click(notes.noted(f.load), choice, notice, api_name="load")))
        listed(noted(load_resume.click(notes.noted(f.load_resume), choice, notice, api_name="load_resume")))
        listed(noted(stop.click(notes.noted(page.train.stop), None, notice, api_visibility="private")))
        delete.click(f.ask_delete, choice, [confirm, question], api_visibility="private", **FAST)
        no.click(lambda: gr.Row(visible=False), None, confirm, api_visibility="private", **FAST)
        yes.click(lambda: gr.Row(visible=False), None, confirm, api_visibility="private", **FAST)
        listed(noted(yes.click(notes.noted(f.delete), choice, [notice, relay], api_name="delete_checkpoint")))
        listed(noted(upload.upload(notes.noted(f.upload), upload, notice, api_name="upload")))
        hub.build(page)  # export, load an export or a Hub repo id, share to the Hub
        with gr.Row(visible=False):  # API-only endpoints: /checkpoints, /download
            listing = gr.Button("checkpoints")
            names = gr.JSON()
            name = gr.Textbox()
            named_file = gr.File()
        listing.click(f.names, None, names, api_name="checkpoints", **FAST)
        listing.click(f.download, name, named_file, api_name="download")


__all__ = ["Files", "build"]
