"""Helpers shared by the tests (plain functions; the fixtures built on them are in tests/conftest.py).

Import them as `from tests.helpers import wait_for`. Nothing here asserts how fast this machine is: waits take a
generous timeout and fail only when a thing never happens, and Clock lets a test move the time a module sees."""
from __future__ import annotations

import contextlib
import gc
import io
import os
import socket
import sys
import time
import zipfile
from typing import Any, Callable, Iterator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository
CHROMIUM = "/usr/bin/chromium"  # the browser tests' Chromium (conftest.browser skips them without it)
EXAMPLES = os.path.join(ROOT, "checkpoints", "examples")  # the shipped examples (scripts/make_examples.py)
TINY_PAIR = "tiny-pair-app"  # the dataset name of conftest.pair_name
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


# ---- configs -----------------------------------------------------------------------------------------------
def tiny_config(**kw: Any) -> Any:
    """A TrainConfig small enough for two-step tests (a 16-wide net, z_dim 8, batch 16, on the CPU)."""
    from gan.config import TrainConfig

    base = dict(batch_size=16, width=16, z_dim=8, seed=0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def tiny_ring(**kw: Any) -> Any:
    """The tiny ring8 run the app-layer tests train in a background thread (z_dim 4)."""
    return tiny_config(**{"dataset": "ring8", "z_dim": 4, **kw})


# ---- the CLI -----------------------------------------------------------------------------------------------
def run_cli(capsys: Any, *argv: Any) -> tuple[int, str, str]:
    """`gan ARGV` in this process: (exit code, stdout, stderr)."""
    from gan.cli.main import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def gan_process(*args: Any, cwd: Any = None, **env: str) -> Any:
    """`python -m gan ARGS` in a child process (one OMP thread, the repository on its path, `env` added);
    returns the CompletedProcess with its text output."""
    import subprocess

    full = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1", **env}
    return subprocess.run([sys.executable, "-m", "gan", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=full, timeout=120)


# ---- waiting without betting on the machine's speed ---------------------------------------------------------
def wait_for(cond: Callable[[], Any], timeout: float = 30.0, what: str = "condition", *, every: float = 0.02) -> Any:
    """Poll `cond()` every `every` s until it is truthy and return its value, or fail naming `what` after `timeout`
    seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = cond()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_until(cond: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """wait_for at a browser's pace: every 0.2 s, 60 s by default."""
    return wait_for(cond, timeout, what, every=0.2)


def poll_status(client: Any, cond: Callable[[dict], bool], timeout: float = 30.0, what: str = "status") -> dict:
    """Poll the app's /status through `client` until `cond(status)`; returns that status or fails naming `what`."""
    t0, st = time.monotonic(), None
    while time.monotonic() - t0 < timeout:
        st = client.predict(api_name="/status")
        if cond(st):
            return st
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last status {st}")


class Clock:
    """A stand-in for the `time` module of a module under test: its monotonic() and perf_counter() move only when
    the test moves them (`advance`, `now = ...`); everything else (sleep, time, strftime...) is the real `time`.
    Patch it in with monkeypatch.setattr(module, "time", clock) to test what a module decides from elapsed time,
    whatever the speed of the machine."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now

    perf_counter = monotonic

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


# ---- a launched app ----------------------------------------------------------------------------------------
def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(manager: Any, **build_kw: Any) -> Iterator[tuple[str, Any]]:
    """Launch the app on a free local port around `manager`; yields (url, app) and shuts both down after."""
    from demo.app import build_app, launch_kwargs, queue

    app = queue(build_app(manager, **build_kw))
    kw = launch_kwargs(manager)
    kw.update(server_name="127.0.0.1", server_port=free_port())
    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True, **kw)
    try:
        yield url, app
    finally:
        manager.shutdown()
        app.close()


def run_manager(checkpoint_dir: Any, **kw: Any) -> Any:
    """The RunManager most tests use: one slot, no autosave, training in-process (no ZeroGPU chunks)."""
    from demo.runs.manager import RunManager

    return RunManager(**{"max_runs": 1, "checkpoint_dir": checkpoint_dir, "autosave_every": 0, "chunk_runner": None,
                         **kw})


@contextlib.contextmanager
def quick_meters(cache_dir: Any, **settings: Any) -> Iterator[None]:
    """Quality scores every second (GAN_QUALITY_EVERY=1) from small classifiers (one epoch on 2,000 images)
    cached in `cache_dir`, so a test's quality charts fill within seconds; `settings` override more of
    demo.runs.monitors.METERS.settings. Everything is put back after."""
    import pytest

    from demo.runs.monitors import METERS

    saved = dict(METERS.settings)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAN_QUALITY_EVERY", "1")
        METERS.settings.update(cache_dir=str(cache_dir), epochs=1, max_train=2000, **settings)
        try:
            yield
        finally:
            METERS.settings.clear()
            METERS.settings.update(saved)


def style_checkpoint(folder: Any, small_digits: Any, name: str = "digits-stylegan.pt") -> str:
    """A tiny unconditional stylegan after 3 steps, saved as folder/examples/`name` (where the app keeps its
    shipped examples)."""
    from gan.checkpoint import save_checkpoint
    from gan.train.trainer import Trainer

    t = Trainer(tiny_config(dataset="digits", model="stylegan", batch_size=8, width=4, z_dim=8, r1_every=2,
                            conditional=False), data=small_digits)
    for _ in range(3):
        t.step()
    os.makedirs(folder / "examples", exist_ok=True)
    return save_checkpoint(t, str(folder / "examples" / name))


def img_src(page: Any, elem_id: str) -> str | None:
    """The src of the first image inside the element `elem_id` of a Playwright page, or None."""
    loc = page.locator(f"#{elem_id} img")
    return loc.first.get_attribute("src") if loc.count() else None


# ---- files -------------------------------------------------------------------------------------------------
def png_bytes(colour: Any, size: tuple[int, int] = (20, 20), mode: str = "RGB", *, seed: int | None = None) -> bytes:
    """A PNG of one colour, `size` = (width, height); with a seed, a random pattern around that colour (what
    CycleGAN needs: images of one flat colour give instance norm zero variance, and its gradients explode)."""
    import numpy as np
    from PIL import Image

    img = Image.new(mode, size, colour)
    if seed is not None:
        a = np.asarray(img, dtype=np.int16)
        a = a + np.random.default_rng(seed).integers(-40, 40, a.shape)
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), mode)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def make_zip(path: Any, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> str:
    """A zip at `path` holding `members` (name -> bytes); returns its path as a string."""
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


# ---- memory, counted from what the process holds (not from the allocator) ------------------------------------
def _reachable(root: Any, skip: tuple = ()) -> Iterator[Any]:
    """Every object reachable from `root` through references, each once, not going through modules, classes,
    functions, methods, frames or the objects in `skip`."""
    import types

    opaque = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.CodeType,
              types.MethodType, types.FrameType)
    stack, seen = [root], {id(s) for s in skip}
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, opaque):
            continue
        seen.add(id(obj))
        yield obj
        stack.extend(gc.get_referents(obj))


def tensor_bytes(root: Any = None, *, skip: tuple = ()) -> int:
    """Bytes of the torch storages held by every live object (root None) or reachable from `root` (not through
    `skip`), each storage counted once. Unlike RSS this does not move with the allocator's arenas, with the free
    heap earlier tests left, or with the machine: it is what the code keeps."""
    import torch

    gc.collect()
    storages: dict[int, int] = {}
    for obj in gc.get_objects() if root is None else _reachable(root, skip):
        if issubclass(type(obj), torch.Tensor) and obj.device.type == "cpu" and obj.layout == torch.strided:
            st = obj.untyped_storage()
            storages[st.data_ptr()] = max(storages.get(st.data_ptr(), 0), st.nbytes())
    return sum(storages.values())


def held_bytes(root: Any, *, skip: tuple = ()) -> int:
    """Bytes reachable from `root` (sys.getsizeof of each object, plus the storages of its tensors), not going
    through `skip`: what a long-lived object keeps, measured by what it references rather than by RSS."""
    gc.collect()
    return sum(sys.getsizeof(o, 0) for o in _reachable(root, skip)) + tensor_bytes(root, skip=skip)


# ---- checkpoints and pictures --------------------------------------------------------------------------------
def good_checkpoint(folder: Any) -> str:
    """A real one-step checkpoint of the tiny ring8 run (tiny_ring), saved as folder/good.pt."""
    from gan.checkpoint import save_checkpoint
    from gan.train.trainer import Trainer

    t = Trainer(tiny_ring())
    t.step()
    return save_checkpoint(t, str(folder / "good.pt"))


class Evil:
    """Pickles to a call of open(marker, "w"): unpickling it creates the file `marker` (code in a checkpoint)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (self.marker, "w"))


def pixels(path: Any) -> Any:
    """The picture at `path` as an (H, W, 3) int16 array (differences of pixels do not wrap around)."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


# ---- the app as a stranger meets it: raw calls, shared mode, leaks ------------------------------------------
OPAQUE = "upstream Gradio app has raised an exception"  # Gradio's message when an error says nothing
SECRET = "srvsecret"  # the name of the shared app's tmp folder (conftest.shared_app): must never reach a reply
RING = dict(dataset="ring8", model="auto", loss="hinge", batch_size=64, lr=None, seed=0, z_dim=None, width=16)
TRAIN_FORM = dict(dataset="ring8", model="auto", loss="bce", batch_size=32, lr=None, seed=0, z_dim=None, width=16)
_HTTP: list = []  # one connection pool: raw calls cost ~30 ms instead of a new connection each


def call(url: str, api: str, data: list, *, session: str | None = None, timeout: float = 60.0) -> tuple[str, Any]:
    """One raw call of a named endpoint (NaN, Infinity and a missing session included): ("complete", output list)
    or ("error", message); a message of None is Gradio's opaque default."""
    import json

    import httpx

    if not _HTTP:
        _HTTP.append(httpx.Client(timeout=60.0))
    http = _HTTP[0]
    body = {"data": data, **({"session_hash": session} if session else {})}
    r = http.post(f"{url}gradio_api/call/{api.strip('/')}", content=json.dumps(body, allow_nan=True),
                  headers={"content-type": "application/json"}, timeout=timeout)
    if r.status_code != 200:
        return "http", f"{r.status_code}: {r.text[:300]}"
    event_id = r.json()["event_id"]
    event = None
    with http.stream("GET", f"{url}gradio_api/call/{api.strip('/')}/{event_id}", timeout=timeout) as s:
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line[5:])
                if event == "complete":
                    return "complete", payload
                return "error", payload.get("error") if isinstance(payload, dict) else payload
    return "none", None


