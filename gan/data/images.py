"""The built-in image sets: procedural `digits` (offline), MNIST and Fashion-MNIST from idx files, and the
user's own folders (`folder:PATH`). Each registers its DatasetSpec here.
"""
from __future__ import annotations

import gzip
import math
import os
import shutil
import tempfile
from typing import Any

import torch

from .digits import make_digits
from .folder import load_folder
from .spec import Dataset, DatasetError, DatasetSpec, register_dataset, register_prefix

Tensor = torch.Tensor
DIGITS_N = 20_000


def digits(*, seed: int = 0, n: int = DIGITS_N, **_: Any) -> Dataset:
    """Procedurally drawn digits 0-9 at 28x28: the offline default for images."""
    x, y = make_digits(n, seed=seed)
    return Dataset("digits", "image", (1, 28, 28), n_classes=10, x=x, y=y)


_IDX_NAMES = {"images": "{split}-images-idx3-ubyte", "labels": "{split}-labels-idx1-ubyte"}
IDX_FILES = ("train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz (or the t10k-* files; .gz or raw)")


def read_idx(path: str) -> Tensor:
    """Read an idx file (raw or .gz) into a uint8 tensor of its stored shape."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DatasetError(f"{os.path.basename(path)} could not be read: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise DatasetError(f"{os.path.basename(path)} is not an idx file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = raw[4 + 4 * ndim:]
    if len(body) != math.prod(dims):
        raise DatasetError(f"{os.path.basename(path)} is truncated: expected {math.prod(dims)} bytes of data, "
                           f"found {len(body)}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).view(*dims)


def _find(folder: str, stem: str) -> str | None:
    for name in (stem + ".gz", stem):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    return None


def _read_splits(folder: str) -> tuple[list[Tensor], list[Tensor | None]]:
    xs: list[Tensor] = []
    ys: list[Tensor | None] = []
    for split in ("train", "t10k"):
        img = _find(folder, _IDX_NAMES["images"].format(split=split))
        if img is None:
            continue
        x = read_idx(img)
        lab = _find(folder, _IDX_NAMES["labels"].format(split=split))
        y = read_idx(lab).long() if lab else None
        xs.append(x)
        ys.append(y if y is not None and y.shape[0] == x.shape[0] else None)
    return xs, ys


SUBFOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}  # torchvision's folder names
# torchvision's download hosts (its first mirror for each set), for `download_reachable`
DOWNLOAD_HOSTS = {"mnist": "ossci-datasets.s3.amazonaws.com",
                  "fashion-mnist": "fashion-mnist.s3-website.eu-central-1.amazonaws.com"}


def _folders(name: str, data_dir: str | None) -> list[str]:
    """Where a set's idx files are looked for: `data_dir` and its <Set>/raw subfolder (torchvision's layout); with
    no data_dir, ./data, where a download keeps them."""
    base = data_dir or os.path.join(os.getcwd(), "data")
    return [base, os.path.join(base, SUBFOLDER[name], "raw")]


def idx_present(name: str, data_dir: str | None) -> bool:
    """Whether a set's image files are where `idx_images` looks, without reading them."""
    stem = _IDX_NAMES["images"]
    return any(_find(folder, stem.format(split=split)) for folder in _folders(name, data_dir)
               for split in ("train", "t10k"))


def download_reachable(name: str, *, timeout: float = 2.0) -> bool:
    """Whether torchvision's download host for a set answers now (a TCP connection within `timeout` s): a
    download can be tried. Offline, it fails at once (no name resolution)."""
    import socket

    try:
        with socket.create_connection((DOWNLOAD_HOSTS[name], 443), timeout=timeout):
            return True
    except (OSError, KeyError):
        return False


def idx_images(name: str, data_dir: str | None) -> tuple[Tensor, Tensor | None]:
    """MNIST-format idx files: every split (train, t10k) whose images are in `data_dir` (or its
    <Set>/raw subfolder, torchvision's layout; with no data_dir, ./data), else a torchvision download when
    online. Returns uint8 images (N, 28, 28) and labels (N,) or None. Failing to find data creates nothing."""
    sub = SUBFOLDER[name]
    for folder in _folders(name, data_dir):
        xs, ys = _read_splits(folder)
        if xs:
            y = torch.cat(ys) if all(t is not None for t in ys) else None
            return torch.cat(xs), y
    return _download(name, sub, data_dir)


