"""What a ticket's change does to the work queue: the rule table the work
queue applies to the ticket store's moves, inside the same transaction."""

from __future__ import annotations

from hotline.config import Settings
from hotline.tickets.moves import TicketMove
from hotline.tickets.views import CHANNELS
from hotline.work import rows
from hotline.work.policy import WorkPolicy

# What a ticket action ends in the work queue. A closed ticket leaves no work
# behind (a duplicate suspicion about an answered ticket is moot).
FINISHES = {
    "dispatch": ("intake", "redispatch"),
    "approve": ("review",),
    "reject": ("review",),
    "reopen": ("review", "revisit"),
}
ALL_WORK = ("intake", "redispatch", "review", "revisit", "duplicate")


class TicketWork:
    def __init__(self, settings: Settings, policy: WorkPolicy):
        self.policy = policy
        self.revisit_delay = settings.work.revisit_delay_hours * 3600

    async def on_move(self, m: TicketMove) -> None:
        t, db, now = m.ticket, m.db, m.at

        async def start(kind: str, title: str, due_at: float | None = None, not_before: float = 0.0) -> None:
            await rows.enqueue(
                db,
                self.policy,
                kind=kind,
                now=now,
                ref=t.number,
                ticket_id=t.id,
                category=t.category,
                title=title,
                due_at=due_at,
                not_before=not_before,
                fresh=m.action == "accept",  # the move that created the ticket
            )

        if m.action == "accept":
            if m.offer:
                await start("intake", f"{CHANNELS.get(t.channel, t.channel)}：{t.content[:60]}")
        else:
            kinds = ALL_WORK if m.closed else FINISHES.get(m.action, ())
            if kinds:
                await rows.finish(db, ticket_id=t.id, kinds=kinds, outcome=m.action, actor=m.actor, now=now)
            if m.action == "feedback":
                await start("review", f"{m.label} 部门反馈待审核")
            elif m.action == "return":
                await start("redispatch", f"{m.label} 被退回：{m.note[:40]}")
            elif m.action == "approve":
                due = t.revisit_due_at.timestamp() if t.revisit_due_at else None
                await start("revisit", f"{m.label} 待回访", due_at=due, not_before=now.timestamp() + self.revisit_delay)
        if m.suspects and not m.closed:
            found = m.suspects[0]
            await start("duplicate", f"{t.number} 疑似重复 {found.number}：{'、'.join(found.reasons)}")
