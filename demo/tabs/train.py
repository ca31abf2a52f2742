"""The Train tab: the run's settings and buttons, your own datasets (zip uploads), the live grid, charts and
quality, Sample and /status; built, wired and handled here (`page.train`, Sample by `page.explore`)."""
from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import gradio as gr

from gan import settings
from gan.config import TrainConfig
from gan.data.folder import IMAGE_EXTS, load_zip
from gan.data.spec import dataset_names
from gan.errors import ConfigError, DatasetError
from gan.metrics.advice import loss_help
from gan.registry import LOSSES, MODELS

from .. import present
from ..lend import streaming
from ..runs import zerogpu
from ..runs.storage import QuotaExceeded
from . import FAST, PLOT


def _unpacked_size(path: str) -> int:
    """The bytes of images a zip declares (what unpacking writes); 0 if it is not a readable zip (load_zip then
    says why). A zip cannot unpack to more than it declares: extraction stops at the declared sizes."""
    try:
        with zipfile.ZipFile(path) as z:
            return sum(m.file_size for m in z.infolist()
                       if not m.is_dir() and os.path.splitext(m.filename)[1].lower() in IMAGE_EXTS)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return 0


class Train:
    """The Train tab's handlers for one page: the visitor's run (start, stop, resume, reset, status), the form's
    defaults and help, and dataset uploads. Refusals raise gr.Error (a toast; an error in gradio_client)."""

    def __init__(self, page: Any) -> None:
        self.page, self.manager, self.storage = page, page.manager, page.storage

    # ---- the run -----------------------------------------------------------------------------------------
    def train(self, dataset: str, model: str, loss: str, batch_size: Any, lr: Any, seed: Any, z_dim: Any = None,
              width: Any = None, r1: Any = None, r2: Any = None, pac: Any = None, request: gr.Request = None) -> str:
        """Start a new run with these settings (blank numbers take the dataset's defaults)."""
        try:
            owner = self.page.visitor(request)
            dataset = self.storage.resolve(dataset, owner)
            cfg = present.make_config(dataset, model, loss, batch_size, lr, seed, z_dim, width, r1, r2, pac)
            run = self.manager.start(owner, cfg)
        except self.page.REFUSALS as e:
            raise self.page.refuse(e) from None
        return present.queued_notice(run.id, run.status())  # started, or queued with its place and wait

    def stop(self, request: gr.Request = None) -> str:
        """Stop your run after the current step (it saves a checkpoint)."""
        try:
            run = self.manager.stop(self.page.visitor(request))
        except self.page.REFUSALS as e:
            raise self.page.refuse(e) from None
        st = run.status()
        return f"Stopped at step {st['step']}; checkpoint: `{st.get('checkpoint') or 'none'}`."

    def resume(self, request: gr.Request = None, *, cpu: bool = False) -> str:
        """Continue your stopped (or loaded) run exactly where it left off."""
        try:
            run = self.manager.resume(self.page.visitor(request), cpu=cpu)
        except self.page.REFUSALS as e:
            raise self.page.refuse(e) from None
        where = " on the CPU (slower; no GPU quota used)" if cpu else ""
        if run.state == "queued":
            return present.queued_notice(run.id, run.status())
        return f"Resumed `{run.id}` at step {run.status()['step']:,}{where}."

    def resume_cpu(self, request: gr.Request = None) -> str:
        """Continue your run on the CPU (after a ZeroGPU refusal): slower, spends no GPU quota."""
        return self.resume(request, cpu=True)

    def reset(self, request: gr.Request = None) -> str:
        """Stop and forget your run (its checkpoint stays in the Checkpoints tab)."""
        self.manager.reset(self.page.visitor(request))
        return "Reset: your run was stopped and cleared (its checkpoint stays in the Checkpoints tab)."

    def status(self, request: gr.Request = None) -> dict[str, Any]:
        """The watched run's live status: state, step, epoch, losses, images/s, elapsed, error."""
        owner = self.page.visitor(request)
        self.manager.seen(owner)
        run = self.manager.watched(owner)
        base = {"active_runs": len(self.manager.active_runs()), "max_runs": self.manager.max_runs,
                **self.manager.sharing(run)}  # runs sharing the CPU, your part, the queue, your GPU time
        if run is None:
            return {"state": "idle", "step": 0, "epoch": 0, "d_loss": None, "g_loss": None, "error": None,
                    "yours": False, **base}
        st = run.status()
        st.update(yours=run.owner == owner, **base)
        for k in ("error", "warning"):
            if st.get(k):
                st[k] = self.storage.public(st[k])
        return st

    # ---- the form ----------------------------------------------------------------------------------------
    def defaults(self, dataset: str, model: str, request: gr.Request = None) -> list[Any]:
        """The Train tab's numbers for a dataset and model (they follow both dropdowns). An upload of yours is
        loaded (into the cache its run will read) for the defaults that depend on its images."""
        try:
            data = None
            if str(dataset).startswith("upload:"):
                owner = self.page.visitor(request)
                cfg = TrainConfig(dataset=self.storage.resolve(dataset, owner))
                data = self.manager.dataset(self.storage.safe_config(cfg, owner))
            d = present.control_defaults(dataset, model, data=data)
        except (ConfigError, DatasetError, OSError):
            return [gr.skip()] * len(present.NUMBERS)
        return [d[k] for k in present.NUMBERS]

    @staticmethod
    def loss_help(loss: str) -> str:
        return loss_help(loss if isinstance(loss, str) else None)

    # ---- your own datasets -------------------------------------------------------------------------------
    def _unpack(self, file: str | None, request: gr.Request | None, *, what: str = "") -> tuple[Path, Any]:
        """Check an uploaded zip (size cap, quota) and unpack its images safely into a fresh upload folder of the
        visitor; returns (folder, its dataset) or raises gr.Error (prefixed with `what`)."""
        try:
            path = present.check_upload(file, int(settings.get("GAN_MAX_UPLOAD_MB") * 2**20))
            need = max(os.path.getsize(path), _unpacked_size(path))  # quotas count what the zip unpacks to
            dest = self.storage.new_upload(self.page.visitor(request), need, name=Path(path).name)
        except (ValueError, OSError, QuotaExceeded) as e:
            raise self.page.refuse(f"{what}{e}") from None
        try:
            return dest, load_zip(path, str(dest), image_size=32)
        except (DatasetError, OSError, ValueError) as e:
            shutil.rmtree(dest, ignore_errors=True)
            raise self.page.refuse(f"{what}{e}", duration=10) from None

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


