"""Flow documents: loading and validation (messages are for admins, in Chinese)."""

from __future__ import annotations

from pathlib import Path

from hotline.ivr.flow import FlowInvalid
from hotline.ivr.flow_yaml import load_yaml
from hotline.ivr.validate import no_key_path, slow_path_warnings, validate

DEFAULT = Path(__file__).resolve().parents[2] / "hotline" / "ivr" / "flows" / "hotline.yaml"
SCHEDULES = ["day", "lawyer"]


def problems(text: str) -> list[str]:
    try:
        flow = load_yaml(text)
    except FlowInvalid as exc:
        return [str(p) for p in exc.problems]
    return [str(p) for p in validate(flow, schedules=SCHEDULES)]


BASE = """
name: t
start: m
nodes:
  m:
    type: menu
    prompt: 请按键
    options: {"1": q}
    default: q
  q:
    type: queue
"""


def test_default_flow_is_valid() -> None:
    flow = load_yaml(DEFAULT.read_text(encoding="utf-8"))
    assert validate(flow, schedules=SCHEDULES, queues=("hotline", "hotline-lawyer")) == []
    # GB/T 33358: a seat with at most one key; no key at all also reaches one.
    for menu in ("day_menu", "night_menu"):
        node = flow.nodes[menu]
        assert node.options["0"] == "to_seat" and flow.nodes[node.timeout_next].type == "queue"


def test_minimal_flow_is_valid() -> None:
    assert problems(BASE) == []


def test_unknown_target() -> None:
    assert problems(BASE.replace('{"1": q}', '{"1": nowhere}')) == ["m: 出口（1）指向不存在的节点 'nowhere'"]


def test_a_renamed_node_is_one_problem_not_a_cascade() -> None:
    """Before: one typo in the default flow's node name gave 17 errors (every
    node after it unreachable, every menu without a seat)."""
    text = DEFAULT.read_text(encoding="utf-8")
    typo = text.replace("\n  day_menu:\n", "\n  day_mneu:\n", 1)
    assert typo != text
    flow = load_yaml(typo)
    found = [str(p) for p in validate(flow, schedules=SCHEDULES, queues=("hotline", "hotline-lawyer"))]
    assert found and all("指向不存在的节点 'day_menu'" in p for p in found), found


def test_unreachable_node() -> None:
    text = BASE + "  orphan:\n    type: hangup\n"
    assert problems(text) == ["orphan: 从此节点无法到达此节点".replace("从此节点", "从起始节点")]


def test_loop_without_caller_input() -> None:
    text = """
name: t
start: a
nodes:
  a: {type: play, prompt: 你好, next: b}
  b: {type: tag, category: x, next: a}
  q: {type: queue}
"""
    msgs = problems(text)
    assert any("循环中没有任何等待来电者输入的节点" in m and "a → b → a" in m for m in msgs), msgs


def test_missing_prompt_and_file() -> None:
    text = BASE.replace("prompt: 请按键", "prompt: {file: missing.wav}")
    flow = load_yaml(text)
    msgs = [str(p) for p in validate(flow, schedules=SCHEDULES, prompt_files=Path("/nonexistent"))]
    assert msgs == ["m: prompt 的录音文件不存在：missing.wav"]
    assert problems(BASE.replace("prompt: 请按键", 'prompt: ""')) == ["m: 缺少提示音（prompt 的 text 或 file）"]


def test_duplicate_dtmf_key() -> None:
    text = BASE.replace('options: {"1": q}', 'options:\n      "1": q\n      "1": m')
    msgs = problems(text)
    assert len(msgs) == 1 and "重复的键 '1'" in msgs[0]


def test_invalid_dtmf_key() -> None:
    assert problems(BASE.replace('{"1": q}', '{"12": q, "a": q}')) == [
        "m: 按键 '12' 无效：只能是 0-9、* 或 # 中的一个",
        "m: 按键 'a' 无效：只能是 0-9、* 或 # 中的一个",
    ]


