"""The Train tab: the run's settings and buttons, your own datasets (zip uploads), the live grid, charts and
quality, Sample and /status; built, wired and handled here (`page.train`, Sample by `page.explore`)."""
from __future__ import annotations

import math
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import gradio as gr

from gan import settings
from gan.config import TrainConfig
from gan.data.folder import IMAGE_EXTS, load_zip
from gan.data.spec import dataset_names, dataset_spec
from gan.errors import ConfigError, DatasetError
from gan.family import train_defaults
from gan.registry import LOSSES, MODELS
from gan.train.budget import check_train_config, estimate_step_seconds, model_bytes, planned_model

from .. import form, present, words
from ..lend import streaming
from ..runs import zerogpu
from ..runs.storage import QuotaExceeded
from ..speak import L, advice
from . import FAST, PLOT, train_dataset
from .refusals import notes

PROBE_MAX_BYTES = 64 * 2**20  # larger models are not timed before a run (building them costs seconds): said slow


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
              width: Any = None, r1: Any = None, r2: Any = None, pac: Any = None, speed: Any = None,
              request: gr.Request = None) -> str:
        """Start a new run with these settings (blank numbers take the dataset's defaults; `speed`: at most that many
        steps a second, or 'full'). Refusals speak the form's words; the notice says what blank boxes became, and
        warns before a run whose steps would crawl."""
        try:
            owner = self.page.visitor(request)
            shown = str(dataset or "").strip()
            dataset = self.storage.resolve(dataset, owner)
            pace = form.parse_speed(speed)
            cfg = present.make_config(dataset, model, loss, batch_size, lr, seed, z_dim, width, r1, r2, pac)
            notes = form.check_files(cfg.dataset, settings.get("GAN_DATA_DIR") or None)  # before any thread
            notes = self._crawl(cfg) + notes
            run = self.manager.start(owner, cfg)
        except self.page.REFUSALS as e:
            raise self.page.refuse(form.form_words(e)) from None
        run.pace = pace
        try:
            blanks = form.blanks_note(dict(batch_size=batch_size, lr=lr, z_dim=z_dim, width=width),
                                      present.control_defaults(shown, model))
        except (ConfigError, DatasetError):
            blanks = ""
        slow = words.t("n.slow", pace=f"{pace:g}") if pace else ""
        # started, or queued with its place and wait
        return f"{present.queued_notice(run.id, run.status())}{blanks}{slow}{notes}"

    @staticmethod
    def _crawl(cfg: TrainConfig) -> str:
        """A notice when one step of `cfg` would take long (a batch or width far above the dataset's defaults),
        from a quick timed pass of its nets; '' otherwise, or when it cannot be told before the data loads."""
        try:
            planned = planned_model(cfg)
            if planned is None:
                return ""
            mc, resolved = planned
            d = train_defaults(dataset_spec(cfg.dataset, image_size=cfg.image_size), resolved.model)
            if resolved.batch_size <= 4 * d["batch_size"] and resolved.width <= 2 * d["width"]:
                return ""  # the measured defaults, or near them: never a crawl
            check_train_config(cfg)  # a step too large for memory is refused first (and never timed)
            if model_bytes(mc) > PROBE_MAX_BYTES:
                return form.crawl_note(math.inf, resolved.batch_size, d["batch_size"])
            return form.crawl_note(estimate_step_seconds(mc, resolved.batch_size), resolved.batch_size,
                                   d["batch_size"])
        except ConfigError:
            raise
        except Exception:  # noqa: BLE001 - a notice must never keep a run from starting
            return ""

    def stop(self, request: gr.Request = None) -> str:
        """Stop your run after the current step (it saves a checkpoint)."""
        try:
            run = self.manager.stop(self.page.visitor(request))
        except self.page.REFUSALS as e:
            raise self.page.refuse(e) from None
        st = run.status()
        return words.t("n.stopped", step=st["step"], ckpt=st.get("checkpoint") or words.t("n.none"))

    def resume(self, request: gr.Request = None, *, cpu: bool = False) -> str:
        """Continue your stopped (or loaded) run exactly where it left off."""
        try:
            run = self.manager.resume(self.page.visitor(request), cpu=cpu)
        except self.page.REFUSALS as e:
            raise self.page.refuse(e) from None
        where = words.t("n.on_cpu") if cpu else ""
        if run.state == "queued":
            return present.queued_notice(run.id, run.status())
        return words.t("n.resumed", run=run.id, step=f"{run.status()['step']:,}", where=where)

    def resume_cpu(self, request: gr.Request = None) -> str:
        """Continue your run on the CPU (after a ZeroGPU refusal): slower, spends no GPU quota."""
        return self.resume(request, cpu=True)

    def reset(self, request: gr.Request = None) -> str:
        """Stop and forget your run (its checkpoint stays in the Checkpoints tab)."""
        self.manager.reset(self.page.visitor(request))
        return words.t("n.reset")

    def status(self, request: gr.Request = None) -> dict[str, Any]:
        """The watched run's live status: state, step, epoch, losses, images/s, elapsed, error."""
        owner = self.page.visitor(request)  # asking is not watching: only a page's live stream keeps a run alive
        run = self.manager.watched(owner)
        base = {"active_runs": len(self.manager.active_runs()), "max_runs": self.manager.max_runs,
                **self.manager.sharing(run)}  # runs sharing the CPU, your part, the queue, your GPU time
        left = self.manager.training_left(owner)
        if left != float("inf"):
            base["training_left_s"] = max(0.0, round(left, 1))  # of this visitor's daily training time
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
            model = form.fitting_model(dataset, model)  # a model the dataset's kind cannot train: auto's numbers
            if str(dataset).startswith("upload:"):
                owner = self.page.visitor(request)
                cfg = TrainConfig(dataset=self.storage.resolve(dataset, owner))
                data = self.manager.dataset(self.storage.safe_config(cfg, owner))
            d = present.control_defaults(dataset, model, data=data)
        except (ConfigError, DatasetError, OSError):
            return [gr.skip()] * len(present.NUMBERS)
        return [d[k] for k in present.NUMBERS]

    @staticmethod
    def model_choice(dataset: str, model: str) -> Any:
        """The Model box follows the dataset: a model that cannot train the dataset's kind of data (stylegan on a
        pair of domains) goes back to auto."""
        return gr.skip() if form.fitting_model(dataset, model) is not None else form.AUTO

    @staticmethod
    def loss_help(loss: str) -> str:
        return words.advice("help", loss if isinstance(loss, str) else None)

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
        note = (words.t("n.unpacked", n=info["images"], name=name)
                + (words.t("n.skipped", n=info["skipped"]) if info.get("skipped") else "")
                + (words.t("n.refused_big", names=", ".join(refused[:5])) if refused else "")
                + words.t("n.press_train"))
        return name, note

    def upload_pair(self, file_a: str | None, file_b: str | None, request: gr.Request = None) -> tuple[Any, str]:
        """Two zips, domain A and domain B, each checked and unpacked as upload_zip's, selected as a CycleGAN pair
        dataset (pair:upload:...,upload:...); until both are there, a notice asks for the other."""
        if not file_a and not file_b:
            return gr.skip(), gr.skip()
        if not file_a or not file_b:
            have, need = ("A", "B") if file_a else ("B", "A")
            return gr.skip(), words.t("n.domain_in", have=have, need=need)
        folders: list[Path] = []
        try:
            for tag, file in (("A", file_a), ("B", file_b)):
                dest, data = self._unpack(file, request, what=words.t("n.domain_prefix", tag=tag))
                folders.append(dest)
                if data.x.shape[0] < 2:
                    raise gr.Error(words.t("n.domain_few", tag=tag, n=data.x.shape[0]), duration=10)
        except gr.Error:
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        name = self.storage.display_dataset(f"pair:{folders[0]},{folders[1]}")
        return name, words.t("n.pair_done", name=name)