def error_of(fn: Callable, *args: Any, **kw: Any) -> str:
    """The message of the gradio_client error that fn(*args) must raise."""
    import pytest

    with pytest.raises(Exception) as e:
        fn(*args, **kw)
    return str(e.value)


def cyclegan_export_zip(folder: Any, *, dataset: str | None = None) -> str:
    """The shipped CycleGAN example exported in the Hub's format and zipped into `folder` (its train_config's
    dataset replaced by `dataset` if given); returns the zip's path."""
    import json
    from pathlib import Path

    from gan.hub import export

    out = export(os.path.join(EXAMPLES, "digits2colordigits-cyclegan.pt"), Path(folder) / "cyc-export")
    if dataset is not None:
        cfg = json.loads((out / "config.json").read_text())
        cfg["train_config"]["dataset"] = dataset
        (out / "config.json").write_text(json.dumps(cfg))
    path = Path(folder) / f"cyc-{dataset or 'own'}-export.zip"
    with zipfile.ZipFile(path, "w") as z:
        for p in sorted(out.iterdir()):
            z.write(p, f"cyc-export/{p.name}")
    return str(path)


def own(names: list[str]) -> list[str]:
    """A /checkpoints list without the shipped examples (always listed, from the repository's examples folder)."""
    return [n for n in names if not n.startswith("examples/")]


