"""The Train tab's "Download a synthetic dataset": N samples of the published generator (balanced over the chosen
classes) as a .zip of PNGs in ImageFolder layout with a README, or an .npz; /synthetic_dataset (handled here)."""
from __future__ import annotations

import math
from typing import Any

import gradio as gr

from gan.data.synthetic import parse_classes, readme, synthesize, write_npz, write_zip
from gan.errors import ConfigError, parse_number

from .. import words
from ..speak import L

MAX_N = 20_000
FORMATS = ("zip", "npz")
PNG_BYTES = 400  # about one small PNG in a zip (28 px grey digits: ~250-350 bytes), for the quota check


def estimated_bytes(n: int, shape: tuple[int, ...], fmt: str) -> int:
    """A generous size of n samples of shape (C, H, W) as fmt, checked against the quotas before writing."""
    pixels = math.prod(shape)
    return n * (4 * pixels + 8 if fmt == "npz" else PNG_BYTES * max(1, pixels // 784) + 120)


class SyntheticDataset:
    """Writes the dataset into the visitor's export folder (their quota, their last few downloads kept)."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def download(self, n: Any, classes: Any, fmt: Any, seed: Any = 0, request: gr.Request = None,
                 progress: gr.Progress = gr.Progress()) -> str:
        """A file of n samples of the watched run's published G: .zip (ImageFolder) or .npz (x, y)."""
        try:
            n = parse_number("n", n, integer=True, lo=1, hi=MAX_N, blank=1000)
            seed = parse_number("seed", seed, integer=True, lo=0, hi=2**31 - 1, blank=0)
            if fmt not in FORMATS:
                raise ConfigError(f"format must be zip or npz, got {str(fmt)[:20]!r}")
            chosen = parse_classes(classes)
        except ConfigError as e:
            raise self.page.refuse(e) from None
        run, sampler = self.page.explore._sampler(request)  # the published copy of G, never the training one
        mc = sampler.model_config
        if sampler.kind != "image":
            raise gr.Error(words.t("syn.points"))
        visitor = self.page.visitor(request)
        try:
            self.page.storage.check_room(visitor, estimated_bytes(n, tuple(mc.data_shape), fmt))
            path = self.page.files.export_path(visitor, f"synthetic-{run.id}-n{n}-s{seed}.{fmt}")
        except OSError as e:  # a disk quota is full
            raise self.page.refuse(e) from None
        progress(0, desc=words.t("syn.generating"))
        try:
            x, y = synthesize(sampler.nets, sampler.family, n, seed=seed, classes=chosen,
                              progress=lambda done, total: progress(0.5 * done / total, desc=words.t("syn.generating")))
        except ConfigError as e:
            raise self.page.refuse(e) from None
        if fmt == "npz":
            write_npz(str(path), x, y)
        else:
            status = run.snapshot().status or {}
            about = readme(model=mc.model, step=int(status.get("step") or 0), seed=seed, n=n,
                           dataset=str(status.get("dataset") or "?"),
                           classes=None if y is None else sorted(set(y.tolist())))
            write_zip(str(path), x, y, about=about,
                      progress=lambda done, total: progress(0.5 + 0.5 * done / total, desc=words.t("syn.writing")))
        return str(path)


def build(page: Any) -> None:
    """The accordion beside Sample: how many, which classes, which format, and the file."""
    handler = page.synthetic = getattr(page, "synthetic", None) or SyntheticDataset(page)
    with gr.Accordion(L("syn.title"), open=False, elem_id="synthetic-dataset"):
        gr.Markdown(L("syn.intro"))
        with gr.Row():
            n = gr.Number(1000, label=L("syn.n", max=f"{MAX_N:,}"), precision=0, elem_id="synthetic-n")
            classes = gr.Textbox("", label=L("syn.classes"), elem_id="synthetic-classes")
            fmt = gr.Radio(list(FORMATS), value="zip", label=L("syn.format"), elem_id="synthetic-format")
            seed = gr.Number(0, label=L("syn.seed"), precision=0)
        button = gr.Button(L("syn.make"), elem_id="synthetic-btn")
        file = gr.File(label=L("syn.file"), interactive=False, height=80, elem_id="synthetic-file")
    button.click(handler.download, [n, classes, fmt, seed], file, api_name="synthetic_dataset")


__all__ = ["FORMATS", "MAX_N", "SyntheticDataset", "build", "estimated_bytes"]
