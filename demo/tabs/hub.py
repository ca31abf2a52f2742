"""The Checkpoints tab's Hugging Face Hub panel: export a run in the Hub's format, load an export or a Hub repo
to explore, share to the Hub; built, wired and handled here (`HubPanel`; gan/hub.py does the work)."""
from __future__ import annotations

import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import gradio as gr
from safetensors import SafetensorError

from gan import hub, settings
from gan.errors import CheckpointError, ConfigError

from .. import present, words
from ..speak import L

EXPORT_NOTE = words.t("err.export_note", "en")  # a loaded export's run note (Checkpoints reads "explore only")
NEEDED = ("config.json", "model.safetensors")
EXPORT_EVERY_S = 30.0  # a visitor's exports and time-lapses: each returned file is a copy Gradio keeps for hours
CONFIG_MAX_BYTES = 1 << 20  # an export's config.json is a few KB: a larger one is refused unread
REPO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")


def share_enabled() -> bool:
    """True when the server has a Hugging Face token (HF_TOKEN): the Share to Hub button shows."""
    return bool(settings.get("HF_TOKEN").strip())


def build(page: Any) -> None:
    """The panel, in the Checkpoints tab, with its events: /export_hub, /load_export, /load_export_zip, /share_hub."""
    h = HubPanel(page)
    gr.Markdown(L("hub.intro"))
    with gr.Row():
        export = gr.Button(L("hub.export"), elem_id="hub-export")
        source = gr.Textbox(label=L("hub.source"), placeholder=L("hub.source.placeholder"),
                            elem_id="hub-source")
        load = gr.Button(L("hub.load"), elem_id="hub-load")
    upload = gr.File(label=L("hub.upload"), file_types=[".zip"], type="filepath", elem_id="hub-upload")
    with gr.Row(visible=share_enabled(), elem_id="hub-share-row"):
        repo = gr.Textbox(label=L("hub.repo"), placeholder="my-gan", elem_id="hub-repo")
        share = gr.Button(L("hub.share"), variant="primary", elem_id="hub-share")
    notice = gr.Markdown(elem_id="hub-notice")
    file = gr.File(label=L("hub.file"), interactive=False)
    export.click(h.export, None, [file, notice], api_name="export_hub")
    load.click(h.load, source, notice, api_name="load_export")
    upload.upload(h.load_zip, upload, notice, api_name="load_export_zip")
    share.click(h.share, repo, notice, api_name="share_hub")


