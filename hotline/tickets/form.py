"""The ticket form as the desk and the gateways send it: exact types, lengths,
and codes that exist (category, district, department)."""

from __future__ import annotations

from typing import Any

from hotline.config import TicketSettings
from hotline.db.models import Ticket
from hotline.errors import BadRequest
from hotline.tickets.categories import CategoryTree

FORM_TEXT = {
    "category": 32,
    "district": 32,
    "address": 256,
    "content": 4000,
    "answer": 4000,
    "caller_name": 64,
    "department": 32,
}


def read_form(
    body: dict[str, Any],
    tree: CategoryTree,
    cfg: TicketSettings,
    *,
    require_content: bool,
    require_category: bool = True,
) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for key, limit in FORM_TEXT.items():
        v = body.get(key)
        if v is None:
            continue
        if not isinstance(v, str):
            raise BadRequest(f"{key} 必须是文本", field=key)
        if len(v) > limit:
            raise BadRequest(f"{key} 最长 {limit} 字", field=key)
        form[key] = v.strip()
    if form.get("category") and tree.get(form["category"]) is None:
        raise BadRequest(f"未知分类 {form['category']}", field="category")
    if form.get("district") and form["district"] not in cfg.districts:
        raise BadRequest(f"未知属地 {form['district']}", field="district")
    if form.get("department") and form["department"] not in tree.departments:
        raise BadRequest(f"未知部门 {form['department']}", field="department")
    if require_content:
        if not form.get("content"):
            raise BadRequest("请填写诉求内容", field="content")
        if require_category and not form.get("category"):
            raise BadRequest("请选择诉求分类", field="category")
    return form


def apply_form(t: Ticket, form: dict[str, Any]) -> None:
    for key, value in form.items():
        setattr(t, key, value)


def flag(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if type(value) is not bool:
        raise BadRequest(f"{key} 必须是 true 或 false", field=key)
    return value
