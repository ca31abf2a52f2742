"""The CLI's Hub commands: `export` (a checkpoint -> a folder in the Hub's conventions) and `push` (export and
upload to a Hub repo). See gan/hub.py.

    python -m gan export --checkpoint CKPT --out DIR
    python -m gan push --checkpoint CKPT --repo USER/NAME [--private]
"""
from __future__ import annotations

import argparse
from typing import Any, Callable

from ..hub import export, push


def add_parsers(sub: Any, number: Callable[..., Callable[[str], Any]]) -> None:
    """The `export` and `push` subcommands (`number` is the CLI's checked number type; unused here)."""
    e = sub.add_parser("export", help="write a checkpoint's generator as model.safetensors + config.json + "
                                      "a model card (the Hugging Face Hub's conventions)")
    e.add_argument("--checkpoint", required=True, help="checkpoint file")
    e.add_argument("--out", required=True, help="folder to write")
    p = sub.add_parser("push", help="export a checkpoint and upload it to a Hugging Face Hub repo (token: "
                                    "HF_TOKEN or `hf auth login`)")
    p.add_argument("--checkpoint", required=True, help="checkpoint file")
    p.add_argument("--repo", required=True, help="USER/NAME")
    p.add_argument("--private", action="store_true", help="create the repo private")


def run_export(a: argparse.Namespace) -> dict[str, Any]:
    folder = export(a.checkpoint, a.out)
    return {"out": str(folder), "files": sorted(p.name for p in folder.iterdir())}


def run_push(a: argparse.Namespace) -> dict[str, Any]:
    return {"repo": a.repo, "url": push(a.checkpoint, a.repo, private=a.private)}


__all__ = ["add_parsers", "run_export", "run_push"]
