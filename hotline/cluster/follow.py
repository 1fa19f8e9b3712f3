"""What a lead or an admin set at another controller, taken here after each
heartbeat: the IVR flow they published or rolled back, the emergency notice,
and the contingency plan started or ended (with the knobs each controller
holds itself). Each of these lives in the shared database; the controller
that changed it applied it at once, the others within a heartbeat.

A look runs beside the heartbeat, never inside it (a flow's prompts may
take a moment to make), and one at a time: a beat that finds one running
skips its turn."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError

from hotline.errors import HotlineError
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)


class SharedSettings:
    def __init__(self, node: str, steps: Sequence[tuple[str, Callable[[], Awaitable[object]]]]):
        self.node = node
        self.steps = list(steps)
        self.looks = 0
        self._tasks = TaskSet("shared-settings")

    async def beat(self, _loads: object) -> None:
        if not self._tasks.tasks:
            self._tasks.spawn(self.look(), name=f"shared-settings-{self.node}")

    async def look(self) -> None:
        for what, step in self.steps:
            try:
                await step()
            except (OSError, SQLAlchemyError, HotlineError) as exc:
                # The next heartbeat looks again.
                log.warning("%s on %s not followed: %s: %s", what, self.node, type(exc).__name__, exc)
        self.looks += 1

    async def close(self) -> None:
        await self._tasks.close()
