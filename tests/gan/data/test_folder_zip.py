"""Image uploads as zips: escaping paths, bombs and image-less zips are refused; mixed images load."""
import io
import os
import zipfile

import pytest
import torch
from PIL import Image

from gan.data.spec import DatasetError
from gan.data.folder import UnsafeArchive, extract_zip, load_zip
from tests.helpers import ROOT, make_zip, png_bytes


def test_mixed_images_load_and_other_files_are_counted(tmp_path):
    z = make_zip(tmp_path / "a.zip", {"x/a.png": png_bytes((255, 0, 0)), "b.png": png_bytes(90, (30, 10), "L"),
                                      "readme.txt": b"hello"})
    data = load_zip(z, str(tmp_path / "out"), image_size=8)
    assert data.x.shape == (2, 3, 8, 8) and data.info["skipped"] == 1


@pytest.mark.parametrize("name", ["../evil.png", "/abs/evil.png", "a/../../evil.png", "C:/evil.png"])
def test_paths_that_escape_are_refused_before_writing(tmp_path, name):
    z = make_zip(tmp_path / "e.zip", {"ok.png": png_bytes((0, 0, 0)), name: png_bytes((1, 1, 1))})
    with pytest.raises(UnsafeArchive, match="outside its folder"):
        extract_zip(z, str(tmp_path / "out"))
    assert not (tmp_path / "evil.png").exists() and not os.path.exists(tmp_path / "out" / "ok.png")


def test_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    z = make_zip(tmp_path / "bomb.zip", {"zeros.png": b"\0" * (50 * 2**20)})
    assert os.path.getsize(z) < 2**20
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        extract_zip(z, str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out" / "zeros.png")
    with pytest.raises(UnsafeArchive, match="limit is 1 MiB"):
        extract_zip(z, str(tmp_path / "out2"), max_bytes=2**20)


def test_zip_without_images_and_non_zip_fail_clearly(tmp_path):
    z = make_zip(tmp_path / "t.zip", {"a.txt": b"text", "b.csv": b"1,2"})
    with pytest.raises(DatasetError, match="no images found"):
        load_zip(z, str(tmp_path / "out"))
    (tmp_path / "n.zip").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="not a readable zip"):
        load_zip(str(tmp_path / "n.zip"), str(tmp_path / "out3"))


# ---- image bombs: the declared size is read before decoding, and big images are refused by name ----------------
_LOAD_AND_MEASURE = r"""
import json, sys
from gan.data.folder import load_zip
from PIL import Image, PngImagePlugin  # noqa: F401  (imported before the baseline is taken)


def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


try:  # reset the peak to the current RSS, so the imports above do not mask what loading costs
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
before = peak()
data = load_zip(sys.argv[1], sys.argv[2], image_size=16)
print(json.dumps({"growth": peak() - before, "shape": list(data.x.shape), "info": data.info}))
"""


def _big_png_zip(path, n_big=2):
    """A small zip of n_big 6000x6000 RGB PNGs (~150 MB each once decoded) and one small PNG."""
    buf = io.BytesIO()
    Image.new("RGB", (6000, 6000), (10, 20, 30)).save(buf, "PNG", compress_level=1)
    members = {f"big{i}.png": buf.getvalue() for i in range(n_big)}
    members["small/ok.png"] = png_bytes((200, 10, 10), (40, 30))
    return make_zip(path, members, compression=zipfile.ZIP_STORED)


