"""A folder of the user's own images as an in-memory dataset: mixed sizes and modes are centre-cropped,
resized and converted; files that are not images are skipped and counted.

Images are read one at a time: the size a file declares is checked before it is decoded, so an "image bomb"
(a small file that decodes to gigabytes) is refused by name; JPEGs are decoded already reduced, and only the
small image_size x image_size copy of each image is kept.

Settings (gan/settings.py): GAN_MAX_IMAGE_PIXELS (default 25_000_000) the largest image, in pixels, that is
decoded; GAN_ZIP_MAX_FILES (default 10000) and GAN_ZIP_MAX_MB (default 256) the most files and MiB a zip
may unpack to.
"""
from __future__ import annotations

import os
import re
from typing import Any, NamedTuple

import numpy as np
import torch

from .. import settings
from .spec import Dataset, DatasetError

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_IMAGES = 50_000
MAX_IMAGE_PIXELS = 25_000_000  # an image declaring more pixels than this is refused before it is decoded
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _env_int(name: str, default: int) -> int:
    """A positive whole number from the setting `name` (gan.settings), or `default` if not one."""
    value = int(settings.get(name) or 0)
    return value if value > 0 else default


def _square(img, size: int):
    """Centre-crop to a square and resize to size x size."""
    w, h = img.size
    s = min(w, h)
    img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    return img.resize((size, size))


def _mp(pixels: float) -> str:
    """Pixels as megapixels for a message: 25 MP, 0.05 MP."""
    return f"{pixels / 1e6:.3g} MP"


def _read_small(f: str, image_size: int, max_pixels: int) -> tuple[np.ndarray | None, str | None]:
    """One image file as a small uint8 array (S, S) if grey or (S, S, 3), or (None, why) if it is too large.

    Raises the PIL/OS error of a file that is not a readable image."""
    from PIL import Image

    with Image.open(f) as im:
        w, h = im.size  # from the header: nothing is decoded yet
        if w * h > max_pixels:
            return None, f"{w}x{h} px, over the {_mp(max_pixels)} limit"
        mode = "L" if im.mode in GREY_MODES else "RGB"
        if im.format in ("JPEG", "MPO"):  # MPO: the multi-picture JPEG many phones write
            im.draft(mode, (image_size, image_size))  # decode at 1/2, 1/4 or 1/8 scale, never below S x S
        small = _square(im.convert(mode), image_size)
    return np.asarray(small, dtype=np.uint8), None


def load_folder(path: str, *, image_size: int = 32, max_pixels: int | None = None) -> Dataset:
    """Every readable image below `path`, as (N, C, S, S) in [-1, 1]; C is 1 if all are grey, else 3.

    Images declaring more than `max_pixels` (default GAN_MAX_IMAGE_PIXELS or MAX_IMAGE_PIXELS) are refused
    unread and named in info["refused"]."""
    if not os.path.isdir(path):
        raise DatasetError(f"folder {path!r} does not exist or is not a folder")
    return _load_images(path, label=path, image_size=image_size, max_pixels=max_pixels)


