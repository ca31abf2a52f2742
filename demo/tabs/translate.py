"""The Translate tab (CycleGAN): a sketch, an upload or a held-out image translated and reconstructed, and
/translate; built, wired and handled here (`page.translate`)."""
from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
import torch

from gan.cyclegan.nets import DIRECTIONS, match_channels, to_domain, translate
from gan.errors import ConfigError, parse_number
from gan.images import image_grid

from .. import words
from ..inputs import MAX_SIDE
from ..speak import L
from . import FAST

SEED = dict(integer=True, lo=0, hi=2**63 - 1)
UPSCALE = 8  # 28 px -> 224 px on the page
LIKE = 200  # held-out images a sketch is matched to (background, ink box)
SOURCES = ("draw", "upload", "pick")


def _direction(direction: Any) -> str:
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction must be 'a2b' or 'b2a', got {str(direction)[:40]!r}")
    return str(direction)


def _picture(t: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) in [-1, 1] -> (H*UPSCALE, W*UPSCALE, 3) uint8."""
    return image_grid(match_channels(t, 3), nrow=1, pad=0, upscale=UPSCALE)


def sketch_image(value: Any) -> np.ndarray | None:
    """The composite of a Sketchpad value ({"composite": array, ...} or an array), or None when nothing is drawn
    (an empty, cleared or uniform canvas)."""
    img = value.get("composite") if isinstance(value, dict) else value
    if img is None:
        return None
    a = np.asarray(img)
    if a.ndim < 2 or a.size == 0:
        return None
    if a.ndim == 3 and a.shape[2] == 4:
        if int(a[..., 3].max()) == 0:  # all transparent: nothing drawn
            return None
        rgb = a[..., :3].astype(np.int16) * (a[..., 3:] > 0)  # ink where opaque
        if int(np.ptp(a[..., 3])) == 0 and int(np.ptp(rgb)) < 16:
            return None
    elif int(np.ptp(a)) < 16:
        return None
    return a


class Translate:
    """Translate-tab handlers of one page (sharing its manager, storage and visitor identity). A drawn sketch, an
    uploaded image or a held-out image of the source domain goes through the frozen generators a snapshot
    publishes (the watched run's, or the shipped cyclegan example until the visitor has one), so they work while
    training runs. The page shows x (the input as the source domain sees it), its translation and its
    reconstruction; /translate is the same for gradio_client users."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def _refuse(self, e: BaseException) -> gr.Error:
        return gr.Error(self.page.storage.public(str(e)), duration=8)

    def sampler(self, request: gr.Request | None) -> Any:
        """The frozen nets of the CycleGAN this page shows (its run's or the example's), or None."""
        run = self.page.subject(self.page.manager.watched(self.page.visitor(request)), "translate")
        snap = run.snapshot() if run is not None else None
        s = snap.sampler if snap is not None else None
        return s if s is not None and "translate" in s.family.explore and s.held_out else None

    def _need(self, request: gr.Request | None) -> Any:
        s = self.sampler(request)
        if s is None:
            run = self.page.manager.watched(self.page.visitor(request))
            snap = run.snapshot() if run is not None else None
            if snap is not None and snap.offers("translate"):
                raise gr.Error(words.t("tr.starting"))
            raise gr.Error(words.t("tr.none"))
        return s

    @staticmethod
    def _source(s: Any, direction: str) -> tuple[tuple[int, ...], torch.Tensor, torch.Tensor | None]:
        """(shape (C, H, W), held-out x, held-out labels) of the direction's source domain."""
        tag = "a" if direction == "a2b" else "b"
        shape = tuple(s.model_config.data_shape if tag == "a" else s.model_config.data_shape_b)
        x, y = s.held_out[tag]
        return shape, x, y

    @staticmethod
    def _run(s: Any, x: torch.Tensor, direction: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y, rec = translate(s.nets, x, direction)  # (1, C_dst, H, W), (1, C_src, H, W)
        return _picture(x), _picture(y), _picture(rec)

    def image(self, s: Any, image: Any, direction: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Any image (upload or sketch) converted to the source domain, translated and reconstructed."""
        shape, hx, _ = self._source(s, direction)
        a = np.asarray(image)
        if a.ndim < 2 or a.size == 0 or max(a.shape[:2]) > MAX_SIDE:
            raise gr.Error(words.t("tr.too_big", side=MAX_SIDE, shape=a.shape))
        try:
            x = to_domain(a, shape, like=hx[:LIKE])  # (1, C_src, H, W)
        except ValueError as e:
            raise self._refuse(e) from None
        return self._run(s, x, direction)

    def held(self, s: Any, direction: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The held-out source image a seed picks, translated and reconstructed."""
        _, hx, _ = self._source(s, direction)
        i = int(torch.randint(0, hx.shape[0], (), generator=torch.Generator().manual_seed(seed)))
        return self._run(s, hx[i:i + 1].float(), direction)

    # ---- events -------------------------------------------------------------------------------------
    def translate(self, image: Any = None, direction: Any = "a2b", seed: Any = 0,
                  request: gr.Request = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """/translate: (x, translation, reconstruction) of an image (any size, grey or colour) in `direction`
        ('a2b' or 'b2a'); with no image, of the held-out source-domain image that `seed` picks."""
        try:
            direction = _direction(direction)
            seed = parse_number("seed", seed, blank=0, **SEED)
        except ConfigError as e:
            raise self._refuse(e) from None
        s = self._need(request)
        return self.held(s, direction, seed) if image is None else self.image(s, image, direction)

    def draw(self, sketch: Any, direction: Any, request: gr.Request = None) -> tuple:
        """A sketch on the pad (nothing happens while it is empty), and the source is now the sketch."""
        img = sketch_image(sketch)
        if img is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return (*self.translate(img, direction, 0, request), "draw")

    def upload(self, image: Any, direction: Any, request: gr.Request = None) -> tuple:
        """An uploaded image, and the source is now the upload."""
        if image is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return (*self.translate(image, direction, 0, request), "upload")

    def pick(self, direction: Any, seed: Any, request: gr.Request = None) -> tuple:
        """The held-out image `seed` picks, and the source is now the held-out set."""
        return (*self.translate(None, direction, seed, request), "pick")

    def show(self, direction: Any, seed: Any, request: gr.Request = None) -> tuple:
        """Tab opened: a held-out translation when there is a CycleGAN to show (quietly nothing otherwise)."""
        if self.sampler(request) is None:
            return gr.skip(), gr.skip(), gr.skip()
        return self.translate(None, direction, seed, request)

    def redo(self, direction: Any, sketch: Any, image: Any, seed: Any, source: Any,
             request: gr.Request = None) -> tuple:
        """Direction switched: the same source (sketch, upload or held-out pick) the other way."""
        if source == "draw" and sketch_image(sketch) is not None:
            return self.translate(sketch_image(sketch), direction, 0, request)
        if source == "upload" and image is not None:
            return self.translate(image, direction, 0, request)
        if self.sampler(request) is None:
            return gr.skip(), gr.skip(), gr.skip()
        return self.translate(None, direction, seed, request)

    @staticmethod
    def random_seed() -> int:
        return int(np.random.default_rng().integers(0, 2**31 - 1))


def build(page: Any, c: dict[str, Any]) -> None:
    """The tab and its events: sketch, upload, held-out pick, direction switch, and /translate. `c` gets its note,
    which the page's live stream fills (demo/live.py)."""
    t = page.translate
    with gr.Tab(L("tab.translate"), id="translate") as tab:
        gr.Markdown(L("translate.intro"))
        c["tr_note"] = gr.Markdown(elem_id="tr-note")
        with gr.Row():
            direction = gr.Radio([("A → B", "a2b"), ("B → A", "b2a")], value="a2b", label=L("translate.direction"),
                                 elem_id="tr-dir")
            pick = gr.Button(L("translate.pick"), elem_id="tr-pick")
            seed = gr.Number(0, label=L("translate.seed"), precision=0)
        with gr.Row():
            draw = gr.Sketchpad(label=L("translate.draw"), type="numpy", height=280,
                                elem_id="tr-draw", canvas_size=(280, 280), layers=False,
                                brush=gr.Brush(default_size=20, colors=["#000000"], color_mode="fixed"))
            upload = gr.Image(label=L("translate.upload"), type="numpy", sources=["upload"], height=280,
                              elem_id="tr-upload")
        with gr.Row():
            shown = [gr.Image(label=L("translate.x"), interactive=False, elem_id="tr-x", format="png"),
                     gr.Image(label=L("translate.y"), interactive=False, elem_id="tr-y", format="png"),
                     gr.Image(label=L("translate.rec"), interactive=False, elem_id="tr-rec", format="png")]
        source = gr.State("pick")  # what the direction switch translates again: draw, upload or pick (SOURCES)
        with gr.Row(visible=False):  # API-only endpoint: /translate (image or none, direction, seed)
            api = gr.Button("translate")

        draw.change(t.draw, [draw, direction], [*shown, source], trigger_mode="always_last",
                    api_visibility="private", **FAST)
        upload.upload(t.upload, [upload, direction], [*shown, source], api_name="translate_upload",
                      api_visibility="private", **FAST)  # /upload is the checkpoint's
        pick.click(t.random_seed, None, seed, api_visibility="private").then(
            t.pick, [direction, seed], [*shown, source], api_visibility="private", **FAST)
        seed.submit(t.pick, [direction, seed], [*shown, source], api_visibility="private", **FAST)
        direction.change(t.redo, [direction, draw, upload, seed, source], shown, trigger_mode="always_last",
                         api_visibility="private", **FAST)
        tab.select(t.show, [direction, seed], shown, api_visibility="private", **FAST)
        api.click(t.translate, [upload, direction, seed], shown, api_name="translate", **FAST)


__all__ = ["SOURCES", "Translate", "build", "sketch_image"]