def build(page: Any, c: dict[str, Any], defaults: dict[str, Any]) -> None:
    """The tab, with its events: /train, /stop, /resume, /resume_cpu, /reset, /status, /sample, /upload_zip and
    /upload_pair. `defaults` overrides the controls' initial values; `c` gets the outputs of the live stream."""
    t = page.train
    dataset_name = defaults.get("dataset", "digits")
    d = {**present.control_defaults(dataset_name), **defaults}
    with gr.Tab(L("tab.train"), id="train"):
        with gr.Row():
            dataset = gr.Dropdown(dataset_names(), value=dataset_name, label=L("train.dataset"),
                                  allow_custom_value=True, elem_id="dataset", info=L("train.dataset.info"))
            model = gr.Dropdown(["auto"] + MODELS.names(), value="auto", label=L("train.model"), elem_id="model",
                                info=L("train.model.info", models=_models_info()))
            loss = gr.Dropdown(LOSSES.names(), value=d["loss"], label=L("train.loss"), elem_id="loss",
                               info=L("train.loss.info"))
            speed = gr.Dropdown([(L(f"speed.{v}"), v) for _, v in form.SPEEDS], value="full", label=L("train.speed"),
                                elem_id="speed", allow_custom_value=True, info=L("train.speed.info"))
        with gr.Row(elem_id="train-numbers"):
            batch_size = gr.Number(d["batch_size"], label=L("train.batch_size"), step=1, elem_id="batch-size")
            lr = gr.Number(d["lr"], label=L("train.lr"), step=0.0001, elem_id="lr")
            seed = gr.Number(0, label=L("train.seed"), step=1)
            z_dim = gr.Number(d["z_dim"], label=L("train.z_dim"), step=1)
            width = gr.Number(d["width"], label=L("train.width"), step=1, info=L("train.width.info"),
                              elem_id="width")
        with gr.Accordion(L("train.penalties"), open=False):
            with gr.Row():
                r1 = gr.Number(d["r1"], label=L("train.r1"), elem_id="r1", step=0.1,
                               info=L("train.r1.info"))
                r2 = gr.Number(d["r2"], label=L("train.r2"), elem_id="r2", step=0.1,
                               info=L("train.r2.info"))
                pac = gr.Number(d["pac"], label=L("train.pac"), step=1, elem_id="pac",
                                info=L("train.pac.info"))
        # the numbers follow both dropdowns (present.NUMBERS); the penalties are shown filled, since Gradio shows a
        # blank Number as 0 once its accordion opens (a blank R1 became 0 and a blank packing a refused 0)
        gr.on([dataset.change, model.change], t.defaults, [dataset, model],
              [loss, batch_size, lr, z_dim, width, r1, r2, pac], api_visibility="private", **FAST)
        dataset.change(t.model_choice, [dataset, model], model, api_visibility="private", **FAST)
        with gr.Row(elem_id="train-buttons"):
            train = gr.Button(L("train.train"), variant="primary", elem_id="train-btn")
            stop = gr.Button(L("train.stop"), variant="stop", elem_id="stop-btn")
            resume = gr.Button(L("train.resume"), elem_id="resume-btn")
            reset = gr.Button(L("train.reset"), elem_id="reset-btn")
            resume_cpu = gr.Button(L("train.resume_cpu"), elem_id="resume-cpu-btn", visible=zerogpu.enabled())
        notice = gr.Markdown(elem_id="notice")
        # a refusal's words go to the notice (demo/tabs/refusals.py), not an error badge over it or the Dataset;
        # on ZeroGPU, Train and Resume stay open while the run trains, carrying its GPU chunks (demo/lend.py)
        lent = (lambda fn: streaming(fn, page)) if page.manager.lenders is not None else (lambda fn: fn)
        train.click(notes.noted(lent(t.train)), [dataset, model, loss, batch_size, lr, seed, z_dim, width, r1, r2,
                                                 pac, speed], notice, api_name="train", concurrency_limit=None
                    ).failure(notes.show, None, notice, api_visibility="private", **FAST)
        for button, fn, name in ((resume, lent(t.resume), "resume"), (resume_cpu, t.resume_cpu, "resume_cpu"),
                                 (stop, t.stop, "stop"), (reset, t.reset, "reset")):
            button.click(notes.noted(fn), None, notice, api_name=name, concurrency_limit=None).failure(
                notes.show, None, notice, api_visibility="private", **FAST)

        picked = gr.Textbox(visible=False)  # the uploaded dataset's name, copied to the Dataset dropdown on success
        with gr.Accordion(L("train.upload"), open=False, elem_id="upload-zip"):
            mb = settings.get("GAN_MAX_UPLOAD_MB")
            zip_upload = gr.File(label=L("train.upload.file", mb=f"{mb:.0f}"), file_types=[".zip"], type="filepath",
                                 elem_id="zip-upload")
        up = zip_upload.upload(notes.noted(t.upload_zip), zip_upload, [picked, notice], api_name="upload_zip")
        with gr.Accordion(L("train.pair"), open=False,
                          elem_id="upload-pair"):
            with gr.Row():
                zips = [gr.File(label=L("train.pair.file", tag=tag, mb=f"{mb:.0f}"), file_types=[".zip"],
                                type="filepath", elem_id=f"zip-{tag.lower()}") for tag in ("A", "B")]
        pair = gr.on([z.upload for z in zips], notes.noted(t.upload_pair), zips, [picked, notice],
                     api_name="upload_pair")
        for event in (up, pair):
            event.success(_picked, picked, [dataset, picked], api_visibility="private", **FAST)
            event.failure(notes.show, None, notice, api_visibility="private", **FAST)

        _live_outputs(c, d["loss"])
        with gr.Accordion(L("train.loss_help"), open=False, elem_id="loss-help"):
            q_help = gr.Markdown(advice("help", d["loss"]))
        loss.change(t.loss_help, loss, q_help, api_visibility="private", **FAST)
        _replay(page.theory)
        _sample(page.explore, c)
        train_dataset.build(page)
        with gr.Accordion(L("train.status_json"), open=False):
            status_refresh = gr.Button(L("train.refresh"), size="sm")
            status_json = gr.JSON(label=L("train.status"))
        status_refresh.click(t.status, None, status_json, api_name="status", **FAST)


