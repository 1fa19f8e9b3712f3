"""Flows in the database: drafts, versions, publish, rollback, audit; and the
emergency announcement. Holds the compiled current version of each flow for
the interpreter; a call keeps the version it started with."""

from __future__ import annotations

import asyncio
import difflib
import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config import Settings
from hotline.db.models import IvrAudit, IvrFlow, IvrFlowVersion, utcnow
from hotline.errors import HotlineError
from hotline.ivr.flow import Flow, FlowInvalid, Problem, Prompt
from hotline.ivr.flow_yaml import load_yaml
from hotline.ivr.prompts import PromptStore
from hotline.ivr.recent import recently_replaced
from hotline.ivr.runner import CompiledFlow
from hotline.ivr.serving import Serving
from hotline.ivr.validate import slow_path_warnings, validate

log = logging.getLogger(__name__)

SHIPPED_FLOWS = Path(__file__).resolve().parent / "flows"
MAIN_FLOW = "hotline"


def queues_of(settings: Settings) -> tuple[str, str]:
    """The queues a flow may send callers to: the hotline's and the lawyers'."""
    return settings.acd.queue, settings.acd.lawyer_queue


class FlowNotFound(HotlineError):
    error_id = "ivr-flow-not-found"
    status = 404


class FlowRejected(HotlineError):
    error_id = "ivr-flow-invalid"
    status = 422

    def __init__(self, problems: list[Problem]):
        super().__init__("流程未通过校验", problems=[{"node": p.node, "message": p.message} for p in problems])
        self.problems = problems


class FlowUnchanged(HotlineError):
    error_id = "ivr-flow-unchanged"
    status = 409


class VersionNotFound(HotlineError):
    error_id = "ivr-version-not-found"
    status = 404


