"""The shift lead's listen, whisper and barge (监听、耳语、强插), from a
monitoring phone that is never a member of any queue: the lead's phone
rings into ChanSpy on the talking seat; the seat map shows who listens to
whom, from which phone and since when, and the lead stops it there.

A spy ends when the lead stops it, when the monitoring phone hangs up, or
with the call it listens to (ChanSpy's E option).

In a cluster the seat's call may be on another node: ChanSpy must run
there, so the controller asks that node's controller (cluster/asks.py),
which rings the monitoring phone at the SIP edge and says when it ends. A
spy is known by the unique id its Originate gives the monitoring phone's
channel, so the end of the one a lead just switched away from never ends
the new one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hotline.acd.service import AcdService
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError
from hotline.config import Settings
from hotline.errors import BadRequest, HotlineError
from hotline.identity import Identity

# ChanSpy options: q quiet (no beep, no name), E end with the spied call,
# w whisper to the agent only, B barge: talk to both.
SPY_OPTIONS = {"listen": "qE", "whisper": "qwE", "barge": "qBE"}
SPY_TEXT = {"listen": "监听", "whisper": "耳语", "barge": "强插"}


class SeatIdle(HotlineError):
    error_id = "seat-not-in-call"
    status = 409


class MonitorBusy(HotlineError):
    error_id = "monitor-busy"
    status = 409


class NotSpying(HotlineError):
    error_id = "not-spying"
    status = 409


class SeatElsewhere(HotlineError):
    error_id = "seat-on-other-node"
    status = 409


def new_ref(node: str) -> str:
    """The unique id of a spy's channel: unique across controllers and restarts."""
    return f"spy-{node or 'local'}-{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class Spy:
    phone: str
    seat: str
    mode: str
    mode_text: str
    lead: str
    lead_name: str
    started: float
    node: str = ""  # the node whose PBX runs it, when not this one
    ref: str = field(default="", repr=False)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["ref"]
        return d


# What a controller asks another to do for its lead: start (phone, seat,
# mode, ref), stop (phone, ref); and what it hears back: ended (phone, ref).
Ask = Callable[[str, dict[str, str]], None]


