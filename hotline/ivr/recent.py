"""The versions a controller keeps at start-up besides the serving one: those
that stopped serving less than KEEP_FOR ago. A caller may still be in one of
their menus (in the dialplan the controller rewrites, or over FastAGI), and
the call's row is written against the version it ran."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import IvrAudit, IvrFlowVersion
from hotline.ivr.serving import KEPT_VERSIONS

# Far longer than a call stays in the IVR.
KEEP_FOR = dt.timedelta(minutes=10)


async def recently_replaced(db: AsyncSession, name: str, now: dt.datetime) -> list[tuple[int, str]]:
    """(version, document) of each version `name` served until less than
    KEEP_FOR before `now`, the one replaced longest ago first."""
    served = (
        await db.execute(
            select(IvrAudit.version, IvrAudit.at)
            .where(IvrAudit.flow_name == name, IvrAudit.action.in_(("publish", "rollback")))
            .order_by(IvrAudit.id.desc())
            .limit(KEPT_VERSIONS)
        )
    ).all()
    replaced: list[int] = []
    # Each entry ended the one before it: (newer, older) pairs, newest first.
    for newer, older in itertools.pairwise(served):
        if newer.at < now - KEEP_FOR:
            break
        if older.version not in (served[0].version, *replaced):
            replaced.append(older.version)
    if not replaced:
        return []
    rows = await db.execute(
        select(IvrFlowVersion.version, IvrFlowVersion.document).where(
            IvrFlowVersion.flow_name == name, IvrFlowVersion.version.in_(replaced)
        )
    )
    documents = {v: d for v, d in rows.all()}
    return [(v, documents[v]) for v in reversed(replaced) if v in documents]
