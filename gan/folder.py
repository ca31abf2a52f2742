"""A folder of the user's own images as an in-memory dataset: mixed sizes and modes are centre-cropped,
resized and converted; files that are not images are skipped and counted."""
from __future__ import annotations

import os

import numpy as np
import torch

from .datasets import Dataset, DatasetError

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_IMAGES = 50_000


def _square(img, size: int):
    """Centre-crop to a square and resize to size x size."""
    w, h = img.size
    s = min(w, h)
    img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    return img.resize((size, size))


def load_folder(path: str, *, image_size: int = 32) -> Dataset:
    """Every readable image below `path`, as (N, C, S, S) in [-1, 1]; C is 1 if all are grey, else 3."""
    from PIL import Image, UnidentifiedImageError

    if not os.path.isdir(path):
        raise DatasetError(f"folder {path!r} does not exist or is not a folder")
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs)
    imgs, skipped = [], 0
    for f in files:
        if len(imgs) >= MAX_IMAGES:
            break
        try:
            with Image.open(f) as im:
                im.load()
                imgs.append(im.copy())
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            skipped += 1
    if not imgs:
        raise DatasetError(f"no images found in {path!r} ({skipped} other files skipped); "
                           f"use PNG or JPEG files")
    grey = all(im.mode in ("1", "L", "LA", "I", "I;16", "F") for im in imgs)
    mode = "L" if grey else "RGB"
    arr = np.stack([np.asarray(_square(im.convert(mode), image_size), dtype=np.uint8) for im in imgs])
    x = torch.from_numpy(arr).float().div_(127.5).sub_(1.0)
    x = x.unsqueeze(1) if grey else x.permute(0, 3, 1, 2)  # (N, C, S, S)
    return Dataset(f"folder:{path}", "image", tuple(x.shape[1:]), x=x.contiguous(),
                   info={"images": len(imgs), "skipped": skipped})


class UnsafeArchive(DatasetError):
    """A zip that escapes its folder, is too large, or unpacks to far more than it weighs."""


MAX_ZIP_MEMBERS = 60_000
MAX_UNPACKED_BYTES = 512 * 2**20  # 512 MiB unpacked in all
MAX_RATIO = 200  # a member may not unpack to more than 200x its compressed size


def _safe_member(name: str) -> bool:
    """False for absolute paths, drive letters and any '..' component."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return False
    return ".." not in norm.split("/")


def extract_zip(path: str, dest: str, *, max_bytes: int = MAX_UNPACKED_BYTES,
                max_members: int = MAX_ZIP_MEMBERS) -> int:
    """Unpack `path` into `dest` safely; refuses escaping paths and zip bombs before unpacking them in full.

    The declared sizes are checked first, then every member is streamed with a byte budget, so a zip that
    lies about its sizes is stopped as soon as it passes the budget. Returns the number of files written.
    """
    import shutil
    import zipfile

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"{os.path.basename(path)!r} is not a readable zip file ({e})") from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) > max_members:
            raise UnsafeArchive(f"zip holds {len(members)} files; the limit is {max_members}")
        for m in members:
            if not _safe_member(m.filename):
                raise UnsafeArchive(f"zip member {m.filename!r} would be written outside its folder; refused")
        declared = sum(m.file_size for m in members)
        if declared > max_bytes:
            raise UnsafeArchive(f"zip would unpack to {declared / 2**20:.0f} MiB; the limit is "
                                f"{max_bytes / 2**20:.0f} MiB")
        for m in members:
            if m.compress_size and m.file_size / m.compress_size > MAX_RATIO:
                raise UnsafeArchive(f"zip member {m.filename!r} expands {m.file_size // m.compress_size}x: "
                                    f"refused as a zip bomb")
        root = os.path.realpath(dest)
        budget, written = max_bytes, 0
        for m in members:
            target = os.path.realpath(os.path.join(root, m.filename))
            if not target.startswith(root + os.sep):
                raise UnsafeArchive(f"zip member {m.filename!r} would be written outside its folder; refused")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with zf.open(m) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    budget -= len(chunk)
                    if budget < 0:
                        dst.close()
                        shutil.rmtree(root, ignore_errors=True)
                        raise UnsafeArchive("zip unpacks to more than it declares: refused as a zip bomb")
                    dst.write(chunk)
            written += 1
        return written


def load_zip(path: str, dest: str, *, image_size: int = 32) -> Dataset:
    """Unpack a zip of images safely into `dest` and load it as a folder dataset."""
    extract_zip(path, dest)
    data = load_folder(dest, image_size=image_size)
    data.name = f"zip:{os.path.basename(path)}"
    return data