class FlowService:
    def __init__(self, settings: Settings, sessions: async_sessionmaker, prompts: PromptStore):
        self.settings = settings
        self.sessions = sessions
        self.prompts = prompts
        self.serving = Serving()
        self._bad: set[tuple[str, int]] = set()  # versions another controller serves that fail here

    # -- checking ------------------------------------------------------------
    def check(self, document: str) -> tuple[Flow | None, list[Problem]]:
        try:
            flow = load_yaml(document)
        except FlowInvalid as exc:
            return None, exc.problems
        return flow, validate(
            flow,
            schedules=self.settings.ivr.schedules.keys(),
            prompt_files=self.prompts.uploads,
            queues=queues_of(self.settings),
        )

    def warnings(self, flow: Flow | None) -> list[Problem]:
        """Advice that does not stop a publish: a slow way to a seat."""
        if flow is None:
            return []

        def seconds_of(nid: str, field: str) -> float:
            prompt = getattr(flow.nodes[nid], field, None)
            return self.prompts.seconds(prompt) if isinstance(prompt, Prompt) else 0.0

        return slow_path_warnings(flow, seconds_of, self.settings.ivr.max_seconds_to_seat)

    async def warnings_async(self, document: str) -> list[Problem]:
        def run() -> list[Problem]:
            flow, problems = self.check(document)
            return [] if problems else self.warnings(flow)

        return await asyncio.to_thread(run)

    async def check_async(self, document: str) -> tuple[Flow | None, list[Problem]]:
        """check() in a thread: parsing and validating a pasted document
        must not stall the event loop that runs the calls."""
        return await asyncio.to_thread(self.check, document)

    # -- start-up --------------------------------------------------------------
    async def load(self) -> None:
        """Seed the shipped flow on first start, then compile every current
        version, and the versions it replaced minutes ago (ivr/recent.py)."""
        async with self.sessions() as db:
            names = (await db.scalars(select(IvrFlow.name))).all()
        if MAIN_FLOW not in names:
            document = (SHIPPED_FLOWS / f"{MAIN_FLOW}.yaml").read_text(encoding="utf-8")
            await self.save_draft(MAIN_FLOW, document, actor="system")
            await self.publish(MAIN_FLOW, actor="system")
        async with self.sessions() as db:
            current = (IvrFlow.name == IvrFlowVersion.flow_name) & (IvrFlow.current_version == IvrFlowVersion.version)
            rows = (await db.scalars(select(IvrFlowVersion).join(IvrFlow, current))).all()
            replaced = {row.flow_name: await recently_replaced(db, row.flow_name, utcnow()) for row in rows}
        for row in rows:
            for version, document in [*replaced[row.flow_name], (row.version, row.document)]:
                try:
                    compiled = await self.prompts.compile(load_yaml(document), version)
                except (FlowInvalid, HotlineError) as exc:
                    # Keep serving: calls fall through to the static route to a seat.
                    log.error("flow %s v%s cannot be loaded: %s", row.flow_name, version, exc)
                    continue
                (self.serving.take if version == row.version else self.serving.keep)(row.flow_name, compiled)

    async def refresh(self) -> list[str]:
        """Flows published or rolled back at another controller since the
        last look (a cluster): served here too. A version that cannot be
        loaded is named once and the one serving stays."""
        async with self.sessions() as db:
            current = (await db.execute(select(IvrFlow.name, IvrFlow.current_version))).all()
        taken = []
        for name, version in current:
            serving = self.serving.current(name)
            if version is None or (serving is not None and serving.version == version) or (name, version) in self._bad:
                continue
            try:
                compiled = await self.prompts.compile(load_yaml(await self.version(name, version)), version)
            except (FlowInvalid, HotlineError) as exc:
                self._bad.add((name, version))
                log.error("flow %s v%s from another controller cannot be loaded: %s", name, version, exc)
                continue
            self.serving.take(name, compiled)
            log.info("flow %s v%d taken from the shared database", name, version)
            taken.append(name)
        return taken

    def current(self, name: str = MAIN_FLOW) -> CompiledFlow | None:
        return self.serving.current(name)

    # -- drafts ----------------------------------------------------------------
    async def list(self) -> list[dict[str, object]]:
        async with self.sessions() as db:
            flows = (await db.scalars(select(IvrFlow).order_by(IvrFlow.name))).all()
        return [
            {
                "name": f.name,
                "current_version": f.current_version,
                "draft_updated_at": f.draft_updated_at.isoformat(),
                "draft_updated_by": f.draft_updated_by,
            }
            for f in flows
        ]

    async def get(self, name: str) -> dict[str, object]:
        async with self.sessions() as db:
            flow = await db.get(IvrFlow, name)
            if flow is None:
                raise FlowNotFound(f"没有名为 {name} 的流程")
            versions = (
                await db.scalars(
                    select(IvrFlowVersion)
                    .where(IvrFlowVersion.flow_name == name)
                    .order_by(IvrFlowVersion.version.desc())
                )
            ).all()
        _, problems = await self.check_async(flow.draft)
        return {
            "name": name,
            "draft": flow.draft,
            "current_version": flow.current_version,
            "draft_updated_at": flow.draft_updated_at.isoformat(),
            "draft_updated_by": flow.draft_updated_by,
            "problems": [{"node": p.node, "message": p.message} for p in problems],
            "versions": [
                {"version": v.version, "published_at": v.published_at.isoformat(), "published_by": v.published_by}
                for v in versions
            ],
        }

    async def version(self, name: str, version: int) -> str:
        async with self.sessions() as db:
            row = await db.scalar(
                select(IvrFlowVersion).where(IvrFlowVersion.flow_name == name, IvrFlowVersion.version == version)
            )
        if row is None:
            raise VersionNotFound(f"流程 {name} 没有第 {version} 版")
        return row.document

    async def save_draft(self, name: str, document: str, actor: str) -> list[Problem]:
        """Drafts are kept even when invalid: an admin saves work in progress."""
        flow, problems = await self.check_async(document)
        if flow is not None and flow.name != name:
            problems = [Problem("", f"文档中的 name（{flow.name}）与流程名 {name} 不一致"), *problems]
        async with self.sessions() as db, db.begin():
            row = await db.get(IvrFlow, name)
            before = row.draft if row is not None else ""
            if row is None:
                db.add(IvrFlow(name=name, draft=document, draft_updated_by=actor))
            else:
                row.draft, row.draft_updated_by, row.draft_updated_at = document, actor, utcnow()
            db.add(IvrAudit(flow_name=name, actor=actor, action="save_draft", diff=_diff(before, document)))
        return problems

    # -- publishing --------------------------------------------------------------
    async def publish(self, name: str, actor: str) -> int:
        async with self.sessions() as db:
            row = await db.get(IvrFlow, name)
            if row is None:
                raise FlowNotFound(f"没有名为 {name} 的流程")
            document = row.draft
        flow, problems = await self.check_async(document)
        if flow is not None and flow.name != name:
            problems.insert(0, Problem("", f"文档中的 name（{flow.name}）与流程名 {name} 不一致"))
        if problems or flow is None:
            raise FlowRejected(problems)
        # Prompts are made before anything is stored: a prompt that cannot be
        # made fails the publish and leaves the current version serving.
        async with self.sessions() as db:
            latest = await db.scalar(
                select(IvrFlowVersion.version)
                .where(IvrFlowVersion.flow_name == name)
                .order_by(IvrFlowVersion.version.desc())
                .limit(1)
            )
        async with self.sessions() as db:
            serving = await db.scalar(
                select(IvrFlowVersion.document).where(
                    IvrFlowVersion.flow_name == name, IvrFlowVersion.version == row.current_version
                )
            )
        if serving == document:
            raise FlowUnchanged(f"与正在使用的第 {row.current_version} 版相同，无需发布", version=row.current_version)
        version = (latest or 0) + 1
        compiled = await self.prompts.compile(flow, version)
        async with self.sessions() as db, db.begin():
            row = await db.get(IvrFlow, name)
            db.add(IvrFlowVersion(flow_name=name, version=version, document=document, published_by=actor))
            await _serve(db, row, version, document, actor, "publish")
        self.serving.take(name, compiled)
        log.info("flow %s v%d published by %s", name, version, actor)
        return version

    async def rollback(self, name: str, version: int, actor: str) -> int:
        document = await self.version(name, version)
        compiled = await self.prompts.compile(load_yaml(document), version)
        async with self.sessions() as db, db.begin():
            await _serve(db, await db.get(IvrFlow, name), version, document, actor, "rollback")
        self.serving.take(name, compiled)
        return version

    async def audit(self, name: str, limit: int = 200) -> list[dict[str, object]]:
        async with self.sessions() as db:
            rows = (
                await db.scalars(
                    select(IvrAudit).where(IvrAudit.flow_name == name).order_by(IvrAudit.id.desc()).limit(limit)
                )
            ).all()
        return [
            {"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "version": r.version, "diff": r.diff}
            for r in rows
        ]


def _diff(before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), "before", "after", n=2))


async def _serve(db: AsyncSession, row: IvrFlow, version: int, document: str, actor: str, action: str) -> None:
    """The flow serves `version` from now on; the audit holds the change against the one before."""
    previous = ""
    if row.current_version is not None:
        previous = (
            await db.scalar(
                select(IvrFlowVersion.document).where(
                    IvrFlowVersion.flow_name == row.name, IvrFlowVersion.version == row.current_version
                )
            )
            or ""
        )
    row.current_version = version
    db.add(IvrAudit(flow_name=row.name, actor=actor, action=action, version=version, diff=_diff(previous, document)))
