"""Text a person or a peer sent, checked the same way wherever it arrives
(a web request, a 110 message): valid Unicode without NUL, the type and the
length asked for. Pure; the web layer (web/json.py) builds on it."""

from __future__ import annotations

from typing import Any

from hotline.errors import BadRequest


def check_text(value: str, where: str) -> str:
    if "\x00" in value:
        raise BadRequest(f"{where} 含有 NUL 字符", field=where)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{where} 含有无效的 Unicode 字符（孤立代理项）", field=where) from None
    return value


def text_field(
    body: dict[str, Any],
    name: str,
    *,
    max_len: int = 2000,
    default: str = "",
    required: bool = False,
    strip: bool = False,
) -> str:
    """A text field: absent or null gives `default`; `strip` trims it first;
    `required` refuses it absent, null or blank."""
    value = body.get(name)
    if value is None:
        value = default
    elif type(value) is not str:
        raise BadRequest(f"{name} 必须是字符串", field=name)
    if strip:
        value = value.strip()
    if required and not value.strip():
        raise BadRequest(f"缺少 {name}", field=name)
    if len(value) > max_len:
        raise BadRequest(f"{name} 超过 {max_len} 个字符", field=name)
    return value