def _load_images(path: str, *, label: str, image_size: int, max_pixels: int | None) -> Dataset:
    """The body of load_folder; messages call the folder `label` (a zip's name, for an unpacked zip)."""
    from PIL import Image, UnidentifiedImageError

    limit = max_pixels if max_pixels is not None else _env_int("GAN_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS)
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs)
    arrays: list[np.ndarray] = []
    refused: list[str] = []
    skipped = 0
    for f in files:
        if len(arrays) >= MAX_IMAGES:
            break
        rel = os.path.relpath(f, path)
        try:
            arr, why = _read_small(f, image_size, limit)
        except Image.DecompressionBombError as e:  # PIL's own, far higher limit, hit while opening
            m = re.search(r"\((\d+) pixels\)", str(e))
            size = f"{_mp(int(m.group(1)))}, " if m else ""
            refused.append(f"{rel} ({size}over the {_mp(limit)} limit)")
            continue
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            skipped += 1
            continue
        if arr is None:
            refused.append(f"{rel} ({why})")
        else:
            arrays.append(arr)
    if not arrays:
        if refused:
            shown = "; ".join(refused[:5]) + (f"; and {len(refused) - 5} more" if len(refused) > 5 else "")
            raise DatasetError(f"no usable images in {label!r}: {len(refused)} refused as too large to decode "
                               f"({shown}); downscale them and try again")
        raise DatasetError(f"no images found in {label!r} ({skipped} other files skipped); "
                           f"use PNG or JPEG files")
    grey = all(a.ndim == 2 for a in arrays)
    if not grey:  # a grey image among colour ones repeats its grey in R, G and B (as PIL's L -> RGB does)
        arrays = [a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2) for a in arrays]
    x = torch.from_numpy(np.stack(arrays)).float().div_(127.5).sub_(1.0)
    x = x.unsqueeze(1) if grey else x.permute(0, 3, 1, 2)  # (N, C, S, S)
    info: dict[str, Any] = {"images": len(arrays), "skipped": skipped}
    if refused:
        info["refused"] = refused
    return Dataset(f"folder:{path}", "image", tuple(x.shape[1:]), x=x.contiguous(), info=info)


class UnsafeArchive(DatasetError):
    """A zip that escapes its folder, is too large, or unpacks to far more than it weighs."""


MAX_ZIP_MEMBERS = 10_000  # files in a zip (GAN_ZIP_MAX_FILES)
MAX_UNPACKED_BYTES = 256 * 2**20  # 256 MiB unpacked in all (GAN_ZIP_MAX_MB)
MAX_RATIO = 200  # a member may not unpack to more than 200x its compressed size


class Extracted(NamedTuple):
    """What extract_zip did: image files written, and other members left in the zip."""

    written: int
    skipped: int


