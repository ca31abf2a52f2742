"""The Train form in the page's own words: refusals that name its boxes as the page labels them ("The learning rate
(lr) must be more than 0", not "lr must be > 0"), what blank boxes became, the Speed choice, and the notices a run
gets before it starts (a step that would crawl). Pure helpers: no Gradio, no threads.
"""
from __future__ import annotations

import re
from typing import Any

from gan.config import models_for
from gan.data.images import IDX_FILES, download_reachable
from gan.data.spec import dataset_kind, files_missing
from gan.errors import ConfigError, DatasetError, parse_number

from . import words

# config field -> the label of its box on the Train tab
LABELS = {"batch_size": "Batch size", "lr": "Learning rate", "seed": "Seed", "z_dim": "z dimensions",
          "width": "Width", "r1": "R1 γ", "r2": "R2 γ", "pac": "PacGAN packing", "speed": "Speed"}
# the boxes whose blank means "the dataset's default", in the words the notice uses
BLANKABLE = {k: words.t(f"blank.{k}", "en") for k in ("batch_size", "lr", "z_dim", "width")}
SPEEDS = [(words.t(f"speed.{v}", "en"), v) for v in ("full", "50", "10")]  # (name, value); names: demo/words
CRAWL_S = 0.5  # a step estimated slower than this gets a notice (fewer than 2 steps a second)
AUTO = "auto"


def form_words(text: Any) -> str:
    """A refusal in the Train form's words: a field by its box's label (and, for gradio_client users, its parameter
    when that reads differently: "The learning rate (lr) must be more than 0"), comparisons in words."""
    out = str(text)
    for name, label in LABELS.items():
        n = re.escape(name)
        said = f"the {label[0].lower() + label[1:] if label[1:2].islower() and label[1:].islower() else label}"
        said += "" if said.endswith(f" {name}") else f" ({name})"
        out = re.sub(rf"^{n} \((\d+)\)", rf"{said[:-1]} = \1)" if said.endswith(")") else rf"{said} (\1)", out)
        out = re.sub(rf"(?<![\w-]){n} must be", f"{said} must be", out)
        out = re.sub(rf"^{n}(?= \d)", said, out)  # "batch_size 65536 with width ..."
    out = out[:1].upper() + out[1:] if out.startswith("the ") else out
    got = r", got (.+?)(?=$|;|\. )"
    out = re.sub(r"must be >= (\S+?)" + got, r"must be at least \1 (you gave \2)", out)
    out = re.sub(r"must be > (\S+?)" + got, r"must be more than \1 (you gave \2)", out)
    out = re.sub(r"must be <= (\S+?)" + got, r"must be at most \1 (you gave \2)", out)
    out = re.sub(r"must be a (whole |finite )?number" + got, r"must be a \1number (you gave \2)", out)
    return out


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def blanks_note(values: dict[str, Any], defaults: dict[str, Any]) -> str:
    """' Blank boxes took the dataset's defaults: learning rate 0.0005.' for the form's blank number boxes (a box
    the browser could not read as a number is sent blank too), or ''."""
    used = [f"{words.t('blank.' + k)} {defaults[k]:g}" if isinstance(defaults.get(k), float)
            else f"{words.t('blank.' + k)} {defaults.get(k)}"
            for k in BLANKABLE if blank(values.get(k)) and k in defaults]
    return words.t("blank.note", used=words.t("blank.sep").join(used)) if used else ""


def parse_speed(value: Any) -> float:
    """Steps a second from the Speed box ('full', blank or 0: no limit)."""
    if blank(value) or str(value).strip().lower() in ("full", "full speed", "0"):
        return 0.0
    try:
        return float(parse_number("speed", value, lo=0, hi=10_000))
    except ConfigError as e:
        raise ConfigError(form_words(e)) from None


def model_kind(dataset: str) -> str | None:
    """The kind of data a dataset name of the page stands for (upload:... are images, pair:upload:... pairs)."""
    name = str(dataset or "")
    if name.startswith("upload:"):
        return "image"
    if name.startswith("pair:"):
        return "pair"
    return dataset_kind(name)


def fitting_model(dataset: str, model: str | None) -> str | None:
    """`model` if it trains `dataset`'s kind (or the kind is unknown), else None: the Model box goes back to auto."""
    kind = model_kind(dataset)
    if model in (None, "", AUTO) or kind is None:
        return model
    return model if model in models_for(kind) else None


FILES_NAME = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
BUILT_IN = {"mnist": "digits", "fashion-mnist": "digits", "stacked-mnist": "stacked-digits",
            "mnist2colormnist": "digits2colordigits"}  # what trains offline instead


def check_files(dataset: str, data_dir: str | None) -> str:
    """Before a run starts: a set read from files this server lacks is refused in the app's words when it cannot be
    downloaded now (offline), with where the files go (GAN_DATA_DIR) and a built-in set to train instead; when the
    download host answers, the run downloads them first, and the returned notice says so. '' otherwise."""
    source = files_missing(dataset, data_dir=data_dir)
    if not source:
        return ""
    files = FILES_NAME.get(source, source)
    if download_reachable(source):
        return "\n\n" + words.t("files.download", dataset=dataset, files=files)
    where = words.t("files.in_dir" if data_dir else "files.set_dir")
    instead = BUILT_IN.get(dataset, "digits")
    raise DatasetError(words.t("files.missing", dataset=dataset, files=files, idx=IDX_FILES, where=where,
                               instead=instead))


def crawl_note(seconds: float | None, batch_size: int, default_batch: int | None) -> str:
    """The notice for a run whose steps are estimated at `seconds` each, or '' when it will not crawl."""
    if seconds is None or seconds < CRAWL_S:
        return ""
    smaller = (words.t("crawl.default", batch=f"{default_batch:,}") if default_batch and default_batch < batch_size
               else "")
    if seconds == float("inf"):  # too large to time before the run
        return "\n\n" + words.t("crawl.huge", smaller=smaller)
    return "\n\n" + words.t("crawl.slow", batch=f"{batch_size:,}", s=f"{seconds:.1f}", rate=f"{1 / seconds:.1f}",
                              smaller=smaller)


__all__ = ["AUTO", "CRAWL_S", "LABELS", "SPEEDS", "blanks_note", "check_files", "crawl_note", "fitting_model",
           "form_words", "model_kind", "parse_speed"]
