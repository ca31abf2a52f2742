"""Explore's "Your image": a drawn or uploaded digit, a painted mask, a task; the image restored by searching
G's latent space (gan.restore), after which the tab's sliders, truncation and class start from that latent;
/restore serves gradio_client. Works on the published copy of G, so also while training runs."""
from __future__ import annotations

import threading
from typing import Any

import gradio as gr
import numpy as np
import torch
import torch.nn.functional as F

from gan.cyclegan.nets import match_channels, to_domain
from gan.errors import ConfigError, parse_number
from gan.images import image_grid
from gan.restore.degrade import TASKS, degrade
from gan.restore.invert import restore, space_of

from .. import words
from ..speak import L
from . import FAST
from .explore_pictures import generator

UPSCALE = 8  # 28 px -> 224 px on the page
STEPS = 100  # the app's optimiser steps (bench/bench_restore.py times one image)
FACTOR, SIGMA = 4, 0.5  # the app's superres factor and denoise noise (on the [0, 1] scale)
CAPTION = "restore.caption"  # the caption's key in demo/words/restore.py


def _picture(t: torch.Tensor, size: int) -> np.ndarray:
    """(1, C, h, w) in [-1, 1] -> an (size*UPSCALE)² RGB picture (nearest upscaling of small inputs)."""
    t = F.interpolate(t, size=(size, size), mode="nearest") if t.shape[-1] != size else t
    return image_grid(match_channels(t, 3), nrow=1, pad=0, upscale=UPSCALE)


def _mask_of(editor: Any, size: int) -> torch.Tensor | None:
    """(1, 1, size, size) mask, 1 known, 0 where paint covers (a pixel a third covered), or None with no paint."""
    if not isinstance(editor, dict):
        return None
    paint = [np.asarray(a) for a in [*(editor.get("layers") or []), editor.get("composite")] if a is not None]
    alpha = [a[..., 3] for a in paint if a.ndim == 3 and a.shape[2] == 4]
    if not alpha or max(int(a.max()) for a in alpha) == 0:
        return None
    covered = torch.from_numpy(np.maximum.reduce(alpha) > 0).float()[None, None]  # (1, 1, H, W)
    covered = F.interpolate(covered, size=(size, size), mode="area")
    return (covered < 1 / 3).float()


def _border(x: torch.Tensor) -> float:
    """Mean of the outermost pixels of images (N, C, H, W): the background's level."""
    return float(torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], -1).mean())


