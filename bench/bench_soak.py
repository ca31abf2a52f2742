"""Soak: many upload-zip / train / stop / delete cycles from several gradio_client clients against the app in
shared mode, watching the app's disk and memory (issue 16: "disk fills; nothing is deleted", "finished runs
keep their whole trainer").

The app runs as its own process (`python demo/app.py`, GAN_SHARED=1), with every folder it writes under one
temporary folder: checkpoints (GAN_CHECKPOINT_DIR), uploads, exports and run pictures (TMPDIR) and Gradio's
cache of uploaded files (GRADIO_TEMP_DIR). Each client repeats: upload a small zip of images (a different one
each time), train on it until it has stepped, stop (a checkpoint is written), delete that checkpoint. The
cycles run in rounds of `--every`; after each round, with no run active, it prints the disk used by each
folder and the app's resident memory; the last line gives the start, end and maximum of both. It stops by
itself after `--cycles` cycles (or `--max-seconds`) and writes its figures to bench/RESULTS.md ("soak").

    .venv/bin/python bench/bench_soak.py                 # 200 cycles from 3 clients
    .venv/bin/python bench/bench_soak.py --cycles 60     # a quicker check
    .venv/bin/python bench/bench_soak.py --hostile       # each cycle also sends three crafted files (below)

With --hostile each cycle also sends what hardening round 3 refused: an export zip whose config asks for a
path as its loss and a 700x700 mlp, a checkpoint whose weights do not fit its config and whose dataset this
server lacks, and a 13000 x 13000 PNG to translate; each must come back refused, and disk and memory stay flat.
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, machine, now, update_results  # noqa: E402

import httpx  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402
from PIL import Image  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def du(path: Path) -> tuple[int, int]:
    """(bytes, files) under path."""
    total = files = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_size
                files += 1
            except OSError:
                pass  # deleted while we walked
    return total, files


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def image_zip(path: Path, seed: int, n: int = 16, size: int = 24) -> str:
    """A zip of n small PNGs, different for every seed (so Gradio's cache cannot share them)."""
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(n):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, "PNG")
            z.writestr(f"img{i:02d}.png", buf.getvalue())
    return str(path)


def hostile_files(folder: Path) -> dict[str, str]:
    """The crafted files of --hostile: a lying export zip, an unloadable checkpoint and an image bomb."""
    import json

    import torch

    from gan.checkpoint import save_checkpoint
    from gan.config import TrainConfig
    from gan.hub import export
    from gan.train.trainer import Trainer

    t = Trainer(TrainConfig(dataset="ring8", batch_size=16, width=16, z_dim=4, device="cpu"))
    t.train(steps=2)
    ckpt = save_checkpoint(t, str(folder / "ring8.pt"))
    exp = export(ckpt, folder / "exp")
    cfg = json.loads((exp / "config.json").read_text())
    cfg["train_config"]["loss"] = f"/../../../../{folder}/escaped"
    cfg["model_config"].update(model="mlp", data_shape=[1, 700, 700])
    with zipfile.ZipFile(folder / "crafted-export.zip", "w") as z:
        z.writestr("config.json", json.dumps(cfg))
        z.writestr("model.safetensors", (exp / "model.safetensors").read_bytes())
    state = torch.load(ckpt, weights_only=True)
    state["model_config"]["width"] += 1
    state["train_config"]["dataset"] = "mnist"
    torch.save(state, folder / "unloadable.pt")
    Image.new("L", (13000, 13000)).save(folder / "bomb.png")
    return {"export": str(folder / "crafted-export.zip"), "checkpoint": str(folder / "unloadable.pt"),
            "bomb": str(folder / "bomb.png")}


