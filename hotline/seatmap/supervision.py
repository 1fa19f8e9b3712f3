"""The shift lead's listen, whisper and barge (监听、耳语、强插), from a
monitoring phone that is never a member of any queue: the lead's phone
rings into ChanSpy on the talking seat; the seat map shows who listens to
whom, from which phone and since when, and the lead stops it there.

A spy ends when the lead stops it, when the monitoring phone hangs up, or
with the call it listens to (ChanSpy's E option)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True, slots=True)
class Spy:
    phone: str
    seat: str
    mode: str
    mode_text: str
    lead: str
    lead_name: str
    started: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Supervision:
    def __init__(self, settings: Settings, client: AMIClient, acd: AcdService):
        self.settings = settings
        self.client = client
        self.acd = acd
        self.active: dict[str, Spy] = {}  # monitoring phone -> what it listens to
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
        if busy is not None:
            await self._hang_up(phone)  # the same lead switching seat or mode
        # ChanSpy matches a channel name prefix: the target seat's phone channel.
        simulated = self.settings.seats.phones == "simulated"
        prefix = f"Local/{target.name}@sim-seat" if simulated else f"PJSIP/{target.name}"
        await self.client.action(
            "Originate",
            Channel=self.settings.seats.monitor_interface(phone),
            Application="ChanSpy",
            Data=f"{prefix},{SPY_OPTIONS[mode]}",
            CallerID=f'"{SPY_TEXT[mode]} {target.name}" <{target.name}>',
            Async="true",
            Timeout=30000,
        )
        spy = Spy(phone, target.name, mode, SPY_TEXT[mode], who.username, who.display_name, self.acd.now())
        self.active[phone] = spy
        self.acd.note("spy", target.name, f"{who.display_name}{spy.mode_text}（监听话机 {phone}）", who.username)
        self._changed()
        return spy

    async def stop(self, who: Identity, phone: str) -> None:
        spy = self.active.get(phone)
        if spy is None:
            raise NotSpying(f"监听话机 {phone} 当前没有在监听")
        await self._hang_up(phone)
        self.active.pop(phone, None)
        self.acd.note("spy-stop", spy.seat, f"{who.display_name}停止{spy.mode_text}（监听话机 {phone}）", who.username)
        self._changed()

    async def _hang_up(self, phone: str) -> None:
        # Hangup takes a /regex/; "." stands for the slash, which a POSIX regex may not escape.
        try:
            await self.client.action("Hangup", Channel="/^" + self._channel_prefix(phone).replace("/", ".") + "/")
        except AMIError:
            pass  # already gone

    def _on_hangup(self, e: ev.Hangup) -> None:
        for phone, spy in list(self.active.items()):
            if e.channel.startswith(self._channel_prefix(phone)):
                self.active.pop(phone, None)
                self.acd.note("spy-end", spy.seat, f"{spy.lead_name}的{spy.mode_text}已结束（监听话机 {phone}）")
                self._changed()
