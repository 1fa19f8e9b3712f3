"""Each kind of work's priority, skill and service-level deadline, from the
configuration: pure, so the queue, the sources and the tests agree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hotline.config import Settings
from hotline.ivr.schedule import Calendar
from hotline.tickets.categories import CategoryTree


@dataclass(frozen=True)
class WorkPolicy:
    settings: Settings
    calendar: Calendar
    tree: CategoryTree

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkPolicy:
        return cls(settings, Calendar.from_settings(settings.ivr), CategoryTree(settings.tickets))

    def priority(self, kind: str) -> int:
        return self.settings.work.kinds[kind].priority

    def deadline(self, kind: str, now: dt.datetime) -> float:
        k = self.settings.work.kinds[kind]
        if k.deadline_minutes is not None:
            return now.timestamp() + k.deadline_minutes * 60
        return self.calendar.add_working_days(now, k.deadline_working_days or 1).timestamp()

    def skill(self, kind: str, category: str) -> str:
        """The kind's own skill, else the nearest category (or parent) that asks for one."""
        own = self.settings.work.kinds[kind].skill
        if own:
            return own
        node = self.tree.get(category)
        for code in reversed(node.codes if node else ()):
            skill = self.settings.work.category_skills.get(code)
            if skill:
                return skill
        return ""