def test_no_path_to_a_seat() -> None:
    text = """
name: t
start: a
nodes:
  a: {type: play, prompt: 你好, next: b}
  b: {type: hangup}
"""
    assert problems(text) == ["没有任何通往人工座席（queue 节点）的路径"]


def test_night_branch_without_seat_is_refused() -> None:
    text = """
name: t
start: s
nodes:
  s:
    type: time_switch
    cases: [{schedule: day, next: q}]
    default: bye
  q: {type: queue}
  bye: {type: hangup, prompt: 下班了}
"""
    assert problems(text) == ["s: 分支“其他时间”（bye）无法到达人工座席"]


def test_unknown_schedule_and_node_type() -> None:
    text = BASE + "  x:\n    type: teleport\n"
    assert problems(text) == ["x: 未知的节点类型 'teleport'"]
    text = (
        BASE.replace("start: m", "start: s")
        + "  s:\n    type: time_switch\n    cases: [{schedule: moon, next: m}]\n    default: m\n"
    )
    assert problems(text) == ["s: 时段 'moon' 未在配置 ivr.schedules 中定义"]


def test_schema_errors_name_the_node() -> None:
    assert problems(BASE.replace("default: q", "")) == ["m: 缺少字段 default"]
    assert problems(BASE.replace("default: q", "default: q\n    colour: red")) == ["m: 未知字段 colour"]


def test_not_yaml() -> None:
    msgs = problems("name: [unclosed")
    assert len(msgs) == 1 and msgs[0].startswith("YAML 格式错误")


def test_unknown_queue() -> None:
    assert problems(BASE.replace("type: queue", "type: queue\n    queue: vip")) == [
        "q: 队列 'vip' 不存在（可用：hotline）"
    ]


def _seconds(lengths: dict[str, float]):
    return lambda nid, field: lengths.get(f"{nid}.{field}", 0.0)


def test_no_key_path_of_the_default_flow_is_one_menu_round() -> None:
    flow = load_yaml(DEFAULT.read_text(encoding="utf-8"))
    path = no_key_path(flow, _seconds({"welcome.prompt": 3.0, "day_menu.prompt": 8.0, "night_menu.prompt": 5.0}))
    assert path is not None
    # The worst branch is the day menu: welcome + menu + its one-second wait.
    assert path.nodes == ("welcome", "notice", "shift", "day_menu", "waited")
    assert (path.prompts, path.waits) == (11.0, 1.0)
    assert slow_path_warnings(flow, _seconds({"welcome.prompt": 3.0, "day_menu.prompt": 8.0}), 15) == []


def test_slow_no_key_path_is_a_warning_naming_the_route() -> None:
    flow = load_yaml(DEFAULT.read_text(encoding="utf-8"))
    warnings = slow_path_warnings(flow, _seconds({"welcome.prompt": 6.2, "day_menu.prompt": 13.7}), 15)
    assert len(warnings) == 1
    assert "20.9 秒" in warnings[0].message and "day_menu" in warnings[0].message
    assert (
        validate(flow, schedules=SCHEDULES, queues=("hotline", "hotline-lawyer")) == []
    )  # a warning never blocks a publish


def test_menu_without_timeout_next_costs_every_retry() -> None:
    flow = load_yaml(BASE)  # menu m: no timeout_next, 2 retries, 5 s to answer
    path = no_key_path(flow, _seconds({"m.prompt": 4.0, "m.timeout_prompt": 1.0}))
    assert path is not None and path.nodes == ("m", "q")
    assert path.prompts == 4.0 + 2 * (1.0 + 4.0)
    assert path.waits == 5.0 * 3


def test_oversized_or_aliased_documents_are_refused_before_parsing_finishes() -> None:
    assert "过大" in problems("x: " + "a" * 70_000)[0]
    assert "嵌套过深" in problems("[" * 40 + "]" * 40)[0]
    assert "锚点" in problems("a: &x [1, 2]\nb: *x\n")[0]
