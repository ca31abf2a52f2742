"""Make the example checkpoints that ship in checkpoints/examples/ (what a visitor explores on arrival), with
the project's own CLI, then slim them (gan.checkpoint.slim_state: sampling weights as float16, D for the
Theory view, configs, history; no optimizer state), so the whole folder stays a few MB.

The examples a page shows charts of (the Train tab's and the Theory tab's) are trained in this process instead,
as the CLI trains them, scored along the way as the app scores a run (the quality numbers, or the game's V, JS
and modes), so their quality, "game over time" and mode-coverage charts have a past to show (`rows` in the
checkpoint).

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

from gan.checkpoint import load_state, save_checkpoint, save_state, slim_state  # noqa: E402

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


ROWS_EVERY = {"digits-dcgan": 100, "ring8-toy": 200}  # examples scored every this many steps as they train


def train_scored(flags: list[str], out: Path, every: int) -> None:
    """`python -m gan train FLAGS` in this process, with the run scored every `every` steps into its rows."""
    from gan.cli.main import TRAIN_FLAGS, build_parser
    from gan.config import TrainConfig
    from gan.metrics.scores import build_meter, run_scores, score
    from gan.theory.state import theory_row, theory_state
    from gan.train.threads import set_threads
    from gan.train.trainer import Trainer

    a = build_parser().parse_args(["train", *flags, "--seed", "0"])
    values = {field: getattr(a, field) for field, _, _ in TRAIN_FLAGS.values()}
    trainer = Trainer(TrainConfig(dataset=a.dataset, conditional=a.conditional, seed=a.seed, device=a.device, **values))
    set_threads(a.threads, trainer)
    data = trainer.data
    theory = data.kind == "points" and getattr(data, "density", None) is not None
    meter = None if data.kind == "points" else build_meter(data)

    def record(t: Trainer, _stats: dict) -> None:
        if t.step_count % every:
            return
        if theory:  # the numbers of the Theory tab (V, JS, modes), as demo/runs/monitors.py measures them
            t.rows.append(theory_row(theory_state(t.G, t.D, data, n=800, n_eval=400), t.step_count))
        else:  # the numbers of the Train tab's quality charts
            t.rows.append({"step": t.step_count, **score(t.sampling_nets(), t.family, data, meter=meter)})

    trainer.add_callback("on_step", record)
    trainer.train(steps=a.steps)
    trainer.metrics.update(run_scores(trainer))
    save_checkpoint(trainer, str(out))


def make(name: str, flags: list[str], note: str) -> Path:
    """Train one example with the CLI and write its slim checkpoint and card; returns the checkpoint."""
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / f"{name}.pt"
        t0 = time.time()
        if name in ROWS_EVERY:
            train_scored(flags, full, ROWS_EVERY[name])
        else:
            cmd = [sys.executable, "-m", "gan", "train", *flags, "--seed", "0", "--out", str(full), "--quiet"]
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
