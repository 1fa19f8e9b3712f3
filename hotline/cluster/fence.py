"""What a feature asks before a cluster-wide decision.

On one node (no [cluster] node) there is nothing to fence: the controller
always leads and decides. With several controllers, only the leader decides,
and each decision is checked against its term inside its own transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.cluster.decisions import NotLeader, decide, in_term
from hotline.cluster.leader import Leadership
from hotline.jsonout import ReadModel


@dataclass(frozen=True)
class ClusterView(ReadModel):
    node: str
    leading: bool
    epoch: int | None
    terms_won: int


class Fence:
    def __init__(self, leadership: Leadership | None = None):
        self.leadership = leadership

    @property
    def leading(self) -> bool:
        return self.leadership is None or self.leadership.leading

    def on_lead(self, listener: Callable[[], None]) -> None:
        """listener() each time this controller starts leading (never on one node)."""
        if self.leadership is not None:
            self.leadership.subscribe(lambda epoch: listener() if epoch is not None else None)

    async def decide(self, session: AsyncSession, kind: str, key: str) -> None:
        """Inside the decision's transaction; raises NotLeader or AlreadyDecided."""
        if self.leadership is None:
            return
        epoch = self.leadership.epoch
        if epoch is None:
            raise NotLeader(f"node {self.leadership.node} does not lead; {kind} {key} left to the leader")
        await decide(session, epoch=epoch, node=self.leadership.node, kind=kind, key=key)

    async def in_term(self, session: AsyncSession, what: str) -> None:
        """Inside a leader-only write of current state; raises NotLeader."""
        if self.leadership is None:
            return
        epoch = self.leadership.epoch
        if epoch is None:
            raise NotLeader(f"node {self.leadership.node} does not lead; {what} left to the leader")
        await in_term(session, epoch=epoch, node=self.leadership.node, what=what)

    def view(self) -> ClusterView | None:
        if self.leadership is None:
            return None
        lead = self.leadership
        return ClusterView(node=lead.node, leading=lead.leading, epoch=lead.epoch, terms_won=lead.terms_won)