class Mine:
    """The "Your image" handlers of one page's Explore: restores, and the projected latent each visitor edits."""

    def __init__(self, explore: Any) -> None:
        self.x = explore
        self._held: dict[str, tuple[str, torch.Tensor, int]] = {}  # visitor -> (run id, latent, class)
        self._lock = threading.Lock()

    def latent(self, run: Any, request: gr.Request | None) -> torch.Tensor | None:
        """The visitor's projected latent for this run (z, or w for StyleGAN), or None."""
        with self._lock:
            held = self._held.get(self.x.page.visitor(request))
        return held[1] if held is not None and held[0] == run.id else None

    def forget(self, request: gr.Request = None) -> None:
        """Back to seeds: the visitor moved the seed."""
        with self._lock:
            self._held.pop(self.x.page.visitor(request), None)

    def _domain(self, sampler: Any, image: Any, *, crop: bool = True) -> torch.Tensor:
        """Any picture as the model's input (1, C, H, W), made to look like G's samples: inverted when its
        background is light and theirs dark (or the other way round); with `crop`, also its ink box centred."""
        g = generator(sampler)
        like = sampler.family.sample(sampler.nets, 64, seed=0)
        x = to_domain(image, tuple(g.cfg.data_shape), like=like if crop else None).clamp(-1, 1)
        return -x if not crop and (_border(x) > 0) != (_border(like) > 0) else x

    def _run(self, image: torch.Tensor, mask: torch.Tensor | None, task: str, steps: int, seed: int,
             request: gr.Request | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(given, restored, projection pictures, class) for a domain image, remembering the latent."""
        run, sampler = self.x._sampler(request)
        try:
            space_of(sampler.nets, family=sampler.family)
            if task not in TASKS:
                raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {str(task)[:40]!r}")
            if task == "inpaint" and mask is None:
                raise ConfigError("paint over the part that is missing first (or pick another task)")
            given = degrade(image, task, mask=mask, factor=FACTOR, sigma=SIGMA, seed=seed)
            r = restore(sampler.nets, given, task=task, mask=mask if task == "inpaint" else None, steps=steps,
                        seed=seed, family=sampler.family)
        except ConfigError as e:
            raise self.x._refuse(e) from None
        label = 0 if r.y is None else int(r.y[0])
        with self._lock:
            self._held[self.x.page.visitor(request)] = (run.id, r.latent[0].detach().clone(), label)
        size = image.shape[-1]
        shown = given if mask is None else given + (mask - 1) * (given + 1)  # missing pixels black
        return _picture(shown, size), _picture(r.images, size), _picture(r.projection, size), label

    def api(self, image: Any, mask: Any = None, task: Any = "project", seed: Any = 0,
            request: gr.Request = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """/restore: an image (any size, grey or colour) and an optional mask picture (white known, black
        missing), degraded by the task then restored: (what was given, the restored image, G's projection)."""
        if image is None:
            raise gr.Error(words.t("restore.no_image"))
        try:
            seed = parse_number("seed", seed, integer=True, lo=0, hi=2**31 - 1, blank=0)
        except ConfigError as e:
            raise self.x._refuse(e) from None
        _, sampler = self.x._sampler(request)
        x = self._domain(sampler, image)
        m = None
        if mask is not None:
            m = (to_domain(mask, (1, *x.shape[-2:])) > 0).float()
        return self._run(x, m, str(task), STEPS, seed, request)[:3]

    def prepare(self, draw: Any, upload: Any, request: gr.Request = None) -> tuple[Any, Any]:
        """A new drawing or upload, as the model sees it: (a tensor list, a picture); not cropped, so that the mask
        painted beside it keeps its place."""
        from .translate import sketch_image

        img = sketch_image(draw) if upload is None else upload
        if img is None:
            return gr.skip(), gr.skip()
        _, sampler = self.x._sampler(request)
        x = self._domain(sampler, img, crop=False)
        return x.numpy().tolist(), _picture(x, x.shape[-1])

    def page_restore(self, held: Any, editor: Any, task: Any, request: gr.Request = None) -> tuple:
        """The page's Restore: pictures, then the class slider at the found class, truncation 1, sliders at 0."""
        if not held:
            raise gr.Error(words.t("restore.draw_first"))
        x = torch.tensor(held, dtype=torch.float32)
        given, restored, proj, label = self._run(x, _mask_of(editor, x.shape[-1]), str(task), STEPS, 0, request)
        return given, restored, proj, label, 1.0


def build(x: Any, c: dict[str, Any]) -> None:
    """The "Your image" section and /restore; `c` holds Explore's seed, random, label, psi, sliders, image and
    the /generate inputs, which a restore sets and redraws from the projected latent."""
    mine = x.mine
    gr.Markdown(L("restore.intro"))
    with gr.Row():
        draw = gr.Sketchpad(label=L("restore.draw"), type="numpy", height=280, elem_id="r-draw",
                            canvas_size=(280, 280), layers=False,
                            brush=gr.Brush(default_size=20, colors=["#000000"], color_mode="fixed"))
        upload = gr.Image(label=L("restore.upload"), type="numpy", sources=["upload"], height=280, elem_id="r-upload")
        editor = gr.ImageEditor(label=L("restore.mask"), type="numpy",
                                height=280, elem_id="r-mask", canvas_size=(280, 280), layers=False,
                                sources=("upload",), transforms=(),
                                brush=gr.Brush(default_size=24, colors=["#ff3030"], color_mode="fixed"))
    with gr.Row():
        task = gr.Radio(list(TASKS), value="inpaint", label=L("restore.task"), elem_id="r-task",
                        info=L("restore.task.info"))
        go = gr.Button(L("restore.go"), variant="primary", elem_id="r-go")
    with gr.Row():
        given = gr.Image(label=L("restore.given"), interactive=False, elem_id="r-given", format="png")
        restored = gr.Image(label=L("restore.restored"), interactive=False, elem_id="r-restored", format="png")
        proj = gr.Image(label=L("restore.projection"), interactive=False, elem_id="r-proj", format="png")
    gr.Markdown(L(CAPTION))
    held = gr.State(None)
    gr.on([draw.change, upload.change], mine.prepare, [draw, upload], [held, given],
          api_visibility="private", trigger_mode="always_last", **FAST)
    go.click(mine.page_restore, [held, editor, task], [given, restored, proj, c["label"], c["psi"]],
             api_visibility="private").then(
        lambda: [0] * len(c["sliders"]), None, c["sliders"], api_visibility="private", **FAST).then(
        x.generate, c["inputs"], c["image"], api_visibility="private", **FAST)
    api_image = gr.Image(type="numpy", visible=False)
    api_mask = gr.Image(type="numpy", visible=False)
    api_seed = gr.Number(0, visible=False, precision=0)
    api = gr.Button(visible=False)  # /restore for gradio_client
    api.click(mine.api, [api_image, api_mask, task, api_seed], [given, restored, proj], api_name="restore")
    c["seed"].input(mine.forget, None, None, api_visibility="private", **FAST)
    c["random"].click(mine.forget, None, None, api_visibility="private", **FAST)


__all__ = ["CAPTION", "Mine", "build"]