class HubPanel:
    """The panel's handlers for one page (its manager, storage and visitor identity):

    - **Export (Hub format)**: the visitor's run as model.safetensors + config.json + a model card, zipped to
      download; the zip also stays among their exports (by name) to load back.
    - **Load export**: an uploaded export zip, the name of one of their export zips, or a Hub repo id
      (USER/NAME), loaded to explore. An export has no discriminator or optimizer state, so it cannot resume
      training; the notice says so, and Resume refuses with the same words.
    - **Share to Hub**: shown only when the server has HF_TOKEN; pushes the visitor's current checkpoint into
      GAN_HUB_NAMESPACE (default: the token's user) under a name they choose.

    Zips are read by member name only (config.json and model.safetensors, each size-capped), never extracted as
    given, and loading is safetensors plus JSON: nothing is unpickled."""

    def __init__(self, page: Any) -> None:
        self.page, self.manager, self.storage = page, page.manager, page.storage

    def _refuse(self, e: Any) -> gr.Error:
        return gr.Error(self.storage.public(str(e)), duration=10)

    def export(self, request: gr.Request = None) -> tuple[str, str]:
        """Your run's checkpoint, saved now and exported in the Hub's conventions, as a zip to download."""
        visitor = self.page.visitor(request)
        try:
            run = self.page.files._own_run(request)
            recent = self.page.files.recent(visitor, "*-export.zip", within=EXPORT_EVERY_S)
            if recent is not None and run.checkpoint is not None and recent.stem.startswith(run.checkpoint.stem):
                return str(recent), words.t("n.hub_recent", s=f"{time.time() - recent.stat().st_mtime:.0f}",
                                            name=recent.name, every=f"{EXPORT_EVERY_S:.0f}")
            ckpt = run.save()
            name = f"{ckpt.stem}-export"
            with tempfile.TemporaryDirectory(prefix="gan-export-") as tmp:
                folder = hub.export(ckpt, Path(tmp) / name, where=name)
                dest = self.page.files.export_path(visitor, f"{name}.zip")
                with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
                    for p in sorted(folder.iterdir()):
                        z.write(p, f"{name}/{p.name}")
        except (CheckpointError, ConfigError, OSError, TimeoutError, RuntimeError, ValueError) as e:
            raise self._refuse(words.t("n.hub_could_not_export", e=e)) from None
        return str(dest), words.t("n.hub_exported", name=dest.name)

    def load(self, source: str | None, request: gr.Request = None) -> str:
        """Load one of your export zips (by name) or a Hub repo id (USER/NAME), to explore."""
        source = (source or "").strip()
        if source.lower().endswith(".zip"):
            folder = self.storage.export_dir(self.page.visitor(request))
            if "/" in source or "\\" in source or not (folder / source).is_file():
                raise gr.Error(words.t("n.hub_no_export", name=repr(source[:80])))
            return self._load_zip(str(folder / source), source, request)
        if not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", source):
            raise gr.Error(words.t("n.hub_give_id"))
        try:  # the Hub only, never a folder of this server's that has that name; sizes checked before download
            model = hub.load_from_hub(source, max_bytes=int(settings.get("GAN_MAX_UPLOAD_MB") * 2**20),
                                      config_max_bytes=CONFIG_MAX_BYTES)
        except (CheckpointError, ConfigError) as e:
            raise self._refuse(e) from None
        return self._publish(model, source, request)

    def load_zip(self, file: str | None, request: gr.Request = None) -> str:
        """Load an uploaded export zip (config.json + model.safetensors), to explore."""
        try:
            path = present.check_upload(file, int(settings.get("GAN_MAX_UPLOAD_MB") * 2**20))
        except (ValueError, OSError) as e:
            raise self._refuse(e) from None
        return self._load_zip(path, Path(path).name, request)

    def _load_zip(self, path: str, label: str, request: gr.Request | None) -> str:
        with tempfile.TemporaryDirectory(prefix="gan-import-") as tmp:
            try:
                _unpack_export(path, Path(tmp))
                model = hub.load_pretrained(tmp)
            except (CheckpointError, ConfigError, ValueError, OSError, zipfile.BadZipFile, SafetensorError) as e:
                raise self._refuse(words.t("n.hub_not_loaded", label=label, e=e)) from None
        return self._publish(model, label, request)

    def _publish(self, model: hub.ExportedGAN, label: str, request: gr.Request | None) -> str:
        try:
            run = self.manager.load_static(self.page.visitor(request), hub.sampler_state(model), note=EXPORT_NOTE)
        except (ValueError, OSError, RuntimeError, CheckpointError) as e:
            raise self._refuse(e) from None
        return words.t("n.hub_loaded", label=label, model=model.model_config.model, step=f"{model.step:,}",
                       run=run.id, note=words.t("err.export_note_cap"))

    def share(self, name: str | None, request: gr.Request = None) -> str:
        """Push your run's checkpoint to the Hub as a model repo (only when the server has HF_TOKEN)."""
        token = settings.get("HF_TOKEN").strip()
        if not token:
            raise gr.Error(words.t("n.hub_share_off"))
        name = (name or "").strip()
        if not REPO_NAME.fullmatch(name):
            raise gr.Error(words.t("n.hub_give_name"))
        try:
            namespace = settings.get("GAN_HUB_NAMESPACE").strip() or _token_user(token)
            ckpt = self.page.files._own_run(request).save()
            url = hub.push(ckpt, f"{namespace}/{name}", token=token)
        except (CheckpointError, ConfigError, OSError, TimeoutError, RuntimeError, ValueError) as e:
            raise self._refuse(words.t("n.hub_could_not_share", e=e)) from None
        return words.t("n.hub_shared", repo=f"{namespace}/{name}", url=url)


def _token_user(token: str) -> str:
    """The Hub user a token belongs to, or CheckpointError in one line (offline, a refused token)."""
    from huggingface_hub import HfApi

    try:
        return str(HfApi(token=token).whoami()["name"])
    except Exception as e:  # noqa: BLE001 - offline, refused token: one line for the page
        raise CheckpointError(f"cannot reach the Hugging Face Hub to check the server's token "
                              f"({type(e).__name__}); set GAN_HUB_NAMESPACE or try again later") from None


def _unpack_export(path: str, dest: Path) -> None:
    """Copy an export zip's config.json (at most 1 MiB) and model.safetensors (at most GAN_MAX_UPLOAD_MB), found
    by name anywhere in it, into `dest`; nothing else is written, and a member over its cap is never read."""
    caps = {"config.json": CONFIG_MAX_BYTES, "model.safetensors": int(settings.get("GAN_MAX_UPLOAD_MB") * 2**20)}
    with zipfile.ZipFile(path) as z:
        found = {Path(m.filename).name: m for m in z.infolist() if not m.is_dir()}
        for want in NEEDED:
            m = found.get(want)
            if m is None:
                raise ValueError(f"not an export: the zip needs {' and '.join(NEEDED)} (it lacks {want})")
            cap = caps[want]
            if m.file_size > cap:
                raise ValueError(f"{want} is larger than {_size(cap)}")
            with z.open(m) as src, open(dest / want, "wb") as out:
                shutil.copyfileobj(src, out)
                if out.tell() > cap:
                    raise ValueError(f"{want} is larger than {_size(cap)}")


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


__all__ = ["EXPORT_NOTE", "HubPanel", "build", "share_enabled"]
