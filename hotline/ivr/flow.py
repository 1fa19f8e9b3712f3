"""IVR flow documents: model, YAML loading and validation.

A flow is a set of named nodes and a start node. Validation messages are read
by the admins who edit flows, so they are in Chinese and name the node.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DTMF_KEYS = set("0123456789*#")
_NODE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field("", description="shown in the editor and the agent's IVR path")


class Prompt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = ""
    file: str = Field("", description="a recorded file that replaces the synthesised text")

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.file


def _prompt(value: Any) -> Any:
    return {"text": value} if isinstance(value, str) else value


PromptField = Annotated[Prompt, Field(default_factory=Prompt)]


class _WithPrompt(_Node):
    prompt: PromptField

    _norm_prompt = field_validator("prompt", mode="before")(_prompt)


class PlayNode(_WithPrompt):
    type: Literal["play"]
    next: str


class MenuNode(_WithPrompt):
    type: Literal["menu"]
    options: dict[str, str]
    timeout: float = Field(5.0, gt=0, le=60, description="seconds to wait for a key after the prompt")
    retries: int = Field(2, ge=0, le=5, description="repeats after a wrong or missing key")
    timeout_next: str | None = Field(None, description="where no key at all goes, without a retry")
    default: str = Field(description="where the caller goes when the retries run out")
    invalid_prompt: PromptField
    timeout_prompt: PromptField

    _norm = field_validator("invalid_prompt", "timeout_prompt", mode="before")(_prompt)

    @field_validator("options", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads an unquoted 1 as a number; a key is a key either way.
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value


class CollectNode(_WithPrompt):
    type: Literal["collect"]
    var: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    min_digits: int = Field(1, ge=1, le=32)
    max_digits: int = Field(20, ge=1, le=32)
    pattern: str | None = None
    terminator: str = "#"
    timeout: float = Field(8.0, gt=0, le=60)
    retries: int = Field(2, ge=0, le=5)
    invalid_prompt: PromptField
    next: str
    fail: str

    _norm = field_validator("invalid_prompt", mode="before")(_prompt)


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schedule: str
    next: str


class TimeSwitchNode(_Node):
    type: Literal["time_switch"]
    cases: list[Case] = Field(default_factory=list)
    holiday: str | None = None
    default: str


class TagNode(_Node):
    type: Literal["tag"]
    category: str = Field(min_length=1, max_length=64)
    next: str


class QueueNode(_Node):
    type: Literal["queue"]
    queue: str = Field("hotline", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    skill: str = ""
    priority: int = Field(0, ge=0, le=10)
    prompt: PromptField

    _norm = field_validator("prompt", mode="before")(_prompt)


class MessageNode(_WithPrompt):
    type: Literal["message"]
    category: str = ""
    max_seconds: int = Field(60, ge=5, le=600)
    thanks: PromptField

    _norm = field_validator("thanks", mode="before")(_prompt)


class TransferNode(_Node):
    type: Literal["transfer"]
    number: str = Field(pattern=r"^[0-9]{2,15}$")
    prompt: PromptField

    _norm = field_validator("prompt", mode="before")(_prompt)


class AnnouncementNode(_Node):
    type: Literal["announcement"]
    next: str


class SurveyNode(_WithPrompt):
    type: Literal["survey"]
    timeout: float = Field(8.0, gt=0, le=60)
    thanks: PromptField
    next: str | None = None

    _norm = field_validator("thanks", mode="before")(_prompt)


class TicketStatusNode(_Node):
    type: Literal["ticket_status"]
    var: str = "ticket_number"
    found_prompt: PromptField
    not_found_prompt: PromptField
    next: str

    _norm = field_validator("found_prompt", "not_found_prompt", mode="before")(_prompt)


class HangupNode(_Node):
    type: Literal["hangup"]
    prompt: PromptField

    _norm = field_validator("prompt", mode="before")(_prompt)


Node = Annotated[
    PlayNode | MenuNode | CollectNode | TimeSwitchNode | TagNode | QueueNode | MessageNode
    | TransferNode | AnnouncementNode | SurveyNode | TicketStatusNode | HangupNode,
    Field(discriminator="type"),
]

# Nodes that wait for the caller; a loop through none of them spins for ever.
INPUT_TYPES = ("menu", "collect", "survey")
SEAT_TYPES = ("queue",)


class Flow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    description: str = ""
    start: str
    nodes: dict[str, Node]


@dataclass(frozen=True, slots=True)
class Problem:
    node: str
    message: str

    def __str__(self) -> str:
        return f"{self.node}: {self.message}" if self.node else self.message


class FlowInvalid(Exception):
    error_id = "ivr-flow-invalid"

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# -- YAML ---------------------------------------------------------------------

class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last silently)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"重复的键 {key!r}（第 {seen[key]} 行已有）", key_node.start_mark)
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


def _compose_checked(text: str) -> Any:
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
        msg = f"未知的节点类型 {err.get('input', {}).get('type')!r}" if isinstance(err.get("input"), dict) else "未知的节点类型"
    elif kind == "union_tag_not_found":
        msg = "缺少节点类型 type"
    else:
        msg = f"字段 {field} 无效：{err['msg']}"
    return Problem(node, msg)


_TYPE_TAGS = {"play", "menu", "collect", "time_switch", "tag", "queue", "message", "transfer",
              "announcement", "survey", "ticket_status", "hangup"}


def dump_yaml(flow: Flow) -> str:
    data = flow.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# -- graph --------------------------------------------------------------------

def edges(node: Any) -> Iterator[tuple[str, str]]:
    """(label, target) for every way out of a node."""
    t = node.type
    if t in ("play", "tag", "announcement"):
        yield "", node.next
    elif t == "menu":
        for key, target in node.options.items():
            yield key, target
        if node.timeout_next:
            yield "无按键", node.timeout_next
        yield "默认", node.default
    elif t == "collect":
        yield "完成", node.next
        yield "失败", node.fail
    elif t == "time_switch":
        for case in node.cases:
            yield case.schedule, case.next
        if node.holiday:
            yield "节假日", node.holiday
        yield "其他时间", node.default
    elif t in ("survey",):
        if node.next:
            yield "", node.next
    elif t == "ticket_status":
        yield "", node.next


def reachable(flow: Flow, start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        nid = stack.pop()
        if nid in seen or nid not in flow.nodes:
            continue
        seen.add(nid)
        stack.extend(t for _, t in edges(flow.nodes[nid]))
    return seen


def prompts_of(node: Any) -> Iterator[tuple[str, Prompt]]:
    for name in ("prompt", "invalid_prompt", "timeout_prompt", "thanks", "found_prompt", "not_found_prompt"):
        p = getattr(node, name, None)
        if isinstance(p, Prompt):
            yield name, p


# -- validation ---------------------------------------------------------------

def validate(flow: Flow, *, schedules: Iterable[str] = (), prompt_files: Path | None = None,
             queues: Iterable[str] = ("hotline",)) -> list[Problem]:
    """Everything wrong with a flow, each with its node and a readable reason."""
    problems: list[Problem] = []
    nodes = flow.nodes
    schedules = set(schedules)
    for nid in nodes:
        if not _NODE_ID.match(nid):
            problems.append(Problem(nid, "节点名只能用字母、数字、下划线和连字符，并以字母开头"))
    if flow.start not in nodes:
        problems.append(Problem("", f"起始节点 {flow.start!r} 不存在"))

    for nid, node in nodes.items():
        for label, target in edges(node):
            if target not in nodes:
                via = f"（{label}）" if label else ""
                problems.append(Problem(nid, f"出口{via}指向不存在的节点 {target!r}"))
        problems.extend(_node_problems(nid, node, schedules, prompt_files))
        if node.type == "queue" and node.queue not in set(queues):
            problems.append(Problem(nid, f"队列 {node.queue!r} 不存在（可用：{'、'.join(queues)}）"))

    if flow.start in nodes:
        live = reachable(flow, flow.start)
        for nid in nodes:
            if nid not in live:
                problems.append(Problem(nid, "从起始节点无法到达此节点"))
        problems.extend(_silent_loops(flow, live))
        problems.extend(_seat_paths(flow, live))
    return problems


def _node_problems(nid: str, node: Any, schedules: set[str], prompt_files: Path | None) -> Iterator[Problem]:
    t = node.type
    needs_prompt = t in ("play", "menu", "collect", "message", "survey")
    if needs_prompt and node.prompt.empty:
        yield Problem(nid, "缺少提示音（prompt 的 text 或 file）")
    for field, prompt in prompts_of(node):
        if prompt.file:
            if Path(prompt.file).is_absolute() or ".." in Path(prompt.file).parts:
                yield Problem(nid, f"{field} 的录音文件必须是录音目录中的相对路径：{prompt.file}")
            elif prompt_files is not None and not (prompt_files / prompt.file).is_file():
                yield Problem(nid, f"{field} 的录音文件不存在：{prompt.file}")
    if t == "menu":
        if not node.options:
            yield Problem(nid, "菜单没有任何按键选项")
        for key in node.options:
            if len(key) != 1 or key not in DTMF_KEYS:
                yield Problem(nid, f"按键 {key!r} 无效：只能是 0-9、* 或 # 中的一个")
    if t == "collect":
        if node.min_digits > node.max_digits:
            yield Problem(nid, "min_digits 大于 max_digits")
        if node.terminator not in ("", "#"):
            # AGI GET DATA ends input on '#' only.
            yield Problem(nid, "结束键 terminator 只能是 # 或空")
        if node.pattern is not None:
            try:
                re.compile(node.pattern)
            except re.error as exc:
                yield Problem(nid, f"pattern 不是有效的正则表达式：{exc}")
    if t == "time_switch":
        if not node.cases and not node.holiday:
            yield Problem(nid, "时间分支没有任何时段")
        for case in node.cases:
            if schedules and case.schedule not in schedules:
                yield Problem(nid, f"时段 {case.schedule!r} 未在配置 ivr.schedules 中定义")


def _silent_loops(flow: Flow, live: set[str]) -> Iterator[Problem]:
    """Cycles through nodes that never wait for the caller."""
    graph = {
        nid: [t for _, t in edges(flow.nodes[nid]) if t in flow.nodes and flow.nodes[t].type not in INPUT_TYPES]
        for nid in live if flow.nodes[nid].type not in INPUT_TYPES
    }
    color: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(nid: str, path: list[str]) -> Iterator[Problem]:
        color[nid] = 1
        path.append(nid)
        for nxt in graph.get(nid, ()):
            if color.get(nxt) == 1:
                cycle = path[path.index(nxt):]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    yield Problem(nxt, "循环中没有任何等待来电者输入的节点：" + " → ".join(cycle + [nxt]))
            elif color.get(nxt) is None:
                yield from visit(nxt, path)
        path.pop()
        color[nid] = 2

    for nid in sorted(graph):
        if color.get(nid) is None:
            yield from visit(nid, [])


def _seat_paths(flow: Flow, live: set[str]) -> Iterator[Problem]:
    """Every branch a caller can be put on by time or by choice must offer a seat."""
    seat_nodes = {nid for nid in live if flow.nodes[nid].type in SEAT_TYPES}
    if not seat_nodes:
        yield Problem("", "没有任何通往人工座席（queue 节点）的路径")
        return
    # Nodes from which a seat can be reached (reverse reachability).
    reverse: dict[str, set[str]] = {}
    for nid in live:
        for _, target in edges(flow.nodes[nid]):
            reverse.setdefault(target, set()).add(nid)
    can_reach = set(seat_nodes)
    stack = list(seat_nodes)
    while stack:
        for prev in reverse.get(stack.pop(), ()):
            if prev not in can_reach:
                can_reach.add(prev)
                stack.append(prev)
    # Before the caller has pressed anything, time alone decides where they
    # go: then every branch must offer a seat. After a choice (e.g. legal
    # advice out of hours -> leave a message) it need not.
    unprompted = _before_input(flow)
    for nid in sorted(live):
        node = flow.nodes[nid]
        if node.type == "menu" and nid not in can_reach:
            yield Problem(nid, "从此菜单出发无法到达人工座席")
        if node.type == "time_switch" and nid in unprompted:
            for label, target in edges(node):
                if target in flow.nodes and target not in can_reach:
                    yield Problem(nid, f"分支“{label}”（{target}）无法到达人工座席")


def _before_input(flow: Flow) -> set[str]:
    seen: set[str] = set()
    stack = [flow.start]
    while stack:
        nid = stack.pop()
        if nid in seen or nid not in flow.nodes:
            continue
        seen.add(nid)
        if flow.nodes[nid].type not in INPUT_TYPES:
            stack.extend(t for _, t in edges(flow.nodes[nid]))
    return seen


# -- time to a seat -------------------------------------------------------------

@dataclass(frozen=True)
class PathTime:
    """What a caller who presses nothing sits through before the queue."""

    prompts: float
    waits: float
    nodes: tuple[str, ...]

    @property
    def total(self) -> float:
        return self.prompts + self.waits


def no_key_path(flow: Flow, seconds_of: Callable[[str, str], float]) -> PathTime | None:
    """The slowest way to a seat for a caller who presses nothing (the worst
    branch where the time of day decides); None when pressing nothing never
    reaches a seat. `seconds_of(node, field)` is the length of a prompt."""

    def walk(nid: str, seen: tuple[str, ...]) -> PathTime | None:
        if nid not in flow.nodes or nid in seen:
            return None
        node = flow.nodes[nid]
        here = (*seen, nid)
        t = node.type

        def then(target: str | None, prompts: float = 0.0, waits: float = 0.0) -> PathTime | None:
            rest = walk(target, here) if target else None
            return None if rest is None else PathTime(prompts + rest.prompts, waits + rest.waits, rest.nodes)

        if t == "queue":
            return PathTime(seconds_of(nid, "prompt"), 0.0, here)
        if t in ("play",):
            return then(node.next, seconds_of(nid, "prompt"))
        if t in ("announcement", "tag"):
            return then(node.next)
        if t == "time_switch":
            branches = [walk(target, here) for _, target in edges(node)]
            found = [b for b in branches if b is not None]
            return max(found, key=lambda b: b.total) if found else None
        if t == "menu":
            prompt, wait = seconds_of(nid, "prompt"), node.timeout
            if node.timeout_next:
                return then(node.timeout_next, prompt, wait)
            retry = seconds_of(nid, "timeout_prompt") + prompt
            return then(node.default, prompt + node.retries * retry, wait * (node.retries + 1))
        if t == "collect":
            tries = node.retries + 1
            return then(node.fail, tries * seconds_of(nid, "prompt") + node.retries * seconds_of(nid, "invalid_prompt"),
                        tries * node.timeout)
        return None  # message, transfer, hangup, survey: no seat this way

    return walk(flow.start, ())


def slow_path_warnings(flow: Flow, seconds_of: Callable[[str, str], float], bound: float) -> list[Problem]:
    """Advice, not a refusal: GB/T 33358 counts the wait from the first ring."""
    path = no_key_path(flow, seconds_of)
    if path is None or path.total <= bound:
        return []
    return [Problem(path.nodes[-1], f"不按键的来电者约 {path.total:.1f} 秒后才进入人工排队（提示音 {path.prompts:.1f} 秒"
                                    f" + 等待 {path.waits:.1f} 秒，经过 {' → '.join(path.nodes)}），超过 {bound:g} 秒；"
                                    "建议缩短提示音或菜单等待时间")]