@pytest.mark.slow
def test_image_bombs_are_refused_by_name_without_being_decoded(tmp_path):
    import json
    import subprocess
    import sys

    z = _big_png_zip(tmp_path / "bombs.zip")
    assert os.path.getsize(z) < 2 * 2**20
    out = subprocess.run([sys.executable, "-c", _LOAD_AND_MEASURE, z, str(tmp_path / "out")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["shape"] == [1, 3, 16, 16]
    assert res["info"]["images"] == 1
    assert res["info"]["refused"] == ["big0.png (6000x6000 px, over the 25 MP limit)",
                                      "big1.png (6000x6000 px, over the 25 MP limit)"]
    # decoding both in full costs ~300 MB; reading their headers costs next to nothing
    assert res["growth"] < 64 * 2**20, f"peak RSS grew by {res['growth'] / 2**20:.0f} MiB while loading"


def test_pixel_limit_keyword_and_env_and_nothing_usable_names_the_files(tmp_path, monkeypatch):
    from gan.data.folder import MAX_IMAGE_PIXELS, load_folder

    assert MAX_IMAGE_PIXELS == 25_000_000
    Image.new("RGB", (300, 200), (0, 255, 0)).save(tmp_path / "wide.png")
    Image.new("L", (100, 100), 40).save(tmp_path / "grey.jpg", quality=90)
    data = load_folder(str(tmp_path), image_size=8, max_pixels=50_000)
    assert data.x.shape == (1, 1, 8, 8)  # only the grey one is left, so the set is grey
    assert data.info["refused"] == ["wide.png (300x200 px, over the 0.05 MP limit)"]
    monkeypatch.setenv("GAN_MAX_IMAGE_PIXELS", "5000")
    with pytest.raises(DatasetError, match=r"no usable images.*grey\.jpg \(100x100 px.*wide\.png \(300x200 px"):
        load_folder(str(tmp_path), image_size=8)
    monkeypatch.delenv("GAN_MAX_IMAGE_PIXELS")
    data = load_folder(str(tmp_path), image_size=8)
    assert data.x.shape == (2, 3, 8, 8) and "refused" not in data.info
    assert data.x[1, 1].mean() > 0.9 and data.x[1, 0].mean() < -0.9  # 'wide.png' (sorted second) is green
    assert torch.allclose(data.x[0], data.x[0, :1].expand(3, 8, 8))  # the grey one repeats its grey


def test_large_jpeg_is_decoded_reduced(tmp_path, monkeypatch):
    from PIL import JpegImagePlugin

    from gan.data.folder import load_folder

    Image.new("RGB", (1600, 1200), (0, 0, 255)).save(tmp_path / "photo.jpg", quality=85)
    decoded = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def spy(self):
        out = real_load(self)
        decoded.append(self.size)
        return out

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)
    data = load_folder(str(tmp_path), image_size=32)
    assert data.x.shape == (1, 3, 32, 32) and data.x[0, 2].mean() > 0.9
    assert decoded and max(w * h for w, h in decoded) <= 200 * 150  # 1/8 scale, not 1600x1200


# ---- zip extraction: only images are written, caps come from the environment, failures leave nothing behind ---
def test_only_image_members_are_written_and_the_rest_are_counted(tmp_path):
    z = make_zip(tmp_path / "m.zip", {"a.png": png_bytes((1, 2, 3)), "sub/b.JPG": png_bytes((4, 5, 6)),
                                      "run.sh": b"rm -rf /", "notes.txt": b"hi", "sub/data.bin": b"\0" * 100})
    out = tmp_path / "out"
    res = extract_zip(z, str(out))
    assert (res.written, res.skipped) == (2, 3)
    written = sorted(os.path.relpath(os.path.join(r, f), out) for r, _, fs in os.walk(out) for f in fs)
    assert written == ["a.png", os.path.join("sub", "b.JPG")]
    data = load_zip(z, str(tmp_path / "out2"), image_size=8)
    assert data.info["images"] == 2 and data.info["skipped"] == 3


def test_zip_caps_default_and_come_from_the_environment(tmp_path, monkeypatch):
    from gan.data import folder

    assert folder.MAX_ZIP_MEMBERS == 10_000 and folder.MAX_UNPACKED_BYTES == 256 * 2**20
    z = make_zip(tmp_path / "many.zip", {f"{i}.png": png_bytes((i, i, i)) for i in range(6)})
    monkeypatch.setenv("GAN_ZIP_MAX_FILES", "5")
    with pytest.raises(UnsafeArchive, match="holds 6 files; the limit is 5"):
        extract_zip(z, str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out")
    monkeypatch.setenv("GAN_ZIP_MAX_FILES", "6")
    assert extract_zip(z, str(tmp_path / "out")).written == 6
    import random
    big = make_zip(tmp_path / "big.zip", {"noise.png": random.Random(0).randbytes(3 * 2**20)})
    monkeypatch.setenv("GAN_ZIP_MAX_MB", "2")
    with pytest.raises(UnsafeArchive, match="limit is 2 MiB"):
        extract_zip(big, str(tmp_path / "out3"))
    assert not os.path.exists(tmp_path / "out3")


def _corrupt_second_member(path):
    """Overwrite the middle of the second member's data: the zip still opens, reading that member fails."""
    with zipfile.ZipFile(path) as z:
        m = z.infolist()[1]
    with open(path, "r+b") as f:
        f.seek(m.header_offset + 30 + len(m.filename.encode()) + len(m.extra) + m.compress_size // 2)
        f.write(b"\xff\x00\xfe" * 40)


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_zip_that_fails_mid_read_leaves_no_folder_behind(tmp_path, compression):
    import random
    rnd = random.Random(1)
    z = make_zip(tmp_path / "c.zip", {"a.png": png_bytes((9, 9, 9)), "b.png": rnd.randbytes(4000) * 3,
                                      "c.png": png_bytes((1, 1, 1))}, compression=compression)
    _corrupt_second_member(z)
    with zipfile.ZipFile(z) as zf:
        assert len(zf.infolist()) == 3  # opening still works
    with pytest.raises(DatasetError, match=r"'c\.zip' is corrupt.*b\.png.*nothing was kept"):
        extract_zip(z, str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out")
    with pytest.raises(DatasetError, match="corrupt"):
        load_zip(z, str(tmp_path / "out2"))
    assert not os.path.exists(tmp_path / "out2")


def test_a_failed_extraction_into_an_existing_folder_keeps_what_was_there(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    z = make_zip(tmp_path / "d.zip", {"a.png": png_bytes((9, 9, 9)), "sub/b.png": png_bytes((1, 1, 1))})
    from gan.data import folder

    def full_disk(file, mode="r", *a, **kw):
        if "w" in mode and str(file).endswith("b.png"):
            raise OSError(28, "No space left on device")
        return open(file, mode, *a, **kw)

    monkeypatch.setattr(folder, "open", full_disk, raising=False)  # shadows the builtin inside gan.folder only
    with pytest.raises(DatasetError, match="No space left on device"):
        extract_zip(z, str(out))
    monkeypatch.undo()
    assert sorted(os.listdir(out)) == ["mine.txt"]