def without_files(obj: Any, cache: str) -> Any:
    """obj with Gradio FileData (paths in Gradio's own cache, checked to be there) replaced by their names."""
    if isinstance(obj, dict):
        if (obj.get("meta") or {}).get("_type") == "gradio.FileData":
            assert str(obj.get("path", "")).startswith(cache), f"a file served from outside Gradio's cache: {obj}"
            return os.path.basename(str(obj.get("path")))
        return {k: without_files(v, cache) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [without_files(v, cache) for v in obj]
    return obj


def assert_no_server_path(obj: Any, *more: str) -> None:
    """No server path (tmp, the working tree, pytest's folders, SECRET, or `more`) in obj or its JSON."""
    import json

    from demo.runs.storage import ROOT as APP_ROOT

    text = obj if isinstance(obj, str) else json.dumps(obj, default=str)
    for bad in ("/tmp/", "/work/", "/root/", str(APP_ROOT), "pytest-of", SECRET, *more):
        assert bad not in text, f"{bad!r} reached a visitor: {text[:600]}"


def grey_png(w: int, h: int, value: int = 128, mode: str = "RGB") -> bytes:
    """A w x h PNG of one grey level."""
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3) if mode == "RGB" else (h, w), value, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def image_zip(path: Any, n: int = 8, size: int = 12) -> str:
    """A zip of n small grey PNGs."""
    return make_zip(path, {f"img{i}.png": grey_png(size, size, 20 * i) for i in range(n)})