def build(page: Any, c: dict[str, Any], defaults: dict[str, Any]) -> None:
    """The tab, with its events: /train, /stop, /resume, /resume_cpu, /reset, /status, /sample, /upload_zip and
    /upload_pair. `defaults` overrides the controls' initial values; `c` gets the outputs of the live stream."""
    t = page.train
    dataset_name = defaults.get("dataset", "digits")
    d = {**present.control_defaults(dataset_name), **defaults}
    with gr.Tab("Train", id="train"):
        with gr.Row():
            dataset = gr.Dropdown(dataset_names(), value=dataset_name, label="Dataset", allow_custom_value=True,
                                  info="built in, no download; your own images: upload a zip below")
            model = gr.Dropdown(["auto"] + MODELS.names(), value="auto", label="Model",
                                info="auto: the dataset's default; " + ", ".join(
                                    f"{k} for {' or '.join(v.kinds)}" for k, v in MODELS.items()))
            loss = gr.Dropdown(LOSSES.names(), value=d["loss"], label="Loss", elem_id="loss",
                               info="default: the dataset's (hinge for 2-D points, bce otherwise); see "
                                    "'How to read the losses' below")
        with gr.Row():
            batch_size = gr.Number(d["batch_size"], label="Batch size", step=1)
            lr = gr.Number(d["lr"], label="Learning rate")
            seed = gr.Number(0, label="Seed", step=1)
            z_dim = gr.Number(d["z_dim"], label="z dimensions", step=1)
            width = gr.Number(d["width"], label="Width", step=1, info="hidden units / base channels",
                              elem_id="width")
        gr.on([dataset.change, model.change], t.defaults, [dataset, model], [loss, batch_size, lr, z_dim, width],
              api_visibility="private", **FAST)  # the numbers follow both dropdowns (present.NUMBERS)
        with gr.Accordion("Penalties and packing: R1, R2, PacGAN (blank: the dataset's default)", open=False):
            with gr.Row():
                r1 = gr.Number(None, label="R1 γ", elem_id="r1",
                               info="zero-centred penalty on D's gradient at real data")
                r2 = gr.Number(None, label="R2 γ", elem_id="r2",
                               info="the same at generated data (R3GAN: rpgan + R1 + R2)")
                pac = gr.Number(None, label="PacGAN packing", step=1, elem_id="pac",
                                info="D judges packs of N samples (1: off)")
        with gr.Row():
            train = gr.Button("Train", variant="primary", elem_id="train-btn")
            stop = gr.Button("Stop", variant="stop", elem_id="stop-btn")
            resume = gr.Button("Resume", elem_id="resume-btn")
            reset = gr.Button("Reset", elem_id="reset-btn")
            resume_cpu = gr.Button("Continue on CPU", elem_id="resume-cpu-btn", visible=zerogpu.enabled())
        notice = gr.Markdown(elem_id="notice")
        # on ZeroGPU, Train and Resume stay open while the run trains, carrying its GPU chunks (demo/lend.py)
        lent = (lambda fn: streaming(fn, page)) if page.manager.lenders is not None else (lambda fn: fn)
        train.click(lent(t.train), [dataset, model, loss, batch_size, lr, seed, z_dim, width, r1, r2, pac], notice,
                    api_name="train", concurrency_limit=None)
        resume.click(lent(t.resume), None, notice, api_name="resume", concurrency_limit=None)
        resume_cpu.click(t.resume_cpu, None, notice, api_name="resume_cpu", concurrency_limit=None)
        stop.click(t.stop, None, notice, api_name="stop", concurrency_limit=None)
        reset.click(t.reset, None, notice, api_name="reset", concurrency_limit=None)

        with gr.Accordion("Your own images: upload a zip", open=False):
            mb = settings.get("GAN_MAX_UPLOAD_MB")
            zip_upload = gr.File(label=f"Upload a zip of images (PNG/JPEG, at most {mb:.0f} MiB); it becomes the "
                                       f"dataset", file_types=[".zip"], type="filepath", elem_id="zip-upload")
        zip_upload.upload(t.upload_zip, zip_upload, [dataset, notice], api_name="upload_zip")
        with gr.Accordion("Your own pair of domains (CycleGAN): a zip per domain", open=False):
            with gr.Row():
                zips = [gr.File(label=f"Domain {tag}: a zip of images (at most {mb:.0f} MiB)", file_types=[".zip"],
                                type="filepath", elem_id=f"zip-{tag.lower()}") for tag in ("A", "B")]
        gr.on([z.upload for z in zips], t.upload_pair, zips, [dataset, notice], api_name="upload_pair")

        _live_outputs(c)
        with gr.Accordion("How to read the losses", open=False, elem_id="loss-help"):
            q_help = gr.Markdown(loss_help(d["loss"]))
        loss.change(t.loss_help, loss, q_help, api_visibility="private", **FAST)
        _sample(page.explore)
        with gr.Accordion("Status as JSON (the /status endpoint)", open=False):
            status_refresh = gr.Button("Refresh", size="sm")
            status_json = gr.JSON(label="status")
        status_refresh.click(t.status, None, status_json, api_name="status", **FAST)


