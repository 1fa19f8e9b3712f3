"""The knowledge base agents search while a caller waits (知识库)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.db.models import KbArticle
from hotline.errors import BadRequest

_SEED = Path(__file__).with_name("kb_seed.yaml")
_FTS = text("SELECT rowid FROM kb_fts WHERE kb_fts MATCH :q ORDER BY bm25(kb_fts) LIMIT :limit")


class KnowledgeBase:
    def __init__(
        self, sessions: async_sessionmaker, clock: Callable[[], dt.datetime], category_label: Callable[[str], str]
    ):
        self.sessions = sessions
        self.clock = clock
        self.category_label = category_label

    async def search(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        query = query.strip()
        if not query:
            return []
        if len(query) > 100:
            raise BadRequest("搜索词最长 100 字", field="q")
        async with self.sessions() as db:
            if db.bind.dialect.name == "sqlite" and len(query) >= 3:
                # FTS5 trigram: any run of three characters, ranked by bm25.
                phrase = '"' + query.replace('"', '""') + '"'
                result = await db.execute(_FTS, {"q": phrase, "limit": limit})
                ids = [r[0] for r in result]
            else:
                like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                ids = list(
                    (
                        await db.scalars(
                            select(KbArticle.id)
                            .where(or_(KbArticle.title.like(like, escape="\\"), KbArticle.body.like(like, escape="\\")))
                            .order_by(KbArticle.id)
                            .limit(limit)
                        )
                    ).all()
                )
            arts = {a.id: a for a in (await db.scalars(select(KbArticle).where(KbArticle.id.in_(ids)))).all()}
        return [
            {"id": i, "title": arts[i].title, "body": arts[i].body, "category": self.category_label(arts[i].category)}
            for i in ids
            if i in arts
        ]

    async def seed(self) -> None:
        """The shipped first articles, into an empty knowledge base only."""
        async with self.sessions() as db:
            if await db.scalar(select(func.count()).select_from(KbArticle)):
                return
        for a in yaml.safe_load(_SEED.read_text(encoding="utf-8")):
            await self.add(a["title"], a["body"], a.get("category", ""))

    async def add(self, title: str, body: str, category: str = "") -> int:
        if not title.strip() or not body.strip():
            raise BadRequest("标题和正文都不能为空")
        async with self.sessions() as db, db.begin():
            a = KbArticle(title=title.strip()[:128], body=body.strip(), category=category, updated_at=self.clock())
            db.add(a)
            await db.flush()
            return a.id