class Supervision:
    def __init__(self, settings: Settings, client: AMIClient, acd: AcdService):
        self.settings = settings
        self.client = client
        self.acd = acd
        self.active: dict[str, Spy] = {}  # monitoring phone -> what it listens to
        # Set in a cluster (cluster/asks.py): the node holding a seat's call
        # when not this one, and how to ask that node's controller.
        self.elsewhere: Callable[[str], str | None] = lambda seat: None
        self.ask: Ask | None = None
        self.node = ""
        self.served: dict[str, tuple[str, str]] = {}  # phone -> (asking node, ref): spies run here for others
        self._listeners: list[Callable[[], None]] = []
        client.on(ev.Hangup, self._on_hangup)

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def phones(self) -> list[dict[str, Any]]:
        return [
            {"phone": p, "spy": self.active[p].as_dict() if p in self.active else None}
            for p in self.settings.seats.monitor_names()
        ]

    def views(self) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.active.values()]

    def _channel_prefix(self, phone: str) -> str:
        if self.settings.seats.phones == "simulated":
            return f"Local/{phone}@sim-monitor-"
        return f"Local/{phone}@hotline-monitor-phone-"

    async def start(self, who: Identity, seat: str, mode: object, phone: object) -> Spy:
        if type(mode) is not str or mode not in SPY_OPTIONS:
            raise BadRequest("mode 必须是 listen、whisper 或 barge", field="mode")
        monitors = self.settings.seats.monitor_names()
        if not monitors:
            raise BadRequest("没有配置监听话机（seats.monitors）", field="phone")
        if type(phone) is not str or phone not in monitors:
            raise BadRequest(f"请选择监听话机：{'、'.join(monitors)}", field="phone")
        target = self.acd.seat_named(seat)
        if not target.talking:
            raise SeatIdle(f"座席 {target.name} 当前没有通话，无法{SPY_TEXT[mode]}")
        busy = self.active.get(phone)
        if busy is not None and busy.lead != who.username:
            raise MonitorBusy(f"监听话机 {phone} 正由 {busy.lead_name} 用于{busy.mode_text} {busy.seat}")
        if phone in self.served:
            raise MonitorBusy(f"监听话机 {phone} 正由节点 {self.served[phone][0]} 的值班长使用")
        node = self.elsewhere(target.name)
        if node is not None and self.ask is None:
            raise SeatElsewhere(
                f"座席 {target.name} 的通话在节点 {node}，监听话机未在 SIP 边缘登记，无法{SPY_TEXT[mode]}"
            )
        if busy is not None:
            await self._end(busy)  # the same lead switching seat or mode
        spy = Spy(
            phone,
            target.name,
            mode,
            SPY_TEXT[mode],
            who.username,
            who.display_name,
            self.acd.now(),
            node=node or "",
            ref=new_ref(self.node),
        )
        if node is not None and self.ask is not None:
            self.ask(node, {"op": "start", "phone": phone, "seat": target.name, "mode": mode, "ref": spy.ref})
        else:
            await self._originate(spy)
        self.active[phone] = spy
        where = f"，节点 {node}" if node else ""
        self.acd.note("spy", target.name, f"{who.display_name}{spy.mode_text}（监听话机 {phone}{where}）", who.username)
        self._changed()
        return spy

    async def _originate(self, spy: Spy) -> None:
        # ChanSpy matches a channel name prefix: the target seat's phone channel.
        simulated = self.settings.seats.phones == "simulated"
        prefix = f"Local/{spy.seat}@sim-seat" if simulated else f"PJSIP/{spy.seat}"
        await self.client.action(
            "Originate",
            Channel=self.settings.seats.monitor_interface(spy.phone),
            ChannelId=spy.ref,
            Application="ChanSpy",
            Data=f"{prefix},{SPY_OPTIONS[spy.mode]}",
            CallerID=f'"{spy.mode_text} {spy.seat}" <{spy.seat}>',
            Async="true",
            Timeout=30000,
        )

    async def stop(self, who: Identity, phone: str) -> None:
        spy = self.active.get(phone)
        if spy is None:
            raise NotSpying(f"监听话机 {phone} 当前没有在监听")
        await self._end(spy)
        self.active.pop(phone, None)
        self.acd.note("spy-stop", spy.seat, f"{who.display_name}停止{spy.mode_text}（监听话机 {phone}）", who.username)
        self._changed()

    async def _end(self, spy: Spy) -> None:
        if spy.node and self.ask is not None:
            self.ask(spy.node, {"op": "stop", "phone": spy.phone, "ref": spy.ref})
        else:
            await self._hang_up(spy.phone)

    async def _hang_up(self, phone: str) -> None:
        # Hangup takes a /regex/; "." stands for the slash, which a POSIX regex may not escape.
        try:
            await self.client.action("Hangup", Channel="/^" + self._channel_prefix(phone).replace("/", ".") + "/")
        except AMIError:
            pass  # already gone

    async def serve(self, origin: str, said: dict[str, str]) -> None:
        """What another node's controller asks for its lead: this node holds the seat's call."""
        op, phone, ref = said.get("op"), said.get("phone", ""), said.get("ref", "")
        if op == "start" and said.get("mode") in SPY_OPTIONS and phone in self.settings.seats.monitor_names():
            mode = said["mode"]
            if phone in self.active or self.served.get(phone, (origin, ""))[0] != origin:
                if self.ask is not None:  # a lead here has it: the asking lead hears so
                    self.ask(origin, {"op": "ended", "phone": phone, "ref": ref, "why": "busy"})
                return
            self.served[phone] = (origin, ref)
            spy = Spy(phone, said.get("seat", ""), mode, SPY_TEXT[mode], "", "", self.acd.now(), ref=ref)
            try:
                await self._originate(spy)
            except AMIError:
                self._served_ended(phone, ref)
        elif op == "stop" and self.served.get(phone, ("", ""))[1] == ref:
            await self._hang_up(phone)
        elif op == "ended":
            mine = self.active.get(phone)
            if mine is not None and mine.ref == ref and mine.node == origin:
                self._ended(mine, f"，监听话机在节点 {origin} 正被使用" if said.get("why") == "busy" else "")

    def _served_ended(self, phone: str, ref: str) -> None:
        origin, _ = self.served.pop(phone)
        if self.ask is not None:
            self.ask(origin, {"op": "ended", "phone": phone, "ref": ref})

    def _ended(self, spy: Spy, why: str = "") -> None:
        self.active.pop(spy.phone, None)
        self.acd.note("spy-end", spy.seat, f"{spy.lead_name}的{spy.mode_text}已结束（监听话机 {spy.phone}{why}）")
        self._changed()

    def _on_hangup(self, e: ev.Hangup) -> None:
        for spy in list(self.active.values()):
            if not spy.node and e.uniqueid == spy.ref:
                self._ended(spy)
        for phone, (_, ref) in list(self.served.items()):
            if e.uniqueid == ref:
                self._served_ended(phone, ref)