def craft(path: Any, cfg: Any, **train_config: Any) -> str:
    """A real one-step checkpoint of cfg, whose saved train_config is then edited (an attacker's file)."""
    import torch

    from gan.checkpoint import save_checkpoint, save_state
    from gan.train.trainer import Trainer

    tr = Trainer(cfg)
    tr.step()
    save_checkpoint(tr, str(path))
    if train_config:
        state = torch.load(path, weights_only=True)
        state["train_config"].update(train_config)
        save_state(state, str(path))
    return str(path)


def req(session: str) -> Any:
    """A stand-in for gr.Request when a test calls the page's handlers directly."""
    from types import SimpleNamespace

    return SimpleNamespace(session_hash=session)


def client(url: str) -> Any:
    """A gradio_client for `url`: a new visitor (its own session)."""
    from gradio_client import Client

    return Client(url, verbose=False)


def train_and_stop(c: Any, **kw: Any) -> str:
    """Train a small ring8 run (RING) as client `c` until it has stepped, stop it; returns its checkpoint's name."""
    c.predict(**{**RING, **kw}, api_name="/train")
    poll_status(c, lambda s: s["state"] == "running" and s["step"] > 2, what="training")
    c.predict(api_name="/stop")
    st = c.predict(api_name="/status")
    assert st["state"] == "stopped" and st["checkpoint"], st
    return st["checkpoint"]


class Spy:
    """Records every dataset load and every folder of images read, in this process."""

    def __init__(self, monkeypatch: Any) -> None:
        import gan.data.folder as folder_mod
        import gan.data.spec as datasets_mod
        import gan.train.trainer as trainer_mod

        self.loads: list = []
        self.folders: list = []
        real_load, real_images = datasets_mod.load_dataset, folder_mod._load_images

        def load(name: str, *a: Any, **kw: Any) -> Any:
            self.loads.append((name, kw.get("data_dir")))
            return real_load(name, *a, **kw)

        def images(path: str, *a: Any, **kw: Any) -> Any:
            self.folders.append(os.path.realpath(path))
            return real_images(path, *a, **kw)
        monkeypatch.setattr(datasets_mod, "load_dataset", load)
        monkeypatch.setattr(trainer_mod, "load_dataset", load)
        monkeypatch.setattr(folder_mod, "_load_images", images)