def _models_info() -> dict[str, str]:
    """'toy for points, mlp for points or image, ...' in each language, for the Model box's info."""
    return {lang: words.t("train.model.sep", lang).join(
        words.t("train.model.for", lang, name=k, kinds=words.t("train.model.or", lang).join(
            words.t(f"kind.{kind}", lang) for kind in v.kinds)) for k, v in MODELS.items()) for lang in words.LANGS}


def _picked(name: str | None) -> tuple[Any, str]:
    """An upload's dataset name into the Dataset dropdown (once: the relay is emptied)."""
    return (name or gr.skip()), ""


def _live_outputs(c: dict[str, Any], loss: str) -> None:
    """The run's status line, fixed-noise grid, charts and quality: the page's live stream fills them (by key in
    `c`, demo/live.py TRAIN_OUTPUTS)."""
    c["status_line"] = gr.Markdown(L("train.status_idle"), elem_id="status-line")
    with gr.Row(elem_id="grid-row"):
        c["grid"] = gr.Image(label=L("train.grid"), elem_id="grid", height=420,
                             interactive=False, type="filepath")
        with gr.Column():
            c["loss_plot"] = gr.LinePlot(None, **PLOT, title=L("train.losses"), height=200, elem_id="loss-plot",
                                         y_title="loss")
            c["d_plot"] = gr.LinePlot(None, **PLOT, title=L("train.d_outputs"), height=200,
                                      elem_id="d-plot", y_title="mean D")
    c["charts_cap"] = gr.Markdown(advice("caption", loss), elem_id="charts-caption")  # follows the watched run's loss
    c["q_warning"] = gr.Markdown(visible=False, elem_id="collapse-warning")
    c["q_summary"] = gr.Markdown(elem_id="quality-summary")
    with gr.Row():
        c["q_cov"] = gr.LinePlot(None, **PLOT, y_lim=[0, 105], height=220, title=L("train.coverage"),
                                 y_title="%", elem_id="quality-plot")
        c["q_dist"] = gr.LinePlot(None, **PLOT, height=220, title=L("train.distance"),
                                  y_title="distance", elem_id="distance-plot")
    gr.Markdown(L("train.collapse"))


