"""Name -> entry registries for models, losses, datasets and model families.

The registries are created here, empty, and filled by the modules that define the entries (gan/classic/family.py,
gan/losses.py, gan/data/toy.py, ...). `gan/__init__.py` imports those modules, so any `import gan.X`
sees every built-in entry; a user adds their own with `register(...)`.
"""
from __future__ import annotations

from typing import Generic, Iterator, TypeVar

from .errors import ConfigError, unknown

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered name -> entry map that fails loudly on unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T, *, replace: bool = False) -> T:
        """Add `entry` under `name`; refuses to overwrite an existing name unless replace=True."""
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove `name` (tests that register a temporary entry clean up with this)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """The entry for `name`, or ConfigError: "unknown <kind> 'x'; choose from ..."."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise ConfigError(unknown(self.kind, name, self._entries)) from None

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, name: str) -> T:
        return self.get(name)


MODELS: Registry = Registry("model")
LOSSES: Registry = Registry("loss")
DATASETS: Registry = Registry("dataset")
FAMILIES: Registry = Registry("model family")

__all__ = ["DATASETS", "FAMILIES", "LOSSES", "MODELS", "Registry"]