class Soak:
    hostile: dict[str, str] | None = None  # the crafted files of --hostile, by kind

    def __init__(self, url: str, base: Path, pid: int, cycles: int, every: int, deadline: float) -> None:
        self.url, self.base, self.pid = url, base, pid
        self.cycles, self.every, self.deadline = cycles, every, deadline
        self.lock = threading.Lock()
        self.started = 0  # cycles handed out
        self.done = 0
        self.errors: list[str] = []
        self.cycle_s: list[float] = []
        self.rows: list[dict] = []
        self.t0 = time.monotonic()
        self.folders = {"checkpoints": base / "checkpoints", "uploads": base / "tmp" / "gan-lab-uploads",
                        "exports": base / "tmp" / "gan-lab-exports", "run pictures": base / "tmp" / "gan-lab-runs",
                        "gradio cache": base / "gradio"}

    def take(self, last: int) -> int | None:
        """The next cycle number up to `last` (this round's end), or None."""
        with self.lock:
            if self.started >= last or time.monotonic() > self.deadline:
                return None
            self.started += 1
            return self.started

    def measure(self, cycle: int) -> dict:
        row = {"cycle": cycle, "t": time.monotonic() - self.t0, "rss": rss_mb(self.pid)}
        for name, folder in self.folders.items():
            row[name], row[name + " files"] = du(folder)
        row["disk"] = sum(row[k] for k in ("checkpoints", "uploads", "exports"))
        row["all"] = row["disk"] + row["run pictures"] + row["gradio cache"]
        return row

    def report(self, row: dict) -> None:
        mb = lambda b: f"{b / 2**20:6.2f}"  # noqa: E731
        print(f"cycle {row['cycle']:4d}  {row['t']:6.0f} s  disk {mb(row['disk'])} MB (checkpoints "
              f"{mb(row['checkpoints'])} in {row['checkpoints files']} files, uploads {mb(row['uploads'])} in "
              f"{row['uploads files']}, exports {mb(row['exports'])})  run pictures {mb(row['run pictures'])}  "
              f"gradio cache {mb(row['gradio cache'])} MB  app RSS {row['rss']:6.0f} MB  errors {len(self.errors)}",
              flush=True)

    def cycle(self, c: Client, zips: Path, n: int) -> None:
        def call(*args, api, timeout=120.0):
            return c.submit(*args, api_name=api).result(timeout=timeout)

        token, _ = call(handle_file(image_zip(zips / f"z{n}.zip", n)), api="/upload_zip")
        t_end = time.monotonic() + 120
        while True:
            try:
                call(token, "mlp", "bce", 8, None, n, 8, 8, api="/train")
                break
            except Exception as e:  # noqa: BLE001 - the busy refusal: wait for a slot
                if "busy" not in str(e) or time.monotonic() > t_end:
                    raise
                time.sleep(0.2)
        while time.monotonic() < t_end:
            st = call(api="/status")
            if st["state"] in ("stopped", "error") or (st["state"] == "running" and st["step"] >= 1):
                break
            time.sleep(0.05)
        call(api="/stop")
        st = call(api="/status")
        if st.get("error"):
            raise RuntimeError(f"run failed: {st['error']}")
        if not st.get("checkpoint"):
            raise RuntimeError(f"no checkpoint after stop: {st}")
        call(st["checkpoint"], api="/delete_checkpoint")
        for api, args in (() if self.hostile is None else (
                ("/load_export_zip", (handle_file(self.hostile["export"]),)),
                ("/upload", (handle_file(self.hostile["checkpoint"]),)),
                ("/translate", (handle_file(self.hostile["bomb"]), "a2b", 0)))):
            try:
                call(*args, api=api)
            except Exception:  # noqa: BLE001 - refused, as it must be
                continue
            raise RuntimeError(f"{api} accepted a crafted file")

    def client(self, c: Client, zips: Path, last: int) -> None:
        """Run cycles on this client until the round (cycle `last`) is done."""
        while (n := self.take(last)) is not None:
            t = time.monotonic()
            try:
                self.cycle(c, zips, n)
            except Exception as e:  # noqa: BLE001 - counted and shown, the soak goes on
                with self.lock:
                    self.errors.append(f"cycle {n}: {type(e).__name__}: {str(e)[:200]}")
            for f in zips.glob("*.zip"):
                f.unlink()
            with self.lock:
                self.cycle_s.append(time.monotonic() - t)
                self.done += 1

    def run(self, clients: list[Client]) -> None:
        """Rounds of `every` cycles shared by the clients; after each round, with no run active, a figure."""
        zips = [Path(tempfile.mkdtemp(prefix=f"client{k}-", dir=self.base)) for k in range(len(clients))]
        while self.done < self.cycles and time.monotonic() < self.deadline:
            last = min(self.cycles, self.started + self.every)
            threads = [threading.Thread(target=self.client, args=(c, z, last), daemon=True)
                       for c, z in zip(clients, zips)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            time.sleep(1.0)  # runs have ended and saved; let the app settle
            self.rows.append(self.measure(self.done))
            self.report(self.rows[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=200, help="upload/train/stop/delete cycles in all")
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--every", type=int, default=20, help="print disk and memory every N cycles")
    ap.add_argument("--max-seconds", type=float, default=1800.0, help="stop after this long whatever the count")
    ap.add_argument("--upload-ttl", type=float, default=20.0, help="GAN_UPLOAD_TTL_S for the app")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--hostile", action="store_true", help="each cycle also sends three crafted files")
    a = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="gan-soak-"))
    (base / "tmp").mkdir()
    port = free_port()
    env = {**os.environ, "GAN_SHARED": "1", "GAN_CHECKPOINT_DIR": str(base / "checkpoints"),
           "TMPDIR": str(base / "tmp"), "GRADIO_TEMP_DIR": str(base / "gradio"), "GRADIO_SERVER_PORT": str(port),
           "GRADIO_SERVER_NAME": "127.0.0.1", "GAN_MAX_RUNS": str(a.clients), "GAN_UPLOAD_TTL_S": str(a.upload_ttl),
           "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    settings = {k: env[k] for k in ("GAN_SHARED", "GAN_MAX_RUNS", "GAN_UPLOAD_TTL_S")}
    log = open(base / "app.log", "w")
    app = subprocess.Popen([sys.executable, str(ROOT / "demo" / "app.py")], env=env, stdout=log, stderr=log,
                           cwd=str(base))
    url = f"http://127.0.0.1:{port}/"
    print(f"soak: {a.cycles} cycles from {a.clients} clients against {url} (pid {app.pid}); {settings}; "
          f"folders under {base}", flush=True)
    try:
        t_end = time.monotonic() + 180
        while True:
            if app.poll() is not None:
                print((base / "app.log").read_text()[-3000:])
                raise SystemExit("the app exited before it was up")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > t_end:
                raise SystemExit("the app did not come up in 180 s")
            time.sleep(0.5)
        soak = Soak(url, base, app.pid, a.cycles, a.every, time.monotonic() + a.max_seconds)
        if a.hostile:
            (base / "crafted").mkdir()
            soak.hostile = hostile_files(base / "crafted")
        time.sleep(2.0)  # let the app's warm-up finish before the first figure
        first = soak.measure(0)
        soak.rows.append(first)
        soak.report(first)
        soak.run([Client(url, verbose=False) for _ in range(a.clients)])
        wall = time.monotonic() - soak.t0
        alive = app.poll() is None and httpx.get(url, timeout=10).status_code == 200
    finally:
        app.terminate()
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()
        log.close()

    rows = soak.rows
    disk = [r["disk"] / 2**20 for r in rows]
    everything = [r["all"] / 2**20 for r in rows]
    rss = [r["rss"] for r in rows]
    after = rows[1:] or rows
    final = (f"{soak.done} cycles in {wall:.0f} s ({np.median(soak.cycle_s):.2f} s median per cycle per client), "
             f"{len(soak.errors)} errors, app up at the end: {alive}. Disk (checkpoints + uploads + exports) "
             f"start/end/max {disk[0]:.2f}/{disk[-1]:.2f}/{max(disk):.2f} MB; with run pictures and Gradio's "
             f"cache {everything[0]:.2f}/{everything[-1]:.2f}/{max(everything):.2f} MB; app RSS start/end/max "
             f"{rss[0]:.0f}/{rss[-1]:.0f}/{max(rss):.0f} MB (after the first {a.every} cycles: "
             f"{after[0]['rss']:.0f} -> {rss[-1]:.0f} MB)")
    print(final, flush=True)
    for e in soak.errors[:10]:
        print("  error:", e)
    table = ["| cycle | s | checkpoints MB (files) | uploads MB (files) | exports MB | run pictures MB | "
             "Gradio cache MB (files) | app RSS MB |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| {r['cycle']} | {r['t']:.0f} | {r['checkpoints'] / 2**20:.2f} ({r['checkpoints files']}) | "
                     f"{r['uploads'] / 2**20:.2f} ({r['uploads files']}) | {r['exports'] / 2**20:.2f} | "
                     f"{r['run pictures'] / 2**20:.2f} | {r['gradio cache'] / 2**20:.2f} "
                     f"({r['gradio cache files']}) | {r['rss']:.0f} |")
    body = "\n".join([
        "## Soak: upload / train / stop / delete from several clients (bench/bench_soak.py)"
        + (", with crafted files" if a.hostile else ""), "",
        f"{now()}; {machine()}.", "",
        f"`python bench/bench_soak.py --cycles {a.cycles} --clients {a.clients}{' --hostile' if a.hostile else ''}`: "
        f"the app as its own process in "
        f"shared mode ({', '.join(f'{k}={v}' for k, v in settings.items())}); each cycle uploads a different "
        f"zip of 16 PNGs (24x24), trains an mlp on it until it steps, stops (a checkpoint is written) and "
        f"deletes that checkpoint" + (" then sends a crafted export zip, an unloadable checkpoint and a 13000 x "
                                      "13000 PNG, each refused" if a.hostile else "") + ".", "", *table, "", final, "",
        *(["Errors (first 10): " + "; ".join(soak.errors[:10])] if soak.errors else [])])
    update_results("soak_hostile" if a.hostile else "soak", body)
    if not a.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if alive and not soak.errors else 1


if __name__ == "__main__":
    sys.exit(main())
