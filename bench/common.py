"""Shared helpers for the benchmarks: paths, machine description, mean ± sd, and RESULTS.md sections.

Each benchmark owns one section of bench/RESULTS.md, delimited by HTML comments
(`<!-- bench:NAME -->` ... `<!-- /bench:NAME -->`); re-running a benchmark replaces its section only.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import re
import statistics
import sys
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared"
RESULTS = ROOT / "bench" / "RESULTS.md"


def shared_path(*parts: str, what: str = "file") -> Path:
    """A path under ../shared, or exit 2 with a clear message if it is not there."""
    p = (SHARED.joinpath(*parts)).resolve()
    if not p.exists():
        sys.exit(f"error: {what} not found at {p} (expected the shared folder next to the repository: "
                 f"{SHARED.resolve()}); pass its location with the matching flag")
    return p


def machine() -> str:
    """One line: cores, CPU, torch and Python versions, threads."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    try:
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
    except OSError:
        load = "?"
    return (f"{os.cpu_count()} cores ({cpu}), torch {torch.__version__}, Python {platform.python_version()}, "
            f"{platform.system()}; load average at start {load}")


def mean_sd(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    v = [float(x) for x in values]
    if not v:
        return math.nan, math.nan
    return statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0


def fmt_mean_sd(values: Iterable[float], digits: int = 1, scale: float = 1.0, suffix: str = "") -> str:
    """'7.7 ± 0.6' (values times scale)."""
    m, s = mean_sd(float(x) * scale for x in values)
    if math.isnan(m):
        return "n/a"
    return f"{m:.{digits}f} ± {s:.{digits}f}{suffix}"


def now() -> str:
    return _dt.datetime.now().strftime("%Y-%m-%d %H:%M")


def update_results(name: str, body: str, *, path: Path = RESULTS) -> Path:
    """Replace (or append) the section `name` of RESULTS.md with `body` (markdown, with its own heading)."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}\n"
    text = path.read_text() if path.exists() else (
        "# Benchmark results\n\nWritten by the scripts in `bench/`; each section is replaced when its "
        "script runs again. Figures are from the machine named in each section.\n\n")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def thread_env(threads: int | None) -> dict[str, str]:
    """A copy of the environment that pins BLAS/OpenMP threads (unchanged when threads is None)."""
    env = dict(os.environ)
    if threads:
        for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[k] = str(threads)
    return env
