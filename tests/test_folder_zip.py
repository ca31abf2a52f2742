"""Image uploads as zips: escaping paths, bombs and image-less zips are refused; mixed images load."""
import io
import os
import zipfile

import pytest
from PIL import Image

from gan.datasets import DatasetError
from gan.folder import UnsafeArchive, extract_zip, load_zip


def _png(colour, size=(20, 20), mode="RGB"):
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, "PNG")
    return buf.getvalue()


def _zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


def test_mixed_images_load_and_other_files_are_counted(tmp_path):
    z = _zip(tmp_path / "a.zip", {"x/a.png": _png((255, 0, 0)), "b.png": _png(90, (30, 10), "L"),
                                  "readme.txt": b"hello"})
    data = load_zip(z, str(tmp_path / "out"), image_size=8)
    assert data.x.shape == (2, 3, 8, 8) and data.info["skipped"] == 1


@pytest.mark.parametrize("name", ["../evil.png", "/abs/evil.png", "a/../../evil.png", "C:/evil.png"])
def test_paths_that_escape_are_refused_before_writing(tmp_path, name):
    z = _zip(tmp_path / "e.zip", {"ok.png": _png((0, 0, 0)), name: _png((1, 1, 1))})
    with pytest.raises(UnsafeArchive, match="outside its folder"):
        extract_zip(z, str(tmp_path / "out"))
    assert not (tmp_path / "evil.png").exists() and not os.path.exists(tmp_path / "out" / "ok.png")


def test_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    z = _zip(tmp_path / "bomb.zip", {"zeros.png": b"\0" * (50 * 2**20)})
    assert os.path.getsize(z) < 2**20
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        extract_zip(z, str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out" / "zeros.png")
    with pytest.raises(UnsafeArchive, match="limit is 1 MiB"):
        extract_zip(z, str(tmp_path / "out2"), max_bytes=2**20)


def test_zip_without_images_and_non_zip_fail_clearly(tmp_path):
    z = _zip(tmp_path / "t.zip", {"a.txt": b"text", "b.csv": b"1,2"})
    with pytest.raises(DatasetError, match="no images found"):
        load_zip(z, str(tmp_path / "out"))
    (tmp_path / "n.zip").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="not a readable zip"):
        load_zip(str(tmp_path / "n.zip"), str(tmp_path / "out3"))
