"""The configurable category tree (诉求分类) and the deadlines it implies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotline.config import Category, TicketSettings
from hotline.tickets.units import Units


@dataclass(frozen=True, slots=True)
class Node:
    code: str
    name: str
    path: tuple[str, ...]  # names from the root down, e.g. ("生态环境", "噪音污染")
    deadline_days: float
    department: str
    codes: tuple[str, ...] = ()  # codes from the root down, this one last

    @property
    def label(self) -> str:
        return " / ".join(self.path)


class CategoryTree:
    def __init__(self, settings: TicketSettings):
        self.settings = settings
        self.nodes: dict[str, Node] = {}
        self._walk(settings.categories, (), settings.deadline_days, "", ())
        self.units = Units(settings)
        # Grid stations take tickets like departments do (and are counted so).
        self.departments = {d.code: d for d in (*settings.departments, *self.units.stations())}

    def _walk(
        self, cats: list[Category], path: tuple[str, ...], days: float, dept: str, codes: tuple[str, ...]
    ) -> None:
        for c in cats:
            mine = c.deadline_days if c.deadline_days is not None else days
            own_dept = c.department or dept
            self.nodes[c.code] = Node(c.code, c.name, (*path, c.name), mine, own_dept, (*codes, c.code))
            self._walk(c.children, (*path, c.name), mine, own_dept, (*codes, c.code))

    def get(self, code: str) -> Node | None:
        return self.nodes.get(code)

    def as_json(self) -> dict[str, Any]:
        def tree(cats: list[Category]) -> list[dict[str, Any]]:
            return [
                {
                    "code": c.code,
                    "name": c.name,
                    "deadline_days": self.nodes[c.code].deadline_days,
                    "department": self.nodes[c.code].department,
                    "children": tree(c.children),
                }
                for c in cats
            ]

        return {
            "categories": tree(self.settings.categories),
            "departments": [d.model_dump() for d in self.departments.values()],
            "stations": self.units.as_json(),
            "districts": list(self.settings.districts),
            "outside_numbers": dict(self.settings.outside_numbers),
            "legal_category": self.settings.legal_category if self.settings.legal_category in self.nodes else "",
        }
