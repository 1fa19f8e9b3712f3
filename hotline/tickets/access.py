"""Who may see and change a ticket: pure rules over the ticket and the person."""

from __future__ import annotations

from hotline.accounts import Identity
from hotline.db.models import Ticket
from hotline.errors import HotlineError
from hotline.roles import Role

PRIVILEGED = frozenset({Role.LEAD, Role.ADMIN})
# Accounts of a unit that tickets are dispatched to: a department or a grid station.
UNIT_ROLES = frozenset({Role.DEPARTMENT, Role.GRID})


class TicketNotFound(HotlineError):
    error_id = "ticket-not-found"
    status = 404


class NotYourTicket(HotlineError):
    error_id = "ticket-not-yours"
    status = 403


def own(t: Ticket, who: Identity) -> None:
    if t.agent != who.username and not (who.roles & PRIVILEGED):
        raise NotYourTicket("这张工单由其他坐席受理")


def unit_only(who: Identity) -> bool:
    """A department or grid account, and nothing more."""
    return bool(who.roles & UNIT_ROLES) and not (who.roles & (PRIVILEGED | {Role.AGENT}))


def may_read(t: Ticket, who: Identity) -> None:
    """Departments and grid stations see their own tickets (and what their
    people reported themselves); another unit's ticket is answered exactly
    as a missing one, so its number's existence leaks not."""
    if unit_only(who) and t.department != who.department and t.agent != who.username:
        raise TicketNotFound(f"工单 {t.number} 不存在", number=t.number)


def sees_caller(t: Ticket, who: Identity | None) -> bool:
    """Confidential callers are shown only to the agent who took the call,
    the shift lead and admins."""
    return not t.confidential or (who is not None and bool(who.roles & PRIVILEGED or who.username == t.agent))


def department_only(who: Identity) -> str | None:
    """A department account searches its own department's tickets only."""
    if unit_only(who):
        return who.department or "-"
    return None
