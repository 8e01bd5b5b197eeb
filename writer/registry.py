"""Name -> class registries fed by built-ins and by plugins' entry points (engines, judges, planners).

A built-in is named by its import path ("module:Class") and imported only when asked for, so
listing names never loads vLLM or DSPy. A plugin registers under the registry's entry-point
group (`writer.engines`, `writer.judges`, `writer.planners`) in its own package metadata,
exactly as the built-ins are listed here: the same lookup serves both.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from writer.errors import UsageError

__all__ = ["Registry"]


class Registry:
    """Classes of one kind by name: `names()`, `load(name)`."""

    def __init__(self, kind: str, group: str, builtins: dict[str, str]):
        self.kind = kind
        self.group = group
        self.builtins = builtins

    def _plugins(self) -> dict:
        return {ep.name: ep for ep in entry_points(group=self.group) if ep.name not in self.builtins}

    def names(self) -> list[str]:
        """Built-in names first, in their order, then plugins by name."""
        return list(self.builtins) + sorted(self._plugins())

    def check(self, name: str) -> None:
        """UsageError (one line) for a name that is neither built in nor a plugin."""
        if name not in self.builtins and name not in self._plugins():
            raise UsageError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}")

    def load(self, name: str) -> type:
        """The class registered as `name` (imported now)."""
        self.check(name)
        target = self.builtins.get(name)
        if target is None:
            return self._plugins()[name].load()
        module, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute)
