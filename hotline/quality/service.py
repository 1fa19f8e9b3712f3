"""Quality inspection of every answered call (质检): when a seat's call ends,
its two recordings (the caller's and what the caller heard, asterisk-conf
[hotline-record]) go to a child process that finds who spoke when
(quality/vad.py); the checks and the rules that flag the call for a lead
(quality/checks.py) are stored in qa_checks. The ticket's completeness is
judged when the checks are read, on the ticket as it stands then: an agent
finishes the ticket in wrap-up, after the call."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import zoneinfo
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config import Settings
from hotline.db.models import QaCheck, RosterEntry, Ticket
from hotline.quality import checks as qc
from hotline.quality.vad import AudioError, analyse
from hotline.roster.rules import span
from hotline.tasks import TaskSet
from hotline.tickets.handoff import ActiveCall

log = logging.getLogger(__name__)

# MixMonitor writes its last frames and closes the files as the channels hang up.
SETTLE_S = 1.0
FILES_WAIT_S = 10.0


class QualityInspection:
    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], dt.datetime]
    ):
        self.settings = settings
        self.cfg = settings.quality
        self.sessions = sessions
        self.clock = clock
        self.checked = 0
        self.failed = 0
        # One worker: the checks wait their turn rather than take the cores calls need.
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self._tasks = TaskSet("quality")

    async def close(self) -> None:
        await self._tasks.close(grace=2.0)  # a check in flight when the controller stops is left
        # Its worker ends with it (a check in flight is given up).
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)

    def call_ended(self, call: ActiveCall) -> None:
        if self.cfg.enabled:
            ended = asyncio.get_running_loop().time()
            self._tasks.spawn(self._check(call, ended), name=f"quality-{call.call_id}")

    async def _check(self, call: ActiveCall, ended: float) -> None:
        await asyncio.sleep(SETTLE_S)
        folder = self.settings.recordings_dir
        caller, agent = folder / f"{call.call_id}-caller.wav", folder / f"{call.call_id}-agent.wav"
        loop = asyncio.get_running_loop()
        while not (caller.is_file() and agent.is_file()):
            if loop.time() - ended > FILES_WAIT_S:
                log.warning("quality: no recordings of call %s (recording off?)", call.call_id)
                self.failed += 1
                return
            await asyncio.sleep(0.5)
        try:
            said, heard, length, cpu = await loop.run_in_executor(
                self._pool, analyse, str(caller), str(agent), self.cfg.vad_aggressiveness
            )
        except (AudioError, OSError) as exc:
            log.warning("quality: call %s not checked: %s", call.call_id, exc)
            self.failed += 1
            return
        holds = [(a - call.answered_at, (b or call.answered_at + length) - call.answered_at) for a, b in call.holds]
        measured = qc.measure(said, heard, length, holds)
        flags = qc.flags(measured, self.cfg, None)
        async with self.sessions() as db, db.begin():
            db.add(
                QaCheck(
                    call_id=call.call_id,
                    ticket=call.ticket,
                    agent=call.agent,
                    seat=call.seat,
                    at=self.clock(),
                    metrics=asdict(measured),
                    speech={"agent": said, "caller": heard},
                    flags=[f.as_dict() for f in flags],
                    flagged=bool(flags),
                    cpu_s=round(cpu, 4),
                )
            )
        self.checked += 1
        log.info(
            "quality: call %s checked (%.1f s of audio, %.3f s CPU, %d flags)", call.call_id, length, cpu, len(flags)
        )

    async def checks(self, *, flagged: bool = False, agent: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The latest checks, each with its flags (the ticket's as it stands now);
        flagged: only those a rule flagged, and the sample of the others (抽检)."""
        query = select(QaCheck).order_by(QaCheck.id.desc()).limit(limit if not flagged else limit * 5)
        if agent is not None:
            query = query.where(QaCheck.agent == agent)
        async with self.sessions() as db:
            rows = list((await db.scalars(query)).all())
            numbers = {r.ticket for r in rows if r.ticket}
            tickets = (
                {t.number: t for t in (await db.scalars(select(Ticket).where(Ticket.number.in_(numbers)))).all()}
                if numbers
                else {}
            )
        out = []
        for r in rows:
            t = tickets.get(r.ticket)
            fields = {k: getattr(t, k) for k in qc.REQUIRED} if t is not None else None
            ticket_flags = [f.as_dict() for f in qc.ticket_flags(fields)]
            every = [*r.flags, *ticket_flags]
            sample = not every and qc.sampled(r.call_id, self.cfg.sample_percent)
            if flagged and not every and not sample:
                continue
            out.append(
                {
                    "call_id": r.call_id,
                    "ticket": r.ticket,
                    "agent": r.agent,
                    "seat": r.seat,
                    "at": r.at,
                    "metrics": r.metrics,
                    "speech": r.speech,
                    "flags": every,
                    "sampled": sample,
                    "cpu_s": r.cpu_s,
                    "recording": f"/api/recordings/{r.call_id}",
                }
            )
        return out[:limit]

    async def by_agent(
        self, since: dt.datetime, per_shift: bool = False, until: dt.datetime | None = None
    ) -> list[dict[str, Any]]:
        """Per agent (or per rostered shift) since then (until then): calls checked,
        calls flagged by the audio rules, and the mean talk, silence and overtalk shares."""
        query = select(QaCheck.agent, QaCheck.at, QaCheck.flagged, QaCheck.metrics).where(QaCheck.at >= since)
        if until is not None:
            query = query.where(QaCheck.at < until)
        async with self.sessions() as db:
            rows = (await db.execute(query)).all()
            rostered = await self._rostered(db, since) if per_shift else []
        names = {s.code: s.name for s in self.settings.roster.shifts}
        per: dict[str, list[tuple[bool, dict[str, Any]]]] = {}
        for agent, at, flagged, metrics in rows:
            key = agent if not per_shift else names.get(qc.shift_of(agent, at, rostered), "排班外")
            per.setdefault(key, []).append((flagged, metrics))

        def mean(items: list[tuple[bool, dict[str, Any]]], key: str) -> float:
            return round(sum(float(m.get(key, 0.0)) for _, m in items) / len(items), 3)

        return [
            {
                "shift" if per_shift else "agent": agent,
                "checked": len(items),
                "flagged": sum(1 for f, _ in items if f),
                "agent_share": mean(items, "agent_share"),
                "silence_share": mean(items, "silence_share"),
                "overtalk_share": mean(items, "overtalk_share"),
            }
            for agent, items in sorted(per.items())
        ]

    async def _rostered(self, db: AsyncSession, since: dt.datetime) -> list[tuple[str, str, dt.datetime, dt.datetime]]:
        tz = zoneinfo.ZoneInfo(self.settings.ivr.timezone)
        shifts = {s.code: s for s in self.settings.roster.shifts}
        first = since.astimezone(tz).date() - dt.timedelta(days=1)  # a night shift begun the day before
        entries = (await db.scalars(select(RosterEntry).where(RosterEntry.day >= first))).all()
        return [(e.agent, e.shift, *span(e.day, shifts[e.shift], tz)) for e in entries if e.shift in shifts]
