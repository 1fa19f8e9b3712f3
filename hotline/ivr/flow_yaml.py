"""Flow documents as admins write them: strict YAML (no duplicate keys, no
aliases, bounded depth and size) into the flow model, and back."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from hotline.ivr.flow import Flow, FlowInvalid, Problem


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last silently)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"重复的键 {key!r}（第 {seen[key]} 行已有）", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


# A real flow is a few KB; these bound what a pasted document can cost.
MAX_DOCUMENT_CHARS = 64 * 1024
MAX_YAML_DEPTH = 12
MAX_YAML_NODES = 20_000


def _check_shape(root: yaml.Node | None) -> None:
    """Depth and size of the composed document, before anything is built;
    anchors and aliases are refused (a flow never needs them, and they are
    how a small document expands into a huge one)."""
    stack = [(root, 1)] if root is not None else []
    seen: set[int] = set()
    count = 0
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:  # the composer shares one node for an anchor and its aliases
            raise FlowInvalid([Problem("", "流程文档不支持 YAML 锚点与别名（& 和 *）")])
        seen.add(id(node))
        count += 1
        if count > MAX_YAML_NODES:
            raise FlowInvalid([Problem("", f"文档过大（超过 {MAX_YAML_NODES} 个元素）")])
        if depth > MAX_YAML_DEPTH:
            raise FlowInvalid([Problem("", f"文档嵌套过深（超过 {MAX_YAML_DEPTH} 层）")])
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append((k, depth + 1))
                stack.append((v, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, depth + 1) for v in node.value)


def _check_events(text: str) -> None:
    """Depth from the parser's events, before the composer runs: PyYAML
    composes recursively, and a thousand nested brackets ended in a
    RecursionError (a 500) before _check_shape could look."""
    depth = events = 0
    # libyaml's parser where PyYAML has it (the events are the same): the
    # pure-Python scanner took 116 ms to reach the 13th of a thousand brackets.
    for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", _StrictLoader)):
        events += 1
        if events > 2 * MAX_YAML_NODES:
            raise FlowInvalid([Problem("", f"文档过大（超过 {MAX_YAML_NODES} 个元素）")])
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise FlowInvalid([Problem("", f"文档嵌套过深（超过 {MAX_YAML_DEPTH} 层）")])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _compose_checked(text: str) -> Any:
    _check_events(text)
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        _check_shape(root)
        return loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()


def load_yaml(text: str) -> Flow:
    """Parse a flow document; every problem becomes a Problem in FlowInvalid."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise FlowInvalid([Problem("", f"流程文档过大（{len(text)} 个字符，上限 {MAX_DOCUMENT_CHARS}）")])
    try:
        data = _compose_checked(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else "文档"
        detail = getattr(exc, "problem", None) or str(exc)
        raise FlowInvalid([Problem("", f"YAML 格式错误（{where}）：{detail}")]) from None
    if not isinstance(data, dict):
        raise FlowInvalid([Problem("", "流程文档应是一个映射（name、start、nodes）")])
    try:
        return Flow.model_validate(data)
    except ValidationError as exc:
        raise FlowInvalid([_schema_problem(e) for e in exc.errors()]) from None


def _schema_problem(err: Any) -> Problem:
    loc = [str(p) for p in err["loc"]]
    node = ""
    if len(loc) >= 2 and loc[0] == "nodes":
        node = loc[1]
        loc = loc[3:] if len(loc) > 2 and loc[2] in _TYPE_TAGS else loc[2:]
    field = ".".join(loc)
    kind = err["type"]
    if kind == "missing":
        msg = f"缺少字段 {field}"
    elif kind == "extra_forbidden":
        msg = f"未知字段 {field}"
    elif kind == "union_tag_invalid":
        msg = (
            f"未知的节点类型 {err.get('input', {}).get('type')!r}"
            if isinstance(err.get("input"), dict)
            else "未知的节点类型"
        )
    elif kind == "union_tag_not_found":
        msg = "缺少节点类型 type"
    else:
        msg = f"字段 {field} 无效：{err['msg']}"
    return Problem(node, msg)


_TYPE_TAGS = {
    "play",
    "menu",
    "collect",
    "time_switch",
    "tag",
    "queue",
    "message",
    "transfer",
    "announcement",
    "survey",
    "ticket_status",
    "hangup",
}


def dump_yaml(flow: Flow) -> str:
    data = flow.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