def _download(name: str, sub: str, data_dir: str | None) -> tuple[Tensor, Tensor]:
    """A torchvision download into a temporary folder, moved into data_dir only when it succeeded."""
    where = data_dir or os.path.join(os.getcwd(), "data")
    tmp = tempfile.mkdtemp(prefix="gan-download-")
    try:
        import torchvision

        cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
        ds = cls(tmp, train=True, download=True)
        x, y = ds.data.clone(), ds.targets.clone()
    except Exception as e:  # noqa: BLE001 - offline, or a broken download
        shutil.rmtree(tmp, ignore_errors=True)
        hint = f"in {data_dir!r} " if data_dir else "(no --data-dir given) "
        raise DatasetError(f"no {name} files found {hint}and the download failed ({type(e).__name__}). "
                           f"Put {IDX_FILES} in a folder and pass --data-dir FOLDER") from None
    try:  # keep the download for next time, next to where the user asked
        os.makedirs(where, exist_ok=True)
        shutil.copytree(os.path.join(tmp, sub), os.path.join(where, sub), dirs_exist_ok=True)
    except OSError:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return x, y


def idx_files(name: str):
    """A DatasetSpec's `present` for sets read from `name`'s idx files."""
    return lambda data_dir: idx_present(name, data_dir)


def to_unit(x: Tensor) -> Tensor:
    """uint8 images (N, H, W) or (N, C, H, W) -> float32 in [-1, 1] with a channel axis."""
    x = x.float().div_(127.5).sub_(1.0)
    return x.unsqueeze(1) if x.dim() == 3 else x


def _idx_set(name: str):
    def load(*, data_dir: str | None = None, **_: Any) -> Dataset:
        x, y = idx_images(name, data_dir)
        return Dataset(name, "image", (1, 28, 28), n_classes=10 if y is not None else 0, x=to_unit(x), y=y)
    return load


# digits and MNIST default to the conditional mlp, which reaches a lower Frechet distance than dcgan at 30, 60
# and 120 s on 2 cores (bench/bench_mnist_quality.py, 3 seeds; README "Defaults, and why"). Fashion-MNIST
# cannot be measured here (no files) and keeps dcgan. Folders: the mlp for grey images, far ahead from 60 s on
# (FD 17.7 / 13.6 against dcgan's 46.2 / 45.7 at 60 / 120 s); dcgan with R3GAN_RECIPE for colour ones
# (278 / 311 / 301 against the plain image defaults' 356 / 479 / 571 at 30 / 60 / 120 s, one run).
R3GAN_RECIPE: dict[str, Any] = {"loss": "rpgan", "r1": 1.0, "r2": 1.0, "r1_every": 4, "width": 32}
"""R3GAN's loss and penalties (rpgan + R1 + R2, gamma 1, lazily every 4 steps) on dcgan at twice the image width:
the default of the colour sets (Stacked MNIST, colour folders), measured by bench_stacked / bench_mnist_quality."""
register_dataset(DatasetSpec("digits", "image", (1, 28, 28), digits, n_classes=10,
                             doc="labelled hand-drawn-looking digits 0-9 at 28×28, drawn procedurally in a "
                                 "few seconds: the offline default", defaults={"model": "mlp"}))
_IDX_DEFAULTS = {"mnist": {"model": "mlp"}, "fashion-mnist": {}}
for _name, _doc in (("mnist", "MNIST handwritten digits"), ("fashion-mnist", "Fashion-MNIST clothing")):
    register_dataset(DatasetSpec(_name, "image", (1, 28, 28), _idx_set(_name), n_classes=10,
                                 doc=f"{_doc}, from idx files in --data-dir", files=IDX_FILES,
                                 defaults=_IDX_DEFAULTS[_name], present=idx_files(_name), source=_name))


def _folder_spec(path: str, image_size: int | None) -> DatasetSpec:
    size = image_size or 32

    def load(**_: Any) -> Dataset:
        return load_folder(path, image_size=size)

    # colour at most: the exact channel count is known once loaded (1 if every image is grey)
    return DatasetSpec(f"folder:{path}", "image", (3, size, size), load, doc="your own images",
                       defaults={"conditional": False}, data_defaults=_folder_defaults)


def _folder_defaults(data: Dataset) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A folder's defaults by its loaded images: the mlp for grey ones; for colour ones dcgan (the image default),
    trained with R3GAN_RECIPE."""
    return ({"model": "mlp"}, {}) if data.shape[0] == 1 else ({}, {"dcgan": R3GAN_RECIPE})


register_prefix("folder", _folder_spec)

__all__ = ["DIGITS_N", "DOWNLOAD_HOSTS", "IDX_FILES", "R3GAN_RECIPE", "digits", "download_reachable", "idx_files",
           "idx_images", "idx_present", "read_idx", "to_unit"]
