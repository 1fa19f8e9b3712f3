"""Request input, checked at the edge: JSON bodies and query text.

Mutating requests carry JSON (a form post or a bodiless POST from another
site cannot pass, see csrf_middleware). Text that reaches the database, a
log or the PBX is valid Unicode without NUL; numbers are numbers, not
strings that look like them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from hotline.errors import BadRequest, HotlineError
from hotline.jsonout import dumps
from hotline.text import check_text, text_field

__all__ = ["json_body", "query_text", "text_field", "check_text", "dumps"]
from hotline.web.auth import anonymous

MAX_DEPTH = 32


def _check_tree(body: Any) -> None:
    """Depth, then every key and string: iteratively, so no input can recurse."""
    stack: list[tuple[Any, int, str]] = [(body, 1, "body")]
    while stack:
        node, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"JSON 嵌套超过 {MAX_DEPTH} 层")
        if isinstance(node, str):
            check_text(node, where)
        elif isinstance(node, dict):
            for k, v in node.items():
                check_text(k, where)
                stack.append((v, depth + 1, k))
        elif isinstance(node, list):
            stack.extend((v, depth + 1, where) for v in node)


# What anyone may send without logging in: a citizen's request of 2,000
# characters is about 6 KB. Larger bodies are refused before they are read.
ANONYMOUS_LIMIT = 32 * 1024
# Parsing this much takes milliseconds: done off the event loop the calls need.
OFF_LOOP = 64 * 1024


class BodyTooLarge(HotlineError):
    error_id = "body-too-large"
    status = 413


class LengthRequired(HotlineError):
    error_id = "length-required"
    status = 411


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("请求体不是有效的 JSON") from None
    if type(body) is not dict:
        raise BadRequest("请求体必须是 JSON 对象")
    _check_tree(body)
    return body


async def json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise BadRequest("请求体必须是 JSON（Content-Type: application/json）")
    if anonymous(request):
        if request.content_length is None:
            raise LengthRequired("请求须注明长度（Content-Length）")
        if request.content_length > ANONYMOUS_LIMIT:
            raise BodyTooLarge(f"请求体超过 {ANONYMOUS_LIMIT // 1024} KB", limit=ANONYMOUS_LIMIT)
    raw = await request.read()
    if len(raw) > OFF_LOOP:
        return await asyncio.to_thread(_parse, raw)
    return _parse(raw)


def query_text(request: web.Request, name: str, *, max_len: int = 200) -> str:
    value = request.query.get(name, "")
    if len(value) > max_len:
        raise BadRequest(f"{name} 超过 {max_len} 个字符", field=name)
    return check_text(value, name)