def _safe_member(name: str) -> bool:
    """False for absolute paths, drive letters and any '..' component."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return False
    return ".." not in norm.split("/")


def _is_image_member(name: str) -> bool:
    """An image by its extension, and not a macOS resource-fork copy (__MACOSX/, ._name)."""
    norm = name.replace("\\", "/")
    base = norm.rsplit("/", 1)[-1]
    if norm.startswith("__MACOSX/") or base.startswith("._"):
        return False
    return os.path.splitext(base)[1].lower() in IMAGE_EXTS


def extract_zip(path: str, dest: str, *, max_bytes: int | None = None,
                max_members: int | None = None) -> Extracted:
    """Unpack the images in `path` into `dest` safely; refuses escaping paths and zip bombs before unpacking.

    Only members with an image extension are written; the rest are counted in `skipped`. The limits default to
    GAN_ZIP_MAX_MB / GAN_ZIP_MAX_FILES (else MAX_UNPACKED_BYTES / MAX_ZIP_MEMBERS). The declared sizes are
    checked first, then every member is streamed with a byte budget, so a zip that lies about its sizes is
    stopped as soon as it passes the budget. Any failure while unpacking removes what was written and raises
    DatasetError (UnsafeArchive for a refusal).
    """
    import zipfile

    if max_bytes is None:
        max_bytes = _env_int("GAN_ZIP_MAX_MB", MAX_UNPACKED_BYTES // 2**20) * 2**20
    if max_members is None:
        max_members = _env_int("GAN_ZIP_MAX_FILES", MAX_ZIP_MEMBERS)
    zname = os.path.basename(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise DatasetError(f"{zname!r} is not a readable zip file ({e})") from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) > max_members:
            raise UnsafeArchive(f"zip holds {len(members)} files; the limit is {max_members}")
        for m in members:
            if not _safe_member(m.filename):
                raise UnsafeArchive(f"zip member {m.filename!r} would be written outside its folder; refused")
        images = [m for m in members if _is_image_member(m.filename)]
        declared = sum(m.file_size for m in images)
        if declared > max_bytes:
            raise UnsafeArchive(f"zip would unpack to {declared / 2**20:.0f} MiB; the limit is "
                                f"{max_bytes / 2**20:.0f} MiB")
        for m in images:
            if m.compress_size and m.file_size / m.compress_size > MAX_RATIO:
                raise UnsafeArchive(f"zip member {m.filename!r} expands {m.file_size // m.compress_size}x: "
                                    f"refused as a zip bomb")
        root = os.path.realpath(dest)
        existed = os.path.isdir(root)
        made: list[str] = []  # files and folders this call created, removed again on failure
        try:
            _write_members(zf, images, root, max_bytes, made, zname=zname)
        except BaseException:
            _remove(root, made, whole=not existed)
            raise
        return Extracted(written=len(images), skipped=len(members) - len(images))


def _write_members(zf: Any, members: list, root: str, max_bytes: int, made: list[str], *, zname: str) -> None:
    """Stream `members` of the open zip `zf` into `root` within a total budget of `max_bytes`, recording every
    file and folder it creates in `made`; a member that cannot be read or written raises DatasetError."""
    import zipfile
    import zlib

    budget = max_bytes
    if not os.path.isdir(root):
        os.makedirs(root)
        made.append(root)
    for m in members:
        target = os.path.realpath(os.path.join(root, m.filename))
        if not target.startswith(root + os.sep):
            raise UnsafeArchive(f"zip member {m.filename!r} would be written outside its folder; refused")
        try:
            missing, folder = [], os.path.dirname(target)
            while not os.path.isdir(folder):
                missing.append(folder)
                folder = os.path.dirname(folder)
            for d in reversed(missing):
                os.mkdir(d)
                made.append(d)
            with zf.open(m) as src, open(target, "wb") as dst:
                made.append(target)
                while chunk := src.read(1 << 20):
                    budget -= len(chunk)
                    if budget < 0:
                        raise UnsafeArchive("zip unpacks to more than it declares: refused as a zip bomb")
                    dst.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise DatasetError(f"{zname!r} is corrupt: member {m.filename!r} could not be read "
                               f"({_first_line(e)}); nothing was kept") from None
        except (RuntimeError, NotImplementedError, ValueError) as e:  # encrypted, unknown compression, ...
            raise DatasetError(f"{zname!r} could not be unpacked: member {m.filename!r}: {_first_line(e)}; "
                               f"nothing was kept") from None
        except OSError as e:  # a full disk, a name the file system refuses, ...
            raise DatasetError(f"could not unpack {zname!r} at member {m.filename!r}: {e.strerror or e}; "
                               f"nothing was kept") from None


def _first_line(e: BaseException) -> str:
    """An exception's message cut to one short line (its type name if it has none)."""
    text = str(e).strip()
    return text.splitlines()[0][:160] if text else type(e).__name__


def _remove(root: str, made: list[str], *, whole: bool) -> None:
    """Undo a failed extraction: the whole of `root` if this call created it, else only what it made."""
    import shutil

    if whole:
        shutil.rmtree(root, ignore_errors=True)
        return
    for p in reversed(made):
        try:
            os.rmdir(p) if os.path.isdir(p) else os.unlink(p)
        except OSError:
            pass


def load_zip(path: str, dest: str, *, image_size: int = 32, max_pixels: int | None = None) -> Dataset:
    """Unpack a zip of images safely into `dest` and load it as a folder dataset (other files are counted
    in info["skipped"], images too large to decode are named in info["refused"])."""
    done = extract_zip(path, dest)
    zname = os.path.basename(path)
    if not done.written:
        raise DatasetError(f"no images found in {zname!r} ({done.skipped} other files skipped); "
                           f"use PNG or JPEG files")
    data = _load_images(dest, label=zname, image_size=image_size, max_pixels=max_pixels)
    data.info["skipped"] += done.skipped
    data.name = f"zip:{zname}"
    return data
