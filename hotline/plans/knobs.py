"""The settings a contingency plan turns, read and set through the services
that own them (the ACD's lines, standby and overflow, the IVR's flow and
announcement, the queue's callback offer)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hotline.acd import lines as ln
from hotline.acd.offer import CallbackOffer
from hotline.acd.service import AcdService
from hotline.ivr.announcements import AnnouncementService
from hotline.ivr.service import MAIN_FLOW, FlowService


class Knobs:
    def __init__(
        self, acd: AcdService, flows: FlowService, announcements: AnnouncementService, offer: CallbackOffer
    ) -> None:
        self.acd = acd
        self.flows = flows
        self.announcements = announcements
        self.offer = offer

    def read(self) -> dict[str, Any]:
        """Each knob's value now, as JSON values (stored with a run).

        The line count reads as the lead's override while it holds (with its
        window, so a plan's end puts it back only in that same window), and
        as the plan's count otherwise."""
        flow = self.flows.current(MAIN_FLOW)
        lines = self.acd.lines
        lead = ln.lead_override(lines)
        return {
            "announcement": [self.announcements.active, self.announcements.text],
            "flow_version": flow.version if flow else None,
            "lines": list(lead) if lead else lines.plan,
            "standby": lines.standby_manual,
            "overflow": self.acd.acd.overflow.enabled,
            "callback_offer": self.offer.seconds,
        }

    async def set(self, knob: str, value: Any, actor: str, plan_name: str) -> None:
        if knob == "announcement":
            active, text = value
            await self.announcements.set(bool(active), str(text or "") if active else "", actor)
        elif knob == "flow_version" and value is not None:
            await self.flows.rollback(MAIN_FLOW, int(value), actor)
        elif knob == "lines":
            await self._lines(value, actor, plan_name)
        elif knob == "standby":
            await self.acd.set_standby(value, actor)
        elif knob == "overflow":
            self.set_overflow(bool(value))
            self.acd.note("overflow-policy", "", "溢出支援" + ("开启" if value else "关闭"), actor)
        elif knob == "callback_offer":
            await self.offer.set(int(value))
            text = f"每 {value} 秒提示一次" if value else "暂停提示"
            self.acd.note("callback-offer", "", f"排队回拨提示：{text}（预案「{plan_name}」）", actor)

    async def _lines(self, value: Any, actor: str, plan_name: str) -> None:
        """An int: the plan's count. Otherwise the plan ends: no plan count,
        and a lead's override recorded at the start ([count, window]) comes
        back if its window still holds."""
        if type(value) is int:
            await self.acd.set_plan_lines(value, actor, plan_name)
            return
        await self.acd.set_plan_lines(None, actor, plan_name)
        if isinstance(value, list) and len(value) == 2 and value[1] == self.acd.lines.window:
            await self.acd.set_lines(int(value[0]), actor)

    def set_overflow(self, on: bool) -> None:
        acd = self.acd
        acd.acd = acd.acd.model_copy(update={"overflow": acd.acd.overflow.model_copy(update={"enabled": on})})

    async def reapply(self, knobs: list[list[Any]], plan_name: str) -> None:
        """A controller that restarts with a plan running: the knobs kept in
        memory or rendered from the configuration take the plan's values again."""
        for knob, _, value in knobs:
            if knob == "overflow":
                self.set_overflow(bool(value))
            elif knob == "lines":
                if type(value) is int:
                    self.acd.lines = replace(self.acd.lines, plan=value)
            elif knob == "callback_offer":
                await self.offer.set(int(value))

    async def unapply(self, knobs: list[list[Any]]) -> None:
        """Another controller ended the plan: the knobs this controller holds
        itself go back, unless changed since the plan set them (the ending
        controller restored the shared ones: lines, standby, flow, notice)."""
        now = self.read()
        for knob, before, value in knobs:
            if knob == "overflow" and now["overflow"] == bool(value):
                self.set_overflow(bool(before))
            elif knob == "callback_offer" and now["callback_offer"] == value:
                await self.offer.set(None if before is None else int(before))
