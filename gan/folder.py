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
