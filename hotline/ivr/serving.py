"""Which compiled version of each flow serves new calls, and the versions
calls may still be in; features that keep a copy elsewhere (the dialplan,
hotline/ivr/engine.py) subscribe to its changes."""

from __future__ import annotations

from collections.abc import Callable

from hotline.ivr.runner import CompiledFlow

# Versions kept after they stop serving: a call still in one resumes over
# FastAGI with it (a call spends well under a minute in the IVR, and flows
# are published a few times a day).
KEPT_VERSIONS = 4


class Serving:
    def __init__(self) -> None:
        self._current: dict[str, CompiledFlow] = {}
        self._recent: dict[str, list[CompiledFlow]] = {}
        self._hooks: list[Callable[[str], None]] = []

    def take(self, name: str, compiled: CompiledFlow) -> None:
        self._current[name] = compiled
        self.keep(name, compiled)
        for hook in self._hooks:
            hook(name)

    def keep(self, name: str, compiled: CompiledFlow) -> None:
        """A version calls may still be in, not serving (start-up)."""
        kept = [c for c in self._recent.get(name, []) if c.version != compiled.version]
        self._recent[name] = [*kept, compiled][-KEPT_VERSIONS:]

    def current(self, name: str) -> CompiledFlow | None:
        return self._current.get(name)

    def version(self, name: str, version: int) -> CompiledFlow | None:
        return next((c for c in self._recent.get(name, []) if c.version == version), None)

    def recent(self, name: str) -> list[CompiledFlow]:
        return list(self._recent.get(name, []))

    def on_change(self, hook: Callable[[str], None]) -> None:
        """hook(flow name) after a version starts serving (publish, rollback,
        start-up, or one taken from another controller)."""
        self._hooks.append(hook)
