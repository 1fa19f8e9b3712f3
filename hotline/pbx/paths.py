"""Where one PBX instance keeps its configuration, sockets, logs and spool."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    base: Path

    @property
    def etc(self) -> Path:
        return self.base / "etc"

    @property
    def run(self) -> Path:
        return self.base / "run"

    @property
    def log(self) -> Path:
        return self.base / "log"

    @property
    def spool(self) -> Path:
        return self.base / "spool"

    @property
    def lib(self) -> Path:
        """Seen inside as /var/lib/asterisk/hotline: hold music, prompts."""
        return self.base / "lib"

    @property
    def pidfile(self) -> Path:
        return self.base / "supervisor.pid"

    @property
    def state_file(self) -> Path:
        return self.base / "supervisor.json"

    @property
    def console_log(self) -> Path:
        return self.log / "console.log"

    @property
    def messages_log(self) -> Path:
        return self.log / "messages.log"
