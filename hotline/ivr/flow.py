"""IVR flow documents: the model and its graph (YAML in ivr/flow_yaml.py,
validation in ivr/validate.py).

A flow is a set of named nodes and a start node. Validation messages are read
by the admins who edit flows, so they are in Chinese and name the node.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DTMF_KEYS = set("0123456789*#")
NODE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


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
    # Where a caller goes when nobody is logged in to take this queue's calls
    # (the lawyers' queue: a voice message instead of an endless wait).
    unstaffed: str | None = None

    _norm = field_validator("prompt", mode="before")(_prompt)


class MessageNode(_WithPrompt):
    type: Literal["message"]
    category: str = ""
    max_seconds: int = Field(60, ge=5, le=600)
    thanks: PromptField
    # A message for the lawyers (法律咨询): a lawyer calls back on the next
    # day of their rota (ivr.schedules.lawyer), not the general agents.
    lawyers: bool = False

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
    PlayNode
    | MenuNode
    | CollectNode
    | TimeSwitchNode
    | TagNode
    | QueueNode
    | MessageNode
    | TransferNode
    | AnnouncementNode
    | SurveyNode
    | TicketStatusNode
    | HangupNode,
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


# -- graph --------------------------------------------------------------------


def edges(node: Any) -> Iterator[tuple[str, str]]:
    """(label, target) for every way out of a node."""
    t = node.type
    if t in ("play", "tag", "announcement"):
        yield "", node.next
    elif t == "menu":
        yield from node.options.items()
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
    elif t == "queue" and node.unstaffed:
        yield "无人值守", node.unstaffed


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