def _replay(r: Any) -> None:
    """The run replayed: its kept time-lapse frames of the fixed-noise grid, scrubbed with a slider: /replay
    (handled by `page.theory`, demo/tabs/theory.py, with the Theory tab's own replay)."""
    with gr.Accordion(L("train.replay"), open=False, elem_id="replay"):
        where = gr.Slider(0, 100, 100, step=1, label=L("train.replay.where"), elem_id="replay-pos")
        with gr.Row():
            image = gr.Image(label=L("train.replay.grid"), interactive=False, height=360, elem_id="replay-grid")
            caption = gr.Markdown(elem_id="replay-caption")
    where.change(r.grid, where, [image, caption], api_name="replay", trigger_mode="always_last", **FAST)


def _sample(x: Any, c: dict[str, Any]) -> None:
    """Fresh samples from the latest generator, as an image and a PNG file: /sample (handled by `page.explore`);
    `c` gets both, which the live stream clears when the run changes."""
    with gr.Row():
        with gr.Column():
            with gr.Row():
                n = gr.Slider(1, 100, 36, step=1, label=L("train.how_many"))
                seed = gr.Number(0, label=L("train.sample_seed"), precision=0)
            button = gr.Button(L("train.sample"), elem_id="sample-btn")
            file = c["sample_file"] = gr.File(label=L("train.samples_png"), interactive=False, height=80,
                                              elem_id="sample-file")
        image = c["sample_image"] = gr.Image(label=L("train.fresh"), height=300, interactive=False,
                                             elem_id="sample-image")
    button.click(x.sample, [n, seed], [image, file], api_name="sample", concurrency_limit=None)


__all__ = ["Train", "build"]
