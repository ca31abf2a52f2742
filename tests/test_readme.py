"""The README stays true to the code: its settings table is the one gan/settings.py prints, every registered
dataset, model and loss has a row, and its two set-up commands are the ones .ci/run runs."""
import re
from pathlib import Path

from gan import settings
from gan.registry import DATASETS, LOSSES, MODELS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_settings_table_is_the_one_settings_prints():
    assert settings.markdown_table() in README, "README's settings table is stale: paste gan.settings.markdown_table()"


def test_every_registered_name_has_a_row():
    rows = set(re.findall(r"^\| `([^`]+)`", README, flags=re.M))
    rows |= {n for cell in re.findall(r"^\| (`[^|]+)\|", README, flags=re.M) for n in re.findall(r"`([^`]+)`", cell)}
    for registry in (DATASETS, MODELS, LOSSES):
        missing = [name for name in registry.names() if name not in rows]
        assert not missing, f"no README row for {missing}"


def test_the_test_command_is_the_one_ci_runs():
    commands = re.findall(r"```bash\n(python3 -m venv[^\n]+)\n```", README)
    assert len(commands) >= 2, "the README must start with the two set-up commands"
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