def _live_outputs(c: dict[str, Any]) -> None:
    """The run's status line, fixed-noise grid, charts and quality: the page's live stream fills them (by key in
    `c`, demo/live.py TRAIN_OUTPUTS)."""
    c["status_line"] = gr.Markdown("**idle**", elem_id="status-line")
    with gr.Row():
        c["grid"] = gr.Image(label="Fixed-noise samples (same z every time)", elem_id="grid", height=420,
                             interactive=False, type="filepath")
        with gr.Column():
            c["loss_plot"] = gr.LinePlot(None, **PLOT, title="Losses", height=200, elem_id="loss-plot",
                                         y_title="loss")
            c["d_plot"] = gr.LinePlot(None, **PLOT, title="Discriminator outputs", height=200,
                                      elem_id="d-plot", y_title="mean D")
    gr.Markdown("*Reading the charts:* a D loss near 0 means D wins easily; D(x) and D(G(z)) near 1/2 means "
                "D can no longer tell real from fake, which is where the game ends.")
    c["q_warning"] = gr.Markdown(visible=False, elem_id="collapse-warning")
    c["q_summary"] = gr.Markdown(elem_id="quality-summary")
    with gr.Row():
        c["q_cov"] = gr.LinePlot(None, **PLOT, y_lim=[0, 105], height=220, title="Coverage and quality",
                                 y_title="%", elem_id="quality-plot")
        c["q_dist"] = gr.LinePlot(None, **PLOT, height=220, title="Distance to the data",
                                  y_title="distance", elem_id="distance-plot")
    gr.Markdown("*Mode collapse* shows here, not in the losses: the generator keeps making good-looking samples "
                "of only a few kinds, so coverage falls while quality stays high. Image sets are scored every few "
                "seconds on 500 samples by a small classifier trained once on the dataset; the 2-D mixtures by the "
                "VEEGAN / PacGAN protocol (2,500 samples).")


def _sample(x: Any) -> None:
    """Fresh samples from the latest generator, as an image and a PNG file: /sample (handled by `page.explore`)."""
    with gr.Row():
        with gr.Column():
            with gr.Row():
                n = gr.Slider(1, 100, 36, step=1, label="How many")
                seed = gr.Number(0, label="Sample seed", precision=0)
            button = gr.Button("Sample", elem_id="sample-btn")
            file = gr.File(label="Samples PNG", interactive=False, height=80)
        image = gr.Image(label="Fresh samples", height=300, interactive=False)
    button.click(x.sample, [n, seed], [image, file], api_name="sample", concurrency_limit=None)


__all__ = ["Train", "build"]
