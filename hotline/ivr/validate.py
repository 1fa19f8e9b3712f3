"""Everything wrong with a flow, each with its node and a reason the admins
who edit flows can read (in Chinese), and the warnings about slow paths."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.ivr.flow import DTMF_KEYS, INPUT_TYPES, NODE_ID, SEAT_TYPES, Flow, Problem, edges, prompts_of, reachable


def validate(
    flow: Flow, *, schedules: Iterable[str] = (), prompt_files: Path | None = None, queues: Iterable[str] = ("hotline",)
) -> list[Problem]:
    """Everything wrong with a flow, each with its node and a readable reason."""
    problems: list[Problem] = []
    nodes = flow.nodes
    schedules = set(schedules)
    for nid in nodes:
        if not NODE_ID.match(nid):
            problems.append(Problem(nid, "节点名只能用字母、数字、下划线和连字符，并以字母开头"))
    if flow.start not in nodes:
        problems.append(Problem("", f"起始节点 {flow.start!r} 不存在"))

    dangling = False
    for nid, node in nodes.items():
        for label, target in edges(node):
            if target not in nodes:
                dangling = True
                via = f"（{label}）" if label else ""
                problems.append(Problem(nid, f"出口{via}指向不存在的节点 {target!r}"))
        problems.extend(_node_problems(nid, node, schedules, prompt_files))
        if node.type == "queue" and node.queue not in set(queues):
            problems.append(Problem(nid, f"队列 {node.queue!r} 不存在（可用：{'、'.join(queues)}）"))

    # A mistyped exit strands the node it meant and everything after it: those
    # follow from the one cause, so the graph's checks wait until it is fixed.
    if flow.start in nodes and not dangling:
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
        for nid in live
        if flow.nodes[nid].type not in INPUT_TYPES
    }
    color: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(nid: str, path: list[str]) -> Iterator[Problem]:
        color[nid] = 1
        path.append(nid)
        for nxt in graph.get(nid, ()):
            if color.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
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
            return then(
                node.fail,
                tries * seconds_of(nid, "prompt") + node.retries * seconds_of(nid, "invalid_prompt"),
                tries * node.timeout,
            )
        return None  # message, transfer, hangup, survey: no seat this way

    return walk(flow.start, ())


def slow_path_warnings(flow: Flow, seconds_of: Callable[[str, str], float], bound: float) -> list[Problem]:
    """Advice, not a refusal: GB/T 33358 counts the wait from the first ring."""
    path = no_key_path(flow, seconds_of)
    if path is None or path.total <= bound:
        return []
    return [
        Problem(
            path.nodes[-1],
            f"不按键的来电者约 {path.total:.1f} 秒后才进入人工排队（提示音 {path.prompts:.1f} 秒"
            f" + 等待 {path.waits:.1f} 秒，经过 {' → '.join(path.nodes)}），超过 {bound:g} 秒；"
            "建议缩短提示音或菜单等待时间",
        )
    ]
