"""Triage suggestions in the controller: the desk's question answered by the
suggestion worker (triage/worker.py) within a deadline, the model retrained
from closed tickets in a child process, and its versions kept on disk.

Nothing here may hold the desk up: with no model yet, a worker still
loading, late or dead, the answer is an empty list and why (`reason`), and
the agent classifies by hand as before."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config import Settings
from hotline.db.models import Ticket
from hotline.tickets.categories import CategoryTree
from hotline.triage import address as addr
from hotline.triage import worker
from hotline.triage.train import Example
from hotline.triage.versions import Versions, train_in_child

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Suggestion:
    version: str = ""
    categories: list[dict[str, Any]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)
    address: dict[str, str] = field(default_factory=dict)
    reason: str = ""  # why there are no suggestions
    ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "categories": self.categories,
            "units": self.units,
            "address": self.address,
            "reason": self.reason,
            "ms": round(self.ms, 1),
        }


class Triage:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], dt.datetime],
        tree: CategoryTree,
    ):
        self.settings = settings
        self.cfg = settings.triage
        self.sessions = sessions
        self.clock = clock
        self.tree = tree
        self.store = Versions(settings.state_dir / "triage")
        self.root = self.store.root
        self.latencies: deque[float] = deque(maxlen=2000)  # ms, the worker's answers as the desk waited
        self._pool: ProcessPoolExecutor | None = None
        self._ready: asyncio.Future[None] | None = None
        self._train_lock = asyncio.Lock()

    # -- the served model ---------------------------------------------------

    def current(self) -> str:
        return self.store.current()

    def versions(self) -> list[dict[str, Any]]:
        return self.store.versions()

    def _names(self) -> list[str]:
        return sorted(self.tree.units.place_names() | {n.name for n in self.tree.nodes.values()})

    def start(self) -> None:
        """Start the worker when there is a model to serve (its dictionary
        loads while nobody waits); without one it starts with the first."""
        if self.cfg.enabled and self.current():
            self._worker()

    def _worker(self) -> asyncio.Future[None]:
        if self._pool is None or self._ready is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
            loop = asyncio.get_running_loop()
            self._ready = asyncio.ensure_future(
                loop.run_in_executor(self._pool, worker.start, self._names(), str(self.root))
            )
        return self._ready

    async def close(self) -> None:
        pool, self._pool, self._ready = self._pool, None, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def suggest(self, content: str, address: str, district: str) -> Suggestion:
        out = Suggestion()
        if address.strip():
            where = addr.normalise(address, self.tree.units, district, tuple(self.settings.tickets.districts))
            out.address = where.as_dict()
            if where.station:
                dept = self.tree.departments.get(where.station)
                out.units.append({"code": where.station, "name": dept.name if dept else "", "p": 1.0, "why": "属地"})
        version = self.current()
        if not self.cfg.enabled:
            out.reason = "智能分类未启用"
        elif not version:
            out.reason = "尚无分类模型"
        elif not content.strip():
            out.reason = "请先填写诉求内容"
        else:
            await self._ask(out, version, content, address)
        return out

    async def _ask(self, out: Suggestion, version: str, content: str, address: str) -> None:
        ready = self._worker()
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.cfg.timeout_ms / 1000):
                await asyncio.shield(ready)
                assert self._pool is not None
                got = await asyncio.get_running_loop().run_in_executor(
                    self._pool, worker.suggest, str(self.root / version), content, address, 3
                )
        except TimeoutError:
            out.reason = "建议暂不可用（模型加载中）" if not ready.done() else "建议超时"
            return
        except BrokenProcessPool:
            log.warning("triage: the suggestion worker died; starting another")
            await self.close()
            out.reason = "建议暂不可用"
            return
        except (OSError, ValueError, KeyError) as exc:
            log.warning("triage: model %s unusable: %s", version, exc)
            out.reason = "分类模型不可用"
            return
        out.ms = (time.monotonic() - started) * 1000
        self.latencies.append(out.ms)
        out.version = got["version"]
        out.categories = [
            {"code": c, "label": node.label, "p": round(p, 3)}
            for c, p in got["categories"]
            if (node := self.tree.get(c)) is not None
        ]
        have = {u["code"] for u in out.units}
        for code, p in got["units"]:
            dept = self.tree.departments.get(code)
            if dept is not None and code not in have:
                out.units.append({"code": code, "name": dept.name, "p": round(p, 3), "why": "模型"})
        out.units = out.units[:3]
        if not out.categories:
            out.reason = "内容太少，暂无建议"

    # -- training ----------------------------------------------------------

    async def history(self) -> list[Example]:
        """Closed tickets to learn from: not confidential (their words stay
        with their agent and the lead), within history_days."""
        since = self.clock() - dt.timedelta(days=self.cfg.history_days)
        query = select(
            Ticket.created_at, Ticket.content, Ticket.address, Ticket.category, Ticket.handling, Ticket.department
        ).where(
            Ticket.status == "closed",
            Ticket.confidential.is_(False),
            Ticket.merged_into == "",
            Ticket.created_at >= since,
            Ticket.content != "",
            Ticket.category != "",
        )
        async with self.sessions() as db:
            rows = (await db.execute(query)).all()
        return [
            Example(at, content, address, category, dept if handling == "dispatched" else "")
            for at, content, address, category, handling, dept in rows
            if self.tree.get(category) is not None
        ]

    async def retrain(self, actor: str, rows: list[Example] | None = None, source: str = "tickets") -> dict[str, Any]:
        """Fit a new version in a child process; served if it measures up."""
        async with self._train_lock:
            rows = rows if rows is not None else await self.history()
            if len(rows) < self.cfg.min_tickets:
                return {"trained": False, "reason": f"已办结工单不足 {self.cfg.min_tickets} 件（现有 {len(rows)} 件）"}
            version = self.store.new_version(self.clock())
            meta = await train_in_child(self.store.root, rows, version, self._names())
            top3 = float(meta.get("held_out", {}).get("top3", 0.0))
            promoted = top3 >= self.cfg.min_top3
            meta |= {"source": source, "by": actor, "promoted": promoted}
            self.store.note(version, meta)
            if promoted:
                self.store.promote(version)
                if self.cfg.enabled and self._pool is None:
                    self._worker()
            else:
                log.warning("triage: %s held-out top-3 %.3f below %.2f; not served", version, top3, self.cfg.min_top3)
            self.store.prune(self.cfg.keep)
            log.info("triage: trained %s on %d tickets (%s)", version, len(rows), meta.get("held_out"))
            return {"trained": True, **meta}

    def latency(self) -> dict[str, float]:
        ms = sorted(self.latencies)
        if not ms:
            return {}
        return {
            "n": len(ms),
            "p50": round(ms[len(ms) // 2], 1),
            "p99": round(ms[min(len(ms) - 1, len(ms) * 99 // 100)], 1),
        }
