"""Make the example checkpoints that ship in checkpoints/examples/ (what a visitor explores on arrival), with
the project's own CLI, then slim them (gan.checkpoint.slim_state: sampling weights as float16, D for the
Theory view, configs, history; no optimizer state), so the whole folder stays a few MB.

    python scripts/make_examples.py                 # all of them (333 s on 2 busy cores, 2026-11-23; 2.42 MiB)
    python scripts/make_examples.py --only ring8-toy
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python scripts/make_examples.py`: this checkout's gan
    sys.path.insert(0, str(ROOT))

from gan.checkpoint import load_state, save_state, slim_state  # noqa: E402

OUT = ROOT / "checkpoints" / "examples"
# name -> (the CLI's train flags, what the example shows); seeds fixed so anyone regenerates the same files
EXAMPLES: dict[str, tuple[list[str], str]] = {
    "digits-dcgan": (["--dataset", "digits", "--model", "dcgan", "--steps", "3000"],
                     "Explore: the convolutional image model"),
    "ring8-toy": (["--dataset", "ring8", "--steps", "8000"], "Theory: the 2-D game on the ring of 8 modes"),
    "digits-stylegan": (["--dataset", "digits", "--model", "stylegan", "--steps", "2000"],
                        "Explore: W sliders, style mixing and noise"),
    "digits2colordigits-cyclegan": (["--dataset", "digits2colordigits", "--model", "cyclegan", "--steps", "1200"],
                                    "Translate: digits to colour digits and back"),
}


def make(name: str, flags: list[str], note: str) -> Path:
    """Train one example with the CLI and write its slim checkpoint and card; returns the checkpoint."""
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / f"{name}.pt"
        cmd = [sys.executable, "-m", "gan", "train", *flags, "--seed", "0", "--out", str(full), "--quiet"]
        t0 = time.time()
        subprocess.run(cmd, check=True, cwd=ROOT)
        state = load_state(str(full))
    OUT.mkdir(parents=True, exist_ok=True)
    path = save_state(slim_state(state, half=True), str(OUT / f"{name}.pt"))
    tc = state["train_config"]
    card = {"run_id": f"example-{name}", "dataset": tc["dataset"], "model": tc["model"], "loss": tc["loss"],
            "step": state["step"], "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"), "example": note,
            "command": "python -m gan train " + " ".join(flags + ["--seed", "0"]),
            "metrics": state.get("metrics", {})}
    Path(path).with_suffix(".json").write_text(json.dumps(card, indent=1))
    print(f"{name}: {Path(path).stat().st_size / 2**20:.2f} MiB, {time.time() - t0:.0f} s, "
          f"metrics {json.dumps({k: round(v, 3) for k, v in card['metrics'].items()})}", flush=True)
    return Path(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated names: " + ", ".join(EXAMPLES))
    a = ap.parse_args()
    names = a.only.split(",") if a.only else list(EXAMPLES)
    for name in names:
        flags, note = EXAMPLES[name]
        make(name, flags, note)
    total = sum(p.stat().st_size for p in OUT.glob("*"))
    print(f"checkpoints/examples/: {total / 2**20:.2f} MiB in all")


if __name__ == "__main__":
    main()
