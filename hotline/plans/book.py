"""The plans an admin prepares (预案管理): those of the configuration file,
overlaid by the ones edited on the plans page (stored by code; a deleted one
hides the file's). A plan is checked whole before it is stored: its fields
as the configuration file's are checked, the flow version it names is a
published one, the articles it pins exist."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.config import Plan
from hotline.db.models import IvrFlowVersion, KbArticle, PlanDef
from hotline.errors import BadRequest, HotlineError
from hotline.ivr.service import MAIN_FLOW

# Field -> what the admin reads beside an error.
FIELD_TEXT = {
    "code": "编号",
    "name": "名称",
    "note": "值班长提示",
    "announcement": "应急公告",
    "flow_version": "语音导航版本",
    "lines": "线路数",
    "standby": "备班",
    "overflow": "溢出支援",
    "callback_offer_seconds": "排队回拨提示间隔",
    "pinned": "置顶知识",
    "dates": "自动启动日期",
    "trigger": "自动启动条件",
    "waiting_over": "排队人数超过",
    "for_minutes": "持续分钟",
    "connection_below": "接通率低于",
    "topics": "热点词",
}


class PlanNotFound(HotlineError):
    error_id = "plan-not-found"
    status = 404


class PlanExists(HotlineError):
    error_id = "plan-exists"
    status = 409


def parse(body: dict[str, Any]) -> Plan:
    """A plan from JSON with exact types (a number typed as text is refused)."""
    try:
        return Plan.model_validate_json(json.dumps(body), strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
        label = " · ".join(FIELD_TEXT.get(p, p) for p in loc) or "预案"
        raise BadRequest(f"{label}：{_why(err)}", field=".".join(loc)) from None


def _why(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "不是预案的字段"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "应为整数"
    if kind in ("float_type", "float_parsing"):
        return "应为数字"
    if kind in ("bool_type", "bool_parsing"):
        return "应为是或否"
    if kind == "missing":
        return "必填"
    if kind == "string_pattern_mismatch":
        return "只能用小写字母、数字和短横线（最多 32 个）"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter(err.get("ctx", {}).values()), "")
        return {"greater_than_equal": "不能小于", "less_than_equal": "不能大于"}.get(kind, "超出范围") + f" {bound}"
    if kind in ("string_too_long", "string_too_short"):
        return "长度不对：" + ("不能为空" if kind == "string_too_short" else f"最多 {err['ctx']['max_length']} 字")
    if kind == "literal_error":
        return "只能是 on、off 或 auto"
    return str(err["msg"]).removeprefix("Value error, ")


class PlanBook:
    def __init__(self, configured: list[Plan], sessions: async_sessionmaker, clock: Callable[[], dt.datetime]):
        self.configured = {p.code: p for p in configured}
        self.sessions = sessions
        self.clock = clock
        self.edited: dict[str, tuple[str, dt.datetime]] = {}  # code -> (by, at), of plans from the page

    async def load(self) -> dict[str, Plan]:
        plans = dict(self.configured)
        async with self.sessions() as db:
            rows = (await db.scalars(select(PlanDef))).all()
        self.edited = {}
        for row in rows:
            if row.deleted:
                plans.pop(row.code, None)
                continue
            try:
                plans[row.code] = Plan.model_validate(row.body)
            except ValidationError:
                continue  # a plan stored by an older version that no longer holds: the file's stays
            self.edited[row.code] = (row.updated_by, row.updated_at)
        return plans

    def origin(self, code: str) -> dict[str, Any]:
        if code in self.edited:
            by, at = self.edited[code]
            return {"origin": "page", "updated_by": by, "updated_at": at.isoformat(), "file": code in self.configured}
        return {"origin": "file", "updated_by": "", "updated_at": None, "file": True}

    async def save(self, plan: Plan, actor: str) -> None:
        await self._check(plan)
        await self._store(plan.code, plan.model_dump(mode="json"), False, actor)

    async def delete(self, code: str, actor: str) -> None:
        await self._store(code, {}, True, actor)

    async def _store(self, code: str, body: dict[str, Any], deleted: bool, actor: str) -> None:
        async with self.sessions() as db, db.begin():
            row = await db.get(PlanDef, code)
            if row is None:
                row = PlanDef(code=code)
                db.add(row)
            row.body, row.deleted, row.updated_at, row.updated_by = body, deleted, self.clock(), actor

    async def choices(self) -> dict[str, Any]:
        """What the page offers to pick: the main flow's published versions, the articles' titles."""
        async with self.sessions() as db:
            versions = (
                await db.execute(
                    select(IvrFlowVersion.version, IvrFlowVersion.published_at)
                    .where(IvrFlowVersion.flow_name == MAIN_FLOW)
                    .order_by(IvrFlowVersion.version.desc())
                    .limit(50)
                )
            ).all()
            titles = (await db.scalars(select(KbArticle.title).order_by(KbArticle.title).limit(500))).all()
        return {
            "flow_versions": [{"version": v, "published_at": at.isoformat()} for v, at in versions],
            "articles": list(dict.fromkeys(titles)),
        }

    async def _check(self, plan: Plan) -> None:
        async with self.sessions() as db:
            if plan.flow_version is not None:
                found = await db.scalar(
                    select(IvrFlowVersion.version).where(
                        IvrFlowVersion.flow_name == MAIN_FLOW, IvrFlowVersion.version == plan.flow_version
                    )
                )
                if found is None:
                    raise BadRequest(f"语音导航版本：没有已发布的第 {plan.flow_version} 版", field="flow_version")
            if plan.pinned:
                titles = set((await db.scalars(select(KbArticle.title).where(KbArticle.title.in_(plan.pinned)))).all())
                missing = [t for t in plan.pinned if t not in titles]
                if missing:
                    raise BadRequest(f"置顶知识：知识库中没有「{'」「'.join(missing)}」", field="pinned")
