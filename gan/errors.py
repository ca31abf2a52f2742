"""The library's error types and the one place that checks numbers, choices and names.

Every user-facing value (a CLI flag, a page control, a config field, a checkpoint's config) is checked
here, so a bad value gets the same one-line message wherever it came from.
"""
from __future__ import annotations

import math
import re
from typing import Any, Iterable


class ConfigError(ValueError):
    """A config value is out of range or unknown; the message names the field."""


class DatasetError(ValueError):
    """The dataset cannot be loaded; the message says why and what to do."""


class CheckpointError(ValueError):
    """The file is not a checkpoint we can use; the message says why."""


def check_number(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, integer: bool = False) -> None:
    """Check that `value` is a finite number in range, or raise ConfigError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):  # before the whole-number test: int(nan) itself raises
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if integer and int(value) != value:
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ConfigError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(f"{name} must be <= {hi:g}, got {value!r}")


def unknown(kind: str, value: Any, choices: Iterable[str], *, extra: str = "") -> str:
    """The one wording for an unknown name: "unknown loss 'x'; choose from a, b, c"."""
    return f"unknown {kind} {value!r}; choose from {', '.join(choices)}{extra}"


def check_choice(name: str, value: Any, choices: Iterable[str]) -> None:
    """Check that `value` is one of `choices`, or raise ConfigError listing them."""
    choices = list(choices)
    if value not in choices:
        raise ConfigError(unknown(name, value, choices))


def parse_number(name: str, value: Any, *, integer: bool = False, lo: float | None = None,
                 hi: float | None = None, lo_open: bool = False, blank: Any = None) -> Any:
    """A number from text or a number, checked: the one parser for CLI flags and page controls.

    Blank text or None gives `blank`; whole floats become int for integer fields; anything else that is
    not a number, not finite or out of range raises ConfigError naming `name`.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return blank
    if isinstance(value, str):
        try:
            value = float(value.strip()) if not integer else _int_text(value.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a {'whole number' if integer else 'number'}, got {value!r}") from None
    if integer and isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    check_number(name, value, lo=lo, hi=hi, lo_open=lo_open, integer=integer)
    return value


def _int_text(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)  # "3.0" is accepted, "2.5" is refused by check_number as not whole


def safe_name(text: str, *, max_len: int = 40, fallback: str = "run") -> str:
    """A safe piece of a file name: letters, digits, '_', '.', '-' only; the one sanitiser for file names."""
    out = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-.")[:max_len].strip("-.")
    return out or fallback


__all__ = ["CheckpointError", "ConfigError", "DatasetError", "check_choice", "check_number", "parse_number",
           "safe_name", "unknown"]
